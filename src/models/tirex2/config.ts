// TiRex-2 configuration: the keyword arguments of the official `TiRex2(**config)` (NX-AI/tirex-2,
// src/tirex2/model/tirex2.py and model/types.py), as `config.json` (or the legacy
// model-config.yaml) carries them, mirrored key for key and resolved once into a frozen,
// validated object. Every refusal is a ConfigError naming the key by its path in the file.
// Keys the official code accepts but that do nothing at inference (device, dropout, the
// template eps, matmul_precision, postprocessor_cfg, use_flex_attention) are accepted and
// recorded, never acted on: the math does not depend on them (see ../../../docs/FORECASTING.md).
import { ConfigError, LimitError } from '../../errors.js';
import { roundUpToNextMultipleOf } from '../configRules.js';
import { checkKeys, checkParameterBudget, isPlainObject, maxModelBytes, showValue, sizeInt } from '../configChecks.js';

export type TiRex2TimeMixerType = 'bi-mlstm' | 'bi-slstm';

/** `stack_config.templates[name].time_mixer` */
export interface TiRex2TimeMixerJson {
  model_type: TiRex2TimeMixerType;
  embedding_dim: number;
  num_heads: number;
  num_slstm_heads?: number;
  device?: string;
}

/** `stack_config.templates[name].variate_mixer` */
export interface TiRex2VariateMixerJson {
  embedding_dim: number;
  num_heads: number;
  use_flex_attention?: boolean;
}

export interface TiRex2TemplateJson {
  time_mixer: TiRex2TimeMixerJson;
  variate_mixer: TiRex2VariateMixerJson;
  dropout?: number;
  eps?: number;
}

/** The official TiRex2 constructor kwargs (config.json). */
export interface TiRex2ConfigJson {
  stack_config: { templates: Record<string, TiRex2TemplateJson>; recipe: string[] };
  num_blocks: number;
  embedding_dim: number;
  input_patch_size: number;
  output_patch_size: number;
  quantiles: number[];
  tokenizer_cfg: { output_patch_size: number; input_patch_size: number; input_patch_stride: number };
  scaler_cfg: { use_arcsinh: boolean; binaryaware: boolean; eps?: number };
  h_expand: number;
  context_len: number;
  future_len: number;
  input_ff_dim: number;
  act_func?: string;
  dropout?: number;
  tta_diff?: boolean;
  tta_sign_flip?: boolean;
  stack_out_norm_config?: { eps: number; use_rmsnorm?: boolean } | null;
  use_qk_norm?: boolean;
  device?: string;
  matmul_precision?: string;
  postprocessor_cfg?: unknown;
}

/** One block of the stack, resolved from its template. */
export interface TiRex2BlockConfig {
  /** Template name from the recipe. */
  readonly template: string;
  readonly timeMixer: TiRex2TimeMixerType;
  /** mLSTM heads (time_mixer.num_heads). */
  readonly numHeads: number;
  /** sLSTM heads (time_mixer.num_slstm_heads, default num_heads). */
  readonly numSlstmHeads: number;
  /** Attention heads of the variate mixer. */
  readonly attentionHeads: number;
}

export interface TiRex2Config {
  readonly embeddingDim: number;
  /** P: input = output patch = stride. */
  readonly patchSize: number;
  readonly quantiles: readonly number[];
  /** Index of the median level (Q // 2, the postprocessor's centre: the official code uses the middle index). */
  readonly medianIndex: number;
  readonly blocks: readonly TiRex2BlockConfig[];
  readonly contextLength: number;
  readonly futureLength: number;
  readonly inputFfDim: number;
  /** int(E * h_expand): the output head's hidden width. */
  readonly headHiddenDim: number;
  readonly hExpand: number;
  /** xLSTM FFN width int(((E*2.6667 + 63) // 64) * 64). */
  readonly ffnDim: number;
  /** Variate-mixer MLP width (4E). */
  readonly attentionFfnDim: number;
  readonly useArcsinh: boolean;
  readonly binaryAware: boolean;
  readonly scalerEps: number;
  /** null: no stack_out_norm (identity). */
  readonly stackOutNormEps: number | null;
  readonly useQkNorm: boolean;
  readonly ttaDiff: boolean;
  readonly ttaSignFlip: boolean;
  /** Positions the model sees: context_len + future_len rounded up to a multiple of P (left NaN pad). */
  readonly windowLength: number;
  /** windowLength / P */
  readonly numTokens: number;
}

/** xLSTM FeedForward's projection factor (xlstm_large default; not a TiRex-2 config key). */
export const TIREX2_FFN_PROJ_FACTOR = 2.6667;
const FFN_ROUND = 64;
/** The scaler's default eps (scaler_cfg.eps). */
export const TIREX2_SCALER_EPS = 1e-8;

