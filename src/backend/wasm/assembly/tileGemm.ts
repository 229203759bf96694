// C = beta*C + A B for the small in-cache blocks of the mLSTM chunkwise kernels (forward in
// mlstm.ts, backward in backwardMlstm.ts): 4x8 register tiles, triangular A skipped where known
// to be zero. The big GEMMs (linear layers) use the packed kernel of gemm.ts; with scratch, the
// relaxed build runs the full 6-row blocks here on that kernel too (see tileGemm6).
import { fmadd } from './simd';
import { micro, packA6 } from './gemmMicro';

/** tileGemm tri: A is lower triangular (A[i,k] = 0 for k > i): the sum stops at k = i. */
export const TRI_A_LOWER: i32 = 1;
/** tileGemm tri: A is upper triangular (A[i,k] = 0 for k < i): the sum starts at k = i. */
export const TRI_A_UPPER: i32 = 2;
/** tileGemm tri: only C's lower triangle (j <= i) is wanted; tiles wholly above it are skipped (left as they were). */
export const TRI_C_LOWER: i32 = 3;

/** Bytes of scratch tileGemm's 6 x 8 path needs for A [M, K] (every product of the call fits). */
export function tileGemmScratchBytes(M: i32, K: i32): i32 {
  // packed A rows [M, K], one B panel [K, 8], one 6 x 8 tile; 64-byte aligned
  return (M * K + K * 8 + 48) * 4 + 64 * 3;
}

/**
 * C[M,N] = beta*C + A[M,K] B[K,N] (beta = 0 ignores C's old contents, NaN included).
 * 4x8 register tiles; row and column tails in plain loops. `tri` skips known zeros (TRI_*;
 * the zero entries of a triangular A must still be stored as zeros). With `scratch`
 * (tileGemmScratchBytes(M, K) bytes) the relaxed build computes the full 6 x 8 tiles with
 * the GEMM's micro-kernel (tri 0, TRI_C_LOWER, TRI_A_LOWER; same bits, see tileGemm6).
 */
export function tileGemm(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32, beta: f32, tri: i32 = 0, scratch: usize = 0): void {
  if (ASC_FEATURE_RELAXED_SIMD && scratch != 0 && tri != TRI_A_UPPER && M >= 6 && N >= 8 && K > 0) {
    const M6 = M - M % 6, N8 = N & ~7;
    tileGemm6(a, lda, b, ldb, c, ldc, M6, N8, K, beta, tri, scratch);
    // The column tail of those rows and the last M % 6 rows as before. In these offset blocks
    // TRI_C_LOWER's diagonal test would be off (computing them whole is allowed) and so would
    // TRI_A_LOWER's row index for the last rows: they run over the whole depth instead (A's
    // zeros are stored, see tileGemm6).
    if (N8 < N) tileGemm4(a, lda, b + (<usize>N8 << 2), ldb, c + (<usize>N8 << 2), ldc, M6, N - N8, K, beta, tri == TRI_C_LOWER ? 0 : tri);
    if (M6 < M) tileGemm4(a + (<usize>(M6 * lda) << 2), lda, b, ldb, c + (<usize>(M6 * ldc) << 2), ldc, M - M6, N, K, beta, 0);
    return;
  }
  tileGemm4(a, lda, b, ldb, c, ldc, M, N, K, beta, tri);
}

// @ts-ignore: decorator
@inline function align64(x: usize): usize { return (x + 63) & ~(<usize>63); }

// Rows 0..M6 (a multiple of 6), columns 0..N8 (a multiple of 8) on the GEMM micro-kernel
// (6 x 8, 12 accumulators): A packed once into [6-row panel][k][6], each B column panel into
// [k][8] and used by every row panel. Each element is sum_k A B from zero in k order with the
// same fused multiply-adds as tileGemm4's 4 x 8 tiles, then beta * C + sum as one fused
// multiply-add, so the bits are tileGemm4's. TRI_A_LOWER: a 6-row block sums to depth i0 + 6
// where a 4-row one stopped at its own i0 + 4, so a row may add a few more of A's stored zeros;
// 0 * b + s is s for finite b (s = +0 stays +0 under round-to-nearest), so the bits differ only
// where B holds an infinity or NaN that the shorter sum skipped. The chunkwise mLSTM kernel
// (S 2048, 4 heads, L 64, DHQK 96, DHV 192, one core) went from 20.7 to 19.4 ms with its four
// products here.
function tileGemm6(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, M6: i32, N8: i32, K: i32, beta: f32, tri: i32, scratch: usize): void {
  const ap = align64(scratch);
  const bp = align64(ap + (<usize>(M6 * K) << 2));
  const t = align64(bp + (<usize>K << 5));
  const rsA = <usize>lda << 2, rsB = <usize>ldb << 2, rsC = <usize>ldc << 2;
  for (let i0 = 0; i0 < M6; i0 += 6) packA6(a + <usize>i0 * rsA, rsA, K, ap + (<usize>(i0 * K) << 2));
  const vbeta = f32x4.splat(beta);
  for (let j = 0; j < N8; j += 8) {
    let src = b + (<usize>j << 2);
    for (let k = 0; k < K; k++) {
      const d = bp + (<usize>k << 5);
      v128.store(d, v128.load(src)); v128.store(d, v128.load(src, 16), 16);
      src += rsB;
    }
    for (let i0 = 0; i0 < M6; i0 += 6) {
      if (tri == TRI_C_LOWER && j > i0 + 5) continue;
      const kc = tri == TRI_A_LOWER ? min<i32>(i0 + 6, K) : K;
      const pa = ap + (<usize>(i0 * K) << 2);
      const cp = c + <usize>i0 * rsC + (<usize>j << 2);
      if (beta == 0) {
        micro(kc, pa, bp, cp, rsC);
      } else {
        // the tile, then C = beta * C + tile (the merge in its own function, see gemmMicro.ts)
        micro(kc, pa, bp, t, 32);
        mergeBeta(t, cp, rsC, vbeta);
      }
    }
  }
}

// C[0:6, 0:8] = beta * C + t (t a 6 x 8 tile), as tileGemm4's epilogue.
function mergeBeta(t: usize, c: usize, rsC: usize, vbeta: v128): void {
  for (let r = 0; r < 6; r++) {
    v128.store(c, fmadd(vbeta, v128.load(c), v128.load(t)));
    v128.store(c, fmadd(vbeta, v128.load(c, 16), v128.load(t, 16)), 16);
    c += rsC; t += 32;
  }
}

// The 4 x 8 tiles (every build, every tri): tileGemm without scratch.
function tileGemm4(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32, beta: f32, tri: i32): void {
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

/**
 * tileGemm as a kernel, for tests: runs on thread 0 only. scratch = 0 takes the 4 x 8 tiles
 * everywhere, otherwise tileGemmScratchBytes(M, K) bytes for the 6 x 8 path.
 */
export function tileGemmF32(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32, beta: f32, tri: i32, scratch: usize, tid: i32, nt: i32): void {
  if (tid == 0) tileGemm(a, lda, b, ldb, c, ldc, M, N, K, beta, tri, scratch);
}
