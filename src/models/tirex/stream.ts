// Streaming TiRex forecasts: observations arrive one at a time (sensors, metrics) and each
// update should not re-run the whole context. A TiRexStream keeps, per series, the sLSTM state
// of every block after the last complete patch, and the scaler of the first context:
// - push(values) buffers values until a patch of input_patch_size is complete and then runs
//   the model on that one token from the carried states (all series of the stream together):
//   O(new values), whatever the length of the history;
// - forecast(opts) forks the carried states: the pending partial patch (if any) becomes one
//   token left-padded with NaN (as the official code pads a context to whole patches), then
//   fully masked tokens roll the horizon out patch by patch, as forecast() does with
//   maxAcceleratedRolloutSteps (predictions are never fed back).
//
// Where the numbers differ from a full re-run (TiRex.forecast on the whole series so far):
// 1. The scaler (loc, scale) is frozen at the first context; a full re-run rescales on its
//    window, so a drifting level or spread makes the two drift apart.
// 2. Nothing is truncated: the state carries everything since the first context, while a full
//    re-run sees only the last train_ctx_len values (from a zero state after masked padding).
// 3. Patch alignment: patches stay on the grid that ends at the first context's last value;
//    a full re-run aligns its patches to the end of the series (partial patch in front).
// 4. Horizons beyond one patch roll out from the carried state (accelerated rollout); the
//    default forecast() slides its window and rescales between patches.
// With the scaler frozen, a forward pass over the whole grid of values (tokens as in 3.) equals
// the stream: test/models/tirexStream.test.ts checks both that and the size of 1.-4.
import type { TiRex, TiRexContext, TiRexForecast, TiRexSeriesError } from './model.js';
import { windowScaler, interpolateQuantiles } from './model.js';
import { ArgumentError, InputError } from '../../errors.js';

export interface TiRexStreamOptions {
  /**
   * How many of the first context's last values reach the state (default train_ctx_len, which
   * makes the first forecast equal TiRex.forecast of the same context). The scaler is computed
   * on the same values.
   */
  maxContext?: number;
}

export interface TiRexStreamForecastOptions {
  predictionLength: number;
  /** Levels in (0, 1) (default: the trained ones), made as TiRex.forecast makes them. */
  quantileLevels?: readonly number[];
  /** true: the trained levels as the model outputs them (may cross); default false: sorted per step. */
  rawQuantiles?: boolean;
}

/** New values: a number or numbers for a single-series stream; for a list, one number or one array per series. */
export type TiRexStreamValues = number | ArrayLike<number> | ReadonlyArray<number | ArrayLike<number>>;

function isNumericView(v: unknown): v is ArrayLike<number> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}
const isSeries = (v: unknown): boolean => isNumericView(v) || (Array.isArray(v) && v.length > 0 && typeof v[0] === 'number');
const what = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

export class TiRexStream {
  readonly model: TiRex;
  /** Number of series carried together. */
  readonly seriesCount: number;
  /** true when made from one series (push takes that series' new values). */
  readonly single: boolean;
  private readonly loc: Float64Array;
  private readonly scale: Float64Array;
  /** Per block, the sLSTM state [4, B, E] after the last complete patch. */
  private states: Float32Array[];
  /** Scaled quantile outputs of the last complete patch's token, [B, Q, P]. */
  private lastPreds: Float32Array;
  /** Values of the current partial patch, [B, P] (first `buffered` columns used). */
  private readonly buffer: Float64Array;
  private buffered = 0;
  private seen: number;

