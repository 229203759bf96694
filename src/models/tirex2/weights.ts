// TiRex-2 parameter names and shapes (the official TiRex2 state_dict) in ONE declarative table,
// and loading them from config.json + model.safetensors (the Hugging Face layout) or the
// legacy model-config.yaml + model.ckpt (torch zip, read by the safe pickle reader of src/io:
// no code runs). Loading is strict like the official load_state_dict(strict=True).
//
// Aliases: BiXLSTM sets `rev_cell = fwd_cell`, so every cell tensor has a second name
// `...rev_cell.*`, and the sLSTM init registers its recurrent kernel also as `recurrent_kernel`.
// The safetensors file keeps only the alphabetically first name of each group
// (`fwd_cell.*`, `fwd_cell._recurrent_kernel_`), a legacy ckpt every name. Each group is one
// tensor here, under its canonical (first) name; a file may hold any non-empty subset of the
// group's names, and copies that differ are an error (they cannot be one shared Parameter).
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { ConfigError, InputError } from '../../errors.js';
import { TiRex2Config, resolveTiRex2Config } from './config.js';

/** One parameter: its canonical name, shape, and the other names the official state_dict gives it. */
export interface TiRex2WeightEntry {
  readonly shape: readonly number[];
  readonly aliases: readonly string[];
}

/**
 * Every unique official tensor (canonical name -> shape and aliases) under `cfg`. The network
 * (network.ts), the loaders and the trainable copy all read parameters by these names.
 */
export function tirex2WeightTable(cfg: TiRex2Config): Map<string, TiRex2WeightEntry> {
  const E = cfg.embeddingDim, P = cfg.patchSize, Q = cfg.quantiles.length, Fw = cfg.ffnDim;
  const t = new Map<string, TiRex2WeightEntry>();
  const set = (name: string, shape: number[], aliases: string[] = []) => t.set(name, Object.freeze({ shape: Object.freeze(shape), aliases: Object.freeze(aliases) }));
  const residual = (p: string, i: number, h: number, o: number) => {
    set(`${p}.hidden_layer.weight`, [h, i]); set(`${p}.hidden_layer.bias`, [h]);
    set(`${p}.output_layer.weight`, [o, h]); set(`${p}.output_layer.bias`, [o]);
    set(`${p}.residual_layer.weight`, [o, i]); set(`${p}.residual_layer.bias`, [o]);
  };
  residual('input_patch_embedding', 2 * P, cfg.inputFfDim, E);
  cfg.blocks.forEach((b, i) => {
    const tm = `stack.${i}.time_mixer`;
    const cell = (leaf: string, shape: number[], extra: string[] = []) => set(`${tm}.fwd_cell.${leaf}`, shape,
      [...extra.map((x) => `${tm}.fwd_cell.${x}`), `${tm}.rev_cell.${leaf}`, ...extra.map((x) => `${tm}.rev_cell.${x}`)]);
    set(`${tm}.norm_lstm.weight`, [E]);
    set(`${tm}.combination.weight`, [E, 2 * E]);
    set(`${tm}.norm_ffn.weight`, [E]);
    set(`${tm}.ffn.proj_up_gate.weight`, [Fw, E]);
    set(`${tm}.ffn.proj_up.weight`, [Fw, E]);
    set(`${tm}.ffn.proj_down.weight`, [E, Fw]);
    if (b.timeMixer === 'bi-mlstm') {
      const NH = b.numHeads;
      cell('q.weight', [E / 2, E]); cell('k.weight', [E / 2, E]);
      for (const n of ['v', 'ogate_preact', 'out_proj']) cell(`${n}.weight`, [E, E]);
      for (const n of ['igate_preact', 'fgate_preact']) { cell(`${n}.weight`, [NH, E]); cell(`${n}.bias`, [NH]); }
      cell('multihead_norm.weight', [E]);
    } else {
      const NH = b.numSlstmHeads, DH = E / NH;
      for (const g of ['fgate', 'igate', 'zgate', 'ogate']) cell(`${g}.weight`, [NH, DH, DH]);
      cell('_recurrent_kernel_', [NH, DH, 4, DH], ['recurrent_kernel']);
      cell('_bias_', [NH, 4, DH]);
      cell('group_norm.weight', [E]);
    }
    const vm = `stack.${i}.variate_mixer`;
    set(`${vm}.norm_attn.weight`, [E]);
    for (const n of ['WQ', 'WK', 'WV', 'WO']) set(`${vm}.attn.${n}.weight`, [E, E]);
    set(`${vm}.norm_ffn.weight`, [E]);
    set(`${vm}.ffn.wi.weight`, [cfg.attentionFfnDim, E]);
    set(`${vm}.ffn.wo.weight`, [E, cfg.attentionFfnDim]);
  });
  if (cfg.stackOutNormEps !== null) set('stack_out_norm.weight', [E]);
  residual('output_patch_embedding', E, cfg.headHiddenDim, Q * P);
  return t;
}

