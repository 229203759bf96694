// TiRex (NX-AI) zero-shot forecaster: an sLSTM stack over patches of the series with a
// 9-quantile head. Follows the official torch path (tirex.models.tirex.TiRexZero):
// window -> NaN-aware scaler -> patches + mask -> residual MLP -> sLSTM blocks ->
// out_norm -> residual MLP -> last token's patch, de-scaled; longer horizons re-run the
// whole pass on the context extended by NaN (predictions are never fed back).
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { HubOptions } from '../../hub/options.js';
import { IN_PAGE } from '../../hub/host.js';
import { linearChunked } from '../../ops/linearChunked.js';
import { add, relu, swiglu } from '../../ops/elementwise.js';
import { headwiseMatmul } from '../../ops/headwise.js';
import { rmsNorm, groupNorm } from '../../ops/norm.js';
import { loadSlstmParams, SlstmParams } from '../../xlstm/slstm/params.js';
import { slstmForward } from '../../xlstm/slstm/cell.js';
import { TiRexConfig, resolveTiRexConfig, TIREX_RMS_EPS, TIREX_GROUP_NORM_EPS, TIREX_FORGET_CLAMP } from './config.js';
import { ArgumentError, ConfigError, LimitError } from '../../errors.js';
import { MAX_PAGES, RESERVED_BYTES } from '../../backend/wasm/heap.js';
import {
  TiRexResidualBlockWeights, TiRexWeights, LoadTiRexCheckpointOptions, LEGACY_PREFIX, loadTiRexCheckpoint, loadTiRexWeights, tensorMapSource,
} from './weights.js';
import {
  embedContext, embedSamples, TiRexEmbedContextOptions, TiRexEmbedInput, TiRexEmbedOptions, TiRexEmbedding, TiRexHiddenStates,
} from './embed.js';
import { TiRexStream, TiRexStreamOptions } from './stream.js';

const RMS_EPS = TIREX_RMS_EPS;
const GROUP_NORM_EPS = TIREX_GROUP_NORM_EPS;
const FORGET_CLAMP = TIREX_FORGET_CLAMP;

export interface TiRexOptions {
  backend: WasmBackend;
  /** true (default): the official torch path's bf16 sLSTM recurrence (f32-accumulated R·y, RNE). false: plain f32. */
  bf16?: boolean;
}

export interface TiRexFromPretrainedOptions extends TiRexOptions, LoadTiRexCheckpointOptions {
  /** Hub settings when the source is a model id like 'NX-AI/TiRex' (revision, token, cache, onProgress). */
  hub?: HubOptions;
}

/** Progress of a forecast call: `done` of `total` series finished (reported once per batch). */
export interface TiRexProgress { done: number; total: number }

export interface TiRexForecastOptions {
  predictionLength: number;
  /**
   * Levels in (0, 1) to return, in this order (default: the trained ones, 0.1..0.9). Trained levels
   * are returned exactly as the model outputs them; others are interpolated (see interpolateQuantiles).
   */
  quantileLevels?: readonly number[];
  /** Series per forward pass (default 64): bounds the working memory however many series are given. */
  batchSize?: number;
  /**
   * k > 1: each forward pass appends k-1 fully masked tokens and keeps the last k patch
   * predictions (no window slide or re-scaling between them; faster, different numbers). Default 1.
   */
  maxAcceleratedRolloutSteps?: number;
  /** Called after every batch (and once when no series could be forecast). */
  onProgress?: (p: TiRexProgress) => void;
  /**
   * true: the trained levels (and the median) are the model's outputs as they are, which may
   * cross. Default false: each step's trained-level values are sorted (see forecast).
   */
  rawQuantiles?: boolean;
}

/** A series that could not be forecast (its rows of the result are NaN). */
export interface TiRexSeriesError { series: number; message: string }

/**
 * Forecast of B series over H steps at Q quantile levels.
 * `quantiles[s][t]` is a Float32Array of the Q levels (in `quantileLevels` order; non-decreasing
 * in the level unless `rawQuantiles` was set) for series s at step t; `median[s]` is a
 * Float32Array [H] holding the 0.5 quantile (TiRex's point forecast, which the official API calls
 * "mean": `mean` is the same arrays). All are views into `quantileData` [B, H, Q] and
 * `meanData` [B, H] (row-major). Series listed in `errors` are NaN; every other value is finite.
 */
export interface TiRexForecast {
  quantileLevels: readonly number[];
  quantiles: Float32Array[][];
  median: Float32Array[];
  mean: Float32Array[];
  errors: TiRexSeriesError[];
  quantileData: Float32Array;
  meanData: Float32Array;
  /** [B, H, Q] */
  shape: [number, number, number];
}

/** First-step intermediates of one forward pass (testing / inspection). */
export interface TiRexStepIntermediates {
  /** [B, L] window after left NaN padding / truncation (L = train_ctx_len or more), float64 as given. */
  contextWindow: Float64Array;
  /** [B] scaler location (float64, see windowScaler) */
  loc: Float64Array;
  /** [B] scaler scale (float64; 0 for an all-zero window) */
  scale: Float64Array;
  /** [B, T, P] scaled patches, NaN kept */
  tokens: Float32Array;
  /** [B, T', numBlocks, E] output of every block (T' = T + rollouts - 1) */
  hiddenStates: Float32Array;
  /** [B, Q, outTokens, P_out] output in scaled space of every token (collect) or of the last `rollouts` tokens */
  quantilePreds: Float32Array;
  numTokens: number;
  /** Tokens in quantilePreds: T' with collect, else rollouts. */
  outTokens: number;
}

interface DeviceResidual { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor; wr: Tensor; br: Tensor }
interface DeviceBlock {
  normSlstm: Tensor;
  /**
   * [4, NH, DH_out, DH_in]: the head-wise gate projections in the cell's gate order (i, f, z, o).
   * Kept per head rather than as the block-diagonal [4E, E] matrix: a dense product would spend
   * NH times the multiply-adds (3/4 of them on zeros for the released 4 heads).
   */
  gates: Tensor;
  cell: SlstmParams;
  groupNorm: Tensor;
  normFfn: Tensor;
  /**
   * [2 FFN, E]: proj_up_gate's rows then proj_up's, so both up projections are one GEMM (x is
   * packed once, one dispatch) whose [.., 2 FFN] output feeds swiglu directly.
   */
  projUpFused: Tensor;
  projDown: Tensor;
}

