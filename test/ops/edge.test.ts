// Edge values: large |x|, infinities (softmax masks), NaN propagation, degenerate rows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import * as ew from '../../src/ops/elementwise.js';
import { softmax, logSoftmax } from '../../src/ops/softmax.js';
import { sum, mean, max, argmax, cumsum } from '../../src/ops/reduce.js';
import { rmsNorm, layerNorm, groupNorm } from '../../src/ops/norm.js';
import { mapRef, ACTIVATION_REFS, softcapRef } from '../../src/backend/ref/elementwise.js';
import { backends, expectClose } from './harness.js';

const bes = await backends();
after(() => { for (const be of bes) be.dispose(); });
const f32 = (t: Tensor) => Array.from(t.data as Float32Array);

// |x| up to 100 and beyond, around the f32 exp overflow/underflow thresholds.
const BIG = [-1e30, -1000, -104, -100, -88.8, -87.3, -50, -20, -1e-30, 0, -0, 1e-30, 1e-6, 20, 50, 88.7, 88.8, 100, 1000, 1e30];

test('activations at large |x| stay finite where the math is finite and match the reference', () => {
  for (const be of bes) {
    const x = Tensor.fromArray(BIG);
    for (const fn of Object.keys(ew.ACTIVATIONS) as ew.Activation[]) {
      if (fn === 'log') continue; // log of negatives is NaN by definition; covered below
      const y = f32(ew.activation(be, fn, x));
      const e = mapRef(x.data as Float32Array, ACTIVATION_REFS[fn]).map(Math.fround); // the f32 result is the rounded f64 one
      for (let i = 0; i < BIG.length; i++) {
        if (Number.isFinite(e[i])) assert.ok(Number.isFinite(y[i]), `${fn}(${BIG[i]}) = ${y[i]}, expected ${e[i]}`);
      }
      // Subnormal results (exp(-100) ~ 3.7e-44, silu(-104) ~ -7e-44, whose f32 sigmoid underflows) carry few bits: compare them absolutely.
      expectClose(`${fn} large |x|`, y, e, 4e-7, 1e-40);
    }
    expectClose('softcap large |x|', f32(ew.softcap(be, x, 30)), mapRef(x.data as Float32Array, (v) => Math.fround(softcapRef(v, 30))), 4e-7, 1e-37);
    expectClose('log', f32(ew.log(be, Tensor.fromArray([0, 1e-38, 1e-45, 1, 3e38, Infinity, -1]))), [-Infinity, Math.log(Math.fround(1e-38)), Math.log(Math.fround(1e-45)), 0, Math.log(Math.fround(3e38)), Infinity, NaN], 2e-7);
  }
});

test('activations at +-inf', () => {
  const x = Tensor.fromArray([-Infinity, Infinity]);
  const want: Record<ew.Activation, [number, number]> = {
    exp: [0, Infinity], log: [NaN, Infinity], sigmoid: [0, 1], logsigmoid: [-Infinity, 0], tanh: [-1, 1],
    silu: [NaN, Infinity], gelu: [NaN, Infinity], softplus: [0, Infinity], relu: [0, Infinity], erf: [-1, 1],
  };
  for (const be of bes) {
    for (const fn of Object.keys(want) as ew.Activation[]) {
      const y = f32(ew.activation(be, fn, x));
      // silu/gelu(-inf) = -inf * 0: NaN, as in torch; the rest are their limits.
      assert.deepEqual(y, want[fn], `${fn}(+-inf)`);
    }
    assert.deepEqual(f32(ew.softcap(be, x, 15)), [-15, 15]);
  }
});

test('NaN propagates through every activation and binary op', () => {
  for (const be of bes) {
    const x = Tensor.fromArray([NaN, 1, NaN, -2, 0, NaN, 3, 4, NaN]);
    for (const fn of Object.keys(ew.ACTIVATIONS) as ew.Activation[]) {
      const y = f32(ew.activation(be, fn, x));
      for (const i of [0, 2, 5, 8]) assert.ok(Number.isNaN(y[i]), `${fn}(NaN) at ${i} = ${y[i]}`);
      for (const i of [1, 4, 7]) assert.ok(!Number.isNaN(y[i]), `${fn}(${(x.data as Float32Array)[i]}) = NaN`);
    }
    assert.ok(Number.isNaN(f32(ew.softcap(be, x, 15))[0]));
    for (const op of ['add', 'sub', 'mul'] as const) {
      const y = f32(ew[op](be, x, Tensor.fromArray([2])));
      assert.ok(Number.isNaN(y[0]) && Number.isNaN(y[8]) && !Number.isNaN(y[1]), `${op} NaN`);
    }
  }
});

