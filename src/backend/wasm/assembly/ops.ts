// Row-wise kernels (softmax, reductions, cumsum, norms), the causal depthwise conv
// and the embedding gather. Rows are split across threads; a row is never split.
import { rangeStart, rangeEnd, fmadd, hsum } from './simd';
import { expV } from './mathf';

// @ts-ignore: decorator
@inline function rowMax(p: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, v128.load(p + (<usize>i << 2)));
  let r = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; i < n; i++) r = Mathf.max(r, load<f32>(p + (<usize>i << 2)));
  return r; // f32.max propagates NaN, as torch.max does
}

// @ts-ignore: decorator
@inline function rowSum(p: usize, n: i32): f32 {
  // Two independent accumulators: shorter dependency chain and smaller rounding error.
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
    b = f32x4.add(b, v128.load(p + (<usize>i << 2) + 16));
  }
  for (; i + 4 <= n; i += 4) a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
  let r = hsum(f32x4.add(a, b));
  for (; i < n; i++) r += load<f32>(p + (<usize>i << 2));
  return r;
}

/** softmax (log = 0) or log-softmax (log = 1) over rows of n: x, out [rows, n]. */
export function softmaxF32(out: usize, x: usize, rows: i32, n: i32, log: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows, tid, nt, 1);
  const e = rangeEnd(rows, tid, nt, 1);
  for (let r = s; r < e; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    const po = out + ((<usize>r * <usize>n) << 2);
    const m = rowMax(px, n); // all -inf -> -inf - -inf = NaN below, as torch gives
    // The sum runs in f64 (two lanes at a time): over long rows an f32 sum would dominate the error.
    const mv = f32x4.splat(m);
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = expV(f32x4.sub(v128.load(px + o), mv));
      if (!log) v128.store(po + o, v);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
    }
    let sum = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
    for (; i < n; i++) {
      const v = f32x4.extract_lane(expV(f32x4.splat(load<f32>(px + (<usize>i << 2)) - m)), 0);
      if (!log) store<f32>(po + (<usize>i << 2), v);
      sum += <f64>v;
    }
    if (log) {
      // (x - m) - log(sum), not x - (m + log(sum)): rounding m + log(sum) to f32 would cost half an ulp of m.
      const lv = f32x4.splat(<f32>Math.log(sum));
      i = 0;
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(po + o, f32x4.sub(f32x4.sub(v128.load(px + o), mv), lv));
      }
      const ls = <f32>Math.log(sum);
      for (; i < n; i++) store<f32>(po + (<usize>i << 2), (load<f32>(px + (<usize>i << 2)) - m) - ls);
    } else {
      const invs = <f32>(1.0 / sum);
      const inv = f32x4.splat(invs);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(po + (<usize>i << 2), f32x4.mul(v128.load(po + (<usize>i << 2)), inv));
      for (; i < n; i++) store<f32>(po + (<usize>i << 2), load<f32>(po + (<usize>i << 2)) * invs);
    }
  }
}

/** Reduction over rows of n: mode 0 sum, 1 mean, 2 max. out [rows]. */
export function reduceF32(out: usize, x: usize, rows: i32, n: i32, mode: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows, tid, nt, 1);
  const e = rangeEnd(rows, tid, nt, 1);
  for (let r = s; r < e; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    let v: f32;
    if (mode == 2) v = rowMax(px, n);
    else {
      v = rowSum(px, n);
      if (mode == 1) v = v / <f32>n;
    }
    store<f32>(out + (<usize>r << 2), v);
  }
}

/** Index of the first maximum of each row (the first NaN wins, as in torch). out: i32 [rows]. */
export function argmaxF32(out: usize, x: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows, tid, nt, 1);
  const e = rangeEnd(rows, tid, nt, 1);
  for (let r = s; r < e; r++) {
    const px = x + ((<usize>r * <usize>n) << 2);
    let best = load<f32>(px);
    let idx = 0;
    if (best == best) {
      for (let i = 1; i < n; i++) {
        const v = load<f32>(px + (<usize>i << 2));
        if (v != v) { idx = i; break; }
        if (v > best) { best = v; idx = i; }
      }
    }
    store<i32>(out + (<usize>r << 2), idx);
  }
}

