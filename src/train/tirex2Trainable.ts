// Trainable TiRex-2: the ONE network definition of src/models/tirex2/network.ts run on an f32
// tape with Parameters (by their canonical official names) in place of the inference weights,
// fed by the inference data path (pipeline.ts: rows, window, scaler, tokens). A saved model is
// config.json + model.safetensors that TiRex2.fromPretrained loads.
//
// Training objective: the reference sheet (shared/reference/tirex2.md) does not give the
// official one, so this is the pinball loss over the model's quantile levels on the SCALED
// targets of the horizon: each training window is context + future_len positions laid out
// exactly as one inference call at horizon future_len (targets and past covariates NaN over
// the future, future covariates known), and the quantile outputs of the tokens that forecast
// the future patches (token j forecasts patch j + 1) are scored against the true future in
// the target row's scaled space (arcsinh of the standardised value, or the 0/1 value of a
// binary row; for a row the trend test differences, the differenced future). Covariate rows
// are never scored.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Tape, Var, Parameter } from '../autograd/tape.js';
import { ArgumentError } from '../errors.js';
import { TiRex2Config, resolveTiRex2Config } from '../models/tirex2/config.js';
import { tirex2Table } from '../models/tirex2/weights.js';
import type { WeightSpec } from '../models/weightTable.js';
import { heapParameters } from './tableParameters.js';
import { tirex2Network } from '../models/tirex2/network.js';
import { prepareRows, scaleRows, tokenize, type TiRex2SeriesRows } from '../models/tirex2/pipeline.js';
import { randomTiRex2Weights, tirex2ConfigJson, type TiRex2Sizes } from '../models/tirex2/init.js';
import { quantileLoss } from './forecastLoss.js';

/** One training batch: series laid out as an inference call at horizon future_len, and their true futures. */
export interface TiRex2TrainBatch {
  /** target [V_t][T], past covariates [V_p][T], future covariates [V_f][T + future_len] */
  series: TiRex2SeriesRows[];
  /** per series, per target variate: the next future_len values (NaN = not scored) */
  actual: Float32Array[][];
}

/** Network inputs and scaled targets of a batch (no gradients: they only depend on the data). */
export interface PreparedTiRex2Batch {
  /** [R, L, 2P] */ tokens: Float32Array;
  /** [R, L, P] scaled target patch each token forecasts (NaN = not scored) */ targets: Float32Array;
  group: Float32Array; isTarget: Uint8Array; known: Uint8Array;
  R: number;
  /** target values scored */ scored: number;
}

export interface TiRex2InitOptions { seed?: number }

export interface TiRex2LossOptions {
  /**
   * Also score the context: every target patch after the first observed one is the target of
   * the token before it (TiRex's next-patch objective), besides the horizon (default true).
   */
  scoreContext?: boolean;
}

/** Weights decay; norms and biases do not (the usual AdamW grouping), by the table's roles. */
const NO_DECAY = new Set(['bias', 'igateBias', 'fgateBias', 'slstmBias', 'norm']);
const decays = (spec: WeightSpec): boolean => !NO_DECAY.has(spec.role ?? '');

export class TiRex2Trainable {
  readonly config: TiRex2Config;
  /** The official kwargs (config.json) the saved model carries. */
  readonly configJson: unknown;
  readonly backend: WasmBackend;
  /** By canonical official name, in tirex2Table order. */
  readonly params: ReadonlyMap<string, Parameter>;

  private constructor(be: WasmBackend, configJson: unknown, tensors: ReadonlyMap<string, Tensor>) {
    this.backend = be;
    this.configJson = configJson;
    this.config = resolveTiRex2Config(configJson, 'TiRex2Trainable config');
    this.params = heapParameters(be, tirex2Table(this.config), tensors, decays, 'TiRex2Trainable');
  }

  /** Fresh weights by the official init facts (init.ts), from sizes or a full config object. */
  static create(be: WasmBackend, sizesOrConfig: TiRex2Sizes | Record<string, unknown>, o: TiRex2InitOptions = {}): TiRex2Trainable {
    const json = 'stack_config' in sizesOrConfig ? sizesOrConfig : tirex2ConfigJson(sizesOrConfig as TiRex2Sizes);
    const cfg = resolveTiRex2Config(json, 'TiRex2Trainable.create');
    return new TiRex2Trainable(be, json, randomTiRex2Weights(cfg, o.seed ?? 0));
  }

  /** From a config object and named tensors (official names, e.g. a loaded checkpoint's weights; alias copies must agree). */
  static fromTensors(be: WasmBackend, configJson: unknown, tensors: ReadonlyMap<string, Tensor>): TiRex2Trainable {
    return new TiRex2Trainable(be, configJson, tensors);
  }

  /** Node: a TiRex-2 folder (config.json + model.safetensors, or the legacy files), e.g. to fine-tune. */
  static async fromPretrained(be: WasmBackend, pathOrDir: string): Promise<TiRex2Trainable> {
    const { loadTiRex2Checkpoint } = await import('../models/tirex2/weights.js');
    const ck = await loadTiRex2Checkpoint(pathOrDir);
    return new TiRex2Trainable(be, ck.configJson, ck.weights);
  }

  parameters(): Parameter[] { return [...this.params.values()]; }

  get numParameters(): number { let n = 0; for (const p of this.params.values()) n += p.size; return n; }

