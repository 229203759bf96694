// Backward kernels of the common tensor ops (float32 forms of src/backend/ref/opsBackward.ts):
// activations, softmax / log-softmax, fused cross-entropy, LayerNorm / RMSNorm / group norm,
// causal depthwise conv1d and the embedding scatter-add. Each WRITES its outputs (the tape
// accumulates); weight gradients that sum over rows go to per-thread partials (the caller
// adds them up) or to a thread's own columns, so threads never write the same element.
import { rangeStart, rangeEnd } from './simd';
import { erf64 } from './mathf';
import { bwAt } from './backwardUtil';
import { gateSplat as bwSplat, gateExpV as bwExpV, gateSigmoidV as bwSigmoidV } from './gateMath';

const INV_SQRT_2PI: f64 = 0.3989422804014327;
const TWO_OVER_SQRT_PI: f64 = 1.1283791670955126;

/**
 * dx = dy * f'(x) given x and y = f(x). fn: 0 exp, 1 log, 2 sigmoid, 3 logsigmoid, 4 tanh,
 * 5 silu, 6 gelu (exact erf form), 7 softplus, 8 relu, 9 erf.
 */
export function activationBackwardF32(dx: usize, x: usize, y: usize, dy: usize, n: i32, fn: i32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 16);
  const e = rangeEnd(n, tid, nt, 16);
  let i = s;
  const one = bwSplat(1), zero = bwSplat(0);
  if (fn != 6 && fn != 9) {
    for (; i + 4 <= e; i += 4) {
      const g = v128.load(bwAt(dy, i));
      const xv = v128.load(bwAt(x, i)), yv = v128.load(bwAt(y, i));
      let d: v128;
      if (fn == 0) d = yv;
      else if (fn == 1) d = f32x4.div(one, xv);
      else if (fn == 2) d = f32x4.mul(yv, f32x4.sub(one, yv));
      else if (fn == 3) d = bwSigmoidV(f32x4.neg(xv));
      else if (fn == 4) d = f32x4.sub(one, f32x4.mul(yv, yv));
      else if (fn == 5) { const sg = bwSigmoidV(xv); d = f32x4.mul(sg, f32x4.add(one, f32x4.mul(xv, f32x4.sub(one, sg)))); }
      else if (fn == 7) d = bwSigmoidV(xv);
      else d = v128.bitselect(one, zero, f32x4.gt(xv, zero));
      v128.store(bwAt(dx, i), f32x4.mul(g, d));
    }
  }
  for (; i < e; i++) {
    const xv = <f64>load<f32>(bwAt(x, i)), yv = <f64>load<f32>(bwAt(y, i));
    let d: f64;
    if (fn == 0) d = yv;
    else if (fn == 1) d = 1 / xv;
    else if (fn == 2) d = yv * (1 - yv);
    else if (fn == 3) d = 1 / (1 + Math.exp(xv));
    else if (fn == 4) d = 1 - yv * yv;
    else if (fn == 5) { const sg = 1 / (1 + Math.exp(-xv)); d = sg * (1 + xv * (1 - sg)); }
    else if (fn == 6) d = 0.5 * (1 + erf64(xv * 0.7071067811865476)) + xv * INV_SQRT_2PI * Math.exp(-0.5 * xv * xv);
    else if (fn == 7) d = 1 / (1 + Math.exp(-xv));
    else if (fn == 8) d = xv > 0 ? 1 : 0;
    else d = TWO_OVER_SQRT_PI * Math.exp(-xv * xv);
    store<f32>(bwAt(dx, i), <f32>(<f64>load<f32>(bwAt(dy, i)) * d));
  }
}

// @ts-ignore: decorator
@inline function sum4(a: v128): f64 {
  return <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) + <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
}

