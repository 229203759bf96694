// Configuration of xLSTM Large / xLSTM-7B: the fields of the official
// xlstm.xlstm_large.model.xLSTMLargeConfig and of transformers' xLSTMConfig
// (config.json, model_type "xlstm") under their own names, resolved once into a
// frozen object with the derived sizes the layers use. Values that would change the
// math in a way this runtime does not implement are rejected here, naming the field, and
// so are unknown keys (with a "did you mean") and sizes beyond the memory of this process.
import { ConfigError, LimitError } from '../../errors.js';
import { roundUpToNextMultipleOf, truncFloatProduct } from '../configRules.js';
import { checkKeys, checkParameterBudget, maxModelBytes, showValue } from '../configChecks.js';

/** The raw config as found in a config.json (either spelling; unknown keys are errors). */
export interface XLSTMLargeConfigInput {
  embedding_dim?: number;
  /** HF alias of embedding_dim. */
  hidden_size?: number;
  num_heads?: number;
  num_blocks?: number;
  /** HF alias of num_blocks. */
  num_hidden_layers?: number;
  vocab_size?: number;
  use_bias?: boolean;
  norm_eps?: number;
  norm_reduction_force_float32?: boolean;
  add_out_norm?: boolean;
  qk_dim_factor?: number;
  v_dim_factor?: number;
  chunkwise_kernel?: string;
  sequence_kernel?: string;
  step_kernel?: string;
  mode?: string;
  chunk_size?: number;
  return_last_states?: boolean;
  autocast_kernel_dtype?: string;
  eps?: number;
  inference_state_dtype?: string;
  ffn_proj_factor?: number;
  ffn_round_up_to_multiple_of?: number;
  gate_soft_cap?: number | null;
  output_logit_soft_cap?: number | null;
  weight_mode?: string;
  tie_word_embeddings?: boolean;
  use_cache?: boolean;
  pad_token_id?: number | null;
  bos_token_id?: number | null;
  eos_token_id?: number | null;
  force_bos_token_insert?: boolean;
  max_inference_chunksize?: number;
  model_type?: string;
  [key: string]: unknown;
}

export type XLSTMLargeWeightMode = 'single' | 'fused';

/** Resolved, frozen configuration. Official field names, plus the derived sizes below them. */
export interface XLSTMLargeConfig {
  readonly embedding_dim: number;
  readonly num_heads: number;
  readonly num_blocks: number;
  readonly vocab_size: number;
  readonly use_bias: boolean;
  readonly norm_eps: number;
  readonly norm_reduction_force_float32: boolean;
  readonly add_out_norm: boolean;
  readonly qk_dim_factor: number;
  readonly v_dim_factor: number;
  readonly chunkwise_kernel: string;
  readonly sequence_kernel: string;
  readonly step_kernel: string;
  readonly mode: string;
  readonly chunk_size: number;
  readonly return_last_states: boolean;
  readonly autocast_kernel_dtype: string;
  readonly eps: number;
  readonly inference_state_dtype: string;
  readonly ffn_proj_factor: number;
  readonly ffn_round_up_to_multiple_of: number;
  /** null = no soft cap (the official soft_cap passes values through for None). */
  readonly gate_soft_cap: number | null;
  readonly output_logit_soft_cap: number | null;
  readonly weight_mode: XLSTMLargeWeightMode;
  readonly tie_word_embeddings: boolean;
  readonly pad_token_id: number | null;
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | null;
  readonly force_bos_token_insert: boolean;
  readonly max_inference_chunksize: number;
  // derived (names as in the golden meta.json "derived_dims")
  /** truncFloatProduct(embedding_dim, qk_dim_factor) = int(embedding_dim * qk_dim_factor), as mLSTMLayer (configRules.ts). */
  readonly qk_dim: number;
  /** int(embedding_dim * v_dim_factor). */
  readonly v_dim: number;
  readonly qk_head_dim: number;
  readonly v_head_dim: number;
  /** roundUpToNextMultipleOf(embedding_dim * ffn_proj_factor, ffn_round_up_to_multiple_of) (configRules.ts). */
  readonly ffn_up_proj_dim: number;
}