export class TiRex {
  readonly config: TiRexConfig;
  readonly backend: WasmBackend;
  readonly bf16: boolean;
  private readonly inEmb: DeviceResidual;
  private readonly outEmb: DeviceResidual;
  private readonly blocks: DeviceBlock[];
  private readonly outNorm: Tensor;
  private prefixCache?: Float32Array[];
  /** Name of the first weight tensor holding NaN/Infinity ('' if none), found on the first non-finite output. */
  private badWeight?: string;

  constructor(config: TiRexConfig, weights: TiRexWeights, opts: TiRexOptions) {
    if (!opts || !opts.backend) throw new ArgumentError('TiRex: options.backend (a WasmBackend) is required');
    if (opts.bf16 !== undefined && typeof opts.bf16 !== 'boolean') throw new ArgumentError(`TiRex: options.bf16 must be true or false, got ${String(opts.bf16)}`);
    if (weights.blocks.length !== config.numBlocks) throw new ConfigError(`TiRex: weights have ${weights.blocks.length} blocks, config says num_blocks ${config.numBlocks}`);
    const be = opts.backend;
    this.config = config;
    this.backend = be;
    this.bf16 = opts.bf16 ?? true;
    const up = (t: Tensor) => be.upload(t);
    const residual = (r: TiRexResidualBlockWeights): DeviceResidual => ({
      w1: up(r.hiddenWeight), b1: up(r.hiddenBias), w2: up(r.outputWeight), b2: up(r.outputBias), wr: up(r.residualWeight), br: up(r.residualBias),
    });
    this.inEmb = residual(weights.inputPatchEmbedding);
    this.outEmb = residual(weights.outputPatchEmbedding);
    this.outNorm = up(weights.outNorm);
    const E = config.embeddingDim, NH = config.numHeads, DH = config.headDim;
    this.blocks = weights.blocks.map((b) => {
      // 'fgate' feeds the cell's input-gate slot and 'igate' its forget-gate slot (official naming swap)
      const order = [b.fgate, b.igate, b.zgate, b.ogate];
      const g = new Float32Array(4 * E * DH); // [4, NH, DH_out, DH_in]
      order.forEach((w, gi) => g.set(w.toFloat32(), gi * E * DH));
      return {
        normSlstm: up(b.normSlstm),
        gates: up(new Tensor('f32', [4, NH, DH, DH], g)),
        cell: loadSlstmParams({ recurrentKernel: b.recurrentKernel, bias: b.bias, numHeads: NH, layout: 'cuda' }),
        groupNorm: up(b.groupNorm),
        normFfn: up(b.normFfn),
        projUpFused: concatRowsOnHeap(be, b.projUpGate, b.projUp),
        projDown: up(b.projDown),
      };
    });
  }

  /**
   * Per-block hidden states of each series (the official `_embed_context`), see ./embed.ts.
   * [B, tokens, numBlocks, E].
   */
  embedContext(series: TiRexContext, opts: TiRexEmbedContextOptions = {}): TiRexHiddenStates { return embedContext(this, series, opts); }

  /**
   * The pooled embedding of the official TiRexEmbedding (one vector per sample), see ./embed.ts.
   */
  embed(samples: TiRexEmbedInput, opts: TiRexEmbedOptions = {}): TiRexEmbedding { return embedSamples(this, samples, opts); }

  /**
   * A streaming forecaster over one series or a list of them (see ./stream.ts): new values are
   * pushed as they arrive and update the carried sLSTM states patch by patch; the scaler is
   * frozen at this first context.
   */
  stream(context: TiRexContext, opts: TiRexStreamOptions = {}): TiRexStream { return new TiRexStream(this, context, opts); }

  /**
   * Internal (./stream.ts): the model on tokens `inp` [B, S, 2*input_patch_size] (scaled values
   * | mask, NaN already replaced) from the per-block sLSTM states [4, B, E] (undefined: zeros).
   * Returns each block's state after the last token and the scaled quantile outputs of the last
   * `keepLast` tokens, [B, Q, keepLast, output_patch_size].
   */
  stepTokens(inp: Float32Array, B: number, S: number, states: readonly Float32Array[] | undefined, keepLast: number): { states: Float32Array[]; quantilePreds: Float32Array } {
    const be = this.backend, cfg = this.config, E = cfg.embeddingDim, Q = cfg.quantiles.length, Pout = cfg.outputPatchSize;
    const x = be.upload(new Tensor('f32', [B, S, 2 * cfg.inputPatchSize], inp));
    const out: Float32Array[] = [];
    let h: Tensor;
    try {
      h = this.runBlocks(this.residual(this.inEmb, x), B, S, {
        initialState: states && ((bi) => new Tensor('f32', [4, B, E], states[bi])),
        keepLast,
        finalState: (_bi, st) => { out.push(Float32Array.from(st.data as Float32Array)); },
      });
    } finally { x.dispose(); }
    const To = h.shape[1];
    const hn = rmsNorm(be, h, { eps: RMS_EPS, weight: this.outNorm });
    h.dispose();
    const o = this.residual(this.outEmb, hn); // [B, To, Q*Pout]
    hn.dispose();
    const od = o.data as Float32Array;
    const quantilePreds = new Float32Array(B * Q * To * Pout);
    for (let s = 0; s < B; s++) for (let t = 0; t < To; t++) for (let q = 0; q < Q; q++) {
      quantilePreds.set(od.subarray((s * To + t) * Q * Pout + q * Pout, (s * To + t) * Q * Pout + (q + 1) * Pout), ((s * Q + q) * To + t) * Pout);
    }
    o.dispose();
    return { states: out, quantilePreds };
  }

  /** Loads model.ckpt (official) or model.safetensors + config.json (file, folder or hub id like 'NX-AI/TiRex[@rev]'; in the browser bundle: hub ids, cached with the Cache API). */
  static async fromPretrained(pathOrDir: string, opts: TiRexFromPretrainedOptions): Promise<TiRex> {
    if (!opts || !opts.backend) throw new ArgumentError('TiRex.fromPretrained: options.backend (a WasmBackend) is required');
    const { config, weights } = IN_PAGE
      ? await (await import('../../hub/pageLoaders.js')).loadTiRexFromHub(pathOrDir, opts.hub, opts.format)
      : await loadTiRexCheckpoint(await (await import('../../hub/resolve.js')).resolveModelSource(pathOrDir, 'tirex', opts.hub), opts);
    return new TiRex(config, weights, opts);
  }

