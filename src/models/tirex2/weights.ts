// TiRex-2 parameter names and shapes (the official TiRex2 state_dict) in ONE declarative table
// (tirex2Table, format in ../weightTable.ts), and loading them from config.json +
// model.safetensors (the Hugging Face layout) or the legacy model-config.yaml + model.ckpt
// (torch zip, read by the safe pickle reader of src/io: no code runs). Loading is strict like
// the official load_state_dict(strict=True). The loader, the initialiser (init.ts), the saver
// and the trainable (src/train/tirex2Trainable.ts) all read this table.
//
// Aliases: BiXLSTM sets `rev_cell = fwd_cell`, so every cell tensor has a second name
// `...rev_cell.*`, and the sLSTM init registers its recurrent kernel also as `recurrent_kernel`.
// The safetensors file keeps only the alphabetically first name of each group
// (`fwd_cell.*`, `fwd_cell._recurrent_kernel_`), a legacy ckpt every name. Each group is one
// `shared` spec under its canonical (first) name; a file may hold any non-empty subset of the
// group's names, and copies that differ are an error (they cannot be one shared Parameter).
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import type { DType } from '../../tensor/dtype.js';
import { ConfigError, InputError } from '../../errors.js';
import { TiRex2Config, resolveTiRex2Config } from './config.js';
import { ffnSpecs, residualBlockSpecs } from '../tirex/weights.js';
import { FLOAT_DTYPES, TensorSource, WeightSpec, WeightTable, firstDifference, matchWeights, sourceInfo, tensorMapSource } from '../weightTable.js';

/**
 * The TiRex-2 weight table: every unique official tensor under `cfg`, in state_dict order, by
 * canonical name. Roles (init.ts and the trainable's decay key on them): 'linear' (dense
 * [out, in]), 'downProj' (the FFN's output projection, initialised as 'linear'), 'bias', 'norm' (RMSNorm / per-head norm weight, applied as w), 'gateWeight'
 * (mLSTM input/forget gate [NH, E]), 'igateBias', 'fgateBias', 'headwiseGate' (sLSTM
 * [NH, DH, DH]), 'recurrentKernel' ([NH, DH, 4, DH]), 'slstmBias' ([NH, 4, DH]).
 */
export function tirex2Table(cfg: TiRex2Config): WeightTable {
  const E = cfg.embeddingDim, P = cfg.patchSize, Q = cfg.quantiles.length, Fw = cfg.ffnDim;
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[], role: string, aliases: string[] = []) => specs.push(Object.freeze({
    name, shape: Object.freeze(shape), role, fanIn: shape[shape.length - 1], ...(aliases.length ? { aliases: Object.freeze(aliases), shared: true } : {}),
  }));
  const residual = (p: string, i: number, h: number, o: number) => specs.push(...residualBlockSpecs(p, i, h, o));
  residual('input_patch_embedding', 2 * P, cfg.inputFfDim, E);
  cfg.blocks.forEach((b, i) => {
    const tm = `stack.${i}.time_mixer`;
    const cell = (leaf: string, shape: number[], role: string, extra: string[] = []) => add(`${tm}.fwd_cell.${leaf}`, shape, role,
      [...extra.map((x) => `${tm}.fwd_cell.${x}`), `${tm}.rev_cell.${leaf}`, ...extra.map((x) => `${tm}.rev_cell.${x}`)]);
    add(`${tm}.norm_lstm.weight`, [E], 'norm');
    add(`${tm}.combination.weight`, [E, 2 * E], 'linear');
    specs.push(...ffnSpecs(tm, E, Fw));
    if (b.timeMixer === 'bi-mlstm') {
      const NH = b.numHeads;
      cell('q.weight', [E / 2, E], 'linear'); cell('k.weight', [E / 2, E], 'linear');
      for (const n of ['v', 'ogate_preact', 'out_proj']) cell(`${n}.weight`, [E, E], 'linear');
      cell('igate_preact.weight', [NH, E], 'gateWeight'); cell('igate_preact.bias', [NH], 'igateBias');
      cell('fgate_preact.weight', [NH, E], 'gateWeight'); cell('fgate_preact.bias', [NH], 'fgateBias');
      cell('multihead_norm.weight', [E], 'norm');
    } else {
      const NH = b.numSlstmHeads, DH = E / NH;
      for (const g of ['fgate', 'igate', 'zgate', 'ogate']) cell(`${g}.weight`, [NH, DH, DH], 'headwiseGate');
      cell('_recurrent_kernel_', [NH, DH, 4, DH], 'recurrentKernel', ['recurrent_kernel']);
      cell('_bias_', [NH, 4, DH], 'slstmBias');
      cell('group_norm.weight', [E], 'norm');
    }
    const vm = `stack.${i}.variate_mixer`;
    add(`${vm}.norm_attn.weight`, [E], 'norm');
    for (const n of ['WQ', 'WK', 'WV', 'WO']) add(`${vm}.attn.${n}.weight`, [E, E], 'linear');
    add(`${vm}.norm_ffn.weight`, [E], 'norm');
    add(`${vm}.ffn.wi.weight`, [cfg.attentionFfnDim, E], 'linear');
    add(`${vm}.ffn.wo.weight`, [E, cfg.attentionFfnDim], 'linear');
  });
  if (cfg.stackOutNormEps !== null) add('stack_out_norm.weight', [E], 'norm');
  residual('output_patch_embedding', E, cfg.headHiddenDim, Q * P);
  return { arch: 'TiRex-2', specs };
}