/** Rows of n: log = 0: dx = y (dy - sum(dy y)); log = 1: dx = dy - exp(y) sum(dy). */
export function softmaxBackwardF32(dx: usize, y: usize, dy: usize, rows: i32, n: i32, log: i32, tid: i32, nt: i32): void {
  const r0 = rangeStart(rows, tid, nt, 1);
  const r1 = rangeEnd(rows, tid, nt, 1);
  for (let r = r0; r < r1; r++) {
    const o = <usize>r * <usize>n;
    const yr = y + (o << 2), gr = dy + (o << 2), xr = dx + (o << 2);
    let acc = f32x4.splat(0);
    let i = 0;
    if (log) for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, v128.load(bwAt(gr, i)));
    else for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(bwAt(gr, i)), v128.load(bwAt(yr, i))));
    let s = sum4(acc);
    for (; i < n; i++) s += log ? <f64>load<f32>(bwAt(gr, i)) : <f64>load<f32>(bwAt(gr, i)) * <f64>load<f32>(bwAt(yr, i));
    const sv = f32x4.splat(<f32>s), sf = <f32>s;
    i = 0;
    if (log) {
      for (; i + 4 <= n; i += 4) v128.store(bwAt(xr, i), f32x4.sub(v128.load(bwAt(gr, i)), f32x4.mul(bwExpV(v128.load(bwAt(yr, i))), sv)));
      for (; i < n; i++) store<f32>(bwAt(xr, i), load<f32>(bwAt(gr, i)) - Mathf.exp(load<f32>(bwAt(yr, i))) * sf);
    } else {
      for (; i + 4 <= n; i += 4) { const yv = v128.load(bwAt(yr, i)); v128.store(bwAt(xr, i), f32x4.mul(yv, f32x4.sub(v128.load(bwAt(gr, i)), sv))); }
      for (; i < n; i++) store<f32>(bwAt(xr, i), load<f32>(bwAt(yr, i)) * (load<f32>(bwAt(gr, i)) - sf));
    }
  }
}

/**
 * Cross-entropy rows of logits [rows, V] against i32 targets: rowLoss[r] = lse - logit[target]
 * (0 for ignored rows), rowLse[r] = logsumexp of the row. When dlogits != 0 also
 * dlogits[r] = scale * (softmax - onehot) (0 rows for ignored targets); haveLse = 1 takes
 * rowLse from an earlier call instead of recomputing it (one pass over the logits less).
 */
export function crossEntropyF32(dlogits: usize, rowLoss: usize, rowLse: usize, logits: usize, targets: usize, rows: i32, V: i32, ignore: i32, scale: f32,
  haveLse: i32, tid: i32, nt: i32): void {
  const r0 = rangeStart(rows, tid, nt, 1);
  const r1 = rangeEnd(rows, tid, nt, 1);
  for (let r = r0; r < r1; r++) {
    const o = <usize>r * <usize>V;
    const lr = logits + (o << 2), dr = dlogits + (o << 2);
    const t = load<i32>(bwAt(targets, r));
    if (t == ignore) {
      store<f32>(bwAt(rowLoss, r), 0);
      if (dlogits != 0) memory.fill(dr, 0, <usize>V << 2);
      continue;
    }
    let lse: f64;
    let i = 0;
    if (haveLse) lse = <f64>load<f32>(bwAt(rowLse, r));
    else {
      let mv = f32x4.splat(-Infinity);
      for (; i + 4 <= V; i += 4) mv = f32x4.max(mv, v128.load(bwAt(lr, i)));
      let m = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
      for (; i < V; i++) m = max<f32>(m, load<f32>(bwAt(lr, i)));
      const mvs = f32x4.splat(m);
      let acc = f32x4.splat(0);
      i = 0;
      for (; i + 4 <= V; i += 4) acc = f32x4.add(acc, bwExpV(f32x4.sub(v128.load(bwAt(lr, i)), mvs)));
      let s = sum4(acc);
      for (; i < V; i++) s += Math.exp(<f64>(load<f32>(bwAt(lr, i)) - m));
      lse = <f64>m + Math.log(s);
      store<f32>(bwAt(rowLse, r), <f32>lse);
    }
    store<f32>(bwAt(rowLoss, r), <f32>(lse - <f64>load<f32>(bwAt(lr, t))));
    if (dlogits == 0) continue;
    const lv = f32x4.splat(<f32>lse), sc = f32x4.splat(scale);
    i = 0;
    for (; i + 4 <= V; i += 4) v128.store(bwAt(dr, i), f32x4.mul(sc, bwExpV(f32x4.sub(v128.load(bwAt(lr, i)), lv))));
    for (; i < V; i++) store<f32>(bwAt(dr, i), scale * Mathf.exp(load<f32>(bwAt(lr, i)) - <f32>lse));
    store<f32>(bwAt(dr, t), load<f32>(bwAt(dr, t)) - scale);
  }
}

