// `xlstm train --config FILE`: trains a TiRex forecaster on synthetic series (or a language
// model, xLSTMLMModel or xLSTM Large, on a text file) with the generic Trainer, from a JSON or
// YAML config: model sizes, data, optimisation, periodic evaluation (MASE / WQL vs seasonal
// naive on held-out synthetic series and/or CSV files; validation loss for LMs), checkpoints
// every N steps and --resume. LM text is UTF-8 bytes (vocab 256), or the ids of a Hugging Face
// tokenizer.json given as data.tokenizer.
// The checkpoint folder is also a loadable model: model.safetensors + config.json + tokenizer.json
// (the one used, or a byte-level one for byte runs), so `xlstm generate --model <dir>` runs on it.
// Every file written into a model/checkpoint folder goes through writeFileAtomic (temp + rename).
import { readFile, appendFile, mkdir, stat, rmdir, readdir, rm } from 'node:fs/promises';
import { join, dirname, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { WasmBackend, maxThreadCount } from '../../backend/wasm/backend.js';
import { ArgumentError, ConfigError, InputError, LimitError } from '../../errors.js';
import { EXIT_SIGINT, EXIT_SIGTERM } from '../exitCodes.js';
import { Trainer, CHECKPOINT_FILES, TrainerProgress, writeFileAtomic } from '../../train/trainer.js';
import { TiRexTrainable } from '../../train/tirexTrainable.js';
import { ForecastDataWorkers } from '../../train/forecastDataWorkers.js';
import type { ForecastSamplerOptions } from '../../train/forecastData.js';
import { ForecastTrainData, createTiRexTrainer, evaluateTiRex, syntheticEvalSet, ForecastEvalItem } from '../../train/forecastTrain.js';
import { parseSeriesCsv } from '../../timeseries/csv.js';
import { inferFrequency, seasonalPeriod } from '../../timeseries/frequency.js';
import { processIo } from './forecast.js';
import type { CommandIo } from './forecast.js';
import type { Parameter, Tape, Var, TapeDType } from '../../autograd/index.js';
import type { TokenBatch } from '../../train/textData.js';
import type { Rng } from '../../optim/optim.js';
import type { Tokenizer as TokenizerT } from '../../tokenizer/tokenizer.js';

import { readTrainConfig, checkTrainMemory, TRAIN_HEAP_BYTES } from '../trainConfig.js';
import type { TrainConfig, TiRexModelSection, TiRex2ModelSection, LmModelSection } from '../trainConfig.js';
import { visionJob } from './trainVision.js';
export { resolveTrainConfig, readTrainConfig } from '../trainConfig.js';
export type { TrainConfig, TiRexModelSection, TiRex2ModelSection, LmModelSection } from '../trainConfig.js';

// ---- running ----

export interface TrainCommandOptions {
  config: string;
  resume?: boolean;
  /** Stop after this optimizer step (the schedule still spans optim.steps). */
  untilStep?: string | number;
  threads?: string | number;
  /** false: no progress bar (plain log lines instead). */
  progress?: boolean;
  /**
   * Stops the run between steps: it writes a checkpoint (unless the last one is at this step)
   * and returns with `interrupted` set to the abort reason. The CLI aborts it on SIGINT/SIGTERM.
   */
  stop?: AbortSignal;
}

export interface TrainRunResult {
  startStep: number;
  endStep: number;
  losses: number[];
  evals: { step: number; metrics: Record<string, number> }[];
  /** Training series (or sequences) per second over this run. */
  seriesPerSec: number;
  checkpointDir: string;
  outputDir: string;
  /** Set when `stop` ended the run before its last step: the abort reason (the CLI: 'SIGINT' or 'SIGTERM'). */
  interrupted?: string;
}

/**
 * Appends lines to a file one after another. appendFile calls that are not awaited may land
 * in any order, and metrics.jsonl must list the steps in order; the first error is kept and
 * thrown by flush().
 */
class OrderedAppender {
  private tail: Promise<void> = Promise.resolve();
  private error: unknown = undefined;
  constructor(readonly path: string) {}
  append(line: string): void {
    this.tail = this.tail.then(() => appendFile(this.path, line)).catch((e) => { this.error ??= e; });
  }
  async flush(): Promise<void> {
    await this.tail;
    if (this.error !== undefined) throw this.error;
  }
}

/**
 * Creates `dir` (and missing parents) and remembers which folders this call created, so a run
 * that fails can remove the ones it left empty (a user's folders are never touched).
 */
class CreatedDirs {
  private made: string[] = [];
  async make(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    // mkdir returns the topmost folder it created: record the chain from dir up to it, deepest first
    const top = resolvePath(first);
    for (let d = resolvePath(dir); ; d = dirname(d)) {
      this.made.push(d);
      if (d === top || dirname(d) === d) break;
    }
  }
  /** Removes the created folders that are still empty (rmdir refuses non-empty ones). */
  async removeEmpty(): Promise<void> {
    for (const d of this.made) await rmdir(d).catch(() => undefined);
    this.made = [];
  }
}

/**
 * Deletes the temporary files of a save that was cut off (a second signal, a crash):
 * `.<file>.<pid>.<random>.tmp`, as writeFileAtomic and Trainer.saveCheckpoint name them. Only
 * the run that owns the checkpoint folder calls this, before its first save.
 */
async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => /^\..+\.\d+\.[a-z0-9]+\.tmp$/.test(n)).map((n) => rm(join(dir, n), { force: true })));
}