  constructor(model: TiRex, context: TiRexContext, opts: TiRexStreamOptions = {}) {
    if (!opts || typeof opts !== 'object') throw new ArgumentError(`TiRex.stream: options must be an object, got ${what(opts)}`);
    const cfg = model.config, P = cfg.inputPatchSize;
    const maxContext = opts.maxContext ?? cfg.trainCtxLen;
    if (typeof maxContext !== 'number' || !Number.isSafeInteger(maxContext) || maxContext < 1) {
      throw new ArgumentError(`TiRex.stream: maxContext must be a positive integer, got ${JSON.stringify(opts.maxContext)}`);
    }
    this.model = model;
    this.single = isSeries(context);
    if (!this.single && !Array.isArray(context)) throw new ArgumentError(`TiRex.stream: context must be a series (number[] or a typed array) or a list of series, got ${what(context)}`);
    const list = (this.single ? [context] : context) as unknown[];
    if (list.length === 0) throw new ArgumentError('TiRex.stream: context must hold at least one series, got an empty list');
    const B = list.length;
    this.seriesCount = B;
    const name = (s: number) => (this.single ? 'context' : `context[${s}]`);
    // series as given (ragged: left-padded with NaN to the longest, as forecast batches them)
    const rows = list.map((s, i) => {
      if (!Array.isArray(s) && !isNumericView(s)) throw new ArgumentError(`TiRex.stream: ${name(i)} must be number[] or a numeric typed array, got ${what(s)}`);
      const a = s as ArrayLike<unknown>;
      if (a.length === 0) throw new InputError(`TiRex.stream: ${name(i)} is empty (length 0)`);
      for (let j = 0; j < a.length; j++) {
        const v = a[j];
        if (typeof v !== 'number') throw new InputError(`TiRex.stream: ${name(i)}[${j}] is ${what(v)}; values must be numbers (NaN for missing)`);
        if (v === Infinity || v === -Infinity) throw new InputError(`TiRex.stream: ${name(i)}[${j}] is ${v}; values must be finite or NaN (missing)`);
      }
      return a as ArrayLike<number>;
    });
    const longest = Math.max(...rows.map((r) => r.length));
    this.seen = longest;
    const n = Math.min(longest, maxContext);
    // as forecast: the window is at least train_ctx_len, left-padded with NaN to whole patches
    const T = Math.ceil(Math.max(cfg.trainCtxLen, n) / P);
    const L = T * P;
    this.loc = new Float64Array(B);
    this.scale = new Float64Array(B);
    const inp = new Float32Array(B * T * 2 * P);
    const w = new Float64Array(L);
    rows.forEach((x, s) => {
      w.fill(NaN);
      const take = Math.min(x.length, n);
      for (let i = 0; i < take; i++) w[L - take + i] = x[x.length - take + i];
      const st = windowScaler(w);
      // the official code would scale an all-masked window with loc 0, scale 1 (absolute units)
      if (st.observed === 0) throw new InputError(`TiRex.stream: ${name(s)} has no observed value in its last ${n} values (the stream's first context)`);
      this.loc[s] = st.loc; this.scale[s] = st.scale;
      for (let t = 0; t < T; t++) this.writeToken(inp, s * T + t, s, w, t * P);
    });
    const r = model.stepTokens(inp, B, T, undefined, 1);
    this.states = r.states;
    this.lastPreds = r.quantilePreds;
    this.buffer = new Float64Array(B * P);
  }

  /** Values received per series: the first context and every value pushed since. */
  get length(): number { return this.seen; }

  /** Values waiting for their patch to complete (0 .. input_patch_size - 1). */
  get pendingCount(): number { return this.buffered; }

  /** The frozen scaler of each series (copies): values reach the model as (x - loc) / scale. */
  get scaler(): { loc: Float64Array; scale: Float64Array } { return { loc: this.loc.slice(), scale: this.scale.slice() }; }

  /**
   * Appends new observations (NaN = missing) to every series and updates the carried states
   * once per completed patch. A single-series stream takes a number or an array of numbers; a
   * stream of B series takes B numbers (one new value each) or B arrays of equal length.
   * InputError for a value that is not a number, is +-Infinity, or lies so far from the frozen
   * scale that its scaled value overflows float32; nothing is appended then.
   */
  push(values: TiRexStreamValues): void {
    const cols = this.columns(values);
    const m = cols.length / this.seriesCount;
    const B = this.seriesCount, P = this.model.config.inputPatchSize;
    const complete = Math.floor((this.buffered + m) / P);
    const inp = new Float32Array(B * complete * 2 * P);
    let done = 0;
    for (let j = 0; j < m; j++) {
      for (let s = 0; s < B; s++) this.buffer[s * P + this.buffered] = cols[s * m + j];
      if (++this.buffered === P) {
        for (let s = 0; s < B; s++) this.writeToken(inp, s * complete + done, s, this.buffer, s * P);
        done++;
        this.buffered = 0;
      }
    }
    this.seen += m;
    if (complete > 0) {
      const r = this.model.stepTokens(inp, B, complete, this.states, 1);
      this.states = r.states;
      this.lastPreds = r.quantilePreds;
    }
  }

