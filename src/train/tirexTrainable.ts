// Trainable TiRex: Parameters by the official state_dict names of the weight table
// (tirexTable, src/models/tirex/weights.ts) run through the one TiRex model definition
// (src/models/tirex/network.ts, built from src/blocks), with plain f32 sLSTM recurrence.
// `save(dir)` writes model.safetensors + config.json that TiRex.fromPretrained loads (and a
// TiRex checkpoint's tensors load here for fine-tuning). What is left here is only what
// training adds: initialisation, decay groups, batch preparation and the loss.
//
// Training objective (TiRex paper): every token's output forecasts the NEXT patch; the loss
// is the pinball loss over the 9 levels on those target patches, in the scaled space of the
// window. Contiguous patch masking replaces input patches by the masked token; they still
// serve as targets, and masked runs at the end teach the multi-patch rollout.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Tape, Var, Parameter } from '../autograd/tape.js';
import { Rng } from '../optim/optim.js';
import { TiRexConfig, TiRexHyperParametersJson, resolveTiRexConfig } from '../models/tirex/config.js';
import { tirexTable } from '../models/tirex/weights.js';
import { tirexNetwork } from '../models/tirex/network.js';
import type { WeightSpec } from '../models/weightTable.js';
import { heapParameters } from './tableParameters.js';
import { quantileLoss } from './forecastLoss.js';
import type { ForecastBatch } from './forecastData.js';

// As the inference scaler (src/models/tirex/model.ts windowScaler).
const SCALER_EPS = 1e-5;
/** Scaled targets are clipped to +-this (see prepare). */
export const TARGET_CLIP = 20;

/** Model sizes of a TiRex to train (the official hyper-parameters, camelCased). */
export interface TiRexSizes {
  embeddingDim: number;
  numHeads: number;
  numBlocks: number;
  /** Hidden width of the input/output residual MLPs. */
  inputFfDim: number;
  /** Input = output patch size (default 32). */
  patchSize?: number;
  /** Context window in values = train_ctx_len (default 2048). */
  contextLength?: number;
  /** Default 0.1..0.9. */
  quantiles?: number[];
  /** FFN width factor (default 2.6667; the width is rounded to a multiple of 64 by the official rule, see configRules.ts). */
  ffnProjFactor?: number;
}

export const DEFAULT_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** {model_config, train_ctx_len} for the sizes: what config.json holds and TiRex.fromPretrained reads. */
export function tirexHyperParameters(s: TiRexSizes): TiRexHyperParametersJson {
  const P = s.patchSize ?? 32;
  return {
    model_config: {
      input_patch_size: P,
      output_patch_size: P,
      quantiles: [...(s.quantiles ?? DEFAULT_QUANTILES)],
      block_kwargs: { embedding_dim: s.embeddingDim, num_heads: s.numHeads, num_blocks: s.numBlocks, ...(s.ffnProjFactor !== undefined ? { ffn_proj_factor: s.ffnProjFactor } : {}) },
      input_ff_dim: s.inputFfDim,
    },
    train_ctx_len: s.contextLength ?? 2048,
  };
}

/** Scaled inputs and targets of a batch (no gradients: they only depend on the data). */
export interface PreparedForecastBatch {
  /** [B, T, 2P] token features: scaled values (masked/missing -> nan_mask_value) | mask bits. */
  tokens: Float32Array;
  /** [B, T, P] scaled target patch of every token (NaN = not scored). */
  targets: Float32Array;
  /** [B] window statistics (as the inference scaler computes them over the unmasked context). */
  loc: Float32Array;
  scale: Float32Array;
  batchSize: number;
  numTokens: number;
}

export interface TiRexInitOptions {
  seed?: number;
}

/** A TiRex whose parameters live on one wasm backend and train on f32 tapes. */
export class TiRexTrainable {
  readonly config: TiRexConfig;
  readonly hyperParameters: TiRexHyperParametersJson;
  readonly backend: WasmBackend;
  /** By official state_dict name, in weight-table order. */
  readonly params: ReadonlyMap<string, Parameter>;