async function exists(p: string): Promise<boolean> { return stat(p).then(() => true, () => false); }

interface Job {
  trainer: Trainer<unknown>;
  evaluate: () => Promise<Record<string, number>>;
  /** Writes the loadable model (weights + config.json) into a folder. */
  saveModel: (dir: string) => Promise<void>;
  unit: string;
  close?: () => void | Promise<void>;
}

async function csvEvalItems(c: NonNullable<TrainConfig['eval']['csv']>[number], defaultHorizon: number): Promise<ForecastEvalItem[]> {
  let text: string;
  try { text = await readFile(c.path, 'utf8'); } catch (e) { throw new InputError(`eval.csv: cannot read '${c.path}': ${(e as Error).message}`); }
  const H = c.horizon ?? defaultHorizon;
  const out: ForecastEvalItem[] = [];
  for (const s of parseSeriesCsv(text, { source: c.path }).series) {
    if (c.max_series !== undefined && out.length >= c.max_series) break;
    const n = s.values.length - H;
    if (n < 2) continue;
    const history = s.values.subarray(0, n), actual = s.values.subarray(n);
    if (actual.every(Number.isNaN) || history.every(Number.isNaN)) continue;
    let m = c.seasonality ?? 1;
    if (c.seasonality === undefined && s.timestamps) { try { m = seasonalPeriod(inferFrequency(s.timestamps)); } catch { m = 1; } }
    out.push({ id: s.id, history, actual, m });
  }
  if (out.length === 0) throw new InputError(`eval.csv '${c.path}': no series longer than the horizon ${H} + 2`);
  return out;
}

async function tirexJob(cfg: TrainConfig, m: TiRexModelSection, be: WasmBackend): Promise<Job> {
  const sizes = {
    embeddingDim: m.embedding_dim!, numHeads: m.num_heads!, numBlocks: m.num_blocks!, inputFfDim: m.input_ff_dim!,
    patchSize: m.patch_size, contextLength: m.context_length, quantiles: m.quantiles, ffnProjFactor: m.ffn_proj_factor,
  };
  const model = m.init_from ? await TiRexTrainable.fromPretrained(be, m.init_from) : TiRexTrainable.create(be, sizes, { seed: m.seed });
  if (m.init_from && (model.config.inputPatchSize !== m.patch_size || model.config.trainCtxLen !== m.context_length)) {
    throw new ConfigError(`model.init_from '${m.init_from}': its patch size ${model.config.inputPatchSize} / context ${model.config.trainCtxLen} differ from the config's ${m.patch_size} / ${m.context_length}`);
  }
  if (m.init_from) {
    // sizes in the config are not used with init_from; one that is given must describe the loaded model
    const loaded = { embedding_dim: model.config.embeddingDim, num_heads: model.config.numHeads, num_blocks: model.config.numBlocks, input_ff_dim: model.config.inputFfDim };
    const bad = (Object.keys(loaded) as (keyof typeof loaded)[]).filter((k) => m[k] !== undefined && m[k] !== loaded[k]).map((k) => `model.${k} is ${m[k]}, the loaded model's is ${loaded[k]}`);
    if (bad.length) { throw new ConfigError(`model.init_from '${m.init_from}': ${bad.join('; ')} (leave the sizes out with init_from, or make them match)`); }
  }
  const cp = cfg.data.cpm;
  const samplerOptions: ForecastSamplerOptions = {
    seed: cfg.data.seed, contextLength: m.context_length, minContextLength: cfg.data.min_context_length, patchSize: m.patch_size,
    batchSize: cfg.optim.batch_size, mix: cfg.data.mix, fullContextProbability: cfg.data.full_context_probability,
    ...(cfg.data.context_sampling ? { contextSampling: cfg.data.context_sampling } : {}),
    cpm: cp === false ? false : cp ? { probability: cp.probability, maxRun: cp.max_run, maxRuns: cp.max_runs, suffixProbability: cp.suffix_probability } : undefined,
  };
  const sets: { name: string; items: ForecastEvalItem[] }[] = [];
  if (cfg.eval.synthetic) {
    sets.push({ name: 'synthetic', items: syntheticEvalSet({ seed: cfg.eval.synthetic.seed, count: cfg.eval.synthetic.count, contextLength: m.context_length, horizon: cfg.eval.horizon, mix: cfg.data.mix, seasonality: cfg.eval.synthetic.seasonality }) });
  }
  for (const c of cfg.eval.csv ?? []) sets.push({ name: c.path.replace(/^.*[\\/]/, '').replace(/\.csv$/i, ''), items: await csvEvalItems(c, cfg.eval.horizon) });
  // batches come out the same either way; workers make them while the step runs
  const workers = cfg.data.workers ?? 1;
  const data = workers > 0 ? await ForecastDataWorkers.create(samplerOptions, { workers }) : new ForecastTrainData(samplerOptions);
  let trainer: ReturnType<typeof createTiRexTrainer>;
  // the eval sets are read first, so only the trainer can fail with the worker threads running
  try { trainer = createTiRexTrainer(model, data, trainerOptions(cfg)); } catch (e) {
    if (data instanceof ForecastDataWorkers) await data.close();
    throw e;
  }
  return {
    trainer: trainer as Trainer<unknown>,
    unit: 'series',
    evaluate: async () => {
      const out: Record<string, number> = {};
      for (const s of sets) {
        const r = await evaluateTiRex(model, s.items);
        Object.assign(out, { [`${s.name}.relMASE`]: r.relMase.value, [`${s.name}.relWQL`]: r.relWql.value, [`${s.name}.MASE`]: r.mase, [`${s.name}.WQL`]: r.wql });
      }
      return out;
    },
    saveModel: async (dir) => {
      // model.save writes config.json in place; this writes both files atomically
      const { writeSafetensorsFile } = await import('../../io/safetensorsWrite.js');
      await mkdir(dir, { recursive: true });
      await writeSafetensorsFile(join(dir, 'model.safetensors'), model.tensors(), { format: 'pt', written_by: 'xlstm-ts TiRexTrainable' });
      await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(model.hyperParameters, null, 2) + '\n');
    },
    close: async () => { if (data instanceof ForecastDataWorkers) await data.close(); },
  };
}

