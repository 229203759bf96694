// TiRex embeddings (official TiRex v1.4: TiRexZero._embed_context and
// tirex.models.embedding.TiRexEmbedding), for classification and regression on top of the
// frozen forecaster.
// - embedContext: the output of every sLSTM block (residual stream after the block's FFN,
//   before out_norm) for every token of the series' window, from the forecasting forward.
// - embedSamples: per variate the block outputs of the last ceil(L / patch) tokens, averaged,
//   L2-normalised per (variate, block), flattened (index (block*V + v)*E + e) and layer-normed
//   over the whole vector. With data augmentation: cat(embedding of the first differences,
//   embedding, batch-normalised patch statistics).
// Browser-safe (no Node imports).
import type { TiRex, TiRexContext } from './model.js';
import { ArgumentError, InputError } from '../../errors.js';

/** float32's largest finite value: the official nanmax/nanmin fill value of an all-NaN patch. */
const FLT_MAX = 3.4028234663852886e38;
const L2_EPS = 1e-12;
const LAYER_NORM_EPS = 1e-5;
const STATS_EPS = 1e-8;
/** Rows per forward pass unless batchSize says otherwise: bounds the working memory. */
const DEFAULT_BATCH_SIZE = 64;

export interface TiRexEmbedContextOptions {
  /**
   * Values of each series the model sees (default: the model's train_ctx_len). Shorter series
   * are left-padded with NaN to max(train_ctx_len, maxContext); tokens made only of that padding
   * are not returned.
   */
  maxContext?: number;
  /** Series per forward pass (default 64): bounds memory, does not change the numbers. */
  batchSize?: number;
}

/** Per-block hidden states, [B, tokens, numBlocks, E] row-major. */
export interface TiRexHiddenStates {
  data: Float32Array;
  shape: [number, number, number, number];
}

export interface TiRexEmbedOptions {
  /**
   * Official `data_augmentation`: false (default) returns the embedding [numBlocks*V*E];
   * true returns cat(embedding of the first differences, embedding, normalised patch
   * statistics [V*P*4]). The statistics are normalised over the batch, so with true a row
   * depends on the other samples of the same call (a call with one sample gets zeros there).
   */
  dataAugmentation?: boolean;
  /** Series per forward pass (default 64): bounds memory, does not change the numbers. */
  batchSize?: number;
}

/** Pooled embeddings, one row of D values per sample: data [B, D] row-major, rows are views. */
export interface TiRexEmbedding {
  data: Float32Array;
  shape: [number, number];
  rows: Float32Array[];
}

/**
 * One sample: a univariate series, or the V variates of a multivariate sample. A call takes
 * one series, a list of univariate series, or a list of multivariate samples (each a list of
 * V series; every sample the same V). Samples of different lengths are left-padded with NaN
 * to the longest, as the official forecast API batches a list.
 */
export type TiRexEmbedInput = ArrayLike<number> | ReadonlyArray<ArrayLike<number>> | ReadonlyArray<ReadonlyArray<ArrayLike<number>>>;

