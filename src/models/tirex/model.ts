// TiRex (NX-AI) zero-shot forecaster: an sLSTM stack over patches of the series with a
// 9-quantile head. Follows the official torch path (tirex.models.tirex.TiRexZero):
// window -> NaN-aware scaler -> patches + mask -> residual MLP -> sLSTM blocks ->
// out_norm -> residual MLP -> last token's patch, de-scaled; longer horizons re-run the
// whole pass on the context extended by NaN (predictions are never fed back).
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { linear } from '../../ops/matmul.js';
import { add, mul, relu, silu } from '../../ops/elementwise.js';
import { rmsNorm, groupNorm } from '../../ops/norm.js';
import { loadSlstmParams, SlstmParams } from '../../xlstm/slstm/params.js';
import { slstmForward } from '../../xlstm/slstm/cell.js';
import { TiRexConfig, resolveTiRexConfig } from './config.js';
import {
  TiRexResidualBlockWeights, TiRexWeights, LoadTiRexCheckpointOptions, LEGACY_PREFIX, loadTiRexCheckpoint, loadTiRexWeights, tensorMapSource,
} from './weights.js';

const RMS_EPS = 1e-6;
const GROUP_NORM_EPS = 1e-5;
const SCALER_EPS = 1e-5;
/** The official cell clamps f~ at 15 before logsigmoid (also with the bf16 casts disabled). */
const FORGET_CLAMP = 15;

export interface TiRexOptions {
  backend: WasmBackend;
  /** true (default): the official torch path's bf16 sLSTM recurrence (f32-accumulated R·y, RNE). false: plain f32. */
  bf16?: boolean;
}

export interface TiRexFromPretrainedOptions extends TiRexOptions, LoadTiRexCheckpointOptions {}

export interface TiRexForecastOptions {
  predictionLength: number;
  /** Series per forward pass (default: all at once). */
  batchSize?: number;
  /**
   * k > 1: each forward pass appends k-1 fully masked tokens and keeps the last k patch
   * predictions (no window slide or re-scaling between them; faster, different numbers). Default 1.
   */
  maxAcceleratedRolloutSteps?: number;
}

/**
 * Forecast of B series over H steps with Q quantile levels.
 * `quantiles[s][t]` is a Float32Array of the Q levels (in `quantileLevels` order, not sorted
 * by value: quantiles may cross) for series s at step t; `mean[s]` is a Float32Array [H] holding
 * the 0.5 quantile. Both are views into `quantileData` [B, H, Q] and `meanData` [B, H] (row-major).
 */
export interface TiRexForecast {
  quantiles: Float32Array[][];
  mean: Float32Array[];
  quantileData: Float32Array;
  meanData: Float32Array;
  /** [B, H, Q] */
  shape: [number, number, number];
  quantileLevels: readonly number[];
}

/** First-step intermediates of one forward pass (testing / inspection). */
export interface TiRexStepIntermediates {
  /** [B, L] window after left NaN padding / truncation (L = train_ctx_len or more). */
  contextWindow: Float32Array;
  /** [B] */
  loc: Float32Array;
  /** [B] */
  scale: Float32Array;
  /** [B, T, P] scaled patches, NaN kept */
  tokens: Float32Array;
  /** [B, T', numBlocks, E] output of every block (T' = T + rollouts - 1) */
  hiddenStates: Float32Array;
  /** [B, Q, T', P_out] every token's output in scaled space */
  quantilePreds: Float32Array;
  numTokens: number;
}

interface DeviceResidual { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor; wr: Tensor; br: Tensor }
interface DeviceBlock {
  normSlstm: Tensor;
  /** [4E, E] block-diagonal: rows g*E + h*DH + o in the cell's gate order (i, f, z, o) */
  gates: Tensor;
  cell: SlstmParams;
  groupNorm: Tensor;
  normFfn: Tensor;
  projUpGate: Tensor;
  projUp: Tensor;
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