/**
 * TiRex-2 on the promotion covariate task: the evaluation scores held-out promotion series with
 * the future flag (withCovariate.*) and with it withheld (withoutCovariate.*).
 */
async function tirex2Job(cfg: TrainConfig, m: TiRex2ModelSection, be: WasmBackend): Promise<Job> {
  const { TiRex2Trainable } = await import('../../train/tirex2Trainable.js');
  const { PromotionTrainData, createTiRex2Trainer, promotionEvalSet, evaluateTiRex2Covariates } = await import('../../train/tirex2Train.js');
  let model: Awaited<ReturnType<typeof TiRex2Trainable.fromPretrained>>;
  try {
    model = m.init_from ? await TiRex2Trainable.fromPretrained(be, m.init_from) : TiRex2Trainable.create(be, {
      embeddingDim: m.embedding_dim!, numHeads: m.num_heads, numBlocks: m.num_blocks, recipe: m.recipe, patchSize: m.patch_size,
      contextLength: m.context_length, futureLength: m.future_length, inputFfDim: m.input_ff_dim, hExpand: m.h_expand, quantiles: m.quantiles,
    }, { seed: m.seed });
  } catch (e) {
    if (m.init_from) throw e;
    // the sizes are the config's: name the section in the message
    throw new ConfigError(`train config ${cfg.source}: model (kind 'tirex2'): ${(e as Error).message}`, { cause: e });
  }
  const C = model.config.contextLength, F = model.config.futureLength;
  const H = cfg.eval.horizon || F;
  if (H > F) throw new ConfigError(`train config ${cfg.source}: eval.horizon ${H} is above the model's future_len ${F} (one forward pass covers at most future_len)`);
  const p = cfg.data.promotion ?? {};
  const task = {
    startProbability: p.start_probability, durationRange: p.duration_range, liftRange: p.lift_range, periods: p.periods,
    amplitudeRange: p.amplitude_range, noise: p.noise, noiseAr: p.noise_ar, levelRange: p.level_range,
  };
  const data = new PromotionTrainData({ seed: cfg.data.seed, batchSize: cfg.optim.batch_size, contextLength: C, futureLength: F, covariateDropout: cfg.data.covariate_dropout, task });
  const items = cfg.eval.synthetic ? promotionEvalSet({ seed: cfg.eval.synthetic.seed, count: cfg.eval.synthetic.count, contextLength: C, horizon: H, task }) : [];
  const trainer = createTiRex2Trainer(model, data, trainerOptions(cfg));
  return {
    trainer: trainer as Trainer<unknown>,
    unit: 'series',
    evaluate: async () => {
      if (!items.length) return {};
      const r = await evaluateTiRex2Covariates(model, items);
      const out: Record<string, number> = {};
      for (const [k, a] of [['withCovariate', r.withCovariate], ['withoutCovariate', r.withoutCovariate]] as const) {
        Object.assign(out, { [`${k}.MASE`]: a.mase, [`${k}.WQL`]: a.wql, [`${k}.relMASE`]: a.relMase.value, [`${k}.relWQL`]: a.relWql.value });
      }
      Object.assign(out, { 'seasonalNaive.MASE': r.withCovariate.naiveMase, 'seasonalNaive.WQL': r.withCovariate.naiveWql });
      return out;
    },
    saveModel: async (dir) => {
      const { writeSafetensorsFile } = await import('../../io/safetensorsWrite.js');
      await mkdir(dir, { recursive: true });
      // canonical names are the official stored ones (each alias group's alphabetically first name)
      await writeSafetensorsFile(join(dir, 'model.safetensors'), model.tensors(), { format: 'pt', written_by: 'xlstm-ts TiRex2Trainable' });
      await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(model.configJson, null, 2) + '\n');
    },
  };
}

