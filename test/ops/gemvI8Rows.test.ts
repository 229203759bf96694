// The int8 GEMV at B = 1 (assembly/gemv.ts gemvI8) reads four rows at a time, one from each
// quarter of a thread's rows, with the rest one by one; the batched kernel (batchI8) widens each
// weight chunk once for up to 4 x rows. Both must compute every row alike, so a lone x row gives
// the bits of row 0 of a batch of 2 (odd N: remainders on each thread; K % 16 != 0: the scalar
// tail), on 1 and 2 threads and both SIMD builds; and the result matches the float64 reference
// of the dequantised product within the int16 rounding of x.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { kernelTestBackends, backendLabel } from './harness.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { quantizeInt8 } from '../../src/tensor/quant.js';
import { linear } from '../../src/ops/matmul.js';

let bes: WasmBackend[] = [];
before(async () => { bes = await kernelTestBackends(); });
after(() => { for (const b of bes) b.dispose(); });

const label = backendLabel;

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return 2 * (s / 2 ** 32) - 1; });
}

test('int8 GEMV at B = 1 (rows from four quarters) = row 0 of a batch, bit for bit, and close to the float64 product', () => {
  for (const [N, K] of [[37, 200], [64, 2048], [9, 40], [3, 16], [130, 1100]] as const) {
    const wf = rand(N * K, 3 + N), X = rand(2 * K, 7 + K), bias = new Tensor('f32', [N], rand(N, 1));
    const w = quantizeInt8(new Tensor('f32', [N, K], wf));
    const wq = w.data as Int8Array, sc = w.scales!;
    for (const be of bes) {
      const one = linear(be, new Tensor('f32', [1, K], X.slice(0, K)), w, bias).toFloat32();
      const two = linear(be, new Tensor('f32', [2, K], X), w, bias).toFloat32();
      const a = new Uint32Array(one.buffer, one.byteOffset, N), b = new Uint32Array(two.buffer, two.byteOffset, N);
      for (let i = 0; i < N; i++) if (a[i] !== b[i]) assert.fail(`N=${N} K=${K} ${label(be)} [${i}]: B=1 ${one[i]} vs row 0 of B=2 ${two[i]}`);
      // x is rounded to int16 with one scale (max|x| / 32767): error <= that half-step per element
      let amax = 0;
      for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(X[k]));
      for (let n = 0; n < N; n++) {
        let want = (bias.data as Float32Array)[n], mag = 0;
        for (let k = 0; k < K; k++) { const wv = wq[n * K + k] * sc[n]; want += wv * X[k]; mag += Math.abs(wv); }
        const tol = mag * (amax / 32767) + 1e-5 * (Math.abs(want) + mag);
        if (!(Math.abs(one[n] - want) <= tol)) assert.fail(`N=${N} K=${K} ${label(be)} [${n}]: got ${one[n]}, want ${want} +- ${tol}`);
      }
    }
  }
});
