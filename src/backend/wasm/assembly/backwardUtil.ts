// Small dense helpers shared by the backward kernels (not exported from the module):
// a register-tiled C = beta*C + A B for the per-head / per-chunk products, transposes,
// row scaling and dot products. Row-major, leading dims in elements, f32.
import { fmadd } from './simd';

// @ts-ignore: decorator
@inline export function bwAt(p: usize, i: i32): usize { return p + (<usize>i << 2); }

/** dot(a[0..n), b[0..n)) */
export function bwDot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = fmadd(v128.load(bwAt(a, i)), v128.load(bwAt(b, i)), s0);
    s1 = fmadd(v128.load(bwAt(a, i), 16), v128.load(bwAt(b, i), 16), s1);
  }
  for (; i + 4 <= n; i += 4) s0 = fmadd(v128.load(bwAt(a, i)), v128.load(bwAt(b, i)), s0);
  const s = f32x4.add(s0, s1);
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; i < n; i++) r += load<f32>(bwAt(a, i)) * load<f32>(bwAt(b, i));
  return r;
}

/** y[0..n) += a * x[0..n) */
export function bwAxpy(y: usize, x: usize, a: f32, n: i32): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(bwAt(y, i), fmadd(va, v128.load(bwAt(x, i)), v128.load(bwAt(y, i))));
  for (; i < n; i++) store<f32>(bwAt(y, i), load<f32>(bwAt(y, i)) + a * load<f32>(bwAt(x, i)));
}

/** x[0..n) *= a */
export function bwScale(x: usize, a: f32, n: i32): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(bwAt(x, i), f32x4.mul(va, v128.load(bwAt(x, i))));
  for (; i < n; i++) store<f32>(bwAt(x, i), load<f32>(bwAt(x, i)) * a);
}

/** dst[c, r] = src[r, c] for a [rows, cols] block. */
export function bwTranspose(src: usize, lds: i32, dst: usize, ldd: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const sr = src + (<usize>(r * lds) << 2);
    for (let c = 0; c < cols; c++) store<f32>(dst + (<usize>(c * ldd + r) << 2), load<f32>(sr + (<usize>c << 2)));
  }
}

/** bwGemm tri: A is lower triangular (A[i,k] = 0 for k > i): the sum stops at k = i. */
export const TRI_A_LOWER: i32 = 1;
/** bwGemm tri: A is upper triangular (A[i,k] = 0 for k < i): the sum starts at k = i. */
export const TRI_A_UPPER: i32 = 2;
/** bwGemm tri: only C's lower triangle (j <= i) is wanted; tiles wholly above it are skipped (left as they were). */
export const TRI_C_LOWER: i32 = 3;

/**
 * C[M,N] = beta*C + A[M,K] B[K,N] (beta = 0 ignores C's old contents, NaN included).
 * 4x8 register tiles; row and column tails in plain loops. `tri` skips known zeros (TRI_*;
 * the zero entries of a triangular A must still be stored as zeros).
 */
export function bwGemm(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32, beta: f32, tri: i32 = 0): void {
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
      let bp = b + (<usize>j << 2);
      for (let k = 0; k < K; k++) { s += load<f32>(ar + (<usize>k << 2)) * load<f32>(bp); bp += bstep; }
      const cp = c + (<usize>(i * ldc + j) << 2);
      store<f32>(cp, beta != 0 ? s + beta * load<f32>(cp) : s);
    }
  }
}

// ---- f32x4 transcendentals: the Cephes forms of slstm.ts (same rounding as the forward) ----

// @ts-ignore: decorator
@inline export function bwSplat(x: f32): v128 { return f32x4.splat(x); }