  /**
   * Quantile forecast of every series from the carried states (the state is not changed).
   * Same result layout and level rules as TiRex.forecast; a series whose model output is not
   * finite, or whose forecast leaves the float32 range, gets NaN rows and an entry in `errors`.
   */
  forecast(opts: TiRexStreamForecastOptions): TiRexForecast {
    if (!opts || typeof opts !== 'object') throw new ArgumentError('TiRexStream.forecast: options { predictionLength } are required');
    const H = opts.predictionLength;
    if (typeof H !== 'number' || !Number.isInteger(H) || H <= 0) throw new ArgumentError(`TiRexStream.forecast: predictionLength must be a positive integer, got ${String(H)}`);
    if (opts.rawQuantiles !== undefined && typeof opts.rawQuantiles !== 'boolean') throw new ArgumentError(`TiRexStream.forecast: rawQuantiles must be true or false, got ${String(opts.rawQuantiles)}`);
    const cfg = this.model.config, P = cfg.outputPatchSize, Pin = cfg.inputPatchSize, Qt = cfg.quantiles.length, B = this.seriesCount;
    const trained = cfg.quantiles;
    const levels = opts.quantileLevels === undefined ? trained : Object.freeze(Array.from(opts.quantileLevels));
    // validates the levels (ArgumentError) before any model work
    interpolateQuantiles(trained, new Float32Array(Qt), levels);
    const patches = Math.ceil(H / P);
    // [B, Q, patches, P] in scaled space
    let preds: Float32Array;
    const pad = this.buffered > 0;
    const extra = patches - (pad ? 0 : 1); // tokens to run from the carried states
    if (extra === 0) preds = this.lastPreds;
    else {
      const inp = new Float32Array(B * extra * 2 * Pin);
      for (let s = 0; s < B; s++) {
        let t0 = 0;
        if (pad) {
          // the partial patch, left-padded with NaN: its token ends at the last observation
          const row = new Float64Array(Pin).fill(NaN);
          row.set(this.buffer.subarray(s * Pin, s * Pin + this.buffered), Pin - this.buffered);
          this.writeToken(inp, s * extra, s, row, 0);
          t0 = 1;
        }
        for (let t = t0; t < extra; t++) inp.fill(cfg.nanMaskValue, (s * extra + t) * 2 * Pin, (s * extra + t) * 2 * Pin + Pin);
      }
      const r = this.model.stepTokens(inp, B, extra, this.states, extra);
      if (pad) preds = r.quantilePreds;
      else {
        // the first patch comes from the last complete token, the rest from the rollout
        preds = new Float32Array(B * Qt * patches * P);
        for (let s = 0; s < B; s++) for (let q = 0; q < Qt; q++) {
          preds.set(this.lastPreds.subarray((s * Qt + q) * P, (s * Qt + q + 1) * P), (s * Qt + q) * patches * P);
          preds.set(r.quantilePreds.subarray((s * Qt + q) * extra * P, (s * Qt + q + 1) * extra * P), ((s * Qt + q) * patches + 1) * P);
        }
      }
    }
    const Q = levels.length, mi = cfg.medianIndex;
    const quantileData = new Float32Array(B * H * Q).fill(NaN);
    const meanData = new Float32Array(B * H).fill(NaN);
    const errors: TiRexSeriesError[] = [];
    const name = (s: number) => (this.single ? 'stream' : `stream series ${s}`);
    const row = new Float32Array(Qt);
    const rawRow = opts.rawQuantiles === true;
    for (let s = 0; s < B; s++) {
      const loc = this.loc[s], scale = this.scale[s];
      let failure: string | undefined;
      const qd = new Float32Array(H * Q), md = new Float32Array(H);
      for (let t = 0; t < H && failure === undefined; t++) {
        for (let q = 0; q < Qt; q++) {
          const y = preds[(s * Qt + q) * patches * P + t];
          // de-scaled in float64 and rounded once, as TiRex.forecast does
          const v = Math.fround(y * scale + loc);
          if (!Number.isFinite(v)) {
            failure = Number.isFinite(y)
              ? `the forecast at step ${t} (level ${trained[q]}) is ${(y * scale + loc).toExponential(3)}, beyond the float32 range (+-3.4e38)`
              : `the model's output at step ${t} (level ${trained[q]}) is ${y}`;
            break;
          }
          row[q] = v;
        }
        if (failure !== undefined) break;
        qd.set(interpolateQuantiles(trained, row, levels, { rawQuantiles: rawRow }), t * Q);
        // the median of the (sorted unless raw) trained values, as TiRex.forecast returns it
        md[t] = levels === trained ? qd[t * Q + mi] : interpolateQuantiles(trained, row, [trained[mi]], { rawQuantiles: rawRow })[0];
      }
      if (failure !== undefined) { errors.push({ series: s, message: `TiRexStream.forecast: ${name(s)}: ${failure}` }); continue; }
      quantileData.set(qd, s * H * Q);
      meanData.set(md, s * H);
    }
    const quantiles: Float32Array[][] = [];
    const median: Float32Array[] = [];
    for (let s = 0; s < B; s++) {
      quantiles.push(Array.from({ length: H }, (_, t) => quantileData.subarray((s * H + t) * Q, (s * H + t + 1) * Q)));
      median.push(meanData.subarray(s * H, (s + 1) * H));
    }
    return { quantileLevels: levels, quantiles, median, mean: median, errors, quantileData, meanData, shape: [B, H, Q] };
  }