function isNumericView(v: unknown): v is ArrayLike<number> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}
const isSeries = (v: unknown): boolean => isNumericView(v) || (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'));
const what = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** The values as float32 (as the official code converts them), with a clear error for a bad value. */
function seriesValues(s: unknown, name: string, fn: string): Float32Array {
  if (!isSeries(s)) throw new InputError(`${fn}: ${name} must be number[] or a numeric typed array, got ${what(s)}`);
  const a = s as ArrayLike<unknown>;
  if (a.length === 0) throw new InputError(`${fn}: ${name} is empty (length 0)`);
  const out = new Float32Array(a.length);
  for (let j = 0; j < a.length; j++) {
    const v = a[j];
    if (typeof v !== 'number') throw new InputError(`${fn}: ${name}[${j}] is ${what(v)}; values must be numbers (NaN for missing)`);
    if (!Number.isNaN(v) && !Number.isFinite(Math.fround(v))) throw new InputError(`${fn}: ${name}[${j}] is ${v}; values must be finite float32 numbers or NaN (missing)`);
    out[j] = v;
  }
  return out;
}

/** Left-pads every series with NaN to the longest (the official _pad_time_series_batch). */
function padLeft(series: Float32Array[]): { data: Float32Array; L: number } {
  const L = Math.max(...series.map((s) => s.length));
  const data = new Float32Array(series.length * L).fill(NaN);
  series.forEach((s, i) => data.set(s, i * L + L - s.length));
  return { data, L };
}

function checkBatchSize(v: unknown, fn: string): number {
  if (v === undefined) return DEFAULT_BATCH_SIZE;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ArgumentError(`${fn}: batchSize must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Hidden states of rows of one length L: data [B, L] (NaN = missing). */
function hiddenOfRows(model: TiRex, data: Float32Array, B: number, L: number, maxContext: number, batchSize: number): TiRexHiddenStates {
  const cfg = model.config, P = cfg.inputPatchSize, NB = cfg.numBlocks, E = cfg.embeddingDim;
  const minContext = Math.max(cfg.trainCtxLen, maxContext);
  const n = Math.min(L, maxContext);
  const padLen = minContext - n;
  const T = Math.ceil(minContext / P);
  // tokens made only of the NaN added here carry no information about the series
  const drop = Math.floor(padLen / P);
  const tokens = T - drop;
  const per = tokens * NB * E;
  const out = new Float32Array(B * per);
  for (let b0 = 0; b0 < B; b0 += batchSize) {
    const rows: Float32Array[] = [];
    for (let b = b0; b < Math.min(B, b0 + batchSize); b++) rows.push(data.subarray(b * L + L - n, (b + 1) * L));
    const r = model.forwardTokens(rows, 1, true, undefined, minContext);
    if (r.numTokens !== T) throw new Error(`embedContext: the forward returned ${r.numTokens} tokens, expected ${T}`);
    for (let i = 0; i < rows.length; i++) out.set(r.hiddenStates.subarray((i * T + drop) * NB * E, (i + 1) * T * NB * E), (b0 + i) * per);
  }
  return { data: out, shape: [B, tokens, NB, E] };
}

/**
 * The official `TiRexZero._embed_context(context, max_context)` on one series or a list of
 * series (left-padded with NaN to the longest first, as the official batching does; the
 * padding counts as missing values of the series, not as window padding): [B, tokens,
 * numBlocks, E] with tokens = ceil(W/patch) - floor(pad/patch), W = max(train_ctx_len,
 * maxContext), pad = W - min(length, maxContext).
 */
export function embedContext(model: TiRex, series: TiRexContext, opts: TiRexEmbedContextOptions = {}): TiRexHiddenStates {
  const fn = 'TiRex.embedContext';
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${fn}: options must be an object, got ${what(opts)}`);
  const maxContext = opts.maxContext ?? model.config.trainCtxLen;
  if (typeof maxContext !== 'number' || !Number.isInteger(maxContext) || maxContext < 1) throw new ArgumentError(`${fn}: maxContext must be a positive integer, got ${JSON.stringify(opts.maxContext)}`);
  const batchSize = checkBatchSize(opts.batchSize, fn);
  let list: Float32Array[];
  if (Array.isArray(series) && series.length === 0) throw new InputError(`${fn}: context must hold at least one series, got an empty list`);
  if (isSeries(series)) list = [seriesValues(series, 'context', fn)];
  else if (Array.isArray(series)) {
    if (series.length === 0) throw new InputError(`${fn}: context must hold at least one series, got an empty list`);
    list = series.map((s, i) => seriesValues(s, `context[${i}]`, fn));
  } else throw new InputError(`${fn}: context must be a series or a list of series, got ${what(series)}`);
  const { data, L } = padLeft(list);
  return hiddenOfRows(model, data, list.length, L, maxContext, batchSize);
}

/** [B, V, L] float32 from any accepted input form (NaN-padded on the left to the longest). */
export function samplesToBatch(samples: TiRexEmbedInput, fn = 'TiRex.embed'): { data: Float32Array; B: number; V: number; L: number } {
  let grid: Float32Array[][];
  if (Array.isArray(samples) && samples.length === 0) throw new InputError(`${fn}: samples must hold at least one sample, got an empty list`);
  if (isSeries(samples)) grid = [[seriesValues(samples, 'samples', fn)]];
  else if (Array.isArray(samples)) {
    if (samples.length === 0) throw new InputError(`${fn}: samples must hold at least one sample, got an empty list`);
    if (isSeries(samples[0])) grid = samples.map((s, i) => [seriesValues(s, `samples[${i}]`, fn)]);
    else {
      grid = samples.map((s, i) => {
        if (!Array.isArray(s)) throw new InputError(`${fn}: samples[${i}] must be a list of variates (series) like samples[0], got ${what(s)}`);
        if (s.length === 0) throw new InputError(`${fn}: samples[${i}] has no variates`);
        return s.map((v, j) => seriesValues(v, `samples[${i}][${j}]`, fn));
      });
      const V = grid[0].length;
      grid.forEach((g, i) => { if (g.length !== V) throw new InputError(`${fn}: samples[${i}] has ${g.length} variates, samples[0] has ${V}; every sample needs the same number`); });
    }
  } else throw new InputError(`${fn}: samples must be a series, a list of series or a list of multivariate samples, got ${what(samples)}`);
  const B = grid.length, V = grid[0].length;
  const L = Math.max(...grid.flat().map((s) => s.length));
  const data = new Float32Array(B * V * L).fill(NaN);
  grid.forEach((g, b) => g.forEach((s, v) => data.set(s, (b * V + v) * L + L - s.length)));
  return { data, B, V, L };
}

/** process_embedding of the official code: [B, V*NB*E] layer-normed pooled block outputs of data [B, V, L]. */
function pooledEmbedding(model: TiRex, data: Float32Array, B: number, V: number, L: number, batchSize: number): Float32Array {
  const cfg = model.config, P = cfg.inputPatchSize, NB = cfg.numBlocks, E = cfg.embeddingDim;
  const D = NB * V * E;
  const out = new Float64Array(B * D);
  const nPatches = Math.ceil(L / P);
  const col = new Float32Array(B * L);
  for (let v = 0; v < V; v++) {
    for (let b = 0; b < B; b++) col.set(data.subarray((b * V + v) * L, (b * V + v + 1) * L), b * L);
    const h = hiddenOfRows(model, col, B, L, cfg.trainCtxLen, batchSize);
    const T = h.shape[1];
    // the mean runs over every kept token, those made of the batch's NaN padding included (official)
    const keep = Math.min(nPatches, T);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < NB; k++) {
        const mean = new Float64Array(E);
        for (let t = T - keep; t < T; t++) {
          const off = ((b * T + t) * NB + k) * E;
          for (let e = 0; e < E; e++) mean[e] += h.data[off + e];
        }
        let sq = 0;
        for (let e = 0; e < E; e++) { mean[e] /= keep; sq += mean[e] * mean[e]; }
        const norm = Math.max(Math.sqrt(sq), L2_EPS);
        const dst = b * D + (k * V + v) * E;
        for (let e = 0; e < E; e++) out[dst + e] = mean[e] / norm;
      }
    }
  }
  const res = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    let mu = 0;
    for (let i = 0; i < D; i++) mu += out[b * D + i];
    mu /= D;
    let va = 0;
    for (let i = 0; i < D; i++) va += (out[b * D + i] - mu) ** 2;
    const inv = 1 / Math.sqrt(va / D + LAYER_NORM_EPS);
    for (let i = 0; i < D; i++) res[b * D + i] = (out[b * D + i] - mu) * inv;
  }
  return res;
}