  /**
   * From in-memory tensors (any environment, e.g. a fetched model.safetensors parsed with
   * parseSafetensors): `hyperParameters` = {model_config, train_ctx_len}; keys with the legacy
   * 'block_stack.' prefix are accepted.
   */
  static async fromTensors(hyperParameters: unknown, tensors: ReadonlyMap<string, Tensor>, opts: TiRexOptions): Promise<TiRex> {
    if (!opts || !opts.backend) throw new ArgumentError('TiRex.fromTensors: options.backend (a WasmBackend) is required');
    const config = resolveTiRexConfig(hyperParameters, 'hyperParameters');
    const renamed = new Map<string, Tensor>();
    for (const [k, t] of tensors) {
      const name = k.startsWith(LEGACY_PREFIX) ? k.slice(LEGACY_PREFIX.length) : k;
      if (renamed.has(name)) throw new ArgumentError(`TiRex.fromTensors: tensor '${name}' is given twice (with and without the '${LEGACY_PREFIX}' prefix)`);
      renamed.set(name, t);
    }
    return new TiRex(config, await loadTiRexWeights(config, tensorMapSource(renamed, '<tensors>')), opts);
  }

  /**
   * Quantile forecast of one series or many (arrays or typed arrays, ragged allowed; NaN = missing).
   * Each series is handled as the official API does after left NaN padding to a common length.
   * A series that cannot be forecast (empty, nothing observed in the model's context window,
   * +-Infinity, non-numbers, a model output that is not finite, a forecast beyond the float32
   * range) does not stop the others: its rows are NaN and `errors` names it. Invalid calls (no
   * series, bad options: ArgumentError) and requests beyond the memory limits (LimitError) throw
   * before any work starts.
   *
   * Values are taken as float64 and only the scaled values reach float32 (see windowScaler), so
   * forecast(a*x + b) = a*forecast(x) + b up to float32 rounding for any a > 0 whose results fit
   * float32. Quantiles are ordered by default: the model's 9 outputs of a step may cross, and
   * they are sorted (the monotone rearrangement of Chernozhukov, Fernandez-Val and Galichon,
   * 2010, as in Chronos and GluonTS). Sorting never increases the quantile (pinball) loss of a
   * row, whatever the outcome y: swapping a crossed pair q1 > q2 at levels t1 < t2 changes
   * rho_t1(y - q) + rho_t2(y - q') by exactly (t2 - t1)(q2 - q1) < 0, and a sort is a chain of
   * such swaps. It needs no model change and keeps the set of values the model produced; the
   * median returned is the sorted 0.5 level. `rawQuantiles: true` keeps the raw outputs at the
   * trained levels (levels in between are always made from the sorted values).
   */
  forecast(context: TiRexContext, opts: TiRexForecastOptions): TiRexForecast {
    const { H, k, bs, levels, raw } = this.checkForecastOptions(seriesCount(context), opts);
    const trained = this.config.quantiles;
    const ctxLen = this.config.trainCtxLen;
    const { series, errors } = normaliseContext(context, ctxLen);
    const B = series.length, Q = levels.length, Qt = trained.length;
    const quantileData = new Float32Array(B * H * Q).fill(NaN);
    const meanData = new Float32Array(B * H).fill(NaN);
    const good: number[] = [];
    series.forEach((s, i) => { if (s) good.push(i); });
    // batches of similar lengths share more of their fully-masked prefix (skipped, see forwardTokens)
    const span = new Map<number, number>(); // values from the first observed one, within the window
    for (const i of good) {
      const x = series[i]!;
      let first = 0;
      while (Number.isNaN(x[first])) first++;
      span.set(i, x.length - first);
    }
    good.sort((a, b) => span.get(a)! - span.get(b)! || a - b);
    const total = B;
    let done = B - good.length;
    const plan = levels === trained ? undefined : interpolationPlan(trained, levels);
    const mi = this.config.medianIndex;
    const rank = levelRanks(trained);
    const sorted = new Float32Array(Qt), ordered = new Float32Array(Qt);
    const name = (s: number) => (isSingleSeries(context) ? 'context' : `context[${s}]`);
    for (let g0 = 0; g0 < good.length; g0 += bs) {
      const idx = good.slice(g0, g0 + bs);
      const { values: q, failures } = this.forecastBatch(idx.map((i) => series[i]!), H, k); // [b, H, Qt]
      idx.forEach((s, j) => {
        if (failures[j] !== undefined) { errors.push({ series: s, message: `TiRex.forecast: ${name(s)}: ${failures[j]}` }); return; }
        for (let t = 0; t < H; t++) {
          const src = (j * H + t) * Qt, dst = (s * H + t) * Q;
          const row = q.subarray(src, src + Qt);
          sorted.set(row);
          sorted.sort();
          for (let i = 0; i < Qt; i++) ordered[i] = sorted[rank[i]];
          const use = raw ? row : ordered;
          meanData[s * H + t] = use[mi];
          if (!plan) quantileData.set(use, dst);
          else applyPlan(plan, use, sorted, quantileData, dst);
        }
      });
      done += idx.length;
      opts.onProgress?.({ done, total });
    }
    if (good.length === 0) opts.onProgress?.({ done, total });
    errors.sort((a, b) => a.series - b.series);
    const quantiles: Float32Array[][] = [];
    const mean: Float32Array[] = [];
    for (let s = 0; s < B; s++) {
      const rows: Float32Array[] = [];
      for (let t = 0; t < H; t++) rows.push(quantileData.subarray((s * H + t) * Q, (s * H + t + 1) * Q));
      quantiles.push(rows);
      mean.push(meanData.subarray(s * H, (s + 1) * H));
    }
    return { quantileLevels: levels, quantiles, median: mean, mean, errors, quantileData, meanData, shape: [B, H, Q] };
  }

  /**
   * WASM heap bytes one series needs per token of a forward pass, estimated generously from the
   * activations alive at once (the input features, the input MLP's hidden layer or the FFN's two
   * up-projections, a block's residual stream + norms + 4 gate pre-activations + cell output
   * (8 E), and the output MLP's two Q*P outputs). The limits built on it refuse requests that
   * cannot fit before any work; they are not a tuning aid.
   */
  private passBytesPerToken(): number {
    const c = this.config;
    return 4 * (2 * c.inputPatchSize + Math.max(c.inputFfDim, 2 * c.ffnDim) + 8 * c.embeddingDim + 2 * c.quantiles.length * c.outputPatchSize);
  }