  private constructor(be: WasmBackend, hp: TiRexHyperParametersJson, tensors: ReadonlyMap<string, Tensor>) {
    this.backend = be;
    this.hyperParameters = hp;
    this.config = resolveTiRexConfig(hp, 'TiRexTrainable');
    // the weight table's strict check (legacy 'block_stack.' names accepted) before anything is placed
    const params = heapParameters(be, tirexTable(this.config), tensors, decays, 'TiRexTrainable');
    this.params = params;
  }

  /** Fresh weights (xLSTM-style init: small-init linears, zero recurrent kernels, forget-gate bias 3..6). */
  static create(be: WasmBackend, sizes: TiRexSizes | TiRexHyperParametersJson, o: TiRexInitOptions = {}): TiRexTrainable {
    const hp = 'model_config' in sizes ? sizes : tirexHyperParameters(sizes);
    const cfg = resolveTiRexConfig(hp, 'TiRexTrainable.create');
    return new TiRexTrainable(be, hp, initTensors(cfg, new Rng(o.seed ?? 0)));
  }

  /** From named tensors (official names, e.g. a saved or converted TiRex): fine-tuning and resume. */
  static fromTensors(be: WasmBackend, hyperParameters: TiRexHyperParametersJson, tensors: ReadonlyMap<string, Tensor>): TiRexTrainable {
    return new TiRexTrainable(be, hyperParameters, tensors);
  }

  /** Node: loads model.safetensors + config.json (or model.ckpt) like TiRex.fromPretrained. */
  static async fromPretrained(be: WasmBackend, pathOrDir: string): Promise<TiRexTrainable> {
    const { loadTiRexCheckpoint } = await import('../models/tirex/weights.js');
    const fs = await import('node:fs/promises');
    const pathMod = await import('node:path');
    const ck = await loadTiRexCheckpoint(pathOrDir);
    const dir = (await fs.stat(pathOrDir)).isDirectory() ? pathOrDir : pathMod.dirname(pathOrDir);
    let hp: TiRexHyperParametersJson;
    try { hp = JSON.parse(await fs.readFile(pathMod.join(dir, 'config.json'), 'utf8')); } catch { hp = configToHyperParameters(ck.config); }
    const tensors = ck.weights.tensors;
    return new TiRexTrainable(be, hp, tensors);
  }

  /** All parameters (for the optimiser). */
  parameters(): Parameter[] { return [...this.params.values()]; }

  /** Number of trainable values. */
  get numParameters(): number { let n = 0; for (const p of this.params.values()) n += p.size; return n; }

