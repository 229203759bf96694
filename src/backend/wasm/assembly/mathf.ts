// Transcendental helpers shared by the elementwise and ops kernels. Not exported
// from index.ts: these are building blocks, not kernels.

/**
 * erfc(z) for z >= 0 with fractional error below 1.2e-7 everywhere (Numerical
 * Recipes' Chebyshev fit). Evaluated in f64 so the exp argument (up to -z^2) does
 * not lose the accuracy that f32 rounding of z*z would cost in the far tail.
 */
// @ts-ignore: decorator
@inline export function erfcPos(z: f64): f64 {
  const t = 1.0 / (1.0 + 0.5 * z);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(-z * z + p);
}

/** erf(x): Taylor series near 0 (where 1 - erfc would cancel), erfc fit elsewhere. */
// @ts-ignore: decorator
@inline export function erf64(x: f64): f64 {
  const a = Math.abs(x);
  if (a < 0.5) {
    const z = x * x;
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360)
    return 1.1283791670955126 * x * (1.0 + z * (-1.0 / 3.0 + z * (0.1 + z * (-1.0 / 42.0 +
      z * (1.0 / 216.0 + z * (-1.0 / 1320.0 + z * (1.0 / 9360.0)))))));
  }
  const r = 1.0 - erfcPos(a);
  return x < 0 ? -r : r; // NaN falls through here (a < 0.5 is false) and stays NaN
}

/** Exact (erf-based) gelu: x * Phi(x). The negative side uses erfc, so its tail keeps full relative accuracy. */
// @ts-ignore: decorator
@inline export function gelu64(x: f64): f64 {
  const z = x * 0.7071067811865476;
  if (z >= 0) return 0.5 * x * (2.0 - erfcPos(z));
  if (z < 0) return 0.5 * x * erfcPos(-z);
  return x; // NaN
}

/** Numerically stable sigmoid: never exponentiates a positive number. */
// @ts-ignore: decorator
@inline export function sigmoidf(x: f32): f32 {
  if (x >= 0) return 1.0 / (1.0 + Mathf.exp(-x));
  const e = Mathf.exp(x); // NaN lands here and stays NaN
  return e / (1.0 + e);
}

/** log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite for all finite x, -inf at -inf. */
// @ts-ignore: decorator
@inline export function logsigmoidf(x: f32): f32 {
  return Mathf.min(x, 0) - Mathf.log1p(Mathf.exp(-Mathf.abs(x)));
}

/** log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)). */
// @ts-ignore: decorator
@inline export function softplusf(x: f32): f32 {
  return Mathf.max(x, 0) + Mathf.log1p(Mathf.exp(-Mathf.abs(x)));
}

// ---- f32x4 transcendentals (Cephes single-precision polynomials, ~2 ulp) ----

import { fmadd } from './simd';

// @ts-ignore: decorator
@inline function splat(x: f32): v128 { return f32x4.splat(x); }

/**
 * exp(x - n ln2) for |x - n ln2| <= ln2 / 2 (n = nearest(x / ln2)): the Cephes polynomial
 * that expV and expTanhArgV scale by 2^n. g = x - n ln2 with ln2 split in two so that
 * n * hi is exact.
 */
// @ts-ignore: decorator
@inline function expReducedV(x: v128, n: v128): v128 {
  let g = fmadd(n, splat(-0.693359375), x);
  g = fmadd(n, splat(2.12194440e-4), g);
  let p = fmadd(splat(1.9875691500e-4), g, splat(1.3981999507e-3));
  p = fmadd(p, g, splat(8.3334519073e-3));
  p = fmadd(p, g, splat(4.1665795894e-2));
  p = fmadd(p, g, splat(1.6666665459e-1));
  p = fmadd(p, g, splat(5.0000001201e-1));
  return f32x4.add(fmadd(f32x4.mul(p, g), g, g), splat(1.0));
}

/**
 * exp(x) on 4 lanes, ~2 ulp, subnormal results included: 2^n is applied as two
 * factors so n down to -150 stays representable. Overflow gives +inf, NaN stays NaN.
 */
