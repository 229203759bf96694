// TiRex-2 (NX-AI/tirex-2) zero-shot forecaster with past and future-known covariates: the
// official ForecastModel.forecast path. Each series is any number of target variates plus
// past covariates (known up to now) and future covariates (known also over the horizon);
// every variate is one row, the rows of a series mix through attention at each patch, and
// the whole horizon (up to future_len) comes from ONE forward pass. Network: network.ts (on
// the autograd tape); data path and postprocessor: pipeline.ts.
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { HubOptions } from '../../hub/options.js';
import { IN_PAGE } from '../../hub/host.js';
import { trackHeap } from '../../backend/wasm/heapScope.js';
import { Tape, Var } from '../../autograd/tape.js';
import { ArgumentError, ConfigError } from '../../errors.js';
import { interpolateQuantiles } from '../tirex/model.js';
import { TiRex2Config, resolveTiRex2Config } from './config.js';
import { LoadTiRex2CheckpointOptions, loadTiRex2Checkpoint, loadTiRex2Weights, tirex2TensorMapSource } from './weights.js';
import { tirex2Network, TiRex2Hook } from './network.js';
import {
  TiRex2Batch, TiRex2Scaled, TiRex2SeriesRows, complementLevels, descale, horizonSlice, postprocessRow, prepareRows, scaleRows, tokenize,
} from './pipeline.js';

export interface TiRex2Options {
  backend: WasmBackend;
}

export interface TiRex2FromPretrainedOptions extends TiRex2Options, LoadTiRex2CheckpointOptions {
  /** Hub settings when the source is a model id like 'NX-AI/TiRex-2' (revision, token, cache, onProgress). */
  hub?: HubOptions;
}

/** Values of one or more variates: one row (number[]) or rows (number[][]); NaN = missing. */
export type TiRex2Values = ArrayLike<number> | readonly ArrayLike<number>[];

/** One series: target variates [V_t][T], past covariates [V_p][T], future covariates [V_f][>= T + H]. */
export interface TiRex2Series {
  target: TiRex2Values;
  pastCovariates?: TiRex2Values;
  futureCovariates?: TiRex2Values;
}

export interface TiRex2ForecastOptions {
  /** H >= 1. Above the model's future_len it is capped there, with a warning (one forward pass covers at most future_len). */
  predictionLength: number;
  /** Levels in (0, 1), in this order (default: the trained ones). Trained levels are the model's outputs; others are interpolated. */
  quantileLevels?: readonly number[];
  /** Series per forward pass (default 64): bounds the working memory. */
  batchSize?: number;
  /** Difference trending targets and re-integrate (default: the checkpoint's tta_diff, true). */
  ttaDiff?: boolean;
  /** Average with the forecast of the negated inputs (default: the checkpoint's tta_sign_flip, false). */
  ttaSignFlip?: boolean;
  /** Receives warnings (default console.warn); they are also listed in the result. */
  onWarning?: (message: string) => void;
}

/** A series that could not be forecast (its values are NaN). */
export interface TiRex2SeriesError { series: number; message: string }

export interface TiRex2SeriesForecast {
  /** [V_t, Q, H] row-major: target variate, quantile level (quantileLevels order), step. */
  quantiles: Float32Array;
  /** [V_t, H] the 0.5 level (or the middle trained level). */
  median: Float32Array;
  shape: [number, number, number];
}

export interface TiRex2Forecast {
  quantileLevels: readonly number[];
  /** The horizon returned (predictionLength capped at future_len). */
  predictionLength: number;
  /** One per input series, in input order (NaN where `errors` names the series). */
  series: TiRex2SeriesForecast[];
  errors: TiRex2SeriesError[];
  warnings: string[];
}

/** Everything one forward pass computed (inspection and the golden tests). */
export interface TiRex2PassDetails {
  batch: TiRex2Batch;
  scaled: TiRex2Scaled;
  /** [R, L, 2P] */ tokens: Float32Array;
  /** [R, L, Q*P] */ head: Float32Array;
  /** [R, Q, L*P] de-scaled */ forward: Float32Array;
  /** [R, Q, H] before the postprocessor */ raw: Float32Array;
  /** intermediates by name (when asked for) */ intermediates: Map<string, { shape: number[]; data: Float32Array }>;
}

