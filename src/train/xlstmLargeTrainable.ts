// Trainable xLSTM Large / xLSTM-7B: the one model definition (src/models/xlstmLarge/network.ts,
// built from the shared blocks of src/blocks) run with one Parameter per entry of the weight
// table (xlstmLargeTable, src/models/xlstmLarge/weights.ts) (Hugging Face layout
// `backbone.embeddings.weight`, or the native xlstm_large layout `embedding.weight`; weight_mode
// "single" or "fused" names), so weights load from and save to files XLSTMLarge reads.
//
//   x = embedding(ids); per block: x += mLSTMLayer(RMSNorm(x)); x += FFN(RMSNorm(x))
//   logits = softcap(lm_head(RMSNorm(x)), output_logit_soft_cap)
//   loss = mean CE(logits[:, :-1], ids[:, 1:])  (on the soft-capped logits, as HF xLSTMForCausalLM)
// mLSTM layer: q, k, v, o = W x; i, f = softcap(W x + b, gate_soft_cap); h = mLSTM(q, k, v, i, f)
// per head; y = out_proj(sigmoid(o) * MultiHeadLayerNorm(h)). FFN: down(silu(up_gate x) * up x).
//
// The cell runs in the chunkwise form with the config's chunk_size (the training form of the
// official kernels, from the zero state m = 0). A sequence length that is not a multiple of
// chunk_size is padded at the end with zero q/k/v/gates and the padded outputs are dropped (the
// official 'train_with_padding' mode; causal, so the real positions are unchanged).
// Gradient of the normaliser max(|q n|, exp(-m)): the chunkwise_kernel names the official backward.
// '*native_autograd' kernels are torch autograd through the native forward, which differentiates the
// normaliser ('exact' mode); the custom-backward / Triton kernels treat it as a constant ('official').
//
// Initialisation: the official xlstm_large model.py has no reset_parameters (xLSTMLarge relies on
// torch's module defaults), so init follows those defaults: Linear weights and biases
// U(+-1/sqrt(in_features)), Embedding N(0, 1), norm weights 1, norm biases 0. Deviations (from the
// xLSTM 7B training recipe, so a fresh model's memory neither explodes nor forgets at once):
// input-gate bias -10 and forget-gate bias linspace(3, 6) over the heads.
//
// Weight decay rule (xLSTM Large has no official decay groups; this mirrors the xLSTMLMModel one):
// tensors with ndim >= 2 are decayed (projections, gate weights, lm_head), ndim == 1 ones (norm
// weights and biases, linear biases) are not, and the embedding (also when tied as the LM head) is
// decayed only with the option decayEmbedding.
import { Tensor } from '../tensor/tensor.js';
import { Tape, Var, Parameter } from '../autograd/index.js';
import type { TapeDType } from '../autograd/index.js';
import { Rng } from '../optim/optim.js';
import { serializeSafetensors, parseSafetensors } from '../io/safetensors.js';
import type { SafetensorsSource } from '../io/safetensors.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { resolveXLSTMLargeConfig } from '../models/xlstmLarge/config.js';
import type { XLSTMLargeConfig, XLSTMLargeConfigInput } from '../models/xlstmLarge/config.js';
import { XLSTMLarge } from '../models/xlstmLarge/model.js';
import { xlstmLargeTable, checkpointLayout } from '../models/xlstmLarge/weights.js';
import { xlstmLargeNetwork } from '../models/xlstmLarge/network.js';
import { matchTensorInfos, shapeText } from '../models/weightTable.js';
import { nextTokenLoss } from '../blocks/basic.js';
import type { TokenBatch } from './textData.js';

/** Checkpoint naming: Hugging Face xLSTMForCausalLM or the native xlstm_large state dict. */
export type XLSTMLargeLayout = 'hf' | 'native';

export interface XLSTMLargeTrainableOptions {
  /** Parameter precision = the tape's (default 'f32'). */
  dtype?: TapeDType;
  /** Names of the saved tensors (default 'hf'; fromTensors/fromSafetensors: what the file uses). */
  layout?: XLSTMLargeLayout;
  /** Weight-decay the embedding too (default false; see the header). */
  decayEmbedding?: boolean;
  /** Gradient of the mLSTM normaliser (default: from config.chunkwise_kernel, see the header). */
  mlstmGradMode?: 'official' | 'exact';
}