/** exp(x); exactly 0 below -87 (the f32 result there is < 2^-125 anyway); NaN kept. */
// @ts-ignore: decorator
@inline export function bwExpV(x: v128): v128 {
  // pmin/pmax are single instructions (min/max must order NaN and -0: ~8); NaN is restored at the end
  const xc = f32x4.pmin(f32x4.pmax(x, bwSplat(-87.0)), bwSplat(88.0));
  // n = round(x / ln 2) via the 1.5*2^23 trick: the low mantissa bits of t then hold n itself
  const t = f32x4.add(f32x4.mul(xc, bwSplat(1.44269504088896341)), bwSplat(12582912.0));
  const n = f32x4.sub(t, bwSplat(12582912.0));
  let g = f32x4.sub(xc, f32x4.mul(n, bwSplat(0.693359375)));
  g = f32x4.sub(g, f32x4.mul(n, bwSplat(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(bwSplat(1.9875691500e-4), g), bwSplat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, g), bwSplat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, g), bwSplat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, g), bwSplat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, g), bwSplat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, g), g), g), bwSplat(1.0));
  const pow2 = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  let r = f32x4.mul(p, pow2);
  r = v128.bitselect(bwSplat(0), r, f32x4.lt(x, bwSplat(-87.0)));
  r = v128.bitselect(bwSplat(Infinity), r, f32x4.gt(x, bwSplat(88.72283935546875)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/** log1p(u) for u in [0, 1] (Cephes logf with the argument reduction done on u itself). */
// @ts-ignore: decorator
@inline export function bwLog1p01V(u: v128): v128 {
  const big = f32x4.gt(u, bwSplat(0.41421356237));
  const x = v128.bitselect(f32x4.mul(f32x4.sub(u, bwSplat(1.0)), bwSplat(0.5)), u, big);
  const e = v128.and(big, bwSplat(1.0));
  const z = f32x4.mul(x, x);
  let p = f32x4.sub(f32x4.mul(bwSplat(7.0376836292e-2), x), bwSplat(1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, x), bwSplat(1.1676998740e-1));
  p = f32x4.sub(f32x4.mul(p, x), bwSplat(1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, x), bwSplat(1.4249322787e-1));
  p = f32x4.sub(f32x4.mul(p, x), bwSplat(1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, x), bwSplat(2.0000714765e-1));
  p = f32x4.sub(f32x4.mul(p, x), bwSplat(2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, x), bwSplat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(x, z), p);
  y = f32x4.add(y, f32x4.mul(e, bwSplat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, bwSplat(0.5)));
  return f32x4.add(f32x4.add(x, y), f32x4.mul(e, bwSplat(0.693359375)));
}

/** log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) */
// @ts-ignore: decorator
@inline export function bwLogSigmoidV(x: v128): v128 {
  return f32x4.sub(f32x4.pmin(x, bwSplat(0)), bwLog1p01V(bwExpV(f32x4.neg(f32x4.abs(x)))));
}

/** tanh: Cephes polynomial for |x| < 0.625, (1 - e^{-2|x|}) / (1 + e^{-2|x|}) with the sign beyond. */
// @ts-ignore: decorator
@inline export function bwTanhV(x: v128): v128 {
  const a = f32x4.abs(x);
  const t = bwExpV(f32x4.mul(a, bwSplat(-2.0)));
  const big = f32x4.div(f32x4.sub(bwSplat(1.0), t), f32x4.add(bwSplat(1.0), t));
  const bigS = v128.or(big, v128.and(x, i32x4.splat(0x80000000))); // copy the sign of x
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(bwSplat(-5.70498872745e-3), z), bwSplat(2.06390887954e-2));
  p = f32x4.sub(f32x4.mul(p, z), bwSplat(5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), bwSplat(1.33314422036e-1));
  p = f32x4.sub(f32x4.mul(p, z), bwSplat(3.33332819422e-1));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(p, z), x));
  return v128.bitselect(small, bigS, f32x4.lt(a, bwSplat(0.625)));
}

/** 1 / (1 + exp(-x)) */
// @ts-ignore: decorator
@inline export function bwSigmoidV(x: v128): v128 {
  return f32x4.div(bwSplat(1.0), f32x4.add(bwSplat(1.0), bwExpV(f32x4.neg(x))));
}