/** A JSON or YAML mapping from a file (model.config, a folder's config.json). */
async function readConfigFile(file: string, key: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8').catch((e) => { throw new ConfigError(`${key}: cannot read '${file}': ${(e as Error).message}`); });
  let doc: unknown;
  try { doc = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text); } catch (e) { throw new ConfigError(`${key} '${file}': not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message}`); }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${key} '${file}': must hold a mapping of config fields`);
  return doc as Record<string, unknown>;
}

interface LmTokens {
  tokens: Int32Array;
  /** Ids the encoding can produce (256 for bytes). */
  vocabNeeded: number;
  /** Files next to the saved model (tokenizer.json, tokenizer_config.json; byte runs: a byte-level tokenizer.json). */
  files: Record<string, Uint8Array>;
  /** Special ids of the tokenizer (for the saved config when the model config leaves them unset). */
  special?: { bos: number | null; eos: number | null; pad: number | null };
  what: string;
}

/** The training text as ids: UTF-8 bytes, or data.tokenizer's ids (no special tokens added). */
async function lmTokens(cfg: TrainConfig): Promise<LmTokens> {
  const { encodeBytes, encodeWithTokenizer, byteLevelTokenizerJson } = await import('../../train/textData.js');
  const text = await readFile(cfg.data.text!, 'utf8').catch((e) => { throw new InputError(`data.text: cannot read '${cfg.data.text}': ${(e as Error).message}`); });
  const tp = cfg.data.tokenizer;
  if (tp === undefined) {
    // ids = UTF-8 bytes: a tokenizer.json with exactly these ids lets `xlstm generate` use the folder
    const files = { 'tokenizer.json': new TextEncoder().encode(JSON.stringify(byteLevelTokenizerJson()) + '\n') };
    return { tokens: encodeBytes(text), vocabNeeded: 256, files, what: 'byte-level training on data.text' };
  }
  const st = await stat(tp).catch(() => null);
  if (!st) throw new InputError(`data.tokenizer: '${tp}' does not exist (expected a tokenizer.json file or a folder holding one)`);
  const file = st.isDirectory() ? join(tp, 'tokenizer.json') : tp;
  const raw = await readFile(file).catch((e) => { throw new InputError(`data.tokenizer: cannot read '${file}': ${(e as Error).message}`); });
  let json: unknown;
  try { json = JSON.parse(new TextDecoder().decode(raw)); } catch (e) { throw new InputError(`data.tokenizer '${file}': not valid JSON: ${(e as Error).message}`); }
  // tokenizer_config.json next to it carries the special tokens (BOS/EOS/PAD) when present
  const cfgFile = join(dirname(file), 'tokenizer_config.json');
  const cfgRaw = await readFile(cfgFile).catch(() => undefined);
  let tokCfg: unknown;
  if (cfgRaw) { try { tokCfg = JSON.parse(new TextDecoder().decode(cfgRaw)); } catch (e) { throw new InputError(`'${cfgFile}': not valid JSON: ${(e as Error).message}`); } }
  const { Tokenizer } = await import('../../tokenizer/tokenizer.js');
  let tok: TokenizerT;
  try { tok = Tokenizer.fromJSON(json, tokCfg); } catch (e) { throw new InputError(`data.tokenizer '${file}': ${(e as Error).message}`); }
  const files: Record<string, Uint8Array> = { 'tokenizer.json': raw };
  if (cfgRaw) files['tokenizer_config.json'] = cfgRaw;
  return {
    tokens: encodeWithTokenizer(tok, text), vocabNeeded: tok.vocabSize, files,
    special: { bos: tok.bosTokenId, eos: tok.eosTokenId, pad: tok.padTokenId }, what: `the ids of data.tokenizer '${file}' (${tok.vocabSize} ids: 0..${tok.vocabSize - 1})`,
  };
}

/** What the LM job needs of XLSTMLMTrainable / XLSTMLargeTrainable. */
interface LmTrainable {
  params: Parameter[];
  dtype: TapeDType;
  loss(t: Tape, b: TokenBatch, ctx?: { rng?: Rng }): Var;
  toSafetensors(): Uint8Array;
}

async function lmJob(cfg: TrainConfig, m: LmModelSection, be: WasmBackend): Promise<Job> {
  const { TextDataset } = await import('../../train/textData.js');
  const { evaluateLmLoss } = await import('../../train/xlstmLmTrainable.js');
  let lmCfg: Record<string, unknown> = {};
  if (m.init_from) lmCfg = await readConfigFile(join(m.init_from, 'config.json'), 'model.init_from');
  const userCfg = m.config === undefined ? {} : typeof m.config === 'string' ? await readConfigFile(m.config, 'model.config') : m.config;
  lmCfg = { ...lmCfg, ...userCfg };
  const data = await lmTokens(cfg);
  const vocab = lmCfg.vocab_size;
  // the check before building anything: a too-small vocab_size would fail on the first batch
  if (typeof vocab === 'number' && vocab < data.vocabNeeded) {
    throw new ConfigError(`model.config.vocab_size is ${vocab}; ${data.what} needs vocab_size >= ${data.vocabNeeded}`);
  }
  checkLmMemory(cfg, lmCfg);
  let model: LmTrainable;
  let configJson: () => Record<string, unknown>;
  if (m.kind === 'xlstm-large') {
    const { XLSTMLargeTrainable } = await import('../../train/xlstmLargeTrainable.js');
    // the tokenizer's special ids go into config.json when the model config leaves them unset
    const sp = data.special;
    if (sp) for (const [k, v] of [['bos_token_id', sp.bos], ['eos_token_id', sp.eos], ['pad_token_id', sp.pad]] as const) if (lmCfg[k] === undefined && v !== null) lmCfg[k] = v;
    // Training windows are plain slices of the id stream and never start with BOS, but
    // force_bos_token_insert (default true, as xLSTM-7B) makes `xlstm generate` put BOS before
    // every prompt: a token a model trained here from scratch has never seen at the start. So such
    // a model is saved with it false unless the config sets it; a fine-tuned model keeps the loaded
    // folder's value (it was pretrained with that policy).
    if (!m.init_from && userCfg.force_bos_token_insert === undefined) lmCfg.force_bos_token_insert = false;
    const lm = m.init_from ? await loadLargeFolder(m.init_from, lmCfg) : XLSTMLargeTrainable.init(lmCfg, { seed: m.seed });
    model = lm;
    configJson = () => lm.configJson();
  } else {
    const { XLSTMLMTrainable } = await import('../../train/xlstmLmTrainable.js');
    const { xlstmLmConfigJson } = await import('../../train/lmTraining.js');
    const lm = m.init_from
      ? await XLSTMLMTrainable.fromSafetensors(lmCfg, new Uint8Array(await readFile(join(m.init_from, 'model.safetensors')).catch((e) => { throw new InputError(`model.init_from: cannot read '${join(m.init_from!, 'model.safetensors')}': ${(e as Error).message}`); })))
      : XLSTMLMTrainable.init(lmCfg, { seed: m.seed });
    model = lm;
    // the resolved official fields, as createLmTraining writes them (one config.json form)
    configJson = () => xlstmLmConfigJson(lm.config);
  }
  const ds = new TextDataset(data.tokens, { seqLen: cfg.data.seq_len!, batchSize: cfg.optim.batch_size, validationFraction: cfg.data.validation_fraction ?? 0.1, seed: cfg.data.seed });
  const trainer = new Trainer({
    ...trainerOptions(cfg), checkedSettings: { ...trainerOptions(cfg).checkedSettings, seqLen: cfg.data.seq_len! }, params: model.params, backend: be, dtype: 'f32', data: ds.train,
    // tokens = predicted positions (tokens/s); the context's rng turns on the official dropout (xLSTMLMModel)
    loss: (tape, b, ctx) => ({ loss: model.loss(tape, b, ctx), tokens: b.batchSize * (b.seqLen - 1) }),
  });
  const val = ds.validationTokens.length >= cfg.data.seq_len! ? ds.validationBatches(cfg.eval.max_batches ?? 8) : [];
  return {
    trainer: trainer as Trainer<unknown>,
    // the loss reports predicted tokens, so the rate is tokens/s
    unit: 'tokens',
    evaluate: async (): Promise<Record<string, number>> => (val.length ? { 'validation.loss': evaluateLmLoss(model, be, val) } : {}),
    saveModel: async (dir) => {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, 'model.safetensors'), model.toSafetensors());
      await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(configJson(), null, 2) + '\n');
      for (const [n, b] of Object.entries(data.files)) await writeFileAtomic(join(dir, n), b);
    },
  };
}

/**
 * The up-front memory check of an LM run, from the official config keys the model config gives
 * (a key it leaves to the resolver's defaults is not counted, so the bound stays a lower one):
 * per token the logits over the vocabulary and the residual stream of each block.
 */
function checkLmMemory(cfg: TrainConfig, lmCfg: Record<string, unknown>): void {
  const n = (k: string): number | undefined => { const v = lmCfg[k]; return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined; };
  const V = n('vocab_size') ?? 1, E = n('embedding_dim') ?? 1, NB = n('num_blocks') ?? 1;
  const S = cfg.data.seq_len!;
  // weights: at least the embedding (V x E) and per block the E x E output projection
  const perBlock = E * E;
  const embeddingTooBig = 8 * V * E >= TRAIN_HEAP_BYTES;
  checkTrainMemory(cfg.source, {
    params: V * E + NB * perBlock, tokens: S, perToken: V + 2 * E * NB,
    batchSize: cfg.optim.batch_size, accumulationSteps: cfg.optim.accumulation_steps,
    paramsKey: embeddingTooBig
      ? { key: 'model.config.vocab_size', value: V, perUnit: Infinity, max: Math.floor(TRAIN_HEAP_BYTES / (8 * E)) }
      : { key: 'model.config.num_blocks', value: NB, perUnit: perBlock },
    tokensKey: { key: 'data.seq_len', value: S, perUnit: 1 },
  });
}

/** An xLSTM Large folder's weights (single file or shards) under a config (the folder's, with overrides). */
async function loadLargeFolder(dir: string, cfg: Record<string, unknown>) {
  const { XLSTMLargeTrainable } = await import('../../train/xlstmLargeTrainable.js');
  const { openSafetensorsModel } = await import('../../io/safetensorsSharded.js');
  const src = await openSafetensorsModel(dir).catch((e) => { throw new InputError(`model.init_from '${dir}': ${(e as Error).message}`); });
  try {
    return await XLSTMLargeTrainable.fromSafetensors(cfg, src);
  } catch (e) {
    throw new InputError(`model.init_from '${dir}': ${(e as Error).message}`);
  } finally { await src.close(); }
}

function trainerOptions(cfg: TrainConfig) {
  const o = cfg.optim;
  return {
    totalSteps: o.steps, lr: o.lr, minLr: o.min_lr, warmupSteps: o.warmup_steps, weightDecay: o.weight_decay,
    gradClip: o.grad_clip, accumulationSteps: o.accumulation_steps, seed: o.seed,
    // the batches depend on these too; the Trainer saves them and refuses a resume that changed them
    checkedSettings: { batchSize: o.batch_size, dataSeed: cfg.data.seed } as Record<string, number>,
  };
}

/** A positive integer flag (`--threads 4`, `--until-step 3`); the error names the flag and the value. */
function parseCount(name: string, v: string | number): number {
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new ArgumentError(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/** The train command without the CLI wrapper (tests call it directly). */
export async function runTrain(o: TrainCommandOptions, io: CommandIo = processIo): Promise<TrainRunResult> {
  if (!o.config) throw new ArgumentError('--config is required (a JSON or YAML training config)');
  const cfg = await readTrainConfig(o.config);
  let threads = cfg.threads;
  if (o.threads !== undefined) threads = parseCount('--threads', o.threads);
  if (threads !== undefined) {
    // checked here so the message names the flag or key the user wrote
    const max = await maxThreadCount();
    if (threads > max) {
      const e = new LimitError(o.threads !== undefined ? '--threads' : 'threads', threads, max, 'compute threads: 4 per core, at most 256');
      if (o.threads === undefined) e.message = `train config ${cfg.source}: ${e.message}`;
      throw e;
    }
  }
  const until = o.untilStep !== undefined ? parseCount('--until-step', o.untilStep) : cfg.optim.steps;
  if (until > cfg.optim.steps) throw new ArgumentError(`--until-step ${until} is beyond optim.steps ${cfg.optim.steps}`);
  const ckDir = cfg.checkpoint.dir, outDir = cfg.output ?? ckDir;
  const be = await WasmBackend.create(threads ? { threads } : {});
  const metrics = new OrderedAppender(join(ckDir, 'metrics.jsonl'));
  const dirs = new CreatedDirs();
  const losses: number[] = [];
  const evals: TrainRunResult['evals'] = [];
  type Bar = { update: (v: number, p: Record<string, unknown>) => void; stop: () => void; start: (t: number, v: number, p: Record<string, unknown>) => void };
  const ui: { bar: Bar | null } = { bar: null };
  let lastSps = 0, logLoss = 0, logN = 0;
  let job: Job | undefined;
  let ok = false;
  const onProgress = (p: TrainerProgress) => {
    losses.push(p.loss);
    lastSps = p.tokensPerSec;
    logLoss += p.loss; logN++;
    const payload = { loss: p.loss.toFixed(4), sps: p.tokensPerSec.toFixed(1), lr: p.lr.toExponential(2) };
    ui.bar?.update(p.step, payload);
    if (p.step % cfg.log_every === 0 || p.step === until) {
      const line = { step: p.step, loss: logLoss / logN, lr: p.lr, gradNorm: p.gradNorm, [`${job?.unit ?? 'series'}PerSec`]: p.tokensPerSec };
      logLoss = 0; logN = 0;
      metrics.append(JSON.stringify(line) + '\n');
      if (!ui.bar) io.stderr(`step ${p.step}/${p.totalSteps} loss ${line.loss.toFixed(4)} lr ${p.lr.toExponential(2)} | ${p.tokensPerSec.toFixed(1)} ${job?.unit ?? 'series'}/s | ETA ${formatEta(p.etaSec)}\n`);
    }
  };
  try {
    job = cfg.model.kind === 'tirex' ? await tirexJob(cfg, cfg.model, be)
      : cfg.model.kind === 'tirex2' ? await tirex2Job(cfg, cfg.model, be)
      : cfg.model.kind === 'plstm-vision' || cfg.model.kind === 'vit-vision' ? await visionJob(cfg, cfg.model, be, trainerOptions(cfg))
        : await lmJob(cfg, cfg.model as LmModelSection, be);
    const trainer = job.trainer;
    if (o.resume) {
      if (!(await exists(join(ckDir, CHECKPOINT_FILES.state)))) throw new ArgumentError(`--resume: no checkpoint in '${ckDir}' (${CHECKPOINT_FILES.state} is missing)`);
      try { await trainer.loadCheckpoint(ckDir); } catch (e) {
        // changed settings are the config's problem; an unreadable or mismatched checkpoint is the folder's
        const msg = withConfigKeys((e as Error).message);
        throw /the settings differ from the checkpoint's/.test(msg) ? new ConfigError(msg, { cause: e }) : new InputError(msg, { cause: e });
      }
      await trimMetrics(metrics.path, trainer.step);
      io.stderr(`resumed from ${ckDir} at step ${trainer.step}\n`);
    } else if (await exists(join(ckDir, CHECKPOINT_FILES.state))) {
      throw new ArgumentError(`checkpoint.dir '${ckDir}' already holds a checkpoint: pass --resume to continue it, or choose another folder`);
    }
    const startStep = trainer.step;
    if (startStep >= until) throw new ArgumentError(`nothing to do: the checkpoint is at step ${startStep}, the run ends at step ${until}`);
    // created only now, when nothing before training can fail any more
    await dirs.make(ckDir);
    await removeStaleTemps(ckDir);
    const evalEvery = cfg.eval.every, ckEvery = cfg.checkpoint.every;
    if (o.progress !== false && process.stderr.isTTY) {
      const { default: cliProgress } = await import('cli-progress');
      const b = new cliProgress.SingleBar({ stream: process.stderr, format: `train [{bar}] {value}/{total} | loss {loss} | {sps} ${job.unit}/s | lr {lr} | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 20 }, cliProgress.Presets.shades_classic);
      b.start(until, startStep, { loss: '-', sps: '-', lr: '-' });
      ui.bar = b as unknown as Bar;
    }
    const t0 = Date.now();
    let trained = 0;
    let checkpointStep = o.resume ? startStep : -1;
    const saveCheckpoint = async () => {
      await trainer.saveCheckpoint(ckDir);
      // the checkpoint folder doubles as a loadable model
      await job!.saveModel(ckDir);
      checkpointStep = trainer.step;
    };
    // Steps run synchronously: a signal handler only runs when the event loop gets a turn,
    // which an already-resolved prepareStep() does not give. One macrotask per step does.
    const stop = o.stop;
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    // the bar goes at once: a second signal kills the process, which must not leave the terminal's cursor hidden
    stop?.addEventListener('abort', () => { ui.bar?.stop(); ui.bar = null; }, { once: true });
    // step-by-step so evaluation, checkpoints and the final save happen here, in order
    while (trainer.step < until) {
      if (stop) { await turn(); if (stop.aborted) break; }
      await trainer.prepareStep();
      const r = trainer.trainStep();
      trained += r.tokens;
      const el = (Date.now() - t0) / 1000;
      onProgress({ step: r.step, totalSteps: cfg.optim.steps, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, tokensPerSec: trained / Math.max(el, 1e-9), etaSec: (el / (r.step - startStep)) * (until - r.step) });
      const last = trainer.step === until;
      if ((evalEvery && trainer.step % evalEvery === 0) || (last && (cfg.eval.synthetic || cfg.eval.csv || cfg.model.kind !== 'tirex'))) {
        const m = await job.evaluate();
        if (Object.keys(m).length) {
          evals.push({ step: trainer.step, metrics: m });
          metrics.append(JSON.stringify({ step: trainer.step, eval: m }) + '\n');
          const text = Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
          ui.bar?.stop();
          io.stderr(`eval @ step ${trainer.step}: ${text}\n`);
          ui.bar?.start(until, trainer.step, { loss: r.loss.toFixed(4), sps: lastSps.toFixed(1), lr: r.lr.toExponential(2) });
        }
      }
      if ((ckEvery && trainer.step % ckEvery === 0) || last) await saveCheckpoint();
    }
    ui.bar?.stop();
    const seriesPerSec = trained / Math.max((Date.now() - t0) / 1000, 1e-9);
    const result: TrainRunResult = { startStep, endStep: trainer.step, losses, evals, seriesPerSec, checkpointDir: ckDir, outputDir: outDir };
    if (trainer.step < until) {
      // stopped: the checkpoint (atomic files, as the periodic ones) is what --resume continues from
      if (checkpointStep !== trainer.step) await saveCheckpoint();
      await metrics.flush();
      const reason = typeof stop?.reason === 'string' ? stop.reason : 'stop';
      io.stderr(`xlstm train: stopped by ${reason} after step ${trainer.step} of ${cfg.optim.steps}; checkpoint in ${ckDir} (continue with: xlstm train --config ${o.config} --resume)\n`);
      ok = true;
      return { ...result, interrupted: reason };
    }
    if (outDir !== ckDir) { await dirs.make(outDir); await job.saveModel(outDir); }
    await metrics.flush();
    io.stderr(`trained steps ${startStep} -> ${trainer.step} (${seriesPerSec.toFixed(1)} ${job.unit}/s); model in ${outDir}\n`);
    ok = true;
    return result;
  } finally {
    ui.bar?.stop();
    await metrics.flush().catch(() => undefined);
    await job?.close?.();
    be.dispose();
    // a failed run leaves no empty folder behind (one holding metrics or a checkpoint stays)
    if (!ok) await dirs.removeEmpty();
  }
}

