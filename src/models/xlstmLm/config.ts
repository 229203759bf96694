// Configuration of xLSTMLMModel (the NeurIPS-paper library, NX-AI/xlstm: xlstm_lm_model.py,
// xlstm_block_stack.py, blocks/*/block.py, blocks/*/layer.py, blocks/slstm/cell.py,
// components/feedforward.py, utils.py). The dataclasses are mirrored one-to-one with their
// field names and defaults; resolveXLSTMLMConfig replays the official __post_init__ chain
// (embedding_dim/bias/dropout/context_length pushed down, proj-up dims rounded, slstm_at
// "all", the block map) and returns a frozen config plus one resolved copy per block.
// Derived private fields found in the input (_proj_up_dim, _block_map, ...) are recomputed,
// as the official constructors do. Unknown fields are rejected (the official loader uses
// dacite with strict=True), except `name`, which experiment YAML files carry; the error names
// the key's path and the closest field. Sizes are checked against memory before any
// per-block array is built.
import { ConfigError, LimitError } from '../../errors.js';
import { upProjDim } from '../configRules.js';
import { checkKeys, checkParameterBudget, maxModelBytes, showValue } from '../configChecks.js';

/** UpProjConfigMixin */
export interface UpProjConfig {
  proj_factor: number;
  round_proj_up_dim_up: boolean;
  round_proj_up_to_multiple_of: number;
  _proj_up_dim: number;
}

export interface MLSTMLayerConfig extends UpProjConfig {
  conv1d_kernel_size: number;
  qkv_proj_blocksize: number;
  num_heads: number;
  embedding_dim: number;
  bias: boolean;
  dropout: number;
  context_length: number;
  _num_blocks: number;
  _inner_embedding_dim: number;
}

export interface MLSTMBlockConfig {
  mlstm: MLSTMLayerConfig;
  _num_blocks: number | null;
  _block_idx: number | null;
}

export const SLSTM_BACKENDS = ['vanilla', 'cuda'] as const;
export const SLSTM_FUNCTIONS = ['slstm', 'lstm'] as const;
export const SLSTM_BIAS_INITS = ['powerlaw_blockdependent', 'small_init', 'standard', 'zeros'] as const;
export const SLSTM_RECURRENT_INITS = ['zeros', 'standard'] as const;
export const SLSTM_DTYPES = ['bfloat16', 'float16', 'float32'] as const;
export const FFN_ACT_FNS = ['gelu', 'relu', 'relu^2', 'sigmoid', 'swish', 'selu'] as const;
export type FeedForwardActFn = (typeof FFN_ACT_FNS)[number];

/** sLSTMCellConfig + sLSTMLayerConfig */
export interface SLSTMLayerConfig {
  hidden_size: number;
  num_heads: number;
  num_states: number;
  backend: (typeof SLSTM_BACKENDS)[number];
  function: (typeof SLSTM_FUNCTIONS)[number];
  bias_init: (typeof SLSTM_BIAS_INITS)[number];
  recurrent_weight_init: (typeof SLSTM_RECURRENT_INITS)[number];
  _block_idx: number | null;
  _num_blocks: number | null;
  num_gates: number;
  gradient_recurrent_cut: boolean;
  gradient_recurrent_clipval: number | null;
  forward_clipval: number | null;
  batch_size: number;
  input_shape: 'BSGNH' | 'SBGNH';
  internal_input_shape: 'SBNGH' | 'SBGNH' | 'SBNHG';
  output_shape: 'BNSH' | 'SBH' | 'BSH' | 'SBNH';
  constants: Record<string, unknown>;
  dtype: (typeof SLSTM_DTYPES)[number];
  dtype_b: (typeof SLSTM_DTYPES)[number] | null;
  dtype_r: (typeof SLSTM_DTYPES)[number] | null;
  dtype_w: (typeof SLSTM_DTYPES)[number] | null;
  dtype_g: (typeof SLSTM_DTYPES)[number] | null;
  dtype_s: (typeof SLSTM_DTYPES)[number] | null;
  dtype_a: (typeof SLSTM_DTYPES)[number] | null;
  enable_automatic_mixed_precision: boolean;
  initial_val: number | number[];
  embedding_dim: number;
  conv1d_kernel_size: number;
  group_norm_weight: boolean;
  dropout: number;
}

