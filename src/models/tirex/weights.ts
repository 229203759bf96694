// TiRex parameter names and shapes (the official TiRexZero state_dict), and loading them
// from the official model.ckpt (torch zip; legacy 'block_stack.' prefix stripped, as
// TiRexZero.on_load_checkpoint does) or from model.safetensors + a JSON config.
// Loading is strict like the official load_state_dict: missing, unexpected and
// mis-shaped tensors are errors that name the tensor and the file.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { TiRexConfig, resolveTiRexConfig } from './config.js';
import { ConfigError } from '../../errors.js';

export interface TiRexResidualBlockWeights {
  hiddenWeight: Tensor; // [FF, IN]
  hiddenBias: Tensor; // [FF]
  outputWeight: Tensor; // [OUT, FF]
  outputBias: Tensor; // [OUT]
  residualWeight: Tensor; // [OUT, IN]
  residualBias: Tensor; // [OUT]
}

export interface TiRexBlockWeights {
  normSlstm: Tensor; // [E]
  /** Head-wise gate projections [NH, DH_out, DH_in], by official module name. */
  fgate: Tensor;
  igate: Tensor;
  zgate: Tensor;
  ogate: Tensor;
  recurrentKernel: Tensor; // [NH, DH, 4*DH] (cuda layout)
  bias: Tensor; // [4*E] head-major (h, g, d)
  groupNorm: Tensor; // [E], applied as 1 + w
  normFfn: Tensor; // [E]
  projUpGate: Tensor; // [FFN, E]
  projUp: Tensor; // [FFN, E]
  projDown: Tensor; // [E, FFN]
}

export interface TiRexWeights {
  inputPatchEmbedding: TiRexResidualBlockWeights;
  blocks: TiRexBlockWeights[];
  outNorm: Tensor; // [E]
  outputPatchEmbedding: TiRexResidualBlockWeights;
}

/** Legacy prefix of block and out_norm keys in checkpoints written by the original Lightning module. */
export const LEGACY_PREFIX = 'block_stack.';

/** Every official tensor name with its expected shape under `cfg`. */
export function tirexWeightTable(cfg: TiRexConfig): Map<string, number[]> {
  const E = cfg.embeddingDim, NH = cfg.numHeads, DH = cfg.headDim, F = cfg.ffnDim, FF = cfg.inputFfDim;
  const inF = 2 * cfg.inputPatchSize; // values + mask
  const outF = cfg.quantiles.length * cfg.outputPatchSize;
  const t = new Map<string, number[]>();
  const residual = (p: string, i: number, o: number) => {
    t.set(`${p}.hidden_layer.weight`, [FF, i]); t.set(`${p}.hidden_layer.bias`, [FF]);
    t.set(`${p}.output_layer.weight`, [o, FF]); t.set(`${p}.output_layer.bias`, [o]);
    t.set(`${p}.residual_layer.weight`, [o, i]); t.set(`${p}.residual_layer.bias`, [o]);
  };
  residual('input_patch_embedding', inF, E);
  for (let b = 0; b < cfg.numBlocks; b++) {
    const p = `blocks.${b}`;
    t.set(`${p}.norm_slstm.weight`, [E]);
    for (const g of ['fgate', 'igate', 'zgate', 'ogate']) t.set(`${p}.slstm_layer.${g}.weight`, [NH, DH, DH]);
    t.set(`${p}.slstm_layer.slstm_cell._recurrent_kernel_`, [NH, DH, 4 * DH]);
    t.set(`${p}.slstm_layer.slstm_cell._bias_`, [4 * E]);
    t.set(`${p}.slstm_layer.group_norm.weight`, [E]);
    t.set(`${p}.norm_ffn.weight`, [E]);
    t.set(`${p}.ffn.proj_up_gate.weight`, [F, E]);
    t.set(`${p}.ffn.proj_up.weight`, [F, E]);
    t.set(`${p}.ffn.proj_down.weight`, [E, F]);
  }
  t.set('out_norm.weight', [E]);
  residual('output_patch_embedding', E, outF);
  return t;
}

/** A source of named tensors (shape known before reading). */
export interface TiRexTensorSource {
  /** Names the file in errors. */
  readonly source: string;
  names(): string[];
  shape(name: string): readonly number[];
  read(name: string): Promise<Tensor>;
}