  /**
   * The checks `forecast` runs before any work, for callers that want to refuse a request before
   * preparing their data (the CLI): ArgumentError for a bad option, LimitError when
   * `seriesCount` series with these options need more memory than a call may use.
   */
  validateForecastOptions(seriesCount: number, opts: TiRexForecastOptions): void {
    if (!Number.isSafeInteger(seriesCount) || seriesCount < 1) throw new ArgumentError(`TiRex.validateForecastOptions: seriesCount must be a positive integer, got ${String(seriesCount)}`);
    this.checkForecastOptions(seriesCount, opts);
  }

  /** Validates the forecast options (ArgumentError) and the memory they need (LimitError) for B series. */
  private checkForecastOptions(B: number, opts: TiRexForecastOptions): { H: number; k: number; bs: number; levels: readonly number[]; raw: boolean } {
    if (!opts || typeof opts !== 'object') throw new ArgumentError('TiRex.forecast: options { predictionLength } are required');
    const H = opts.predictionLength;
    if (typeof H !== 'number' || !Number.isInteger(H) || H <= 0) throw new ArgumentError(`TiRex.forecast: predictionLength must be a positive integer, got ${String(H)}`);
    const k = opts.maxAcceleratedRolloutSteps ?? 1;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw new ArgumentError(`TiRex.forecast: maxAcceleratedRolloutSteps must be an integer >= 1, got ${String(k)}`);
    const bs = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    if (typeof bs !== 'number' || !Number.isInteger(bs) || bs < 1) throw new ArgumentError(`TiRex.forecast: batchSize must be an integer >= 1, got ${String(bs)}`);
    if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new ArgumentError(`TiRex.forecast: onProgress must be a function, got ${typeof opts.onProgress}`);
    if (opts.rawQuantiles !== undefined && typeof opts.rawQuantiles !== 'boolean') throw new ArgumentError(`TiRex.forecast: rawQuantiles must be true or false, got ${String(opts.rawQuantiles)}`);
    const levels = opts.quantileLevels === undefined ? this.config.quantiles : checkLevels(opts.quantileLevels);
    const c = this.config;
    const patches = Math.ceil(H / c.outputPatchSize);
    // a pass never runs more rollout tokens than there are patches left to predict
    const kEff = Math.min(k, patches);
    const baseTokens = Math.ceil(c.trainCtxLen / c.inputPatchSize);
    const perTokenBytes = this.passBytesPerToken();
    const heapFree = MAX_PAGES * 65536 - RESERVED_BYTES - this.backend.heap.bytesInUse;
    const gib = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(2)} MiB`);
    const maxTokens = Math.floor(heapFree / perTokenBytes);
    const tokens = baseTokens + kEff - 1;
    if (tokens > maxTokens) {
      throw new LimitError('maxAcceleratedRolloutSteps', k, Math.max(0, maxTokens - baseTokens + 1),
        `one forward pass over ${tokens} tokens would need ${gib(tokens * perTokenBytes)} of WebAssembly memory per series, ${gib(heapFree)} are free`);
    }
    const maxBatch = Math.floor(heapFree / (tokens * perTokenBytes));
    if (bs > maxBatch) {
      throw new LimitError('batchSize', bs, maxBatch,
        `a forward pass over ${tokens} tokens needs ${gib(tokens * perTokenBytes)} of WebAssembly memory per series, ${gib(heapFree)} are free`);
    }
    // JS result arrays per step: quantileData + meanData of every series, and the batch's two
    // [b, H, Q] buffers (forecastBatch); the last patch is computed whole and cut to H after.
    const Q = levels.length, Qt = c.quantiles.length, P = c.outputPatchSize;
    const perStep = 4 * B * (Q + 1) + 8 * Math.min(bs, B) * Qt;
    const maxH = Math.floor(MAX_RESULT_BYTES / perStep) - (P - 1);
    if (maxH < 1) {
      throw new LimitError('context (number of series)', B, Math.floor(MAX_RESULT_BYTES / (P * (4 * (Q + 1) + 8 * Qt))),
        `one call keeps its results within ${gib(MAX_RESULT_BYTES)}; forecast the series in several calls`);
    }
    if (H > maxH) {
      throw new LimitError('predictionLength', H, maxH,
        `${B} series at ${Q} levels would need ${gib((H + P - 1) * perStep)} for the results; one call keeps them within ${gib(MAX_RESULT_BYTES)}`);
    }
    return { H, k, bs, levels, raw: opts.rawQuantiles === true };
  }

  /** Releases the heap copies of the weights. */
  dispose(): void {
    const d = (r: DeviceResidual) => { for (const t of Object.values(r)) t.dispose(); };
    d(this.inEmb); d(this.outEmb); this.outNorm.dispose();
    for (const b of this.blocks) {
      for (const t of [b.normSlstm, b.gates, b.groupNorm, b.normFfn, b.projUpFused, b.projDown]) t.dispose();
      const dc = b.cell.deviceCache.get(this.backend);
      if (dc) for (const t of Object.values(dc)) t.dispose();
      b.cell.deviceCache.delete(this.backend);
    }
  }

  /**
   * [b series of any lengths] -> values [b, H, Q] and, per series, why it could not be forecast
   * (a model output that is not finite, or a forecast beyond the float32 range).
   */
  private forecastBatch(series: Float64Array[], H: number, k: number): { values: Float32Array; failures: (string | undefined)[] } {
    const cfg = this.config;
    const P = cfg.outputPatchSize, Q = cfg.quantiles.length, L0 = cfg.trainCtxLen;
    const b = series.length;
    let ctx = series;
    const patches = Math.ceil(H / P);
    const pred = new Float32Array(b * Q * patches * P); // [b, Q, patches*P]
    const stride = patches * P;
    const failures: (string | undefined)[] = new Array(b).fill(undefined);
    let carry: { loc: Float64Array; scale: Float64Array } | undefined;
    let done = 0;
    while (done < patches) {
      const steps = Math.min(patches - done, k);
      const r = this.forwardTokens(ctx, steps, false, carry);
      carry = { loc: r.loc, scale: r.scale };
      const T = r.outTokens;
      for (let s = 0; s < b; s++) {
        // de-scaling in float64, rounded to float32 once: the smallest and largest series
        // keep their precision, and only a result float32 cannot hold is an error
        const loc = r.loc[s], scale = r.scale[s];
        for (let q = 0; q < Q && failures[s] === undefined; q++) {
          for (let j = 0; j < steps && failures[s] === undefined; j++) {
            const tok = T - steps + j;
            const src = ((s * Q + q) * T + tok) * P;
            const dst = (s * Q + q) * stride + (done + j) * P;
            for (let p = 0; p < P; p++) {
              const t = (done + j) * P + p;
              if (t >= H) break; // the last patch's tail is cut off
              const y = r.quantilePreds[src + p];
              const v = Math.fround(y * scale + loc);
              if (!Number.isFinite(v)) {
                failures[s] = Number.isFinite(y)
                  ? `the forecast at step ${t} (level ${cfg.quantiles[q]}) is ${(y * scale + loc).toExponential(3)}, beyond the float32 range (+-3.4e38)`
                  : `the model's output at step ${t} (level ${cfg.quantiles[q]}) is ${y}${this.nonFiniteWeightNote()}`;
                break;
              }
              pred[dst + p] = v;
            }
          }
        }
      }
      done += steps;
      if (done >= patches) break;
      // the next pass sees the context extended by NaN; only its last L0 values can reach the
      // window, so older ones are dropped (a long horizon would otherwise copy ever longer arrays)
      const pad = steps * P;
      ctx = ctx.map((c) => {
        const keep = Math.max(0, Math.min(c.length, L0 - pad));
        const n = new Float64Array(keep + pad).fill(NaN);
        n.set(c.subarray(c.length - keep));
        return n;
      });
    }
    const out = new Float32Array(b * H * Q);
    for (let s = 0; s < b; s++) for (let t = 0; t < H; t++) for (let q = 0; q < Q; q++) out[(s * H + t) * Q + q] = pred[(s * Q + q) * stride + t];
    return { values: out, failures };
  }

  /** ': the weights hold non-finite values (<name>)' when they do, else a hint at float32 overflow inside the model. */
  private nonFiniteWeightNote(): string {
    if (this.badWeight === undefined) {
      const named: [string, Float32Array][] = [];
      const official: Record<keyof DeviceResidual, string> = {
        w1: 'hidden_layer.weight', b1: 'hidden_layer.bias', w2: 'output_layer.weight', b2: 'output_layer.bias', wr: 'residual_layer.weight', br: 'residual_layer.bias',
      };
      const residual = (prefix: string, r: DeviceResidual) => { for (const k of Object.keys(official) as (keyof DeviceResidual)[]) named.push([`${prefix}.${official[k]}`, r[k].data as Float32Array]); };
      residual('input_patch_embedding', this.inEmb);
      residual('output_patch_embedding', this.outEmb);
      named.push(['out_norm.weight', this.outNorm.data as Float32Array]);
      this.blocks.forEach((b, i) => {
        const p = `blocks.${i}`;
        named.push([`${p}.norm_slstm.weight`, b.normSlstm.data as Float32Array], [`${p}.slstm_layer (gate weights)`, b.gates.data as Float32Array],
          [`${p}.slstm_layer.slstm_cell._recurrent_kernel_`, b.cell.recurrentPacked], [`${p}.slstm_layer.slstm_cell._bias_`, b.cell.bias],
          [`${p}.slstm_layer.group_norm.weight`, b.groupNorm.data as Float32Array], [`${p}.norm_ffn.weight`, b.normFfn.data as Float32Array],
          [`${p}.ffn.proj_up_gate.weight`, (b.projUpFused.data as Float32Array).subarray(0, b.projUpFused.size / 2)],
          [`${p}.ffn.proj_up.weight`, (b.projUpFused.data as Float32Array).subarray(b.projUpFused.size / 2)],
          [`${p}.ffn.proj_down.weight`, b.projDown.data as Float32Array]);
      });
      const bad = named.find(([, d]) => { for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return true; return false; });
      this.badWeight = bad ? bad[0] : '';
    }
    return this.badWeight
      ? `: the model's weights hold non-finite values (first in ${this.badWeight})`
      : ' (the weights are finite: a float32 overflow inside the model)';
  }

  /**
   * One forward pass of the official `_forecast_single_step` on the given series (window,
   * scaler, patches, model). rollouts = k appends k-1 fully masked tokens. `carry`: the scaler
   * of each series' previous pass, kept where the window holds no observed value (long horizons),
   * or everywhere with `frozen` (the reference of the streaming tests, see ./stream.ts).
   * Internal: used by forecast, by the embeddings (./embed.ts) and by the tests (collect = true
   * also returns the hidden states). `windowLength` (default train_ctx_len) replaces
   * train_ctx_len as the window: the official `_embed_context` runs windows longer than that.
   */
  forwardTokens(series: ArrayLike<number>[], rollouts = 1, collect = true, carry?: { loc: ArrayLike<number>; scale: ArrayLike<number>; frozen?: boolean }, windowLength?: number): TiRexStepIntermediates {
    const be = this.backend, cfg = this.config;
    const B = series.length;
    const Pin = cfg.inputPatchSize, Pout = cfg.outputPatchSize, Q = cfg.quantiles.length, E = cfg.embeddingDim;
    // official: truncate to train_ctx_len, left-pad with NaN up to train_ctx_len, then the
    // patcher left-pads to a multiple of the patch size
    const L0 = windowLength ?? cfg.trainCtxLen;
    const T = Math.ceil(L0 / Pin);
    const L = T * Pin;
    const window = new Float64Array(B * L).fill(NaN); // [B, L]
    for (let s = 0; s < B; s++) {
      const x = series[s];
      const n = Math.min(x.length, L0);
      for (let i = 0; i < n; i++) window[s * L + (L - n) + i] = x[x.length - n + i];
    }
    const loc = new Float64Array(B), scale = new Float64Array(B);
    const tokens = new Float32Array(B * L); // [B, T, P]
    for (let s = 0; s < B; s++) {
      const w = window.subarray(s * L, (s + 1) * L);
      const st = windowScaler(w);
      if (carry && (st.observed === 0 || carry.frozen)) { st.loc = carry.loc[s]; st.scale = carry.scale[s]; }
      loc[s] = st.loc; scale[s] = st.scale;
      // scale 0 only for an all-zero window, whose values are all 0 after any division
      const div = st.scale === 0 ? 1 : st.scale;
      for (let i = 0; i < L; i++) tokens[s * L + i] = (w[i] - st.loc) / div;
    }
    const Tp = T + rollouts - 1;
    // Leading tokens whose 32 values are all missing have the same input (zeros) in every
    // series, so every layer computes the same numbers for them: start after the shortest such
    // prefix of the batch, from the sLSTM states a masked-only sequence reaches there (cached).
    // Forecast passes only; `collect` keeps every token for inspection.
    let n0 = 0;
    if (!collect) {
      n0 = T - 1; // keep at least one context token
      for (let s = 0; s < B && n0 > 0; s++) {
        let lead = 0;
        scan: for (; lead < n0; lead++) {
          for (let p = 0; p < Pin; p++) if (!Number.isNaN(tokens[(s * T + lead) * Pin + p])) break scan;
        }
        n0 = Math.min(n0, lead);
      }
    }
    const Tq = Tp - n0;
    const inp = be.empty([B, Tq, 2 * Pin]); // [B, T'-n0, values | mask]
    const id = inp.data as Float32Array;
    id.fill(0);
    for (let s = 0; s < B; s++) {
      for (let t = n0; t < T; t++) {
        const row = (s * Tq + t - n0) * 2 * Pin;
        for (let p = 0; p < Pin; p++) {
          const v = tokens[(s * T + t) * Pin + p];
          const nan = Number.isNaN(v);
          id[row + p] = nan ? cfg.nanMaskValue : v;
          id[row + Pin + p] = nan ? 0 : 1;
        }
      }
      // rollout tokens: value nan_mask_value, mask 0
      for (let t = T; t < Tp; t++) id.fill(cfg.nanMaskValue, (s * Tq + t - n0) * 2 * Pin, (s * Tq + t - n0) * 2 * Pin + Pin);
    }
    const hiddenStates = collect ? new Float32Array(B * Tp * cfg.numBlocks * E) : new Float32Array(0);
    const prefix = n0 > 0 ? this.maskedPrefixStates() : undefined;
    const h = this.runBlocks(this.residual(this.inEmb, inp), B, Tq, {
      initialState: prefix && ((bi) => {
        const H = E, src = prefix[bi]; // [T+1, 4, H]
        const st = new Float32Array(4 * B * H); // [4, B, H]
        for (let k = 0; k < 4; k++) for (let b = 0; b < B; b++) st.set(src.subarray((n0 * 4 + k) * H, (n0 * 4 + k + 1) * H), (k * B + b) * H);
        return new Tensor('f32', [4, B, H], st);
      }),
      keepLast: collect ? undefined : rollouts,
      onBlock: collect ? (bi, hb) => {
        const hd = hb.data as Float32Array;
        for (let r = 0; r < B * Tp; r++) hiddenStates.set(hd.subarray(r * E, (r + 1) * E), (r * cfg.numBlocks + bi) * E);
      } : undefined,
    });
    inp.dispose();
    const To = h.shape[1];
    const hn = rmsNorm(be, h, { eps: RMS_EPS, weight: this.outNorm });
    h.dispose();
    const o = this.residual(this.outEmb, hn); // [B, T', Q*Pout] quantile-major
    hn.dispose();
    const od = o.data as Float32Array;
    const quantilePreds = new Float32Array(B * Q * To * Pout); // [B, Q, To, Pout]
    for (let s = 0; s < B; s++) {
      for (let t = 0; t < To; t++) {
        for (let q = 0; q < Q; q++) {
          quantilePreds.set(od.subarray((s * To + t) * Q * Pout + q * Pout, (s * To + t) * Q * Pout + (q + 1) * Pout), ((s * Q + q) * To + t) * Pout);
        }
      }
    }
    o.dispose();
    return { contextWindow: window, loc, scale, tokens, hiddenStates, quantilePreds, numTokens: T, outTokens: To };
  }

  /**
   * The sLSTM blocks on h [B, S, E] (consumed). initialState(bi): the cell's starting state
   * [4, B, H] per block (default zeros); keepLast: after the last recurrence keep only the last
   * so many tokens (everything after it is per token); statesAll(bi, t): every cell state
   * [4, S+1, B, H]; finalState(bi, state): the cell state [4, B, H] after the last token;
   * onBlock(bi, h): each block's output.
   */
  private runBlocks(h: Tensor, B: number, S: number, o: {
    initialState?: (bi: number) => Tensor;
    keepLast?: number;
    onBlock?: (bi: number, h: Tensor) => void;
    statesAll?: (bi: number, states: Tensor) => void;
    finalState?: (bi: number, state: Tensor) => void;
  } = {}): Tensor {
    const be = this.backend, cfg = this.config, E = cfg.embeddingDim, NH = cfg.numHeads;
    const last = cfg.numBlocks - 1;
    this.blocks.forEach((blk, bi) => {
      const T = h.shape[1];
      const n1 = rmsNorm(be, h, { eps: RMS_EPS, weight: blk.normSlstm });
      const g = headwiseMatmul(be, n1, blk.gates); // [B, T, 4E] index gate*E + h*DH + d
      n1.dispose();
      const cell = slstmForward(be, g, blk.cell, {
        bf16: this.bf16 ? 'tirex' : false, forgetClamp: FORGET_CLAMP, outputLayout: 'BSH',
        initialState: o.initialState?.(bi), returnAllStates: !!o.statesAll,
      });
      g.dispose();
      o.finalState?.(bi, cell.state);
      cell.state.dispose();
      if (cell.statesAll) { o.statesAll!(bi, cell.statesAll); cell.statesAll.dispose(); }
      const gn = groupNorm(be, cell.y, NH, { eps: GROUP_NORM_EPS, weight: blk.groupNorm, weightOffset: true });
      cell.y.dispose();
      add(be, h, gn, h);
      gn.dispose();
      const k = o.keepLast;
      if (bi === last && k !== undefined && k < T) {
        // only the last k tokens reach the output
        const hl = be.empty([B, k, E]);
        const hd = h.data as Float32Array, ld = hl.data as Float32Array;
        for (let s = 0; s < B; s++) ld.set(hd.subarray(((s + 1) * T - k) * E, (s + 1) * T * E), s * k * E);
        h.dispose();
        h = hl;
      }
      const n2 = rmsNorm(be, h, { eps: RMS_EPS, weight: blk.normFfn });
      const gu = linearChunked(be, n2, blk.projUpFused); // [B, T, 2 FFN]: gate | up
      n2.dispose();
      const a = swiglu(be, gu); // [B, T, FFN]
      gu.dispose();
      const d = linearChunked(be, a, blk.projDown); // [B, T, E]
      a.dispose();
      add(be, h, d, h);
      d.dispose();
      o.onBlock?.(bi, h);
    });
    return h;
  }

  /**
   * Per block, the sLSTM state [T+1, 4, H] after 0..T fully masked tokens from the zero state
   * (computed once per model: T = train_ctx_len / patch tokens of all-zero input).
   */
  private maskedPrefixStates(): Float32Array[] {
    if (this.prefixCache) return this.prefixCache;
    const be = this.backend, cfg = this.config, Pin = cfg.inputPatchSize, H = cfg.embeddingDim;
    const T = Math.ceil(cfg.trainCtxLen / Pin);
    const inp = be.zeros([1, T, 2 * Pin]);
    if (cfg.nanMaskValue !== 0) for (let t = 0; t < T; t++) (inp.data as Float32Array).fill(cfg.nanMaskValue, t * 2 * Pin, t * 2 * Pin + Pin);
    const out: Float32Array[] = [];
    const h = this.runBlocks(this.residual(this.inEmb, inp), 1, T, {
      statesAll: (_bi, st) => {
        const sd = st.data as Float32Array; // [4, T+1, 1, H]
        const c = new Float32Array((T + 1) * 4 * H); // [T+1, 4, H]
        for (let t = 0; t <= T; t++) for (let k = 0; k < 4; k++) c.set(sd.subarray((k * (T + 1) + t) * H, (k * (T + 1) + t + 1) * H), (t * 4 + k) * H);
        out.push(c);
      },
    });
    h.dispose(); inp.dispose();
    this.prefixCache = out;
    return out;
  }

  // out = W2 relu(W1 x + b1) + b2 + (Wr x + br)
  private residual(r: DeviceResidual, x: Tensor): Tensor {
    const be = this.backend;
    const hid = linearChunked(be, x, r.w1, r.b1);
    relu(be, hid, hid);
    const out = linearChunked(be, hid, r.w2, r.b2);
    hid.dispose();
    const res = linearChunked(be, x, r.wr, r.br);
    add(be, out, res, out);
    res.dispose();
    return out;
  }
}