export interface FeedForwardConfig extends UpProjConfig {
  act_fn: FeedForwardActFn;
  embedding_dim: number;
  dropout: number;
  bias: boolean;
  ff_type: 'ffn_gated';
  _num_blocks: number;
}

export interface SLSTMBlockConfig {
  slstm: SLSTMLayerConfig;
  feedforward: FeedForwardConfig | null;
  _num_blocks: number | null;
  _block_idx: number | null;
}

export interface XLSTMBlockStackConfig {
  mlstm_block: MLSTMBlockConfig | null;
  slstm_block: SLSTMBlockConfig | null;
  context_length: number;
  num_blocks: number;
  embedding_dim: number;
  add_post_blocks_norm: boolean;
  bias: boolean;
  dropout: number;
  slstm_at: number[];
  _block_map: string;
}

export interface XLSTMLMModelConfig extends XLSTMBlockStackConfig {
  vocab_size: number;
  tie_weights: boolean;
  weight_decay_on_embedding: boolean;
  add_embedding_dropout: boolean;
}

/** One block as the stack builds it (deep copy of mlstm_block / slstm_block with _block_idx set). */
export type ResolvedBlockConfig =
  | { readonly kind: 'mlstm'; readonly mlstm: Readonly<MLSTMLayerConfig>; readonly blockIdx: number }
  | { readonly kind: 'slstm'; readonly slstm: Readonly<SLSTMLayerConfig>; readonly feedforward: Readonly<FeedForwardConfig> | null; readonly blockIdx: number };

/** The resolved config: the official fields (after __post_init__) and the per-block configs. */
export type XLSTMLMConfig = Readonly<XLSTMLMModelConfig> & { readonly blocks: readonly ResolvedBlockConfig[] };

/** Any subset of the official fields (missing ones take the dataclass defaults). */
export type XLSTMLMConfigInput = { [key: string]: unknown };

// ---------------------------------------------------------------- defaults

const UP_PROJ_DEFAULTS = { round_proj_up_dim_up: true, round_proj_up_to_multiple_of: 64, _proj_up_dim: null };

const MLSTM_LAYER_DEFAULTS = {
  conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 4, proj_factor: 2.0, ...UP_PROJ_DEFAULTS,
  embedding_dim: -1, bias: false, dropout: 0.0, context_length: -1, _num_blocks: 1, _inner_embedding_dim: null,
};

const SLSTM_LAYER_DEFAULTS = {
  hidden_size: -1, num_heads: 4, num_states: 4, backend: 'cuda', function: 'slstm', bias_init: 'powerlaw_blockdependent',
  recurrent_weight_init: 'zeros', _block_idx: 0, _num_blocks: 1, num_gates: 4, gradient_recurrent_cut: false,
  gradient_recurrent_clipval: null, forward_clipval: null, batch_size: 8, input_shape: 'BSGNH', internal_input_shape: 'SBNGH',
  output_shape: 'BNSH', constants: {}, dtype: 'bfloat16', dtype_b: 'float32', dtype_r: null, dtype_w: null, dtype_g: null,
  dtype_s: null, dtype_a: null, enable_automatic_mixed_precision: true, initial_val: 0.0,
  embedding_dim: -1, conv1d_kernel_size: 4, group_norm_weight: true, dropout: 0.0,
};

const FFN_DEFAULTS = {
  proj_factor: 1.3, ...UP_PROJ_DEFAULTS, act_fn: 'gelu', embedding_dim: -1, dropout: 0.0, bias: false, ff_type: 'ffn_gated', _num_blocks: 1,
};

const STACK_DEFAULTS = {
  mlstm_block: null, slstm_block: null, context_length: -1, num_blocks: 1, embedding_dim: 128, add_post_blocks_norm: true,
  bias: false, dropout: 0.0, slstm_at: [], _block_map: null,
};

const LM_DEFAULTS = { ...STACK_DEFAULTS, vocab_size: -1, tie_weights: false, weight_decay_on_embedding: false, add_embedding_dropout: false };

// ---------------------------------------------------------------- checking helpers

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj { return v !== null && typeof v === 'object' && !Array.isArray(v); }

const show = showValue;
const WHAT = 'xLSTMLMModelConfig';

function err(path: string, msg: string): never { throw new ConfigError(`${WHAT}: ${path} ${msg}`); }

