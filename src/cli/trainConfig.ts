// The training config of `xlstm train` (JSON or YAML): model, data, optim, eval, checkpoint
// sections, validated key by key. Unknown keys, keys of another model kind and bad values are
// errors that name the key, so a typo never silently trains something else.
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { SYNTHETIC_KINDS } from '../data/synthetic/generator.js';
import { ConfigError, LimitError } from '../errors.js';
import { DEFAULT_FFN_PROJ_FACTOR } from '../models/tirex/config.js';

export interface TiRexModelSection {
  kind: 'tirex';
  /** Sizes: required for a fresh init; with init_from optional and, when given, checked against the loaded model. */
  embedding_dim?: number; num_heads?: number; num_blocks?: number; input_ff_dim?: number;
  patch_size: number; context_length: number; ffn_proj_factor?: number; quantiles?: number[];
  /** Start from these weights (folder with model.safetensors + config.json, or model.ckpt) instead of a fresh init. */
  init_from?: string;
  seed: number;
}

/** TiRex-2 (src/models/tirex2) on the promotion covariate task (src/data/synthetic/promotion.ts). */
export interface TiRex2ModelSection {
  kind: 'tirex2';
  /** Sizes of a fresh init (the official kwargs are built from them, init.ts); not allowed with init_from. */
  embedding_dim?: number; num_heads?: number; num_blocks?: number; recipe?: ('bi-mlstm' | 'bi-slstm')[];
  patch_size?: number; context_length?: number; future_length?: number; input_ff_dim?: number; h_expand?: number; quantiles?: number[];
  /** Start from this TiRex-2 folder (config.json + model.safetensors, or the legacy files). */
  init_from?: string;
  seed: number;
}

export interface LmModelSection {
  /** 'xlstm-lm': xLSTMLMModel (NeurIPS paper library); 'xlstm-large': xLSTM Large / xLSTM-7B architecture. */
  kind: 'xlstm-lm' | 'xlstm-large';
  /**
   * Model config (official keys, vocab_size included), inline or a JSON/YAML file path. With
   * init_from it is optional and overrides fields of the folder's config.json (e.g. chunk_size).
   */
  config?: Record<string, unknown> | string;
  /** Start from the weights of this model folder (config.json + model.safetensors) instead of a fresh init. */
  init_from?: string;
  seed: number;
}

/** The arrow-pointing classifiers: the pLSTM vision model or its ViT-style baseline. */
export interface VisionModelSection {
  kind: 'plstm-vision' | 'vit-vision';
  /**
   * Sizes ({dim, num_heads, patch_size, num_blocks, num_channels?, block_mode? | mlp_ratio?, pooling?}; the
   * resolution is data.arrow_pointing.image_size, 2 classes) or a full model config.json object / file path.
   */
  config?: Record<string, unknown> | string;
  init_from?: string;
  seed: number;
}

export interface TrainConfig {
  /** Where the config came from, as error messages name it (a quoted file name). */
  source: string;
  model: TiRexModelSection | TiRex2ModelSection | LmModelSection | VisionModelSection;
  data: {
    seed: number;
    // tirex
    mix?: Record<string, number>; min_context_length?: number; full_context_probability?: number;
    /** How shorter windows' context lengths are drawn (default 'uniform'). */
    context_sampling?: 'uniform' | 'log-uniform';
    cpm?: false | { probability?: number; max_run?: number; max_runs?: number; suffix_probability?: number };
    /** Worker threads making the synthetic batches ahead of the step (default 1; 0 = on the main thread). Same batches either way. */
    workers?: number;
    // xlstm-lm / xlstm-large
    text?: string; seq_len?: number; validation_fraction?: number;
    /** tokenizer.json (or a folder holding one) that encodes text; default: UTF-8 bytes. */
    tokenizer?: string;
    // tirex2
    /** Probability that a training series comes without its covariate (default 0.5). */
    covariate_dropout?: number;
    /** Promotion task settings (PromotionTaskOptions, snake_case). */
    promotion?: PromotionConfigSection;
    // plstm-vision / vit-vision: the official ArrowPointingConfig keys (image_size, radii, seed, n_samples, ...)
    arrow_pointing?: Record<string, unknown>;
  };
  optim: { lr: number; min_lr: number; warmup_steps: number; steps: number; batch_size: number; accumulation_steps: number; grad_clip?: number; weight_decay: number; seed: number };
  eval: {
    every?: number; horizon: number;
    synthetic?: { count: number; seed: number; seasonality?: number };
    csv?: { path: string; horizon?: number; seasonality?: number; max_series?: number }[];
    max_batches?: number;
    /** plstm-vision / vit-vision: accuracy on `count` images of each size (the training size and larger ones), drawn with `seed`. */
    arrow_pointing?: { image_sizes: [number, number][]; count: number; seed: number; batch_size: number };
  };
  checkpoint: { dir: string; every?: number };
  /** Where the final model goes (default: checkpoint.dir). */
  output?: string;
  log_every: number;
  threads?: number;
}

