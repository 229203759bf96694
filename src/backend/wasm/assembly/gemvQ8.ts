// Q4 GEMV against x quantised to 8 bits per 32-value block (ggml's Q4_0 x Q8_0).
//
// The int16-x kernel (gemvQ4 in gemv.ts) needs 4 shifts/masks and 4 i32x4.dot_i16x8_s
// (8 multiply-adds each) per 32 weights and is compute-bound at about the DRAM
// bandwidth of a core. With x as int8, i16x8.relaxed_dot_i8x16_i7x16_s (x86
// pmaddubsw, 16 multiply-adds) takes the raw nibbles as they come out of one mask
// and one shift: 2 dots and an i16 add per block and row. What remains per block (sum
// the 8 i16 lanes, remove the offset, convert, scale) is done for 4 blocks at once: two
// blocks of each of two rows go through one transpose-add to an i32x4 of exact block
// sums, then one subtract, one convert, one scale multiply and one FMA. Per block and row
// that is ~16 x86 instructions in V8's code with the loop (`--print-wasm-code`), against
// ~24 when each block was widened, converted and scaled alone; 1.17-1.28x less CPU.
//
// Determinism: the relaxed dot is only specified for a second operand in 0..127
// (pmaddubsw reads it as unsigned, ARM sdot as signed). The nibbles 0..15 are that
// operand, so every engine gives the same exact integers; the -8 offset of Q4_0 is
// taken out afterwards with a per-block correction 8 * sum(xq) computed when x is
// quantised. The baseline SIMD build gets the same integers from i16x8.extmul. Each
// block's dot is reduced to its exact integer before any float operation, so both builds
// differ only where fmadd (relaxed) and mul + add (baseline) round differently.
//
// i16 lanes cannot overflow: |xq| <= 127 and nibbles <= 15, so a lane of one dot
// holds at most 2 * 15 * 127 = 3810, the sum of the two dots 7620, and a lane of the
// transpose-add at most 4 of those, 30480 < 32767.
//
// x quantisation (Q8_0): per block of 32, d = max|x| / 127, q = nearest(x * (1 / d))
// clamped to [-127, 127] (ties to even; ggml's roundf rounds them away from zero, a
// difference only on exact ties). A block with inf or NaN gets d = NaN, so y is NaN
// as with the f32 kernels rather than silently finite; an all-zero block d = 0.
import { fmadd, rangeStart, rangeEnd } from './simd';

/**
 * x is stored in pairs of blocks (PREC bytes): [0, 64) the two blocks' 32 int8 q each,
 * [64, 80) i32x4 corrections [c0, c1, c0, c1] (c: 8 * the sum of a block's q), [80, 96) f32x4
 * scales [d0, d1, d0, d1]: the lane order of the kernel's [row a block 0, row a block 1, row b
 * block 0, row b block 1] sums. A row's last pair is padded with a zero block (q = 0, c = 0,
 * d = 0) when K / 32 is odd.
 */
const PREC: i32 = 96;

/** Row bytes from which a single x row (B = 1) reads W one row at a time (see gemvQ4Q8). */
const ROW_STREAM_BYTES: usize = 512;

/**
 * Bytes of per-thread scratch gemvQ4Q8 needs for B rows of K (K % 32 == 0; pass nt
 * times this), and the size of the output of quantizeQ8.
 */
export function gemvQ8ScratchBytes(K: i32, B: i32): i32 {
  return B * ((K + 63) >> 6) * PREC;
}

// Quantises blocks [r0, r1) of the B * K / 32 blocks of x into their pair records; the
// thread that writes a row's last block also zeroes the padding block of an odd count.
function quantizeRows(x: usize, K: i32, B: i32, out: usize, r0: i32, r1: i32): void {
  const nb = K >> 5, np = (nb + 1) >> 1;
  const lo = i8x16.splat(-127);
  for (let r = r0; r < r1; r++) {
    const b = r / nb, j = r - b * nb;
    const src = x + ((<usize>b * <usize>K + (<usize>j << 5)) << 2);
    const rec = out + <usize>(b * np + (j >> 1)) * PREC, l = <usize>(j & 1);
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
    v128.store(rec + (l << 5), a);
    v128.store(rec + (l << 5), c, 16);
    const s = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(a), i16x8.extadd_pairwise_i8x16_s(c)));
    const corr = (i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)) << 3;
    store<i32>(rec + 64 + (l << 2), corr);
    store<i32>(rec + 72 + (l << 2), corr);
    store<f32>(rec + 80 + (l << 2), d);
    store<f32>(rec + 88 + (l << 2), d);
    if (j == nb - 1 && l == 0) {
      v128.store(rec, i8x16.splat(0), 32);
      v128.store(rec, i8x16.splat(0), 48);
      store<i32>(rec, 0, 68); store<i32>(rec, 0, 76);
      store<f32>(rec, 0, 84); store<f32>(rec, 0, 92);
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
 * x[B, K] (K % 32 == 0) to Q8_0 pair records at out (gemvQ8ScratchBytes(K, B) bytes):
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

// The sums of 4 blocks' i16 lanes as one i32x4 [S(p0), S(p1), S(p2), S(p3)], by a
// transpose-add: two levels of unpack + i16 add (a lane then holds 2, then 4 of a block's
// lanes: |.| <= 30480, no i16 overflow) and one pairwise widening: 9 operations for 4 blocks,
// where widening each block on its own and scaling it took 6 per block.
// @ts-ignore: decorator
@inline function sum4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const u0 = i16x8.add(i32x4.shuffle(p0, p1, 0, 4, 1, 5), i32x4.shuffle(p0, p1, 2, 6, 3, 7));
  const u1 = i16x8.add(i32x4.shuffle(p2, p3, 0, 4, 1, 5), i32x4.shuffle(p2, p3, 2, 6, 3, 7));
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i64x2.shuffle(u0, u1, 0, 2), i64x2.shuffle(u0, u1, 1, 3)));
}

