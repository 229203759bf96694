// Q4 GEMV against x quantised to 8 bits per 32-value block (ggml's Q4_0 x Q8_0).
//
// The int16-x kernel (gemvQ4 in gemv.ts) needs 4 shifts/masks and 4 i32x4.dot_i16x8_s
// (8 multiply-adds each) per 32 weights and is compute-bound at about the DRAM
// bandwidth of a core. With x as int8, i16x8.relaxed_dot_i8x16_i7x16_s (x86
// pmaddubsw, 16 multiply-adds) takes the raw nibbles as they come out of one mask
// and one shift: 2 dots, an i16 add and one pairwise widening to i32 per block.
//
// Determinism: the relaxed dot is only specified for a second operand in 0..127
// (pmaddubsw reads it as unsigned, ARM sdot as signed). The nibbles 0..15 are that
// operand, so every engine gives the same exact integers; the -8 offset of Q4_0 is
// taken out afterwards with a per-block correction 8 * sum(xq) computed when x is
// quantised. The baseline SIMD build gets the same integers from i16x8.extmul: the
// block sums are identical, only their split over the 4 i32 lanes differs (so the
// f32 results differ by f32 rounding, as fmadd vs mul + add already makes them).
//
// i16 lanes cannot overflow: |xq| <= 127 and nibbles <= 15, so a lane of one dot
// holds at most 2 * 15 * 127 = 3810 and the sum of the two dots 7620.
//
// x quantisation (Q8_0): per block of 32, d = max|x| / 127, q = nearest(x * (1 / d))
// clamped to [-127, 127] (ties to even; ggml's roundf rounds them away from zero, a
// difference only on exact ties). A block with inf or NaN gets d = NaN, so y is NaN
// as with the f32 kernels rather than silently finite; an all-zero block d = 0.
import { fmadd, hsum, rangeStart, rangeEnd } from './simd';

/**
 * x is stored in groups of 4 blocks (GREC bytes): [0, 128) the 4 blocks' 32 int8 q each,
 * [128, 144) i32x4 corrections (lane l: 8 * the sum of block 4g + l's q), [144, 160) f32x4
 * scales d (lane l: block 4g + l's). A row's last group is padded with zero blocks (q = 0,
 * correction 0, d = 0) when K / 32 is not a multiple of 4.
 */
const GREC: i32 = 160;

/** Row bytes from which a single x row (B = 1) reads W one row at a time (see gemvQ4Q8). */
const ROW_STREAM_BYTES: usize = 512;

/**
 * Bytes of per-thread scratch gemvQ4Q8 needs for B rows of K (K % 32 == 0; pass nt
 * times this), and the size of the output of quantizeQ8.
 */
export function gemvQ8ScratchBytes(K: i32, B: i32): i32 {
  return B * ((K + 127) >> 7) * GREC;
}

