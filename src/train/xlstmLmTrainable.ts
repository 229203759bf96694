// Trainable xLSTMLMModel: the one model definition of the architecture
// (src/models/xlstmLm/network.ts, NX-AI/xlstm xlstm_lm_model.py, built from the shared blocks
// of src/blocks) run with one Parameter per entry of the weight table (xlstmLmTable: same
// names, shapes and layouts as the official state_dict), so weights load from and save to the
// safetensors files the inference model reads. This file adds only what training needs:
// initialisation, decay groups, loading/saving and the loss.
//
//   x = token_embedding(ids); per block: x += layer(LN(x)); [sLSTM blocks: x += ffn(LN(x))]
//   logits = lm_head(post_blocks_norm(x));  loss = mean CE(logits[:, :-1], ids[:, 1:])
//
// mLSTM layer: (x_m, z) = split(proj_up(x)); xc = silu(conv(x_m)); q, k = headwise(xc),
// v = headwise(x_m); i, f = Linear(cat(q, k, v)); h = outnorm(parallel mLSTM) + skip * xc;
// y = proj_down(h * silu(z)). The cell runs in the parallel form with the 'exact' gradient
// mode: the official model is trained by torch autograd through the old stabilised parallel
// cell, which differentiates the normaliser max(|sum C|, exp(-m)) too.
// sLSTM layer: xc = silu(conv(x)); (i, f, z, o) = (fgate(xc), igate(xc), zgate(x), ogate(x))
// (the official wiring: the module named fgate makes the input gate); y = groupnorm(cell).
// The vanilla checkpoint layouts of R ([NH, 4DH, DH]) and the bias (gate-major) are permuted
// on the tape into the cell's cuda layout, so their gradients come back in the file layout.
//
// Dropout as the official modules place it (embedding when add_embedding_dropout, mLSTM layer
// output, sLSTM cell output before the group norm, FFN output), only when forward/loss get an
// RNG (training mode: the Trainer's ctx.rng, so masks are reproducible and resume exactly);
// without one (evaluation) there is none. Inverted dropout: kept values scaled by 1/(1-p).
//
// Weight decay groups follow the official xLSTMLMModel._create_weight_decay_optim_groups
// (WeightDecayOptimGroupMixin in xlstm/utils.py; experiments/main.py gives the first group
// training.weight_decay and the second 0): in xlstm 1.x tensors with ndim > 1 are decayed and
// ndim == 1 ones (norm weights, biases, learnable_skip, the sLSTM _bias_) are not (decayRule
// 'ndim', the default); later versions decide by name ("weight" in the name and no "norm"),
// which differs only for slstm_cell._recurrent_kernel_ (not decayed; decayRule 'name'). Either
// way token_embedding.weight is decayed only with config.weight_decay_on_embedding.
import { Tensor } from '../tensor/tensor.js';
import { Tape, Var, Parameter } from '../autograd/index.js';
import type { TapeDType } from '../autograd/index.js';
import { Rng } from '../optim/optim.js';
import { serializeSafetensors, parseSafetensors } from '../io/safetensors.js';
import type { SafetensorsSource } from '../io/safetensors.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { resolveXLSTMLMConfig, isResolvedXLSTMLMConfig } from '../models/xlstmLm/config.js';
import type { XLSTMLMConfig, XLSTMLMConfigInput } from '../models/xlstmLm/config.js';
import { xlstmLmTable } from '../models/xlstmLm/weights.js';
import { matchTensorInfos } from '../models/weightTable.js';
import { xlstmLmNetwork } from '../models/xlstmLm/network.js';
import { nextTokenLoss } from '../blocks/basic.js';
import { XLSTMLMModel } from '../models/xlstmLm/model.js';
import type { TokenBatch } from './textData.js';
import { withHeapReclaim } from './trainer.js';

export interface XLSTMLMTrainableOptions {
  /** Parameter precision = the tape's (default 'f32'). */
  dtype?: TapeDType;
  /** Which parameters get weight decay (see the header): 'ndim' (xlstm 1.x, default) or 'name' (later versions). */
  decayRule?: 'ndim' | 'name';
  /**
   * Run the mLSTM cells in the chunkwise form with this chunk length (must divide the sequence
   * length) instead of the official parallel form: O(S * L) instead of O(S^2) memory for long
   * windows. Starts from m = 0 as the recurrent form, so it differs from the parallel form by rounding.
   */
  mlstmChunkSize?: number;
}