// f + the exact block dots [a0, a1, b0, b1] of pair record xp (offset removed) times the
// blocks' scales dw * dx.
// @ts-ignore: decorator
@inline function pairFma(s: v128, xp: usize, sc: v128, f: v128): v128 {
  return fmadd(f32x4.convert_i32x4_s(i32x4.sub(s, v128.load(xp, 64))), f32x4.mul(sc, v128.load(xp, 80)), f);
}

// y[n0], y[n1] for one x row (pair records at xr), rows anywhere in W (two streams, adjacent
// rows, or the same row twice): per step two blocks of each row, sharing the x loads, reduced
// by one transpose-add, converted and scaled in one f32x4. The loop body stays small (12
// loads): with 4 blocks per step V8 ran out of vector registers and spilled.
function rowsApartQ4Q8(w0: usize, w1: usize, sc0: usize, sc1: usize, nb: i32, xr: usize, n0: i32, n1: i32, y: usize, bias: usize): void {
  let f = f32x4.splat(0);
  let a = w0, b = w1, sa = sc0, sb = sc1, xp = xr;
  for (let i = nb >> 1; i > 0; i--) {
    let x0 = v128.load(xp), x1 = v128.load(xp, 16);
    const a0 = blockDot(v128.load(a), x0, x1), b0 = blockDot(v128.load(b), x0, x1);
    x0 = v128.load(xp, 32); x1 = v128.load(xp, 48);
    const a1 = blockDot(v128.load(a, 16), x0, x1), b1 = blockDot(v128.load(b, 16), x0, x1);
    f = pairFma(sum4(a0, a1, b0, b1), xp, v128.load64_lane(sb, v128.load64_zero(sa), 1), f);
    a += 32; b += 32; sa += 8; sb += 8; xp += PREC;
  }
  if (nb & 1) {
    // the last block alone: its pair's second block is padding (not read from W, scale 0)
    const x0 = v128.load(xp), x1 = v128.load(xp, 16), z = i32x4.splat(0);
    const s = sum4(blockDot(v128.load(a), x0, x1), z, blockDot(v128.load(b), x0, x1), z);
    f = pairFma(s, xp, v128.load32_lane(sb, v128.load32_zero(sa), 2), f);
  }
  store<f32>(y + (<usize>n0 << 2), f32x4.extract_lane(f, 0) + f32x4.extract_lane(f, 1) + (bias == 0 ? <f32>0 : load<f32>(bias + (<usize>n0 << 2))));
  store<f32>(y + (<usize>n1 << 2), f32x4.extract_lane(f, 2) + f32x4.extract_lane(f, 3) + (bias == 0 ? <f32>0 : load<f32>(bias + (<usize>n1 << 2))));
}

// One row: the two-row kernel with the row twice (the odd row of a range; rare).
// @ts-ignore: decorator
@inline function row1Q4Q8(w0: usize, sc0: usize, nb: i32, xr: usize, n: i32, y: usize, bias: usize): void {
  rowsApartQ4Q8(w0, w0, sc0, sc0, nb, xr, n, n, y, bias);
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
  const q = xq + <usize>tid * <usize>gemvQ8ScratchBytes(K, B);
  quantizeRows(x, K, B, q, 0, B * (K >> 5));
  gemvQ4Q8Rows(W, scales, q, y, bias, N, K, B, S, E);
}

/**
 * Rows [S, E) of gemvQ4Q8 with x already quantised at q (quantizeQ8 on one thread): a row's
 * value does not depend on which other rows the range holds (each row is its own lanes of
 * rowsApartQ4Q8), so any split of the rows gives gemvQ4Q8's bits. For a program thread that
 * computes several row ranges of one call (assembly/program.ts, claimed calls).
 */
export function gemvQ4Q8Rows(W: usize, scales: usize, q: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  if (S >= E) return;
  const nb = K >> 5;
  const ws = <usize>(K >> 1);
  const xs = <usize>((nb + 1) >> 1) * PREC;
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
    for (let n = S + 2 * H; n < E; n++) row1Q4Q8(W + <usize>n * ws, scales + (<usize>(n * nb) << 2), nb, q, n, y, bias);
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
      for (; n < e; n++) row1Q4Q8(W + <usize>n * ws, scales + (<usize>(n * nb) << 2), nb, xr, n, yb, bias);
    }
  }
}