/** Defaults + input, rejecting fields the dataclass does not have. */
function fill(path: string, defaults: Obj, input: unknown, allowName = false): Obj {
  if (input === undefined || input === null) return { ...defaults };
  if (!isObj(input)) err(path, `must be an object (mapping of fields), got ${show(input)}`);
  checkKeys(WHAT, input, path, Object.keys(defaults), (k) => allowName && k === 'name');
  const out: Obj = { ...defaults };
  for (const [k, v] of Object.entries(input)) if (k in defaults) out[k] = v;
  return out;
}

function int(o: Obj, path: string, k: string, min = -Infinity): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v) || v < min) err(`${path}${k}`, `= ${show(v)}, expected an integer${min > -Infinity ? ` >= ${min}` : ''}`);
  return v;
}

function num(o: Obj, path: string, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) err(`${path}${k}`, `= ${show(v)}, expected a finite number`);
  return v;
}

function bool(o: Obj, path: string, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') err(`${path}${k}`, `= ${show(v)}, expected true or false`);
  return v;
}

function oneOf<T extends string>(o: Obj, path: string, k: string, allowed: readonly T[], nullable = false): T {
  const v = o[k];
  if (nullable && v === null) return v as unknown as T;
  if (typeof v !== 'string' || !allowed.includes(v as T)) err(`${path}${k}`, `= ${show(v)} is not supported (expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}${nullable ? ', null' : ''})`);
  return v as T;
}

/** UpProjConfigMixin._set_proj_up_dim (Python's ceil/floor of a float division): see configRules.ts. */
export const projUpDim = upProjDim;

function upProj(o: Obj, path: string, E: number): void {
  if (!(num(o, path, 'proj_factor') > 0)) err(`${path}proj_factor`, `= ${show(o.proj_factor)}, expected a number > 0`);
  bool(o, path, 'round_proj_up_dim_up');
  int(o, path, 'round_proj_up_to_multiple_of', 1);
  o._proj_up_dim = projUpDim(o.proj_factor as number, E, o.round_proj_up_to_multiple_of as number, o.round_proj_up_dim_up as boolean);
  if ((o._proj_up_dim as number) < 1) err(`${path}proj_factor`, `= ${o.proj_factor} gives an up-projection of ${o._proj_up_dim} for embedding_dim ${E}, expected >= 1`);
}

/**
 * q/k/v head count of an mLSTM layer: xlstm/blocks/mlstm/layer.py
 * `num_proj_heads = round(self.config._inner_embedding_dim // self.config.qkv_proj_blocksize)`;
 * each head is a square [inner / heads] block (qkv_proj_blocksize need not divide inner).
 */
export function mlstmProjHeads(m: Pick<MLSTMLayerConfig, '_inner_embedding_dim' | 'qkv_proj_blocksize'>): number {
  return Math.floor(m._inner_embedding_dim / m.qkv_proj_blocksize);
}

interface LmSizes {
  E: number; V: number; nM: number; nS: number; bias: boolean; postNorm: boolean; tied: boolean;
  m: { pf: number; mult: number; up: boolean; NH: number; bs: number; k: number } | null;
  s: { NH: number; k: number; gn: boolean } | null;
  ff: { pf: number; mult: number; up: boolean; bias: boolean } | null;
}

/** Parameters of an xLSTMLMModel (closed form, float64), mirroring xlstmLmTensorSpecs; a tied head counted once. */
function lmParameterCount(z: LmSizes): number {
  const E = z.E, b = z.bias ? 1 : 0;
  let total = z.V * E * (z.tied ? 1 : 2) + (z.postNorm ? E : 0);
  if (z.m && z.nM > 0) {
    const inner = upProjDim(z.m.pf, E, z.m.mult, z.m.up);
    const ph = Math.max(1, Math.floor(inner / z.m.bs)), hd = inner / ph;
    const block = E + 2 * inner * (E + b) + 3 * (ph * hd * hd + b * inner) + (inner * z.m.k + inner) + inner
      + 2 * (z.m.NH * 3 * inner + z.m.NH) + inner + E * (inner + b);
    total += z.nM * block;
  }
  if (z.s && z.nS > 0) {
    const NH = Math.max(1, z.s.NH), DH = E / NH;
    let block = E + (z.s.k > 0 ? E * z.s.k + E : 0) + 4 * NH * DH * DH + NH * 4 * DH * DH + 4 * E + (z.s.gn ? E : 0);
    if (z.ff) {
      const U = upProjDim(z.ff.pf, E, z.ff.mult, z.ff.up), fb = z.ff.bias ? 1 : 0;
      block += E + 2 * U * (E + fb) + E * (U + fb);
    }
    total += z.nS * block;
  }
  return total;
}

