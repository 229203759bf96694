// Batched GEMV (decoding 2..8 sequences at once, each weight loaded once for all rows of
// x): every batch size of the x-row groups (4 + 1..3 left over), odd K (SIMD tails), odd
// N (W rows left over after the pairs or 4-row tiles), bias, 1 and 2 threads and the baseline build,
// against the float64 reference and against the same rows decoded one at a time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { kernelTestBackends } from './harness.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { quantizeInt8, dequantizeInt8, quantizeQ4, dequantizeQ4 } from '../../src/tensor/quant.js';
import { linear, LinearWeight } from '../../src/ops/matmul.js';
import { refLinear } from '../../src/backend/ref/matmul.js';

let bes: WasmBackend[] = [];
before(async () => { bes = await kernelTestBackends(); });
after(() => { for (const b of bes) b.dispose(); });

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

/** Row r of linear(x[r]) alone (the B = 1 kernel). */
function oneRow(be: WasmBackend, X: Float32Array, r: number, K: number, w: LinearWeight, bias: Tensor): Float32Array {
  const y = linear(be, new Tensor('f32', [1, K], X.slice(r * K, (r + 1) * K)), w, bias);
  const out = (y.data as Float32Array).slice();
  y.dispose();
  return out;
}

test('batched f32 GEMV: B = 2..8, odd K and N, matches the float64 reference and the one-row kernel', () => {
  // B >= 5 runs gemvF32Batch (x transposed, 4-row W tiles): N = 7, 6, 37 leave 3, 2, 1 rows
  // after the tiles (per thread: threads split N in multiples of 4), N = 3 has no full tile
  for (const [N, K] of [[37, 101], [6, 4], [9, 1029], [7, 300], [3, 33]] as const) {
    const W = rand(N * K, N + K), bias = rand(N, 3);
    const w = new Tensor('f32', [N, K], W), bt = new Tensor('f32', [N], bias);
    for (const be of bes) {
      for (let B = 2; B <= 8; B++) {
        const X = rand(B * K, 10 + B);
        const y = linear(be, new Tensor('f32', [B, K], X), w, bt);
        const got = y.data as Float32Array;
        const want = refLinear(X, W, B, N, K, bias);
        for (let i = 0; i < got.length; i++) {
          // f32 sums of K terms of size <= 1
          const tol = 4e-7 * Math.sqrt(K) * 8 + 1e-6 * Math.abs(want[i]);
          if (!(Math.abs(got[i] - want[i]) <= tol)) assert.fail(`f32 N=${N} K=${K} B=${B} threads=${be.threads} [${i}]: got ${got[i]}, want ${want[i]}`);
        }
        for (const r of [0, B - 1]) {
          const one = oneRow(be, X, r, K, w, bt);
          for (let n = 0; n < N; n++) assert.ok(Math.abs(one[n] - got[r * N + n]) <= 4e-7 * Math.sqrt(K) * 8, `f32 batch row ${r} vs one row [${n}]: ${got[r * N + n]} vs ${one[n]}`);
        }
        y.dispose();
      }
    }
  }
});

test('batched int8 GEMV: B = 2..8, K tails and several integer chunks, bit-identical to the one-row kernel and within the int16-x bound of the reference', () => {
  for (const [N, K] of [[13, 1045], [5, 7], [7, 2080]] as const) {
    const W = rand(N * K, 40 + K), bias = rand(N, 41);
    const w = quantizeInt8(new Tensor('f32', [N, K], W)), wd = dequantizeInt8(w), bt = new Tensor('f32', [N], bias);
    for (const be of bes) {
      for (let B = 2; B <= 8; B++) {
        const X = rand(B * K, 50 + B);
        for (let i = 0; i < X.length; i += 7) X[i] *= 3;
        const y = linear(be, new Tensor('f32', [B, K], X), w, bt);
        const got = y.data as Float32Array;
        const want = refLinear(X, wd, B, N, K, bias);
        for (let r = 0; r < B; r++) {
          // the same integer sums and scale products as decoding the row alone
          const one = oneRow(be, X, r, K, w, bt);
          for (let n = 0; n < N; n++) assert.equal(got[r * N + n], one[n], `int8 N=${N} K=${K} B=${B} threads=${be.threads} row ${r} [${n}] vs one row`);
          let amax = 0;
          for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(X[r * K + k]));
          for (let n = 0; n < N; n++) {
            let sw = 0;
            for (let k = 0; k < K; k++) sw += Math.abs(wd[n * K + k]);
            const bound = 0.51 * (amax / 32767) * sw + 2e-6 * sw * amax + 1e-6;
            const d = Math.abs(got[r * N + n] - want[r * N + n]);
            if (!(d <= bound)) assert.fail(`int8 N=${N} K=${K} B=${B} [${r}, ${n}]: |diff| ${d} > ${bound}`);
          }
        }
        y.dispose();
      }
    }
  }
});

test('batched Q4 GEMV (x as int16 and as Q8_0): B = 2..8 rows equal the one-row kernel', () => {
  const N = 11, K = 96;
  const W = rand(N * K, 77), bias = rand(N, 78);
  const w16 = quantizeQ4(new Tensor('f32', [N, K], W), { activationBits: 16 }), wd = dequantizeQ4(w16), bt = new Tensor('f32', [N], bias);
  // 8-bit x: |err| <= sum over blocks of d / 2 * sum |w| ~ 3 x (1/254) x 48 ~ 0.19 here (gemvQ4Q8.test.ts checks that bound)
  for (const [w, tol] of [[w16, 1e-3], [w16.withActivationBits(8), 0.2]] as const) for (const be of bes) {
    for (const B of [2, 5, 8]) {
      const X = rand(B * K, 90 + B);
      const y = linear(be, new Tensor('f32', [B, K], X), w, bt);
      const got = y.data as Float32Array;
      const want = refLinear(X, wd, B, N, K, bias);
      for (let r = 0; r < B; r++) {
        const one = oneRow(be, X, r, K, w, bt);
        for (let n = 0; n < N; n++) {
          assert.equal(got[r * N + n], one[n], `q4 B=${B} threads=${be.threads} row ${r} [${n}]`);
          assert.ok(Math.abs(got[r * N + n] - want[r * N + n]) <= tol, `q4 x${w.activationBits} B=${B} [${r}, ${n}] vs reference: ${got[r * N + n]} vs ${want[r * N + n]}`);
        }
      }
      y.dispose();
    }
  }
});