export interface XLSTMLargeInitOptions extends XLSTMLargeTrainableOptions {
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

type InitKind = 'linear' | 'embedding' | 'ones' | 'zeros' | 'bias' | 'igateBias' | 'fgateBias';

/** One parameter: official name, shape, torch fan_in (for the default init), init kind. */
export interface XLSTMLargeParamSpec { name: string; shape: number[]; init: InitKind; fanIn: number }

/** Every parameter of `cfg` in the official state_dict order, under `layout` names (the weight table's entries; role = init kind). */
export function xlstmLargeParamSpecs(cfg: XLSTMLargeConfig, layout: XLSTMLargeLayout = 'hf'): XLSTMLargeParamSpec[] {
  return xlstmLargeTable(cfg, layout).specs.map((s) => ({ name: s.name, shape: [...s.shape], init: s.role as InitKind, fanIn: s.fanIn! }));
}

/** The layout of a set of tensor names, from where the embedding lives. */
function detectLayout(has: (n: string) => boolean, names: () => string[], fn: string): XLSTMLargeLayout {
  const layout = checkpointLayout(has);
  if (layout) return layout;
  throw new Error(`${fn}: no embedding tensor: expected backbone.embeddings.weight (Hugging Face) or embedding.weight (xlstm_large); got ${names().slice(0, 5).join(', ') || 'no tensors'}`);
}

/** The official config.json fields of a resolved config (derived sizes dropped, unset token ids omitted). */
export function xlstmLargeConfigJson(cfg: XLSTMLargeConfig, layout: XLSTMLargeLayout = 'hf'): Record<string, unknown> {
  const { qk_dim: _a, v_dim: _b, qk_head_dim: _c, v_head_dim: _d, ffn_up_proj_dim: _e, ...official } = cfg;
  const out: Record<string, unknown> = {};
  if (layout === 'hf') Object.assign(out, { architectures: ['xLSTMForCausalLM'], model_type: 'xlstm' });
  for (const [k, v] of Object.entries(official)) if (v !== null || (k !== 'pad_token_id' && k !== 'bos_token_id' && k !== 'eos_token_id')) out[k] = v;
  // transformers' xLSTMConfig spells these two its own way too; both agree
  if (layout === 'hf') Object.assign(out, { hidden_size: cfg.embedding_dim, num_hidden_layers: cfg.num_blocks });
  return out;
}

const resolve = (c: XLSTMLargeConfigInput | XLSTMLargeConfig): XLSTMLargeConfig =>
  Object.isFrozen(c) && 'ffn_up_proj_dim' in c ? (c as XLSTMLargeConfig) : resolveXLSTMLargeConfig(c as XLSTMLargeConfigInput);


export class XLSTMLargeTrainable {
  /** All parameters in the official state_dict order (a tied LM head is the embedding itself). */
  readonly params: Parameter[];
  private readonly p = new Map<string, Parameter>();
  private readonly embName: string;
  /** Gradient mode of the mLSTM cell (see the header). */
  readonly mlstmGradMode: 'official' | 'exact';

