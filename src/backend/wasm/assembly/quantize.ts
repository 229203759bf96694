// Load-time weight quantisation: rows of f32 / bf16 / f16 checkpoint data (already on the
// heap) to symmetric per-row int8 or ggml Q4_0 blocks, bit-identical to the JavaScript
// reference (src/tensor/quant.ts quantizeInt8 / quantizeQ4), which computes in float64:
//   int8: scale = f32(f64(amax) / 127); q = clamp(roundHalfAway(f64(x) / f64(scale)), ±127)
//         (computed with a multiply that provably rounds the same: see HALF_UP)
//   q4:   d = f32(m / -8) (m: first element of largest magnitude); id = d ? 1 / f64(d) : 0;
//         nibble = clamp(floor(f64(x) * id + 8.5), 0, 15)
// so the roundings here are the same float64 operations, in the same order (but for the int8
// divide, replaced by an exactly equivalent multiply).
// Magnitudes are compared on the f32 bit patterns (sign cleared): for non-NaN values the
// integer order is the float order, and NaN patterns sort above infinity.
import { rangeStart, rangeEnd } from './simd';
import { WK_F32, WK_F16, f16ToF32x4 } from './widen';

const ABS_MASK: i32 = 0x7fffffff;
const INF_BITS: i32 = 0x7f800000;
/** The NaN a JavaScript Float32Array store of Math.fround(NaN) produces. */
const CANONICAL_NAN: u32 = 0x7fc00000;

/** 4 elements at `p` (f32, bf16 or f16) as f32 lanes. */
// @ts-ignore: decorator
@inline function load4(kind: i32, p: usize): v128 {
  if (kind == WK_F32) return v128.load(p);
  const h = v128.load16x4_u(p);
  if (kind == WK_F16) return f16ToF32x4(h);
  return i32x4.shl(h, 16); // bf16 is the top half of an f32
}

/** One element at `p` as f32. */
// @ts-ignore: decorator
@inline function load1(kind: i32, p: usize): f32 {
  if (kind == WK_F32) return load<f32>(p);
  const h = <i32>load<u16>(p);
  if (kind == WK_F16) return f32x4.extract_lane(f16ToF32x4(i32x4.splat(h)), 0);
  return reinterpret<f32>(h << 16);
}