/**
 * Official `_generate_stats_features` on data [B, V, L]: [B, V*P*4], index (v*P + p)*4 + s with
 * s = (mean, std, max, min) over patches of max(1, L//8) values (NaN-aware, population std; an
 * all-NaN patch gives NaN, NaN, -FLT_MAX, +FLT_MAX) and, when L % (L//8) > 0, a last patch of the
 * remaining values with plain (NaN-propagating) mean, unbiased std, max, min.
 */
export function tirexStatsFeatures(data: Float32Array, B: number, V: number, L: number): { data: Float32Array; patches: number } {
  const ps = Math.max(1, Math.floor(L / 8));
  const nf = Math.floor(L / ps), nr = L % ps;
  const Pn = nf + (nr > 0 ? 1 : 0);
  const out = new Float32Array(B * V * Pn * 4);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < V; v++) {
      const x = data.subarray((b * V + v) * L, (b * V + v + 1) * L);
      for (let p = 0; p < Pn; p++) {
        const full = p < nf;
        const from = full ? p * ps : nf * ps, to = full ? from + ps : L;
        let n = 0, sum = 0, mx = -Infinity, mn = Infinity, nan = false;
        for (let i = from; i < to; i++) {
          const y = x[i];
          if (Number.isNaN(y)) { nan = true; continue; }
          n++; sum += y;
          if (y > mx) mx = y;
          if (y < mn) mn = y;
        }
        let mean: number, std: number;
        if (full) {
          mean = n > 0 ? sum / n : NaN;
          let sq = 0;
          for (let i = from; i < to; i++) if (!Number.isNaN(x[i])) sq += (x[i] - mean) ** 2;
          std = n > 0 ? Math.sqrt(sq / n) : NaN;
          if (n === 0) { mx = -FLT_MAX; mn = FLT_MAX; }
        } else {
          const m = to - from;
          mean = nan ? NaN : sum / m;
          let sq = 0;
          for (let i = from; i < to; i++) sq += (x[i] - mean) ** 2;
          std = nan || m < 2 ? NaN : Math.sqrt(sq / (m - 1));
          if (nan) { mx = NaN; mn = NaN; }
        }
        const o = ((b * V + v) * Pn + p) * 4;
        out[o] = mean; out[o + 1] = std; out[o + 2] = mx; out[o + 3] = mn;
      }
    }
  }
  return { data: out, patches: Pn };
}