export interface PromotionConfigSection {
  start_probability?: number; duration_range?: [number, number]; lift_range?: [number, number]; periods?: number[];
  amplitude_range?: [number, number]; noise?: number; noise_ar?: number; level_range?: [number, number];
}

function fail(source: string, key: string, msg: string): never { throw new ConfigError(`train config ${source}: ${key} ${msg}`); }

/** A LimitError whose message starts with the config file, as every other train config error. */
function limit(source: string, key: string, value: number, max: number, reason: string): never {
  const e = new LimitError(key, value, max, reason);
  e.message = `train config ${source}: ${e.message}`;
  throw e;
}

/** The wasm32 heap every training tensor lives on. */
export const TRAIN_HEAP_BYTES = 2 ** 32;
/** More steps than any run of this library can finish (years at its speed); the bound keeps step counts exact integers everywhere. */
export const MAX_TRAIN_STEPS = 1e9;
const GIB = 2 ** 30;
const gib = (b: number) => (b / GIB < 10 ? (b / GIB).toFixed(2) : (b / GIB).toExponential(2));

/**
 * Refuses, before anything is built, a run whose weights or one step's activations cannot fit
 * the 4 GiB wasm heap. The estimates are lower bounds (only the tensors every step must hold:
 * f32 weights and gradients, and per token a few vectors of the model width per block plus
 * the outputs), so a run refused here could never have run; all micro-batches of a step stay on
 * the heap until the step ends, so accumulation_steps multiplies the batch.
 */
export function checkTrainMemory(source: string, s: {
  /** f32 values per parameter set (weights) */ params: number;
  /** tokens (patches, positions) per sample */ tokens: number;
  /** f32 values held per token per step */ perToken: number;
  batchSize: number; accumulationSteps: number;
  /** config keys that set params / tokens (values per unit of the key), for the messages */
  paramsKey: { key: string; value: number; perUnit: number; max?: number }; tokensKey: { key: string; value: number; perUnit: number };
}): void {
  const weights = 8 * s.params; // value + gradient, f32
  if (weights >= TRAIN_HEAP_BYTES) {
    const k = s.paramsKey;
    limit(source, k.key, k.value, k.max ?? Math.max(0, Math.floor(TRAIN_HEAP_BYTES / (8 * k.perUnit))), `the weights and gradients would need at least ${gib(weights)} GiB; the wasm heap holds 4 GiB`);
  }
  const perSample = 4 * s.tokens * s.perToken * s.accumulationSteps;
  const fit = Math.floor((TRAIN_HEAP_BYTES - weights) / perSample);
  if (fit < 1) {
    const k = s.tokensKey;
    limit(source, k.key, k.value, Math.max(0, Math.floor((TRAIN_HEAP_BYTES - weights) / (4 * k.perUnit * s.perToken * s.accumulationSteps))), `one sample would need at least ${gib(perSample)} GiB of activations; the wasm heap holds 4 GiB`);
  }
  if (s.batchSize > fit) {
    limit(source, 'optim.batch_size', s.batchSize, fit, `one step (${s.batchSize} x accumulation_steps ${s.accumulationSteps} samples of ${s.tokens} tokens) would need at least ${gib(perSample * s.batchSize + weights)} GiB; the wasm heap holds 4 GiB`);
  }
}