// Quantises blocks [r0, r1) of the B * K / 32 blocks of x into their group records; the
// thread that writes a row's last block also zeroes that row's padding slots.
function quantizeRows(x: usize, K: i32, B: i32, out: usize, r0: i32, r1: i32): void {
  const nb = K >> 5, ng = (nb + 3) >> 2;
  const lo = i8x16.splat(-127);
  for (let r = r0; r < r1; r++) {
    const b = r / nb, j = r - b * nb;
    const src = x + ((<usize>b * <usize>K + (<usize>j << 5)) << 2);
    const g = out + <usize>(b * ng + (j >> 2)) * GREC, l = <usize>(j & 3);
    const v0 = v128.load(src), v1 = v128.load(src, 16), v2 = v128.load(src, 32), v3 = v128.load(src, 48);
    const v4 = v128.load(src, 64), v5 = v128.load(src, 80), v6 = v128.load(src, 96), v7 = v128.load(src, 112);
    const m = f32x4.max(f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3))),
      f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))));
    // f32x4.max propagates NaN, so a NaN anywhere in the block reaches amax
    const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d: f32 = amax < Infinity ? amax / 127 : NaN;
    const id: f32 = d > 0 ? <f32>1 / d : 0;
    const vi = f32x4.splat(id);
    const q0 = quant8(v0, v1, vi), q1 = quant8(v2, v3, vi), q2 = quant8(v4, v5, vi), q3 = quant8(v6, v7, vi);
    const a = i8x16.max_s(i8x16.narrow_i16x8_s(q0, q1), lo);
    const c = i8x16.max_s(i8x16.narrow_i16x8_s(q2, q3), lo);
    v128.store(g + (l << 5), a);
    v128.store(g + (l << 5), c, 16);
    const s = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(a), i16x8.extadd_pairwise_i8x16_s(c)));
    store<i32>(g + 128 + (l << 2), (i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)) << 3);
    store<f32>(g + 144 + (l << 2), d);
    if (j == nb - 1) {
      for (let p = l + 1; p < 4; p++) {
        v128.store(g + (p << 5), i8x16.splat(0));
        v128.store(g + (p << 5), i8x16.splat(0), 16);
        store<i32>(g + 128 + (p << 2), 0);
        store<f32>(g + 144 + (p << 2), 0);
      }
    }
  }
}

// 8 f32 times id, rounded (NaN -> 0, saturating) to 8 i16 lanes.
// @ts-ignore: decorator
@inline function quant8(a: v128, b: v128, vi: v128): v128 {
  return i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(a, vi))),
    i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(b, vi))));
}

/**
 * x[B, K] (K % 32 == 0) to Q8_0 group records at out (gemvQ8ScratchBytes(K, B) bytes):
 * the quantisation gemvQ4Q8 does per thread, exposed on its own so it can be checked.
 */
export function quantizeQ8(x: usize, K: i32, B: i32, out: usize, tid: i32, nt: i32): void {
  const total = B * (K >> 5);
  quantizeRows(x, K, B, out, rangeStart(total, tid, nt, 1), rangeEnd(total, tid, nt, 1));
}

// nibble * xq of one 32-weight block in 8 i16 lanes (the Q4 offset not yet removed). A lane
// is a sum of 4 products of |xq| <= 127 and a nibble <= 15: |lane| <= 7620.
// @ts-ignore: decorator
@inline function blockDot(w: v128, x0: v128, x1: v128): v128 {
  const m = i8x16.splat(0x0f);
  const lo = v128.and(w, m);
  const hi = v128.and(i16x8.shr_u(w, 4), m);
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi));
  }
  return i16x8.add(i16x8.add(i16x8.extmul_low_i8x16_s(x0, lo), i16x8.extmul_high_i8x16_s(x0, lo)),
    i16x8.add(i16x8.extmul_low_i8x16_s(x1, hi), i16x8.extmul_high_i8x16_s(x1, hi)));
}

// The per-block sums of 4 blocks' i16 lanes as one i32x4 [S0, S1, S2, S3], by a transpose-add:
// two levels of unpack + i16 add (a lane then holds 2, then 4 of a block's lanes: |.| <= 30480,
// no i16 overflow) and one pairwise widening. 9 operations for 4 blocks, where widening each
// block and scaling it on its own took 6 per block.
// @ts-ignore: decorator
@inline function pairSum(p0: v128, p1: v128): v128 {
  return i16x8.add(i32x4.shuffle(p0, p1, 0, 4, 1, 5), i32x4.shuffle(p0, p1, 2, 6, 3, 7));
}
// @ts-ignore: decorator
@inline function quadSum(u0: v128, u1: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i64x2.shuffle(u0, u1, 0, 2), i64x2.shuffle(u0, u1, 1, 3)));
}

// f + the exact block dots of group g (offset removed) times the blocks' scales dw * dx.
// @ts-ignore: decorator
@inline function groupFma(s: v128, xg: usize, sc: v128, f: v128): v128 {
  return fmadd(f32x4.convert_i32x4_s(i32x4.sub(s, v128.load(xg, 128))), f32x4.mul(sc, v128.load(xg, 144)), f);
}