/**
 * Runs the train command with SIGINT/SIGTERM handled: the first signal ends the run after the
 * current step with a checkpoint (see runTrain's `stop`) and exits with 130/143; the handlers
 * are removed at once, so a second signal has its default effect and ends the process now.
 */
export async function runTrainWithSignals(o: TrainCommandOptions, io: CommandIo = processIo): Promise<TrainRunResult> {
  const ac = new AbortController();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const off = () => { for (const s of signals) process.off(s, on); };
  const on = (sig: NodeJS.Signals) => {
    off();
    io.stderr(`\nxlstm train: ${sig}: stopping after this step to write a checkpoint (send it again to stop at once, losing the steps since the last checkpoint)\n`);
    ac.abort(sig);
  };
  for (const s of signals) process.on(s, on);
  try {
    const r = await runTrain({ ...o, stop: ac.signal }, io);
    if (r.interrupted === 'SIGINT') process.exitCode = EXIT_SIGINT;
    else if (r.interrupted === 'SIGTERM') process.exitCode = EXIT_SIGTERM;
    return r;
  } finally { off(); }
}

/** Config keys of the Trainer's setting names (for resume errors). */
const CONFIG_KEY_OF: Record<string, string> = {
  totalSteps: 'optim.steps', lr: 'optim.lr', minLr: 'optim.min_lr', warmupSteps: 'optim.warmup_steps', weightDecay: 'optim.weight_decay',
  gradClip: 'optim.grad_clip', accumulationSteps: 'optim.accumulation_steps', seed: 'optim.seed', batchSize: 'optim.batch_size',
  dataSeed: 'data.seed', seqLen: 'data.seq_len',
};

