// Saving a recurrent state to bytes and restoring it: a safetensors file whose tensors are
// the state's leaves (named by their paths, e.g. "0.c", F32, full shape with the batch
// first) and whose __metadata__ says what it is and which model it belongs to. The byte
// layout is specified in docs/STATE-FORMAT.md. Restoring checks the file against the model
// and names what does not match; data is read straight into model.emptyState(B)'s leaves.
import { ArgumentError, InputError } from '../errors.js';
import type { LanguageModel, ModelState } from '../models/languageModel.js';
import { parseSafetensors, serializeSafetensors, SafetensorsBuffer } from '../io/safetensors.js';
import { Tensor } from '../tensor/tensor.js';
import { StateLeaf, checkStateMatches, disposeState, stateBatchSize, stateLeaves } from './state.js';
import { vocabSizeOf } from './validate.js';

/** Value of __metadata__.format. */
export const STATE_FORMAT = 'xlstm-ts-state';
/** Value of __metadata__.version this code writes (and the only one it reads). */
export const STATE_FORMAT_VERSION = '1';
/** Prefix of caller metadata keys in __metadata__. */
const USER_PREFIX = 'user.';

export interface SaveStateOptions {
  /** Extra string metadata (e.g. the prompt, tokenizer name), stored as "user.<key>". */
  metadata?: Readonly<Record<string, string>>;
}

export interface LoadStateOptions {
  /**
   * Also require the model config to be the one the state was saved with (default true).
   * false accepts a config that differs (e.g. only in chunk_size) as long as model type,
   * vocabulary and every state leaf shape match.
   */
  checkConfig?: boolean;
}

/** What a state file says about itself (no model needed). */
export interface StateFileInfo {
  format: string;
  version: string;
  modelType: string;
  vocabSize: number;
  batch: number;
  fingerprint: string;
  /** The model config as saved (when the model exposed one). */
  config?: unknown;
  /** Caller metadata, keys without the "user." prefix. */
  metadata: Record<string, string>;
  /** Leaf paths and shapes, as stored. */
  leaves: { path: string; shape: number[] }[];
}

/** JSON with object keys sorted at every level, so equal configs give equal text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** 64-bit FNV-1a over the UTF-8 bytes, as 16 hex digits. */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/** The model's config when it exposes one as `config` (xLSTM models do). */
function modelConfig(model: LanguageModel): unknown {
  const c = (model as unknown as { config?: unknown }).config;
  return c !== null && typeof c === 'object' ? c : undefined;
}

/**
 * "fnv1a64:<hex>" of the canonical JSON of {modelType, vocabSize, config, state: [[path,
 * shape without the batch], ...]}: equal fingerprints mean the same kind of model with
 * the same state layout (it cannot tell two trainings of one architecture apart).
 */
function fingerprint(model: LanguageModel, leaves: readonly StateLeaf[]): string {
  return `fnv1a64:${fnv1a64(canonicalJson({
    modelType: model.modelType, vocabSize: model.vocabSize, config: modelConfig(model) ?? null,
    state: leaves.map((l) => [l.path, l.tensor.shape.slice(1)]),
  }))}`;
}

/** The fingerprint of `model`'s states (allocates one empty state of batch 1 briefly). */
export function stateFingerprint(model: LanguageModel): string {
  const t = model.emptyState(1);
  try { return fingerprint(model, stateLeaves(t)); } finally { disposeState(t); }
}

/** Serialises `state` (a state of `model`) to safetensors bytes (see docs/STATE-FORMAT.md). */
export function saveState(model: LanguageModel, state: ModelState, opts: SaveStateOptions = {}): Uint8Array {
  const fn = 'saveState';
  vocabSizeOf(fn, model);
  if (typeof model.modelType !== 'string' || !model.modelType) throw new ArgumentError(`${fn}: model.modelType must be a non-empty string`);
  const tmpl = model.emptyState(1);
  let B: number;
  try { B = checkStateMatches(fn, 'state', tmpl, state); } finally { disposeState(tmpl); }
  const leaves = stateLeaves(state);
  const meta: Record<string, string> = {
    format: STATE_FORMAT,
    version: STATE_FORMAT_VERSION,
    modelType: model.modelType,
    vocabSize: String(model.vocabSize),
    batch: String(B),
    fingerprint: fingerprint(model, leaves),
  };
  const cfg = modelConfig(model);
  if (cfg !== undefined) meta.config = canonicalJson(cfg);
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (typeof v !== 'string') throw new ArgumentError(`${fn}: metadata.${k} is ${typeof v}, expected a string`);
    meta[USER_PREFIX + k] = v;
  }
  // plain JS views of the leaves: the writer copies them whatever heap they live on
  const tensors = new Map(leaves.map((l) => [l.path, new Tensor('f32', l.tensor.shape, l.tensor.data as Float32Array)]));
  return serializeSafetensors(tensors, meta);
}

