// GEMV for decoding: y[b, n] = sum_k W[n, k] x[b, k] (+ bias[n]) for a few
// input rows b < B. Memory-bound on W, so each weight format is widened to f32
// in registers and W is read once per x row from L1/L2 (4 rows at a time share
// every x load). Threads split the rows n in multiples of 4. bias == 0: none.
import { fmadd, hsum, rangeStart, rangeEnd } from './simd';
import { bf16Lo, bf16Hi, f16ToF32x4, halfToF32, widenRow, WK_BF16, WK_F16, WK_I8, WK_Q4 } from './widen';

// 16 rows of 4096 f32 = 256 KiB, a quarter of L2.
const ROW_TILE: i32 = 16;

// Rows per tile so a tile of W stays in L2 (a quarter of it) while the B rows of
// x pass over it; whole groups of 4 rows.
// @ts-ignore: decorator
@inline function rowTile(rowBytes: usize): i32 {
  const t = <i32>(<usize>(256 << 10) / (rowBytes > 0 ? rowBytes : 1));
  return t < 4 ? 4 : t & ~3;
}


// @ts-ignore: decorator
@inline function biasAt(bias: usize, n: i32): f32 {
  return bias == 0 ? <f32>0 : load<f32>(bias + (<usize>n << 2));
}

// ---- f32 --------------------------------------------------------------------

// @ts-ignore: decorator
@inline function dot1F32(w: usize, x: usize, K: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    const o = <usize>k << 2;
    a0 = fmadd(v128.load(w + o), v128.load(x + o), a0);
    a1 = fmadd(v128.load(w + o, 16), v128.load(x + o, 16), a1);
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; k < K; k++) s += load<f32>(w + (<usize>k << 2)) * load<f32>(x + (<usize>k << 2));
  return s;
}

/** y[B,N] = x[B,K] W[N,K]^T (+ bias[N]), f32 weights. */
export function gemvF32(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, tid: i32, nt: i32): void {
  gemvF32Rows(W, x, y, bias, N, K, B, rangeStart(N, tid, nt, 4), rangeEnd(N, tid, nt, 4));
}

/**
 * Rows [S, E) of gemvF32 (S a multiple of 4): rows are summed in groups of 4 from S, so a row's
 * bits are the same in any range that starts on a multiple of 4 (assembly/program.ts, claimed calls).
 */
export function gemvF32Rows(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  const rs = <usize>K << 2;
  if (B >= 2) { batchF32(W, x, y, bias, N, K, B, S, E); return; }
  // Row tiles of ROW_TILE rows: a batch of x rows reuses the tile from L2
  // instead of streaming W from memory once per x row.
  for (let s = S; s < E; s += ROW_TILE) {
    const e = s + ROW_TILE < E ? s + ROW_TILE : E;
    for (let b = 0; b < B; b++) {
      const xb = x + <usize>b * rs;
      const yb = y + (<usize>(b * N) << 2);
      let n = s;
      for (; n + 4 <= e; n += 4) {
        const w0 = W + <usize>n * rs, w1 = w0 + rs, w2 = w1 + rs, w3 = w2 + rs;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        let k = 0;
        for (; k + 8 <= K; k += 8) {
          const o = <usize>k << 2;
          const xv = v128.load(xb + o), xw = v128.load(xb + o, 16);
          a0 = fmadd(v128.load(w0 + o), xv, a0); c0 = fmadd(v128.load(w0 + o, 16), xw, c0);
          a1 = fmadd(v128.load(w1 + o), xv, a1); c1 = fmadd(v128.load(w1 + o, 16), xw, c1);
          a2 = fmadd(v128.load(w2 + o), xv, a2); c2 = fmadd(v128.load(w2 + o, 16), xw, c2);
          a3 = fmadd(v128.load(w3 + o), xv, a3); c3 = fmadd(v128.load(w3 + o, 16), xw, c3);
        }
        let s0 = hsum(f32x4.add(a0, c0)), s1 = hsum(f32x4.add(a1, c1)), s2 = hsum(f32x4.add(a2, c2)), s3 = hsum(f32x4.add(a3, c3));
        for (; k < K; k++) {
          const o = <usize>k << 2;
          const xs = load<f32>(xb + o);
          s0 += load<f32>(w0 + o) * xs; s1 += load<f32>(w1 + o) * xs;
          s2 += load<f32>(w2 + o) * xs; s3 += load<f32>(w3 + o) * xs;
        }
        const yo = yb + (<usize>n << 2);
        store<f32>(yo, s0 + biasAt(bias, n));
        store<f32>(yo, s1 + biasAt(bias, n + 1), 4);
        store<f32>(yo, s2 + biasAt(bias, n + 2), 8);
        store<f32>(yo, s3 + biasAt(bias, n + 3), 12);
      }
      for (; n < e; n++) {
        store<f32>(yb + (<usize>n << 2), dot1F32(W + <usize>n * rs, xb, K) + biasAt(bias, n));
      }
    }  }

}


// ---- batches (decoding several sequences): each weight is loaded once for all rows of x ----
//
// The B = 1 kernels above stream W once per x row (a row tile from L2 for the
// later rows), so a batch of 8 cost nearly 8 times one row. Here a pair of W rows
// is loaded into registers once per k step and multiplied into up to 4 x rows (x
// stays in L1/L2: B * K * 4 bytes); a batch of 8 re-reads the pair from L1 for the
// second group of 4. NB (the x rows of a group, 1..4) is a constant at each call,
// so the unused accumulators fold away.