// @ts-ignore: decorator
@inline export function expV(x: v128): v128 {
  // pmin/pmax are one minps/maxps each; min/max's NaN and -0 rules cost V8 ~7
  // instructions apiece and do not matter here (NaN lanes are restored at the end).
  const xc = f32x4.pmin(f32x4.pmax(x, splat(-104.0)), splat(88.72283935546875));
  const n = f32x4.nearest(f32x4.mul(xc, splat(1.44269504088896341)));
  const p = expReducedV(xc, n);
  // n is a whole number in [-151, 128] (NaN lanes aside), where the relaxed
  // conversion (one cvttps2dq) equals the saturating one (~6 instructions in V8).
  const ni = ASC_FEATURE_RELAXED_SIMD ? i32x4.relaxed_trunc_f32x4_s(n) : i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  let r = f32x4.mul(f32x4.mul(p, s1), s2);
  r = v128.bitselect(splat(Infinity), r, f32x4.gt(x, splat(88.72283935546875)));
  r = v128.bitselect(splat(0), r, f32x4.lt(x, splat(-104.0)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/** log1p(u) for u in [0, 1] (Cephes logf, the reduction done on u so small u keep full precision). */
// @ts-ignore: decorator
@inline export function log1p01V(u: v128): v128 {
  const big = f32x4.gt(u, splat(0.41421356237)); // 1 + u > sqrt(2): write it as 2 * (1 + x)
  const x = v128.bitselect(f32x4.mul(f32x4.sub(u, splat(1.0)), splat(0.5)), u, big);
  const e = v128.and(big, splat(1.0));
  const z = f32x4.mul(x, x);
  let p = fmadd(splat(7.0376836292e-2), x, splat(-1.1514610310e-1));
  p = fmadd(p, x, splat(1.1676998740e-1));
  p = fmadd(p, x, splat(-1.2420140846e-1));
  p = fmadd(p, x, splat(1.4249322787e-1));
  p = fmadd(p, x, splat(-1.6668057665e-1));
  p = fmadd(p, x, splat(2.0000714765e-1));
  p = fmadd(p, x, splat(-2.4999993993e-1));
  p = fmadd(p, x, splat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(x, z), p);
  y = fmadd(e, splat(-2.12194440e-4), y);
  y = fmadd(z, splat(-0.5), y);
  return fmadd(e, splat(0.693359375), f32x4.add(x, y));
}

/** Stable sigmoid: e = exp(-|x|), 1/(1+e) for x >= 0, e/(1+e) below (no overflow, tiny values kept). */
// @ts-ignore: decorator
@inline export function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const inv = f32x4.div(splat(1.0), f32x4.add(splat(1.0), e));
  return v128.bitselect(inv, f32x4.mul(e, inv), f32x4.ge(x, splat(0)));
}

/** min(x, 0) - log1p(exp(-|x|)) */
// @ts-ignore: decorator
@inline export function logsigmoidV(x: v128): v128 {
  return f32x4.sub(f32x4.min(x, splat(0)), log1p01V(expV(f32x4.neg(f32x4.abs(x)))));
}

/** max(x, 0) + log1p(exp(-|x|)) */
// @ts-ignore: decorator
@inline export function softplusV(x: v128): v128 {
  return f32x4.add(f32x4.max(x, splat(0)), log1p01V(expV(f32x4.neg(f32x4.abs(x)))));
}

/**
 * exp(x) for the x <= 0 that tanhV passes (NaN stays NaN), with x clamped to -20 first: below
 * that tanhV's (1 - t) / (1 + t) rounds to exactly 1 for the clamped t = exp(-20) = 2.1e-9 as for
 * the true one (both under 2^-25, half an ulp below 1). In [-20, 0] it is expV step for step
 * and gives the same bits (2^n with n >= -29 is one normal factor, so expV's split of 2^n into
 * two factors and its overflow / underflow / NaN selects change nothing there); it drops those
 * ~14 instructions, which matter because V8 keeps few of the constants in registers here.
 */
// @ts-ignore: decorator
@inline function expTanhArgV(x: v128): v128 {
  const xc = f32x4.pmax(x, splat(-20.0)); // pmax keeps a NaN first operand
  const n = f32x4.nearest(f32x4.mul(xc, splat(1.44269504088896341)));
  const p = expReducedV(xc, n);
  // n is a whole number in [-29, 0] (NaN lanes aside: p is NaN there whatever the scale)
  const ni = ASC_FEATURE_RELAXED_SIMD ? i32x4.relaxed_trunc_f32x4_s(n) : i32x4.trunc_sat_f32x4_s(n);
  return f32x4.mul(p, i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23));
}

/** tanh's Cephes polynomial, the value tanhV takes for |x| < 0.625 (not accurate beyond). */
// @ts-ignore: decorator
@inline export function tanhSmallV(x: v128): v128 {
  const z = f32x4.mul(x, x);
  let p = fmadd(splat(-5.70498872745e-3), z, splat(2.06390887954e-2));
  p = fmadd(p, z, splat(-5.37397155531e-2));
  p = fmadd(p, z, splat(1.33314422036e-1));
  p = fmadd(p, z, splat(-3.33332819422e-1));
  return fmadd(f32x4.mul(p, z), x, x);
}

/** tanh: Cephes polynomial for |x| < 0.625, sign(x) (1 - e)/(1 + e) with e = exp(-2|x|) beyond. */
// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  const a = f32x4.abs(x);
  const t = expTanhArgV(f32x4.mul(a, splat(-2.0)));
  const big = f32x4.div(f32x4.sub(splat(1.0), t), f32x4.add(splat(1.0), t));
  const bigS = v128.or(big, v128.and(x, i32x4.splat(0x80000000))); // the sign of x
  return v128.bitselect(tanhSmallV(x), bigS, f32x4.lt(a, splat(0.625))); // NaN: a < 0.625 false, big is NaN
}