function parseStateFile(fn: string, bytes: Uint8Array | ArrayBuffer): { src: SafetensorsBuffer; info: StateFileInfo } {
  const src = parseSafetensors(bytes, { source: 'state file' });
  const m = src.metadata;
  if (m.format !== STATE_FORMAT) {
    throw new InputError(`${fn}: not an xlstm-ts state file (__metadata__.format = ${JSON.stringify(m.format)}, expected "${STATE_FORMAT}")`);
  }
  if (m.version !== STATE_FORMAT_VERSION) {
    throw new InputError(`${fn}: state file version ${JSON.stringify(m.version)} is not supported (this build reads version "${STATE_FORMAT_VERSION}")`);
  }
  for (const k of ['modelType', 'vocabSize', 'batch', 'fingerprint']) {
    if (typeof m[k] !== 'string') throw new InputError(`${fn}: state file __metadata__ has no "${k}"`);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (k.startsWith(USER_PREFIX)) metadata[k.slice(USER_PREFIX.length)] = v as string;
  let config: unknown;
  if (typeof m.config === 'string') {
    try { config = JSON.parse(m.config); } catch { throw new InputError(`${fn}: state file __metadata__.config is not valid JSON`); }
  }
  const info: StateFileInfo = {
    format: m.format, version: m.version, modelType: m.modelType as string, vocabSize: Number(m.vocabSize), batch: Number(m.batch),
    fingerprint: m.fingerprint as string, ...(config !== undefined ? { config } : {}), metadata,
    leaves: src.names().map((n) => ({ path: n, shape: src.info(n).shape })),
  };
  return { src, info };
}

/** Reads a state file's metadata and leaf list without a model. */
export function readStateInfo(bytes: Uint8Array | ArrayBuffer): StateFileInfo {
  return parseStateFile('readStateInfo', bytes).info;
}

/** Config keys whose values differ, as "key: saved X, model Y". */
function configDiff(saved: unknown, current: unknown): string[] {
  const a = (saved ?? {}) as Record<string, unknown>, b = (current ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]))
    .map((k) => `${k}: saved ${a[k] === undefined ? '(absent)' : canonicalJson(a[k])}, model ${b[k] === undefined ? '(absent)' : canonicalJson(b[k])}`);
}

/**
 * Restores a state saved by saveState into a new state of `model` (from
 * model.emptyState(batch)). Throws, naming the mismatch, when the file belongs to another
 * model type, vocabulary, state layout or (unless checkConfig: false) config.
 */
export function loadState(model: LanguageModel, bytes: Uint8Array | ArrayBuffer, opts: LoadStateOptions = {}): ModelState {
  const fn = 'loadState';
  const V = vocabSizeOf(fn, model);
  const { src, info } = parseStateFile(fn, bytes);
  if (info.modelType !== model.modelType) throw new InputError(`${fn}: the state was saved from a model of type "${info.modelType}", this model is "${model.modelType}"`);
  if (info.vocabSize !== V) throw new InputError(`${fn}: the state was saved from a model with vocabSize ${info.vocabSize}, this model has ${V}`);
  if (!Number.isInteger(info.batch) || info.batch < 1) throw new InputError(`${fn}: state file batch = ${JSON.stringify(src.metadata.batch)}, expected a positive integer`);
  const state = model.emptyState(info.batch);
  try {
    const leaves = stateLeaves(state, fn, 'model.emptyState()');
    const want = new Set(leaves.map((l) => l.path));
    const extra = src.names().filter((n) => !want.has(n));
    if (extra.length) throw new InputError(`${fn}: the state file has leaves this model's state does not have: ${extra.map((n) => `'${n}'`).join(', ')}`);
    for (const { path, tensor } of leaves) {
      if (!src.has(path)) throw new InputError(`${fn}: the state file has no leaf '${path}' (this model's state needs it)`);
      const fi = src.info(path);
      if (fi.dtype !== 'f32' || fi.shape.join() !== tensor.shape.join()) {
        throw new InputError(`${fn}: leaf '${path}' in the file is ${fi.dtype} [${fi.shape.join(', ')}], this model needs f32 [${tensor.shape.join(', ')}]`);
      }
    }
    const fp = fingerprint(model, leaves);
    if (opts.checkConfig !== false && fp !== info.fingerprint) {
      const diff = configDiff(info.config, modelConfig(model));
      throw new InputError(`${fn}: the state was saved from a differently configured model (fingerprint ${info.fingerprint}, this model ${fp})` +
        (diff.length ? `; config differs in ${diff.join('; ')}` : '') + ' (pass checkConfig: false to load it anyway)');
    }
    for (const { path, tensor } of leaves) src.readInto(path, tensor.data as Float32Array);
  } catch (e) { disposeState(state); throw e; }
  stateBatchSize(state, fn);
  return state;
}