const WHAT = 'TiRex-2 config';
const TOP_KEYS = [
  'stack_config', 'num_blocks', 'embedding_dim', 'input_patch_size', 'output_patch_size', 'quantiles', 'tokenizer_cfg', 'scaler_cfg',
  'h_expand', 'context_len', 'future_len', 'input_ff_dim', 'act_func', 'dropout', 'tta_diff', 'tta_sign_flip', 'stack_out_norm_config',
  'use_qk_norm', 'device', 'matmul_precision', 'postprocessor_cfg',
];
const TEMPLATE_KEYS = ['time_mixer', 'variate_mixer', 'dropout', 'eps'];
const TIME_KEYS = ['model_type', 'embedding_dim', 'num_heads', 'num_slstm_heads', 'device'];
const VARIATE_KEYS = ['embedding_dim', 'num_heads', 'use_flex_attention'];

function obj(what: string, path: string, v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) throw new ConfigError(`${what}: ${path} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : v === undefined ? 'nothing' : showValue(v)}`);
  return v;
}

function bool(what: string, path: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`${what}: ${path} = ${showValue(v)}, expected true or false`);
  return v;
}

function positiveNumber(what: string, path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${what}: ${path} = ${showValue(v)}, expected a finite number > 0`);
  return v;
}

/** Parameters of one TiRex-2 (closed form; the official `sum(p.numel())` with the rev_cell aliases counted once). */
export function tirex2ParameterCount(s: { E: number; P: number; Q: number; FF: number; hid: number; blocks: readonly { timeMixer: TiRex2TimeMixerType; numHeads: number; numSlstmHeads: number }[] }): number {
  const residual = (i: number, h: number, o: number) => h * i + h + o * h + o + o * i + o;
  const F = roundUpToNextMultipleOf(s.E * TIREX2_FFN_PROJ_FACTOR, FFN_ROUND);
  let n = residual(2 * s.P, s.FF, s.E) + residual(s.E, s.hid, s.Q * s.P) + s.E;
  for (const b of s.blocks) {
    // norm_lstm, combination, norm_ffn, FFN
    n += s.E + 2 * s.E * s.E + s.E + 3 * F * s.E;
    if (b.timeMixer === 'bi-mlstm') n += 2 * (s.E / 2) * s.E + 3 * s.E * s.E + 2 * (b.numHeads * s.E + b.numHeads) + s.E;
    else { const DH = s.E / b.numSlstmHeads; n += 4 * b.numSlstmHeads * DH * DH + b.numSlstmHeads * DH * 4 * DH + 4 * s.E + s.E; }
    // variate mixer: 2 norms, WQ/WK/WV/WO, MLP 4E
    n += 2 * s.E + 4 * s.E * s.E + 8 * s.E * s.E;
  }
  return n;
}

/**
 * Validates and freezes the official TiRex2 kwargs. Sizes that the official code would only
 * reject deep inside a forward (a patch that does not divide future_len, heads that do not
 * divide the width, a recipe naming no template) are refused here, naming the key.
 */
export function resolveTiRex2Config(raw: unknown, source = '<config>'): TiRex2Config {
  const what = `${WHAT} (${source})`;
  const top = obj(what, 'config', raw);
  checkKeys(what, top, '', TOP_KEYS);
  const size = (path: string, v: unknown) => sizeInt(what, path, v);
  const E = size('embedding_dim', top.embedding_dim);
  const P = size('input_patch_size', top.input_patch_size);
  const Pout = size('output_patch_size', top.output_patch_size);
  // the official model asserts this: token j reads patch j and predicts patch j + 1
  if (Pout !== P) throw new ConfigError(`${what}: output_patch_size ${Pout} must equal input_patch_size ${P}`);
  const tok = obj(what, 'tokenizer_cfg', top.tokenizer_cfg);
  checkKeys(what, tok, 'tokenizer_cfg', ['output_patch_size', 'input_patch_size', 'input_patch_stride']);
  for (const k of ['output_patch_size', 'input_patch_size', 'input_patch_stride']) {
    const v = size(`tokenizer_cfg.${k}`, tok[k]);
    if (v !== P) throw new ConfigError(`${what}: tokenizer_cfg.${k} = ${v}, expected ${P} (input_patch_size: non-overlapping patches of one size)`);
  }
  const q = top.quantiles;
  if (!Array.isArray(q) || q.length === 0 || q.some((v) => typeof v !== 'number' || !(v > 0 && v < 1))) {
    throw new ConfigError(`${what}: quantiles must be a non-empty list of levels in (0, 1), got ${showValue(q)}`);
  }
  for (let i = 1; i < q.length; i++) if (!((q[i] as number) > (q[i - 1] as number))) throw new ConfigError(`${what}: quantiles must increase, got ${showValue(q)}`);
  const sc = obj(what, 'scaler_cfg', top.scaler_cfg);
  checkKeys(what, sc, 'scaler_cfg', ['use_arcsinh', 'binaryaware', 'eps']);
  const useArcsinh = bool(what, 'scaler_cfg.use_arcsinh', sc.use_arcsinh, false);
  const binaryAware = bool(what, 'scaler_cfg.binaryaware', sc.binaryaware, false);
  const scalerEps = sc.eps === undefined ? TIREX2_SCALER_EPS : positiveNumber(what, 'scaler_cfg.eps', sc.eps);
  const hExpand = positiveNumber(what, 'h_expand', top.h_expand);
  const headHiddenDim = Math.trunc(E * hExpand);
  if (headHiddenDim < 1) throw new ConfigError(`${what}: h_expand ${hExpand} gives an output head width int(embedding_dim * h_expand) = ${headHiddenDim}, expected >= 1`);
  const C = size('context_len', top.context_len);
  const F = size('future_len', top.future_len);
  if (F % P !== 0) throw new ConfigError(`${what}: future_len ${F} must be a multiple of input_patch_size ${P} (the horizon is whole patches)`);
  const inputFfDim = size('input_ff_dim', top.input_ff_dim);
  if (top.act_func !== undefined && top.act_func !== 'SiLU' && top.act_func !== 'torch.nn.SiLU') {
    throw new ConfigError(`${what}: act_func = ${showValue(top.act_func)}; only "SiLU" (torch.nn.SiLU, the released models') is implemented`);
  }
  if (top.dropout !== undefined && (typeof top.dropout !== 'number' || !(top.dropout >= 0 && top.dropout < 1))) throw new ConfigError(`${what}: dropout = ${showValue(top.dropout)}, expected a number in [0, 1)`);
  const ttaDiff = bool(what, 'tta_diff', top.tta_diff, true);
  const ttaSignFlip = bool(what, 'tta_sign_flip', top.tta_sign_flip, false);
  const useQkNorm = bool(what, 'use_qk_norm', top.use_qk_norm, true);
  let stackOutNormEps: number | null = null;
  if (top.stack_out_norm_config !== undefined && top.stack_out_norm_config !== null) {
    const so = obj(what, 'stack_out_norm_config', top.stack_out_norm_config);
    checkKeys(what, so, 'stack_out_norm_config', ['eps', 'use_rmsnorm']);
    // official default eps 1e-7 when the key is absent
    stackOutNormEps = so.eps === undefined ? 1e-7 : positiveNumber(what, 'stack_out_norm_config.eps', so.eps);
    // use_rmsnorm picks torch.nn.RMSNorm, else the T5-style LayerNorm: both are w * x * rsqrt(mean(x^2) + eps)
    bool(what, 'stack_out_norm_config.use_rmsnorm', so.use_rmsnorm, false);
  }
  for (const k of ['device', 'matmul_precision']) if (top[k] !== undefined && typeof top[k] !== 'string') throw new ConfigError(`${what}: ${k} = ${showValue(top[k])}, expected a string`);

  const stack = obj(what, 'stack_config', top.stack_config);
  checkKeys(what, stack, 'stack_config', ['templates', 'recipe']);
  const templates = obj(what, 'stack_config.templates', stack.templates);
  const recipe = stack.recipe;
  if (!Array.isArray(recipe) || recipe.length === 0 || recipe.some((r) => typeof r !== 'string')) throw new ConfigError(`${what}: stack_config.recipe must be a non-empty list of template names, got ${showValue(recipe)}`);
  const numBlocks = size('num_blocks', top.num_blocks);
  if (numBlocks !== recipe.length) throw new ConfigError(`${what}: num_blocks ${numBlocks} must equal the length of stack_config.recipe (${recipe.length})`);
  const resolved = new Map<string, TiRex2BlockConfig>();
  for (const name of Object.keys(templates)) {
    const p = `stack_config.templates.${name}`;
    const tpl = obj(what, p, templates[name]);
    checkKeys(what, tpl, p, TEMPLATE_KEYS);
    const tm = obj(what, `${p}.time_mixer`, tpl.time_mixer);
    checkKeys(what, tm, `${p}.time_mixer`, TIME_KEYS);
    const vm = obj(what, `${p}.variate_mixer`, tpl.variate_mixer);
    checkKeys(what, vm, `${p}.variate_mixer`, VARIATE_KEYS);
    if (tm.model_type !== 'bi-mlstm' && tm.model_type !== 'bi-slstm') throw new ConfigError(`${what}: ${p}.time_mixer.model_type = ${showValue(tm.model_type)}, expected "bi-mlstm" or "bi-slstm"`);
    for (const [mp, m] of [[`${p}.time_mixer`, tm], [`${p}.variate_mixer`, vm]] as const) {
      const e = size(`${mp}.embedding_dim`, m.embedding_dim);
      if (e !== E) throw new ConfigError(`${what}: ${mp}.embedding_dim ${e} must equal embedding_dim ${E}`);
    }
    const numHeads = size(`${p}.time_mixer.num_heads`, tm.num_heads);
    const numSlstmHeads = tm.num_slstm_heads === undefined ? numHeads : size(`${p}.time_mixer.num_slstm_heads`, tm.num_slstm_heads);
    const attentionHeads = size(`${p}.variate_mixer.num_heads`, vm.num_heads);
    // mLSTM: q/k are E/2 wide split into num_heads heads; sLSTM: E split into num_slstm_heads
    if (tm.model_type === 'bi-mlstm' && E % (2 * numHeads) !== 0) throw new ConfigError(`${what}: ${p}.time_mixer.num_heads ${numHeads} must divide embedding_dim/2 = ${E / 2} (the mLSTM q/k width)`);
    if (tm.model_type === 'bi-slstm' && E % numSlstmHeads !== 0) throw new ConfigError(`${what}: ${p}.time_mixer.num_slstm_heads ${numSlstmHeads} must divide embedding_dim ${E}`);
    if (E % attentionHeads !== 0) throw new ConfigError(`${what}: ${p}.variate_mixer.num_heads ${attentionHeads} must divide embedding_dim ${E}`);
    if (vm.use_flex_attention !== undefined) bool(what, `${p}.variate_mixer.use_flex_attention`, vm.use_flex_attention, false);
    resolved.set(name, Object.freeze({ template: name, timeMixer: tm.model_type, numHeads, numSlstmHeads, attentionHeads }));
  }
  const blocks = (recipe as string[]).map((name, i) => {
    const b = resolved.get(name);
    if (!b) throw new ConfigError(`${what}: stack_config.recipe[${i}] = ${showValue(name)} names no template; templates: ${[...resolved.keys()].join(', ') || '(none)'}`);
    return b;
  });
  const ffnDim = roundUpToNextMultipleOf(E * TIREX2_FFN_PROJ_FACTOR, FFN_ROUND);
  const Q = q.length;
  checkParameterBudget({
    what: 'this TiRex-2',
    parameters: tirex2ParameterCount({ E, P, Q, FF: inputFfDim, hid: headHiddenDim, blocks }),
    bytesPerParameter: 4,
    terms: [
      { path: 'num_blocks', value: numBlocks, count: (v) => tirex2ParameterCount({ E, P, Q, FF: inputFfDim, hid: headHiddenDim, blocks: Array.from({ length: v }, (_, i) => blocks[i % blocks.length]) }) },
      { path: 'embedding_dim', value: E, count: (v) => tirex2ParameterCount({ E: v, P, Q, FF: inputFfDim, hid: Math.trunc(v * hExpand), blocks: blocks.map((b) => ({ ...b, numHeads: 1, numSlstmHeads: 1 })) }) },
      { path: 'input_ff_dim', value: inputFfDim, count: (v) => tirex2ParameterCount({ E, P, Q, FF: v, hid: headHiddenDim, blocks }) },
    ],
  });
  const windowLength = Math.ceil((C + F) / P) * P;
  // one row's activations: tokens x E floats, a few dozen alive at once
  const maxWindow = Math.floor(maxModelBytes() / (64 * E));
  if (windowLength > maxWindow) throw new LimitError('context_len', C, maxWindow - F, `one row's activations (context_len + future_len tokens x embedding_dim ${E}) would not fit in memory`);
  return Object.freeze({
    embeddingDim: E, patchSize: P, quantiles: Object.freeze([...(q as number[])]), medianIndex: Math.floor(Q / 2),
    blocks: Object.freeze(blocks), contextLength: C, futureLength: F, inputFfDim, headHiddenDim, hExpand, ffnDim,
    attentionFfnDim: 4 * E, useArcsinh, binaryAware, scalerEps, stackOutNormEps, useQkNorm, ttaDiff, ttaSignFlip,
    windowLength, numTokens: windowLength / P,
  });
}

/** Parameter count of a resolved TiRex-2 (unique tensors). */
export function tirex2NumParameters(cfg: TiRex2Config): number {
  return tirex2ParameterCount({ E: cfg.embeddingDim, P: cfg.patchSize, Q: cfg.quantiles.length, FF: cfg.inputFfDim, hid: cfg.headHiddenDim, blocks: cfg.blocks });
}
