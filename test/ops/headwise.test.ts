// headwiseMatmul (one dispatch for all per-(group, head) products) against the float64
// reference, bit-equal to one matmul per block, and its argument errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { headwiseMatmul } from '../../src/ops/headwise.js';
import { matmul } from '../../src/ops/matmul.js';
import { refHeadwiseMatmul } from '../../src/backend/ref/headwise.js';
import { backends, expectClose, randTensor } from './harness.js';

let bes: WasmBackend[];
before(async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  bes = await backends();
});
after(() => bes.forEach((b) => b.dispose()));

// [rows, G, NH, DO, DI]: odd sizes for the GEMM edge tiles, DO != DI, one head, and one large
// enough for the thread pool (TiRex's 4 gates x 4 heads of 128, few rows)
const CASES: number[][] = [[1, 1, 1, 1, 1], [3, 4, 2, 5, 7], [13, 2, 3, 9, 4], [1, 4, 1, 33, 17], [37, 4, 4, 24, 24], [64, 4, 4, 128, 128]];

test('headwiseMatmul matches the float64 reference (1 and 2 threads, plain SIMD build)', () => {
  let seed = 11;
  for (const be of bes) {
    for (const [rows, G, NH, DO, DI] of CASES) {
      const x = randTensor([rows, NH * DI], seed++, -1, 1);
      const w = randTensor([G, NH, DO, DI], seed++, -1, 1);
      const y = headwiseMatmul(be, x, w);
      assert.deepEqual(y.shape, [rows, G * NH * DO]);
      const want = refHeadwiseMatmul(x.data as Float32Array, w.data as Float32Array, rows, G, NH, DO, DI);
      expectClose(`headwise ${[rows, G, NH, DO, DI]} threads=${be.threads}`, y.data as Float32Array, want, 1e-5, 4e-6 * Math.sqrt(DI));
      y.dispose();
    }
  }
});

test('headwiseMatmul gives the same bits as one matmul per (group, head) block', () => {
  let seed = 101;
  for (const be of bes) {
    for (const [rows, G, NH, DO, DI] of CASES) {
      const x = randTensor([2, rows, NH * DI], seed++, -2, 2); // a leading batch axis is flattened into rows
      const w = randTensor([G, NH, DO, DI], seed++, -1, 1);
      const y = headwiseMatmul(be, x, w);
      assert.deepEqual(y.shape, [2, rows, G * NH * DO]);
      const xd = x.data as Float32Array, wd = w.data as Float32Array, yd = y.data as Float32Array;
      for (let g = 0; g < G; g++) {
        for (let h = 0; h < NH; h++) {
          const xs = new Float32Array(2 * rows * DI);
          for (let r = 0; r < 2 * rows; r++) xs.set(xd.subarray(r * NH * DI + h * DI, r * NH * DI + (h + 1) * DI), r * DI);
          const it = g * NH + h;
          const ws = new Tensor('f32', [DO, DI], wd.slice(it * DO * DI, (it + 1) * DO * DI));
          const ref = matmul(be, new Tensor('f32', [2 * rows, DI], xs), ws, { transB: true });
          const rd = ref.data as Float32Array;
          for (let r = 0; r < 2 * rows; r++) {
            for (let o = 0; o < DO; o++) {
              const got = yd[r * G * NH * DO + it * DO + o], want = rd[r * DO + o];
              if (!Object.is(got, want)) assert.fail(`block (${g}, ${h}) row ${r} col ${o} threads=${be.threads}: ${got} vs matmul ${want}`);
            }
          }
          ref.dispose();
        }
      }
      y.dispose();
    }
  }
});

test('headwiseMatmul writes into out and rejects bad shapes and dtypes', () => {
  const be = bes[0];
  const x = randTensor([3, 8], 1), w = randTensor([2, 2, 3, 4], 2);
  const out = be.empty([3, 12]);
  assert.equal(headwiseMatmul(be, x, w, out), out);
  expectClose('out', out.data as Float32Array, refHeadwiseMatmul(x.data as Float32Array, w.data as Float32Array, 3, 2, 2, 3, 4), 1e-5, 1e-5);
  out.dispose();
  assert.throws(() => headwiseMatmul(be, randTensor([3, 7], 3), w), /headwiseMatmul: x must have shape \[\.\., 8\].*got \[3, 7\]/);
  assert.throws(() => headwiseMatmul(be, x, randTensor([4, 3, 4], 4)), /headwiseMatmul: w must be 4-D \[groups, heads, out, in\], got shape \[4, 3, 4\]/);
  assert.throws(() => headwiseMatmul(be, x, new Tensor('i32', [2, 2, 3, 4], new Int32Array(48))), /headwiseMatmul: w must have dtype f32, got i32/);
  const bad = be.empty([3, 11]);
  assert.throws(() => headwiseMatmul(be, x, w, bad), /headwiseMatmul: out must have shape \[3, 12\], got \[3, 11\]/);
  bad.dispose();
});
