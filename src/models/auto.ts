// Loading a language model from a folder without being told what it is: the kind comes
// from the config file (HF config.json with model_type "xlstm" or a native xlstm_large
// config -> xLSTM Large; an xLSTMLMModel config with block-stack fields -> xLSTMLMModel),
// plus the tokenizer and generation defaults of the same folder. Node only (file system).
import type { WasmBackend } from '../backend/wasm/backend.js';
import type { LanguageModel } from './languageModel.js';
import { XLSTMLarge, resolveXLSTMLargeConfig } from './xlstmLarge/index.js';
import { XLSTMLMModel } from './xlstmLm/index.js';
import type { XLSTMLargeConfigInput, XLSTMLargeLoadOptions } from './xlstmLarge/index.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { loadTokenizerFromDir } from '../tokenizer/load.js';
import type { HubOptions } from '../hub/options.js';
import type { HubModelKind } from '../hub/selection.js';
import { ConfigError } from '../errors.js';

export type LanguageModelKind = 'xlstm-large' | 'xlstm-lm';

/** Weight storage formats a loader may be asked for. */
export type LoadDtype = 'f32' | 'bf16' | 'int8' | 'q4';
export const LOAD_DTYPES: readonly LoadDtype[] = ['f32', 'bf16', 'int8', 'q4'];

export interface LoadProgress { loaded: number; total: number; name: string }

export interface LoadLanguageModelOptions {
  backend: WasmBackend;
  /** Weight format in memory (default: as stored). */
  dtype?: LoadDtype;
  /** With dtype 'q4' (xLSTM Large): activations rounded to 8 (default) or 16 bits in decoding (docs/PERFORMANCE.md). */
  q4ActivationBits?: 8 | 16;
  /** Called as tensors are read: bytes so far of the total. */
  onProgress?: (p: LoadProgress) => void;
  /** Hub settings when the source is a model id like 'NX-AI/xLSTM-7b' (revision, token, cache, download onProgress). */
  hub?: HubOptions;
}

/** Where the config and tokenizer readers may find a hub model. */
export interface ModelSourceOptions { hub?: HubOptions }

// a hub id becomes its cache snapshot folder; a local path stays as it is
async function localDir(source: string, kind: HubModelKind, hub: HubOptions | undefined): Promise<string> {
  const { resolveModelSource } = await import('../hub/resolve.js');
  return resolveModelSource(source, kind, hub);
}

/** What a model folder holds, from its config file alone. */
export interface DetectedModel {
  kind: LanguageModelKind;
  /** The config file the kind was read from. */
  configPath: string;
  /** 'hf': transformers config.json; 'native': the official library's own config (JSON or YAML). */
  format: 'hf' | 'native';
  /** The parsed config (a YAML file's `model:` section when it has one). */
  config: Record<string, unknown>;
}

/** Generation defaults and special ids of a model folder (generation_config.json, then config.json). */
export interface GenerationDefaults {
  bosTokenId: number | null;
  /** Every id that ends generation (HF allows a list). */
  eosTokenIds: number[];
  padTokenId: number | null;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** false: greedy (HF do_sample). */
  doSample?: boolean;
}