/** [a; b]: the rows of two [N, K] weights as one [Na + Nb, K] f32 heap tensor (written in place, no JS copy). */
function concatRowsOnHeap(be: WasmBackend, a: Tensor, b: Tensor): Tensor {
  const t = be.empty([a.shape[0] + b.shape[0], a.shape[1]]);
  const d = t.data as Float32Array;
  d.set(a.toFloat32());
  d.set(b.toFloat32(), a.size);
  return t;
}

/** One series (number[] or any numeric typed array) or a list of them (ragged allowed). */
export type TiRexContext = ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

const DEFAULT_BATCH_SIZE = 64;
/**
 * The JS result arrays of one forecast call stay within 2 GiB: a size any 64-bit engine
 * allocates as typed arrays (browsers refuse much larger ArrayBuffers), and far beyond any
 * useful horizon; callers with more series than that split them over calls.
 */
const MAX_RESULT_BYTES = 2 ** 31;

function isNumericView(v: unknown): v is ArrayLike<number> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

function isSingleSeries(context: unknown): boolean {
  return isNumericView(context) || (Array.isArray(context) && context.length > 0 && typeof context[0] === 'number');
}

/** Number of series in `context` (ArgumentError when it is neither a series nor a non-empty list). */
function seriesCount(context: unknown): number {
  if (isSingleSeries(context)) return 1;
  if (Array.isArray(context)) {
    if (context.length === 0) throw new ArgumentError('TiRex.forecast: context must hold at least one series, got an empty list');
    return context.length;
  }
  throw new ArgumentError(`TiRex.forecast: context must be a series (number[] or a typed array) or a list of series, got ${context === null ? 'null' : typeof context}`);
}

