// Streaming TiRex forecasts: observations arrive one at a time (sensors, metrics) and each
// update should not re-run the whole context. A TiRexStream keeps, per series, the sLSTM state
// of every block after the last complete patch, and the scaler of the first context:
// - push(values) updates the states patch by patch from the carried ones: O(new values),
//   whatever the length of the history. With patchAlignment 'every' (default) the stream keeps
//   input_patch_size states, one per patch phase (grid k ends its patches at values k, k+P, ...
//   after the first context's end), so every new value completes one patch of one grid and
//   costs one token; 'fixed' keeps only the first context's grid, one token per P values.
// - forecast(opts) forks the state of the grid whose last patch ends at the last value (with
//   'fixed' and an incomplete patch: grid 0, and the pending values as one token left-padded
//   with NaN, as the official code pads a context to whole patches), then rolls the horizon out
//   with fully masked tokens, patch by patch, as forecast() does with maxAcceleratedRolloutSteps
//   (predictions are never fed back).
//
// Where the numbers differ from a full re-run (TiRex.forecast on the whole series so far):
// 1. The scaler (loc, scale) is frozen at the first context; a full re-run rescales on its
//    window, so a drifting level or spread makes the two drift apart.
// 2. Nothing is truncated: the state carries everything since the first context, while a full
//    re-run sees only the last train_ctx_len values (from the state of masked padding).
// 3. Patch alignment: a full re-run aligns its patches to the end of the series. 'every' does
//    too; 'fixed' keeps the first context's grid and NaN-pads a pending partial patch, which
//    the model handles much less well (docs/FORECASTING.md has the measured sizes).
// 4. Horizons beyond one patch roll out from the carried state (accelerated rollout); the
//    default forecast() slides its window and rescales between patches.
// With the scaler frozen, a forward pass over the whole series on the stream's patch grid
// equals the stream: test/models/tirexStream.test.ts checks that, and measures 1.-4.
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
  /**
   * 'every' (default): one carried state per patch phase (input_patch_size of them), so every
   * value completes a patch of one of them and a forecast always starts from patches that end
   * at the last value, as a full re-run aligns them; each new value costs one token.
   * 'fixed': one state on the first context's patch grid, one token per input_patch_size
   * values (that many times cheaper); values of an incomplete patch enter the forecast as one
   * token left-padded with NaN, which the model handles less well (see docs/FORECASTING.md).
   */
  patchAlignment?: TiRexStreamAlignment;
}

export type TiRexStreamAlignment = 'every' | 'fixed';

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
/**
 * Tokens per model call (rows x tokens): as forecast's default batch of 64 series of 32 tokens,
 * so that many series (x input_patch_size grids with 'every') never need one huge heap block.
 */
const TOKENS_PER_PASS = 2048;

const what = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

export class TiRexStream {
  readonly model: TiRex;
  /** Number of series carried together. */
  readonly seriesCount: number;
  /** true when made from one series (push takes that series' new values). */
  readonly single: boolean;
  readonly patchAlignment: TiRexStreamAlignment;
  private readonly loc: Float64Array;
  private readonly scale: Float64Array;
  /** Patch grids carried: input_patch_size ('every') or 1 ('fixed'). Grid k ends its patches at values i with (i - last) mod P = k, last = the first context's last index. */
  private readonly grids: number;
  /** Per block, the sLSTM states [4, grids*B, E] (row k*B + s) after each grid's last complete patch. */
  private readonly states: Float32Array[];
  /** Scaled quantile outputs of each grid's last complete patch token, [grids*B, Q, P]. */
  private readonly lastPreds: Float32Array;
  /** The last P values of each series, [B, P], value i at column i mod P. */
  private readonly recent: Float64Array;
  /** Index (in the padded first context's numbering) of the first context's last value. */
  private readonly anchor: number;
  private seen: number;

