// Every op on random inputs (odd sizes, size 1, a pool-sized shape) on the wasm
// backend with 1 and 2 threads, against the float64 reference.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import { roundBf16, f32ArrayToBf16 } from '../../src/tensor/convert.js';
import * as ew from '../../src/ops/elementwise.js';
import { softmax, logSoftmax } from '../../src/ops/softmax.js';
import { sum, mean, max, argmax, cumsum } from '../../src/ops/reduce.js';
import { rmsNorm, layerNorm, groupNorm } from '../../src/ops/norm.js';
import { causalConv1d, causalConv1dStep, CausalConv1dWeight } from '../../src/ops/conv.js';
import { embedding } from '../../src/ops/embedding.js';
import { binaryRef, mapRef, ACTIVATION_REFS, softcapRef } from '../../src/backend/ref/elementwise.js';
import { softmaxRef } from '../../src/backend/ref/softmax.js';
import { reduceRef, argmaxRef, cumsumRef } from '../../src/backend/ref/reduce.js';
import { normRef } from '../../src/backend/ref/norm.js';
import { causalConv1dRef, causalConv1dStepRef } from '../../src/backend/ref/conv.js';
import { embeddingRef } from '../../src/backend/ref/embedding.js';
import { SHAPES, backends, expectClose, randTensor, rng } from './harness.js';

const bes = await backends();
after(() => { for (const be of bes) be.dispose(); });
const label = (be: WasmBackend, op: string, shape: readonly number[]) => `${op} nt=${be.threads}${be.features.relaxedSimd ? ' relaxed' : ''} [${shape.join(',')}]`;
const sumAbs = (x: ArrayLike<number>, n: number, r: number) => { let s = 0; for (let i = 0; i < n; i++) s += Math.abs(x[r * n + i]); return s; };

// Activation accuracy: f32 result vs f64 of the same (f32) input, relative. Measured worst cases over
// [-14, 14] (2M points): exp 8e-8, sigmoid 1.9e-7, silu 2.4e-7, tanh 1.5e-7, logsigmoid/softplus 1.3e-7,
// erf 1.1e-7, gelu 5e-7 (f32 evaluation of the erfc fit).
const ACT_TOL: Record<ew.Activation, number> = {
  exp: 2e-7, log: 2e-7, sigmoid: 4e-7, logsigmoid: 4e-7, tanh: 3e-7, silu: 4e-7, gelu: 6e-7, softplus: 4e-7, relu: 0, erf: 4e-7,
};

test('activations match the f64 reference', () => {
  for (const be of bes) {
    for (const [si, shape] of SHAPES.entries()) {
      for (const fn of Object.keys(ew.ACTIVATIONS) as ew.Activation[]) {
        const x = fn === 'log' ? randTensor(shape, 100 + si, 1e-3, 20) : randTensor(shape, 100 + si, -9, 9);
        const y = ew.activation(be, fn, x);
        assert.deepEqual(y.shape, shape);
        expectClose(label(be, fn, shape), y.data as Float32Array, mapRef(x.data as Float32Array, ACTIVATION_REFS[fn]), ACT_TOL[fn], 1e-37);
      }
      const x = randTensor(shape, 200 + si, -60, 60);
      expectClose(label(be, 'softcap', shape), ew.softcap(be, x, 15).data as Float32Array, mapRef(x.data as Float32Array, (v) => softcapRef(v, 15)), 4e-7, 1e-30);
    }
  }
});

