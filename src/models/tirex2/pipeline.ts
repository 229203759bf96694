// The data path around the TiRex-2 network, as the official code runs it (see
// shared/reference/tirex2.md "Pipeline of one call"): rows of every series (targets, possibly
// differenced, then past, then future covariates), the window of context_len + future_len
// positions, the NaN-aware scaler (arcsinh, binary-aware), tokens; and after the network the
// de-scaling, the horizon slice and the postprocessor (quantile band, re-integration).
// Plain JS arrays; values are float32 as the official tensors (inputs are rounded once).
import type { TiRex2Config } from './config.js';

/** One series after validation: rows of float32 values. */
export interface TiRex2SeriesRows {
  /** [V_t][T] */ target: Float32Array[];
  /** [V_p][T] */ past: Float32Array[];
  /** [V_f][>= T + H] (cut to T + H by prepareRows) */ future: Float32Array[];
}

/** Trend test constants of the postprocessor (code defaults, not config keys). */
export const TREND_MIN_SCORE = 1.5;
export const TREND_MIN_R2 = 0.87;
const TREND_MIN_POINTS = 4;
const TREND_MIN_STD = 1e-12;
/** Quantile band factors of the postprocessor. */
const PLAIN_BAND = Math.sqrt(0.9);
const PLAIN_EXP = 0.02;
const DIFF_BAND = Math.sqrt(1.68);
const DIFF_EXP = 0.01;
/** De-scaling clamps the arcsinh-space output to +-this before sinh. */
const SINH_CLAMP = 20;

/** Trend test of one target row (float64): score = |slope of z on position| * T, R^2 of that line. */
export function trendTest(x: ArrayLike<number>): { score: number; r2: number; differenced: boolean } {
  const pos: number[] = [], val: number[] = [];
  for (let j = 0; j < x.length; j++) if (Number.isFinite(x[j])) { pos.push(j); val.push(x[j]); }
  const n = val.length;
  if (n < TREND_MIN_POINTS) return { score: 0, r2: 0, differenced: false };
  let mean = 0;
  for (const v of val) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of val) ss += (v - mean) ** 2;
  const s = Math.sqrt(ss / (n - 1));
  if (s < TREND_MIN_STD) return { score: 0, r2: 0, differenced: false };
  const z = val.map((v) => (v - mean) / s);
  let mp = 0, mz = 0;
  for (let i = 0; i < n; i++) { mp += pos[i]; mz += z[i]; }
  mp /= n; mz /= n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) { sxy += (pos[i] - mp) * (z[i] - mz); sxx += (pos[i] - mp) ** 2; }
  const a = sxx > 0 ? sxy / sxx : 0, b = mz - a * mp;
  let res = 0, tot = 0;
  for (let i = 0; i < n; i++) { res += (z[i] - (a * pos[i] + b)) ** 2; tot += (z[i] - mz) ** 2; }
  const r2 = tot > 0 ? 1 - res / tot : 0;
  const score = Math.abs(a) * x.length;
  return { score, r2, differenced: score >= TREND_MIN_SCORE && r2 >= TREND_MIN_R2 };
}

/** The rows of one forward pass and what the postprocessor needs to undo. */
export interface TiRex2Batch {
  R: number;
  /** [R, W] the model window (float32, NaN = missing / to forecast). */
  window: Float32Array;
  /** [R] series number (1-based, as the official group_vector). */
  group: Float32Array;
  /** [R] 1 = target row */ isTarget: Uint8Array;
  /** [R] 1 = target row replaced by its first difference */ isDiff: Uint8Array;
  /** [R] last observed raw value of a differenced row (0 if none) */ last: Float64Array;
  /** [R] 1 = covariate with a value among the future positions */ known: Uint8Array;
  /** row range of each series' targets: [first, count] */
  targetRows: [number, number][];
  /** [R, T_max + H] the official transform_input output (for inspection / tests). */
  batchX: Float32Array;
  batchXWidth: number;
}

/**
 * Rows, window and masks of a batch of series for horizon H (H <= future_len). Future
 * covariates are cut to T + H values (the caller checked they have that many).
 */