export class TiRex2 {
  readonly config: TiRex2Config;
  readonly backend: WasmBackend;
  /** Canonical name -> weight on the wasm heap (uploaded once). */
  private readonly params: Map<string, Tensor>;

  constructor(config: TiRex2Config, weights: ReadonlyMap<string, Tensor>, opts: TiRex2Options) {
    if (!opts || !opts.backend) throw new ArgumentError('TiRex2: options.backend (a WasmBackend) is required');
    this.config = config;
    this.backend = opts.backend;
    this.params = new Map([...weights].map(([k, v]) => [k, opts.backend.upload(v)]));
  }

  /** config.json + model.safetensors (or the legacy model-config.yaml + model.ckpt): a folder, a weights file, or a hub id like 'NX-AI/TiRex-2[@rev]'. */
  static async fromPretrained(pathOrDir: string, opts: TiRex2FromPretrainedOptions): Promise<TiRex2> {
    if (!opts || !opts.backend) throw new ArgumentError('TiRex2.fromPretrained: options.backend (a WasmBackend) is required');
    if (IN_PAGE) {
      const { fetchHubSource } = await import('../../hub/pageLoaders.js');
      const snap = await fetchHubSource(pathOrDir, 'tirex2', opts.hub, 'TiRex2.fromPretrained');
      if (!snap.files.includes('config.json') || !snap.files.includes('model.safetensors')) {
        throw new ArgumentError(`TiRex2.fromPretrained: ${pathOrDir} has only the legacy model-config.yaml / model.ckpt, which the browser loader does not read; use a repository with config.json + model.safetensors`);
      }
      const cfgRaw = JSON.parse(new TextDecoder().decode(await snap.read('config.json')));
      const { parseSafetensors } = await import('../../io/safetensors.js');
      const sf = parseSafetensors(await snap.read('model.safetensors'), { source: `${pathOrDir}/model.safetensors` });
      const tensors = new Map(sf.names().map((n) => [n, sf.read(n)]));
      return TiRex2.fromTensors(cfgRaw, tensors, opts);
    }
    const src = await (await import('../../hub/resolve.js')).resolveModelSource(pathOrDir, 'tirex2', opts.hub);
    const { config, weights } = await loadTiRex2Checkpoint(src, opts);
    return new TiRex2(config, weights, opts);
  }

  /** From a config object (config.json contents) and in-memory tensors (official names; aliases allowed). */
  static async fromTensors(config: unknown, tensors: ReadonlyMap<string, Tensor>, opts: TiRex2Options): Promise<TiRex2> {
    if (!opts || !opts.backend) throw new ArgumentError('TiRex2.fromTensors: options.backend (a WasmBackend) is required');
    const cfg = resolveTiRex2Config(config, 'config');
    return new TiRex2(cfg, await loadTiRex2Weights(cfg, tirex2TensorMapSource(tensors)), opts);
  }

  /** Frees the weights on the wasm heap; the model cannot be used afterwards. */
  dispose(): void { for (const t of this.params.values()) t.dispose(); this.params.clear(); }