const CONFIG_FILES = ['config.json', 'config.yaml', 'config.yml'];
// Fields only the NeurIPS xLSTMLMModel / xLSTMBlockStack config has.
const BLOCK_STACK_KEYS = ['mlstm_block', 'slstm_block', 'slstm_at', 'context_length', '_block_map', 'add_post_blocks_norm'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

async function checkDir(dir: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const st = await stat(dir).catch(() => null);
  if (!st) throw new Error(`model folder ${dir} does not exist`);
  if (!st.isDirectory()) throw new Error(`model path ${dir} is not a directory (expected a folder with config.json and weights)`);
}

async function readText(path: string): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

async function parseConfigText(text: string, path: string): Promise<Obj> {
  let doc: unknown;
  if (path.endsWith('.json')) {
    try { doc = JSON.parse(text); } catch (e) { throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`); }
  } else {
    const { parse } = await import('yaml');
    try { doc = parse(text); } catch (e) { throw new ConfigError(`${path} is not valid YAML: ${(e as Error).message}`); }
  }
  if (!isObj(doc)) throw new ConfigError(`${path} must hold a mapping of config fields`);
  // experiment YAMLs of the official repos keep the model under `model:`
  return isObj(doc.model) ? doc.model : doc;
}

/** Reads the folder's config and decides which model class it belongs to. */
export async function detectModel(source: string, opts: ModelSourceOptions = {}): Promise<DetectedModel> {
  const dir = await localDir(source, 'language-model-config', opts.hub);
  await checkDir(dir);
  const { join } = await import('node:path');
  for (const name of CONFIG_FILES) {
    const path = join(dir, name);
    const text = await readText(path);
    if (text === undefined) continue;
    const config = await parseConfigText(text, path);
    const modelType = config.model_type;
    if (modelType === 'xlstm') return { kind: 'xlstm-large', configPath: path, format: 'hf', config };
    if (modelType !== undefined) {
      throw new ConfigError(`${path}: model_type ${JSON.stringify(modelType)} is not a supported language model (expected "xlstm" = xLSTM Large / xLSTM-7B, or an xLSTMLMModel config)`);
    }
    if (BLOCK_STACK_KEYS.some((k) => k in config)) return { kind: 'xlstm-lm', configPath: path, format: 'native', config };
    if ('num_heads' in config && ('embedding_dim' in config || 'hidden_size' in config) && 'vocab_size' in config) {
      return { kind: 'xlstm-large', configPath: path, format: 'native', config };
    }
    throw new ConfigError(`${path}: cannot tell the model kind (no model_type, no xLSTMLMModel block fields such as mlstm_block/slstm_block, no xLSTM Large fields embedding_dim/num_heads/vocab_size)`);
  }
  throw new Error(`no config.json or config.yaml in ${dir} (expected a model folder)`);
}

function checkLoadOptions(opts: LoadLanguageModelOptions): void {
  if (!opts || !opts.backend) throw new TypeError('loadLanguageModel: options.backend (a WasmBackend) is required');
  if (opts.dtype !== undefined && !LOAD_DTYPES.includes(opts.dtype)) {
    throw new RangeError(`loadLanguageModel: dtype = ${JSON.stringify(opts.dtype)}, expected one of ${LOAD_DTYPES.join(', ')}`);
  }
}

async function loadXLSTMLarge(dir: string, det: DetectedModel, opts: LoadLanguageModelOptions): Promise<LanguageModel> {
  // XLSTMLarge validates dtype itself (f32 / bf16 / int8 / q4) and reports load progress.
  const loadOpts: XLSTMLargeLoadOptions & { dtype?: LoadDtype } = { backend: opts.backend, onProgress: opts.onProgress };
  if (opts.dtype !== undefined) loadOpts.dtype = opts.dtype;
  if (opts.q4ActivationBits !== undefined) loadOpts.q4ActivationBits = opts.q4ActivationBits;
  let model: XLSTMLarge;
  if (det.configPath.endsWith('config.json')) {
    model = await XLSTMLarge.fromPretrained(dir, loadOpts);
  } else {
    // native xlstm_large YAML config: same fields, weights in the same folder
    const cfg = resolveXLSTMLargeConfig(det.config as XLSTMLargeConfigInput);
    const { openSafetensorsModel } = await import('../io/safetensorsSharded.js');
    const src = await openSafetensorsModel(dir);
    try {
      model = await XLSTMLarge.fromSource(src, cfg, loadOpts);
    } finally { await src.close(); }
  }
  return model as unknown as LanguageModel;
}

async function loadXLSTMLM(dir: string, det: DetectedModel, opts: LoadLanguageModelOptions): Promise<LanguageModel> {
  // xLSTMLMModel (the NeurIPS-paper library) is small by design and runs in f32 only.
  if (opts.dtype !== undefined && opts.dtype !== 'f32') {
    throw new RangeError(`${det.configPath}: dtype ${JSON.stringify(opts.dtype)} is not supported for xLSTMLMModel checkpoints (f32 only)`);
  }
  return (await XLSTMLMModel.fromPretrained(dir, { backend: opts.backend })) as unknown as LanguageModel;
}

/** Loads the language model in a folder or hub repository (`org/name[@revision]`), whichever kind it is. */
export async function loadLanguageModel(source: string, opts: LoadLanguageModelOptions): Promise<LanguageModel> {
  checkLoadOptions(opts);
  const dir = await localDir(source, 'language-model', opts.hub);
  const det = await detectModel(dir);
  return det.kind === 'xlstm-large' ? loadXLSTMLarge(dir, det, opts) : loadXLSTMLM(dir, det, opts);
}

function idOrNull(path: string, key: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || (v as number) < 0) throw new Error(`${path}: ${key} = ${JSON.stringify(v)}, expected a token id (integer >= 0)`);
  return v as number;
}

function idList(path: string, key: string, v: unknown): number[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x, i) => idOrNull(path, Array.isArray(v) ? `${key}[${i}]` : key, x) as number);
}

/**
 * Special ids and sampling defaults: generation_config.json when present, with config.json's
 * bos/eos/pad ids filling what it leaves out.
 */
export async function readGenerationDefaults(source: string, opts: ModelSourceOptions = {}): Promise<GenerationDefaults> {
  const { join } = await import('node:path');
  const dir = await localDir(source, 'language-model-config', opts.hub);
  await checkDir(dir);
  let base: Obj = {};
  let basePath = '';
  try {
    const det = await detectModel(dir);
    base = det.config;
    basePath = det.configPath;
  } catch { /* no model config: only generation_config.json counts */ }
  const genPath = join(dir, 'generation_config.json');
  const text = await readText(genPath);
  let gen: Obj = {};
  if (text !== undefined) gen = await parseConfigText(text, genPath);
  const pick = (k: string): [string, unknown] => (gen[k] !== undefined ? [genPath, gen[k]] : [basePath, base[k]]);
  const out: GenerationDefaults = {
    bosTokenId: idOrNull(...withKey(pick('bos_token_id'), 'bos_token_id')),
    eosTokenIds: idList(...withKey(pick('eos_token_id'), 'eos_token_id')),
    padTokenId: idOrNull(...withKey(pick('pad_token_id'), 'pad_token_id')),
  };
  const num = (k: string, check: (x: number) => boolean, want: string): number | undefined => {
    const v = gen[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !check(v)) throw new Error(`${genPath}: ${k} = ${JSON.stringify(v)}, expected ${want}`);
    return v;
  };
  const maxNew = num('max_new_tokens', (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
  if (maxNew !== undefined) out.maxNewTokens = maxNew;
  const temperature = num('temperature', (x) => Number.isFinite(x) && x >= 0, 'a number >= 0');
  if (temperature !== undefined) out.temperature = temperature;
  const topK = num('top_k', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  if (topK !== undefined && topK > 0) out.topK = topK; // HF: top_k 0 disables the filter
  const topP = num('top_p', (x) => x > 0 && x <= 1, '0 < top_p <= 1');
  if (topP !== undefined) out.topP = topP;
  if (gen.do_sample !== undefined) {
    if (typeof gen.do_sample !== 'boolean') throw new Error(`${genPath}: do_sample = ${JSON.stringify(gen.do_sample)}, expected true or false`);
    out.doSample = gen.do_sample;
  }
  return out;
}

function withKey(p: [string, unknown], key: string): [string, string, unknown] {
  return [p[0], key, p[1]];
}

/**
 * The tokenizer of a model folder, with the model's BOS policy: xLSTM Large inserts BOS
 * when its config says force_bos_token_insert (the HF default, true for xLSTM-7B); other
 * kinds follow tokenizer_config.json add_bos_token. Special ids from the model / generation
 * config win over tokenizer_config.json.
 */
export async function loadTokenizer(source: string, opts: ModelSourceOptions = {}): Promise<Tokenizer> {
  const dir = await localDir(source, 'language-model-config', opts.hub);
  await checkDir(dir);
  let addBos: boolean | undefined;
  let det: DetectedModel | undefined;
  try { det = await detectModel(dir); } catch { det = undefined; }
  if (det?.kind === 'xlstm-large') {
    const cfg = resolveXLSTMLargeConfig(det.config as XLSTMLargeConfigInput);
    addBos = cfg.force_bos_token_insert;
  }
  const gen = await readGenerationDefaults(dir);
  const tok = await loadTokenizerFromDir(dir);
  return tok.withOptions({
    addBos: addBos ?? tok.addBos,
    bosTokenId: gen.bosTokenId ?? tok.bosTokenId,
    eosTokenId: gen.eosTokenIds[0] ?? tok.eosTokenId,
    padTokenId: gen.padTokenId ?? tok.padTokenId,
  });
}