/** Inclusive cumulative sum over rows of n; the running sum is kept in f64. */
export function cumsumF32(out: usize, x: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows, tid, nt, 1);
  const e = rangeEnd(rows, tid, nt, 1);
  for (let r = s; r < e; r++) {
    const base = (<usize>r * <usize>n) << 2;
    let acc: f64 = 0;
    for (let i = 0; i < n; i++) {
      acc += <f64>load<f32>(x + base + (<usize>i << 2));
      store<f32>(out + base + (<usize>i << 2), <f32>acc);
    }
  }
}

/**
 * Group normalisation over rows of G groups of DG: each group is normalised by
 * its own mean and variance (rms = 1: no mean, x * rsqrt(mean(x^2) + eps)), then
 * y = xn * (woff + w[g*DG + i]) + b[g*DG + i]. w, b: byte offsets, 0 for none.
 * LayerNorm is G = 1, MultiHeadLayerNorm G = NH. x, out: [rows, G*DG].
 */
export function normF32(out: usize, x: usize, w: usize, b: usize, rows: i32, G: i32, DG: i32, eps: f32, woff: f32, rms: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows * G, tid, nt, 1);
  const e = rangeEnd(rows * G, tid, nt, 1);
  for (let q = s; q < e; q++) {
    const g = q % G;
    const px = x + ((<usize>q * <usize>DG) << 2);
    const po = out + ((<usize>q * <usize>DG) << 2);
    const mean: f32 = rms ? 0 : rowSum(px, DG) / <f32>DG;
    const mv = f32x4.splat(mean);
    let a = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= DG; i += 4) {
      const d = f32x4.sub(v128.load(px + (<usize>i << 2)), mv);
      a = fmadd(d, d, a);
    }
    let ss = hsum(a);
    for (; i < DG; i++) { const d = load<f32>(px + (<usize>i << 2)) - mean; ss += d * d; }
    const rstd: f32 = <f32>(1.0 / Math.sqrt(<f64>(ss / <f32>DG) + <f64>eps));
    const pw = w + ((<usize>g * <usize>DG) << 2);
    const pb = b + ((<usize>g * <usize>DG) << 2);
    const rv = f32x4.splat(rstd);
    const ov = f32x4.splat(woff);
    i = 0;
    for (; i + 4 <= DG; i += 4) {
      const o = <usize>i << 2;
      let y = f32x4.mul(f32x4.sub(v128.load(px + o), mv), rv);
      if (w) y = f32x4.mul(y, f32x4.add(ov, v128.load(pw + o)));
      if (b) y = f32x4.add(y, v128.load(pb + o));
      v128.store(po + o, y);
    }
    for (; i < DG; i++) {
      const o = <usize>i << 2;
      let y = (load<f32>(px + o) - mean) * rstd;
      if (w) y *= woff + load<f32>(pw + o);
      if (b) y += load<f32>(pb + o);
      store<f32>(po + o, y);
    }
  }
}

/**
 * Causal depthwise conv over sequences: y[b,t,c] = bias[c] + sum_j wT[j,c] x[b,t-K+1+j,c].
 * Inputs before t = 0 come from state [B, K, C] (state[b, K-1] is the newest) or are 0
 * when state = 0. x, y: [B, S, C]; wT: [K, C] (the torch [C,1,K] weight transposed); bias 0 for none.
 */
export function causalConv1dF32(y: usize, x: usize, wT: usize, bias: usize, state: usize, B: i32, S: i32, C: i32, K: i32, tid: i32, nt: i32): void {
  const s = rangeStart(B * S, tid, nt, 1);
  const e = rangeEnd(B * S, tid, nt, 1);
  for (let q = s; q < e; q++) {
    const bi = q / S;
    const t = q % S;
    const py = y + ((<usize>q * <usize>C) << 2);
    let c = 0;
    if (t >= K - 1) {
      // The whole window lies in this sequence: rows q-K+1 .. q of x, no branches.
      const rowBytes = <usize>C << 2;
      const px = x + ((<usize>(q - K + 1) * <usize>C) << 2);
      for (; c + 4 <= C; c += 4) {
        const oc = <usize>c << 2;
        let acc = bias ? v128.load(bias + oc) : f32x4.splat(0);
        let pw = wT + oc, pxj = px + oc;
        for (let j = 0; j < K; j++) {
          acc = fmadd(v128.load(pw), v128.load(pxj), acc);
          pw += rowBytes; pxj += rowBytes;
        }
        v128.store(py + oc, acc);
      }
    }
    for (; c + 4 <= C; c += 4) {
      const oc = <usize>c << 2;
      let acc = bias ? v128.load(bias + oc) : f32x4.splat(0);
      for (let j = 0; j < K; j++) {
        const tt = t - K + 1 + j;
        let src: usize = 0;
        if (tt >= 0) src = x + ((<usize>(bi * S + tt) * <usize>C) << 2);
        else if (state) src = state + ((<usize>(bi * K + K + tt) * <usize>C) << 2);
        if (src) acc = fmadd(v128.load(wT + ((<usize>j * <usize>C) << 2) + oc), v128.load(src + oc), acc);
      }
      v128.store(py + oc, acc);
    }
    for (; c < C; c++) {
      const oc = <usize>c << 2;
      let acc: f32 = bias ? load<f32>(bias + oc) : 0;
      for (let j = 0; j < K; j++) {
        const tt = t - K + 1 + j;
        let src: usize = 0;
        if (tt >= 0) src = x + ((<usize>(bi * S + tt) * <usize>C) << 2);
        else if (state) src = state + ((<usize>(bi * K + K + tt) * <usize>C) << 2);
        if (src) acc += load<f32>(wT + ((<usize>j * <usize>C) << 2) + oc) * load<f32>(src + oc);
      }
      store<f32>(py + oc, acc);
    }
  }
}