// Defaults of xLSTMLargeConfig (xlstm 032a6fb). HF's xLSTMConfig differs only in
// kernel names and ffn_proj_factor 2.667, and its config.json always spells them out.
const DEFAULTS = {
  use_bias: false,
  norm_eps: 1e-6,
  norm_reduction_force_float32: true,
  add_out_norm: true,
  qk_dim_factor: 0.5,
  v_dim_factor: 1.0,
  chunkwise_kernel: 'chunkwise--triton_limit_chunk',
  sequence_kernel: 'native_sequence__triton',
  step_kernel: 'triton',
  mode: 'train',
  chunk_size: 64,
  return_last_states: false,
  autocast_kernel_dtype: 'bfloat16',
  eps: 1e-6,
  inference_state_dtype: 'float32',
  ffn_proj_factor: 2.6667,
  ffn_round_up_to_multiple_of: 64,
  gate_soft_cap: 15.0,
  output_logit_soft_cap: 30.0,
  weight_mode: 'single',
  tie_word_embeddings: false,
  force_bos_token_insert: true,
  max_inference_chunksize: 16384,
} as const;

// All of these compute the exponential-gate mLSTM of mlstm_kernels (the siging and
// limit-headdim variants compute a different function or refuse these head sizes).
const CHUNKWISE_KERNELS = [
  'chunkwise--native_autograd', 'chunkwise--native_custbw', 'chunkwise--triton_limit_chunk', 'chunkwise--triton_xl_chunk',
  'parallel--native_autograd', 'parallel--native_custbw', 'parallel--native_stablef_autograd', 'parallel--native_stablef_custbw',
  'parallel--triton_limit_headdim',
];
const SIGING_KERNELS = ['chunkwise--triton_xl_chunk_siging', 'parallel--native_siging_autograd', 'parallel--native_siging_custbw'];
const SEQUENCE_KERNELS = ['native_sequence__native', 'native_sequence__triton'];
const STEP_KERNELS = ['native', 'triton'];
const MODES = ['train', 'train_with_padding', 'inference'];
/** The kernel dtype only matters under CUDA autocast; this runtime always computes in float32. */
const AUTOCAST_DTYPES = ['float32', 'bfloat16', 'float16'];
const STATE_DTYPES = ['float32'];
const WEIGHT_MODES: readonly XLSTMLargeWeightMode[] = ['single', 'fused'];

const WHAT = 'xLSTMLarge config';

function bad(field: string, value: unknown, want: string): never {
  throw new ConfigError(`${WHAT}: ${field} = ${showValue(value)} is not supported (expected ${want})`);
}

// Keys of transformers' xLSTMConfig beyond the xLSTMLargeConfig fields, and the generic
// PretrainedConfig keys that save_pretrained writes or users commonly keep in a config.json;
// none of them changes the weights or the math this runtime computes.
const HF_KEYS = [
  'hidden_size', 'num_hidden_layers', 'model_type', 'architectures', 'torch_dtype', 'dtype', 'transformers_version',
  'use_cache', 'pad_token_id', 'bos_token_id', 'eos_token_id', 'force_bos_token_insert', 'max_inference_chunksize',
  'tie_word_embeddings', '_name_or_path', 'name_or_path', 'return_dict', 'output_hidden_states', 'output_attentions',
  'torchscript', 'use_bfloat16', 'tf_legacy_loss', 'pruned_heads', 'chunk_size_feed_forward', 'is_encoder_decoder',
  'is_decoder', 'add_cross_attention', 'tie_encoder_decoder', 'cross_attention_hidden_size', 'finetuning_task',
  'id2label', 'label2id', 'num_labels', 'problem_type', 'tokenizer_class', 'prefix', 'sep_token_id',
  'decoder_start_token_id', 'task_specific_params', 'auto_map', 'max_length', 'min_length', 'do_sample',
  'early_stopping', 'num_beams', 'num_beam_groups', 'diversity_penalty', 'temperature', 'top_k', 'top_p', 'typical_p',
  'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size', 'encoder_no_repeat_ngram_size', 'bad_words_ids',
  'num_return_sequences', 'output_scores', 'return_dict_in_generate', 'forced_bos_token_id', 'forced_eos_token_id',
  'remove_invalid_values', 'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens',
  '_attn_implementation', '_attn_implementation_autoset', '_commit_hash', 'initializer_range', 'gradient_checkpointing',
];
const KNOWN_KEYS = [...new Set(['embedding_dim', 'num_heads', 'num_blocks', 'vocab_size', ...Object.keys(DEFAULTS), ...HF_KEYS])];