  private constructor(readonly config: XLSTMLargeConfig, tensors: Map<string, Tensor>, readonly layout: XLSTMLargeLayout, readonly dtype: TapeDType, o: XLSTMLargeTrainableOptions) {
    if (dtype !== 'f32' && dtype !== 'f64') throw new RangeError(`XLSTMLargeTrainable: dtype must be 'f32' or 'f64', got ${String(dtype)}`);
    if (o.mlstmGradMode !== undefined && o.mlstmGradMode !== 'official' && o.mlstmGradMode !== 'exact') throw new RangeError(`XLSTMLargeTrainable: mlstmGradMode must be 'official' or 'exact', got ${String(o.mlstmGradMode)}`);
    this.mlstmGradMode = o.mlstmGradMode ?? (config.chunkwise_kernel.endsWith('native_autograd') ? 'exact' : 'official');
    const table = xlstmLargeTable(config, layout);
    this.embName = table.specs[0].name;
    // the weight table's strict check; an unknown name is a checkpoint of another config or a typo
    const m = matchTensorInfos(table, tensors);
    const { missing, misshaped, unexpected: unknown, badDtype } = m.problems;
    if (unknown.length) {
      throw new Error(`XLSTMLargeTrainable: unknown tensor${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''} (not a parameter of this config: weight_mode "${config.weight_mode}", use_bias ${config.use_bias}, tie_word_embeddings ${config.tie_word_embeddings}, add_out_norm ${config.add_out_norm}, num_blocks ${config.num_blocks}, ${layout} names)`);
    }
    if (missing.length) throw new Error(`XLSTMLargeTrainable: missing tensor ${missing[0].name} (expected shape ${shapeText(missing[0].shape)})`);
    if (misshaped.length) throw new Error(`XLSTMLargeTrainable: tensor ${misshaped[0].file} has shape ${shapeText(misshaped[0].shape)}, expected ${shapeText(misshaped[0].spec.shape)}`);
    if (badDtype.length) throw new Error(`XLSTMLargeTrainable: tensor ${badDtype[0].file} has dtype ${badDtype[0].dtype}, expected a float format (f32, f64, bf16, f16)`);
    this.params = [];
    for (const [name, { spec: s, file }] of m.matches) {
      const t = tensors.get(file)!;
      const data = dtype === 'f64' ? Float64Array.from(t.toFloat64()) : Float32Array.from(t.toFloat32());
      const decay = name === this.embName ? !!o.decayEmbedding : s.shape.length >= 2;
      const par = new Parameter(new Tensor(dtype, [...s.shape], data), name, decay);
      this.params.push(par);
      this.p.set(name, par);
    }
  }

  /** From tensors by official name (either layout, detected from the embedding's name; any float dtype; copied). */
  static fromTensors(config: XLSTMLargeConfigInput | XLSTMLargeConfig, tensors: Map<string, Tensor> | Record<string, Tensor>, o: XLSTMLargeTrainableOptions = {}): XLSTMLargeTrainable {
    const m = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    const layout = detectLayout((n) => m.has(n), () => [...m.keys()], 'XLSTMLargeTrainable.fromTensors');
    return new XLSTMLargeTrainable(resolve(config), m, layout, o.dtype ?? 'f32', o);
  }

  /** From safetensors bytes or any SafetensorsSource (e.g. a sharded HF checkpoint) with the official names. */
  static async fromSafetensors(config: XLSTMLargeConfigInput | XLSTMLargeConfig, src: Uint8Array | SafetensorsSource, o: XLSTMLargeTrainableOptions = {}): Promise<XLSTMLargeTrainable> {
    const s = src instanceof Uint8Array ? parseSafetensors(src, { source: 'XLSTMLargeTrainable' }) : src;
    const cfg = resolve(config);
    const layout = detectLayout((n) => s.has(n), () => s.names(), 'XLSTMLargeTrainable.fromSafetensors');
    const m = new Map<string, Tensor>();
    for (const n of s.names()) m.set(n, await s.read(n));
    return new XLSTMLargeTrainable(cfg, m, layout, o.dtype ?? 'f32', o);
  }

  /** Loads a model folder (config.json + model.safetensors or shards), e.g. to fine-tune. Node only. */
  static async fromPretrained(dir: string, o: XLSTMLargeTrainableOptions = {}): Promise<XLSTMLargeTrainable> {
    const [{ readFile }, { join }, { openSafetensorsModel }] = await Promise.all([
      import('node:fs/promises'), import('node:path'), import('../io/safetensorsSharded.js'),
    ]);
    const cfgPath = join(dir, 'config.json');
    let raw: unknown;
    try { raw = JSON.parse(await readFile(cfgPath, 'utf8')); } catch (e) { throw new Error(`XLSTMLargeTrainable.fromPretrained: cannot read ${cfgPath}: ${(e as Error).message}`); }
    const src = await openSafetensorsModel(dir);
    try { return await XLSTMLargeTrainable.fromSafetensors(raw as XLSTMLargeConfigInput, src, o); } finally { await src.close(); }
  }

