// TiRex hyper-parameters as the official checkpoint stores them ({model_config, train_ctx_len},
// the kwargs of TiRexZero(...)), resolved once into a frozen, validated object.
import { ConfigError, LimitError } from '../../errors.js';
import { roundUpToNextMultipleOf } from '../configRules.js';
import { checkKeys, checkParameterBudget, isPlainObject, maxModelBytes, positiveFloat, showValue, sizeInt } from '../configChecks.js';

/** Fixed constants of the official TiRex modules (shared by the inference model and the model definition in ./network.ts). */
export const TIREX_RMS_EPS = 1e-6;
export const TIREX_GROUP_NORM_EPS = 1e-5;
/** The official cell clamps f~ at 15 before logsigmoid (also with the bf16 casts disabled). */
export const TIREX_FORGET_CLAMP = 15;

/** The official `model_config` (block_kwargs may hold all_slstm, return_last_states, vocab_size, which the official code ignores). */
export interface TiRexModelConfigJson {
  input_patch_size: number;
  output_patch_size: number;
  quantiles: number[];
  block_kwargs: {
    embedding_dim: number;
    num_heads: number;
    num_blocks: number;
    ffn_proj_factor?: number;
    [extra: string]: unknown;
  };
  input_ff_dim: number;
  nan_mask_value?: number;
  [extra: string]: unknown;
}

/** `hyper_parameters` of model.ckpt, or the config.json written beside model.safetensors. */
export interface TiRexHyperParametersJson {
  model_config: TiRexModelConfigJson;
  train_ctx_len: number;
  [extra: string]: unknown;
}

export interface TiRexConfig {
  readonly inputPatchSize: number;
  readonly outputPatchSize: number;
  readonly quantiles: readonly number[];
  readonly embeddingDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly numBlocks: number;
  readonly ffnProjFactor: number;
  /** roundUpToNextMultipleOf(embeddingDim * ffnProjFactor, 64), as the official sLSTMBlock (configRules.ts). */
  readonly ffnDim: number;
  readonly inputFfDim: number;
  readonly trainCtxLen: number;
  /** Value NaN inputs become after scaling (official default 0). */
  readonly nanMaskValue: number;
  /** Index of the 0.5 quantile (the "mean" output). */
  readonly medianIndex: number;
}

/** sLSTMBlockConfig default. */
export const DEFAULT_FFN_PROJ_FACTOR = 2.6667;
/** tirex/models/slstm/block.py rounds the FFN width to this multiple (a constant there, not a config field). */
const FFN_ROUND = 64;

const WHAT = 'TiRex config';
// TiRexZero(model_config, train_ctx_len) is what the checkpoint's hyper_parameters feed.
const TOP_KEYS = ['model_config', 'train_ctx_len'];
// TiRexZeroConfig fields given in model_config (nan_mask_value: its default 0 may be spelt out).
const MODEL_KEYS = ['input_patch_size', 'output_patch_size', 'quantiles', 'block_kwargs', 'input_ff_dim', 'nan_mask_value'];
// sLSTMBlockConfig fields, plus num_blocks, which TiRexZero reads from block_kwargs itself.
const BLOCK_KEYS = ['embedding_dim', 'num_heads', 'num_blocks', 'ffn_proj_factor', 'num_states', 'num_gates'];
// Keys the official checkpoints carry in block_kwargs and the official code ignores
// (TiRexZero filters block_kwargs to the sLSTMBlockConfig fields).
const IGNORED_BLOCK_KEYS = ['all_slstm', 'return_last_states', 'vocab_size'];

function obj(source: string, path: string, v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) throw new ConfigError(`${WHAT} (${source}): ${path} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : v === undefined ? 'nothing' : showValue(v)}`);
  return v;
}

/** Parameters of a TiRex (closed form, float64: fine for any size). */
function tirexParameterCount(s: { E: number; NH: number; NB: number; FF: number; inP: number; outP: number; Q: number; factor: number }): number {
  const F = roundUpToNextMultipleOf(s.E * s.factor, FFN_ROUND);
  const residual = (i: number, o: number) => s.FF * i + s.FF + o * s.FF + o + o * i + o;
  const DH = s.E / s.NH;
  // norms (2), 4 head-wise gates, recurrent kernel, bias, group norm, 3 FFN matrices
  const block = 2 * s.E + 4 * s.NH * DH * DH + s.NH * DH * 4 * DH + 4 * s.E + s.E + 3 * F * s.E;
  return residual(2 * s.inP, s.E) + s.NB * block + s.E + residual(s.E, s.Q * s.outP);
}

/**
 * Validates and freezes the official hyper-parameters {model_config, train_ctx_len}
 * (checkpoint hyper_parameters / config.json). Unknown keys at any level are errors naming
 * their path; `resolved_*` keys at the top (records of the resolved dataclasses written
 * beside the golden fixtures) are ignored. Sizes are checked against the memory the
 * parameters need before anything is allocated.
 */
