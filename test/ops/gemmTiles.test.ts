// The 6 x 8 micro-kernel's shortcuts (relaxed build): full tiles of a GEMM's first depth pass
// written straight into C, and the mLSTM cell's small products (tileGemm) on the same kernel.
// Both must give the bits of the paths they replace; the baseline build runs the old paths
// and is checked the same way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import { kernelTestBackends, backendLabel } from './harness.js';

let bes: WasmBackend[];
before(async () => { bes = await kernelTestBackends(); });
after(() => { for (const be of bes) be.dispose(); });

/** Deterministic values in [-1, 1), some exact zeros. */
function fill(a: Float32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = i % 17 === 5 ? 0 : s / 2 ** 31 - 1; }
}

function sameBits(label: string, got: Float32Array, want: Float32Array, idx?: (i: number) => boolean): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < w.length; i++) {
    if (idx && !idx(i)) continue;
    if (g[i] !== w[i]) assert.fail(`${label}: [${i}] got ${got[i]} (0x${g[i].toString(16)}), want ${want[i]} (0x${w[i].toString(16)})`);
  }
}

test('gemmF32 alpha 1 beta 0 (tiles stored straight into C) = the merge path (beta 1 onto -0), bit for bit; old C ignored', () => {
  // (M, N, K, transA, transB): edge tiles in both directions, 1-3 depth passes (KC 512 / 256)
  const shapes: [number, number, number, number, number][] = [
    [13, 37, 1100, 0, 0], [64, 64, 512, 0, 1], [7, 9, 5, 1, 0], [100, 260, 768, 1, 1], [6, 8, 1, 0, 0], [200, 24, 300, 0, 1],
  ];
  for (const be of bes) {
    for (const [M, N, K, ta, tb] of shapes) {
      const A = be.empty([M * K]), B = be.empty([K * N]), C0 = be.empty([M * N]), C1 = be.empty([M * N]);
      const scratch = be.empty([(be.threads * (be.exports.gemmScratchBytes as () => number)()) / 4]);
      try {
        fill(A.data as Float32Array, 3 + M); fill(B.data as Float32Array, 7 + N);
        (C0.data as Float32Array).fill(NaN); // beta = 0: never read
        (C1.data as Float32Array).fill(-0); // x + -0 = x for every x, -0 included
        const lda = ta ? M : K, ldb = tb ? K : N;
        be.run('gemmF32', [ta, tb, M, N, K, 1, be.ptr(A), lda, be.ptr(B), ldb, 0, be.ptr(C0), N, be.ptr(scratch)]);
        be.run('gemmF32', [ta, tb, M, N, K, 1, be.ptr(A), lda, be.ptr(B), ldb, 1, be.ptr(C1), N, be.ptr(scratch)]);
        const label = `${backendLabel(be)} ${M}x${N}x${K} tA=${ta} tB=${tb}`;
        sameBits(label, C0.data as Float32Array, C1.data as Float32Array);
        // and the values themselves (f64 reference)
        const a = A.data as Float32Array, b = B.data as Float32Array, c = C0.data as Float32Array;
        for (let i = 0; i < M; i += Math.max(1, M >> 3)) {
          for (let j = 0; j < N; j += Math.max(1, N >> 3)) {
            let s = 0, sa = 0;
            for (let k = 0; k < K; k++) {
              const p = (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
              s += p; sa += Math.abs(p);
            }
            assert.ok(Math.abs(c[i * N + j] - s) <= 1e-6 * sa + 1e-30, `${label}: [${i},${j}] ${c[i * N + j]} vs ${s}`);
          }
        }
      } finally { for (const t of [A, B, C0, C1, scratch]) t.dispose(); }
    }
  }
});

test('tileGemm with scratch (6 x 8 tiles) = without (4 x 8), bit for bit: mLSTM shapes, tails, beta 0 / 1 / decay, lower-triangular C or A', () => {
  const TRI_A_LOWER = 1, TRI_C_LOWER = 3;
  // (M, N, K): the cell's Q C [L, DHV] from [L, DHQK], K^T V [DHQK, DHV] from [DHQK, L], Q K^T [L, L]
  // at L 64 / DHQK 96 / DHV 192 and the 2-block test model's 32 / 64, then row and column tails
  // (P V [L, DHV] from the lower-triangular P [L, L] too)
  const shapes: [number, number, number][] = [[64, 192, 96], [96, 192, 64], [64, 64, 96], [64, 192, 64], [32, 64, 64], [13, 20, 13], [6, 8, 1], [5, 16, 9], [64, 61, 64], [16, 64, 16]];
  for (const be of bes) {
    for (const [M, N, K] of shapes) {
      for (const beta of [0, 1, 0.8125]) {
        for (const tri of [0, TRI_C_LOWER, TRI_A_LOWER]) {
          // as the cell uses them: Q K^T into C's lower triangle (beta 0), P V from a lower-triangular P
          if (tri === TRI_C_LOWER && (beta || M !== N)) continue;
          if (tri === TRI_A_LOWER && (beta === 0.8125 || M !== K)) continue;
          const A = be.empty([M * K]), B = be.empty([K * N]), C0 = be.empty([M * N]), C1 = be.empty([M * N]);
          const scratch = be.empty([Math.ceil((be.exports.tileGemmScratchBytes as (m: number, k: number) => number)(M, K) / 4)]);
          try {
            fill(A.data as Float32Array, 11 + M); fill(B.data as Float32Array, 13 + N);
            // a triangular A keeps its zeros stored (tileGemm's contract)
            if (tri === TRI_A_LOWER) (A.data as Float32Array).forEach((_, i, a) => { if (i % K > Math.floor(i / K)) a[i] = 0; });
            fill(C0.data as Float32Array, 17); (C1.data as Float32Array).set(C0.data as Float32Array);
            if (beta === 0) { (C0.data as Float32Array).fill(NaN); (C1.data as Float32Array).fill(NaN); }
            be.run('tileGemmF32', [be.ptr(A), K, be.ptr(B), N, be.ptr(C0), N, M, N, K, beta, tri, 0]);
            be.run('tileGemmF32', [be.ptr(A), K, be.ptr(B), N, be.ptr(C1), N, M, N, K, beta, tri, be.ptr(scratch)]);
            const label = `${backendLabel(be)} ${M}x${N}x${K} beta=${beta} tri=${tri}`;
            // TRI_C_LOWER: only the lower triangle is defined
            sameBits(label, C1.data as Float32Array, C0.data as Float32Array, tri ? (i) => i % N <= Math.floor(i / N) : undefined);
            const c = C1.data as Float32Array;
            assert.ok(c.every((v, i) => (tri && i % N > Math.floor(i / N)) || Number.isFinite(v)), `${label}: non-finite output`);
          } finally { for (const t of [A, B, C0, C1, scratch]) t.dispose(); }
        }
      }
    }
  }
});