/**
 * The series as float64, cut to their last `windowLength` values (nothing older reaches the
 * model), null where bad, and one error per bad series.
 */
function normaliseContext(context: unknown, windowLength: number): { series: (Float64Array | null)[]; errors: TiRexSeriesError[] } {
  const single = seriesCount(context) === 1 && isSingleSeries(context);
  const list: unknown[] = single ? [context] : (context as unknown[]);
  const series: (Float64Array | null)[] = [];
  const errors: TiRexSeriesError[] = [];
  list.forEach((s, i) => {
    const name = single ? 'context' : `context[${i}]`;
    const why = checkSeries(s, name, windowLength);
    if (typeof why === 'string') { series.push(null); errors.push({ series: i, message: `TiRex.forecast: ${why}` }); } else series.push(why);
  });
  return { series, errors };
}

function checkSeries(s: unknown, name: string, windowLength: number): Float64Array | string {
  if (!Array.isArray(s) && !isNumericView(s)) return `${name} must be number[] or a numeric typed array, got ${s === null ? 'null' : typeof s}`;
  const a = s as ArrayLike<unknown>;
  if (a.length === 0) return `${name} is empty (length 0); every series needs at least one observed value`;
  let observed = 0, inWindow = 0;
  const from = Math.max(0, a.length - windowLength);
  for (let j = 0; j < a.length; j++) {
    const v = a[j];
    if (typeof v !== 'number') return `${name}[${j}] is ${v === null ? 'null' : typeof v}; values must be numbers (NaN for missing)`;
    if (v === Infinity || v === -Infinity) return `${name}[${j}] is ${v}; values must be finite or NaN (missing)`;
    if (!Number.isNaN(v)) { observed++; if (j >= from) inWindow++; }
  }
  if (observed === 0) return `${name} has no observed value (all ${a.length} values are NaN)`;
  // the official code would forecast from an all-masked window in absolute units (loc 0, scale 1)
  if (inWindow === 0) return `${name} has no observed value in its last ${windowLength} values (the model's context window); the ${observed} observed ones are older`;
  const x = new Float64Array(a.length - from);
  for (let j = from; j < a.length; j++) x[j - from] = a[j] as number;
  return x;
}