// y[b, n], y[b, n+1] for the NB x rows starting at xb (row stride xs bytes).
// @ts-ignore: decorator
@inline function pairF32(w0: usize, rs: usize, xb: usize, xs: usize, K: i32, yb: usize, N: i32, n: i32, bias: usize, NB: i32): void {
  const w1 = w0 + rs;
  const x0 = xb, x1 = xb + xs, x2 = x1 + xs, x3 = x2 + xs;
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
  const K4 = K & ~3;
  let k = 0;
  for (; k < K4; k += 4) {
    const o = <usize>k << 2;
    const v0 = v128.load(w0 + o), v1 = v128.load(w1 + o);
    let xv = v128.load(x0 + o);
    a00 = fmadd(v0, xv, a00); a10 = fmadd(v1, xv, a10);
    if (NB > 1) { xv = v128.load(x1 + o); a01 = fmadd(v0, xv, a01); a11 = fmadd(v1, xv, a11); }
    if (NB > 2) { xv = v128.load(x2 + o); a02 = fmadd(v0, xv, a02); a12 = fmadd(v1, xv, a12); }
    if (NB > 3) { xv = v128.load(x3 + o); a03 = fmadd(v0, xv, a03); a13 = fmadd(v1, xv, a13); }
  }
  for (let j = 0; j < NB; j++) {
    const xj = xb + <usize>j * xs;
    let s0 = hsum(j == 0 ? a00 : j == 1 ? a01 : j == 2 ? a02 : a03);
    let s1 = hsum(j == 0 ? a10 : j == 1 ? a11 : j == 2 ? a12 : a13);
    for (let kk = k; kk < K; kk++) {
      const xv = load<f32>(xj + (<usize>kk << 2));
      s0 += load<f32>(w0 + (<usize>kk << 2)) * xv;
      s1 += load<f32>(w1 + (<usize>kk << 2)) * xv;
    }
    const yo = yb + (<usize>(j * N + n) << 2);
    store<f32>(yo, s0 + biasAt(bias, n));
    store<f32>(yo, s1 + biasAt(bias, n + 1), 4);
  }
}

// Rows [S, E) of y[B, N] = x W^T (+ bias) for B >= 2, f32 weights.
function batchF32(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  const rs = <usize>K << 2;
  let n = S;
  for (; n + 2 <= E; n += 2) {
    const w0 = W + <usize>n * rs;
    for (let b = 0; b < B; b += 4) {
      const xb = x + <usize>b * rs, yb = y + (<usize>(b * N) << 2);
      const r = B - b;
      if (r >= 4) pairF32(w0, rs, xb, rs, K, yb, N, n, bias, 4);
      else if (r == 3) pairF32(w0, rs, xb, rs, K, yb, N, n, bias, 3);
      else if (r == 2) pairF32(w0, rs, xb, rs, K, yb, N, n, bias, 2);
      else pairF32(w0, rs, xb, rs, K, yb, N, n, bias, 1);
    }
  }
  if (n < E) {
    for (let b = 0; b < B; b++) {
      store<f32>(y + (<usize>(b * N + n) << 2), dot1F32(W + <usize>n * rs, x + <usize>b * rs, K) + biasAt(bias, n));
    }
  }
}

// ---- f32 batches with x transposed: W elements splat against 4 or 8 x rows at once ----
//
// batchF32 above runs at the f32 GEMM's rate while W sits in L2, but streaming W from
// DRAM (as decode does) it stalls in its first group of x rows (two W rows in flight)
// and leaves memory idle in the second (W already in L1): ~13 GMAC/s per core against
// ~22. Here x is transposed once per call into scratch (xt[k] = x[0..7, k], lanes past
// B zero) and F32_TILE W rows are read side by side, one element splat at a time, into
// accumulators that hold y[n + i, 0..7] directly, so each weight is read once per call,
// from F32_TILE streams at the pace of the FMAs, and no horizontal sums are needed.
// Four rows (8 accumulators, 2 x vectors, 1 splat) is what V8 keeps in registers: with
// five or six rows, or k unrolled with constant offsets, it spilled accumulators to the
// stack inside the loop and ran slower.
//
// Once per 64 bytes of each row a byte PF_DIST ahead is loaded and dropped: it starts that
// line's transfer early (wasm has no prefetch instruction); +10% at K = 2048 from DRAM.

/** Rows of W per tile of gemvF32Batch. */
const F32_TILE: i32 = 4;
const PF_DIST: usize = 8192;

/** Bytes of per-thread scratch gemvF32Batch needs for up to 8 rows of K (pass nt times this). */
export function gemvF32BatchScratchBytes(K: i32): i32 {
  return ((K << 5) + 63) & ~63;
}

// y[b, n..n+M) for the x rows in xt (NV = 1: 4 lanes, 2: 8 lanes), M <= 4 and NV literals.
// pfLim: the last address the look-ahead loads of a 4-row tile may touch minus 3 rows.
// @ts-ignore: decorator
@inline function tileF32T(w0: usize, rs: usize, xt: usize, K: i32, y: usize, N: i32, B: i32, n: i32, bias: usize, M: i32, NV: i32, pfLim: usize): void {
  const w1 = w0 + rs, w2 = w1 + rs, w3 = w2 + rs;
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  for (let kb = 0; kb < K; kb += 16) {
    if (M == 4) {
      const tp0 = w0 + (<usize>kb << 2) + PF_DIST;
      const tp = tp0 < pfLim ? tp0 : pfLim;
      load<u8>(tp); load<u8>(tp + rs); load<u8>(tp + 2 * rs); load<u8>(tp + 3 * rs);
    }
    const ke = kb + 16 < K ? kb + 16 : K;
    for (let k = kb; k < ke; k++) {
      const xo = xt + (<usize>k << 5), wo = <usize>k << 2;
      const x0 = v128.load(xo);
      const x1 = NV > 1 ? v128.load(xo, 16) : x0;
      let v = v128.load32_splat(w0 + wo);
      a00 = fmadd(v, x0, a00); if (NV > 1) a01 = fmadd(v, x1, a01);
      if (M > 1) { v = v128.load32_splat(w1 + wo); a10 = fmadd(v, x0, a10); if (NV > 1) a11 = fmadd(v, x1, a11); }
      if (M > 2) { v = v128.load32_splat(w2 + wo); a20 = fmadd(v, x0, a20); if (NV > 1) a21 = fmadd(v, x1, a21); }
      if (M > 3) { v = v128.load32_splat(w3 + wo); a30 = fmadd(v, x0, a30); if (NV > 1) a31 = fmadd(v, x1, a31); }
    }
  }
  storeTileF32T(y, N, B, n, bias, a00, a01, NV);
  if (M > 1) storeTileF32T(y, N, B, n + 1, bias, a10, a11, NV);
  if (M > 2) storeTileF32T(y, N, B, n + 2, bias, a20, a21, NV);
  if (M > 3) storeTileF32T(y, N, B, n + 3, bias, a30, a31, NV);
}