  constructor(model: TiRex, context: TiRexContext, opts: TiRexStreamOptions = {}) {
    if (!opts || typeof opts !== 'object') throw new ArgumentError(`TiRex.stream: options must be an object, got ${what(opts)}`);
    const cfg = model.config, P = cfg.inputPatchSize;
    const maxContext = opts.maxContext ?? cfg.trainCtxLen;
    if (typeof maxContext !== 'number' || !Number.isSafeInteger(maxContext) || maxContext < 1) {
      throw new ArgumentError(`TiRex.stream: maxContext must be a positive integer, got ${JSON.stringify(opts.maxContext)}`);
    }
    const align = opts.patchAlignment ?? 'every';
    if (align !== 'every' && align !== 'fixed') throw new ArgumentError(`TiRex.stream: patchAlignment must be 'every' or 'fixed', got ${JSON.stringify(opts.patchAlignment)}`);
    this.patchAlignment = align;
    this.grids = align === 'every' ? P : 1;
    this.model = model;
    this.single = isSeries(context);
    if (!this.single && !Array.isArray(context)) throw new ArgumentError(`TiRex.stream: context must be a series (number[] or a typed array) or a list of series, got ${what(context)}`);
    const list = (this.single ? [context] : context) as unknown[];
    if (list.length === 0) throw new ArgumentError('TiRex.stream: context must hold at least one series, got an empty list');
    const B = list.length;
    this.seriesCount = B;
    const name = (s: number) => (this.single ? 'context' : `context[${s}]`);
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
    // ragged lists are aligned at their ends (left-padded with NaN), as forecast batches them
    const longest = Math.max(...rows.map((r) => r.length));
    this.seen = longest;
    this.anchor = longest - 1;
    const n = Math.min(longest, maxContext);
    // as forecast: the window is at least train_ctx_len, left-padded with NaN to whole patches
    const T = Math.ceil(Math.max(cfg.trainCtxLen, n) / P);
    const L = T * P, K = this.grids;
    this.loc = new Float64Array(B);
    this.scale = new Float64Array(B);
    this.recent = new Float64Array(B * P).fill(NaN);
    const inp = new Float32Array(K * B * T * 2 * P);
    const w = new Float64Array(L);
    const grid = new Float64Array(L);
    rows.forEach((x, s) => {
      const value = (i: number) => { const j = i - (longest - x.length); return j >= 0 ? x[j] : NaN; }; // padded numbering
      w.fill(NaN);
      for (let i = 0; i < n; i++) w[L - n + i] = value(longest - n + i);
      const st = windowScaler(w);
      // the official code would scale an all-masked window with loc 0, scale 1 (absolute units)
      if (st.observed === 0) throw new InputError(`TiRex.stream: ${name(s)} has no observed value in its last ${n} values (the stream's first context)`);
      this.loc[s] = st.loc; this.scale[s] = st.scale;
      for (let i = Math.max(0, longest - P); i < longest; i++) this.recent[s * P + (i % P)] = value(i);
      // grid k: the first context without its last d = (P - k) mod P values, ending at a whole patch
      for (let k = 0; k < K; k++) {
        const d = (P - k) % P;
        grid.fill(NaN);
        const take = Math.max(0, Math.min(n, longest - d));
        for (let i = 0; i < take; i++) grid[L - take + i] = value(longest - d - take + i);
        for (let t = 0; t < T; t++) this.writeToken(inp, (k * B + s) * T + t, s, grid, t * P);
      }
    });
    const r = this.run(inp, K * B, T, undefined, 1);
    this.states = r.states;
    this.lastPreds = r.quantilePreds;
  }

  /** Values received per series: the first context (the longest, for a ragged list) and every value pushed since. */
  get length(): number { return this.seen; }

  /** The frozen scaler of each series (copies): values reach the model as (x - loc) / scale. */
  get scaler(): { loc: Float64Array; scale: Float64Array } { return { loc: this.loc.slice(), scale: this.scale.slice() }; }