/**
 * Norm backward over q = rows*G groups of DG (group g = q % G; LayerNorm G = 1; rms: no mean).
 * dx [rows*G*DG] written when dx != 0; dw/db partials per thread at dwp/dbp + tid*G*DG (when
 * non-zero, zeroed here). w: weight [G*DG] or 0, scaled as (woff + w).
 */
export function normBackwardF32(dx: usize, dwp: usize, dbp: usize, x: usize, dy: usize, w: usize,
  rows: i32, G: i32, DG: i32, eps: f32, woff: f32, rms: i32, tid: i32, nt: i32): void {
  const D = G * DG;
  const dwt = dwp != 0 ? dwp + (<usize>(tid * D) << 2) : 0;
  const dbt = dbp != 0 ? dbp + (<usize>(tid * D) << 2) : 0;
  if (dwt != 0) memory.fill(dwt, 0, <usize>D << 2);
  if (dbt != 0) memory.fill(dbt, 0, <usize>D << 2);
  const s = rangeStart(rows * G, tid, nt, 1);
  const e = rangeEnd(rows * G, tid, nt, 1);
  for (let q = s; q < e; q++) {
    const g = q % G;
    const px = x + ((<usize>q * <usize>DG) << 2), pg = dy + ((<usize>q * <usize>DG) << 2);
    let mean: f64 = 0;
    if (!rms) { for (let i = 0; i < DG; i++) mean += <f64>load<f32>(bwAt(px, i)); mean /= <f64>DG; }
    let v: f64 = 0;
    for (let i = 0; i < DG; i++) { const d = <f64>load<f32>(bwAt(px, i)) - mean; v += d * d; }
    const rstd = 1.0 / Math.sqrt(v / <f64>DG + <f64>eps);
    const mf = <f32>mean, rf = <f32>rstd;
    const mv = f32x4.splat(mf), rv = f32x4.splat(rf), ov = f32x4.splat(woff);
    const pw = w + ((<usize>g * <usize>DG) << 2);
    const pdw = dwt + ((<usize>g * <usize>DG) << 2), pdb = dbt + ((<usize>g * <usize>DG) << 2);
    let sgv = f32x4.splat(0), sgxv = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= DG; i += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(bwAt(px, i)), mv), rv);
      const gy = v128.load(bwAt(pg, i));
      if (dwt != 0) v128.store(bwAt(pdw, i), f32x4.add(v128.load(bwAt(pdw, i)), f32x4.mul(gy, xh)));
      if (dbt != 0) v128.store(bwAt(pdb, i), f32x4.add(v128.load(bwAt(pdb, i)), gy));
      const gg = w != 0 ? f32x4.mul(gy, f32x4.add(ov, v128.load(bwAt(pw, i)))) : gy;
      sgv = f32x4.add(sgv, gg); sgxv = f32x4.add(sgxv, f32x4.mul(gg, xh));
    }
    let sg = sum4(sgv), sgx = sum4(sgxv);
    for (; i < DG; i++) {
      const xh = (load<f32>(bwAt(px, i)) - mf) * rf;
      const gy = load<f32>(bwAt(pg, i));
      if (dwt != 0) store<f32>(bwAt(pdw, i), load<f32>(bwAt(pdw, i)) + gy * xh);
      if (dbt != 0) store<f32>(bwAt(pdb, i), load<f32>(bwAt(pdb, i)) + gy);
      const gg = w != 0 ? gy * (woff + load<f32>(bwAt(pw, i))) : gy;
      sg += <f64>gg; sgx += <f64>(gg * xh);
    }
    if (dx == 0) continue;
    // dx = rstd * (g - mean(g) - xh * mean(g xh))
    const mg = <f32>(rms ? 0 : sg / <f64>DG), mgx = <f32>(sgx / <f64>DG);
    const mgv = f32x4.splat(mg), mgxv = f32x4.splat(mgx);
    const pdx = dx + ((<usize>q * <usize>DG) << 2);
    i = 0;
    for (; i + 4 <= DG; i += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(bwAt(px, i)), mv), rv);
      const gy = v128.load(bwAt(pg, i));
      const gg = w != 0 ? f32x4.mul(gy, f32x4.add(ov, v128.load(bwAt(pw, i)))) : gy;
      v128.store(bwAt(pdx, i), f32x4.mul(rv, f32x4.sub(f32x4.sub(gg, mgv), f32x4.mul(xh, mgxv))));
    }
    for (; i < DG; i++) {
      const xh = (load<f32>(bwAt(px, i)) - mf) * rf;
      const gy = load<f32>(bwAt(pg, i));
      const gg = w != 0 ? gy * (woff + load<f32>(bwAt(pw, i))) : gy;
      store<f32>(bwAt(pdx, i), rf * (gg - mg - xh * mgx));
    }
  }
}

