// swiglu (silu of the gate half times the up half, one pass) against the float64 reference,
// bit-equal to silu followed by mul, and its argument errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { swiglu, silu, mul } from '../../src/ops/elementwise.js';
import { siluRef } from '../../src/backend/ref/elementwise.js';
import { backends, expectClose, randTensor } from './harness.js';

let bes: WasmBackend[];
before(async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  bes = await backends();
});
after(() => bes.forEach((b) => b.dispose()));

// last dim 2n with n = 1, 2, 3 (vector tails), 5, 64 and TiRex's FFN width on enough rows for the pool
const SHAPES: number[][] = [[2], [1, 4], [3, 6], [2, 3, 10], [5, 128], [64, 2816]];

function halves(x: Tensor): { g: Tensor; u: Tensor } {
  const n = x.shape[x.rank - 1] / 2, rows = x.size / (2 * n), d = x.data as Float32Array;
  const g = new Float32Array(rows * n), u = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) { g.set(d.subarray(2 * r * n, (2 * r + 1) * n), r * n); u.set(d.subarray((2 * r + 1) * n, (2 * r + 2) * n), r * n); }
  const shape = [...x.shape.slice(0, -1), n];
  return { g: new Tensor('f32', shape, g), u: new Tensor('f32', shape, u) };
}

test('swiglu matches the float64 reference and gives the bits of silu then mul', () => {
  let seed = 5;
  for (const be of bes) {
    for (const shape of SHAPES) {
      const x = randTensor(shape, seed++, -9, 9);
      const y = swiglu(be, x);
      const { g, u } = halves(x);
      assert.deepEqual(y.shape, g.shape);
      const gd = g.data as Float32Array, ud = u.data as Float32Array;
      const want = Float64Array.from(gd, (v, i) => siluRef(v) * ud[i]);
      expectClose(`swiglu ${shape} threads=${be.threads}`, y.data as Float32Array, want, 2e-6, 1e-6);
      const s = silu(be, be.upload(g));
      const two = mul(be, s, u);
      const yd = y.data as Float32Array, td = two.data as Float32Array;
      for (let i = 0; i < td.length; i++) if (!Object.is(yd[i], td[i])) assert.fail(`swiglu ${shape} [${i}] threads=${be.threads}: ${yd[i]} vs silu*mul ${td[i]}`);
      for (const t of [y, s, two]) t.dispose();
    }
  }
});

test('swiglu keeps NaN and infinities as silu then mul does', () => {
  const be = bes[0];
  const x = new Tensor('f32', [1, 10], Float32Array.from([NaN, Infinity, -Infinity, 0, 2, 1, 1, 1, Infinity, NaN]));
  const y = swiglu(be, x).data as Float32Array;
  const { g, u } = halves(x);
  const two = mul(be, silu(be, be.upload(g)), u).data as Float32Array;
  assert.deepEqual(Array.from(y), Array.from(two));
  // gate | up = [NaN, inf, -inf, 0, 2] | [1, 1, 1, inf, NaN]
  assert.ok(Number.isNaN(y[0]) && Number.isNaN(y[3]) && Number.isNaN(y[4]), `NaN gate, silu(0) * inf, NaN up: ${Array.from(y)}`);
  assert.equal(y[1], Infinity);
});

test('swiglu rejects an odd last dim, other dtypes and a misshaped out', () => {
  const be = bes[0];
  assert.throws(() => swiglu(be, randTensor([2, 5], 1)), /swiglu: x must have an even last dim \[\.\., 2n\] \(gate \| up\), got shape \[2, 5\]/);
  assert.throws(() => swiglu(be, new Tensor('i32', [2, 4], new Int32Array(8))), /swiglu: x must have dtype f32, got i32/);
  const out = be.empty([2, 3]);
  assert.throws(() => swiglu(be, randTensor([2, 4], 2), out), /swiglu: out must have shape \[2, 2\], got \[2, 3\]/);
  out.dispose();
});