/** Parameter count of a resolved config (what the official `sum(p.numel())` gives). */
export function xlstmLmNumParameters(cfg: XLSTMLMConfig): number {
  return lmParameterCount(lmSizes(cfg, cfg.blocks.filter((x) => x.kind === 'mlstm').length));
}

function lmSizes(cfg: Omit<XLSTMLMModelConfig, '_block_map' | 'slstm_at'>, nM: number): LmSizes {
  const m = cfg.mlstm_block?.mlstm, s = cfg.slstm_block?.slstm, ff = cfg.slstm_block?.feedforward;
  return {
    E: cfg.embedding_dim, V: cfg.vocab_size, nM, nS: cfg.num_blocks - nM, bias: cfg.bias, postNorm: cfg.add_post_blocks_norm, tied: cfg.tie_weights,
    m: m ? { pf: m.proj_factor, mult: m.round_proj_up_to_multiple_of, up: m.round_proj_up_dim_up, NH: m.num_heads, bs: m.qkv_proj_blocksize, k: m.conv1d_kernel_size } : null,
    s: s ? { NH: s.num_heads, k: s.conv1d_kernel_size, gn: s.group_norm_weight } : null,
    ff: ff ? { pf: ff.proj_factor, mult: ff.round_proj_up_to_multiple_of, up: ff.round_proj_up_dim_up, bias: ff.bias } : null,
  };
}

// ---------------------------------------------------------------- sections

/**
 * `used`: some block is an mLSTM block. The official layer constructor is where the
 * divisibility and conv checks happen, so a config with no mLSTM block never meets them.
 */
function resolveMlstmLayer(input: unknown, top: { E: number; bias: boolean; dropout: number; ctx: number; nb: number }, used: boolean): MLSTMLayerConfig {
  const p = 'mlstm_block.mlstm.';
  const o = fill('mlstm_block.mlstm', MLSTM_LAYER_DEFAULTS, input);
  Object.assign(o, { embedding_dim: top.E, bias: top.bias, dropout: top.dropout, context_length: top.ctx, _num_blocks: top.nb });
  // 0 makes the official constructor fail (no conv module); 1 builds but the causal conv's
  // output is sliced with [:-0] and comes out empty
  int(o, p, 'conv1d_kernel_size', used ? 2 : 0);
  int(o, p, 'qkv_proj_blocksize', 1);
  int(o, p, 'num_heads', 1);
  upProj(o, p, top.E);
  const inner = o._proj_up_dim as number;
  o._inner_embedding_dim = inner;
  if (!used) return o as unknown as MLSTMLayerConfig;
  // the mLSTM cell builds a [context_length, context_length] causal mask (torch.ones) and
  // a forward pass longer than context_length fails
  if (top.ctx < 1) err('context_length', `= ${top.ctx}, expected an integer >= 1 (the maximum sequence length; mLSTM blocks need it)`);
  if (inner % (o.num_heads as number) !== 0) err(`${p}num_heads`, `= ${o.num_heads} does not divide the inner embedding dim ${inner}`);
  const projHeads = mlstmProjHeads(o as unknown as MLSTMLayerConfig);
  if (projHeads < 1 || inner % projHeads !== 0) {
    err(`${p}qkv_proj_blocksize`, `= ${o.qkv_proj_blocksize} gives ${projHeads} q/k/v projection heads (inner embedding dim ${inner} // qkv_proj_blocksize), expected a positive divisor of ${inner}`);
  }
  return o as unknown as MLSTMLayerConfig;
}

