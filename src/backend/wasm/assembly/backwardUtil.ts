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