export function resolveTiRexConfig(raw: unknown, source = '<config>'): TiRexConfig {
  const what = `${WHAT} (${source})`;
  const top = obj(source, 'hyper-parameters', raw);
  checkKeys(what, top, '', TOP_KEYS, (k) => k.startsWith('resolved_'));
  const mc = obj(source, 'model_config', top.model_config);
  checkKeys(what, mc, 'model_config', MODEL_KEYS);
  const bk = obj(source, 'model_config.block_kwargs', mc.block_kwargs);
  checkKeys(what, bk, 'model_config.block_kwargs', BLOCK_KEYS, (k) => IGNORED_BLOCK_KEYS.includes(k));
  const size = (path: string, v: unknown) => sizeInt(what, path, v);
  const inputPatchSize = size('model_config.input_patch_size', mc.input_patch_size);
  const outputPatchSize = size('model_config.output_patch_size', mc.output_patch_size);
  // official TiRexZero asserts this: one token both reads and predicts one patch
  if (outputPatchSize !== inputPatchSize) {
    throw new ConfigError(`${what}: model_config.output_patch_size ${outputPatchSize} must equal model_config.input_patch_size ${inputPatchSize}`);
  }
  const q = mc.quantiles;
  if (!Array.isArray(q) || q.length === 0 || q.some((v) => typeof v !== 'number' || !(v > 0 && v < 1))) {
    throw new ConfigError(`${what}: model_config.quantiles must be a non-empty list of levels in (0, 1), got ${showValue(q)}`);
  }
  const embeddingDim = size('model_config.block_kwargs.embedding_dim', bk.embedding_dim);
  const numHeads = size('model_config.block_kwargs.num_heads', bk.num_heads);
  if (embeddingDim % numHeads !== 0) throw new ConfigError(`${what}: model_config.block_kwargs.embedding_dim ${embeddingDim} must be divisible by model_config.block_kwargs.num_heads ${numHeads}`);
  const numBlocks = size('model_config.block_kwargs.num_blocks', bk.num_blocks);
  for (const k of ['num_states', 'num_gates']) {
    // the sLSTM cell has exactly four gates and four states (i, f, z, o / c, n, m, h)
    if (bk[k] !== undefined && bk[k] !== 4) throw new ConfigError(`${what}: model_config.block_kwargs.${k} = ${showValue(bk[k])}, expected 4 (the sLSTM cell)`);
  }
  const ffnProjFactor = positiveFloat(what, 'model_config.block_kwargs.ffn_proj_factor', bk.ffn_proj_factor ?? DEFAULT_FFN_PROJ_FACTOR);
  const ffnDim = roundUpToNextMultipleOf(embeddingDim * ffnProjFactor, FFN_ROUND);
  if (ffnDim < 1) throw new ConfigError(`${what}: model_config.block_kwargs.ffn_proj_factor ${ffnProjFactor} gives an FFN width of ${ffnDim} for embedding_dim ${embeddingDim}, expected >= 1`);
  const inputFfDim = size('model_config.input_ff_dim', mc.input_ff_dim);
  const trainCtxLen = size('train_ctx_len', top.train_ctx_len);
  // the official forward asserts this when it cuts the context into patches
  if (trainCtxLen % inputPatchSize !== 0) {
    throw new ConfigError(`${what}: train_ctx_len ${trainCtxLen} must be a multiple of model_config.input_patch_size ${inputPatchSize}`);
  }
  const nanMaskValue = mc.nan_mask_value ?? 0;
  if (typeof nanMaskValue !== 'number' || !Number.isFinite(nanMaskValue)) throw new ConfigError(`${what}: model_config.nan_mask_value must be a finite number, got ${showValue(nanMaskValue)}`);
  const medianIndex = (q as number[]).findIndex((v) => Math.abs(v - 0.5) < 1e-9);
  if (medianIndex < 0) throw new ConfigError(`${what}: model_config.quantiles must contain 0.5 (the mean output), got ${showValue(q)}`);

  const sizes = { E: embeddingDim, NH: numHeads, NB: numBlocks, FF: inputFfDim, inP: inputPatchSize, outP: outputPatchSize, Q: q.length, factor: ffnProjFactor };
  const term = (path: string, key: keyof typeof sizes, value: number) => ({ path, value, count: (v: number) => tirexParameterCount({ ...sizes, [key]: v, ...(key === 'inP' ? { outP: v } : {}) }) });
  checkParameterBudget({
    what: 'this TiRex',
    parameters: tirexParameterCount(sizes),
    bytesPerParameter: 4,
    terms: [
      term('model_config.block_kwargs.num_blocks', 'NB', numBlocks),
      // num_heads only divides the width; blaming it would never help
      term('model_config.block_kwargs.embedding_dim', 'E', embeddingDim),
      term('model_config.input_ff_dim', 'FF', inputFfDim),
      term('model_config.input_patch_size', 'inP', inputPatchSize),
      term('model_config.quantiles', 'Q', q.length),
    ],
  });
  // A forecast holds one context of train_ctx_len values per series, [tokens, E] activations each.
  const maxCtx = Math.floor(maxModelBytes() / (4 * embeddingDim));
  if (trainCtxLen > maxCtx) throw new LimitError('train_ctx_len', trainCtxLen, maxCtx, `one series' activations (train_ctx_len x embedding_dim ${embeddingDim} floats) would not fit in memory`);
  return Object.freeze({
    inputPatchSize, outputPatchSize,
    quantiles: Object.freeze([...(q as number[])]),
    embeddingDim, numHeads, headDim: embeddingDim / numHeads, numBlocks,
    ffnProjFactor,
    ffnDim,
    inputFfDim, trainCtxLen, nanMaskValue, medianIndex,
  });
}

/** Parameter count of a resolved TiRex (what the official `sum(p.numel())` gives). */
export function tirexNumParameters(cfg: TiRexConfig): number {
  return tirexParameterCount({
    E: cfg.embeddingDim, NH: cfg.numHeads, NB: cfg.numBlocks, FF: cfg.inputFfDim, inP: cfg.inputPatchSize,
    outP: cfg.outputPatchSize, Q: cfg.quantiles.length, factor: cfg.ffnProjFactor,
  });
}