test('tanh and softcap: blocks of 16 values below 0.625 (the polynomial only), above it, and mixed; a value never depends on its neighbours', () => {
  // the kernel skips the exp and the division where all 16 values of a block are small
  // (|x| < 0.625): runs of 32 small values, 32 large ones and mixed ones, against the f64
  // reference, and every element again alone (the kernel's tail, padded with zeros), same bits
  const r = rng(31);
  const n = 1029;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const run = Math.floor(i / 32) % 3; // 0: small, 1: large, 2: mixed
    const small = run === 0 || (run === 2 && r() < 0.5);
    const m = small ? 0.625 * r() : 0.625 + 12 * r();
    x[i] = (r() < 0.5 ? -m : m);
  }
  x[5] = 0.625; x[6] = -0.6249999; x[20] = 0.62499994; x[21] = -0.62499994; // 16-31: an all-small block up to the boundary
  x[40] = 0; x[41] = -0; x[100] = NaN; x[101] = Infinity; x[102] = -Infinity; x[103] = 1e-30;
  const cap = 30;
  const xc = x.map((v) => v * cap);
  for (const be of bes) {
    const t = ew.activation(be, 'tanh', new Tensor('f32', [n], x)).data as Float32Array;
    const s = ew.softcap(be, new Tensor('f32', [n], xc), cap).data as Float32Array;
    const tRef = mapRef(x, ACTIVATION_REFS.tanh), sRef = mapRef(xc, (v) => softcapRef(v, cap));
    for (const [i, v] of [[100, t[100]], [101, t[101]], [102, t[102]]] as const) assert.ok(i === 100 ? Number.isNaN(v) : v === (i === 101 ? 1 : -1), `tanh(${x[i]}) = ${v}`);
    assert.ok(Number.isNaN(s[100]) && s[101] === cap && s[102] === -cap);
    for (const i of [100, 101, 102]) { tRef[i] = t[i]; sRef[i] = s[i]; }
    expectClose(`tanh runs ${label(be, 'tanh', [n])}`, t, tRef, ACT_TOL.tanh, 1e-37);
    expectClose(`softcap runs ${label(be, 'softcap', [n])}`, s, sRef, 4e-7, 1e-30);
    for (let i = 0; i < n; i++) {
      const ti = (ew.activation(be, 'tanh', new Tensor('f32', [1], Float32Array.of(x[i]))).data as Float32Array)[0];
      const si = (ew.softcap(be, new Tensor('f32', [1], Float32Array.of(xc[i])), cap).data as Float32Array)[0];
      assert.ok(Object.is(ti, t[i]) || (Number.isNaN(ti) && Number.isNaN(t[i])), `tanh(${x[i]}) alone ${ti} vs in the vector ${t[i]}`);
      assert.ok(Object.is(si, s[i]) || (Number.isNaN(si) && Number.isNaN(s[i])), `softcap(${xc[i]}) alone ${si} vs in the vector ${s[i]}`);
    }
  }
});

test('activations in place and on heap inputs', () => {
  for (const be of bes) {
    const x = be.upload(randTensor([3, 41], 7));
    const expected = mapRef(x.data as Float32Array, ACTIVATION_REFS.silu);
    const y = ew.silu(be, x, x);
    assert.equal(y, x);
    expectClose('silu in place', y.data as Float32Array, expected, 4e-7);
  }
});

test('add/sub/mul with same shape, trailing-vector and scalar broadcasting; scale', () => {
  for (const be of bes) {
    for (const [si, shape] of SHAPES.entries()) {
      const a = randTensor(shape, 300 + si);
      const bShapes: number[][] = [shape, shape.slice(-1), [1, ...shape.slice(-1)], shape.slice(1).length ? shape.slice(1) : [1], [], [1]];
      for (const bs of bShapes) {
        const b = randTensor(bs, 400 + si);
        for (const op of ['add', 'sub', 'mul'] as const) {
          const y = ew[op](be, a, b);
          assert.deepEqual(y.shape, shape);
          // f32 add/sub/mul are correctly rounded: half an ulp of the result.
          expectClose(label(be, `${op} b[${bs.join(',')}]`, shape), y.data as Float32Array, binaryRef(op, a.data as Float32Array, b.data as Float32Array), 6e-8, 1e-37);
        }
      }
      for (const op of ['add', 'sub', 'mul'] as const) {
        expectClose(label(be, `${op} number`, shape), ew[op](be, a, 0.37).data as Float32Array, binaryRef(op, a.data as Float32Array, Math.fround(0.37)), 6e-8, 1e-37);
      }
      expectClose(label(be, 'scale', shape), ew.scale(be, a, -2.5).data as Float32Array, binaryRef('mul', a.data as Float32Array, -2.5), 6e-8, 1e-37);
    }
  }
});