/** Parameters of an xLSTM Large (closed form, float64), tied head counted once. */
function largeParameterCount(s: { E: number; NH: number; NB: number; V: number; qkf: number; vf: number; ff: number; m: number; bias: boolean; outNorm: boolean; tied: boolean }): number {
  const QK = truncFloatProduct(s.E, s.qkf), DV = truncFloatProduct(s.E, s.vf), U = roundUpToNextMultipleOf(s.E * s.ff, s.m);
  const b = s.bias ? 1 : 0;
  const block = s.E * (1 + b) // norm_mlstm
    + (2 * QK + 2 * DV) * (s.E + b) // q, k, v, ogate
    + 2 * s.NH * (s.E + 1) // igate, fgate (always with bias)
    + DV * (1 + b) // multihead norm
    + s.E * (DV + b) // out_proj
    + s.E * (1 + b) // norm_ffn
    + 2 * U * (s.E + b) + s.E * (U + b); // FFN
  return s.V * s.E + s.NB * block + (s.outNorm ? s.E * (1 + b) : 0) + (s.tied ? 0 : s.V * s.E);
}

/** Parameter count of a resolved config (what the official `sum(p.numel())` gives). */
export function xlstmLargeNumParameters(cfg: XLSTMLargeConfig): number {
  return largeParameterCount({
    E: cfg.embedding_dim, NH: cfg.num_heads, NB: cfg.num_blocks, V: cfg.vocab_size, qkf: cfg.qk_dim_factor, vf: cfg.v_dim_factor,
    ff: cfg.ffn_proj_factor, m: cfg.ffn_round_up_to_multiple_of, bias: cfg.use_bias, outNorm: cfg.add_out_norm, tied: cfg.tie_word_embeddings,
  });
}

function posInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad(field, v, 'a positive integer');
  return v;
}

function posNum(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(field, v, 'a finite number > 0');
  return v;
}

function nonNeg(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(field, v, 'a finite number >= 0');
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') bad(field, v, 'true or false');
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[], extra = ''): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) bad(field, v, `one of ${allowed.map((a) => `"${a}"`).join(', ')}${extra}`);
  return v as T;
}

function capOrNull(field: string, v: unknown): number | null {
  if (v === null) return null;
  return posNum(field, v);
}

function tokenId(field: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(field, v, 'a token id (integer >= 0) or null');
  return v;
}

/** A field given under two names (official and HF alias) must agree. */
function aliased(raw: XLSTMLargeConfigInput, name: string, alias: string): unknown {
  const a = raw[name], b = raw[alias];
  if (a !== undefined && b !== undefined && a !== b) {
    throw new ConfigError(`${WHAT}: ${name} = ${showValue(a)} and its alias ${alias} = ${showValue(b)} disagree`);
  }
  if (a === undefined && b === undefined) throw new ConfigError(`${WHAT}: ${name} (or ${alias}) is required`);
  return a ?? b;
}

/** round_up_to_next_multiple_of of xlstm_large/utils.py (x may be fractional): see configRules.ts. */
export const roundUpToMultipleOf = roundUpToNextMultipleOf;