export function prepareRows(cfg: TiRex2Config, series: readonly TiRex2SeriesRows[], H: number, ttaDiff: boolean): TiRex2Batch {
  const W = cfg.windowLength, F = cfg.futureLength;
  const Tmax = Math.max(...series.map((s) => s.target[0].length));
  const bw = Tmax + H;
  const rows: { data: Float32Array; T: number; future: boolean }[] = [];
  const group: number[] = [], isTarget: number[] = [], isDiff: number[] = [], last: number[] = [];
  const targetRows: [number, number][] = [];
  series.forEach((s, si) => {
    const T = s.target[0].length;
    targetRows.push([rows.length, s.target.length]);
    for (const x of s.target) {
      const diff = ttaDiff && trendTest(x).differenced;
      let data = x;
      let lastObs = 0;
      if (diff) {
        data = new Float32Array(T);
        for (let j = 1; j < T; j++) data[j] = x[j] - x[j - 1];
        for (let j = T - 1; j >= 0; j--) if (!Number.isNaN(x[j])) { lastObs = x[j]; break; }
      }
      rows.push({ data, T, future: false });
      group.push(si + 1); isTarget.push(1); isDiff.push(diff ? 1 : 0); last.push(lastObs);
    }
    for (const x of s.past) { rows.push({ data: x, T, future: false }); group.push(si + 1); isTarget.push(0); isDiff.push(0); last.push(0); }
    for (const x of s.future) { rows.push({ data: x.subarray(0, T + H), T, future: true }); group.push(si + 1); isTarget.push(0); isDiff.push(0); last.push(0); }
  });
  const R = rows.length;
  const batchX = new Float32Array(R * bw).fill(NaN);
  rows.forEach((r, i) => batchX.set(r.data, i * bw + Tmax - r.T));
  // window: F - H more NaN on the right, then the last W positions (NaN on the left if short)
  const ext = bw + F - H;
  const window = new Float32Array(R * W).fill(NaN);
  const known = new Uint8Array(R);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < Math.min(W, ext); j++) {
      const src = ext - 1 - j; // counted from the right end
      window[i * W + W - 1 - j] = src < bw ? batchX[i * bw + src] : NaN;
    }
    if (!isTarget[i]) for (let j = W - F; j < W; j++) if (!Number.isNaN(window[i * W + j])) { known[i] = 1; break; }
  }
  return {
    R, window, group: Float32Array.from(group), isTarget: Uint8Array.from(isTarget), isDiff: Uint8Array.from(isDiff),
    last: Float64Array.from(last), known, targetRows, batchX, batchXWidth: bw,
  };
}

export interface TiRex2Scaled {
  /** [R] */ loc: Float32Array;
  /** [R] */ scale: Float32Array;
  /** [R] 1 = binary row (loc 0, scale 1, no arcsinh) */ isBinary: Uint8Array;
  /** [R, W] scaled values, NaN kept */ scaled: Float32Array;
}

/**
 * NaN-aware per-row scaler over all W positions (future covariate values included), in
 * float64 with float32 results. Official: float32 nanmean / nanstd; the float64 sums differ
 * from them by float32 rounding only, except for a constant row, where scale = eps (1e-8)
 * amplifies any rounding residue of the mean: here an exact mean gives exactly 0.
 */
export function scaleRows(cfg: TiRex2Config, window: Float32Array, R: number): TiRex2Scaled {
  const W = cfg.windowLength;
  const loc = new Float32Array(R), scale = new Float32Array(R), isBinary = new Uint8Array(R), scaled = new Float32Array(R * W);
  for (let i = 0; i < R; i++) {
    const x = window.subarray(i * W, (i + 1) * W);
    let n = 0, sum = 0, binary = true;
    for (let j = 0; j < W; j++) {
      const v = x[j];
      if (Number.isNaN(v)) continue;
      n++; sum += v;
      if (v !== 0 && v !== 1) binary = false;
    }
    let l = 0, s = 1;
    const bin = cfg.binaryAware && binary;
    if (!bin && n > 0) {
      l = Math.fround(sum / n);
      let ss = 0;
      for (let j = 0; j < W; j++) if (!Number.isNaN(x[j])) ss += (x[j] - l) ** 2;
      s = Math.max(Math.fround(Math.sqrt(ss / n)), cfg.scalerEps);
    }
    loc[i] = l; scale[i] = s; isBinary[i] = bin ? 1 : 0;
    const squash = cfg.useArcsinh && !bin;
    for (let j = 0; j < W; j++) {
      const z = Math.fround((x[j] - l) / s);
      scaled[i * W + j] = squash ? Math.asinh(z) : z;
    }
  }
  return { loc, scale, isBinary, scaled };
}