test('softmax and logSoftmax over the last dim', () => {
  for (const be of bes) {
    for (const [si, shape] of SHAPES.entries()) {
      const n = shape[shape.length - 1];
      const x = randTensor(shape, 500 + si, -30, 30);
      const xd = x.data as Float32Array;
      const y = softmax(be, x).data as Float32Array;
      const ly = logSoftmax(be, x).data as Float32Array;
      const e = softmaxRef(xd, n);
      const le = softmaxRef(xd, n, true);
      const rmax = reduceRef('max', xd, n);
      for (let i = 0; i < x.size; i++) {
        // f32 rounding of x - max (half an ulp of |x - max|) bounds what any f32 softmax can do.
        const argErr = 6e-8 * Math.abs(xd[i] - rmax[Math.floor(i / n)]);
        const tol = (4e-7 + argErr) * e[i] + 1e-37;
        if (!(Math.abs(y[i] - e[i]) <= tol)) assert.fail(`${label(be, 'softmax', shape)} [${i}] = ${y[i]}, expected ${e[i]}`);
        const ltol = 4e-7 * Math.abs(le[i]) + argErr + 2e-7;
        if (!(Math.abs(ly[i] - le[i]) <= ltol)) assert.fail(`${label(be, 'logSoftmax', shape)} [${i}] = ${ly[i]}, expected ${le[i]}`);
      }
    }
  }
});

test('sum, mean, max, argmax, cumsum over the last dim', () => {
  for (const be of bes) {
    for (const [si, shape] of SHAPES.entries()) {
      const n = shape[shape.length - 1];
      const x = randTensor(shape, 600 + si);
      const xd = x.data as Float32Array;
      const rows = x.size / n;
      for (const op of ['sum', 'mean'] as const) {
        const y = (op === 'sum' ? sum : mean)(be, x);
        assert.deepEqual(y.shape, shape.slice(0, -1));
        const e = reduceRef(op, xd, n);
        // Rounding error of an f32 sum scales with sum |x|, not with the (possibly cancelling) result.
        for (let r = 0; r < rows; r++) {
          const tol = 1e-6 * sumAbs(xd, n, r) / (op === 'mean' ? n : 1) + 1e-30;
          assert.ok(Math.abs((y.data as Float32Array)[r] - e[r]) <= tol, `${label(be, op, shape)} row ${r}: ${(y.data as Float32Array)[r]} vs ${e[r]}`);
        }
      }
      assert.deepEqual(Array.from(max(be, x).data as Float32Array), Array.from(reduceRef('max', xd, n)), label(be, 'max', shape));
      const am = argmax(be, x);
      assert.equal(am.dtype, 'i32');
      assert.deepEqual(Array.from(am.data as Int32Array), Array.from(argmaxRef(xd, n)), label(be, 'argmax', shape));
      const cs = cumsum(be, x).data as Float32Array;
      const ce = cumsumRef(xd, n);
      for (let r = 0; r < rows; r++) {
        // f64 running sum, one f32 rounding per output.
        for (let i = 0; i < n; i++) assert.ok(Math.abs(cs[r * n + i] - ce[r * n + i]) <= 6e-8 * Math.abs(ce[r * n + i]) + 1e-30, `${label(be, 'cumsum', shape)} [${r},${i}]`);
      }
    }
  }
});

test('argmax ties take the first index', () => {
  const x = Tensor.fromArray([1, 3, 3, -1, 2, 2, 2, 2], [2, 4]);
  for (const be of bes) assert.deepEqual(Array.from(argmax(be, x).data as Int32Array), [1, 0]);
});