/** Validates a config.json object and returns the frozen, resolved config. */
export function resolveXLSTMLargeConfig(raw: XLSTMLargeConfigInput): XLSTMLargeConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${WHAT}: expected a JSON object, got ${showValue(raw)}`);
  checkKeys(WHAT, raw, '', KNOWN_KEYS);
  if (raw.model_type !== undefined && raw.model_type !== 'xlstm') bad('model_type', raw.model_type, '"xlstm"');
  const get = <K extends keyof typeof DEFAULTS>(k: K): unknown => (raw[k] === undefined ? DEFAULTS[k] : raw[k]);
  const embedding_dim = posInt('embedding_dim', aliased(raw, 'embedding_dim', 'hidden_size'));
  const num_blocks = posInt('num_blocks', aliased(raw, 'num_blocks', 'num_hidden_layers'));
  if (raw.num_heads === undefined) throw new ConfigError(`${WHAT}: num_heads is required`);
  const num_heads = posInt('num_heads', raw.num_heads);
  if (raw.vocab_size === undefined) throw new ConfigError(`${WHAT}: vocab_size is required`);
  const vocab_size = posInt('vocab_size', raw.vocab_size);
  const qk_dim_factor = posNum('qk_dim_factor', get('qk_dim_factor'));
  const v_dim_factor = posNum('v_dim_factor', get('v_dim_factor'));
  const ffn_proj_factor = posNum('ffn_proj_factor', get('ffn_proj_factor'));
  const ffn_round_up_to_multiple_of = posInt('ffn_round_up_to_multiple_of', get('ffn_round_up_to_multiple_of'));
  const chunkwise = get('chunkwise_kernel');
  if (typeof chunkwise === 'string' && SIGING_KERNELS.includes(chunkwise)) {
    bad('chunkwise_kernel', chunkwise, `an exponential-input-gate kernel (the siging kernels use a sigmoid input gate, which xLSTM Large checkpoints are not trained with): one of ${CHUNKWISE_KERNELS.join(', ')}`);
  }
  const use_bias = bool('use_bias', get('use_bias'));
  const add_out_norm = bool('add_out_norm', get('add_out_norm'));
  const tie_word_embeddings = bool('tie_word_embeddings', get('tie_word_embeddings'));
  const sizes = { E: embedding_dim, NH: num_heads, NB: num_blocks, V: vocab_size, qkf: qk_dim_factor, vf: v_dim_factor, ff: ffn_proj_factor, m: ffn_round_up_to_multiple_of, bias: use_bias, outNorm: add_out_norm, tied: tie_word_embeddings };
  const term = (path: string, key: 'E' | 'NB' | 'V', value: number) => ({ path, value, count: (v: number) => largeParameterCount({ ...sizes, [key]: v }) });
  // q4 (about 4.5 bits a weight) is the smallest format the loader stores; the loader checks the chosen one per heap
  checkParameterBudget({
    what: 'this xLSTM Large', parameters: largeParameterCount(sizes), bytesPerParameter: 0.5625,
    terms: [term('num_blocks', 'NB', num_blocks), term('vocab_size', 'V', vocab_size), term('embedding_dim', 'E', embedding_dim)],
  });
  // the chunkwise form pads a sequence to a multiple of chunk_size and keeps a
  // [chunk_size, chunk_size] float matrix per head
  const chunk_size = posInt('chunk_size', get('chunk_size'));
  const maxChunk = Math.floor(Math.sqrt(maxModelBytes() / (4 * num_heads)));
  if (chunk_size > maxChunk) throw new LimitError('chunk_size', chunk_size, maxChunk, `num_heads ${num_heads} [chunk_size, chunk_size] float matrices would not fit in memory`);
  const qk_dim = truncFloatProduct(embedding_dim, qk_dim_factor);
  const v_dim = truncFloatProduct(embedding_dim, v_dim_factor);
  if (qk_dim < num_heads || qk_dim % num_heads !== 0) {
    throw new ConfigError(`${WHAT}: qk_dim = int(embedding_dim ${embedding_dim} * qk_dim_factor ${qk_dim_factor}) = ${qk_dim} must be a positive multiple of num_heads ${num_heads}`);
  }
  if (v_dim < num_heads || v_dim % num_heads !== 0) {
    throw new ConfigError(`${WHAT}: v_dim = int(embedding_dim ${embedding_dim} * v_dim_factor ${v_dim_factor}) = ${v_dim} must be a positive multiple of num_heads ${num_heads}`);
  }
  const ffn_up_proj_dim = roundUpToNextMultipleOf(embedding_dim * ffn_proj_factor, ffn_round_up_to_multiple_of);
  // the official rounding can give 0 for a tiny factor: a layer of no width is a config mistake
  if (ffn_up_proj_dim < 1) {
    throw new ConfigError(`${WHAT}: ffn_proj_factor ${ffn_proj_factor} gives an FFN width of ${ffn_up_proj_dim} for embedding_dim ${embedding_dim}, expected >= 1`);
  }
  const cfg: XLSTMLargeConfig = {
    embedding_dim,
    num_heads,
    num_blocks,
    vocab_size,
    use_bias,
    norm_eps: nonNeg('norm_eps', get('norm_eps')),
    norm_reduction_force_float32: bool('norm_reduction_force_float32', get('norm_reduction_force_float32')),
    add_out_norm,
    qk_dim_factor,
    v_dim_factor,
    chunkwise_kernel: oneOf('chunkwise_kernel', chunkwise, CHUNKWISE_KERNELS),
    sequence_kernel: oneOf('sequence_kernel', get('sequence_kernel'), SEQUENCE_KERNELS),
    step_kernel: oneOf('step_kernel', get('step_kernel'), STEP_KERNELS),
    mode: oneOf('mode', get('mode'), MODES),
    chunk_size,
    return_last_states: bool('return_last_states', get('return_last_states')),
    autocast_kernel_dtype: oneOf('autocast_kernel_dtype', get('autocast_kernel_dtype'), AUTOCAST_DTYPES),
    eps: nonNeg('eps', get('eps')),
    inference_state_dtype: oneOf('inference_state_dtype', get('inference_state_dtype'), STATE_DTYPES,
      ' (states are kept in float32; lower-precision states would change the recurrence)'),
    ffn_proj_factor,
    ffn_round_up_to_multiple_of,
    gate_soft_cap: capOrNull('gate_soft_cap', get('gate_soft_cap')),
    output_logit_soft_cap: capOrNull('output_logit_soft_cap', get('output_logit_soft_cap')),
    weight_mode: oneOf('weight_mode', get('weight_mode'), WEIGHT_MODES),
    tie_word_embeddings,
    pad_token_id: tokenId('pad_token_id', raw.pad_token_id),
    bos_token_id: tokenId('bos_token_id', raw.bos_token_id),
    eos_token_id: tokenId('eos_token_id', raw.eos_token_id),
    force_bos_token_insert: bool('force_bos_token_insert', get('force_bos_token_insert')),
    max_inference_chunksize: posInt('max_inference_chunksize', get('max_inference_chunksize')),
    qk_dim,
    v_dim,
    qk_head_dim: qk_dim / num_heads,
    v_head_dim: v_dim / num_heads,
    ffn_up_proj_dim,
  };
  // the official parallel kernels return no final state; the constructor refuses the pair
  if (cfg.return_last_states && cfg.chunkwise_kernel.startsWith('parallel--')) {
    throw new ConfigError(`${WHAT}: return_last_states = true is not supported with the parallel kernel chunkwise_kernel = "${cfg.chunkwise_kernel}" (use a chunkwise-- kernel or return_last_states false)`);
  }
  return Object.freeze(cfg);
}