/** `used`: some block is an sLSTM block (as for resolveMlstmLayer). */
function resolveSlstmLayer(input: unknown, top: { E: number; dropout: number; nb: number }, blockIdx: number | null, used: boolean): SLSTMLayerConfig {
  const p = 'slstm_block.slstm.';
  const o = fill('slstm_block.slstm', SLSTM_LAYER_DEFAULTS, input);
  Object.assign(o, { dropout: top.dropout, embedding_dim: top.E, hidden_size: top.E, _num_blocks: top.nb, _block_idx: blockIdx });
  int(o, p, 'num_heads');
  if ((o.num_heads as number) <= 0) o.num_heads = 1; // sLSTMCellConfig.__post_init__
  oneOf(o, p, 'backend', SLSTM_BACKENDS);
  const fn = oneOf(o, p, 'function', SLSTM_FUNCTIONS);
  if (fn !== 'slstm') err(`${p}function`, `= ${show(fn)} is not supported (only "slstm": the 2-state "lstm" cell is not part of xLSTM)`);
  o.num_states = 4;
  oneOf(o, p, 'bias_init', SLSTM_BIAS_INITS);
  oneOf(o, p, 'recurrent_weight_init', SLSTM_RECURRENT_INITS);
  if (o.num_gates !== 4) err(`${p}num_gates`, `= ${show(o.num_gates)}, expected 4 (i, f, z, o)`);
  oneOf(o, p, 'input_shape', ['BSGNH', 'SBGNH']);
  oneOf(o, p, 'internal_input_shape', ['SBNGH', 'SBGNH', 'SBNHG']);
  oneOf(o, p, 'output_shape', ['BNSH', 'SBH', 'BSH', 'SBNH']);
  oneOf(o, p, 'dtype', SLSTM_DTYPES);
  for (const k of ['dtype_b', 'dtype_r', 'dtype_w', 'dtype_g', 'dtype_s', 'dtype_a']) oneOf(o, p, k, SLSTM_DTYPES, true);
  // sLSTMCellConfig.__post_init__ dtype chain
  if (o.dtype_b === null) o.dtype_b = o.dtype;
  if (o.dtype_a === null) o.dtype_a = o.dtype_b;
  if (o.dtype_r === null) o.dtype_r = o.dtype;
  if (o.dtype_w === null) o.dtype_w = o.dtype;
  if (o.dtype_s === null) o.dtype_s = o.dtype_w;
  if (o.dtype_g === null) o.dtype_g = o.dtype_r;
  if (o.forward_clipval !== null) err(`${p}forward_clipval`, `= ${show(o.forward_clipval)} is not supported (the vanilla sLSTM ignores it; expected null)`);
  int(o, p, 'conv1d_kernel_size', 0);
  // as for the mLSTM conv: a kernel of 1 yields an empty output in the official forward
  if (used && o.conv1d_kernel_size === 1) err(`${p}conv1d_kernel_size`, '= 1 is not supported (0 = no conv, or >= 2)');
  bool(o, p, 'group_norm_weight');
  if (used && top.E % (o.num_heads as number) !== 0) err(`${p}num_heads`, `= ${o.num_heads} does not divide embedding_dim ${top.E}`);
  return o as unknown as SLSTMLayerConfig;
}

function resolveFeedForward(input: unknown, E: number, nb: number): FeedForwardConfig {
  const p = 'slstm_block.feedforward.';
  const o = fill('slstm_block.feedforward', FFN_DEFAULTS, input);
  Object.assign(o, { embedding_dim: E, _num_blocks: nb });
  oneOf(o, p, 'act_fn', FFN_ACT_FNS);
  oneOf(o, p, 'ff_type', ['ffn_gated']);
  bool(o, p, 'bias');
  upProj(o, p, E);
  return o as unknown as FeedForwardConfig;
}

/**
 * Resolves a config object (the official config.json dump, an experiment YAML's `model:`
 * section, or any subset of fields) into the frozen model config. Throws an Error naming
 * the field and the value for anything the official code would reject or this port does
 * not implement.
 */