  /** Copies of the current weights in JS memory, by canonical name (= the stored safetensors names). */
  tensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, p] of this.params) out.set(n, new Tensor('f32', [...p.shape], Float32Array.from(p.value.data as Float32Array)));
    return out;
  }

  /**
   * Tokens and scaled targets of a batch: pipeline.ts lays the rows out as one inference call
   * at horizon future_len; each target row's true future, in that row's scaled space, goes to
   * the token that forecasts it.
   */
  prepare(batch: TiRex2TrainBatch, o: TiRex2LossOptions = {}): PreparedTiRex2Batch {
    const cfg = this.config, F = cfg.futureLength, P = cfg.patchSize, L = cfg.numTokens, W = cfg.windowLength;
    if (!batch || !Array.isArray(batch.series) || batch.series.length === 0) throw new ArgumentError('TiRex2Trainable.prepare: batch.series must be a non-empty list');
    if (!Array.isArray(batch.actual) || batch.actual.length !== batch.series.length) throw new ArgumentError(`TiRex2Trainable.prepare: batch.actual must hold one entry per series (${batch.series.length}), got ${Array.isArray(batch.actual) ? batch.actual.length : typeof batch.actual}`);
    batch.series.forEach((s, i) => {
      const T = s.target[0]?.length ?? 0;
      if (batch.actual[i].length !== s.target.length) throw new ArgumentError(`TiRex2Trainable.prepare: actual[${i}] has ${batch.actual[i].length} rows, series ${i} has ${s.target.length} target variates`);
      batch.actual[i].forEach((a, v) => { if (a.length !== F) throw new ArgumentError(`TiRex2Trainable.prepare: actual[${i}][${v}] has ${a.length} values, expected future_len ${F}`); });
      s.future.forEach((f, v) => { if (f.length < T + F) throw new ArgumentError(`TiRex2Trainable.prepare: series ${i} future covariate ${v} has ${f.length} values, expected ${T + F} (its ${T} steps + future_len)`); });
    });
    const b = prepareRows(cfg, batch.series, F, cfg.ttaDiff);
    const R = b.R;
    const sc = scaleRows(cfg, b.window, R);
    const tokens = tokenize(cfg, sc.scaled, R);
    const targets = new Float32Array(R * L * P).fill(NaN);
    let scored = 0;
    b.targetRows.forEach(([first, count], si) => {
      for (let v = 0; v < count; v++) {
        const r = first + v, a = batch.actual[si][v];
        const squash = cfg.useArcsinh && !sc.isBinary[r];
        if (o.scoreContext ?? true) {
          // the scaled window holds what the inference scaler made of the row (differenced if the trend test fired)
          let seen = false;
          for (let l = 0; l + 1 < L && (l + 1) * P <= W - F; l++) {
            for (let q = 0; q < P && !seen; q++) if (!Number.isNaN(sc.scaled[r * W + l * P + q])) seen = true;
            if (!seen) continue;
            for (let q = 0; q < P; q++) {
              const z = sc.scaled[r * W + (l + 1) * P + q];
              if (Number.isNaN(z)) continue;
              targets[(r * L + l) * P + q] = z;
              scored++;
            }
          }
        }
        let prev = b.last[r];
        for (let k = 0; k < F; k++) {
          // a differenced row forecasts the steps' differences (the postprocessor integrates them from `last`)
          let y = a[k];
          if (b.isDiff[r]) { const d = a[k] - prev; prev = a[k]; y = d; }
          if (Number.isNaN(y)) continue;
          let z = Math.fround((y - sc.loc[r]) / sc.scale[r]);
          if (squash) z = Math.asinh(z);
          const pos = W - F + k, l = Math.floor(pos / P);
          targets[(r * L + l - 1) * P + (pos % P)] = z;
          scored++;
        }
      }
    });
    return { tokens, targets, group: b.group, isTarget: b.isTarget, known: b.known, R, scored };
  }

  /** Forward on the tape: tokens [R, L, 2P] -> head output [R, L, Q*P] (scaled space). */
  forward(t: Tape, p: PreparedTiRex2Batch): Var {
    const cfg = this.config;
    if (t.dtype !== 'f32') throw new ArgumentError(`TiRex2Trainable.forward: the tape must be f32 (parameters are f32 on the heap), got ${t.dtype}`);
    const x = t.input(new Tensor('f32', [p.R, cfg.numTokens, 2 * cfg.patchSize], p.tokens));
    const param = (n: string): Var => {
      const v = this.params.get(n);
      if (!v) throw new Error(`TiRex2Trainable: the network asked for '${n}', which the weight table does not have`);
      return v;
    };
    return tirex2Network(t, cfg, param, x, { group: p.group, isTarget: p.isTarget, known: p.known });
  }

  /** Mean pinball loss of a batch on the tape (tape.backward(loss) for gradients). */
  loss(t: Tape, batch: TiRex2TrainBatch | PreparedTiRex2Batch, o: TiRex2LossOptions = {}): { loss: Var; pred: Var; prepared: PreparedTiRex2Batch; scored: number } {
    const prepared = 'tokens' in batch ? batch : this.prepare(batch, o);
    const pred = this.forward(t, prepared);
    const { loss, scored } = quantileLoss(t, pred, prepared.targets, this.config.quantiles);
    return { loss, pred, prepared, scored };
  }
}