test('softmax with -inf masks, all-masked rows and NaN', () => {
  for (const be of bes) {
    const x = Tensor.fromArray([
      0, -Infinity, 1, -Infinity, 2,
      -Infinity, -Infinity, -Infinity, -Infinity, -Infinity,
      1000, -1000, 999, 0, -Infinity,
      1, 2, NaN, 3, 4,
    ], [4, 5]);
    const y = f32(softmax(be, x));
    const ly = f32(logSoftmax(be, x));
    const e0 = [1, 0, Math.E, 0, Math.E ** 2].map((v) => v / (1 + Math.E + Math.E ** 2));
    expectClose('masked row', y.slice(0, 5), e0, 4e-7);
    assert.equal(y[1], 0); assert.equal(y[3], 0);
    assert.equal(ly[1], -Infinity); assert.equal(ly[3], -Infinity);
    expectClose('masked log row', ly.slice(0, 5), e0.map(Math.log), 4e-7, 1e-7);
    // All -inf: 0/0 in exact arithmetic; torch returns NaN, and so do we.
    assert.ok(y.slice(5, 10).every(Number.isNaN) && ly.slice(5, 10).every(Number.isNaN), 'all-masked row is NaN');
    // Large logits: no overflow.
    const d = 1 + Math.exp(-1);
    expectClose('large logits', y.slice(10, 15), [1 / d, 0, Math.exp(-1) / d, 0, 0], 4e-7, 1e-37);
    expectClose('large log logits', ly.slice(10, 15), [-Math.log(d), -2000 - Math.log(d), -1 - Math.log(d), -1000 - Math.log(d), -Infinity], 4e-7, 1e-6);
    assert.ok(y.slice(15).every(Number.isNaN) && ly.slice(15).every(Number.isNaN), 'NaN row is NaN');
  }
});

test('reductions with NaN, infinities and size-1 rows', () => {
  for (const be of bes) {
    const x = Tensor.fromArray([1, NaN, 3, -Infinity, -Infinity, -Infinity, 5, Infinity, 2, 7, 7, 1], [4, 3]);
    const s = f32(sum(be, x));
    assert.ok(Number.isNaN(s[0])); assert.equal(s[1], -Infinity); assert.equal(s[2], Infinity); assert.equal(s[3], 15);
    const m = f32(max(be, x));
    assert.ok(Number.isNaN(m[0])); assert.equal(m[1], -Infinity); assert.equal(m[2], Infinity); assert.equal(m[3], 7);
    assert.deepEqual(Array.from(argmax(be, x).data as Int32Array), [1, 0, 1, 0]);
    assert.equal(f32(mean(be, x))[3], 5);
    const c = f32(cumsum(be, x));
    assert.deepEqual([c[0], c[9], c[10], c[11]], [1, 7, 14, 15]);
    assert.ok(Number.isNaN(c[1]) && Number.isNaN(c[2]));
    const one = Tensor.fromArray([4, -2], [2, 1]);
    assert.deepEqual(f32(sum(be, one)), [4, -2]);
    assert.deepEqual(f32(max(be, one)), [4, -2]);
    assert.deepEqual(Array.from(argmax(be, one).data as Int32Array), [0, 0]);
    // A rank-1 input reduces to a scalar.
    const r = sum(be, Tensor.fromArray([1, 2, 3]));
    assert.deepEqual(r.shape, []); assert.deepEqual(f32(r), [6]);
  }
});

test('norms: constant rows give finite output, NaN stays local to its row/group', () => {
  for (const be of bes) {
    const x = Tensor.fromArray([5, 5, 5, 5, 1, 2, NaN, 4], [2, 4]);
    const w = Tensor.fromArray([1, 2, 3, 4]);
    const ln = f32(layerNorm(be, x, { eps: 1e-5, weight: w }));
    assert.deepEqual(ln.slice(0, 4), [0, 0, 0, 0]);
    assert.ok(ln.slice(4).every(Number.isNaN));
    const gn = f32(groupNorm(be, x, 2, { eps: 1e-5 }));
    assert.deepEqual(gn.slice(0, 4), [0, 0, 0, 0]);
    expectClose('group without NaN', gn.slice(4, 6), [-1 / Math.sqrt(0.25 + 1e-5), 1 / Math.sqrt(0.25 + 1e-5)].map((v) => v * 0.5), 1e-6);
    assert.ok(gn.slice(6).every(Number.isNaN));
    const z = f32(rmsNorm(be, Tensor.fromArray([0, 0, 0]), { eps: 1e-6 }));
    assert.deepEqual(z, [0, 0, 0]);
    // Large magnitudes: x^2 would overflow in f32 only beyond ~1.8e19.
    const big = f32(rmsNorm(be, Tensor.fromArray([3e18, -4e18]), { eps: 1e-6 }));
    expectClose('rms of large values', big, [3 / Math.sqrt(12.5), -4 / Math.sqrt(12.5)], 1e-6);
  }
});