// y[0..B, n] = the lanes of lo (and hi) + bias[n].
// @ts-ignore: decorator
@inline function storeTileF32T(y: usize, N: i32, B: i32, n: i32, bias: usize, lo: v128, hi: v128, NV: i32): void {
  const bi = biasAt(bias, n);
  const yo = y + (<usize>n << 2), ys = <usize>N << 2;
  store<f32>(yo, f32x4.extract_lane(lo, 0) + bi);
  if (B > 1) store<f32>(yo + ys, f32x4.extract_lane(lo, 1) + bi);
  if (B > 2) store<f32>(yo + 2 * ys, f32x4.extract_lane(lo, 2) + bi);
  if (B > 3) store<f32>(yo + 3 * ys, f32x4.extract_lane(lo, 3) + bi);
  if (NV > 1) {
    if (B > 4) store<f32>(yo + 4 * ys, f32x4.extract_lane(hi, 0) + bi);
    if (B > 5) store<f32>(yo + 5 * ys, f32x4.extract_lane(hi, 1) + bi);
    if (B > 6) store<f32>(yo + 6 * ys, f32x4.extract_lane(hi, 2) + bi);
    if (B > 7) store<f32>(yo + 7 * ys, f32x4.extract_lane(hi, 3) + bi);
  }
}

// Rows [S, E), x lanes in 2 vectors (B > 4) or 1: two functions so that NV and M are
// literals at every tileF32T call (passed through one more inlined level they were not
// folded, and the tile loop kept a branch per FMA).
function rowsF32T8(W: usize, xt: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  const rs = <usize>K << 2;
  // 4-row tiles run only when N >= 4, so this stays inside W
  const pfLim = W + <usize>(N - 4) * rs;
  let n = S;
  for (; n + F32_TILE <= E; n += F32_TILE) tileF32T(W + <usize>n * rs, rs, xt, K, y, N, B, n, bias, 4, 2, pfLim);
  const r = E - n, w0 = W + <usize>n * rs;
  if (r == 3) tileF32T(w0, rs, xt, K, y, N, B, n, bias, 3, 2, pfLim);
  else if (r == 2) tileF32T(w0, rs, xt, K, y, N, B, n, bias, 2, 2, pfLim);
  else if (r == 1) tileF32T(w0, rs, xt, K, y, N, B, n, bias, 1, 2, pfLim);
}
function rowsF32T4(W: usize, xt: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  const rs = <usize>K << 2;
  const pfLim = W + <usize>(N - 4) * rs;
  let n = S;
  for (; n + F32_TILE <= E; n += F32_TILE) tileF32T(W + <usize>n * rs, rs, xt, K, y, N, B, n, bias, 4, 1, pfLim);
  const r = E - n, w0 = W + <usize>n * rs;
  if (r == 3) tileF32T(w0, rs, xt, K, y, N, B, n, bias, 3, 1, pfLim);
  else if (r == 2) tileF32T(w0, rs, xt, K, y, N, B, n, bias, 2, 1, pfLim);
  else if (r == 1) tileF32T(w0, rs, xt, K, y, N, B, n, bias, 1, 1, pfLim);
}

/**
 * y[B,N] = x[B,K] W[N,K]^T (+ bias[N]), f32 weights, 2 <= B <= 8 (gemvF32 for B = 1).
 * xt: per-thread scratch of gemvF32BatchScratchBytes(K) bytes each.
 */
export function gemvF32Batch(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, xt: usize, tid: i32, nt: i32): void {
  const S = rangeStart(N, tid, nt, 4), E = rangeEnd(N, tid, nt, 4);
  if (S >= E) return;
  const t = xt + <usize>tid * <usize>gemvF32BatchScratchBytes(K);
  const xs = <usize>K << 2;
  for (let k = 0; k < K; k++) {
    const d = t + (<usize>k << 5), xo = x + (<usize>k << 2);
    for (let b = 0; b < 8; b++) store<f32>(d + (<usize>b << 2), b < B ? load<f32>(xo + <usize>b * xs) : 0);
  }
  if (B > 4) rowsF32T8(W, t, y, bias, N, K, B, S, E);
  else rowsF32T4(W, t, y, bias, N, K, B, S, E);
}

// ---- bf16 / f16 -------------------------------------------------------------