// The padded last group of a row (nb % 4 blocks): W and its scales read only for real blocks.
function tailGroup(w: usize, sc: usize, nb: i32, xr: usize, f: v128): v128 {
  const j0 = nb & ~3, t = nb & 3;
  const xg = xr + <usize>(j0 >> 2) * GREC, wg = w + (<usize>j0 << 4), sg = sc + (<usize>j0 << 2);
  const z = i32x4.splat(0);
  const p0 = blockDot(v128.load(wg), v128.load(xg), v128.load(xg, 16));
  const p1 = t > 1 ? blockDot(v128.load(wg, 16), v128.load(xg, 32), v128.load(xg, 48)) : z;
  const p2 = t > 2 ? blockDot(v128.load(wg, 32), v128.load(xg, 64), v128.load(xg, 80)) : z;
  let s = f32x4.splat(0);
  s = f32x4.replace_lane(s, 0, load<f32>(sg));
  if (t > 1) s = f32x4.replace_lane(s, 1, load<f32>(sg, 4));
  if (t > 2) s = f32x4.replace_lane(s, 2, load<f32>(sg, 8));
  return groupFma(quadSum(pairSum(p0, p1), pairSum(p2, z)), xg, s, f);
}

// y[n0], y[n1] for one x row (group records at xr), rows anywhere in W (two streams, or
// adjacent rows): both W rows share every x load.
function rowsApartQ4Q8(w0: usize, w1: usize, sc0: usize, sc1: usize, nb: i32, xr: usize, n0: i32, n1: i32, y: usize, bias: usize): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0);
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) {
    const xg = xr + <usize>g * GREC, wo = <usize>g << 6, so = <usize>g << 4;
    const a = w0 + wo, b = w1 + wo;
    let x0 = v128.load(xg), x1 = v128.load(xg, 16);
    const a0 = blockDot(v128.load(a), x0, x1), b0 = blockDot(v128.load(b), x0, x1);
    x0 = v128.load(xg, 32); x1 = v128.load(xg, 48);
    const ua = pairSum(a0, blockDot(v128.load(a, 16), x0, x1)), ub = pairSum(b0, blockDot(v128.load(b, 16), x0, x1));
    x0 = v128.load(xg, 64); x1 = v128.load(xg, 80);
    const a2 = blockDot(v128.load(a, 32), x0, x1), b2 = blockDot(v128.load(b, 32), x0, x1);
    x0 = v128.load(xg, 96); x1 = v128.load(xg, 112);
    const va = pairSum(a2, blockDot(v128.load(a, 48), x0, x1)), vb = pairSum(b2, blockDot(v128.load(b, 48), x0, x1));
    f0 = groupFma(quadSum(ua, va), xg, v128.load(sc0 + so), f0);
    f1 = groupFma(quadSum(ub, vb), xg, v128.load(sc1 + so), f1);
  }
  if (nb & 3) { f0 = tailGroup(w0, sc0, nb, xr, f0); f1 = tailGroup(w1, sc1, nb, xr, f1); }
  store<f32>(y + (<usize>n0 << 2), hsum(f0) + (bias == 0 ? <f32>0 : load<f32>(bias + (<usize>n0 << 2))));
  store<f32>(y + (<usize>n1 << 2), hsum(f1) + (bias == 0 ? <f32>0 : load<f32>(bias + (<usize>n1 << 2))));
}

