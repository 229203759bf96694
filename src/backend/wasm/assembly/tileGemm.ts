// C = beta*C + A B for the small in-cache blocks of the mLSTM chunkwise kernels (forward in
// mlstm.ts, backward in backwardMlstm.ts): 4x8 register tiles, triangular A skipped where known
// to be zero. The big GEMMs (linear layers) use the packed kernel of gemm.ts instead.
import { fmadd } from './simd';

/** tileGemm tri: A is lower triangular (A[i,k] = 0 for k > i): the sum stops at k = i. */
export const TRI_A_LOWER: i32 = 1;
/** tileGemm tri: A is upper triangular (A[i,k] = 0 for k < i): the sum starts at k = i. */
export const TRI_A_UPPER: i32 = 2;
/** tileGemm tri: only C's lower triangle (j <= i) is wanted; tiles wholly above it are skipped (left as they were). */
export const TRI_C_LOWER: i32 = 3;

/**
 * C[M,N] = beta*C + A[M,K] B[K,N] (beta = 0 ignores C's old contents, NaN included).
 * 4x8 register tiles; row and column tails in plain loops. `tri` skips known zeros (TRI_*;
 * the zero entries of a triangular A must still be stored as zeros).
 */
export function tileGemm(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32, beta: f32, tri: i32 = 0): void {
  const vbeta = f32x4.splat(beta);
  const bstep = <usize>ldb << 2;
  const M4 = M & ~3;
  let j = 0;
  for (; j + 8 <= N; j += 8) {
    const jo = <usize>j << 2;
    for (let i0 = 0; i0 < M4; i0 += 4) {
      if (tri == TRI_C_LOWER && j > i0 + 3) continue;
      const k0 = tri == TRI_A_UPPER ? min<i32>(i0, K) : 0;
      const k1 = tri == TRI_A_LOWER ? min<i32>(i0 + 4, K) : K;
      const a0 = a + (<usize>(i0 * lda) << 2);
      const a1 = a0 + (<usize>lda << 2), a2 = a1 + (<usize>lda << 2), a3 = a2 + (<usize>lda << 2);
      const c0 = c + (<usize>(i0 * ldc) << 2) + jo;
      const c1 = c0 + (<usize>ldc << 2), c2 = c1 + (<usize>ldc << 2), c3 = c2 + (<usize>ldc << 2);
      let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
      let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
      let bp = b + jo + <usize>k0 * bstep;
      for (let k = k0; k < k1; k++) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        const ko = <usize>k << 2;
        let s = v128.load32_splat(a0 + ko); x00 = fmadd(s, b0, x00); x01 = fmadd(s, b1, x01);
        s = v128.load32_splat(a1 + ko); x10 = fmadd(s, b0, x10); x11 = fmadd(s, b1, x11);
        s = v128.load32_splat(a2 + ko); x20 = fmadd(s, b0, x20); x21 = fmadd(s, b1, x21);
        s = v128.load32_splat(a3 + ko); x30 = fmadd(s, b0, x30); x31 = fmadd(s, b1, x31);
        bp += bstep;
      }
      if (beta != 0) {
        x00 = fmadd(vbeta, v128.load(c0), x00); x01 = fmadd(vbeta, v128.load(c0, 16), x01);
        x10 = fmadd(vbeta, v128.load(c1), x10); x11 = fmadd(vbeta, v128.load(c1, 16), x11);
        x20 = fmadd(vbeta, v128.load(c2), x20); x21 = fmadd(vbeta, v128.load(c2, 16), x21);
        x30 = fmadd(vbeta, v128.load(c3), x30); x31 = fmadd(vbeta, v128.load(c3, 16), x31);
      }
      v128.store(c0, x00); v128.store(c0, x01, 16);
      v128.store(c1, x10); v128.store(c1, x11, 16);
      v128.store(c2, x20); v128.store(c2, x21, 16);
      v128.store(c3, x30); v128.store(c3, x31, 16);
    }
    for (let i = M4; i < M; i++) {
      if (tri == TRI_C_LOWER && j > i) continue;
      const k0 = tri == TRI_A_UPPER ? min<i32>(i, K) : 0;
      const k1 = tri == TRI_A_LOWER ? min<i32>(i + 1, K) : K;
      const ar = a + (<usize>(i * lda) << 2);
      const cr = c + (<usize>(i * ldc) << 2) + jo;
      let x0 = f32x4.splat(0), x1 = f32x4.splat(0);
      let bp = b + jo + <usize>k0 * bstep;
      for (let k = k0; k < k1; k++) {
        const s = v128.load32_splat(ar + (<usize>k << 2));
        x0 = fmadd(s, v128.load(bp), x0); x1 = fmadd(s, v128.load(bp, 16), x1);
        bp += bstep;
      }
      if (beta != 0) { x0 = fmadd(vbeta, v128.load(cr), x0); x1 = fmadd(vbeta, v128.load(cr, 16), x1); }
      v128.store(cr, x0); v128.store(cr, x1, 16);
    }
  }
  for (; j < N; j++) {
    for (let i = 0; i < M; i++) {
      const ar = a + (<usize>(i * lda) << 2);
      let s: f32 = 0;
      const k0 = tri == TRI_A_UPPER ? min<i32>(i, K) : 0;
      const k1 = tri == TRI_A_LOWER ? min<i32>(i + 1, K) : K;
      let bp = b + (<usize>j << 2) + <usize>k0 * bstep;
      for (let k = k0; k < k1; k++) { s += load<f32>(ar + (<usize>k << 2)) * load<f32>(bp); bp += bstep; }
      const cp = c + (<usize>(i * ldc + j) << 2);
      store<f32>(cp, beta != 0 ? s + beta * load<f32>(cp) : s);
    }
  }
}
