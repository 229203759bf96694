// f32x4 transcendentals of the sLSTM gates (Cephes single precision, ~2 ulp, plain mul/add:
// no FMA, so both kernel builds round alike). The forward (slstm.ts) and the backward kernels
// (backwardSlstm.ts, backwardOps.ts) share them, so a gradient sees the forward's rounding.
// mathf.ts has the FMA forms used by the elementwise ops; they differ in the last bits.
// @ts-ignore: decorator
@inline export function gateSplat(x: f32): v128 { return f32x4.splat(x); }

/** exp(x); exactly 0 below -87 (the f32 result there is < 2^-125 anyway); NaN kept. */
// @ts-ignore: decorator
@inline export function gateExpV(x: v128): v128 {
  // pmin/pmax are single instructions (min/max must order NaN and -0: ~8); NaN is restored at the end
  const xc = f32x4.pmin(f32x4.pmax(x, gateSplat(-87.0)), gateSplat(88.0));
  // n = round(x / ln 2) via the 1.5*2^23 trick: the low mantissa bits of t then hold n itself
  const t = f32x4.add(f32x4.mul(xc, gateSplat(1.44269504088896341)), gateSplat(12582912.0));
  const n = f32x4.sub(t, gateSplat(12582912.0));
  let g = f32x4.sub(xc, f32x4.mul(n, gateSplat(0.693359375)));
  g = f32x4.sub(g, f32x4.mul(n, gateSplat(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(gateSplat(1.9875691500e-4), g), gateSplat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, g), gateSplat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, g), gateSplat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, g), gateSplat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, g), gateSplat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, g), g), g), gateSplat(1.0));
  const pow2 = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  let r = f32x4.mul(p, pow2);
  r = v128.bitselect(gateSplat(0), r, f32x4.lt(x, gateSplat(-87.0)));
  r = v128.bitselect(gateSplat(Infinity), r, f32x4.gt(x, gateSplat(88.72283935546875)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/** log1p(u) for u in [0, 1] (Cephes logf with the argument reduction done on u itself). */
// @ts-ignore: decorator
@inline export function gateLog1p01V(u: v128): v128 {
  const big = f32x4.gt(u, gateSplat(0.41421356237));
  const x = v128.bitselect(f32x4.mul(f32x4.sub(u, gateSplat(1.0)), gateSplat(0.5)), u, big);
  const e = v128.and(big, gateSplat(1.0));
  const z = f32x4.mul(x, x);
  let p = f32x4.sub(f32x4.mul(gateSplat(7.0376836292e-2), x), gateSplat(1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, x), gateSplat(1.1676998740e-1));
  p = f32x4.sub(f32x4.mul(p, x), gateSplat(1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, x), gateSplat(1.4249322787e-1));
  p = f32x4.sub(f32x4.mul(p, x), gateSplat(1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, x), gateSplat(2.0000714765e-1));
  p = f32x4.sub(f32x4.mul(p, x), gateSplat(2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, x), gateSplat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(x, z), p);
  y = f32x4.add(y, f32x4.mul(e, gateSplat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, gateSplat(0.5)));
  return f32x4.add(f32x4.add(x, y), f32x4.mul(e, gateSplat(0.693359375)));
}

/** log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) */
// @ts-ignore: decorator
@inline export function gateLogSigmoidV(x: v128): v128 {
  return f32x4.sub(f32x4.pmin(x, gateSplat(0)), gateLog1p01V(gateExpV(f32x4.neg(f32x4.abs(x)))));
}

/** tanh: Cephes polynomial for |x| < 0.625, (1 - e^{-2|x|}) / (1 + e^{-2|x|}) with the sign beyond. */
// @ts-ignore: decorator
@inline export function gateTanhV(x: v128): v128 {
  const a = f32x4.abs(x);
  const t = gateExpV(f32x4.mul(a, gateSplat(-2.0)));
  const big = f32x4.div(f32x4.sub(gateSplat(1.0), t), f32x4.add(gateSplat(1.0), t));
  const bigS = v128.or(big, v128.and(x, i32x4.splat(0x80000000))); // copy the sign of x
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(gateSplat(-5.70498872745e-3), z), gateSplat(2.06390887954e-2));
  p = f32x4.sub(f32x4.mul(p, z), gateSplat(5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), gateSplat(1.33314422036e-1));
  p = f32x4.sub(f32x4.mul(p, z), gateSplat(3.33332819422e-1));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(p, z), x));
  return v128.bitselect(small, bigS, f32x4.lt(a, gateSplat(0.625)));
}

/** 1 / (1 + exp(-x)) */
// @ts-ignore: decorator
@inline export function gateSigmoidV(x: v128): v128 {
  return f32x4.div(gateSplat(1.0), f32x4.add(gateSplat(1.0), gateExpV(f32x4.neg(x))));
}
