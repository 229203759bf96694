// The small SIMD vocabulary every kernel is written in (as ggml does).
// fmadd is a true fused multiply-add in the relaxed-SIMD build, mul+add otherwise.

/** a*b + c on 4 f32 lanes. */
// @ts-ignore: decorator
@inline export function fmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Sum of the 4 lanes. */
// @ts-ignore: decorator
@inline export function hsum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** [start, end) of `n` items for thread `tid` of `nt`, in multiples of `align`. */
// @ts-ignore: decorator
@inline export function rangeStart(n: i32, tid: i32, nt: i32, align: i32): i32 {
  const blocks = (n + align - 1) / align;
  const per = (blocks + nt - 1) / nt;
  const s = per * tid * align;
  return s < n ? s : n;
}
// @ts-ignore: decorator
@inline export function rangeEnd(n: i32, tid: i32, nt: i32, align: i32): i32 {
  return rangeStart(n, tid + 1, nt, align);
}