/**
 * Exact gelu on 4 lanes: x * Phi(x) with Phi from the erfc fit above (fractional
 * error < 1.2e-7). The exp argument -x^2/2 is formed without rounding x^2 (x split
 * into 12 high bits, whose square is exact, and the rest) and without rounding
 * x/sqrt(2), so the far negative tail keeps its relative accuracy in f32.
 */
// @ts-ignore: decorator
@inline export function geluV(x: v128): v128 {
  const a = f32x4.min(f32x4.abs(x), splat(20.0)); // erfc(20/sqrt2) underflows f32; also keeps inf out of a - ah
  const t = f32x4.div(splat(1.0), fmadd(a, splat(0.35355339059327373), splat(1.0))); // 1 / (1 + z/2), z = a/sqrt2
  let p = fmadd(splat(0.17087277), t, splat(-0.82215223));
  p = fmadd(p, t, splat(1.48851587));
  p = fmadd(p, t, splat(-1.13520398));
  p = fmadd(p, t, splat(0.27886807));
  p = fmadd(p, t, splat(-0.18628806));
  p = fmadd(p, t, splat(0.09678418));
  p = fmadd(p, t, splat(0.37409196));
  p = fmadd(p, t, splat(1.00002368));
  p = fmadd(p, t, splat(-1.26551223));
  const ah = v128.and(a, i32x4.splat(0xfffff000));
  const lo = f32x4.mul(f32x4.mul(f32x4.sub(a, ah), f32x4.add(a, ah)), splat(0.5)); // a^2/2 - ah^2/2
  const hi = f32x4.mul(f32x4.mul(ah, ah), splat(-0.5)); // exact
  const e = f32x4.mul(t, f32x4.mul(expV(hi), expV(f32x4.sub(p, lo)))); // erfc(|x| / sqrt2)
  const pos = f32x4.mul(x, fmadd(e, splat(-0.5), splat(1.0))); // x (1 - erfc/2)
  const neg = f32x4.mul(f32x4.mul(x, splat(0.5)), e); // x/2 erfc(-x/sqrt2): no cancellation
  return v128.bitselect(pos, neg, f32x4.ge(x, splat(0))); // NaN: neg, which is NaN
}