  /**
   * One forward pass over validated series at horizon H <= future_len, with the inputs
   * negated when `negate` (sign-flip TTA). `keep` names intermediates to copy out.
   */
  runPass(series: readonly TiRex2SeriesRows[], H: number, ttaDiff: boolean, keep?: ReadonlySet<string> | 'all'): TiRex2PassDetails {
    const cfg = this.config, be = this.backend;
    const batch = prepareRows(cfg, series, H, ttaDiff);
    const R = batch.R, L = cfg.numTokens, P = cfg.patchSize;
    const scaled = scaleRows(cfg, batch.window, R);
    const tokens = tokenize(cfg, scaled.scaled, R);
    const intermediates = new Map<string, { shape: number[]; data: Float32Array }>();
    const hook: TiRex2Hook | undefined = keep ? (name, v) => {
      if (keep === 'all' || keep.has(name)) intermediates.set(name, { shape: [...v.shape], data: Float32Array.from(v.data) });
    } : undefined;
    let head: Float32Array;
    let scope = trackHeap(be);
    // a forward-only pass frees each block's heap tensors once its output is copied out, so the
    // heap holds one block's intermediates at a time
    const betweenBlocks = (v: Var): Var => {
      const data = Float32Array.from(v.data);
      scope.release();
      scope = trackHeap(be);
      return t.input(new Tensor('f32', v.shape, data));
    };
    const t = new Tape(be, 'f32');
    try {
      const vars = new Map<string, Var>();
      const p = (name: string): Var => {
        let v = vars.get(name);
        if (!v) {
          const w = this.params.get(name);
          if (!w) throw new Error(`TiRex2: no weight '${name}' (model disposed?)`);
          v = t.input(w, false, name);
          vars.set(name, v);
        }
        return v;
      };
      const x = t.input(new Tensor('f32', [R, L, 2 * P], tokens));
      const out = tirex2Network(t, cfg, p, x, { group: batch.group, isTarget: batch.isTarget, known: batch.known }, hook, { betweenBlocks });
      head = Float32Array.from(out.data);
    } finally { scope.release(); }
    const forward = descale(cfg, head, scaled, R);
    const raw = horizonSlice(cfg, forward, R, H);
    return { batch, scaled, tokens, head, forward, raw, intermediates };
  }

  /** Forecasts [V_t, Q, H] (trained levels, after the postprocessor) of validated series. */
  private predict(series: readonly TiRex2SeriesRows[], H: number, ttaDiff: boolean): Float32Array[] {
    const { batch, raw } = this.runPass(series, H, ttaDiff);
    const Q = this.config.quantiles.length, mi = this.config.medianIndex;
    return batch.targetRows.map(([first, count]) => {
      const out = new Float32Array(count * Q * H);
      for (let v = 0; v < count; v++) {
        const r = first + v;
        out.set(postprocessRow(raw.subarray(r * Q * H, (r + 1) * Q * H), Q, H, mi, !!batch.isDiff[r], batch.last[r]), v * Q * H);
      }
      return out;
    });
  }