  /** Copies of the current weights in JS memory, by official name. */
  tensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, p] of this.params) out.set(n, new Tensor('f32', p.shape, Float32Array.from(p.value.data as Float32Array)));
    return out;
  }

  /** Overwrites the weights in place (e.g. from a checkpoint); names and shapes must match. */
  loadTensors(tensors: ReadonlyMap<string, Tensor>): void {
    for (const [n, p] of this.params) {
      const t = tensors.get(n);
      if (!t) throw new Error(`TiRexTrainable.loadTensors: tensor '${n}' is missing`);
      if (t.size !== p.size) throw new Error(`TiRexTrainable.loadTensors: tensor '${n}' has ${t.size} values, expected ${p.size} ([${p.shape.join(', ')}])`);
      (p.value.data as Float32Array).set(t.toFloat32());
    }
  }

  /** Node: writes dir/model.safetensors + dir/config.json (loadable by TiRex.fromPretrained). */
  async save(dir: string, metadata: Record<string, string> = {}): Promise<{ safetensorsPath: string; configPath: string }> {
    const fs = await import('node:fs/promises');
    const pathMod = await import('node:path');
    const { writeSafetensorsFile } = await import('../io/safetensorsWrite.js');
    await fs.mkdir(dir, { recursive: true });
    const safetensorsPath = pathMod.join(dir, 'model.safetensors');
    const configPath = pathMod.join(dir, 'config.json');
    await writeSafetensorsFile(safetensorsPath, this.tensors(), { format: 'pt', written_by: 'xlstm-ts TiRexTrainable', ...metadata });
    await fs.writeFile(configPath, JSON.stringify(this.hyperParameters, null, 2) + '\n');
    return { safetensorsPath, configPath };
  }

  /**
   * Window statistics, token features and target patches of a batch. The scaler is the
   * inference one (nanmean / nan-std over the context; CPM-masked patches count as missing).
   * A token's target is not scored when no value up to and including it was observed.
   * Scaled targets are clipped to +-targetClip (default TARGET_CLIP).
   */
  prepare(batch: ForecastBatch, o: { targetClip?: number } = {}): PreparedForecastBatch {
    // A near-constant context (e.g. all-zero intermittent demand) has a tiny scale, so its
    // future in scaled units can be 1e5: one such window would dominate the batch's loss.
    const clip = o.targetClip ?? TARGET_CLIP;
    const cfg = this.config;
    const P = cfg.inputPatchSize, B = batch.batchSize, T = batch.numTokens;
    if (batch.patchSize !== P || cfg.outputPatchSize !== P) throw new Error(`TiRexTrainable.prepare: batch patch size ${batch.patchSize} differs from the model's ${P}/${cfg.outputPatchSize}`);
    const W = (T + 1) * P, L = T * P;
    if (batch.windows.length !== B * W) throw new Error(`TiRexTrainable.prepare: windows must have ${B * W} values ([${B}, ${W}]), got ${batch.windows.length}`);
    const tokens = new Float32Array(B * T * 2 * P);
    const targets = new Float32Array(B * T * P).fill(NaN);
    const loc = new Float32Array(B), scale = new Float32Array(B);
    const ctx = new Float32Array(L);
    for (let s = 0; s < B; s++) {
      const w = batch.windows.subarray(s * W, (s + 1) * W);
      ctx.set(w.subarray(0, L));
      for (let t = 0; t < T; t++) if (batch.patchMask[s * T + t]) ctx.fill(NaN, t * P, (t + 1) * P);
      const { m, sd } = nanScaler(ctx);
      loc[s] = m; scale[s] = sd;
      let seen = false;
      for (let t = 0; t < T; t++) {
        const row = ((s * T) + t) * 2 * P;
        for (let p = 0; p < P; p++) {
          const v = Math.fround(Math.fround(ctx[t * P + p] - m) / sd);
          const nan = Number.isNaN(v);
          if (!nan) seen = true;
          tokens[row + p] = nan ? cfg.nanMaskValue : v;
          tokens[row + P + p] = nan ? 0 : 1;
        }
        if (!seen) continue;
        for (let p = 0; p < P; p++) {
          const y = Math.fround(Math.fround(w[(t + 1) * P + p] - m) / sd);
          targets[(s * T + t) * P + p] = y > clip ? clip : y < -clip ? -clip : y;
        }
      }
    }
    return { tokens, targets, loc, scale, batchSize: B, numTokens: T };
  }

  /** Forward on the tape: token features [B, T, 2P] -> quantile patches [B, T, Q*P] (quantile-major, scaled space). */
  forward(t: Tape, tokens: Float32Array, B: number, T: number): Var {
    const P = this.config.inputPatchSize;
    if (t.dtype !== 'f32') throw new Error(`TiRexTrainable.forward: the tape must be f32 (parameters are f32 on the heap), got ${t.dtype}`);
    if (tokens.length !== B * T * 2 * P) throw new Error(`TiRexTrainable.forward: tokens must have ${B * T * 2 * P} values ([${B}, ${T}, ${2 * P}]), got ${tokens.length}`);
    return tirexNetwork(t, this.config, (n) => this.params.get(n), t.input(new Tensor('f32', [B, T, 2 * P], tokens)));
  }

  /** Mean pinball loss of a batch on the tape (call tape.backward(loss) for gradients). */
  loss(t: Tape, batch: ForecastBatch | PreparedForecastBatch): { loss: Var; pred: Var; prepared: PreparedForecastBatch; scored: number } {
    const prepared = 'tokens' in batch ? batch : this.prepare(batch);
    const pred = this.forward(t, prepared.tokens, prepared.batchSize, prepared.numTokens);
    const { loss, scored } = quantileLoss(t, pred, prepared.targets, this.config.quantiles);
    return { loss, pred, prepared, scored };
  }
}