/**
 * Official `_normalize_stats` on raw [B, D]: each column standardised over the batch (NaN-aware,
 * population std, NaN -> 0), then each row standardised (unbiased std). The official code runs
 * in float32, where a column holding a FLT_MAX sentinel (or values whose squared deviations
 * pass FLT_MAX) overflows and ends up all 0; that is reproduced here although float64 would not
 * overflow.
 */
export function normalizeTirexStats(raw: Float32Array, B: number, D: number): Float32Array {
  const z = new Float64Array(B * D);
  for (let c = 0; c < D; c++) {
    let n = 0, sum = 0, overflow = false;
    for (let b = 0; b < B; b++) {
      const s = raw[b * D + c];
      if (Number.isNaN(s)) continue;
      if (Math.abs(s) >= FLT_MAX) overflow = true;
      n++; sum += s;
    }
    if (n === 0 || overflow || !Number.isFinite(Math.fround(sum))) continue; // column stays 0
    const mu = sum / n;
    let sq = 0;
    for (let b = 0; b < B; b++) {
      const s = raw[b * D + c];
      if (Number.isNaN(s)) continue;
      const d2 = (s - mu) ** 2;
      if (!Number.isFinite(Math.fround(d2))) overflow = true;
      sq += d2;
    }
    if (overflow || !Number.isFinite(Math.fround(sq))) continue;
    const sd = Math.sqrt(sq / n);
    for (let b = 0; b < B; b++) {
      const s = raw[b * D + c];
      z[b * D + c] = Number.isNaN(s) ? 0 : (s - mu) / (sd + STATS_EPS);
    }
  }
  const out = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    let mu = 0;
    for (let i = 0; i < D; i++) mu += z[b * D + i];
    mu /= D;
    let va = 0;
    for (let i = 0; i < D; i++) va += (z[b * D + i] - mu) ** 2;
    const sd = D > 1 ? Math.sqrt(va / (D - 1)) : NaN;
    for (let i = 0; i < D; i++) out[b * D + i] = (z[b * D + i] - mu) / (sd + STATS_EPS);
  }
  return out;
}

/** The official TiRexEmbedding(data_augmentation)(samples): one row of D values per sample. */
export function embedSamples(model: TiRex, samples: TiRexEmbedInput, opts: TiRexEmbedOptions = {}): TiRexEmbedding {
  const fn = 'TiRex.embed';
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${fn}: options must be an object, got ${what(opts)}`);
  const aug = opts.dataAugmentation ?? false;
  if (typeof aug !== 'boolean') throw new ArgumentError(`${fn}: dataAugmentation must be true or false, got ${JSON.stringify(opts.dataAugmentation)}`);
  const batchSize = checkBatchSize(opts.batchSize, fn);
  const { data, B, V, L } = samplesToBatch(samples, fn);
  const emb = pooledEmbedding(model, data, B, V, L, batchSize);
  let out = emb, D = emb.length / B;
  if (aug) {
    if (L < 2) throw new InputError(`${fn}: dataAugmentation needs samples of at least 2 values (it embeds the first differences), the longest has ${L}`);
    // torch.diff with an empty prepend: L-1 differences, NaN propagates
    const dd = new Float32Array(B * V * (L - 1));
    for (let r = 0; r < B * V; r++) for (let i = 0; i < L - 1; i++) dd[r * (L - 1) + i] = data[r * L + i + 1] - data[r * L + i];
    const diffEmb = pooledEmbedding(model, dd, B, V, L - 1, batchSize);
    const st = tirexStatsFeatures(data, B, V, L);
    const Ds = st.data.length / B;
    const stats = normalizeTirexStats(st.data, B, Ds);
    const De = emb.length / B;
    D = 2 * De + Ds;
    out = new Float32Array(B * D);
    for (let b = 0; b < B; b++) {
      out.set(diffEmb.subarray(b * De, (b + 1) * De), b * D);
      out.set(emb.subarray(b * De, (b + 1) * De), b * D + De);
      out.set(stats.subarray(b * Ds, (b + 1) * Ds), b * D + 2 * De);
    }
  }
  const rows = Array.from({ length: B }, (_, b) => out.subarray(b * D, (b + 1) * D));
  return { data: out, shape: [B, D], rows };
}