/** [R, L, 2P] network input: per patch the values (NaN -> 0), then the observed mask. */
export function tokenize(cfg: TiRex2Config, scaled: Float32Array, R: number): Float32Array {
  const P = cfg.patchSize, L = cfg.numTokens;
  const out = new Float32Array(R * L * 2 * P);
  for (let r = 0; r < R; r++) {
    for (let l = 0; l < L; l++) {
      const o = (r * L + l) * 2 * P, s = (r * L + l) * P;
      for (let p = 0; p < P; p++) {
        const v = scaled[s + p];
        const obs = !Number.isNaN(v);
        out[o + p] = obs ? v : 0;
        out[o + P + p] = obs ? 1 : 0;
      }
    }
  }
  return out;
}

/**
 * head output [R, L, Q*P] (scaled space, index q*P + p) -> de-scaled [R, Q, L*P]
 * (sinh of the clamped value for squashed rows, then * scale + loc).
 */
export function descale(cfg: TiRex2Config, head: ArrayLike<number>, sc: TiRex2Scaled, R: number): Float32Array {
  const P = cfg.patchSize, L = cfg.numTokens, Q = cfg.quantiles.length;
  const out = new Float32Array(R * Q * L * P);
  for (let r = 0; r < R; r++) {
    const squash = cfg.useArcsinh && !sc.isBinary[r];
    const l0 = sc.loc[r], s0 = sc.scale[r];
    for (let l = 0; l < L; l++) {
      for (let q = 0; q < Q; q++) {
        for (let p = 0; p < P; p++) {
          let y = Math.fround(head[(r * L + l) * Q * P + q * P + p]);
          if (squash) y = Math.fround(Math.sinh(Math.min(SINH_CLAMP, Math.max(-SINH_CLAMP, y))));
          out[(r * Q + q) * L * P + l * P + p] = Math.fround(Math.fround(y * s0) + l0);
        }
      }
    }
  }
  return out;
}

/** [R, Q, L*P] -> [R, Q, H]: token j forecasts patch j + 1, so the future starts F + P before the end. */
export function horizonSlice(cfg: TiRex2Config, fwd: Float32Array, R: number, H: number): Float32Array {
  const Q = cfg.quantiles.length, LP = cfg.numTokens * cfg.patchSize;
  const start = LP - cfg.patchSize - cfg.futureLength;
  const out = new Float32Array(R * Q * H);
  for (let rq = 0; rq < R * Q; rq++) out.set(fwd.subarray(rq * LP + start, rq * LP + start + H), rq * H);
  return out;
}

/**
 * The postprocessor on one target row's raw forecast pred [Q, H] (float64 math): the
 * quantile band widened with the horizon, and for a differenced row the re-integration
 * (cumulative median plus a band growing like sqrt of the summed squared spreads) from `last`.
 */
export function postprocessRow(pred: ArrayLike<number>, Q: number, H: number, medianIndex: number, differenced: boolean, last: number): Float32Array {
  const out = new Float32Array(Q * H);
  const med = (t: number) => pred[medianIndex * H + t];
  if (!differenced) {
    for (let q = 0; q < Q; q++) for (let t = 0; t < H; t++) out[q * H + t] = med(t) + PLAIN_BAND * (t + 1) ** PLAIN_EXP * (pred[q * H + t] - med(t));
    return out;
  }
  const cumMed = new Float64Array(H);
  let c = 0;
  for (let t = 0; t < H; t++) { c += med(t); cumMed[t] = c; }
  for (let q = 0; q < Q; q++) {
    let total = 0;
    for (let t = 0; t < H; t++) total += pred[q * H + t] - med(t);
    const sign = q === medianIndex ? 0 : Math.sign(total);
    let sq = 0;
    for (let t = 0; t < H; t++) {
      const d = pred[q * H + t] - med(t);
      sq += d * d;
      out[q * H + t] = cumMed[t] + DIFF_BAND * sign * Math.sqrt(sq) * (t + 1) ** DIFF_EXP + last;
    }
  }
  return out;
}

/** Index of level 1 - q for each level (sign-flip TTA); null when the set is not symmetric. */
export function complementLevels(levels: readonly number[]): number[] | null {
  const out: number[] = [];
  for (const q of levels) {
    const j = levels.findIndex((v) => Math.abs(v - (1 - q)) < 1e-6);
    if (j < 0) return null;
    out.push(j);
  }
  return out;
}