/** Parameter.decay of an official tensor name under a decay rule. */
export function xlstmLmDecays(name: string, ndim: number, cfg: XLSTMLMConfig, rule: 'ndim' | 'name' = 'ndim'): boolean {
  if (name === 'token_embedding.weight') return cfg.weight_decay_on_embedding;
  return rule === 'name' ? name.includes('weight') && !name.includes('norm') : ndim > 1;
}

export interface XLSTMLMInitOptions extends XLSTMLMTrainableOptions {
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

/** The block-stack wiring of a resolved config, checked once. */
function checkSupported(cfg: XLSTMLMConfig): void {
  for (const b of cfg.blocks) {
    if (b.kind === 'slstm' && b.feedforward && b.feedforward.act_fn === 'selu') throw new RangeError(`XLSTMLMTrainable: block ${b.blockIdx}: feedforward act_fn 'selu' has no differentiable op`);
    if (b.kind === 'slstm' && b.slstm.function !== 'slstm') throw new RangeError(`XLSTMLMTrainable: block ${b.blockIdx}: sLSTM function '${b.slstm.function}' is not supported (only 'slstm')`);
  }
}

export class XLSTMLMTrainable {
  /** All parameters in the official state_dict order (the tied lm_head is the embedding itself). */
  readonly params: Parameter[];
  private readonly p = new Map<string, Parameter>();

  /** Chunk length of the chunkwise mLSTM form, or undefined for the parallel form. */
  mlstmChunkSize?: number;

  private constructor(readonly config: XLSTMLMConfig, tensors: Map<string, Tensor>, readonly dtype: TapeDType, decayRule: 'ndim' | 'name' = 'ndim', mlstmChunkSize?: number) {
    if (mlstmChunkSize !== undefined && !(Number.isInteger(mlstmChunkSize) && mlstmChunkSize >= 1)) throw new RangeError(`XLSTMLMTrainable: mlstmChunkSize must be a positive integer, got ${mlstmChunkSize}`);
    this.mlstmChunkSize = mlstmChunkSize;
    if (decayRule !== 'ndim' && decayRule !== 'name') throw new RangeError(`XLSTMLMTrainable: decayRule must be 'ndim' or 'name', got ${String(decayRule)}`);
    checkSupported(config);
    this.params = [];
    // the weight table's strict check (a tied lm_head in the map is accepted and not used)
    const m = matchTensorInfos(xlstmLmTable(config), tensors);
    const { missing, misshaped, unexpected, badDtype } = m.problems;
    if (missing.length) throw new Error(`XLSTMLMTrainable: missing tensor ${missing[0].name} [${missing[0].shape.join(', ')}]`);
    if (misshaped.length) throw new Error(`XLSTMLMTrainable: tensor ${misshaped[0].file} has shape [${misshaped[0].shape.join(', ')}], expected [${misshaped[0].spec.shape.join(', ')}]`);
    if (badDtype.length) throw new Error(`XLSTMLMTrainable: tensor ${badDtype[0].file} has dtype ${badDtype[0].dtype}, expected a float format (f32, f64, bf16, f16)`);
    if (unexpected.length) throw new Error(`XLSTMLMTrainable: unexpected tensor${unexpected.length > 1 ? 's' : ''} ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', ...' : ''} (not a parameter of this config)`);
    for (const [name, { spec: s, file }] of m.matches) {
      const t = tensors.get(file)!;
      const data = dtype === 'f64' ? Float64Array.from(t.toFloat64()) : Float32Array.from(t.toFloat32());
      const decay = xlstmLmDecays(name, s.shape.length, config, decayRule);
      const par = new Parameter(new Tensor(dtype, [...s.shape], data), name, decay);
      this.params.push(par);
      this.p.set(name, par);
    }
  }

  static resolve(config: XLSTMLMConfigInput | XLSTMLMConfig): XLSTMLMConfig {
    return isResolvedXLSTMLMConfig(config) ? config : resolveXLSTMLMConfig(config as XLSTMLMConfigInput);
  }

  /** From tensors by official name (any float dtype; copied). */
  static fromTensors(config: XLSTMLMConfigInput | XLSTMLMConfig, tensors: Map<string, Tensor> | Record<string, Tensor>, o: XLSTMLMTrainableOptions = {}): XLSTMLMTrainable {
    const m = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    return new XLSTMLMTrainable(XLSTMLMTrainable.resolve(config), m, o.dtype ?? 'f32', o.decayRule, o.mlstmChunkSize);
  }