  /**
   * Quantile forecasts of several series, each with its own targets and covariates (official
   * ForecastModel.forecast). A series that cannot be forecast (bad values or lengths) does not
   * stop the others: its values are NaN and `errors` names it. Bad calls throw ArgumentError.
   */
  forecast(series: readonly TiRex2Series[], opts: TiRex2ForecastOptions): TiRex2Forecast {
    const cfg = this.config;
    if (!Array.isArray(series)) throw new ArgumentError(`TiRex2.forecast: series must be a list of {target, pastCovariates?, futureCovariates?}, got ${series === null ? 'null' : typeof series}`);
    if (series.length === 0) throw new ArgumentError('TiRex2.forecast: series is empty; give at least one series');
    if (!opts || typeof opts !== 'object') throw new ArgumentError('TiRex2.forecast: options { predictionLength } are required');
    const req = opts.predictionLength;
    if (!Number.isInteger(req) || req < 1) throw new ArgumentError(`TiRex2.forecast: predictionLength must be an integer >= 1, got ${JSON.stringify(req)}`);
    const bs = opts.batchSize ?? 64;
    if (!Number.isInteger(bs) || bs < 1) throw new ArgumentError(`TiRex2.forecast: batchSize must be an integer >= 1, got ${JSON.stringify(bs)}`);
    for (const k of ['ttaDiff', 'ttaSignFlip'] as const) if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new ArgumentError(`TiRex2.forecast: ${k} must be true or false, got ${JSON.stringify(opts[k])}`);
    const ttaDiff = opts.ttaDiff ?? cfg.ttaDiff, signFlip = opts.ttaSignFlip ?? cfg.ttaSignFlip;
    const trained = cfg.quantiles;
    const levels = opts.quantileLevels === undefined ? trained : checkLevels(opts.quantileLevels);
    const comp = signFlip ? complementLevels(trained) : null;
    if (signFlip && !comp) throw new ConfigError(`TiRex2.forecast: ttaSignFlip needs a symmetric set of trained quantile levels (1 - q for every q), the model has ${trained.join(', ')}`);
    const warnings: string[] = [];
    const warn = (m: string) => { warnings.push(m); (opts.onWarning ?? console.warn)(m); };
    let H = req;
    if (req > cfg.futureLength) {
      H = cfg.futureLength;
      warn(`TiRex2.forecast: predictionLength ${req} is above the model's future_len ${cfg.futureLength}; forecasting ${H} steps (one forward pass covers at most future_len; future covariates are cut to T + ${H})`);
    }
    const errors: TiRex2SeriesError[] = [];
    const rows: (TiRex2SeriesRows | null)[] = series.map((s, i) => {
      const r = normaliseSeries(s, `series[${i}]`, H, cfg.contextLength);
      if (typeof r === 'string') { errors.push({ series: i, message: `TiRex2.forecast: ${r}` }); return null; }
      return r;
    });
    const Q = trained.length, Qo = levels.length;
    const result: TiRex2SeriesForecast[] = series.map((s, i) => {
      const Vt = rows[i]?.target.length ?? targetRowCount(s);
      return { quantiles: new Float32Array(Vt * Qo * H).fill(NaN), median: new Float32Array(Vt * H).fill(NaN), shape: [Vt, Qo, H] };
    });
    const good = rows.map((r, i) => (r ? i : -1)).filter((i) => i >= 0);
    for (let g0 = 0; g0 < good.length; g0 += bs) {
      const idx = good.slice(g0, g0 + bs);
      const batch = idx.map((i) => rows[i]!);
      const a = this.predict(batch, H, ttaDiff);
      if (signFlip) {
        const b = this.predict(batch.map(negateRows), H, ttaDiff);
        a.forEach((fa, j) => {
          const fb = b[j], Vt = fa.length / (Q * H);
          for (let v = 0; v < Vt; v++) {
            for (let q = 0; q < Q; q++) {
              for (let t = 0; t < H; t++) fa[(v * Q + q) * H + t] = (fa[(v * Q + q) * H + t] - fb[(v * Q + comp![q]) * H + t]) / 2;
            }
          }
        });
      }
      idx.forEach((i, j) => {
        const f = a[j], out = result[i], Vt = out.shape[0];
        let bad = false;
        for (let v = 0; v < Vt; v++) {
          for (let t = 0; t < H; t++) {
            const col = new Float32Array(Q);
            for (let q = 0; q < Q; q++) col[q] = f[(v * Q + q) * H + t];
            const vals = levels === trained ? col : interpolateQuantiles(trained, col, levels, { rawQuantiles: true });
            for (let q = 0; q < Qo; q++) { out.quantiles[(v * Qo + q) * H + t] = vals[q]; if (!Number.isFinite(vals[q])) bad = true; }
            out.median[v * H + t] = col[cfg.medianIndex];
          }
        }
        if (bad) {
          out.quantiles.fill(NaN); out.median.fill(NaN);
          errors.push({ series: i, message: `TiRex2.forecast: series[${i}]: the forecast is not finite (values beyond the float32 range, or weights holding NaN/Infinity)` });
        }
      });
    }
    errors.sort((x, y) => x.series - y.series);
    return { quantileLevels: levels, predictionLength: H, series: result, errors, warnings };
  }
}

function negateRows(s: TiRex2SeriesRows): TiRex2SeriesRows {
  const neg = (a: Float32Array[]) => a.map((x) => x.map((v) => -v));
  return { target: neg(s.target), past: neg(s.past), future: neg(s.future) };
}

function checkLevels(levels: unknown): readonly number[] {
  if (!Array.isArray(levels)) throw new ArgumentError(`TiRex2.forecast: quantileLevels must be a list of numbers in (0, 1), got ${levels === null ? 'null' : typeof levels}`);
  if (levels.length === 0) throw new ArgumentError('TiRex2.forecast: quantileLevels must hold at least one level, got an empty list');
  levels.forEach((v, i) => {
    if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new ArgumentError(`TiRex2.forecast: quantileLevels[${i}] must be a number in (0, 1) (exclusive), got ${JSON.stringify(v)}`);
  });
  return Object.freeze([...levels] as number[]);
}

const isRow = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));