// One kernel body for both 16-bit formats; `isBf16` is a constant at each call.
// @ts-ignore: decorator
@inline function gemv16(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, tid: i32, nt: i32, isBf16: bool): void {
  const S = rangeStart(N, tid, nt, 4), E = rangeEnd(N, tid, nt, 4);
  const ws = <usize>K << 1;
  const xs = <usize>K << 2;
  // Row tiles of ROW_TILE rows: a batch of x rows reuses the tile from L2
  // instead of streaming W from memory once per x row.
  for (let s = S; s < E; s += ROW_TILE) {
    const e = s + ROW_TILE < E ? s + ROW_TILE : E;
    for (let b = 0; b < B; b++) {
      const xb = x + <usize>b * xs;
      const yb = y + (<usize>(b * N) << 2);
      let n = s;
      for (; n + 4 <= e; n += 4) {
        const w0 = W + <usize>n * ws, w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        let k = 0;
        for (; k + 8 <= K; k += 8) {
          const xo = xb + (<usize>k << 2);
          const wo = <usize>k << 1;
          const xv = v128.load(xo), xw = v128.load(xo, 16);
          const v0 = v128.load(w0 + wo), v1 = v128.load(w1 + wo), v2 = v128.load(w2 + wo), v3 = v128.load(w3 + wo);
          if (isBf16) {
            a0 = fmadd(bf16Lo(v0), xv, a0); c0 = fmadd(bf16Hi(v0), xw, c0);
            a1 = fmadd(bf16Lo(v1), xv, a1); c1 = fmadd(bf16Hi(v1), xw, c1);
            a2 = fmadd(bf16Lo(v2), xv, a2); c2 = fmadd(bf16Hi(v2), xw, c2);
            a3 = fmadd(bf16Lo(v3), xv, a3); c3 = fmadd(bf16Hi(v3), xw, c3);
          } else {
            a0 = fmadd(f16ToF32x4(i32x4.extend_low_i16x8_u(v0)), xv, a0); c0 = fmadd(f16ToF32x4(i32x4.extend_high_i16x8_u(v0)), xw, c0);
            a1 = fmadd(f16ToF32x4(i32x4.extend_low_i16x8_u(v1)), xv, a1); c1 = fmadd(f16ToF32x4(i32x4.extend_high_i16x8_u(v1)), xw, c1);
            a2 = fmadd(f16ToF32x4(i32x4.extend_low_i16x8_u(v2)), xv, a2); c2 = fmadd(f16ToF32x4(i32x4.extend_high_i16x8_u(v2)), xw, c2);
            a3 = fmadd(f16ToF32x4(i32x4.extend_low_i16x8_u(v3)), xv, a3); c3 = fmadd(f16ToF32x4(i32x4.extend_high_i16x8_u(v3)), xw, c3);
          }
        }
        let s0 = hsum(f32x4.add(a0, c0)), s1 = hsum(f32x4.add(a1, c1)), s2 = hsum(f32x4.add(a2, c2)), s3 = hsum(f32x4.add(a3, c3));
        for (; k < K; k++) {
          const xv = load<f32>(xb + (<usize>k << 2));
          const wo = <usize>k << 1;
          s0 += halfToF32(load<u16>(w0 + wo), isBf16) * xv; s1 += halfToF32(load<u16>(w1 + wo), isBf16) * xv;
          s2 += halfToF32(load<u16>(w2 + wo), isBf16) * xv; s3 += halfToF32(load<u16>(w3 + wo), isBf16) * xv;
        }
        const yo = yb + (<usize>n << 2);
        store<f32>(yo, s0 + biasAt(bias, n));
        store<f32>(yo, s1 + biasAt(bias, n + 1), 4);
        store<f32>(yo, s2 + biasAt(bias, n + 2), 8);
        store<f32>(yo, s3 + biasAt(bias, n + 3), 12);
      }
      for (; n < e; n++) {
        const w0 = W + <usize>n * ws;
        let sum: f32 = 0;
        for (let k = 0; k < K; k++) sum += halfToF32(load<u16>(w0 + (<usize>k << 1)), isBf16) * load<f32>(xb + (<usize>k << 2));
        store<f32>(yb + (<usize>n << 2), sum + biasAt(bias, n));
      }
    }  }

}

// The high bf16 of each i32 lane as f32: two shifts instead of an AND with a
// mask, which would need a 16th vector register in rows4Bf16 (V8 then spills an
// accumulator inside the loop).
// @ts-ignore: decorator
@inline function bf16HiInPlace(v: v128): v128 {
  return i32x4.shl(i32x4.shr_u(v, 16), 16);
}

// y[n..n+4] for one x row (xe: x permuted as described below). A leaf function:
// its loop gets all 16 vector registers to itself (8 accumulators, 2 x, 4 w, the
// mask); inlined into the tile loops V8 spilled and bf16 lost 15-20%.
function rows4Bf16(w0: usize, ws: usize, xe: usize, xb: usize, K: i32, n: i32, yo: usize, bias: usize): void {
  const w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
  const K8 = K & ~7;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let k = 0;
  for (; k < K8; k += 8) {
    const xo = xe + (<usize>k << 2);
    const wo = <usize>k << 1;
    const xv = v128.load(xo), xd = v128.load(xo, 16);
    const v0 = v128.load(w0 + wo), v1 = v128.load(w1 + wo), v2 = v128.load(w2 + wo), v3 = v128.load(w3 + wo);
    a0 = fmadd(i32x4.shl(v0, 16), xv, a0); c0 = fmadd(bf16HiInPlace(v0), xd, c0);
    a1 = fmadd(i32x4.shl(v1, 16), xv, a1); c1 = fmadd(bf16HiInPlace(v1), xd, c1);
    a2 = fmadd(i32x4.shl(v2, 16), xv, a2); c2 = fmadd(bf16HiInPlace(v2), xd, c2);
    a3 = fmadd(i32x4.shl(v3, 16), xv, a3); c3 = fmadd(bf16HiInPlace(v3), xd, c3);
  }
  let s0 = hsum(f32x4.add(a0, c0)), s1 = hsum(f32x4.add(a1, c1)), s2 = hsum(f32x4.add(a2, c2)), s3 = hsum(f32x4.add(a3, c3));
  for (; k < K; k++) {
    const xv = load<f32>(xb + (<usize>k << 2));
    const wo = <usize>k << 1;
    s0 += halfToF32(load<u16>(w0 + wo), true) * xv; s1 += halfToF32(load<u16>(w1 + wo), true) * xv;
    s2 += halfToF32(load<u16>(w2 + wo), true) * xv; s3 += halfToF32(load<u16>(w3 + wo), true) * xv;
  }
  store<f32>(yo, s0 + biasAt(bias, n));
  store<f32>(yo, s1 + biasAt(bias, n + 1), 4);
  store<f32>(yo, s2 + biasAt(bias, n + 2), 8);
  store<f32>(yo, s3 + biasAt(bias, n + 3), 12);
}