/** Adds the config key to each setting a resume error names ("totalSteps (optim.steps) 6000"). */
function withConfigKeys(msg: string): string {
  return msg.replace(/made with (\w+) /g, (all, k: string) => (CONFIG_KEY_OF[k] ? `made with ${k} (${CONFIG_KEY_OF[k]}) ` : all));
}

/**
 * Drops the metrics.jsonl lines of steps after the checkpoint (logged by a run that went on past
 * its last checkpoint, e.g. killed), so the resumed run's lines for those steps are not
 * duplicates; an unreadable line (torn by a crash) goes too. Rewritten atomically.
 */
async function trimMetrics(path: string, step: number): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const keep = text.split('\n').filter((l) => {
    if (!l.trim()) return false;
    try { const o = JSON.parse(l) as { step?: unknown }; return typeof o.step === 'number' && o.step <= step; } catch { return false; }
  });
  const out = keep.map((l) => l + '\n').join('');
  if (out !== text) await writeFileAtomic(path, out);
}

function formatEta(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function register(program: Command): void {
  program.command('train')
    .description('train a TiRex forecaster on synthetic series (or an xLSTM LM / xLSTM Large on text, bytes or tokenizer.json ids) from a JSON/YAML config')
    .requiredOption('--config <file>', 'training config (.json, .yaml): model, data, optim, eval, checkpoint')
    .option('--resume', 'continue from the checkpoint in checkpoint.dir (exact: same batches, optimizer state, schedule)')
    .option('--until-step <n>', 'stop after this step (the schedule still spans optim.steps; continue later with --resume)')
    .option('--threads <n>', 'compute threads (default: config threads, else all cores)')
    .option('--no-progress', 'plain log lines instead of the progress bar')
    .action(async (opts: TrainCommandOptions) => { await runTrainWithSignals(opts); });
}