// @ts-ignore: decorator
@inline function hmaxU(v: v128): u32 {
  const a = i32x4.max_u(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  const b = i32x4.max_u(a, i32x4.shuffle(a, a, 1, 0, 3, 2));
  return i32x4.extract_lane(b, 0);
}

/**
 * The reference's floor(f64(|x|) / f64(s) + 0.5) is exactly roundHalfAway(|x| / s): for f32 x
 * and s, |x| / s + 0.5 is either an integer (a tie) or at least 2^-25 away from one, far more
 * than float64's errors. A product with inv = f64(1 / s) lands within 2^-44 of |x| / s, so
 * floor(|x| * inv + 0.5 + 2^-40) gives the same integer: ties, which the product may miss by
 * 2^-44 from below, reach it through the 2^-40, and nothing else is near enough to move.
 * (One multiply instead of a divide per element.)
 */
const HALF_UP: f64 = 0.5 + 9.094947017729282e-13; // 0.5 + 2^-40

/** roundHalfAway(|x| / s) clamped to 127, for the 2 f64 lanes of `ad` (|x| promoted); inv = 1 / s. */
// @ts-ignore: decorator
@inline function roundDiv2(ad: v128, inv: v128): v128 {
  const r = f64x2.floor(f64x2.add(f64x2.mul(ad, inv), f64x2.splat(HALF_UP)));
  return i32x4.trunc_sat_f64x2_s_zero(f64x2.pmin(r, f64x2.splat(127.0)));
}

/** 4 elements to int8 lanes (in i32x4): sign(x) * min(127, floor(|x| / s + 0.5)). */
// @ts-ignore: decorator
@inline function quant4(x: v128, s: v128): v128 {
  const ax = f32x4.abs(x);
  const lo = roundDiv2(f64x2.promote_low_f32x4(ax), s);
  const hi = roundDiv2(f64x2.promote_low_f32x4(i32x4.shuffle(ax, ax, 2, 3, 2, 3)), s);
  const r = i32x4.shuffle(lo, hi, 0, 1, 4, 5);
  const neg = i32x4.shr_s(x, 31); // -1 where the sign bit is set (r is 0 for -0)
  return i32x4.sub(v128.xor(r, neg), neg);
}

/** Scalar form of quant4 (row tails). */
// @ts-ignore: decorator
@inline function quant1(x: f32, inv: f64): i32 {
  let r = Math.floor(<f64>Math.abs(x) * inv + HALF_UP);
  if (r > 127) r = 127;
  const v = <i32>r;
  return x < 0 ? -v : v;
}

/**
 * Symmetric per-row int8 of `rows` rows of K elements (kind: WK_F32 / WK_BF16 / WK_F16) at
 * `src` into i8 [rows, K] at `q` and f32 [rows] at `scales`. A row holding a NaN gets scale
 * NaN, one holding an infinity (and no NaN) scale +inf, and both all-zero q (as the
 * reference's float64 arithmetic gives); an all-zero row gets scale 0. Threads split rows.
 */
export function quantizeRowsInt8(kind: i32, src: usize, rows: i32, K: i32, q: usize, scales: usize, tid: i32, nt: i32): void {
  const r0 = rangeStart(rows, tid, nt, 1), r1 = rangeEnd(rows, tid, nt, 1);
  const es: usize = kind == WK_F32 ? 4 : 2;
  const K16 = K & ~15;
  const absMask = i32x4.splat(ABS_MASK);
  for (let r = r0; r < r1; r++) {
    const row = src + <usize>r * <usize>K * es;
    const qrow = q + <usize>r * <usize>K;
    let mx = i32x4.splat(0);
    let i = 0;
    for (; i + 4 <= K; i += 4) mx = i32x4.max_u(mx, v128.and(load4(kind, row + <usize>i * es), absMask));
    let m = hmaxU(mx);
    for (; i < K; i++) {
      const b = reinterpret<u32>(load1(kind, row + <usize>i * es)) & <u32>ABS_MASK;
      if (b > m) m = b;
    }
    if (m > <u32>INF_BITS) { // a NaN: Math.max propagates it into amax, and every x / NaN rounds to 0
      store<u32>(scales + (<usize>r << 2), CANONICAL_NAN);
      memory.fill(qrow, 0, <usize>K);
      continue;
    }
    const scale = <f32>(<f64>reinterpret<f32>(m) / 127.0);
    store<f32>(scales + (<usize>r << 2), scale);
    if (scale == 0 || m == <u32>INF_BITS) { // x / inf is 0 and inf / inf is NaN: all round to 0
      memory.fill(qrow, 0, <usize>K);
      continue;
    }
    const s = f64x2.splat(1.0 / <f64>scale);
    i = 0;
    for (; i < K16; i += 16) {
      const p = row + <usize>i * es;
      const a = quant4(load4(kind, p), s);
      const b = quant4(load4(kind, p + 4 * es), s);
      const c = quant4(load4(kind, p + 8 * es), s);
      const d = quant4(load4(kind, p + 12 * es), s);
      v128.store(qrow + <usize>i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d)));
    }
    const sd = 1.0 / <f64>scale;
    for (; i < K; i++) store<i8>(qrow + <usize>i, <i8>quant1(load1(kind, row + <usize>i * es), sd));
  }
}

/** Nibbles of 4 elements (i32 lanes): clamp(floor(x * id + 8.5), 0, 15), NaN -> 0. */
// @ts-ignore: decorator
@inline function nib2(xd: v128, id: v128): v128 {
  const v = f64x2.floor(f64x2.add(f64x2.mul(xd, id), f64x2.splat(8.5)));
  // pmax(0, v) is 0 for NaN (0 < NaN is false), as Math.max then the Uint8Array store give
  return i32x4.trunc_sat_f64x2_s_zero(f64x2.pmin(f64x2.pmax(f64x2.splat(0), v), f64x2.splat(15.0)));
}
// @ts-ignore: decorator
@inline function nib4(x: v128, id: v128): v128 {
  const lo = nib2(f64x2.promote_low_f32x4(x), id);
  const hi = nib2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3)), id);
  return i32x4.shuffle(lo, hi, 0, 1, 4, 5);
}

