// Trainable xLSTMLMModel: the architecture of src/models/xlstmLm (NX-AI/xlstm,
// xlstm_lm_model.py) built from differentiable tape ops, one Parameter per official
// state_dict tensor (same names, shapes and layouts), so weights load from and save to the
// safetensors files the inference model reads.
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
import { Tape, Var, Parameter, ag, agMlstmParallel, agMlstmChunkwise, agSlstm } from '../autograd/index.js';
import type { TapeDType } from '../autograd/index.js';
import { Rng } from '../optim/optim.js';
import { serializeSafetensors, parseSafetensors } from '../io/safetensors.js';
import type { SafetensorsSource } from '../io/safetensors.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { resolveXLSTMLMConfig, isResolvedXLSTMLMConfig } from '../models/xlstmLm/config.js';
import type { XLSTMLMConfig, XLSTMLMConfigInput, FeedForwardActFn } from '../models/xlstmLm/config.js';
import { xlstmLmTensorSpecs } from '../models/xlstmLm/weights.js';
import { XLSTMLMModel } from '../models/xlstmLm/model.js';
import type { TokenBatch } from './textData.js';
import { withHeapReclaim } from './trainer.js';

/** eps of every LayerNorm / MultiHeadLayerNorm of the library, and of the mLSTM cell. */
const LN_EPS = 1e-5, MLSTM_EPS = 1e-6;

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
    for (const s of xlstmLmTensorSpecs(config)) {
      const t = tensors.get(s.name);
      if (!t) throw new Error(`XLSTMLMTrainable: missing tensor ${s.name} [${s.shape.join(', ')}]`);
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) throw new Error(`XLSTMLMTrainable: tensor ${s.name} has shape [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
      const data = dtype === 'f64' ? Float64Array.from(t.toFloat64()) : Float32Array.from(t.toFloat32());
      const decay = xlstmLmDecays(s.name, s.shape.length, config, decayRule);
      const par = new Parameter(new Tensor(dtype, s.shape, data), s.name, decay);
      this.params.push(par);
      this.p.set(s.name, par);
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
    for (const spec of xlstmLmTensorSpecs(cfg)) if (s.has(spec.name)) m.set(spec.name, await s.read(spec.name));
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
    for (const s of xlstmLmTensorSpecs(cfg)) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const name = s.name;
      let d: Float32Array;
      const normal = (std: number) => r.normalArray(n, std);
      const fill = (v: number) => new Float32Array(n).fill(v);
      if (/norm\.weight$|outnorm\.weight$/.test(name)) d = fill(0);
      else if (name.endsWith('learnable_skip')) d = fill(1);
      else if (name.endsWith('.bias') && !name.includes('mlstm_cell') && !name.includes('conv1d')) d = fill(0);
      else if (name.endsWith('conv1d.conv.weight') || name.endsWith('conv1d.conv.bias')) {
        const K = name.endsWith('weight') ? s.shape[2] : (cfg.blocks.find((b) => name.startsWith(`xlstm_block_stack.blocks.${b.blockIdx}.`))!.kind === 'mlstm' ? cfg.mlstm_block!.mlstm.conv1d_kernel_size : cfg.slstm_block!.slstm.conv1d_kernel_size);
        const bound = 1 / Math.sqrt(K);
        d = Float32Array.from({ length: n }, () => (2 * r.uniform() - 1) * bound);
      } else if (name.endsWith('_recurrent_kernel_')) {
        const blk = cfg.blocks.find((b) => name.startsWith(`xlstm_block_stack.blocks.${b.blockIdx}.`));
        const std = blk?.kind === 'slstm' && blk.slstm.recurrent_weight_init === 'standard';
        d = std ? Float32Array.from({ length: n }, () => (2 * r.uniform() - 1) / Math.sqrt(E)) : fill(0);
      } else if (name.endsWith('mlstm_cell.fgate.weight') || name.endsWith('mlstm_cell.igate.weight')) d = fill(0);
      else if (name.endsWith('mlstm_cell.fgate.bias')) d = Float32Array.from({ length: n }, (_, i) => (n > 1 ? 3 + (3 * i) / (n - 1) : 3));
      else if (name.endsWith('mlstm_cell.igate.bias')) d = normal(0.1);
      else if (name.endsWith('slstm_cell._bias_')) d = slstmBiasInit(cfg, name, n, r);
      else if (name.endsWith('proj_down.weight')) d = normal(wang);
      else d = normal(small); // embeddings, lm_head, proj_up, q/k/v, sLSTM gates
      m.set(name, new Tensor('f32', s.shape, d));
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

  /** Logits [B, S, V] of ids (i32, [B * S] row-major). `rng` switches dropout on (training mode). */
  forward(t: Tape, ids: Int32Array, B: number, S: number, rng?: Rng): Var {
    const cfg = this.config, V = cfg.vocab_size;
    if (ids.length !== B * S) throw new RangeError(`XLSTMLMTrainable.forward: ids has ${ids.length} entries, expected B*S = ${B}*${S}`);
    for (let j = 0; j < ids.length; j++) if (!(ids[j] >= 0 && ids[j] < V)) throw new RangeError(`XLSTMLMTrainable.forward: ids[${j}] = ${ids[j]} is not a token id (0 <= id < vocab_size ${V})`);
    const P = (n: string) => this.param(n);
    const opt = (n: string) => this.p.get(n);
    const drop = (v: Var, p: number) => dropout(t, v, p, rng);
    let x = ag.embedding(t, new Tensor('i32', [B, S], ids), P('token_embedding.weight')); // [B, S, E]
    if (cfg.add_embedding_dropout) x = drop(x, cfg.dropout);
    for (const b of cfg.blocks) {
      const pre = `xlstm_block_stack.blocks.${b.blockIdx}.`;
      const xn = ag.layerNorm(t, x, { eps: LN_EPS, weight: P(`${pre}xlstm_norm.weight`), weightOffset: true });
      if (b.kind === 'mlstm') x = ag.add(t, x, drop(this.mlstmLayer(t, xn, `${pre}xlstm.`, b.mlstm.num_heads, B, S), b.mlstm.dropout));
      else {
        x = ag.add(t, x, this.slstmLayer(t, xn, `${pre}xlstm.`, b.slstm.num_heads, b.slstm.backend === 'vanilla', (v) => drop(v, b.slstm.dropout)));
        if (b.feedforward) {
          const fn = ag.layerNorm(t, x, { eps: LN_EPS, weight: P(`${pre}ffn_norm.weight`), weightOffset: true });
          const U = b.feedforward._proj_up_dim;
          const up = ag.linear(t, fn, P(`${pre}ffn.proj_up.weight`), opt(`${pre}ffn.proj_up.bias`)); // [B, S, 2U]
          const h = ag.mul(t, activation(t, b.feedforward.act_fn, ag.slice(t, up, 2, 0, U)), ag.slice(t, up, 2, U, 2 * U));
          x = ag.add(t, x, drop(ag.linear(t, h, P(`${pre}ffn.proj_down.weight`), opt(`${pre}ffn.proj_down.bias`)), b.feedforward.dropout));
        }
      }
    }
    if (cfg.add_post_blocks_norm) x = ag.layerNorm(t, x, { eps: LN_EPS, weight: P('xlstm_block_stack.post_blocks_norm.weight'), weightOffset: true });
    return ag.linear(t, x, cfg.tie_weights ? P('token_embedding.weight') : P('lm_head.weight')); // [B, S, V]
  }

  /**
   * Mean next-token cross-entropy over the B*(S-1) positions (the official LM loss). Pass
   * `{ rng }` (the Trainer's LossContext) to train with the config's dropout.
   */
  loss(t: Tape, batch: TokenBatch, ctx: { rng?: Rng } = {}): Var {
    const { ids, batchSize: B, seqLen: S } = batch;
    if (S < 2) throw new RangeError(`XLSTMLMTrainable.loss: seqLen must be >= 2, got ${S}`);
    const logits = this.forward(t, ids, B, S, ctx.rng);
    // the last position has no target: ignored rather than sliced off (no copy of the logits)
    const targets = new Int32Array(B * S).fill(-100);
    for (let b = 0; b < B; b++) for (let s = 0; s < S - 1; s++) targets[b * S + s] = ids[b * S + s + 1];
    return ag.crossEntropy(t, logits, targets, { ignoreIndex: -100 });
  }

  private mlstmLayer(t: Tape, x: Var, pre: string, NH: number, B: number, S: number): Var {
    const P = (n: string) => this.param(pre + n);
    const opt = (n: string) => this.p.get(pre + n);
    const inner = P('learnable_skip').size, DH = inner / NH;
    const up = ag.linear(t, x, P('proj_up.weight'), opt('proj_up.bias')); // [B, S, 2*inner]
    const xm = ag.slice(t, up, 2, 0, inner), z = ag.slice(t, up, 2, inner, 2 * inner);
    const cw = opt('conv1d.conv.weight');
    const xc = cw ? ag.silu(t, ag.causalConv1d(t, xm, cw, opt('conv1d.conv.bias'))) : xm;
    const q = headwise(t, xc, P('q_proj.weight'), opt('q_proj.bias'));
    const k = headwise(t, xc, P('k_proj.weight'), opt('k_proj.bias'));
    const v = headwise(t, xm, P('v_proj.weight'), opt('v_proj.bias'));
    const qkv = ag.concat(t, [q, k, v], 2); // [B, S, 3*inner]
    const heads = (a: Var) => ag.permute(t, ag.reshape(t, a, [B, S, NH, DH]), [0, 2, 1, 3]); // [B, NH, S, DH]
    const gate = (n: string) => ag.permute(t, ag.linear(t, qkv, P(`mlstm_cell.${n}.weight`), P(`mlstm_cell.${n}.bias`)), [0, 2, 1]); // [B, NH, S]
    const cellIn = { q: heads(q), k: heads(k), v: heads(v), i: gate('igate'), f: gate('fgate') };
    const L = this.mlstmChunkSize;
    if (L !== undefined && S % L !== 0) throw new RangeError(`XLSTMLMTrainable: mlstmChunkSize ${L} must divide the sequence length ${S}`);
    const h = L === undefined
      ? agMlstmParallel(t, cellIn, { eps: MLSTM_EPS, gradMode: 'exact' })
      : agMlstmChunkwise(t, cellIn, { eps: MLSTM_EPS, gradMode: 'exact', chunkSize: L });
    const hs = ag.reshape(t, ag.permute(t, h, [0, 2, 1, 3]), [B, S, inner]);
    const hn = ag.groupNorm(t, hs, NH, { eps: LN_EPS, weight: P('mlstm_cell.outnorm.weight'), weightOffset: true });
    const out = ag.mul(t, ag.add(t, hn, ag.mul(t, xc, P('learnable_skip'))), ag.silu(t, z));
    return ag.linear(t, out, P('proj_down.weight'), opt('proj_down.bias'));
  }

  private slstmLayer(t: Tape, x: Var, pre: string, NH: number, vanilla: boolean, drop: (v: Var) => Var): Var {
    const P = (n: string) => this.param(pre + n);
    const opt = (n: string) => this.p.get(pre + n);
    const cw = opt('conv1d.conv.weight');
    const xc = cw ? ag.silu(t, ag.causalConv1d(t, x, cw, opt('conv1d.conv.bias'))) : x;
    // official wiring: i from the module named fgate, f from igate
    const g = ag.concat(t, [headwise(t, xc, P('fgate.weight')), headwise(t, xc, P('igate.weight')), headwise(t, x, P('zgate.weight')), headwise(t, x, P('ogate.weight'))], 2); // [B, S, 4H]
    const H = x.shape[2], DH = H / NH;
    let R: Var = P('slstm_cell._recurrent_kernel_'), bias: Var = P('slstm_cell._bias_');
    if (vanilla) {
      R = ag.permute(t, R, [0, 2, 1]); // [NH, 4DH, DH] -> [NH, DH, 4DH]
      bias = ag.reshape(t, ag.permute(t, ag.reshape(t, bias, [4, NH, DH]), [1, 0, 2]), [4 * H]); // (g, h, d) -> (h, g, d)
    }
    const y = drop(agSlstm(t, g, R, bias, NH)); // [B, S, H]
    const gw = opt('group_norm.weight');
    return ag.groupNorm(t, y, NH, gw ? { eps: LN_EPS, weight: gw, weightOffset: true } : { eps: LN_EPS });
  }
}

/** Inverted dropout with probability p (identity without an RNG or with p = 0). */
function dropout(t: Tape, x: Var, p: number, rng: Rng | undefined): Var {
  if (!rng || !(p > 0)) return x;
  if (!(p < 1)) throw new RangeError(`dropout: probability must be < 1, got ${p}`);
  const keep = 1 / (1 - p);
  const m = t.zeros(x.size);
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < p ? 0 : keep;
  return ag.mul(t, x, t.input(t.tensor(x.shape, m)));
}

/** Head size from which a headwise projection runs as one batched GEMM instead of the direct loops. */
const HEADWISE_GEMM_MIN_D = 32;

/**
 * LinearHeadwiseExpand: x [..., NHb*D], w [NHb, O, D] -> [..., NHb*O]. Small blocks (the mLSTM
 * q/k/v blocks of 4) as direct loops (f64 accumulation) recorded as one tape op; large ones as
 * one batched GEMM over the heads.
 */
function headwise(t: Tape, x: Var, w: Var, bias?: Var): Var {
  const [NHb, O, D] = w.shape;
  const lead = x.shape.slice(0, -1), In = NHb * D, R = x.size / In;
  if (x.shape[x.shape.length - 1] !== In) throw new RangeError(`headwise: x's last dim ${x.shape[x.shape.length - 1]} must be NH*D = ${In} for w [${w.shape.join(', ')}]`);
  let out: Var;
  if (D >= HEADWISE_GEMM_MIN_D) {
    const xt = ag.permute(t, ag.reshape(t, x, [R, NHb, D]), [1, 0, 2]); // [NHb, R, D]
    const y = ag.permute(t, ag.matmul(t, xt, w, { transB: true }), [1, 0, 2]); // [R, NHb, O]
    out = ag.reshape(t, y, [...lead, NHb * O]);
  } else {
    const xd = x.data, wd = w.data, Out = NHb * O;
    const y = t.zeros(R * Out);
    for (let r = 0; r < R; r++) {
      for (let h = 0; h < NHb; h++) {
        const xo = r * In + h * D;
        for (let o = 0; o < O; o++) {
          const wo = (h * O + o) * D;
          let acc = 0;
          for (let d = 0; d < D; d++) acc += xd[xo + d] * wd[wo + d];
          y[r * Out + h * O + o] = acc;
        }
      }
    }
    out = t.record(t.tensor([...lead, Out], y), [x, w], (dy) => {
      // one pass for both gradients: gx[r, h, d] += g w[h, o, d], gw[h, o, d] += g x[r, h, d]
      const gx = t.zeros(x.size), gw = new Float64Array(w.size);
      for (let r = 0; r < R; r++) {
        for (let h = 0; h < NHb; h++) {
          const xo = r * In + h * D, yo = r * Out + h * O;
          for (let o = 0; o < O; o++) {
            const g = dy[yo + o];
            if (g === 0) continue;
            const wo = (h * O + o) * D;
            for (let d = 0; d < D; d++) { gx[xo + d] += g * wd[wo + d]; gw[wo + d] += g * xd[xo + d]; }
          }
        }
      }
      t.accumulate(x, gx);
      t.accumulate(w, gw);
    }, 'headwise');
  }
  return bias ? ag.add(t, out, bias) : out;
}

function activation(t: Tape, fn: FeedForwardActFn, x: Var): Var {
  switch (fn) {
    case 'gelu': return ag.gelu(t, x);
    case 'relu': return ag.relu(t, x);
    case 'relu^2': { const r = ag.relu(t, x); return ag.mul(t, r, r); }
    case 'sigmoid': return ag.sigmoid(t, x);
    case 'swish': return ag.silu(t, x);
    default: throw new RangeError(`XLSTMLMTrainable: feedforward act_fn ${JSON.stringify(fn)} is not supported`);
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