/**
 * Checks the source against the name table (strict, like load_state_dict) and reads every
 * tensor as f32. Shape errors hint at a config that does not match the weights.
 */
export async function loadTiRexWeights(cfg: TiRexConfig, src: TiRexTensorSource): Promise<TiRexWeights> {
  const table = tirexWeightTable(cfg);
  const have = new Set(src.names());
  const missing = [...table.keys()].filter((n) => !have.has(n));
  const unexpected = [...have].filter((n) => !table.has(n));
  if (missing.length || unexpected.length) {
    const list = (a: string[]) => a.slice(0, 6).join(', ') + (a.length > 6 ? `, ... (${a.length} in all)` : '');
    throw new Error(`TiRex weights (${src.source}): state_dict does not match the config (${cfg.numBlocks} blocks)`
      + (missing.length ? `; missing: ${list(missing)}` : '') + (unexpected.length ? `; unexpected: ${list(unexpected)}` : ''));
  }
  for (const [name, want] of table) {
    const got = src.shape(name);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new Error(`TiRex weights (${src.source}): tensor '${name}' has shape ${shapeStr(got)}, expected ${shapeStr(want)} from the config `
        + `(embedding_dim ${cfg.embeddingDim}, num_heads ${cfg.numHeads}, ffn dim ${cfg.ffnDim}, input_ff_dim ${cfg.inputFfDim}, `
        + `patch ${cfg.inputPatchSize}/${cfg.outputPatchSize}, ${cfg.quantiles.length} quantiles): config and weights do not match`);
    }
  }
  const get = async (name: string): Promise<Tensor> => {
    const t = await src.read(name);
    const f = t.toFloat32();
    return t.dtype === 'f32' ? t : new Tensor('f32', t.shape, f);
  };
  const residual = async (p: string): Promise<TiRexResidualBlockWeights> => ({
    hiddenWeight: await get(`${p}.hidden_layer.weight`), hiddenBias: await get(`${p}.hidden_layer.bias`),
    outputWeight: await get(`${p}.output_layer.weight`), outputBias: await get(`${p}.output_layer.bias`),
    residualWeight: await get(`${p}.residual_layer.weight`), residualBias: await get(`${p}.residual_layer.bias`),
  });
  const blocks: TiRexBlockWeights[] = [];
  for (let b = 0; b < cfg.numBlocks; b++) {
    const p = `blocks.${b}`;
    blocks.push({
      normSlstm: await get(`${p}.norm_slstm.weight`),
      fgate: await get(`${p}.slstm_layer.fgate.weight`),
      igate: await get(`${p}.slstm_layer.igate.weight`),
      zgate: await get(`${p}.slstm_layer.zgate.weight`),
      ogate: await get(`${p}.slstm_layer.ogate.weight`),
      recurrentKernel: await get(`${p}.slstm_layer.slstm_cell._recurrent_kernel_`),
      bias: await get(`${p}.slstm_layer.slstm_cell._bias_`),
      groupNorm: await get(`${p}.slstm_layer.group_norm.weight`),
      normFfn: await get(`${p}.norm_ffn.weight`),
      projUpGate: await get(`${p}.ffn.proj_up_gate.weight`),
      projUp: await get(`${p}.ffn.proj_up.weight`),
      projDown: await get(`${p}.ffn.proj_down.weight`),
    });
  }
  return {
    inputPatchEmbedding: await residual('input_patch_embedding'),
    blocks,
    outNorm: await get('out_norm.weight'),
    outputPatchEmbedding: await residual('output_patch_embedding'),
  };
}

/** In-memory tensors (e.g. from a browser fetch) as a source. */
export function tensorMapSource(tensors: ReadonlyMap<string, Tensor>, source = '<tensors>'): TiRexTensorSource {
  return {
    source,
    names: () => [...tensors.keys()],
    shape: (n) => tensors.get(n)!.shape,
    read: async (n) => tensors.get(n)!,
  };
}

export interface LoadedTiRexCheckpoint {
  config: TiRexConfig;
  weights: TiRexWeights;
  /** The file the weights came from. */
  source: string;
  format: 'ckpt' | 'safetensors';
}