/** One parameter: its canonical name, shape, and the other names the official state_dict gives it. */
export interface TiRex2WeightEntry {
  readonly shape: readonly number[];
  readonly aliases: readonly string[];
}

/** The table as canonical name -> shape and aliases (a view of tirex2Table). */
export function tirex2WeightTable(cfg: TiRex2Config): Map<string, TiRex2WeightEntry> {
  return new Map(tirex2Table(cfg).specs.map((s) => [s.name, Object.freeze({ shape: s.shape, aliases: s.aliases ?? [] })]));
}

/** A source of named tensors (shape known before reading; see ../weightTable.ts). */
export type TiRex2TensorSource = TensorSource;

const list = (a: readonly string[]) => a.slice(0, 6).join(', ') + (a.length > 6 ? `, ... (${a.length} in all)` : '');

/**
 * Checks `src` against the table (missing groups, unexpected names, shapes) and reads one f32
 * tensor per group, keyed by the canonical name. Errors name the tensor, the file and the
 * config sizes the expected shape came from.
 */
export async function loadTiRex2Weights(cfg: TiRex2Config, src: TiRex2TensorSource): Promise<Map<string, Tensor>> {
  const table = tirex2Table(cfg);
  const m = await matchWeights(table, sourceInfo(src));
  const { missing, unexpected, misshaped, badDtype } = m.problems;
  if (missing.length || unexpected.length) {
    throw new InputError(`TiRex-2 weights (${src.source}): state_dict does not match the config (${cfg.blocks.length} blocks: ${cfg.blocks.map((b) => b.timeMixer).join(', ')})`
      + (missing.length ? `; missing: ${list(missing.map((s) => s.name))}` : '') + (unexpected.length ? `; unexpected: ${list(unexpected)}` : ''));
  }
  if (misshaped.length) {
    const { spec, file, shape } = misshaped[0];
    const sizes = `embedding_dim ${cfg.embeddingDim}, patch ${cfg.patchSize}, ${cfg.quantiles.length} quantiles, input_ff_dim ${cfg.inputFfDim}, `
      + `head width ${cfg.headHiddenDim}, FFN width ${cfg.ffnDim}`;
    throw new InputError(`TiRex-2 weights (${src.source}): tensor '${file}' has shape ${shapeStr(shape)}, expected ${shapeStr(spec.shape)} from the config (${sizes}): config and weights do not match`);
  }
  if (badDtype.length) throw dtypeError(src, badDtype[0].file, badDtype[0].dtype);
  const out = new Map<string, Tensor>();
  for (const [name, { file, copies }] of m.matches) {
    const first = await readF32(src, file);
    for (const other of copies) {
      const b = await readF32(src, other);
      const j = firstDifference(first, b);
      if (j >= 0) {
        const a = first.data as Float32Array, bd = b.data as Float32Array;
        throw new InputError(`TiRex-2 weights (${src.source}): '${other}' differs from '${file}' at index ${j} (${bd[j]} vs ${a[j]}); the official model shares one tensor under both names`);
      }
    }
    out.set(name, first);
  }
  return out;
}

const dtypeError = (src: TiRex2TensorSource, name: string, dtype: DType) =>
  new InputError(`TiRex-2 weights (${src.source}): tensor '${name}' has dtype ${dtype}, expected a float type (${FLOAT_DTYPES.join(', ')})`);

async function readF32(src: TiRex2TensorSource, name: string): Promise<Tensor> {
  const t = await src.read(name);
  if (t.dtype === 'f32') return t;
  if (!FLOAT_DTYPES.includes(t.dtype)) throw dtypeError(src, name, t.dtype);
  return new Tensor('f32', t.shape, t.toFloat32());
}

/** In-memory tensors as a source (e.g. a parsed model.safetensors in a browser). */
export const tirex2TensorMapSource = tensorMapSource;

/**
 * The state_dict as the official safetensors layout stores it: every alias group under its
 * alphabetically first name (what scripts/convert_checkpoint.py writes).
 */
