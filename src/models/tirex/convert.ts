// Node: converts the official TiRex model.ckpt (a PyTorch Lightning torch.save zip) into the
// portable form TiRex.fromPretrained / loadTiRexCheckpoint read anywhere: model.safetensors
// (official tensor names, no 'block_stack.' prefix) + config.json ({model_config, train_ctx_len}).
// The state_dict is checked against the hyper-parameters exactly as loading is, so a file that
// converts also loads.
import { Tensor } from '../../tensor/tensor.js';
import { resolveTiRexConfig, TiRexConfig } from './config.js';
import { LEGACY_PREFIX, loadTiRexWeights } from './weights.js';

export interface ConvertTiRexOptions {
  /** Store the f32 weights as bf16 or f16 (smaller; forecasts change slightly). Default: f32 as shipped. */
  storeAs?: 'f32' | 'bf16' | 'f16';
  /** Replace existing model.safetensors / config.json in outDir (default false: an error). */
  overwrite?: boolean;
}

export interface ConvertTiRexResult {
  safetensorsPath: string;
  configPath: string;
  config: TiRexConfig;
  tensors: number;
  parameters: number;
  bytes: number;
}

// hyper-parameters as plain JSON (the pickle holds dicts, lists, tuples, numbers, strings)
function toJson(v: unknown, path: string): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`convertTiRexCheckpoint: hyper_parameters.${path} is ${v}, which JSON cannot hold`);
    return v;
  }
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, `${path}[${i}]`));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const j = toJsonOrSkip(x, `${path}.${k}`);
      if (j !== SKIP) out[k] = j;
    }
    return out;
  }
  return SKIP;
}
const SKIP = Symbol('skip');
function toJsonOrSkip(v: unknown, path: string): unknown {
  try { return toJson(v, path); } catch { return SKIP; }
}

/**
 * Reads `ckptPath` (official TiRex model.ckpt), validates it, and writes
 * `outDir`/model.safetensors and `outDir`/config.json (the folder then loads with
 * TiRex.fromPretrained(outDir)). The safetensors metadata records the source and format.
 */
export async function convertTiRexCheckpoint(ckptPath: string, outDir: string, opts: ConvertTiRexOptions = {}): Promise<ConvertTiRexResult> {
  if (typeof ckptPath !== 'string' || !ckptPath) throw new Error(`convertTiRexCheckpoint: ckptPath must be a path to model.ckpt, got ${JSON.stringify(ckptPath)}`);
  if (typeof outDir !== 'string' || !outDir) throw new Error(`convertTiRexCheckpoint: outDir must be a folder path, got ${JSON.stringify(outDir)}`);
  const storeAs = opts.storeAs ?? 'f32';
  if (storeAs !== 'f32' && storeAs !== 'bf16' && storeAs !== 'f16') throw new Error(`convertTiRexCheckpoint: storeAs must be 'f32', 'bf16' or 'f16', got ${JSON.stringify(storeAs)}`);
  const fs = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const { TorchCheckpoint } = await import('../../io/torchCheckpoint.js');
  const { isPickleDict } = await import('../../io/pickle.js');
  const { writeSafetensorsFile } = await import('../../io/safetensorsWrite.js');
  const st = await fs.stat(ckptPath).catch(() => null);
  if (!st || !st.isFile()) throw new Error(`convertTiRexCheckpoint: checkpoint '${ckptPath}' does not exist or is not a file`);
  const safetensorsPath = pathMod.join(outDir, 'model.safetensors');
  const configPath = pathMod.join(outDir, 'config.json');
  if (!opts.overwrite) {
    for (const p of [safetensorsPath, configPath]) {
      if (await fs.stat(p).then(() => true, () => false)) throw new Error(`convertTiRexCheckpoint: '${p}' exists (pass overwrite to replace it)`);
    }
  }
  const ck = await TorchCheckpoint.open(ckptPath);
  let hp: Record<string, unknown>;
  let config: TiRexConfig;
  const tensors = new Map<string, Tensor>();
  try {
    const obj = ck.object;
    if (!isPickleDict(obj) || !isPickleDict(obj['hyper_parameters']) || !isPickleDict(obj['state_dict'])) {
      throw new Error(`convertTiRexCheckpoint (${ckptPath}): expected a dict with 'state_dict' and 'hyper_parameters' (official TiRex model.ckpt)`);
    }
    config = resolveTiRexConfig(obj['hyper_parameters'], `${ckptPath}: hyper_parameters`);
    const raw = toJson(obj['hyper_parameters'], 'hyper_parameters') as Record<string, unknown>;
    // only what the loader reads: Lightning adds unrelated training keys
    hp = { model_config: raw.model_config, train_ctx_len: raw.train_ctx_len };
    const refs = ck.tensors('state_dict', { stripPrefix: LEGACY_PREFIX });
    // loadTiRexWeights does the strict name/shape check; the tensors it reads are kept as stored
    await loadTiRexWeights(config, {
      source: ckptPath,
      names: () => [...refs.keys()],
      shape: (n) => refs.get(n)!.shape,
      read: async (n) => { const t = await ck.read(refs.get(n)!); tensors.set(n, t); return t; },
    });
  } finally { await ck.close(); }
  await fs.mkdir(outDir, { recursive: true });
  const sorted = new Map([...tensors.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  const bytes = await writeSafetensorsFile(safetensorsPath, sorted, { format: 'pt', source: 'NX-AI TiRex model.ckpt', converted_by: 'xlstm-ts convertTiRexCheckpoint' },
    storeAs === 'f32' ? {} : { storeF32As: storeAs });
  await fs.writeFile(configPath, JSON.stringify(hp, null, 2) + '\n');
  let parameters = 0;
  for (const t of tensors.values()) parameters += t.size;
  return { safetensorsPath, configPath, config, tensors: tensors.size, parameters, bytes };
}