  /** From a safetensors file (bytes) or any SafetensorsSource with the official names. */
  static async fromSafetensors(config: XLSTMLMConfigInput | XLSTMLMConfig, src: Uint8Array | SafetensorsSource, o: XLSTMLMTrainableOptions = {}): Promise<XLSTMLMTrainable> {
    const s = src instanceof Uint8Array ? parseSafetensors(src, { source: 'XLSTMLMTrainable' }) : src;
    const cfg = XLSTMLMTrainable.resolve(config);
    const m = new Map<string, Tensor>();
    for (const n of s.names()) m.set(n, await s.read(n)); // every tensor: the constructor's check is strict
    return new XLSTMLMTrainable(cfg, m, o.dtype ?? 'f32', o.decayRule, o.mlstmChunkSize);
  }

  /**
   * Fresh weights in the spirit of the official reset_parameters(): small_init (N(0, 2/(5E)))
   * for the embedding, up-projections, q/k/v and gate projections; wang_init
   * (N(0, (2/num_blocks)^2/E)) for down-projections; norm offsets 0; learnable_skip 1; mLSTM
   * forget-gate bias linspace(3, 6), input-gate weights 0 and bias N(0, 0.1^2); sLSTM recurrent
   * kernel by recurrent_weight_init (0 or U(+-1/sqrt(H))), bias by bias_init (see slstmBiasInit);
   * conv weights/biases uniform(+-1/sqrt(K)) as torch's default.
   */
  static init(config: XLSTMLMConfigInput | XLSTMLMConfig, o: XLSTMLMInitOptions = {}): XLSTMLMTrainable {
    const cfg = XLSTMLMTrainable.resolve(config);
    const r = new Rng(o.seed ?? 0);
    const E = cfg.embedding_dim, NB = cfg.num_blocks;
    const small = Math.sqrt(2 / (5 * E)), wang = 2 / NB / Math.sqrt(E);
    const m = new Map<string, Tensor>();
    for (const s of xlstmLmTable(cfg).specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const name = s.name;
      let d: Float32Array;
      const normal = (std: number) => r.normalArray(n, std);
      const fill = (v: number) => new Float32Array(n).fill(v);
      const uniform = (bound: number) => Float32Array.from({ length: n }, () => (2 * r.uniform() - 1) * bound);
      switch (s.role) {
        case 'norm': d = fill(0); break;
        case 'skip': d = fill(1); break;
        case 'bias': d = fill(0); break;
        case 'conv': case 'convBias': d = uniform(1 / Math.sqrt(s.fanIn!)); break;
        case 'recurrentKernel': {
          const blk = cfg.blocks.find((b) => name.startsWith(`xlstm_block_stack.blocks.${b.blockIdx}.`));
          const std = blk?.kind === 'slstm' && blk.slstm.recurrent_weight_init === 'standard';
          d = std ? uniform(1 / Math.sqrt(E)) : fill(0);
          break;
        }
        case 'mlstmGate': d = fill(0); break;
        case 'fgateBias': d = Float32Array.from({ length: n }, (_, i) => (n > 1 ? 3 + (3 * i) / (n - 1) : 3)); break;
        case 'igateBias': d = normal(0.1); break;
        case 'slstmBias': d = slstmBiasInit(cfg, name, n, r); break;
        case 'downProj': d = normal(wang); break;
        default: d = normal(small); // embeddings, lm_head, proj_up, q/k/v, sLSTM gates
      }
      m.set(name, new Tensor('f32', [...s.shape], d));
    }
    return new XLSTMLMTrainable(cfg, m, o.dtype ?? 'f32', o.decayRule, o.mlstmChunkSize);
  }

  /** A parameter by official name. */
  param(name: string): Parameter {
    const p = this.p.get(name);
    if (!p) throw new Error(`XLSTMLMTrainable: no parameter ${name}`);
    return p;
  }

  /** The weights by official name (the live tensors). */
  stateDict(): Map<string, Tensor> { return new Map(this.params.map((p) => [p.name!, p.value])); }

  /** The weights as a safetensors file (f32 unless the parameters are f64). */
  toSafetensors(metadata: Record<string, string> = {}): Uint8Array { return serializeSafetensors(this.stateDict(), { format: 'pt', ...metadata }); }

