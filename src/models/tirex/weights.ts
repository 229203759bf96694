// TiRex parameter names and shapes (the official TiRexZero state_dict), and loading them
// from the official model.ckpt (torch zip; legacy 'block_stack.' prefix stripped, as
// TiRexZero.on_load_checkpoint does) or from model.safetensors + a JSON config.
// Loading is strict like the official load_state_dict: missing, unexpected and
// mis-shaped tensors are errors that name the tensor and the file. The names live in one
// declarative table (tirexTable, format in ../weightTable.ts) that the loader, the trainable
// (src/train/tirexTrainable.ts) and the benches share.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { TiRexConfig, resolveTiRexConfig } from './config.js';
import { ConfigError } from '../../errors.js';
import type { DType } from '../../tensor/dtype.js';
import { FLOAT_DTYPES, TensorSource, WeightSpec, WeightTable, matchWeights, readWeightsF32, sourceInfo, tableShapes, tensorMapSource } from '../weightTable.js';

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
  /** The same tensors by official name (the weight table's names): what trainables and converters use. */
  tensors: ReadonlyMap<string, Tensor>;
}

/** Legacy prefix of block and out_norm keys in checkpoints written by the original Lightning module. */
export const LEGACY_PREFIX = 'block_stack.';

/**
 * The TiRex weight table (see ../weightTable.ts): every official tensor name with its shape
 * under `cfg`, in state_dict order. Roles (the trainable's init and decay rules key on them):
 * 'linear' (dense [out, in]), 'bias', 'norm' (RMSNorm weight, applied as w), 'groupNorm'
 * (applied as 1 + w), 'headwiseGate' ([NH, DH, DH]), 'recurrentKernel', 'slstmBias'
 * ([NH, 4, DH] head-major), 'downProj' (the FFN's output projection).
 */
export function tirexTable(cfg: TiRexConfig): WeightTable {
  const E = cfg.embeddingDim, NH = cfg.numHeads, DH = cfg.headDim, F = cfg.ffnDim, FF = cfg.inputFfDim;
  const inF = 2 * cfg.inputPatchSize; // values + mask
  const outF = cfg.quantiles.length * cfg.outputPatchSize;
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[], role: string) => specs.push({ name, shape, role, fanIn: shape.length === 2 ? shape[1] : shape[shape.length - 1] });
  const residual = (p: string, i: number, o: number) => specs.push(...residualBlockSpecs(p, i, FF, o));
  residual('input_patch_embedding', inF, E);
  for (let b = 0; b < cfg.numBlocks; b++) {
    const p = `blocks.${b}`;
    add(`${p}.norm_slstm.weight`, [E], 'norm');
    for (const g of ['fgate', 'igate', 'zgate', 'ogate']) add(`${p}.slstm_layer.${g}.weight`, [NH, DH, DH], 'headwiseGate');
    add(`${p}.slstm_layer.slstm_cell._recurrent_kernel_`, [NH, DH, 4 * DH], 'recurrentKernel');
    add(`${p}.slstm_layer.slstm_cell._bias_`, [4 * E], 'slstmBias');
    add(`${p}.slstm_layer.group_norm.weight`, [E], 'groupNorm');
    specs.push(...ffnSpecs(p, E, F));
  }
  add('out_norm.weight', [E], 'norm');
  residual('output_patch_embedding', E, outF);
  return { arch: 'TiRex', specs, legacyPrefixes: [LEGACY_PREFIX] };
}

/** The entries of a ResidualBlock `p` (in -> hidden -> out plus the residual projection; TiRex and TiRex-2), in module order. */
export function residualBlockSpecs(p: string, i: number, h: number, o: number): WeightSpec[] {
  const spec = (name: string, shape: number[], role: string): WeightSpec => ({ name: `${p}.${name}`, shape, role, fanIn: shape[shape.length - 1] });
  return [
    spec('hidden_layer.weight', [h, i], 'linear'), spec('hidden_layer.bias', [h], 'bias'),
    spec('output_layer.weight', [o, h], 'linear'), spec('output_layer.bias', [o], 'bias'),
    spec('residual_layer.weight', [o, i], 'linear'), spec('residual_layer.bias', [o], 'bias'),
  ];
}

/** The pre-norm SwiGLU FFN of an sLSTM / xLSTM block `p` (norm_ffn, ffn.proj_up_gate, proj_up, proj_down; TiRex and TiRex-2). */
export function ffnSpecs(p: string, E: number, F: number): WeightSpec[] {
  return [
    { name: `${p}.norm_ffn.weight`, shape: [E], role: 'norm', fanIn: E },
    { name: `${p}.ffn.proj_up_gate.weight`, shape: [F, E], role: 'linear', fanIn: E },
    { name: `${p}.ffn.proj_up.weight`, shape: [F, E], role: 'linear', fanIn: E },
    { name: `${p}.ffn.proj_down.weight`, shape: [E, F], role: 'downProj', fanIn: F },
  ];
}