/**
 * Causal depthwise conv1d backward (no state): x, dy [B,S,C], wT [K,C]. Threads own channel
 * ranges, so dx [B,S,C] (zeroed here), dwT [K,C] and db [C] (each written when non-zero) need
 * no reduction.
 */
export function causalConv1dBackwardF32(dx: usize, dwT: usize, db: usize, x: usize, wT: usize, dy: usize,
  B: i32, S: i32, C: i32, K: i32, tid: i32, nt: i32): void {
  const c0 = rangeStart(C, tid, nt, 4);
  const c1 = rangeEnd(C, tid, nt, 4);
  if (c0 >= c1) return;
  const w = <usize>(c1 - c0) << 2;
  for (let j = 0; j < K; j++) if (dwT != 0) memory.fill(dwT + (<usize>(j * C + c0) << 2), 0, w);
  if (db != 0) memory.fill(db + (<usize>c0 << 2), 0, w);
  if (dx != 0) for (let r = 0; r < B * S; r++) memory.fill(dx + (<usize>(r * C + c0) << 2), 0, w);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < S; t++) {
      const gr = dy + (<usize>((b * S + t) * C) << 2);
      let c = c0;
      for (; c + 4 <= c1; c += 4) {
        const g = v128.load(bwAt(gr, c));
        if (db != 0) v128.store(bwAt(db, c), f32x4.add(v128.load(bwAt(db, c)), g));
        for (let j = 0; j < K; j++) {
          const tt = t - K + 1 + j;
          if (tt < 0) continue;
          const xo = (b * S + tt) * C + c;
          if (dwT != 0) v128.store(bwAt(dwT, j * C + c), f32x4.add(v128.load(bwAt(dwT, j * C + c)), f32x4.mul(g, v128.load(bwAt(x, xo)))));
          if (dx != 0) v128.store(bwAt(dx, xo), f32x4.add(v128.load(bwAt(dx, xo)), f32x4.mul(g, v128.load(bwAt(wT, j * C + c)))));
        }
      }
      for (; c < c1; c++) {
        const g = load<f32>(bwAt(gr, c));
        if (db != 0) store<f32>(bwAt(db, c), load<f32>(bwAt(db, c)) + g);
        for (let j = 0; j < K; j++) {
          const tt = t - K + 1 + j;
          if (tt < 0) continue;
          const xo = (b * S + tt) * C + c;
          if (dwT != 0) store<f32>(bwAt(dwT, j * C + c), load<f32>(bwAt(dwT, j * C + c)) + g * load<f32>(bwAt(x, xo)));
          if (dx != 0) store<f32>(bwAt(dx, xo), load<f32>(bwAt(dx, xo)) + g * load<f32>(bwAt(wT, j * C + c)));
        }
      }
    }
  }
}

/** dTable [V, E] (zeroed by the caller) += dy[i] at row ids[i] (i32); threads own column ranges. */
export function embeddingBackwardF32(dTable: usize, ids: usize, dy: usize, n: i32, E: i32, tid: i32, nt: i32): void {
  const c0 = rangeStart(E, tid, nt, 4);
  const c1 = rangeEnd(E, tid, nt, 4);
  for (let i = 0; i < n; i++) {
    const row = dTable + (<usize>load<i32>(bwAt(ids, i)) * <usize>E << 2);
    const gr = dy + (<usize>i * <usize>E << 2);
    let c = c0;
    for (; c + 4 <= c1; c += 4) v128.store(bwAt(row, c), f32x4.add(v128.load(bwAt(row, c)), v128.load(bwAt(gr, c))));
    for (; c < c1; c++) store<f32>(bwAt(row, c), load<f32>(bwAt(row, c)) + load<f32>(bwAt(gr, c)));
  }
}