  /** The inference model with a copy of the current weights. */
  async toInference(backend: WasmBackend): Promise<XLSTMLMModel> {
    return XLSTMLMModel.fromSource(parseSafetensors(this.toSafetensors()), this.config, { backend });
  }

  /** Logits [B, S, V] of ids (i32, [B * S] row-major): the model definition of src/models/xlstmLm/network.ts. `rng` switches dropout on (training mode). */
  forward(t: Tape, ids: Int32Array, B: number, S: number, rng?: Rng): Var {
    return xlstmLmNetwork(t, this.config, (n) => this.p.get(n), ids, B, S, { rng, mlstmChunkSize: this.mlstmChunkSize, who: 'XLSTMLMTrainable' });
  }

  /**
   * Mean next-token cross-entropy over the B*(S-1) positions (the official LM loss). Pass
   * `{ rng }` (the Trainer's LossContext) to train with the config's dropout.
   */
  loss(t: Tape, batch: TokenBatch, ctx: { rng?: Rng } = {}): Var {
    const { ids, batchSize: B, seqLen: S } = batch;
    if (S < 2) throw new RangeError(`XLSTMLMTrainable.loss: seqLen must be >= 2, got ${S}`);
    return nextTokenLoss(t, this.forward(t, ids, B, S, ctx.rng), ids, B, S);
  }
}

/**
 * sLSTM _bias_ init by slstm.bias_init, in the file layout (vanilla (g, h, d), cuda (h, g, d)),
 * as the official cell's reset_bias: 'powerlaw_blockdependent' sets the forget gate to
 * -(-5 + 12 (d/(DH-1))^(0.3 + 1.3 block_idx/(num_blocks-1))), 'small_init' to linspace(3, 6, DH),
 * 'standard' draws every bias from U(+-1/sqrt(H)), 'zeros' leaves all at 0.
 */
function slstmBiasInit(cfg: XLSTMLMConfig, name: string, n: number, r: Rng): Float32Array {
  const b = cfg.blocks.find((bb) => name.startsWith(`xlstm_block_stack.blocks.${bb.blockIdx}.`));
  if (!b || b.kind !== 'slstm') throw new Error(`slstmBiasInit: ${name} is not in an sLSTM block`);
  const NH = b.slstm.num_heads, H = n / 4, DH = H / NH, NB = cfg.num_blocks;
  const out = new Float32Array(n);
  const init = b.slstm.bias_init;
  if (init === 'zeros') return out;
  if (init === 'standard') { const bound = 1 / Math.sqrt(H); for (let i = 0; i < n; i++) out[i] = (2 * r.uniform() - 1) * bound; return out; }
  const ratio = NB > 1 ? b.blockIdx / (NB - 1) : 0;
  const vanilla = b.slstm.backend === 'vanilla';
  for (let h = 0; h < NH; h++) {
    for (let d = 0; d < DH; d++) {
      const pos = DH > 1 ? d / (DH - 1) : 0;
      const v = init === 'small_init' ? 3 + 3 * pos : -(-5 + 12 * Math.pow(pos, 0.3 + 1.3 * ratio));
      out[vanilla ? (1 * NH + h) * DH + d : (h * 4 + 1) * DH + d] = v;
    }
  }
  return out;
}

/**
 * Mean next-token loss over batches (weighted by their B*(S-1) targets), forward only, for any
 * trainable LM (XLSTMLMTrainable, XLSTMLargeTrainable): the tape records nothing that is kept
 * (cleared after each batch). For validation hooks.
 */
export function evaluateLmLoss(model: { dtype: TapeDType; loss(t: Tape, b: TokenBatch): Var }, backend: WasmBackend | null, batches: readonly TokenBatch[]): number {
  if (batches.length === 0) throw new RangeError('evaluateLmLoss: no batches');
  let sum = 0, n = 0;
  for (const b of batches) {
    const w = b.batchSize * (b.seqLen - 1);
    // the batch's heap intermediates are freed right away (GC finalizers alone run too rarely)
    sum += withHeapReclaim(backend, () => {
      const t = new Tape(backend, model.dtype);
      const l = Number(model.loss(t, b).data[0]);
      t.clear();
      return l;
    }) * w;
    n += w;
  }
  return sum / n;
}