  // one token [values | mask] at row `at` of inp from P values of `src` starting at `from`
  private writeToken(inp: Float32Array, at: number, s: number, src: ArrayLike<number>, from: number): void {
    const cfg = this.model.config, P = cfg.inputPatchSize;
    const loc = this.loc[s], div = this.scale[s] === 0 ? 1 : this.scale[s];
    const o = at * 2 * P;
    for (let p = 0; p < P; p++) {
      const v = Math.fround((src[from + p] - loc) / div);
      const nan = Number.isNaN(v);
      inp[o + p] = nan ? cfg.nanMaskValue : v;
      inp[o + P + p] = nan ? 0 : 1;
    }
  }

  /** The pushed values as [B, m] float64 (row-major), validated before anything changes. */
  private columns(values: unknown): Float64Array {
    const B = this.seriesCount;
    let perSeries: ArrayLike<unknown>[];
    const bad = (why: string) => new InputError(`TiRexStream.push: ${why}`);
    if (this.single) {
      if (typeof values === 'number') perSeries = [[values]];
      else if (Array.isArray(values) || isNumericView(values)) perSeries = [values as ArrayLike<unknown>];
      else throw new ArgumentError(`TiRexStream.push: a single-series stream takes a number or an array of numbers, got ${what(values)}`);
    } else {
      if (!Array.isArray(values) && !isNumericView(values)) throw new ArgumentError(`TiRexStream.push: a stream of ${B} series takes ${B} numbers or ${B} arrays, got ${what(values)}`);
      const a = values as ArrayLike<unknown>;
      if (a.length !== B) throw new ArgumentError(`TiRexStream.push: the stream carries ${B} series, got values for ${a.length}`);
      perSeries = Array.from(a, (v, s) => {
        if (typeof v === 'number') return [v];
        if (Array.isArray(v) || isNumericView(v)) return v as ArrayLike<unknown>;
        throw new ArgumentError(`TiRexStream.push: values[${s}] must be a number or an array of numbers, got ${what(v)}`);
      });
      const m0 = perSeries[0].length;
      perSeries.forEach((v, s) => { if (v.length !== m0) throw new ArgumentError(`TiRexStream.push: every series needs the same number of new values (NaN for missing); values[0] has ${m0}, values[${s}] has ${v.length}`); });
    }
    const m = perSeries[0].length;
    const out = new Float64Array(B * m);
    const where = (s: number, j: number) => (this.single ? `values[${j}]` : `values[${s}][${j}]`);
    perSeries.forEach((v, s) => {
      const div = this.scale[s] === 0 ? 1 : this.scale[s];
      for (let j = 0; j < m; j++) {
        const x = v[j];
        if (typeof x !== 'number') throw bad(`${where(s, j)} is ${what(x)}; values must be numbers (NaN for missing)`);
        if (x === Infinity || x === -Infinity) throw bad(`${where(s, j)} is ${x}; values must be finite or NaN (missing)`);
        if (!Number.isNaN(x) && !Number.isFinite(Math.fround((x - this.loc[s]) / div))) {
          throw bad(`${where(s, j)} is ${x}: scaled by the stream's frozen scaler (loc ${this.loc[s]}, scale ${this.scale[s]}) it leaves the float32 range; start a new stream for values of this size`);
        }
        out[s * m + j] = x;
      }
    });
    return out;
  }
}