function obj(source: string, key: string, v: unknown, optional = false): Record<string, unknown> {
  if (v === undefined && optional) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(source, key, `must be a mapping, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}
function num(source: string, key: string, v: unknown, d?: number, o: { int?: boolean; min?: number; max?: number; gt?: number } = {}): number {
  if (v === undefined) { if (d === undefined) fail(source, key, 'is required'); return d; }
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, key, `must be a number, got ${JSON.stringify(v)}`);
  if (o.int && !Number.isInteger(v)) fail(source, key, `must be an integer, got ${v}`);
  if (o.min !== undefined && v < o.min) fail(source, key, `must be >= ${o.min}, got ${v}`);
  if (o.gt !== undefined && !(v > o.gt)) fail(source, key, `must be > ${o.gt}, got ${v}`);
  if (o.max !== undefined && v > o.max) fail(source, key, `must be <= ${o.max}, got ${v}`);
  return v;
}
const posInt = (s: string, k: string, v: unknown, d?: number) => num(s, k, v, d, { int: true, min: 1 });
function checkKeys(source: string, key: string, o: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(source, `${key}${key ? '.' : ''}${k}`, `is not a known key (expected one of ${allowed.join(', ')})`);
}

/** Validates a parsed config (unknown keys are errors: a typo must not silently train something else). Paths resolve against `baseDir`. */
export function resolveTrainConfig(raw: unknown, source = '<config>', baseDir = '.'): TrainConfig {
  const top = obj(source, 'config', raw);
  checkKeys(source, '', top, ['model', 'data', 'optim', 'eval', 'checkpoint', 'output', 'log_every', 'threads']);
  const m = obj(source, 'model', top.model);
  const path = (p: unknown, key: string): string => { if (typeof p !== 'string' || !p) fail(source, key, `must be a path, got ${JSON.stringify(p)}`); return resolvePath(baseDir, p); };
  let model: TrainConfig['model'];
  if (m.kind === 'tirex') {
    checkKeys(source, 'model', m, ['kind', 'embedding_dim', 'num_heads', 'num_blocks', 'input_ff_dim', 'patch_size', 'context_length', 'ffn_proj_factor', 'quantiles', 'init_from', 'seed']);
    // with init_from the sizes come from the loaded model (a given size is checked against it in tirexJob)
    const size = (k: string): number | undefined => (m.init_from !== undefined && m[k] === undefined ? undefined : posInt(source, `model.${k}`, m[k]));
    const E = size('embedding_dim'), NH = size('num_heads');
    if (E !== undefined && NH !== undefined && E % NH) fail(source, 'model.embedding_dim', `(${E}) must be divisible by model.num_heads (${NH})`);
    model = {
      kind: 'tirex', embedding_dim: E, num_heads: NH, num_blocks: size('num_blocks'),
      input_ff_dim: size('input_ff_dim'), patch_size: posInt(source, 'model.patch_size', m.patch_size, 32),
      context_length: posInt(source, 'model.context_length', m.context_length, 2048),
      ffn_proj_factor: m.ffn_proj_factor === undefined ? undefined : num(source, 'model.ffn_proj_factor', m.ffn_proj_factor, undefined, { gt: 0 }),
      quantiles: m.quantiles === undefined ? undefined : (Array.isArray(m.quantiles) ? m.quantiles.map((q, i) => num(source, `model.quantiles[${i}]`, q, undefined, { gt: 0, max: 1 })) : fail(source, 'model.quantiles', 'must be a list of levels')),
      init_from: m.init_from === undefined ? undefined : path(m.init_from, 'model.init_from'),
      seed: num(source, 'model.seed', m.seed, 0, { int: true, min: 0 }),
    };
  } else if (m.kind === 'tirex2') {
    const sizeKeys = ['embedding_dim', 'num_heads', 'num_blocks', 'recipe', 'patch_size', 'context_length', 'future_length', 'input_ff_dim', 'h_expand', 'quantiles'];
    checkKeys(source, 'model', m, ['kind', ...sizeKeys, 'init_from', 'seed']);
    if (m.init_from !== undefined) {
      const given = sizeKeys.filter((k) => m[k] !== undefined);
      if (given.length) fail(source, `model.${given[0]}`, 'is not used with model.init_from (the sizes come from the loaded config.json); leave it out');
    } else if (m.embedding_dim === undefined) fail(source, 'model.embedding_dim', "is required for model.kind 'tirex2' (or give model.init_from)");
    const opt = (k: string) => (m[k] === undefined ? undefined : posInt(source, `model.${k}`, m[k]));
    let recipe: TiRex2ModelSection['recipe'];
    if (m.recipe !== undefined) {
      if (!Array.isArray(m.recipe) || m.recipe.length === 0) fail(source, 'model.recipe', `must be a non-empty list of 'bi-mlstm' / 'bi-slstm', got ${JSON.stringify(m.recipe)}`);
      recipe = m.recipe.map((r, i) => (r === 'bi-mlstm' || r === 'bi-slstm' ? r : fail(source, `model.recipe[${i}]`, `must be 'bi-mlstm' or 'bi-slstm', got ${JSON.stringify(r)}`)));
      if (m.num_blocks !== undefined && m.num_blocks !== recipe.length) fail(source, 'model.num_blocks', `(${m.num_blocks}) must equal the length of model.recipe (${recipe.length})`);
    }
    model = {
      kind: 'tirex2', embedding_dim: opt('embedding_dim'), num_heads: opt('num_heads'), num_blocks: opt('num_blocks'), recipe,
      patch_size: opt('patch_size'), context_length: opt('context_length'), future_length: opt('future_length'), input_ff_dim: opt('input_ff_dim'),
      h_expand: m.h_expand === undefined ? undefined : num(source, 'model.h_expand', m.h_expand, undefined, { gt: 0 }),
      quantiles: m.quantiles === undefined ? undefined : (Array.isArray(m.quantiles) ? m.quantiles.map((q, i) => num(source, `model.quantiles[${i}]`, q, undefined, { gt: 0, max: 1 })) : fail(source, 'model.quantiles', 'must be a list of levels')),
      init_from: m.init_from === undefined ? undefined : path(m.init_from, 'model.init_from'),
      seed: num(source, 'model.seed', m.seed, 0, { int: true, min: 0 }),
    };
  } else if (m.kind === 'xlstm-lm' || m.kind === 'xlstm-large') {
    checkKeys(source, 'model', m, ['kind', 'config', 'init_from', 'seed']);
    const c = m.config;
    if (c === undefined && m.init_from === undefined) fail(source, 'model.config', `is required for model.kind '${m.kind}' (inline, or a JSON/YAML file path), unless model.init_from names a model folder`);
    model = {
      kind: m.kind,
      config: c === undefined ? undefined : typeof c === 'string' ? path(c, 'model.config') : obj(source, 'model.config', c),
      init_from: m.init_from === undefined ? undefined : path(m.init_from, 'model.init_from'),
      seed: num(source, 'model.seed', m.seed, 0, { int: true, min: 0 }),
    };
  } else if (m.kind === 'plstm-vision' || m.kind === 'vit-vision') {
    checkKeys(source, 'model', m, ['kind', 'config', 'init_from', 'seed']);
    const c = m.config;
    if (c === undefined && m.init_from === undefined) fail(source, 'model.config', `is required for model.kind '${m.kind}' (sizes, or a config.json object / file path), unless model.init_from names a model folder`);
    model = {
      kind: m.kind,
      config: c === undefined ? undefined : typeof c === 'string' ? path(c, 'model.config') : obj(source, 'model.config', c),
      init_from: m.init_from === undefined ? undefined : path(m.init_from, 'model.init_from'),
      seed: num(source, 'model.seed', m.seed, 0, { int: true, min: 0 }),
    };
  } else fail(source, 'model.kind', `must be 'tirex' or 'xlstm-lm' or 'xlstm-large' or 'tirex2' or 'plstm-vision' or 'vit-vision', got ${JSON.stringify(m.kind)}`);
  const vision = model.kind === 'plstm-vision' || model.kind === 'vit-vision';
  const d = obj(source, 'data', top.data, true);
  checkKeys(source, 'data', d, ['seed', 'mix', 'min_context_length', 'full_context_probability', 'context_sampling', 'cpm', 'text', 'seq_len', 'validation_fraction', 'tokenizer', 'workers', 'covariate_dropout', 'promotion', 'arrow_pointing']);
  let mix: Record<string, number> | undefined;
  if (d.mix !== undefined) {
    mix = {};
    for (const [k, v] of Object.entries(obj(source, 'data.mix', d.mix))) {
      if (!(SYNTHETIC_KINDS as readonly string[]).includes(k)) fail(source, `data.mix.${k}`, `is not a synthetic kind (expected ${SYNTHETIC_KINDS.join(', ')})`);
      mix[k] = num(source, `data.mix.${k}`, v, undefined, { min: 0 });
    }
  }
  let cpm: TrainConfig['data']['cpm'];
  if (d.cpm === false) cpm = false;
  else if (d.cpm !== undefined) {
    const c = obj(source, 'data.cpm', d.cpm);
    checkKeys(source, 'data.cpm', c, ['probability', 'max_run', 'max_runs', 'suffix_probability']);
    cpm = {
      probability: c.probability === undefined ? undefined : num(source, 'data.cpm.probability', c.probability, undefined, { min: 0, max: 1 }),
      max_run: c.max_run === undefined ? undefined : posInt(source, 'data.cpm.max_run', c.max_run),
      max_runs: c.max_runs === undefined ? undefined : posInt(source, 'data.cpm.max_runs', c.max_runs),
      suffix_probability: c.suffix_probability === undefined ? undefined : num(source, 'data.cpm.suffix_probability', c.suffix_probability, undefined, { min: 0, max: 1 }),
    };
  }
  const data: TrainConfig['data'] = {
    seed: num(source, 'data.seed', d.seed, 0, { int: true, min: 0 }), mix, cpm,
    min_context_length: d.min_context_length === undefined ? undefined : posInt(source, 'data.min_context_length', d.min_context_length),
    full_context_probability: d.full_context_probability === undefined ? undefined : num(source, 'data.full_context_probability', d.full_context_probability, undefined, { min: 0, max: 1 }),
    context_sampling: d.context_sampling === undefined ? undefined
      : d.context_sampling === 'uniform' || d.context_sampling === 'log-uniform' ? d.context_sampling
      : fail(source, 'data.context_sampling', `must be 'uniform' or 'log-uniform', got ${JSON.stringify(d.context_sampling)}`),
    text: d.text === undefined ? undefined : path(d.text, 'data.text'),
    seq_len: d.seq_len === undefined ? undefined : posInt(source, 'data.seq_len', d.seq_len),
    validation_fraction: d.validation_fraction === undefined ? undefined : num(source, 'data.validation_fraction', d.validation_fraction, undefined, { min: 0, max: 0.9 }),
    tokenizer: d.tokenizer === undefined ? undefined : path(d.tokenizer, 'data.tokenizer'),
    workers: d.workers === undefined ? undefined : num(source, 'data.workers', d.workers, undefined, { int: true, min: 0, max: 64 }),
    covariate_dropout: d.covariate_dropout === undefined ? undefined : num(source, 'data.covariate_dropout', d.covariate_dropout, undefined, { min: 0, max: 1 }),
    promotion: d.promotion === undefined ? undefined : promotionSection(source, obj(source, 'data.promotion', d.promotion)),
    arrow_pointing: d.arrow_pointing === undefined ? undefined : obj(source, 'data.arrow_pointing', d.arrow_pointing),
  };
  const isLm = model.kind === 'xlstm-lm' || model.kind === 'xlstm-large';
  if (isLm && (!data.text || !data.seq_len)) fail(source, 'data', `for model.kind '${model.kind}' needs text (a UTF-8 file; byte tokens, or data.tokenizer's) and seq_len`);
  if (vision && !data.arrow_pointing) fail(source, 'data.arrow_pointing', `is required for model.kind '${model.kind}' (the official ArrowPointingConfig keys: image_size, min_radius, ...)`);
  // keys of the other kind would be ignored: a typo or a copied section must not silently train something else
  const ev = obj(source, 'eval', top.eval, true);
  const otherKind = (sec: Record<string, unknown>, secName: string, keys: string[], owner: string) => {
    for (const k of keys) if (sec[k] !== undefined) fail(source, `${secName}.${k}`, `is only used by ${owner}, not by model.kind '${model.kind}'`);
  };
  if (vision) {
    otherKind(d, 'data', ['text', 'seq_len', 'validation_fraction', 'tokenizer', 'mix', 'cpm', 'min_context_length', 'full_context_probability', 'context_sampling', 'workers'], "the forecasting and language-model kinds");
    otherKind(ev, 'eval', ['synthetic', 'csv', 'horizon', 'max_batches'], "the forecasting and language-model kinds");
  } else {
    otherKind(d, 'data', ['arrow_pointing'], "the vision kinds ('plstm-vision', 'vit-vision')");
    otherKind(ev, 'eval', ['arrow_pointing'], "the vision kinds ('plstm-vision', 'vit-vision')");
  }
  if (!isLm) {
    otherKind(d, 'data', ['text', 'seq_len', 'validation_fraction', 'tokenizer'], "the language-model kinds ('xlstm-lm', 'xlstm-large')");
    otherKind(ev, 'eval', ['max_batches'], "the language-model kinds ('xlstm-lm', 'xlstm-large')");
  }
  if (model.kind !== 'tirex') otherKind(d, 'data', ['mix', 'cpm', 'min_context_length', 'full_context_probability', 'context_sampling', 'workers'], "model.kind 'tirex' (synthetic series)");
  if (model.kind !== 'tirex2') otherKind(d, 'data', ['covariate_dropout', 'promotion'], "model.kind 'tirex2' (the promotion covariate task)");
  if (model.kind === 'tirex2') otherKind(ev, 'eval', ['csv'], "model.kind 'tirex' (tirex2 is scored on held-out series of the promotion task: eval.synthetic)");
  if (model.kind === 'tirex2' && (ev.synthetic as Record<string, unknown> | undefined)?.seasonality !== undefined) fail(source, 'eval.synthetic.seasonality', "is not used by model.kind 'tirex2' (each promotion series is scored with its own seasonal period)");
  if (isLm) otherKind(ev, 'eval', ['synthetic', 'csv', 'horizon'], "model.kind 'tirex' or 'tirex2' (forecast evaluation)");
  const op = obj(source, 'optim', top.optim);
  checkKeys(source, 'optim', op, ['lr', 'min_lr', 'warmup_steps', 'steps', 'batch_size', 'accumulation_steps', 'grad_clip', 'weight_decay', 'seed']);
  const optim: TrainConfig['optim'] = {
    lr: num(source, 'optim.lr', op.lr, undefined, { gt: 0 }), min_lr: num(source, 'optim.min_lr', op.min_lr, 0, { min: 0 }),
    warmup_steps: num(source, 'optim.warmup_steps', op.warmup_steps, 0, { int: true, min: 0 }), steps: posInt(source, 'optim.steps', op.steps),
    batch_size: posInt(source, 'optim.batch_size', op.batch_size), accumulation_steps: posInt(source, 'optim.accumulation_steps', op.accumulation_steps, 1),
    grad_clip: op.grad_clip === undefined ? undefined : num(source, 'optim.grad_clip', op.grad_clip, undefined, { gt: 0 }),
    weight_decay: num(source, 'optim.weight_decay', op.weight_decay, 0.01, { min: 0 }), seed: num(source, 'optim.seed', op.seed, 0, { int: true, min: 0 }),
  };
  // values that are each fine but contradict each other would train with a schedule nobody asked for
  if (optim.steps > MAX_TRAIN_STEPS) limit(source, 'optim.steps', optim.steps, MAX_TRAIN_STEPS, 'no run of this library could finish them');
  if (optim.min_lr > optim.lr) fail(source, 'optim.min_lr', `(${optim.min_lr}) must be <= optim.lr (${optim.lr}): the cosine schedule decays from lr to min_lr`);
  if (optim.warmup_steps > optim.steps) fail(source, 'optim.warmup_steps', `(${optim.warmup_steps}) must be <= optim.steps (${optim.steps}): the warmup would never end`);
  if (model.kind === 'tirex') {
    if (data.min_context_length !== undefined && data.min_context_length > model.context_length) fail(source, 'data.min_context_length', `(${data.min_context_length}) must be <= model.context_length (${model.context_length})`);
    if (model.patch_size > model.context_length) fail(source, 'model.patch_size', `(${model.patch_size}) must be <= model.context_length (${model.context_length})`);
    const { embedding_dim: E, num_blocks: NB, input_ff_dim: FF } = model;
    if (E !== undefined && NB !== undefined && FF !== undefined) {
      // lower bounds: per block the FFN's up and down projections (2 E * ff), per token the
      // residual stream, normed input and four gate pre-activations of each block, plus the
      // patch embedding's hidden layer
      const factor = model.ffn_proj_factor ?? DEFAULT_FFN_PROJ_FACTOR;
      const perBlock = 2 * E * Math.ceil(factor * E);
      const tooWide = 8 * perBlock >= TRAIN_HEAP_BYTES;
      checkTrainMemory(source, {
        params: NB * perBlock, tokens: Math.ceil(model.context_length / model.patch_size), perToken: 6 * E * NB + FF,
        batchSize: optim.batch_size, accumulationSteps: optim.accumulation_steps,
        paramsKey: tooWide
          ? { key: 'model.embedding_dim', value: E, perUnit: Infinity, max: Math.floor(Math.sqrt(TRAIN_HEAP_BYTES / (8 * 2 * factor))) }
          : { key: 'model.num_blocks', value: NB, perUnit: perBlock },
        tokensKey: { key: 'model.context_length', value: model.context_length, perUnit: 1 / model.patch_size },
      });
    }
  }
  checkKeys(source, 'eval', ev, ['every', 'horizon', 'synthetic', 'csv', 'max_batches', 'arrow_pointing']);
  let arrowEval: TrainConfig['eval']['arrow_pointing'];
  if (ev.arrow_pointing !== undefined) {
    const a = obj(source, 'eval.arrow_pointing', ev.arrow_pointing);
    checkKeys(source, 'eval.arrow_pointing', a, ['image_sizes', 'count', 'seed', 'batch_size']);
    const sizes = Array.isArray(a.image_sizes) ? a.image_sizes : fail(source, 'eval.arrow_pointing.image_sizes', `must be a list of [height, width] pairs, got ${JSON.stringify(a.image_sizes)}`);
    arrowEval = {
      image_sizes: sizes.map((s, i) => (Array.isArray(s) && s.length === 2 ? [posInt(source, `eval.arrow_pointing.image_sizes[${i}][0]`, s[0]), posInt(source, `eval.arrow_pointing.image_sizes[${i}][1]`, s[1])] as [number, number] : fail(source, `eval.arrow_pointing.image_sizes[${i}]`, `must be [height, width], got ${JSON.stringify(s)}`))),
      count: posInt(source, 'eval.arrow_pointing.count', a.count, 256),
      seed: num(source, 'eval.arrow_pointing.seed', a.seed, 100042, { int: true, min: 0 }),
      batch_size: posInt(source, 'eval.arrow_pointing.batch_size', a.batch_size, 32),
    };
  }
  const syn = ev.synthetic === undefined ? undefined : obj(source, 'eval.synthetic', ev.synthetic);
  if (syn) checkKeys(source, 'eval.synthetic', syn, ['count', 'seed', 'seasonality']);
  const csv = ev.csv === undefined ? undefined : (Array.isArray(ev.csv) ? ev.csv : fail(source, 'eval.csv', 'must be a list of {path, horizon?, seasonality?, max_series?}')).map((e, i) => {
    const c = typeof e === 'string' ? { path: e } : obj(source, `eval.csv[${i}]`, e);
    checkKeys(source, `eval.csv[${i}]`, c, ['path', 'horizon', 'seasonality', 'max_series']);
    return {
      path: path(c.path, `eval.csv[${i}].path`),
      horizon: c.horizon === undefined ? undefined : posInt(source, `eval.csv[${i}].horizon`, c.horizon),
      seasonality: c.seasonality === undefined ? undefined : posInt(source, `eval.csv[${i}].seasonality`, c.seasonality),
      max_series: c.max_series === undefined ? undefined : posInt(source, `eval.csv[${i}].max_series`, c.max_series),
    };
  });
  const evalSec: TrainConfig['eval'] = {
    every: ev.every === undefined ? undefined : posInt(source, 'eval.every', ev.every),
    horizon: posInt(source, 'eval.horizon', ev.horizon, model.kind === 'tirex2' ? tirex2FutureLength(model) : 64),
    synthetic: syn ? { count: posInt(source, 'eval.synthetic.count', syn.count, 64), seed: num(source, 'eval.synthetic.seed', syn.seed, 1_000_003, { int: true, min: 0 }), seasonality: syn.seasonality === undefined ? undefined : posInt(source, 'eval.synthetic.seasonality', syn.seasonality) } : undefined,
    csv,
    max_batches: ev.max_batches === undefined ? undefined : posInt(source, 'eval.max_batches', ev.max_batches),
    arrow_pointing: arrowEval,
  };
  const ck = obj(source, 'checkpoint', top.checkpoint);
  checkKeys(source, 'checkpoint', ck, ['dir', 'every']);
  return {
    source, model, data, optim, eval: evalSec,
    checkpoint: { dir: path(ck.dir, 'checkpoint.dir'), every: ck.every === undefined ? undefined : posInt(source, 'checkpoint.every', ck.every) },
    output: top.output === undefined ? undefined : path(top.output, 'output'),
    log_every: posInt(source, 'log_every', top.log_every, 10),
    threads: top.threads === undefined ? undefined : posInt(source, 'threads', top.threads),
  };
}

/** The future_len a tirex2 section gives the model (init.ts's default: 10 patches); 0 when it comes from init_from. */
function tirex2FutureLength(m: TiRex2ModelSection): number {
  return m.init_from !== undefined ? 0 : m.future_length ?? 10 * (m.patch_size ?? 32);
}

function promotionSection(source: string, p: Record<string, unknown>): PromotionConfigSection {
  checkKeys(source, 'data.promotion', p, ['start_probability', 'duration_range', 'lift_range', 'periods', 'amplitude_range', 'noise', 'noise_ar', 'level_range']);
  const range = (k: string, o: { int?: boolean; min: number; gt?: number }): [number, number] | undefined => {
    const v = p[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length !== 2) fail(source, `data.promotion.${k}`, `must be [lo, hi], got ${JSON.stringify(v)}`);
    const lo = num(source, `data.promotion.${k}[0]`, v[0], undefined, { int: o.int, min: o.min, gt: o.gt });
    const hi = num(source, `data.promotion.${k}[1]`, v[1], undefined, { int: o.int, min: lo });
    return [lo, hi];
  };
  return {
    start_probability: p.start_probability === undefined ? undefined : num(source, 'data.promotion.start_probability', p.start_probability, undefined, { gt: 0, max: 1 }),
    duration_range: range('duration_range', { int: true, min: 1 }),
    lift_range: range('lift_range', { min: 0 }),
    periods: p.periods === undefined ? undefined : (Array.isArray(p.periods) && p.periods.length ? p.periods.map((v, i) => num(source, `data.promotion.periods[${i}]`, v, undefined, { min: 2 })) : fail(source, 'data.promotion.periods', `must be a non-empty list of periods >= 2, got ${JSON.stringify(p.periods)}`)),
    amplitude_range: range('amplitude_range', { min: 0 }),
    noise: p.noise === undefined ? undefined : num(source, 'data.promotion.noise', p.noise, undefined, { min: 0 }),
    noise_ar: p.noise_ar === undefined ? undefined : (num(source, 'data.promotion.noise_ar', p.noise_ar, undefined, { gt: -1 }) < 1 ? p.noise_ar as number : fail(source, 'data.promotion.noise_ar', `must be < 1 (a stationary AR(1)), got ${p.noise_ar}`)),
    level_range: range('level_range', { min: 0, gt: 0 }),
  };
}

/** Reads a .json / .yaml / .yml config file; relative paths inside resolve against its folder. */
export async function readTrainConfig(file: string): Promise<TrainConfig> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch (e) { throw new ConfigError(`--config: cannot read '${file}': ${(e as Error).message}`); }
  let raw: unknown;
  try {
    if (/\.ya?ml$/i.test(file)) raw = (await import('yaml')).parse(text);
    else raw = JSON.parse(text);
  } catch (e) { throw new ConfigError(`--config '${file}': not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message}`); }
  return resolveTrainConfig(raw, `'${file}'`, dirname(resolvePath(file)));
}