/** Magnitude bits of 4 f32 lanes with NaN as 0 (the reference's `|v| > amax` skips NaN). */
// @ts-ignore: decorator
@inline function mag4(x: v128): v128 {
  const a = v128.and(x, i32x4.splat(ABS_MASK));
  return v128.andnot(a, i32x4.gt_u(a, i32x4.splat(INF_BITS)));
}

/**
 * ggml Q4_0 of `rows` rows of K elements (K % 32 == 0; kind as above) at `src` into u8
 * [rows, K/2] nibble pairs at `packed` and f32 [rows, K/32] block scales at `scales`.
 * Threads split blocks.
 */
export function quantizeRowsQ4(kind: i32, src: usize, rows: i32, K: i32, packed: usize, scales: usize, tid: i32, nt: i32): void {
  const nb = rows * (K >> 5);
  const b0 = rangeStart(nb, tid, nt, 1), b1 = rangeEnd(nb, tid, nt, 1);
  const es: usize = kind == WK_F32 ? 4 : 2;
  for (let blk = b0; blk < b1; blk++) {
    const p = src + <usize>blk * 32 * es;
    const x0 = load4(kind, p), x1 = load4(kind, p + 4 * es), x2 = load4(kind, p + 8 * es), x3 = load4(kind, p + 12 * es);
    const x4 = load4(kind, p + 16 * es), x5 = load4(kind, p + 20 * es), x6 = load4(kind, p + 24 * es), x7 = load4(kind, p + 28 * es);
    const m0 = mag4(x0), m1 = mag4(x1), m2 = mag4(x2), m3 = mag4(x3), m4 = mag4(x4), m5 = mag4(x5), m6 = mag4(x6), m7 = mag4(x7);
    const mx = hmaxU(i32x4.max_u(i32x4.max_u(i32x4.max_u(m0, m1), i32x4.max_u(m2, m3)), i32x4.max_u(i32x4.max_u(m4, m5), i32x4.max_u(m6, m7))));
    // m: the first element of largest magnitude (strict > keeps the first of ties), 0 if none is above 0
    let m: f32 = 0;
    if (mx != 0) {
      const t = i32x4.splat(mx);
      const bits = <u32>i32x4.bitmask(i32x4.eq(m0, t)) | (<u32>i32x4.bitmask(i32x4.eq(m1, t)) << 4)
        | (<u32>i32x4.bitmask(i32x4.eq(m2, t)) << 8) | (<u32>i32x4.bitmask(i32x4.eq(m3, t)) << 12)
        | (<u32>i32x4.bitmask(i32x4.eq(m4, t)) << 16) | (<u32>i32x4.bitmask(i32x4.eq(m5, t)) << 20)
        | (<u32>i32x4.bitmask(i32x4.eq(m6, t)) << 24) | (<u32>i32x4.bitmask(i32x4.eq(m7, t)) << 28);
      m = load1(kind, p + <usize>ctz(bits) * es);
    }
    const d = <f32>(<f64>m / -8.0);
    store<f32>(scales + (<usize>blk << 2), d);
    const id = f64x2.splat(d != 0 ? 1.0 / <f64>d : 0.0);
    const lo = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(nib4(x0, id), nib4(x1, id)), i16x8.narrow_i32x4_s(nib4(x2, id), nib4(x3, id)));
    const hi = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(nib4(x4, id), nib4(x5, id)), i16x8.narrow_i32x4_s(nib4(x6, id), nib4(x7, id)));
    v128.store(packed + (<usize>blk << 4), v128.or(lo, i8x16.shl(hi, 4)));
  }
}