test('rmsNorm, layerNorm, groupNorm (plain and offset weight, optional bias)', () => {
  for (const be of bes) {
    const cases: { shape: number[]; groups: number }[] = [
      { shape: [1], groups: 1 }, { shape: [3, 5], groups: 1 }, { shape: [2, 3, 12], groups: 3 }, { shape: [4, 64], groups: 4 },
      { shape: [5, 129], groups: 1 }, { shape: [2, 8, 8 * 33], groups: 8 }, { shape: [3, 40, 1024], groups: 4 },
    ];
    for (const [ci, { shape, groups }] of cases.entries()) {
      const D = shape[shape.length - 1];
      // An offset makes the mean large relative to the spread: the two-pass variance must cope.
      const x = randTensor(shape, 700 + ci, 3, 9);
      const xd = x.data as Float32Array;
      const w = randTensor([D], 800 + ci, -1, 1);
      const b = randTensor([D], 900 + ci, -1, 1);
      const wd = w.data as Float32Array, bd = b.data as Float32Array;
      for (const weightOffset of [false, true]) {
        const tag = `${weightOffset ? 'offset' : 'plain'} g=${groups}`;
        expectClose(label(be, `rmsNorm ${tag}`, shape), rmsNorm(be, x, { eps: 1e-6, weight: w, weightOffset }).data as Float32Array,
          normRef(xd, D, 1, { eps: 1e-6, weight: wd, weightOffset, rms: true }), 2e-6, 1e-6);
        expectClose(label(be, `layerNorm ${tag}`, shape), layerNorm(be, x, { eps: 1e-5, weight: w, bias: b, weightOffset }).data as Float32Array,
          normRef(xd, D, 1, { eps: 1e-5, weight: wd, bias: bd, weightOffset }), 1e-5, 1e-5);
        expectClose(label(be, `groupNorm ${tag}`, shape), groupNorm(be, x, groups, { eps: 1e-6, weight: w, weightOffset }).data as Float32Array,
          normRef(xd, D, groups, { eps: 1e-6, weight: wd, weightOffset }), 1e-5, 1e-5);
      }
      expectClose(label(be, 'layerNorm no weight', shape), layerNorm(be, x, { eps: 1e-5 }).data as Float32Array, normRef(xd, D, 1, { eps: 1e-5 }), 1e-5, 1e-5);
      expectClose(label(be, 'rmsNorm no weight', shape), rmsNorm(be, x, { eps: 1e-6 }).data as Float32Array, normRef(xd, D, 1, { eps: 1e-6, rms: true }), 2e-6, 1e-6);
    }
  }
});

test('causalConv1d matches the reference, with and without bias and initial state', () => {
  for (const be of bes) {
    const cases = [[1, 1, 1, 1], [1, 5, 3, 4], [2, 7, 9, 4], [3, 2, 16, 4], [2, 33, 67, 3], [2, 64, 520, 4]];
    for (const [ci, [B, S, C, K]] of cases.entries()) {
      const x = randTensor([B, S, C], 1000 + ci);
      const w = randTensor([C, 1, K], 1100 + ci, -1, 1);
      const bias = randTensor([C], 1200 + ci, -1, 1);
      const st0 = randTensor([B, K, C], 1300 + ci);
      for (const withBias of [false, true]) {
        for (const withState of [false, true]) {
          const r = causalConv1d(be, x, w, { bias: withBias ? bias : undefined, state: withState ? st0 : undefined });
          const e = causalConv1dRef(x.data as Float32Array, w.data as Float32Array, withBias ? bias.data as Float32Array : undefined,
            withState ? st0.data as Float32Array : undefined, B, S, C, K);
          const tag = `causalConv1d bias=${withBias} state=${withState} K=${K}`;
          expectClose(label(be, tag, [B, S, C]), r.y.data as Float32Array, e.y, 1e-6, 1e-6);
          assert.deepEqual(Array.from(r.state.data as Float32Array), Array.from(e.state), `${tag}: state`);
        }
      }
    }
  }
});

test('causalConv1dStep matches the reference step (odd C, K = 1..5, batch > 1)', () => {
  for (const be of bes) {
    for (const [ci, [B, C, K]] of [[1, 1, 1], [3, 7, 2], [2, 13, 4], [2, 8, 5], [4, 1030, 4]].entries()) {
      const w = randTensor([C, 1, K], 1600 + ci, -1, 1);
      const bias = randTensor([C], 1700 + ci, -1, 1);
      const st0 = randTensor([B, K, C], 1800 + ci);
      const x = randTensor([B, C], 1900 + ci);
      const state = be.upload(st0);
      const e = causalConv1dStepRef(x.data as Float32Array, st0.data as Float32Array, w.data as Float32Array, bias.data as Float32Array, B, C, K);
      const r = causalConv1dStep(be, x, state, w, { bias });
      expectClose(label(be, `causalConv1dStep K=${K}`, [B, C]), r.y.data as Float32Array, e.y, 1e-6, 1e-6);
      assert.deepEqual(Array.from(state.data as Float32Array), Array.from(e.state), `step state B=${B} C=${C} K=${K}`);
    }
  }
});