/**
 * y[B,N] = x[B,K] W[N,K]^T (+ bias), bf16 weights (raw u16 bits). Each i32 lane
 * of 8 loaded weights holds elements 2i (low half) and 2i+1 (high half): a shift
 * and a mask make them f32 in place, so x is first permuted per 8-chunk into
 * [x0 x2 x4 x6 | x1 x3 x5 x7] (xp: per-thread scratch, B*K f32 each).
 */
export function gemvBf16(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, xp: usize, tid: i32, nt: i32): void {
  const S = rangeStart(N, tid, nt, 4), E = rangeEnd(N, tid, nt, 4);
  if (S >= E) return;
  const ws = <usize>K << 1;
  const xs = <usize>K << 2;
  const K8 = K & ~7;
  const px = xp + <usize>tid * <usize>B * xs;
  for (let i = 0; i < B * K8; i += 8) {
    const row = i / K8, k = i - row * K8;
    const src = x + <usize>row * xs + (<usize>k << 2);
    const a = v128.load(src), b = v128.load(src, 16);
    const d = px + <usize>row * xs + (<usize>k << 2);
    v128.store(d, i32x4.shuffle(a, b, 0, 2, 4, 6));
    v128.store(d, i32x4.shuffle(a, b, 1, 3, 5, 7), 16);
  }
  const T = rowTile(ws);
  for (let s = S; s < E; s += T) {
    const e = s + T < E ? s + T : E;
    for (let b = 0; b < B; b++) {
      const xb = x + <usize>b * xs;
      const pb = px + <usize>b * xs;
      const yb = y + (<usize>(b * N) << 2);
      let n = s;
      for (; n + 4 <= e; n += 4) rows4Bf16(W + <usize>n * ws, ws, pb, xb, K, n, yb + (<usize>n << 2), bias);
      for (; n < e; n++) {
        const w0 = W + <usize>n * ws;
        let sum: f32 = 0;
        for (let k = 0; k < K; k++) sum += halfToF32(load<u16>(w0 + (<usize>k << 1)), true) * load<f32>(xb + (<usize>k << 2));
        store<f32>(yb + (<usize>n << 2), sum + biasAt(bias, n));
      }
    }
  }
}

/** y[B,N] = x[B,K] W[N,K]^T (+ bias), f16 weights (raw u16 bits). */
export function gemvF16(W: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, tid: i32, nt: i32): void {
  gemv16(W, x, y, bias, N, K, B, tid, nt, false);
}

// ---- int8 / Q4: integer dot products against x quantised to int16 ------------
//
// Widening each weight to f32 costs 4 conversions + 4 FMAs per 16 weights, which
// made these formats compute-bound at ~5 GB/s. Instead x is quantised once per
// call to int16 with one scale per x row (xq = round(x / sx), sx = max|x| / 32767:
// an error of at most sx / 2 per element, 1/65534 of max|x|, far below the weight
// quantisation error), and i32x4.dot_i16x8_s (pmaddwd) does 8 multiply-adds per
// instruction in exact integer arithmetic. i32 lanes gain at most
// 2 * 128 * 32767 per 8 weights, so the integer sums are flushed to f32 every
// I32_CHUNK weights, long before they could overflow (2^31 / 8.4e6 * 8 > 2048).
const I32_CHUNK: i32 = 1024;

/**
 * Bytes of per-thread scratch gemvI8 / gemvQ4 need for B rows of K (pass nt times this):
 * the int16 copy of x (rows padded to 8 elements), the B scales, and for Q4 a
 * correction vector per 32-block.
 */
export function gemvQuantScratchBytes(K: i32, B: i32): i32 {
  const rowBytes = ((K + 7) & ~7) << 1;
  // + Q4 only: one i32x4 correction per 32-block and row (see gemvQ4)
  return ((B * rowBytes + B * 4 + B * ((K + 31) >> 5) * 16) + 63) & ~63;
}

// xq[b, 0:K] = round(x[b, :] / s_b) as int16 with s_b = max|x[b, :]| / 32767;
// the scales go to xq + B * rowBytes. An all-zero row gets s = 0; a row with
// inf or NaN gets s = NaN (q = 0), so y is NaN as with the f32 kernels rather
// than silently finite.
export function quantizeXI16(x: usize, K: i32, B: i32, xq: usize): void {
  const rowBytes = <usize>(((K + 7) & ~7) << 1);
  const K8 = K & ~7;
  for (let b = 0; b < B; b++) {
    const xr = x + (<usize>(b * K) << 2);
    const qr = xq + <usize>b * rowBytes;
    let m = f32x4.splat(0);
    let k = 0;
    for (; k < K8; k += 8) {
      m = f32x4.max(m, f32x4.abs(v128.load(xr + (<usize>k << 2))));
      m = f32x4.max(m, f32x4.abs(v128.load(xr + (<usize>k << 2), 16)));
    }
    let amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    for (; k < K; k++) amax = max(amax, abs(load<f32>(xr + (<usize>k << 2))));
    const ok = amax > 0 && amax < Infinity;
    const sc: f32 = ok ? amax / 32767 : amax == 0 ? 0 : NaN;
    const inv: f32 = ok ? <f32>32767 / amax : 0;
    const vi = f32x4.splat(inv);
    k = 0;
    for (; k < K8; k += 8) {
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xr + (<usize>k << 2)), vi)));
      const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xr + (<usize>k << 2), 16), vi)));
      v128.store(qr + (<usize>k << 1), i16x8.narrow_i32x4_s(a, c));
    }
    for (; k < ((K + 7) & ~7); k++) {
      const v: i32 = k < K ? <i32>nearest(load<f32>(xr + (<usize>k << 2)) * inv) : 0;
      store<i16>(qr + (<usize>k << 1), <i16>(v > 32767 ? 32767 : v < -32767 ? -32767 : v));
    }
    store<f32>(xq + <usize>B * rowBytes + (<usize>b << 2), sc);
  }
}

// acc + w[0:16] . xq[0:16] (w int8, xq int16) in 4 i32 lanes.
// @ts-ignore: decorator
@inline function dotI8x16(v: v128, xl: v128, xh: v128, acc: v128): v128 {
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), xl));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), xh));
}