  constructor(config: TiRexConfig, weights: TiRexWeights, opts: TiRexOptions) {
    if (!opts || !opts.backend) throw new Error('TiRex: options.backend (a WasmBackend) is required');
    if (opts.bf16 !== undefined && typeof opts.bf16 !== 'boolean') throw new Error(`TiRex: options.bf16 must be true or false, got ${String(opts.bf16)}`);
    if (weights.blocks.length !== config.numBlocks) throw new Error(`TiRex: weights have ${weights.blocks.length} blocks, config says num_blocks ${config.numBlocks}`);
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
      const g = new Float32Array(4 * E * E); // [4E, E]
      order.forEach((w, gi) => {
        const wd = w.toFloat32(); // [NH, DH_out, DH_in]
        for (let h = 0; h < NH; h++) {
          for (let o = 0; o < DH; o++) {
            const row = gi * E + h * DH + o;
            g.set(wd.subarray((h * DH + o) * DH, (h * DH + o + 1) * DH), row * E + h * DH);
          }
        }
      });
      return {
        normSlstm: up(b.normSlstm),
        gates: up(new Tensor('f32', [4 * E, E], g)),
        cell: loadSlstmParams({ recurrentKernel: b.recurrentKernel, bias: b.bias, numHeads: NH, layout: 'cuda' }),
        groupNorm: up(b.groupNorm),
        normFfn: up(b.normFfn),
        projUpGate: up(b.projUpGate),
        projUp: up(b.projUp),
        projDown: up(b.projDown),
      };
    });
  }

  /** Loads model.ckpt (official) or model.safetensors + config.json (file or folder; Node only). */
  static async fromPretrained(pathOrDir: string, opts: TiRexFromPretrainedOptions): Promise<TiRex> {
    if (!opts || !opts.backend) throw new Error('TiRex.fromPretrained: options.backend (a WasmBackend) is required');
    const { config, weights } = await loadTiRexCheckpoint(pathOrDir, opts);
    return new TiRex(config, weights, opts);
  }

  /**
   * From in-memory tensors (any environment, e.g. a fetched model.safetensors parsed with
   * parseSafetensors): `hyperParameters` = {model_config, train_ctx_len}; keys with the legacy
   * 'block_stack.' prefix are accepted.
   */
  static async fromTensors(hyperParameters: unknown, tensors: ReadonlyMap<string, Tensor>, opts: TiRexOptions): Promise<TiRex> {
    if (!opts || !opts.backend) throw new Error('TiRex.fromTensors: options.backend (a WasmBackend) is required');
    const config = resolveTiRexConfig(hyperParameters, 'hyperParameters');
    const renamed = new Map<string, Tensor>();
    for (const [k, t] of tensors) {
      const name = k.startsWith(LEGACY_PREFIX) ? k.slice(LEGACY_PREFIX.length) : k;
      if (renamed.has(name)) throw new Error(`TiRex.fromTensors: tensor '${name}' is given twice (with and without the '${LEGACY_PREFIX}' prefix)`);
      renamed.set(name, t);
    }
    return new TiRex(config, await loadTiRexWeights(config, tensorMapSource(renamed, '<tensors>')), opts);
  }

  /**
   * Quantile forecast of one series or a batch (ragged allowed; NaN = missing). Each series is
   * handled as the official API does after left NaN padding to a common length.
   */
  forecast(context: number[] | Float32Array | Array<number[] | Float32Array>, opts: TiRexForecastOptions): TiRexForecast {
    const series = normaliseContext(context);
    if (!opts || typeof opts !== 'object') throw new Error('TiRex.forecast: options { predictionLength } are required');
    const H = opts.predictionLength;
    if (typeof H !== 'number' || !Number.isInteger(H) || H <= 0) throw new Error(`TiRex.forecast: predictionLength must be a positive integer, got ${String(H)}`);
    const k = opts.maxAcceleratedRolloutSteps ?? 1;
    if (!Number.isInteger(k) || k < 1) throw new Error(`TiRex.forecast: maxAcceleratedRolloutSteps must be an integer >= 1, got ${String(k)}`);
    const bs = opts.batchSize ?? series.length;
    if (!Number.isInteger(bs) || bs < 1) throw new Error(`TiRex.forecast: batchSize must be an integer >= 1, got ${String(bs)}`);
    const Q = this.config.quantiles.length;
    const B = series.length;
    const quantileData = new Float32Array(B * H * Q);
    const meanData = new Float32Array(B * H);
    for (let s0 = 0; s0 < B; s0 += bs) {
      const chunk = series.slice(s0, s0 + bs);
      const q = this.forecastBatch(chunk, H, k); // [b, H, Q]
      quantileData.set(q, s0 * H * Q);
    }
    const mi = this.config.medianIndex;
    for (let i = 0; i < B * H; i++) meanData[i] = quantileData[i * Q + mi];
    const quantiles: Float32Array[][] = [];
    const mean: Float32Array[] = [];
    for (let s = 0; s < B; s++) {
      const rows: Float32Array[] = [];
      for (let t = 0; t < H; t++) rows.push(quantileData.subarray((s * H + t) * Q, (s * H + t + 1) * Q));
      quantiles.push(rows);
      mean.push(meanData.subarray(s * H, (s + 1) * H));
    }
    return { quantiles, mean, quantileData, meanData, shape: [B, H, Q], quantileLevels: this.config.quantiles };
  }

  /** Releases the heap copies of the weights. */
  dispose(): void {
    const d = (r: DeviceResidual) => { for (const t of Object.values(r)) t.dispose(); };
    d(this.inEmb); d(this.outEmb); this.outNorm.dispose();
    for (const b of this.blocks) {
      for (const t of [b.normSlstm, b.gates, b.groupNorm, b.normFfn, b.projUpGate, b.projUp, b.projDown]) t.dispose();
      const dc = b.cell.deviceCache.get(this.backend);
      if (dc) for (const t of Object.values(dc)) t.dispose();
      b.cell.deviceCache.delete(this.backend);
    }
  }

  // [b series of any lengths] -> [b, H, Q]
  private forecastBatch(series: Float32Array[], H: number, k: number): Float32Array {
    const cfg = this.config;
    const P = cfg.outputPatchSize, Q = cfg.quantiles.length;
    const b = series.length;
    let ctx = series.map((s) => s);
    const patches = Math.ceil(H / P);
    const pred = new Float32Array(b * Q * patches * P); // [b, Q, patches*P]
    const stride = patches * P;
    let done = 0;
    while (done < patches) {
      const steps = Math.min(patches - done, k);
      const r = this.forwardTokens(ctx, steps, false);
      const T = r.numTokens + steps - 1;
      for (let s = 0; s < b; s++) {
        const loc = r.loc[s], scale = r.scale[s];
        for (let q = 0; q < Q; q++) {
          for (let j = 0; j < steps; j++) {
            const tok = T - steps + j;
            const src = ((s * Q + q) * T + tok) * P;
            const dst = (s * Q + q) * stride + (done + j) * P;
            for (let p = 0; p < P; p++) pred[dst + p] = Math.fround(Math.fround(r.quantilePreds[src + p] * scale) + loc);
          }
        }
      }
      done += steps;
      if (done >= patches) break;
      const pad = steps * P;
      ctx = ctx.map((c) => { const n = new Float32Array(c.length + pad); n.set(c); n.fill(NaN, c.length); return n; });
    }
    const out = new Float32Array(b * H * Q);
    for (let s = 0; s < b; s++) for (let t = 0; t < H; t++) for (let q = 0; q < Q; q++) out[(s * H + t) * Q + q] = pred[(s * Q + q) * stride + t];
    return out;
  }

  /**
   * One forward pass of the official `_forecast_single_step` on the given series (window,
   * scaler, patches, model). rollouts = k appends k-1 fully masked tokens. Internal: used by
   * forecast and by the tests (collect = true also returns the hidden states).
   */
  forwardTokens(series: Float32Array[], rollouts = 1, collect = true): TiRexStepIntermediates {
    const be = this.backend, cfg = this.config;
    const B = series.length;
    const Pin = cfg.inputPatchSize, Pout = cfg.outputPatchSize, Q = cfg.quantiles.length, E = cfg.embeddingDim;
    // official: truncate to train_ctx_len, left-pad with NaN up to train_ctx_len, then the
    // patcher left-pads to a multiple of the patch size
    const L0 = cfg.trainCtxLen;
    const T = Math.ceil(L0 / Pin);
    const L = T * Pin;
    const window = new Float32Array(B * L).fill(NaN); // [B, L]
    for (let s = 0; s < B; s++) {
      const x = series[s];
      const n = Math.min(x.length, L0);
      window.set(x.subarray(x.length - n), s * L + (L - n));
    }
    const loc = new Float32Array(B), scale = new Float32Array(B);
    const tokens = new Float32Array(B * L); // [B, T, P]
    for (let s = 0; s < B; s++) {
      const w = window.subarray(s * L, (s + 1) * L);
      let sum = 0, cnt = 0;
      for (let i = 0; i < L; i++) if (!Number.isNaN(w[i])) { sum += w[i]; cnt++; }
      let m = cnt ? Math.fround(sum / cnt) : 0; // nanmean, NaN -> 0
      let sq = 0;
      for (let i = 0; i < L; i++) if (!Number.isNaN(w[i])) { const d = Math.fround(w[i] - m); sq += Math.fround(d * d); }
      let sd = cnt ? Math.fround(Math.sqrt(Math.fround(sq / cnt))) : 1;
      if (sd === 0) sd = Math.fround(Math.abs(m) + SCALER_EPS);
      if (!Number.isFinite(m)) m = 0;
      loc[s] = m; scale[s] = sd;
      for (let i = 0; i < L; i++) tokens[s * L + i] = Math.fround(Math.fround(w[i] - m) / sd);
    }
    const Tp = T + rollouts - 1;
    const inp = be.empty([B, Tp, 2 * Pin]); // [B, T', values | mask]
    const id = inp.data as Float32Array;
    id.fill(0);
    for (let s = 0; s < B; s++) {
      for (let t = 0; t < T; t++) {
        const row = (s * Tp + t) * 2 * Pin;
        for (let p = 0; p < Pin; p++) {
          const v = tokens[(s * T + t) * Pin + p];
          const nan = Number.isNaN(v);
          id[row + p] = nan ? cfg.nanMaskValue : v;
          id[row + Pin + p] = nan ? 0 : 1;
        }
      }
      // rollout tokens: value nan_mask_value, mask 0
      for (let t = T; t < Tp; t++) id.fill(cfg.nanMaskValue, (s * Tp + t) * 2 * Pin, (s * Tp + t) * 2 * Pin + Pin);
    }
    const hiddenStates = collect ? new Float32Array(B * Tp * cfg.numBlocks * E) : new Float32Array(0);
    let h = this.residual(this.inEmb, inp); // [B, T', E]
    inp.dispose();
    const NH = cfg.numHeads;
    this.blocks.forEach((blk, bi) => {
      const n1 = rmsNorm(be, h, { eps: RMS_EPS, weight: blk.normSlstm });
      const g = linear(be, n1, blk.gates); // [B, T', 4E]
      n1.dispose();
      const cell = slstmForward(be, g, blk.cell, { bf16: this.bf16 ? 'tirex' : false, forgetClamp: FORGET_CLAMP, outputLayout: 'BSH' });
      g.dispose(); cell.state.dispose();
      const gn = groupNorm(be, cell.y, NH, { eps: GROUP_NORM_EPS, weight: blk.groupNorm, weightOffset: true });
      cell.y.dispose();
      add(be, h, gn, h);
      gn.dispose();
      const n2 = rmsNorm(be, h, { eps: RMS_EPS, weight: blk.normFfn });
      const a = linear(be, n2, blk.projUpGate); // [B, T', FFN]
      const u = linear(be, n2, blk.projUp);
      n2.dispose();
      silu(be, a, a);
      mul(be, a, u, a);
      u.dispose();
      const d = linear(be, a, blk.projDown); // [B, T', E]
      a.dispose();
      add(be, h, d, h);
      d.dispose();
      if (collect) {
        const hd = h.data as Float32Array;
        for (let r = 0; r < B * Tp; r++) hiddenStates.set(hd.subarray(r * E, (r + 1) * E), (r * cfg.numBlocks + bi) * E);
      }
    });
    const hn = rmsNorm(be, h, { eps: RMS_EPS, weight: this.outNorm });
    h.dispose();
    const o = this.residual(this.outEmb, hn); // [B, T', Q*Pout] quantile-major
    hn.dispose();
    const od = o.data as Float32Array;
    const quantilePreds = new Float32Array(B * Q * Tp * Pout); // [B, Q, T', Pout]
    for (let s = 0; s < B; s++) {
      for (let t = 0; t < Tp; t++) {
        for (let q = 0; q < Q; q++) {
          quantilePreds.set(od.subarray((s * Tp + t) * Q * Pout + q * Pout, (s * Tp + t) * Q * Pout + (q + 1) * Pout), ((s * Q + q) * Tp + t) * Pout);
        }
      }
    }
    o.dispose();
    return { contextWindow: window, loc, scale, tokens, hiddenStates, quantilePreds, numTokens: T };
  }

  // out = W2 relu(W1 x + b1) + b2 + (Wr x + br)
  private residual(r: DeviceResidual, x: Tensor): Tensor {
    const be = this.backend;
    const hid = linear(be, x, r.w1, r.b1);
    relu(be, hid, hid);
    const out = linear(be, hid, r.w2, r.b2);
    hid.dispose();
    const res = linear(be, x, r.wr, r.br);
    add(be, out, res, out);
    res.dispose();
    return out;
  }
}