function row1Q4Q8(w0: usize, sc0: usize, nb: i32, xr: usize, n: i32, yo: usize, bias: usize): void {
  let f0 = f32x4.splat(0);
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) {
    const xg = xr + <usize>g * GREC, a = w0 + (<usize>g << 6);
    const u = pairSum(blockDot(v128.load(a), v128.load(xg), v128.load(xg, 16)), blockDot(v128.load(a, 16), v128.load(xg, 32), v128.load(xg, 48)));
    const v = pairSum(blockDot(v128.load(a, 32), v128.load(xg, 64), v128.load(xg, 80)), blockDot(v128.load(a, 48), v128.load(xg, 96), v128.load(xg, 112)));
    f0 = groupFma(quadSum(u, v), xg, v128.load(sc0 + (<usize>g << 4)), f0);
  }
  if (nb & 3) f0 = tailGroup(w0, sc0, nb, xr, f0);
  store<f32>(yo, hsum(f0) + (bias == 0 ? <f32>0 : load<f32>(bias + (<usize>n << 2))));
}

// 256 KiB of W rows per tile: a batch of x rows reuses the tile from L2.
// @ts-ignore: decorator
@inline function rowTile(rowBytes: usize): i32 {
  const t = <i32>(<usize>(256 << 10) / (rowBytes > 0 ? rowBytes : 1));
  return t < 4 ? 4 : t & ~3;
}

/**
 * y[B,N] = x[B,K] dequant(Wq)^T (+ bias) with x rounded to Q8_0 (see the header);
 * Wq [N, K/2] Q4_0 bytes, scales [N, K/32]; K % 32 == 0. xq: per-thread scratch of
 * gemvQ8ScratchBytes(K, B) bytes each (every thread quantises x itself: for the
 * few K values of one call that is cheaper than a second dispatch to share it).
 */
export function gemvQ4Q8(W: usize, scales: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, xq: usize, tid: i32, nt: i32): void {
  const S = rangeStart(N, tid, nt, 4), E = rangeEnd(N, tid, nt, 4);
  if (S >= E) return;
  const nb = K >> 5;
  const ws = <usize>(K >> 1);
  const xs = <usize>((nb + 3) >> 2) * GREC;
  const q = xq + <usize>tid * <usize>gemvQ8ScratchBytes(K, B);
  quantizeRows(x, K, B, q, 0, B * nb);
  if (B == 1 && ws >= ROW_STREAM_BYTES) {
    // Long rows two at a time, one from each half of this thread's rows: two long
    // sequential W streams sharing the x loads. Two adjacent rows (the pairs below) ran
    // ~1.2x faster from L2 but 1.5-2.2x slower from DRAM for rows of 512 bytes or more;
    // one row at a time kept the stream but not the shared loads. Best of 6-8 interleaved
    // rounds, one core, from DRAM: 768 x 2048 120-134 (pairs) / 74-81 (one row) -> 65 us,
    // 1024 x 4096 328 / 191-205 -> 174 us. At K = 768 (384-byte rows) the pairs are as fast.
    const H = (E - S) >> 1;
    for (let i = 0; i < H; i++) {
      const n0 = S + i, n1 = n0 + H;
      rowsApartQ4Q8(W + <usize>n0 * ws, W + <usize>n1 * ws, scales + (<usize>(n0 * nb) << 2), scales + (<usize>(n1 * nb) << 2), nb, q, n0, n1, y, bias);
    }
    for (let n = S + 2 * H; n < E; n++) row1Q4Q8(W + <usize>n * ws, scales + (<usize>(n * nb) << 2), nb, q, n, y + (<usize>n << 2), bias);
    return;
  }
  const T = rowTile(ws);
  for (let s = S; s < E; s += T) {
    const e = s + T < E ? s + T : E;
    for (let b = 0; b < B; b++) {
      const xr = q + <usize>b * xs;
      const yb = y + (<usize>(b * N) << 2);
      let n = s;
      for (; n + 2 <= e; n += 2) rowsApartQ4Q8(W + <usize>n * ws, W + <usize>(n + 1) * ws, scales + (<usize>(n * nb) << 2), scales + (<usize>((n + 1) * nb) << 2), nb, xr, n, n + 1, yb, bias);
      for (; n < e; n++) row1Q4Q8(W + <usize>n * ws, scales + (<usize>(n * nb) << 2), nb, xr, n, yb + (<usize>n << 2), bias);
    }
  }
}