export interface LoadTiRexCheckpointOptions {
  /** For a folder: which file to use. Default: model.safetensors when it and config.json exist, else model.ckpt. */
  format?: 'ckpt' | 'safetensors';
  /** JSON config for safetensors (default: config.json beside it). Object or path. */
  config?: unknown;
}

/**
 * Node: loads a TiRex model from a folder (model.ckpt, or model.safetensors + config.json),
 * a .ckpt file, or a .safetensors file (config.json beside it, or options.config).
 */
export async function loadTiRexCheckpoint(pathOrDir: string, opts: LoadTiRexCheckpointOptions = {}): Promise<LoadedTiRexCheckpoint> {
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const exists = async (p: string) => fs.stat(p).then(() => true, () => false);
  let st;
  try { st = await fs.stat(pathOrDir); } catch { throw new Error(`TiRex.fromPretrained: '${pathOrDir}' does not exist`); }
  let file = pathOrDir;
  let format: 'ckpt' | 'safetensors';
  if (st.isDirectory()) {
    const ckpt = pathMod.join(pathOrDir, 'model.ckpt');
    const sft = pathMod.join(pathOrDir, 'model.safetensors');
    const cfgJson = pathMod.join(pathOrDir, 'config.json');
    format = opts.format ?? ((await exists(sft)) && (opts.config !== undefined || (await exists(cfgJson))) ? 'safetensors' : 'ckpt');
    file = format === 'ckpt' ? ckpt : sft;
    if (!(await exists(file))) throw new Error(`TiRex.fromPretrained: folder '${pathOrDir}' has no ${format === 'ckpt' ? 'model.ckpt' : 'model.safetensors'}`);
  } else if (opts.format) format = opts.format;
  else if (pathOrDir.endsWith('.safetensors')) format = 'safetensors';
  else format = 'ckpt';

  if (format === 'ckpt') {
    const { TorchCheckpoint } = await import('../../io/torchCheckpoint.js');
    const { isPickleDict } = await import('../../io/pickle.js');
    const ck = await TorchCheckpoint.open(file);
    try {
      const obj = ck.object;
      if (!isPickleDict(obj) || !isPickleDict(obj['hyper_parameters']) || !isPickleDict(obj['state_dict'])) {
        throw new Error(`TiRex weights (${file}): expected a dict with 'state_dict' and 'hyper_parameters' (official TiRex model.ckpt)`);
      }
      const config = opts.config !== undefined ? await configFrom(opts.config, fs) : resolveTiRexConfig(obj['hyper_parameters'], `${file}: hyper_parameters`);
      const refs = ck.tensors('state_dict', { stripPrefix: LEGACY_PREFIX });
      const weights = await loadTiRexWeights(config, {
        source: file,
        names: () => [...refs.keys()],
        shape: (n) => refs.get(n)!.shape,
        read: (n) => ck.read(refs.get(n)!),
      });
      return { config, weights, source: file, format };
    } finally { await ck.close(); }
  }

  const cfgSrc = opts.config ?? pathMod.join(pathMod.dirname(file), 'config.json');
  if (typeof cfgSrc === 'string' && !(await exists(cfgSrc))) {
    throw new Error(`TiRex.fromPretrained: ${file} needs a JSON config (model_config, train_ctx_len); '${cfgSrc}' does not exist (pass options.config)`);
  }
  const config = await configFrom(cfgSrc, fs);
  const { SafetensorsFile } = await import('../../io/safetensorsFile.js');
  const sf = await SafetensorsFile.open(file);
  try {
    const weights = await loadTiRexWeights(config, {
      source: file,
      names: () => sf.names(),
      shape: (n) => sf.info(n).shape,
      read: (n) => sf.read(n),
    });
    return { config, weights, source: file, format };
  } finally { await sf.close(); }
}

async function configFrom(c: unknown, fs: typeof import('node:fs/promises')): Promise<TiRexConfig> {
  if (typeof c === 'string') {
    let json: unknown;
    try { json = JSON.parse(await fs.readFile(c, 'utf8')); } catch (e) { throw new ConfigError(`TiRex config '${c}': cannot read JSON (${(e as Error).message})`); }
    return resolveTiRexConfig(json, c);
  }
  return resolveTiRexConfig(c, 'options.config');
}