/**
 * One decoding step of the causal conv: state [B, K, C] shifts by one (in place),
 * x [B, C] becomes state[:, K-1], y[b,c] = bias[c] + sum_j wT[j,c] state[b,j,c].
 */
export function causalConv1dStepF32(y: usize, x: usize, wT: usize, bias: usize, state: usize, B: i32, C: i32, K: i32, tid: i32, nt: i32): void {
  const s = rangeStart(B, tid, nt, 1);
  const e = rangeEnd(B, tid, nt, 1);
  const rowBytes = <usize>C << 2;
  const last = <usize>(K - 1) * rowBytes;
  // One pass per channel block: read each state entry once, write it one slot down, and accumulate.
  for (let bi = s; bi < e; bi++) {
    const ps = state + <usize>bi * <usize>K * rowBytes;
    const px = x + <usize>bi * rowBytes;
    const py = y + <usize>bi * rowBytes;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const oc = <usize>c << 2;
      let acc = bias ? v128.load(bias + oc) : f32x4.splat(0);
      for (let j = 0; j < K - 1; j++) {
        const v = v128.load(ps + <usize>(j + 1) * rowBytes + oc);
        v128.store(ps + <usize>j * rowBytes + oc, v);
        acc = fmadd(v128.load(wT + <usize>j * rowBytes + oc), v, acc);
      }
      const xv = v128.load(px + oc);
      v128.store(ps + last + oc, xv);
      v128.store(py + oc, fmadd(v128.load(wT + last + oc), xv, acc));
    }
    for (; c < C; c++) {
      const oc = <usize>c << 2;
      let acc: f32 = bias ? load<f32>(bias + oc) : 0;
      for (let j = 0; j < K - 1; j++) {
        const v = load<f32>(ps + <usize>(j + 1) * rowBytes + oc);
        store<f32>(ps + <usize>j * rowBytes + oc, v);
        acc += load<f32>(wT + <usize>j * rowBytes + oc) * v;
      }
      const xv = load<f32>(px + oc);
      store<f32>(ps + last + oc, xv);
      store<f32>(py + oc, acc + load<f32>(wT + last + oc) * xv);
    }
  }
}

/**
 * Row gather: out[i] = table[ids[i]] widened to f32. ids: i32 (idsI64 = 0) or i64
 * (already range-checked by the caller); table [V, E] of f32 (tableBf16 = 0) or bf16.
 */
export function embeddingF32(out: usize, table: usize, ids: usize, n: i32, E: i32, idsI64: i32, tableBf16: i32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 1);
  const e = rangeEnd(n, tid, nt, 1);
  for (let i = s; i < e; i++) {
    const id: usize = idsI64 ? <usize>load<i64>(ids + (<usize>i << 3)) : <usize>load<i32>(ids + (<usize>i << 2));
    const po = out + ((<usize>i * <usize>E) << 2);
    if (tableBf16) {
      const pt = table + ((id * <usize>E) << 1);
      for (let k = 0; k < E; k++) store<u32>(po + (<usize>k << 2), (<u32>load<u16>(pt + (<usize>k << 1))) << 16);
    } else {
      memory.copy(po, table + ((id * <usize>E) << 2), <usize>E << 2);
    }
  }
}
