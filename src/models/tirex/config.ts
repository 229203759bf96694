// TiRex hyper-parameters as the official checkpoint stores them ({model_config, train_ctx_len},
// the kwargs of TiRexZero(...)), resolved once into a frozen, validated object.

/** The official `model_config` (block_kwargs may hold extra keys; they are ignored as the official loader does). */
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
  /** round_up(embeddingDim * ffnProjFactor, 64), as the official sLSTMBlockConfig. */
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
const FFN_ROUND = 64;

function posInt(source: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`TiRex config (${source}): ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function obj(source: string, name: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`TiRex config (${source}): ${name} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Record<string, unknown>;
}

/**
 * Validates and freezes the official hyper-parameters. Accepts {model_config, train_ctx_len}
 * (checkpoint / config.json) and ignores other top-level keys (e.g. resolved_* in fixtures).
 */
export function resolveTiRexConfig(raw: unknown, source = '<config>'): TiRexConfig {
  const top = obj(source, 'hyper-parameters', raw);
  const mc = obj(source, 'model_config', top.model_config);
  const bk = obj(source, 'model_config.block_kwargs', mc.block_kwargs);
  const inputPatchSize = posInt(source, 'model_config.input_patch_size', mc.input_patch_size);
  const outputPatchSize = posInt(source, 'model_config.output_patch_size', mc.output_patch_size);
  const q = mc.quantiles;
  if (!Array.isArray(q) || q.length === 0 || q.some((v) => typeof v !== 'number' || !(v > 0 && v < 1))) {
    throw new Error(`TiRex config (${source}): model_config.quantiles must be a non-empty list of levels in (0, 1), got ${JSON.stringify(q)}`);
  }
  const embeddingDim = posInt(source, 'block_kwargs.embedding_dim', bk.embedding_dim);
  const numHeads = posInt(source, 'block_kwargs.num_heads', bk.num_heads);
  if (embeddingDim % numHeads !== 0) throw new Error(`TiRex config (${source}): block_kwargs.embedding_dim ${embeddingDim} must be divisible by num_heads ${numHeads}`);
  const numBlocks = posInt(source, 'block_kwargs.num_blocks', bk.num_blocks);
  const ffnProjFactor = bk.ffn_proj_factor ?? DEFAULT_FFN_PROJ_FACTOR;
  if (typeof ffnProjFactor !== 'number' || !(ffnProjFactor > 0)) throw new Error(`TiRex config (${source}): block_kwargs.ffn_proj_factor must be a positive number, got ${JSON.stringify(ffnProjFactor)}`);
  const inputFfDim = posInt(source, 'model_config.input_ff_dim', mc.input_ff_dim);
  const trainCtxLen = posInt(source, 'train_ctx_len', top.train_ctx_len);
  const nanMaskValue = mc.nan_mask_value ?? 0;
  if (typeof nanMaskValue !== 'number' || !Number.isFinite(nanMaskValue)) throw new Error(`TiRex config (${source}): model_config.nan_mask_value must be a finite number, got ${JSON.stringify(nanMaskValue)}`);
  const medianIndex = (q as number[]).findIndex((v) => Math.abs(v - 0.5) < 1e-9);
  if (medianIndex < 0) throw new Error(`TiRex config (${source}): model_config.quantiles must contain 0.5 (the mean output), got ${JSON.stringify(q)}`);
  return Object.freeze({
    inputPatchSize, outputPatchSize,
    quantiles: Object.freeze([...(q as number[])]),
    embeddingDim, numHeads, headDim: embeddingDim / numHeads, numBlocks,
    ffnProjFactor,
    ffnDim: Math.ceil((embeddingDim * ffnProjFactor) / FFN_ROUND) * FFN_ROUND,
    inputFfDim, trainCtxLen, nanMaskValue, medianIndex,
  });
}
