// The relaxed build's 6 x 8 f32 micro-kernel and its A packing, shared by the packed GEMM
// (gemm.ts, which explains the tile) and the mLSTM cell's small products (tileGemm.ts). Not a
// kernel of its own: index.ts does not export this module.
import { fmadd } from './simd';

// Six full rows of A (row stride rs bytes) into one compact panel [k][6]: four
// depths at a time, rows 0-3 by a 4 x 4 transpose and rows 4-5 pairwise. Twice
// as fast as one store per value: a 1024 x 8 x 768 GEMM (the mLSTM gate
// projection, mostly packing) went from 17 to 35 GFLOP/s.
export function packA6(src: usize, rs: usize, kc: i32, d: usize): void {
  let k = 0;
  for (; k + 4 <= kc; k += 4) {
    const s = src + (<usize>k << 2);
    const a0 = v128.load(s), a1 = v128.load(s + rs), a2 = v128.load(s + 2 * rs), a3 = v128.load(s + 3 * rs);
    const a4 = v128.load(s + 4 * rs), a5 = v128.load(s + 5 * rs);
    const t0 = i32x4.shuffle(a0, a1, 0, 4, 1, 5), t1 = i32x4.shuffle(a2, a3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(a0, a1, 2, 6, 3, 7), t3 = i32x4.shuffle(a2, a3, 2, 6, 3, 7);
    const u0 = i32x4.shuffle(a4, a5, 0, 4, 1, 5), u1 = i32x4.shuffle(a4, a5, 2, 6, 3, 7);
    const o = d + <usize>(k * 24);
    v128.store(o, i64x2.shuffle(t0, t1, 0, 2)); v128.store64_lane(o, u0, 0, 16);
    v128.store(o, i64x2.shuffle(t0, t1, 1, 3), 24); v128.store64_lane(o, u0, 1, 40);
    v128.store(o, i64x2.shuffle(t2, t3, 0, 2), 48); v128.store64_lane(o, u1, 0, 64);
    v128.store(o, i64x2.shuffle(t2, t3, 1, 3), 72); v128.store64_lane(o, u1, 1, 88);
  }
  for (; k < kc; k++) {
    const s = src + (<usize>k << 2), o = d + <usize>(k * 24);
    for (let r = 0; r < 6; r++) store<f32>(o + (<usize>r << 2), load<f32>(s + <usize>r * rs));
  }
}

// The relaxed build's 6 x 8 kernel: t[0:6, 0:8] = Ap Bp (A packed by packA6, B as [k][8]),
// rows rs bytes apart. The loop must stay alone in its function (gemm.ts, MR). In the GEMM, t
// is the tile buffer (rs = 32; merged into C by mergeFull / mergeEdge) or, for a full tile on
// the first depth pass with alpha = 1 and beta = 0 (every gemmLinear without bias), C
// itself: the merge would store 1 * x, which is x (-0 and NaN included), so the bits are the
// same and the tile's write and re-read and a call per tile are saved (mergeFull was 1.5 %
// of an f32 prefill's CPU). Adding into C here on the later passes (a second function with
// `C += tile` after the loop, or a flag) made V8 run the loop at 0.45-0.65 of its speed
// (the stores alone do not change it), so those passes keep the separate merge; a straight-line
// `C += tile` merge for them was no cheaper than mergeFull (1.02 against 1.03 % of the prefill's
// CPU: the cost is loading C's rows, a page apart and out of L2 by the second pass).
export function micro(kc: i32, pa: usize, pb: usize, t: usize, rs: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = fmadd(a, b0, c00); c01 = fmadd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = fmadd(a, b0, c10); c11 = fmadd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = fmadd(a, b0, c20); c21 = fmadd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = fmadd(a, b0, c30); c31 = fmadd(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = fmadd(a, b0, c40); c41 = fmadd(a, b1, c41);
    a = v128.load32_splat(pa, 20);
    c50 = fmadd(a, b0, c50); c51 = fmadd(a, b1, c51);
    pa += 24; pb += 32;
  }
  v128.store(t, c00); v128.store(t, c01, 16); t += rs;
  v128.store(t, c10); v128.store(t, c11, 16); t += rs;
  v128.store(t, c20); v128.store(t, c21, 16); t += rs;
  v128.store(t, c30); v128.store(t, c31, 16); t += rs;
  v128.store(t, c40); v128.store(t, c41, 16); t += rs;
  v128.store(t, c50); v128.store(t, c51, 16);
}