/** The inference scaler over one window (f32 rounding as src/models/tirex/model.ts). */
export function nanScaler(w: ArrayLike<number>): { m: number; sd: number } {
  const L = w.length;
  let sum = 0, cnt = 0;
  for (let i = 0; i < L; i++) if (!Number.isNaN(w[i])) { sum += w[i]; cnt++; }
  let m = cnt ? Math.fround(sum / cnt) : 0;
  let sq = 0;
  for (let i = 0; i < L; i++) if (!Number.isNaN(w[i])) { const d = Math.fround(w[i] - m); sq += Math.fround(d * d); }
  let sd = cnt ? Math.fround(Math.sqrt(Math.fround(sq / cnt))) : 1;
  if (sd === 0) sd = Math.fround(Math.abs(m) + SCALER_EPS);
  if (!Number.isFinite(m)) m = 0;
  return { m, sd };
}

// norms, biases and the group-norm offsets are not weight-decayed (the usual AdamW grouping)
function decays(spec: WeightSpec): boolean {
  return !(spec.role === 'bias' || spec.role === 'slstmBias' || spec.role === 'norm' || spec.role === 'groupNorm');
}

function configToHyperParameters(c: TiRexConfig): TiRexHyperParametersJson {
  return tirexHyperParameters({
    embeddingDim: c.embeddingDim, numHeads: c.numHeads, numBlocks: c.numBlocks, inputFfDim: c.inputFfDim,
    patchSize: c.inputPatchSize, contextLength: c.trainCtxLen, quantiles: [...c.quantiles], ffnProjFactor: c.ffnProjFactor,
  });
}

function initTensors(cfg: TiRexConfig, rng: Rng): Map<string, Tensor> {
  const E = cfg.embeddingDim, NH = cfg.numHeads, DH = cfg.headDim;
  const out = new Map<string, Tensor>();
  // small_init (xLSTM): N(0, 2 / (5 fan_in)); wang_init for the FFN's output projection
  const smallStd = (fanIn: number) => Math.sqrt(2 / (5 * fanIn));
  for (const spec of tirexTable(cfg).specs) {
    const shape = [...spec.shape];
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    switch (spec.role) {
      case 'bias': case 'groupNorm': data = new Float32Array(n); break; // group norm scales by 1 + w
      case 'norm': data = new Float32Array(n).fill(1); break;
      case 'recurrentKernel': data = new Float32Array(n); break;
      case 'slstmBias':
        // [NH, 4, DH] head-major, cell slots i, f, z, o: forget-gate bias linspace(3, 6) per head
        data = new Float32Array(n);
        for (let h = 0; h < NH; h++) for (let d = 0; d < DH; d++) data[(h * 4 + 1) * DH + d] = DH > 1 ? 3 + (3 * d) / (DH - 1) : 3;
        break;
      case 'downProj': data = rng.normalArray(n, 2 / cfg.numBlocks / Math.sqrt(E)); break;
      case 'headwiseGate': data = rng.normalArray(n, smallStd(DH)); break; // [NH, DH, DH]
      default: data = rng.normalArray(n, smallStd(shape[1]));
    }
    out.set(spec.name, new Tensor('f32', shape, data));
  }
  return out;
}
