// Weight formats widened to f32: SIMD helpers shared by the GEMV kernels and the
// GEMM's B-panel packing (which converts non-f32 weights while packing, so linear
// never materialises an f32 copy of the weights).

/** Weight kinds of widenRow / gemmLinear. */
export const WK_F32: i32 = 0;
export const WK_BF16: i32 = 1;
export const WK_F16: i32 = 2;
/** int8 with one f32 scale per row. */
export const WK_I8: i32 = 3;
/** Q4_0 blocks: 32 weights per f32 scale, [N, K/2] nibble bytes (see gemv.ts). */
export const WK_Q4: i32 = 4;

// bf16 is the top half of an f32: interleaving zero half-words in front widens
// 8 values with two shuffles (V8 emits punpcklwd/punpckhwd).
// @ts-ignore: decorator
@inline export function bf16Lo(w: v128): v128 {
  return i8x16.shuffle(i32x4.splat(0), w, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}
// @ts-ignore: decorator
@inline export function bf16Hi(w: v128): v128 {
  return i8x16.shuffle(i32x4.splat(0), w, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

// f16 bits (zero-extended to u32 lanes) to f32: shift exponent+mantissa into
// place and rescale by 2^112 (exact, and right for subnormals); inf/NaN fixed up.
// @ts-ignore: decorator
@inline export function f16ToF32x4(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff));
  let f = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(<f32>5.192296858534828e33));
  const isSpecial = i32x4.ge_u(em, i32x4.splat(0x7c00));
  f = v128.bitselect(v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000)), f, isSpecial);
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

// @ts-ignore: decorator
@inline export function halfToF32(h: u16, isBf16: bool): f32 {
  if (isBf16) return reinterpret<f32>(<u32>h << 16);
  const v = f32x4.extract_lane(f16ToF32x4(i32x4.splat(<i32>h)), 0);
  return v;
}

/**
 * dst[0:kc] = row n of the [N, K] weight W, elements p0 .. p0+kc, as f32.
 * Q4 needs p0 % 32 == 0 for its SIMD path (any p0 works, more slowly).
 */
export function widenRow(kind: i32, W: usize, scales: usize, K: i32, n: i32, p0: i32, kc: i32, dst: usize): void {
  let k = 0;
  if (kind == WK_F32) {
    memory.copy(dst, W + ((<usize>n * K + p0) << 2), <usize>kc << 2);
    return;
  }
  if (kind == WK_BF16 || kind == WK_F16) {
    const w = W + ((<usize>n * K + p0) << 1);
    for (; k + 8 <= kc; k += 8) {
      const v = v128.load(w + (<usize>k << 1));
      const d = dst + (<usize>k << 2);
      if (kind == WK_BF16) {
        v128.store(d, bf16Lo(v)); v128.store(d, bf16Hi(v), 16);
      } else {
        v128.store(d, f16ToF32x4(i32x4.extend_low_i16x8_u(v))); v128.store(d, f16ToF32x4(i32x4.extend_high_i16x8_u(v)), 16);
      }
    }
    for (; k < kc; k++) store<f32>(dst + (<usize>k << 2), halfToF32(load<u16>(w + (<usize>k << 1)), kind == WK_BF16));
  } else if (kind == WK_I8) {
    const w = W + <usize>n * K + p0;
    const sc = load<f32>(scales + (<usize>n << 2));
    const vs = f32x4.splat(sc);
    for (; k + 16 <= kc; k += 16) {
      const v = v128.load(w + k);
      const lo = i16x8.extend_low_i8x16_s(v), hi = i16x8.extend_high_i8x16_s(v);
      const d = dst + (<usize>k << 2);
      v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), vs));
      v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), vs), 16);
      v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), vs), 32);
      v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), vs), 48);
    }
    for (; k < kc; k++) store<f32>(dst + (<usize>k << 2), <f32>load<i8>(w + k) * sc);
  } else {
    const nb = K >> 5;
    const w = W + <usize>n * (K >> 1);
    const sr = scales + (<usize>(n * nb) << 2);
    // Leading partial block, whole blocks (SIMD), trailing partial block.
    const first = (p0 + 31) & ~31;
    for (; k < kc && p0 + k < first; k++) store<f32>(dst + (<usize>k << 2), q4At(w, sr, p0 + k));
    const low = i8x16.splat(0x0f), eight = i8x16.splat(8);
    for (; k + 32 <= kc; k += 32) {
      const j = (p0 + k) >> 5;
      const v = v128.load(w + (<usize>j << 4));
      const vs = v128.load32_splat(sr + (<usize>j << 2));
      const qlo = i8x16.sub(v128.and(v, low), eight);
      const qhi = i8x16.sub(v128.and(i16x8.shr_u(v, 4), low), eight);
      const d = dst + (<usize>k << 2);
      storeI8x16Scaled(d, qlo, vs);
      storeI8x16Scaled(d + 64, qhi, vs);
    }
    for (; k < kc; k++) store<f32>(dst + (<usize>k << 2), q4At(w, sr, p0 + k));
  }
}

// Q4 element k of a row (w: its packed bytes, sr: its block scales).
// @ts-ignore: decorator
@inline function q4At(w: usize, sr: usize, k: i32): f32 {
  const j = k >> 5, i = k & 31;
  const byte = <i32>load<u8>(w + (<usize>(j * 16 + (i & 15))));
  const q = i < 16 ? byte & 15 : byte >> 4;
  return <f32>(q - 8) * load<f32>(sr + (<usize>j << 2));
}

// @ts-ignore: decorator
@inline function storeI8x16Scaled(d: usize, q: v128, vs: v128): void {
  const lo = i16x8.extend_low_i8x16_s(q), hi = i16x8.extend_high_i8x16_s(q);
  v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), vs));
  v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), vs), 16);
  v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), vs), 32);
  v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), vs), 48);
}