// One int8 row against one x row.
function row1I8(w0: usize, xq: usize, K: i32, sx: f32, scales: usize, n: i32, yo: usize, bias: usize): void {
  const K16 = K & ~15;
  let f0 = f32x4.splat(0);
  for (let kc = 0; kc < K16; kc += I32_CHUNK) {
    const ke = kc + I32_CHUNK < K16 ? kc + I32_CHUNK : K16;
    let a0 = i32x4.splat(0);
    for (let k = kc; k < ke; k += 16) {
      const xo = xq + (<usize>k << 1);
      a0 = dotI8x16(v128.load(w0 + k), v128.load(xo), v128.load(xo, 16), a0);
    }
    f0 = f32x4.add(f0, f32x4.convert_i32x4_s(a0));
  }
  let t0 = 0;
  for (let k = K16; k < K; k++) t0 += <i32>load<i8>(w0 + k) * <i32>load<i16>(xq + (<usize>k << 1));
  store<f32>(yo, (hsum(f0) + <f32>t0) * (load<f32>(scales + (<usize>n << 2)) * sx) + biasAt(bias, n));
}

// Rows n0, n0 + H, n0 + 2H, n0 + 3H against one x row, each row's arithmetic exactly as row1I8's.
function rows4I8(W: usize, ws: usize, gap: usize, xq: usize, K: i32, sx: f32, scales: usize, n0: i32, H: i32, y: usize, bias: usize): void {
  const w0 = W + <usize>n0 * ws, w1 = w0 + gap, w2 = w1 + gap, w3 = w2 + gap;
  const K16 = K & ~15;
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  for (let kc = 0; kc < K16; kc += I32_CHUNK) {
    const ke = kc + I32_CHUNK < K16 ? kc + I32_CHUNK : K16;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let k = kc; k < ke; k += 16) {
      const xo = xq + (<usize>k << 1);
      const xl = v128.load(xo), xh = v128.load(xo, 16);
      a0 = dotI8x16(v128.load(w0 + k), xl, xh, a0);
      a1 = dotI8x16(v128.load(w1 + k), xl, xh, a1);
      a2 = dotI8x16(v128.load(w2 + k), xl, xh, a2);
      a3 = dotI8x16(v128.load(w3 + k), xl, xh, a3);
    }
    f0 = f32x4.add(f0, f32x4.convert_i32x4_s(a0));
    f1 = f32x4.add(f1, f32x4.convert_i32x4_s(a1));
    f2 = f32x4.add(f2, f32x4.convert_i32x4_s(a2));
    f3 = f32x4.add(f3, f32x4.convert_i32x4_s(a3));
  }
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (let k = K16; k < K; k++) {
    const xv = <i32>load<i16>(xq + (<usize>k << 1));
    t0 += <i32>load<i8>(w0 + k) * xv; t1 += <i32>load<i8>(w1 + k) * xv;
    t2 += <i32>load<i8>(w2 + k) * xv; t3 += <i32>load<i8>(w3 + k) * xv;
  }
  const n1 = n0 + H, n2 = n1 + H, n3 = n2 + H;
  store<f32>(y + (<usize>n0 << 2), (hsum(f0) + <f32>t0) * (load<f32>(scales + (<usize>n0 << 2)) * sx) + biasAt(bias, n0));
  store<f32>(y + (<usize>n1 << 2), (hsum(f1) + <f32>t1) * (load<f32>(scales + (<usize>n1 << 2)) * sx) + biasAt(bias, n1));
  store<f32>(y + (<usize>n2 << 2), (hsum(f2) + <f32>t2) * (load<f32>(scales + (<usize>n2 << 2)) * sx) + biasAt(bias, n2));
  store<f32>(y + (<usize>n3 << 2), (hsum(f3) + <f32>t3) * (load<f32>(scales + (<usize>n3 << 2)) * sx) + biasAt(bias, n3));
}

/**
 * y[B,N] = x[B,K] (scales[n] * Wq[N,K])^T (+ bias), int8 weights. xq: per-thread
 * scratch of gemvQuantScratchBytes(K, B) bytes each (x as int16, see above).
 */
export function gemvI8(W: usize, scales: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, xq: usize, tid: i32, nt: i32): void {
  const S = rangeStart(N, tid, nt, 4), E = rangeEnd(N, tid, nt, 4);
  if (S >= E) return;
  const q = xq + <usize>tid * <usize>gemvQuantScratchBytes(K, B);
  quantizeXI16(x, K, B, q);
  gemvI8Rows(W, scales, q, y, bias, N, K, B, S, E);
}

/**
 * Rows [S, E) of gemvI8 with x already quantised at q: a row's value does not depend on which
 * other rows the range holds, so any split of the rows gives gemvI8's bits.
 */
export function gemvI8Rows(W: usize, scales: usize, q: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  if (S >= E) return;
  const ws = <usize>K;
  const rowBytes = <usize>(((K + 7) & ~7) << 1);
  if (B >= 2) { batchI8(W, scales, y, bias, N, K, B, q, S, E); return; }
  if (B < 1) return;
  // B = 1: four rows at a time, one from each quarter of this thread's rows: four long
  // sequential W streams sharing every x load. Best of 6-8 interleaved rounds, one core, from
  // DRAM: 14.1-15.1 GB/s (one row at a time, as before) -> 23.0-24.4 GB/s at 2304x768,
  // 4096x768, 768x2048 and 50304x768 (two halves: 19-20 GB/s). Adjacent rows instead (two or
  // four streams a row apart, as once here) ran faster from L2 but at about half speed from
  // DRAM: the prefetcher does not follow streams that close.
  const sx = load<f32>(q + <usize>rowBytes);
  const H = (E - S) >> 2;
  for (let i = 0; i < H; i++) rows4I8(W, ws, <usize>H * ws, q, K, sx, scales, S + i, H, y, bias);
  for (let n = S + 4 * H; n < E; n++) row1I8(W + <usize>n * ws, q, K, sx, scales, n, y + (<usize>n << 2), bias);
}