  /** Fresh weights (see the header for the rule and its deviations from torch's defaults). */
  static init(config: XLSTMLargeConfigInput | XLSTMLargeConfig, o: XLSTMLargeInitOptions = {}): XLSTMLargeTrainable {
    const cfg = resolve(config);
    const layout = o.layout ?? 'hf';
    if (layout !== 'hf' && layout !== 'native') throw new RangeError(`XLSTMLargeTrainable.init: layout must be 'hf' or 'native', got ${String(layout)}`);
    const r = new Rng(o.seed ?? 0);
    const NH = cfg.num_heads;
    const m = new Map<string, Tensor>();
    const fgate = (n: number, off: number) => Float32Array.from({ length: n }, (_, j) => (NH > 1 ? 3 + (3 * ((j + off) % NH)) / (NH - 1) : 3));
    for (const s of xlstmLargeParamSpecs(cfg, layout)) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const uniform = (bound: number) => Float32Array.from({ length: n }, () => (2 * r.uniform() - 1) * bound);
      let d: Float32Array;
      switch (s.init) {
        case 'embedding': d = r.normalArray(n, 1); break;
        case 'linear': case 'bias': d = uniform(1 / Math.sqrt(s.fanIn)); break;
        case 'ones': d = new Float32Array(n).fill(1); break;
        case 'zeros': d = new Float32Array(n); break;
        case 'fgateBias': d = fgate(n, 0); break;
        case 'igateBias':
          // fused ifgate bias: rows input gate | forget gate
          d = new Float32Array(n).fill(-10);
          if (n === 2 * NH && cfg.weight_mode === 'fused') d.set(fgate(NH, 0), NH);
          break;
      }
      m.set(s.name, new Tensor('f32', s.shape, d));
    }
    return new XLSTMLargeTrainable(cfg, m, layout, o.dtype ?? 'f32', o);
  }

  /** A parameter by official name. */
  param(name: string): Parameter {
    const p = this.p.get(name);
    if (!p) throw new Error(`XLSTMLargeTrainable: no parameter ${name}`);
    return p;
  }

  /** The weights by official name (the live tensors). */
  stateDict(): Map<string, Tensor> { return new Map(this.params.map((p) => [p.name!, p.value])); }

  /** The weights as a safetensors file (f32 unless the parameters are f64). */
  toSafetensors(metadata: Record<string, string> = {}): Uint8Array { return serializeSafetensors(this.stateDict(), { format: 'pt', ...metadata }); }

  /** The official config.json (HF layout: with model_type "xlstm"; loadable by loadLanguageModel). */
  configJson(): Record<string, unknown> { return xlstmLargeConfigJson(this.config, this.layout); }

  /** The inference model with a copy of the current weights. */
  async toInference(backend: WasmBackend): Promise<XLSTMLarge> {
    return XLSTMLarge.fromSource(parseSafetensors(this.toSafetensors()), this.config, { backend, matrixDtype: 'f32' });
  }

  /** Soft-capped logits [B, S, V] of ids (i32, [B * S] row-major): the model definition of src/models/xlstmLarge/network.ts. */
  forward(t: Tape, ids: Int32Array, B: number, S: number): Var {
    return xlstmLargeNetwork(t, this.config, (n) => this.p.get(n), ids, B, S, { layout: this.layout, mlstmGradMode: this.mlstmGradMode, who: 'XLSTMLargeTrainable' });
  }

  /** Mean next-token cross-entropy over the B*(S-1) positions, on the soft-capped logits. */
  loss(t: Tape, batch: TokenBatch, _ctx: { rng?: Rng } = {}): Var {
    const { ids, batchSize: B, seqLen: S } = batch;
    if (S < 2) throw new RangeError(`XLSTMLargeTrainable.loss: seqLen must be >= 2, got ${S}`);
    return nextTokenLoss(t, this.forward(t, ids, B, S), ids, B, S);
  }
}