/** A source of named tensors (shape known before reading). */
export interface TiRex2TensorSource {
  /** Names the file in errors. */
  readonly source: string;
  names(): string[];
  shape(name: string): readonly number[];
  read(name: string): Promise<Tensor>;
}

const list = (a: readonly string[]) => a.slice(0, 6).join(', ') + (a.length > 6 ? `, ... (${a.length} in all)` : '');

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Checks `src` against the table (missing groups, unexpected names, shapes) and reads one f32
 * tensor per group, keyed by the canonical name. Errors name the tensor, the file and the
 * config sizes the expected shape came from.
 */
export async function loadTiRex2Weights(cfg: TiRex2Config, src: TiRex2TensorSource): Promise<Map<string, Tensor>> {
  const table = tirex2WeightTable(cfg);
  const have = new Set(src.names());
  const known = new Map<string, string>(); // any name -> canonical
  for (const [name, e] of table) { known.set(name, name); for (const a of e.aliases) known.set(a, name); }
  const unexpected = [...have].filter((n) => !known.has(n));
  const missing = [...table].filter(([name, e]) => !have.has(name) && !e.aliases.some((a) => have.has(a))).map(([n]) => n);
  if (missing.length || unexpected.length) {
    throw new InputError(`TiRex-2 weights (${src.source}): state_dict does not match the config (${cfg.blocks.length} blocks: ${cfg.blocks.map((b) => b.timeMixer).join(', ')})`
      + (missing.length ? `; missing: ${list(missing)}` : '') + (unexpected.length ? `; unexpected: ${list(unexpected)}` : ''));
  }
  const sizes = `embedding_dim ${cfg.embeddingDim}, patch ${cfg.patchSize}, ${cfg.quantiles.length} quantiles, input_ff_dim ${cfg.inputFfDim}, `
    + `head width ${cfg.headHiddenDim}, FFN width ${cfg.ffnDim}`;
  for (const n of have) {
    const want = table.get(known.get(n)!)!.shape;
    const got = src.shape(n);
    if (!sameShape(got, want)) {
      throw new InputError(`TiRex-2 weights (${src.source}): tensor '${n}' has shape ${shapeStr(got)}, expected ${shapeStr(want)} from the config (${sizes}): config and weights do not match`);
    }
  }
  const out = new Map<string, Tensor>();
  for (const [name, e] of table) {
    const present = [name, ...e.aliases].filter((n) => have.has(n));
    const first = await readF32(src, present[0]);
    for (const other of present.slice(1)) {
      const b = (await readF32(src, other)).data as Float32Array, a = first.data as Float32Array;
      for (let j = 0; j < a.length; j++) {
        if (!Object.is(a[j], b[j])) throw new InputError(`TiRex-2 weights (${src.source}): '${other}' differs from '${present[0]}' at index ${j} (${b[j]} vs ${a[j]}); the official model shares one tensor under both names`);
      }
    }
    out.set(name, first);
  }
  return out;
}

async function readF32(src: TiRex2TensorSource, name: string): Promise<Tensor> {
  const t = await src.read(name);
  if (t.dtype === 'f32') return t;
  if (!['f64', 'f16', 'bf16'].includes(t.dtype)) throw new InputError(`TiRex-2 weights (${src.source}): tensor '${name}' has dtype ${t.dtype}, expected a float type`);
  return new Tensor('f32', t.shape, t.toFloat32());
}

/** In-memory tensors as a source (e.g. a parsed model.safetensors in a browser). */
export function tirex2TensorMapSource(tensors: ReadonlyMap<string, Tensor>, source = '<tensors>'): TiRex2TensorSource {
  return { source, names: () => [...tensors.keys()], shape: (n) => tensors.get(n)!.shape, read: async (n) => tensors.get(n)! };
}

/**
 * The state_dict as the official safetensors layout stores it: every alias group under its
 * alphabetically first name (what scripts/convert_checkpoint.py writes).
 */
export function tirex2SafetensorsNames(cfg: TiRex2Config): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, e] of tirex2WeightTable(cfg)) out.set(name, [name, ...e.aliases].sort()[0]);
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