// y[b, n] for the NB x rows (int16, stride rowBytes) starting at qb: one int8 W row,
// widened to int16 once per 16 weights and multiplied into every x row.
// @ts-ignore: decorator
@inline function rowI8Batch(w0: usize, qb: usize, rowBytes: usize, sxs: usize, K: i32, sc: f32, yb: usize, N: i32, n: i32, bias: usize, NB: i32): void {
  const q0 = qb, q1 = qb + rowBytes, q2 = q1 + rowBytes, q3 = q2 + rowBytes;
  const K16 = K & ~15;
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  for (let kc = 0; kc < K16; kc += I32_CHUNK) {
    const ke = kc + I32_CHUNK < K16 ? kc + I32_CHUNK : K16;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let k = kc; k < ke; k += 16) {
      const v = v128.load(w0 + k);
      const wl = i16x8.extend_low_i8x16_s(v), wh = i16x8.extend_high_i8x16_s(v);
      const o = <usize>k << 1;
      a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(wl, v128.load(q0 + o)), i32x4.dot_i16x8_s(wh, v128.load(q0 + o, 16))));
      if (NB > 1) a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(wl, v128.load(q1 + o)), i32x4.dot_i16x8_s(wh, v128.load(q1 + o, 16))));
      if (NB > 2) a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(wl, v128.load(q2 + o)), i32x4.dot_i16x8_s(wh, v128.load(q2 + o, 16))));
      if (NB > 3) a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(wl, v128.load(q3 + o)), i32x4.dot_i16x8_s(wh, v128.load(q3 + o, 16))));
    }
    f0 = f32x4.add(f0, f32x4.convert_i32x4_s(a0));
    if (NB > 1) f1 = f32x4.add(f1, f32x4.convert_i32x4_s(a1));
    if (NB > 2) f2 = f32x4.add(f2, f32x4.convert_i32x4_s(a2));
    if (NB > 3) f3 = f32x4.add(f3, f32x4.convert_i32x4_s(a3));
  }
  for (let j = 0; j < NB; j++) {
    const qj = qb + <usize>j * rowBytes;
    let t = 0;
    for (let k = K16; k < K; k++) t += <i32>load<i8>(w0 + k) * <i32>load<i16>(qj + (<usize>k << 1));
    const acc = hsum(j == 0 ? f0 : j == 1 ? f1 : j == 2 ? f2 : f3) + <f32>t;
    store<f32>(yb + (<usize>(j * N + n) << 2), acc * (sc * load<f32>(sxs + (<usize>j << 2))) + biasAt(bias, n));
  }
}

// Rows [S, E) of y[B, N] for B >= 2, int8 weights, x already quantised at q.
function batchI8(W: usize, scales: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, q: usize, S: i32, E: i32): void {
  const rowBytes = <usize>(((K + 7) & ~7) << 1);
  const sxAll = q + <usize>B * rowBytes;
  for (let n = S; n < E; n++) {
    const w0 = W + <usize>n * <usize>K;
    const sc = load<f32>(scales + (<usize>n << 2));
    for (let b = 0; b < B; b += 4) {
      const qb = q + <usize>b * rowBytes, sxs = sxAll + (<usize>b << 2), yb = y + (<usize>(b * N) << 2);
      const r = B - b;
      if (r >= 4) rowI8Batch(w0, qb, rowBytes, sxs, K, sc, yb, N, n, bias, 4);
      else if (r == 3) rowI8Batch(w0, qb, rowBytes, sxs, K, sc, yb, N, n, bias, 3);
      else if (r == 2) rowI8Batch(w0, qb, rowBytes, sxs, K, sc, yb, N, n, bias, 2);
      else rowI8Batch(w0, qb, rowBytes, sxs, K, sc, yb, N, n, bias, 1);
    }
  }
}

// ---- 4-bit blocks (Q4_0 layout: 32 weights per f32 scale, byte j of a block
// holds element j in its low nibble and element j + 16 in its high nibble,
// value = (q - 8) * scale) --------------------------------------------------------

