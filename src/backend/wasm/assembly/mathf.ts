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