export function tirex2SafetensorsNames(cfg: TiRex2Config): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of tirex2Table(cfg).specs) out.set(s.name, [s.name, ...(s.aliases ?? [])].sort()[0]);
  return out;
}

export interface LoadedTiRex2Checkpoint {
  config: TiRex2Config;
  /** The raw config object (config.json / model-config.yaml). */
  configJson: unknown;
  weights: Map<string, Tensor>;
  /** The files read. */
  configFile: string;
  weightsFile: string;
  format: 'safetensors' | 'ckpt';
}

export interface LoadTiRex2CheckpointOptions {
  /** Which weights file of a folder to use. Default: model.safetensors when present, else model.ckpt (as the official load_model). */
  format?: 'safetensors' | 'ckpt';
  /** A config object or path instead of the folder's config.json / model-config.yaml. */
  config?: unknown;
}

/**
 * Node: a TiRex-2 from a folder holding config.json (or the legacy model-config.yaml) and
 * model.safetensors (or the legacy model.ckpt), or from one weights file with its config beside it.
 */
export async function loadTiRex2Checkpoint(pathOrDir: string, opts: LoadTiRex2CheckpointOptions = {}): Promise<LoadedTiRex2Checkpoint> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const exists = async (p: string) => fs.stat(p).then((s) => s.isFile(), () => false);
  let st;
  try { st = await fs.stat(pathOrDir); } catch { throw new InputError(`TiRex2.fromPretrained: '${pathOrDir}' does not exist`); }
  const dir = st.isDirectory() ? pathOrDir : pathMod.dirname(pathOrDir);
  let weightsFile: string;
  let format: 'safetensors' | 'ckpt';
  if (st.isDirectory()) {
    const sft = pathMod.join(dir, 'model.safetensors'), ckpt = pathMod.join(dir, 'model.ckpt');
    format = opts.format ?? ((await exists(sft)) ? 'safetensors' : 'ckpt');
    weightsFile = format === 'safetensors' ? sft : ckpt;
    if (!(await exists(weightsFile))) throw new InputError(`TiRex2.fromPretrained: folder '${pathOrDir}' has no ${opts.format ? pathMod.basename(weightsFile) : 'model.safetensors or model.ckpt'}`);
  } else {
    weightsFile = pathOrDir;
    format = opts.format ?? (pathOrDir.endsWith('.safetensors') ? 'safetensors' : 'ckpt');
  }
  let configFile: string;
  let configJson: unknown;
  if (opts.config !== undefined && typeof opts.config !== 'string') { configFile = 'options.config'; configJson = opts.config; } else {
    if (typeof opts.config === 'string') configFile = opts.config;
    else {
      const json = pathMod.join(dir, 'config.json'), yaml = pathMod.join(dir, 'model-config.yaml');
      configFile = (await exists(json)) ? json : (await exists(yaml)) ? yaml : '';
      if (!configFile) throw new InputError(`TiRex2.fromPretrained: no config.json or model-config.yaml in '${dir}' (pass options.config)`);
    }
    let text: string;
    try { text = await fs.readFile(configFile, 'utf8'); } catch (e) { throw new InputError(`TiRex-2 config '${configFile}': cannot read it (${(e as Error).message})`); }
    try {
      configJson = /\.ya?ml$/i.test(configFile) ? (await import('yaml')).parse(text) : JSON.parse(text);
    } catch (e) { throw new ConfigError(`TiRex-2 config '${configFile}': not valid ${/\.ya?ml$/i.test(configFile) ? 'YAML' : 'JSON'} (${(e as Error).message})`); }
  }
  const config = resolveTiRex2Config(configJson, configFile);
  if (format === 'ckpt') {
    const { TorchCheckpoint } = await import('../../io/torchCheckpoint.js');
    const ck = await TorchCheckpoint.open(weightsFile);
    try {
      // the state dict itself, or {"state_dict": ...} (tensors() picks 'state_dict' when present)
      const refs = ck.tensors();
      const weights = await loadTiRex2Weights(config, { source: weightsFile, names: () => [...refs.keys()], shape: (n) => refs.get(n)!.shape, read: (n) => ck.read(refs.get(n)!) });
      return { config, configJson, weights, configFile, weightsFile, format };
    } finally { await ck.close(); }
  }
  const { SafetensorsFile } = await import('../../io/safetensorsFile.js');
  const sf = await SafetensorsFile.open(weightsFile);
  try {
    const weights = await loadTiRex2Weights(config, { source: weightsFile, names: () => sf.names(), shape: (n) => sf.info(n).shape, read: (n) => sf.read(n) });
    return { config, configJson, weights, configFile, weightsFile, format };
  } finally { await sf.close(); }
}