  /**
   * Appends new observations (NaN = missing) to every series and runs the model on every patch
   * they complete ('every': one token per value; 'fixed': one per input_patch_size values).
   * A single-series stream takes a number or an array of numbers; a stream of B series takes
   * B numbers (one new value each) or B arrays of equal length. InputError for a value that is
   * not a number, is +-Infinity, or lies so far from the frozen scale that its scaled value
   * overflows float32; nothing is appended then.
   */
  push(values: TiRexStreamValues): void {
    const cols = this.columns(values);
    const B = this.seriesCount, m = cols.length / B;
    const cfg = this.model.config, P = cfg.inputPatchSize, Q = cfg.quantiles.length, E = cfg.embeddingDim, R = this.grids * B;
    const row = new Float64Array(P);
    // chunks of P consecutive values end their patches on distinct grids: one batched step each
    for (let c0 = 0; c0 < m; c0 += P) {
      const c1 = Math.min(m, c0 + P);
      const done: number[] = []; // grids completed in this chunk
      const tokens: Float32Array[] = [];
      for (let j = c0; j < c1; j++) {
        const i = this.seen + j;
        for (let s = 0; s < B; s++) this.recent[s * P + (i % P)] = cols[s * m + j];
        const k = (((i - this.anchor) % P) + P) % P;
        if (k >= this.grids) continue;
        const tok = new Float32Array(B * 2 * P);
        for (let s = 0; s < B; s++) {
          for (let p = 0; p < P; p++) row[p] = this.recent[s * P + ((i - P + 1 + p) % P)];
          this.writeToken(tok, s, s, row, 0);
        }
        done.push(k);
        tokens.push(tok);
      }
      if (done.length === 0) continue;
      const rows = done.length * B;
      const inp = new Float32Array(rows * 2 * P);
      tokens.forEach((t, u) => inp.set(t, u * B * 2 * P));
      const gathered = this.states.map((st) => {
        const g = new Float32Array(4 * rows * E);
        for (let q = 0; q < 4; q++) done.forEach((k, u) => g.set(st.subarray((q * R + k * B) * E, (q * R + k * B + B) * E), (q * rows + u * B) * E));
        return g;
      });
      const r = this.run(inp, rows, 1, gathered, 1);
      r.states.forEach((g, bi) => {
        const st = this.states[bi];
        for (let q = 0; q < 4; q++) done.forEach((k, u) => st.set(g.subarray((q * rows + u * B) * E, (q * rows + u * B + B) * E), (q * R + k * B) * E));
      });
      done.forEach((k, u) => this.lastPreds.set(r.quantilePreds.subarray(u * B * Q * P, (u + 1) * B * Q * P), k * B * Q * P));
    }
    this.seen += m;
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
    // the grid whose last patch ends at the last value ('every': always; 'fixed': when no
    // patch is pending), else grid 0 and the pending values as one NaN-padded token
    const last = this.seen - 1;
    const lag = (((last - this.anchor) % Pin) + Pin) % Pin;
    const k = lag < this.grids ? lag : 0;
    const pad = lag >= this.grids ? lag : 0;
    const R = this.grids * B, E = cfg.embeddingDim;
    const mine = this.lastPreds.subarray(k * B * Qt * P, (k + 1) * B * Qt * P); // [B, Q, P]
    let preds: Float32Array; // [B, Q, patches, P] in scaled space
    const extra = patches - (pad ? 0 : 1); // tokens to run from the carried states
    if (extra === 0) preds = mine;
    else {
      const inp = new Float32Array(B * extra * 2 * Pin);
      const row = new Float64Array(Pin);
      for (let s = 0; s < B; s++) {
        let t0 = 0;
        if (pad) {
          // the pending values, left-padded with NaN: the token ends at the last observation
          row.fill(NaN);
          for (let p = 0; p < pad; p++) row[Pin - pad + p] = this.recent[s * Pin + ((last - pad + 1 + p) % Pin)];
          this.writeToken(inp, s * extra, s, row, 0);
          t0 = 1;
        }
        for (let t = t0; t < extra; t++) inp.fill(cfg.nanMaskValue, (s * extra + t) * 2 * Pin, (s * extra + t) * 2 * Pin + Pin);
      }
      const states = this.states.map((st) => {
        const g = new Float32Array(4 * B * E);
        for (let q = 0; q < 4; q++) g.set(st.subarray((q * R + k * B) * E, (q * R + k * B + B) * E), q * B * E);
        return g;
      });
      const r = this.run(inp, B, extra, states, extra);
      if (pad) preds = r.quantilePreds;
      else {
        // the first patch comes from the last complete token, the rest from the rollout
        preds = new Float32Array(B * Qt * patches * P);
        for (let s = 0; s < B; s++) for (let q = 0; q < Qt; q++) {
          preds.set(mine.subarray((s * Qt + q) * P, (s * Qt + q + 1) * P), (s * Qt + q) * patches * P);
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

  /** model.stepTokens over `rows` rows of S tokens, split into passes of at most TOKENS_PER_PASS tokens (rows are independent). */
  private run(inp: Float32Array, rows: number, S: number, states: readonly Float32Array[] | undefined, keepLast: number): { states: Float32Array[]; quantilePreds: Float32Array } {
    const per = Math.max(1, Math.floor(TOKENS_PER_PASS / S));
    if (rows <= per) return this.model.stepTokens(inp, rows, S, states, keepLast);
    const cfg = this.model.config, E = cfg.embeddingDim, Q = cfg.quantiles.length, P = cfg.inputPatchSize, Pout = cfg.outputPatchSize;
    const outStates = Array.from({ length: cfg.numBlocks }, () => new Float32Array(4 * rows * E));
    const preds = new Float32Array(rows * Q * keepLast * Pout);
    for (let r0 = 0; r0 < rows; r0 += per) {
      const n = Math.min(per, rows - r0);
      const sub = states?.map((st) => {
        const g = new Float32Array(4 * n * E);
        for (let q = 0; q < 4; q++) g.set(st.subarray((q * rows + r0) * E, (q * rows + r0 + n) * E), q * n * E);
        return g;
      });
      const r = this.model.stepTokens(inp.subarray(r0 * S * 2 * P, (r0 + n) * S * 2 * P), n, S, sub, keepLast);
      r.states.forEach((g, bi) => { for (let q = 0; q < 4; q++) outStates[bi].set(g.subarray(q * n * E, (q + 1) * n * E), (q * rows + r0) * E); });
      preds.set(r.quantilePreds, r0 * Q * keepLast * Pout);
    }
    return { states: outStates, quantilePreds: preds };
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