// The Q4 kernel reads each 16-byte block as 8 u16 lanes: lane i holds bytes
// 2i, 2i+1, i.e. elements 2i, 2i+1 (low nibbles) and 2i+16, 2i+17 (high
// nibbles). Masks and shifts give four i16x8 vectors of raw nibbles 0..15 with
// no sign extension, so x is permuted to match, per block:
// E0 = x[0,2,..,14], O0 = x[1,3,..,15], E1 = x[16,18,..,30], O1 = x[17,..,31],
// and the nibble offset -8 becomes one subtraction of corr = 8 * (that dot with
// all nibbles 1), stored after the scales: 4 shifts/masks + 4 pmaddwd per block
// instead of 2 masks, 2 subtractions and 4 sign extensions.
function permuteQ4X(xq: usize, K: i32, B: i32): void {
  const rowBytes = <usize>(((K + 7) & ~7) << 1);
  const nb = K >> 5;
  const corr = xq + <usize>B * rowBytes + (<usize>B << 2);
  const eight = i16x8.splat(8);
  for (let b = 0; b < B; b++) {
    const qr = xq + <usize>b * rowBytes;
    const cr = corr + (<usize>(b * nb) << 4);
    for (let j = 0; j < nb; j++) {
      const p = qr + (<usize>j << 6);
      const x0 = v128.load(p), x1 = v128.load(p, 16), x2 = v128.load(p, 32), x3 = v128.load(p, 48);
      const e0 = i8x16.shuffle(x0, x1, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
      const o0 = i8x16.shuffle(x0, x1, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
      const e1 = i8x16.shuffle(x2, x3, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
      const o1 = i8x16.shuffle(x2, x3, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
      v128.store(p, e0); v128.store(p, o0, 16); v128.store(p, e1, 32); v128.store(p, o1, 48);
      const c = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(e0, eight), i32x4.dot_i16x8_s(o0, eight)),
        i32x4.add(i32x4.dot_i16x8_s(e1, eight), i32x4.dot_i16x8_s(o1, eight)));
      v128.store(cr + (<usize>j << 4), c);
    }
  }
}

// Integer dot of one 32-weight block (16 packed bytes at w) with the permuted
// xq block at xo, minus its correction: sum (q - 8) x over the block, 4 i32 lanes.
// @ts-ignore: decorator
@inline function dotQ4Block(w: usize, xo: usize, co: usize): v128 {
  const v = v128.load(w);
  const m = i16x8.splat(0x000f);
  const a = v128.and(v, m);
  const b = v128.and(i16x8.shr_u(v, 8), m);
  const c = v128.and(i16x8.shr_u(v, 4), m);
  const d = i16x8.shr_u(v, 12);
  const s0 = i32x4.add(i32x4.dot_i16x8_s(a, v128.load(xo)), i32x4.dot_i16x8_s(b, v128.load(xo, 16)));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(c, v128.load(xo, 32)), i32x4.dot_i16x8_s(d, v128.load(xo, 48)));
  return i32x4.sub(i32x4.add(s0, s1), v128.load(co));
}

// y[n], y[n+1] for one x row (xq permuted, cq its corrections).
function rows2Q4(w0: usize, ws: usize, sc0: usize, nb: i32, xq: usize, cq: usize, sx: f32, n: i32, yo: usize, bias: usize): void {
  const w1 = w0 + ws, sc1 = sc0 + (<usize>nb << 2);
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0);
  for (let j = 0; j < nb; j++) {
    const xo = xq + (<usize>j << 6), co = cq + (<usize>j << 4);
    const wo = <usize>j << 4, so = <usize>j << 2;
    f0 = fmadd(f32x4.convert_i32x4_s(dotQ4Block(w0 + wo, xo, co)), v128.load32_splat(sc0 + so), f0);
    f1 = fmadd(f32x4.convert_i32x4_s(dotQ4Block(w1 + wo, xo, co)), v128.load32_splat(sc1 + so), f1);
  }
  store<f32>(yo, hsum(f0) * sx + biasAt(bias, n));
  store<f32>(yo, hsum(f1) * sx + biasAt(bias, n + 1), 4);
}

function row1Q4(w0: usize, sc0: usize, nb: i32, xq: usize, cq: usize, sx: f32, n: i32, yo: usize, bias: usize): void {
  let f0 = f32x4.splat(0);
  for (let j = 0; j < nb; j++) {
    const d = dotQ4Block(w0 + (<usize>j << 4), xq + (<usize>j << 6), cq + (<usize>j << 4));
    f0 = fmadd(f32x4.convert_i32x4_s(d), v128.load32_splat(sc0 + (<usize>j << 2)), f0);
  }
  store<f32>(yo, hsum(f0) * sx + biasAt(bias, n));
}

// Batches (B >= 2) keep the row-tile loop below: a variant that unpacks each block
// once for two x rows (as batchI8 does for int8) measured 1.3-1.5x slower.

/**
 * y[B,N] = x[B,K] dequant(Wq)^T (+ bias); Wq [N, K/2] bytes, scales [N, K/32]; K % 32 == 0.
 * xq: per-thread scratch of gemvQuantScratchBytes(K, B) bytes each.
 */
export function gemvQ4(W: usize, scales: usize, x: usize, y: usize, bias: usize, N: i32, K: i32, B: i32, xq: usize, tid: i32, nt: i32): void {
  const S = rangeStart(N, tid, nt, 4), E = rangeEnd(N, tid, nt, 4);
  if (S >= E) return;
  const nb = K >> 5;
  const ws = <usize>(K >> 1);
  const rowBytes = <usize>(((K + 7) & ~7) << 1);
  const q = xq + <usize>tid * <usize>gemvQuantScratchBytes(K, B);
  quantizeXI16(x, K, B, q);
  permuteQ4X(q, K, B);
  const corr = q + <usize>B * rowBytes + (<usize>B << 2);
  const T = rowTile(ws);
  for (let s = S; s < E; s += T) {
    const e = s + T < E ? s + T : E;
    for (let b = 0; b < B; b++) {
      const qb = q + <usize>b * rowBytes;
      const cb = corr + (<usize>(b * nb) << 4);
      const sx = load<f32>(q + <usize>B * rowBytes + (<usize>b << 2));
      const yb = y + (<usize>(b * N) << 2);
      let n = s;
      for (; n + 2 <= e; n += 2) rows2Q4(W + <usize>n * ws, ws, scales + (<usize>(n * nb) << 2), nb, qb, cb, sx, n, yb + (<usize>n << 2), bias);
      for (; n < e; n++) row1Q4(W + <usize>n * ws, scales + (<usize>(n * nb) << 2), nb, qb, cb, sx, n, yb + (<usize>n << 2), bias);
    }
  }
}


// ---- dequantisation to f32 (the GEMM path for non-f32 weights) ------------------

/** out[N,K] f32 = W[N,K] as f32; kind 0 bf16, 1 f16, 2 int8 (scales per row), 3 Q4 (scales per 32). */
export function dequantRows(kind: i32, W: usize, scales: usize, out: usize, N: i32, K: i32, tid: i32, nt: i32): void {
  const s = rangeStart(N, tid, nt, 1), e = rangeEnd(N, tid, nt, 1);
  const wk = kind == 0 ? WK_BF16 : kind == 1 ? WK_F16 : kind == 2 ? WK_I8 : WK_Q4;
  for (let n = s; n < e; n++) widenRow(wk, W, scales, K, n, 0, K, out + (<usize>n * K << 2));
}

/** out[i] = in[i] for n bytes: the machine's copy bandwidth, the bound GEMV is measured against. */
export function copyBytes(dst: usize, src: usize, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 64), e = rangeEnd(n, tid, nt, 64);
  memory.copy(dst + s, src + s, <usize>(e - s));
}