/** Every official tensor name with its expected shape under `cfg` (the table's names and shapes). */
export function tirexWeightTable(cfg: TiRexConfig): Map<string, number[]> {
  return tableShapes(tirexTable(cfg));
}

/** A source of named tensors (shape known before reading; see ../weightTable.ts). */
export type TiRexTensorSource = TensorSource;

/**
 * Checks the source against the weight table (strict, like load_state_dict; legacy
 * 'block_stack.' names are accepted) and reads every tensor as f32, by official name.
 * Shape errors hint at a config that does not match the weights.
 */
export async function readTiRexTensors(cfg: TiRexConfig, src: TiRexTensorSource): Promise<Map<string, Tensor>> {
  const table = tirexTable(cfg);
  const m = await matchWeights(table, sourceInfo(src));
  const { missing, unexpected, misshaped, badDtype } = m.problems;
  if (missing.length || unexpected.length) {
    const list = (a: string[]) => a.slice(0, 6).join(', ') + (a.length > 6 ? `, ... (${a.length} in all)` : '');
    throw new Error(`TiRex weights (${src.source}): state_dict does not match the config (${cfg.numBlocks} blocks)`
      + (missing.length ? `; missing: ${list(missing.map((s) => s.name))}` : '') + (unexpected.length ? `; unexpected: ${list(unexpected)}` : ''));
  }
  if (misshaped.length) {
    const { spec, shape } = misshaped[0];
    throw new Error(`TiRex weights (${src.source}): tensor '${spec.name}' has shape ${shapeStr(shape)}, expected ${shapeStr(spec.shape)} from the config `
      + `(embedding_dim ${cfg.embeddingDim}, num_heads ${cfg.numHeads}, ffn dim ${cfg.ffnDim}, input_ff_dim ${cfg.inputFfDim}, `
      + `patch ${cfg.inputPatchSize}/${cfg.outputPatchSize}, ${cfg.quantiles.length} quantiles): config and weights do not match`);
  }
  if (badDtype.length) throw new Error(`TiRex weights (${src.source}): tensor '${badDtype[0].file}' has dtype ${badDtype[0].dtype}, expected a float format (${FLOAT_DTYPES.join(', ')})`);
  return readWeightsF32(m, (n) => src.read(n));
}

/** The structured weights of the inference model from f32 tensors by official name. */
export function tirexWeightsFromTensors(cfg: TiRexConfig, tensors: ReadonlyMap<string, Tensor>): TiRexWeights {
  const get = (name: string): Tensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`TiRex weights: tensor '${name}' is missing`);
    return t;
  };
  const residual = (p: string): TiRexResidualBlockWeights => ({
    hiddenWeight: get(`${p}.hidden_layer.weight`), hiddenBias: get(`${p}.hidden_layer.bias`),
    outputWeight: get(`${p}.output_layer.weight`), outputBias: get(`${p}.output_layer.bias`),
    residualWeight: get(`${p}.residual_layer.weight`), residualBias: get(`${p}.residual_layer.bias`),
  });
  const blocks: TiRexBlockWeights[] = [];
  for (let b = 0; b < cfg.numBlocks; b++) {
    const p = `blocks.${b}`;
    blocks.push({
      normSlstm: get(`${p}.norm_slstm.weight`),
      fgate: get(`${p}.slstm_layer.fgate.weight`),
      igate: get(`${p}.slstm_layer.igate.weight`),
      zgate: get(`${p}.slstm_layer.zgate.weight`),
      ogate: get(`${p}.slstm_layer.ogate.weight`),
      recurrentKernel: get(`${p}.slstm_layer.slstm_cell._recurrent_kernel_`),
      bias: get(`${p}.slstm_layer.slstm_cell._bias_`),
      groupNorm: get(`${p}.slstm_layer.group_norm.weight`),
      normFfn: get(`${p}.norm_ffn.weight`),
      projUpGate: get(`${p}.ffn.proj_up_gate.weight`),
      projUp: get(`${p}.ffn.proj_up.weight`),
      projDown: get(`${p}.ffn.proj_down.weight`),
    });
  }
  return {
    inputPatchEmbedding: residual('input_patch_embedding'),
    blocks,
    outNorm: get('out_norm.weight'),
    outputPatchEmbedding: residual('output_patch_embedding'),
    tensors,
  };
}

/**
 * Checks the source against the name table (strict, like load_state_dict) and reads every
 * tensor as f32. Shape errors hint at a config that does not match the weights.
 */
export async function loadTiRexWeights(cfg: TiRexConfig, src: TiRexTensorSource): Promise<TiRexWeights> {
  return tirexWeightsFromTensors(cfg, await readTiRexTensors(cfg, src));
}

export { tensorMapSource };

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
      dtype: (n) => sf.info(n).dtype,
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