/** Rows of a TiRex2Values (one flat row or a list of rows); a string says what is wrong. */
function asRows(v: unknown, name: string): ArrayLike<unknown>[] | string {
  if (!isRow(v)) return `${name} must be number[] or number[][], got ${v === null ? 'null' : typeof v}`;
  if (v.length === 0) return `${name} is empty`;
  const nested = isRow(v[0]);
  if (!nested) return [v];
  const out: ArrayLike<unknown>[] = [];
  for (let i = 0; i < v.length; i++) {
    if (!isRow(v[i])) return `${name}[${i}] is ${v[i] === null ? 'null' : typeof v[i]}; give every row as number[] (or one flat number[])`;
    out.push(v[i] as ArrayLike<unknown>);
  }
  return out;
}

function targetRowCount(s: unknown): number {
  const t = (s as { target?: unknown } | null)?.target;
  const r = asRows(t, 'target');
  return typeof r === 'string' ? 1 : r.length;
}

function toF32(row: ArrayLike<unknown>, name: string): Float32Array | string {
  const out = new Float32Array(row.length);
  for (let j = 0; j < row.length; j++) {
    const v = row[j];
    if (typeof v !== 'number') return `${name}[${j}] is ${v === null ? 'null' : typeof v}; values must be numbers (NaN for missing)`;
    if (v === Infinity || v === -Infinity) return `${name}[${j}] is ${v}; values must be finite or NaN (missing)`;
    out[j] = v;
    if (Number.isFinite(v) && !Number.isFinite(out[j])) return `${name}[${j}] = ${v} is beyond the float32 range the model computes in`;
  }
  return out;
}

const SERIES_KEYS = ['target', 'pastCovariates', 'futureCovariates'];

/** A series as float32 rows, or a message naming what is wrong (index, row, value, expected length). */
function normaliseSeries(s: unknown, name: string, H: number, C: number): TiRex2SeriesRows | string {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return `${name} must be an object {target, pastCovariates?, futureCovariates?}, got ${s === null ? 'null' : Array.isArray(s) ? 'an array' : typeof s}`;
  for (const k of Object.keys(s)) if (!SERIES_KEYS.includes(k)) return `${name} has an unknown key '${k}' (expected ${SERIES_KEYS.join(', ')})`;
  const o = s as Record<string, unknown>;
  const conv = (key: string, required: boolean): Float32Array[] | string => {
    if (o[key] === undefined || o[key] === null) return required ? `${name}.${key} is missing` : [];
    // no covariates may be spelt as an empty list
    if (!required && isRow(o[key]) && (o[key] as ArrayLike<unknown>).length === 0) return [];
    const r = asRows(o[key], `${name}.${key}`);
    if (typeof r === 'string') return r;
    const out: Float32Array[] = [];
    for (let i = 0; i < r.length; i++) {
      const x = toF32(r[i], r.length === 1 && !isRow((o[key] as ArrayLike<unknown>)[0]) ? `${name}.${key}` : `${name}.${key}[${i}]`);
      if (typeof x === 'string') return x;
      out.push(x);
    }
    return out;
  };
  const target = conv('target', true);
  if (typeof target === 'string') return target;
  const T = target[0].length;
  for (let i = 0; i < target.length; i++) {
    const x = target[i];
    if (x.length !== T) return `${name}.target rows differ in length: row 0 has ${T} values, row ${i} has ${x.length}`;
    let seen = false;
    for (let j = Math.max(0, T - C); j < T && !seen; j++) if (!Number.isNaN(x[j])) seen = true;
    if (!seen) return `${name}.target${target.length > 1 ? `[${i}]` : ''} has no observed value in its last ${Math.min(T, C)} values (the model's context window)`;
  }
  const past = conv('pastCovariates', false);
  if (typeof past === 'string') return past;
  for (let i = 0; i < past.length; i++) if (past[i].length !== T) return `${name}.pastCovariates[${i}] has ${past[i].length} values, expected ${T} (the target's length)`;
  const future = conv('futureCovariates', false);
  if (typeof future === 'string') return future;
  for (let i = 0; i < future.length; i++) {
    if (future[i].length < T + H) return `${name}.futureCovariates[${i}] has ${future[i].length} values, expected at least ${T + H} (the target's ${T} plus the horizon ${H})`;
  }
  return { target, past, future };
}