test('causalConv1d: prefill + steps = full sequence, split sequence = whole', () => {
  for (const be of bes) {
    const [B, S, C, K] = [2, 11, 13, 4];
    const x = randTensor([B, S, C], 1400);
    const w = randTensor([C, K], 1401, -1, 1); // [C, K] is accepted as well as [C, 1, K]
    const bias = randTensor([C], 1402, -1, 1);
    const full = causalConv1d(be, x, w, { bias }).y.data as Float32Array;
    const P = 6;
    const xd = x.data as Float32Array;
    const slice = (t0: number, t1: number) => {
      const d = new Float32Array(B * (t1 - t0) * C);
      for (let b = 0; b < B; b++) d.set(xd.subarray((b * S + t0) * C, (b * S + t1) * C), b * (t1 - t0) * C);
      return new Tensor('f32', [B, t1 - t0, C], d);
    };
    const pre = causalConv1d(be, slice(0, P), w, { bias });
    const rest = causalConv1d(be, slice(P, S), w, { bias, state: pre.state });
    for (let b = 0; b < B; b++) {
      for (let t = P; t < S; t++) {
        for (let c = 0; c < C; c++) assert.equal((rest.y.data as Float32Array)[(b * (S - P) + t - P) * C + c], full[(b * S + t) * C + c], `split b=${b} t=${t} c=${c}`);
      }
    }
    // Steps with a weight prepared once (as a layer does at load) equal the raw-weight path.
    const prepared = CausalConv1dWeight.prepare(be, w);
    assert.deepEqual(Array.from(causalConv1d(be, x, prepared, { bias }).y.data as Float32Array), Array.from(full));
    let state = pre.state;
    for (let t = P; t < S; t++) {
      const xt = slice(t, t + 1).reshape([B, C]);
      const r = causalConv1dStep(be, xt, state, prepared, { bias });
      assert.equal(r.state, state);
      state = r.state;
      for (let b = 0; b < B; b++) expectClose(`step t=${t} b=${b}`, (r.y.data as Float32Array).subarray(b * C, (b + 1) * C), full.subarray((b * S + t) * C, (b * S + t + 1) * C), 1e-6, 1e-6);
    }
    // Steps from a zero state reproduce the sequence form from the start.
    const z = be.zeros([B, K, C]);
    for (let t = 0; t < S; t++) {
      const y = causalConv1dStep(be, slice(t, t + 1).reshape([B, C]), z, w, { bias }).y.data as Float32Array;
      for (let b = 0; b < B; b++) expectClose(`zero-state step t=${t}`, y.subarray(b * C, (b + 1) * C), full.subarray((b * S + t) * C, (b * S + t + 1) * C), 1e-6, 1e-6);
    }
  }
});

test('embedding gathers rows for i32 and i64 ids, f32 and bf16 tables', () => {
  for (const be of bes) {
    const [V, E] = [37, 19];
    const table = randTensor([V, E], 1500);
    const r = rng(1501);
    for (const idsShape of [[1], [2, 5], [3, 1, 4], [600]]) {
      const n = idsShape.reduce((a, b) => a * b, 1);
      const ids32 = new Int32Array(n).map(() => Math.floor(r() * V));
      ids32[0] = V - 1;
      const e = embeddingRef(ids32, table.data as Float32Array, V, E);
      const y = embedding(be, new Tensor('i32', idsShape, ids32), table);
      assert.deepEqual(y.shape, [...idsShape, E]);
      assert.deepEqual(Array.from(y.data as Float32Array), Array.from(e), `i32 ids ${idsShape}`);
      const y64 = embedding(be, new Tensor('i64', idsShape, BigInt64Array.from(ids32, (v) => BigInt(v))), table);
      assert.deepEqual(Array.from(y64.data as Float32Array), Array.from(e), `i64 ids ${idsShape}`);
      const bf = new Tensor('bf16', [V, E], f32ArrayToBf16(table.data as Float32Array));
      const yb = embedding(be, new Tensor('i32', idsShape, ids32), bf);
      assert.deepEqual(Array.from(yb.data as Float32Array), Array.from(e, roundBf16), `bf16 table ${idsShape}`);
    }
  }
});