function normaliseContext(context: unknown): Float32Array[] {
  const bad = (why: string) => new Error(`TiRex.forecast: context ${why}`);
  if (context instanceof Float32Array || (Array.isArray(context) && (context.length === 0 || typeof context[0] === 'number'))) {
    return [checkSeries(Float32Array.from(context as ArrayLike<number>), 0, true)];
  }
  if (!Array.isArray(context)) throw bad(`must be a series (number[] | Float32Array) or a list of series, got ${context === null ? 'null' : typeof context}`);
  if (context.length === 0) throw bad('must hold at least one series, got an empty list');
  return context.map((s, i) => {
    if (!(s instanceof Float32Array) && !Array.isArray(s)) throw bad(`[${i}] must be number[] or Float32Array, got ${s === null ? 'null' : typeof s}`);
    if (Array.isArray(s) && s.some((v) => typeof v !== 'number')) throw bad(`[${i}] must contain only numbers (NaN for missing)`);
    return checkSeries(Float32Array.from(s as ArrayLike<number>), i, false);
  });
}

function checkSeries(x: Float32Array, i: number, single: boolean): Float32Array {
  const name = single ? 'context' : `context[${i}]`;
  if (x.length === 0) throw new Error(`TiRex.forecast: ${name} is empty (length 0); every series needs at least one observed value`);
  let observed = 0;
  for (let j = 0; j < x.length; j++) {
    if (x[j] === Infinity || x[j] === -Infinity) throw new Error(`TiRex.forecast: ${name}[${j}] is ${x[j]}; values must be finite or NaN (missing)`);
    if (!Number.isNaN(x[j])) observed++;
  }
  if (observed === 0) throw new Error(`TiRex.forecast: ${name} has no observed value (all ${x.length} values are NaN)`);
  return x;
}