/**
 * TiRex's standard scaler (official: loc = nanmean(x), scale = nanstd(x) (population), NaN
 * window -> loc 0, scale 1, and scale == 0 -> |loc| + 1e-5), computed in float64 so that it
 * is scale-equivariant: scaler(a*x + b) = (a*loc + b, |a|*scale) up to float64 rounding.
 * - The official code computes in float32: squares of deviations overflow above ~1e19 (scale
 *   Infinity, forecasts +-Infinity) and underflow below ~1e-19 (scale 0, then the absolute eps
 *   1e-5 replaces a true scale of e.g. 1e-30: forecasts 1e25 times too wide). Here the values
 *   are brought to unit magnitude by a power of two (exact), so neither happens for any finite
 *   float64 input, and a non-constant window always has scale > 0.
 * - So the eps branch is reached only by a constant window (every observed value equal to c).
 *   Then the tokens are all 0 whatever the scale, and the scale only sets the width of the
 *   forecast around c. Official: |c| + 1e-5. Here: |c|, the same up to 1e-5 absolute (below the
 *   golden tolerance at ordinary scales) but without the absolute unit, so a constant series
 *   still scales with a. For c = 0 there is no unit at all: scale 0, so the forecast of an
 *   all-zero series is exactly 0 at every level (official: within 1e-5 of 0). Constant
 *   series are not shift-equivariant (the width follows |c|), in the official code neither.
 */