export function resolveXLSTMLMConfig(input: XLSTMLMConfigInput): XLSTMLMConfig {
  const o = fill('', LM_DEFAULTS, input, true);
  delete o.name;
  const E = int(o, '', 'embedding_dim', 1);
  const nb = int(o, '', 'num_blocks', 1);
  const V = int(o, '', 'vocab_size');
  if (V < 1) err('vocab_size', `= ${V}, expected a positive integer (it is required)`);
  const bias = bool(o, '', 'bias');
  const dropout = num(o, '', 'dropout');
  // torch.nn.Dropout refuses a probability outside [0, 1] when the official model is built
  if (dropout < 0 || dropout > 1) err('dropout', `= ${dropout}, expected a probability in [0, 1]`);
  const ctx = int(o, '', 'context_length');
  bool(o, '', 'add_post_blocks_norm');
  bool(o, '', 'tie_weights');
  bool(o, '', 'weight_decay_on_embedding');
  bool(o, '', 'add_embedding_dropout');

  const mIn = o.mlstm_block, sIn = o.slstm_block;
  if (mIn !== null && !isObj(mIn)) err('mlstm_block', `must be an object or null, got ${show(mIn)}`);
  if (sIn !== null && !isObj(sIn)) err('slstm_block', `must be an object or null, got ${show(sIn)}`);
  // xLSTMBlockStackConfig.__post_init__: no mLSTM block config means every block is sLSTM
  let at = o.slstm_at;
  if (mIn === null) at = 'all';
  const allSlstm = at === 'all';
  if (!allSlstm && !Array.isArray(at)) err('slstm_at', `= ${show(at)}, expected a list of block indices or "all"`);
  if (!allSlstm) {
    // _create_block_map does `block_map[i] = 1` after `assert i < len(block_map)`: a negative
    // i counts from the end, as Python indexing does, down to -num_blocks
    for (const i of at as unknown[]) {
      if (typeof i !== 'number' || !Number.isInteger(i) || i < -nb || i >= nb) err('slstm_at', `= ${show(o.slstm_at)}: ${show(i)} is not a block index (expected integers -num_blocks <= i < num_blocks = ${nb})`);
    }
  }
  const slstmSet = allSlstm ? null : new Set((at as number[]).map((i) => (i < 0 ? i + nb : i)));
  const nS = allSlstm ? nb : slstmSet!.size;
  if (nS > 0 && sIn === null) err('slstm_block', `is null but slstm_at = ${show(o.slstm_at)} places sLSTM blocks`);
  if (nS < nb && mIn === null) err('mlstm_block', 'is null but some blocks are mLSTM blocks');

  let mBlock: MLSTMBlockConfig | null = null;
  if (mIn !== null) {
    const mb = fill('mlstm_block', { mlstm: null, _num_blocks: null, _block_idx: null }, mIn);
    mBlock = { mlstm: resolveMlstmLayer(mb.mlstm, { E, bias, dropout, ctx, nb }, nS < nb), _num_blocks: nb, _block_idx: null };
  }
  let sBlock: SLSTMBlockConfig | null = null;
  let ffIn: unknown = null;
  if (sIn !== null) {
    const sb = fill('slstm_block', { slstm: null, feedforward: {}, _num_blocks: null, _block_idx: null }, sIn);
    if (sb.feedforward !== null && !isObj(sb.feedforward)) err('slstm_block.feedforward', `must be an object or null, got ${show(sb.feedforward)}`);
    ffIn = sb.feedforward;
    sBlock = {
      slstm: resolveSlstmLayer(sb.slstm, { E, dropout, nb }, null, nS > 0),
      feedforward: ffIn === null ? null : resolveFeedForward(ffIn, E, nb),
      _num_blocks: nb,
      _block_idx: null,
    };
  }
  const sizes = lmSizes({ mlstm_block: mBlock, slstm_block: sBlock, context_length: ctx, num_blocks: nb, embedding_dim: E,
    add_post_blocks_norm: o.add_post_blocks_norm as boolean, bias, dropout, vocab_size: V, tie_weights: o.tie_weights as boolean,
    weight_decay_on_embedding: false, add_embedding_dropout: false }, nb - nS);
  const term = (path: string, value: number, set: (v: number) => Partial<LmSizes>) => ({ path, value, count: (v: number) => lmParameterCount({ ...sizes, ...set(v) }) });
  checkParameterBudget({
    what: 'this xLSTMLMModel', parameters: lmParameterCount(sizes), bytesPerParameter: 4,
    terms: [
      term('num_blocks', nb, (v) => (allSlstm ? { nS: v } : { nM: Math.max(0, v - nS) })),
      term('vocab_size', V, (v) => ({ V: v })),
      term('embedding_dim', E, (v) => ({ E: v })),
    ],
  });
  // one training or prefill sequence holds [context_length, embedding_dim] float activations per layer
  const maxCtx = Math.floor(maxModelBytes() / (4 * E));
  if (ctx > maxCtx) throw new LimitError('context_length', ctx, maxCtx, `one sequence's activations (context_length x embedding_dim ${E} floats) would not fit in memory`);
  const blockMap = Array.from({ length: nb }, (_, i) => (allSlstm || slstmSet!.has(i) ? 1 : 0));
  // the official config keeps the list as given ("all" becomes every index)
  const slstmAt = allSlstm ? blockMap.map((_, i) => i) : [...(at as number[])];
  const blocks: ResolvedBlockConfig[] = blockMap.map((t, i) => {
    if (t === 0) return Object.freeze({ kind: 'mlstm' as const, mlstm: Object.freeze({ ...mBlock!.mlstm }), blockIdx: i });
    return Object.freeze({
      kind: 'slstm' as const,
      slstm: Object.freeze({ ...sBlock!.slstm, _block_idx: i }),
      feedforward: sBlock!.feedforward ? Object.freeze({ ...sBlock!.feedforward }) : null,
      blockIdx: i,
    });
  });
  const cfg = {
    mlstm_block: mBlock, slstm_block: sBlock, context_length: ctx, num_blocks: nb, embedding_dim: E,
    add_post_blocks_norm: o.add_post_blocks_norm as boolean, bias, dropout, slstm_at: slstmAt,
    _block_map: blockMap.join(','), vocab_size: V, tie_weights: o.tie_weights as boolean,
    weight_decay_on_embedding: o.weight_decay_on_embedding as boolean, add_embedding_dropout: o.add_embedding_dropout as boolean,
    blocks: Object.freeze(blocks),
  };
  return deepFreeze(cfg) as XLSTMLMConfig;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** True for a config already returned by resolveXLSTMLMConfig. */
export function isResolvedXLSTMLMConfig(c: unknown): c is XLSTMLMConfig {
  return isObj(c) && Object.isFrozen(c) && Array.isArray((c as Obj).blocks);
}

// ---------------------------------------------------------------- YAML

/**
 * Parses a YAML (or JSON) config text: either the model config at the top level or a file
 * with a `model:` section (the official experiments/*.yaml). OmegaConf-style interpolations
 * `${a.b.c}` (absolute) and `${.x}` (sibling) are resolved against the document.
 */
export async function parseXLSTMLMConfigYaml(text: string, source = '<yaml>'): Promise<XLSTMLMConfigInput> {
  const { parse } = await import('yaml');
  let doc: unknown;
  try { doc = parse(text); } catch (e) { throw new ConfigError(`xLSTMLMModelConfig: cannot parse ${source}: ${(e as Error).message}`); }
  if (!isObj(doc)) throw new ConfigError(`xLSTMLMModelConfig: ${source} must hold a mapping (the model config or a file with a model: section), got ${show(doc)}`);
  const resolved = interpolate(doc, doc, [], source, 0, { left: MAX_INTERPOLATED_NODES }) as Obj;
  const model = isObj(resolved.model) ? resolved.model : resolved;
  return model;
}

function lookup(root: Obj, parts: string[]): unknown {
  let cur: unknown = root;
  for (const p of parts) {
    if (!isObj(cur) || !Object.hasOwn(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/**
 * Values an interpolated document may expand to. References can fan out (a list of two
 * references to a list of two references ...), so a small file could otherwise expand to
 * billions of values; the YAML parser's own alias limit does not see `${...}`.
 */
const MAX_INTERPOLATED_NODES = 100_000;

function interpolate(v: unknown, root: Obj, path: string[], source: string, depth: number, budget: { left: number }): unknown {
  if (--budget.left < 0) throw new ConfigError(`xLSTMLMModelConfig: ${source}: the \${...} interpolations expand to more than ${MAX_INTERPOLATED_NODES} values`);
  if (depth > 32) throw new ConfigError(`xLSTMLMModelConfig: ${source}: interpolation at ${path.join('.')} is cyclic`);
  if (typeof v === 'string') {
    const m = /^\$\{([^}]+)\}$/.exec(v.trim());
    if (!m) return v;
    const ref = m[1].trim();
    const parts = ref.startsWith('.') ? [...path.slice(0, -1), ...ref.replace(/^\.+/, '').split('.')] : ref.split('.');
    const target = lookup(root, parts);
    if (target === undefined) throw new ConfigError(`xLSTMLMModelConfig: ${source}: ${path.join('.')} = ${v} refers to ${parts.join('.')}, which does not exist`);
    return interpolate(target, root, parts, source, depth + 1, budget);
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, root, [...path, String(i)], source, depth, budget));
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) out[k] = interpolate(x, root, [...path, k], source, depth, budget);
    return out;
  }
  return v;
}