export function windowScaler(w: ArrayLike<number>): { loc: number; scale: number; observed: number } {
  let cnt = 0, maxAbs = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (Number.isNaN(v)) continue;
    cnt++;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (cnt === 0) return { loc: 0, scale: 1, observed: 0 };
  if (lo === hi) return { loc: lo, scale: Math.abs(lo), observed: cnt };
  const p = 2 ** Math.floor(Math.log2(maxAbs)); // x / p is exact and within [-2, 2]
  let sum = 0;
  for (let i = 0; i < w.length; i++) if (!Number.isNaN(w[i])) sum += w[i] / p;
  const mu = sum / cnt;
  let sq = 0;
  for (let i = 0; i < w.length; i++) if (!Number.isNaN(w[i])) { const d = w[i] / p - mu; sq += d * d; }
  return { loc: mu * p, scale: Math.sqrt(sq / cnt) * p, observed: cnt };
}

/** rank[i]: position of trained level i among the trained levels sorted ascending. */
function levelRanks(trained: readonly number[]): Int32Array {
  const order = trained.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const rank = new Int32Array(trained.length);
  order.forEach(([, i], r) => { rank[i] = r; });
  return rank;
}

function checkLevels(levels: unknown): readonly number[] {
  if (!Array.isArray(levels) && !isNumericView(levels)) throw new ArgumentError(`TiRex.forecast: quantileLevels must be a list of numbers in (0, 1), got ${levels === null ? 'null' : typeof levels}`);
  const a = Array.from(levels as ArrayLike<unknown>);
  if (a.length === 0) throw new ArgumentError('TiRex.forecast: quantileLevels must hold at least one level, got an empty list');
  a.forEach((v, i) => {
    if (typeof v !== 'number' || !(v > 0 && v < 1)) throw new ArgumentError(`TiRex.forecast: quantileLevels[${i}] must be a number in (0, 1) (exclusive), got ${JSON.stringify(v)}`);
  });
  return Object.freeze(a as number[]);
}

/** How each requested level is made from the trained ones. */
type LevelRule =
  | { kind: 'exact'; i: number }
  // value = lo + w (hi - lo) on the sorted trained values at positions i, i+1
  | { kind: 'mix'; i: number; w: number };
type InterpolationPlan = LevelRule[];

// Standard normal quantile (Acklam's rational approximation, |rel err| < 1.2e-9): plenty for weights.
function normInv(p: number): number {
  const a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
  const b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
  const c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
  const d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pl) return -normInv(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Levels that are not trained come from the per-step SORTED trained values (the monotone
 * rearrangement of possibly crossing quantiles), so they are non-decreasing in the level:
 * - inside [first, last] trained level: linear interpolation in the level between the two
 *   neighbouring trained levels (what Chronos-Bolt and most peers do);
 * - outside (below 0.1 or above 0.9 for the released model): the edge segment is extended
 *   linearly in normal-score space, value = q_a + (q_b - q_a) (z(tau) - z(a)) / (z(b) - z(a)) with
 *   (a, b) the two outermost trained levels and z the standard normal quantile. This is the
 *   tail of a normal distribution matched to those two quantiles: it widens without bound as
 *   tau -> 0 or 1 (clamping to q_0.1 would claim the 1% and 10% quantiles are equal), it stays
 *   monotone because the sorted q_b - q_a >= 0 and z is increasing, and it is continuous at the
 *   edge level. Heavier-tailed series will see their extreme quantiles underestimated.
 */
function interpolationPlan(trained: readonly number[], levels: readonly number[]): InterpolationPlan {
  const order = trained.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const lv = order.map((o) => o[0]);
  const n = lv.length;
  return levels.map((tau): LevelRule => {
    const ex = trained.findIndex((v) => Math.abs(v - tau) < 1e-9);
    if (ex >= 0) return { kind: 'exact', i: ex };
    if (n === 1) return { kind: 'mix', i: 0, w: 0 };
    let i: number, w: number;
    if (tau < lv[0]) { i = 0; w = (normInv(tau) - normInv(lv[0])) / (normInv(lv[1]) - normInv(lv[0])); }
    else if (tau > lv[n - 1]) { i = n - 2; w = (normInv(tau) - normInv(lv[n - 2])) / (normInv(lv[n - 1]) - normInv(lv[n - 2])); }
    else {
      i = 0;
      while (lv[i + 1] < tau) i++;
      w = (tau - lv[i]) / (lv[i + 1] - lv[i]);
    }
    return { kind: 'mix', i, w };
  });
}

// values: the trained levels' values in config order (raw or rearranged); sorted: the same values ascending
function applyPlan(plan: InterpolationPlan, values: Float32Array, sorted: Float32Array, out: Float32Array, at: number): void {
  for (let j = 0; j < plan.length; j++) {
    const r = plan[j];
    if (r.kind === 'exact') out[at + j] = values[r.i];
    else {
      const lo = sorted[r.i], hi = sorted[Math.min(r.i + 1, sorted.length - 1)];
      out[at + j] = lo + r.w * (hi - lo);
    }
  }
}

/**
 * The level rule of TiRex.forecast on given trained levels/values (exported for tests and other
 * forecasters): trained levels get the sorted values (or the raw ones with `rawQuantiles`),
 * others are interpolated from the sorted values.
 */
export function interpolateQuantiles(trainedLevels: readonly number[], values: ArrayLike<number>, levels: readonly number[], opts: { rawQuantiles?: boolean } = {}): Float32Array {
  if (values.length !== trainedLevels.length) throw new ArgumentError(`interpolateQuantiles: values has ${values.length} entries, trainedLevels ${trainedLevels.length}`);
  const sorted = Float32Array.from(values).sort();
  const rank = levelRanks(trainedLevels);
  const use = opts.rawQuantiles ? Float32Array.from(values) : Float32Array.from(rank, (r) => sorted[r]);
  const out = new Float32Array(levels.length);
  applyPlan(interpolationPlan(trainedLevels, checkLevels(levels)), use, sorted, out, 0);
  return out;
}
