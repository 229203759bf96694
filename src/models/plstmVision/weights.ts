// pLSTMVisionModel parameter names (the official state_dict) and shapes, from the config: one
// declarative table (format in ../weightTable.ts), read by the loader, the trainer (which
// creates Parameters from it) and the initialiser (model.ts, keyed on the roles). The ViT
// baseline's table (vit.ts) has the same format. Loading is strict like the official
// load_state_dict.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { ConfigError } from '../../errors.js';
import type { PlstmVisionConfig, PostUpBlockConfig } from './config.js';
import { layerSpecs } from './layer2d.js';
import { FLOAT_DTYPES, TensorSource, WeightSpec, WeightTable, matchTensorInfos, tableShapes } from '../weightTable.js';

/**
 * Entries of the tables of both vision models. Roles: 'linear' (projections, SmallInit with
 * `fanIn`), 'bias', 'norm' (RMSNorm scale), 'posEmbed', 'head' (classifier, zero-init), and
 * the pLSTM layer's roles (layer2d.ts).
 */
export function visionSpec(name: string, shape: number[], role: string, fanIn = shape[shape.length - 1]): WeightSpec {
  return { name, shape, role, fanIn };
}

/** VitPatchEmbed (a Conv2d with kernel = stride = patch: fan_in C P P) and the position embedding. */
export function embedSpecs(dim: number, channels: number, patch: number, grid: readonly [number, number] | null): WeightSpec[] {
  const out = [
    visionSpec('patch_embed.proj.weight', [dim, channels, patch, patch], 'linear', channels * patch * patch),
    visionSpec('patch_embed.proj.bias', [dim], 'bias'),
  ];
  if (grid) out.push(visionSpec('pos_embed.embed', [1, grid[0], grid[1], dim], 'posEmbed'));
  return out;
}

/** The final RMSNorm (its scale and bias as configured) and the classifier head (corners pooling: 4 dim features). */
export function tailSpecs(dim: number, norm: { scale: boolean; bias: boolean }, numClasses: number, pooling: string): WeightSpec[] {
  const out: WeightSpec[] = [];
  if (norm.scale) out.push(visionSpec('norm.scale', [dim], 'norm'));
  if (norm.bias) out.push(visionSpec('norm.bias', [dim], 'bias'));
  out.push(visionSpec('head.weight', [numClasses, pooling === 'corners' ? 4 * dim : dim], 'head'));
  out.push(visionSpec('head.bias', [numClasses], 'head'));
  return out;
}

function postUpSpecs(specs: WeightSpec[], p: string, c: PostUpBlockConfig): void {
  const D = c.inputDim, I = c.innerDim;
  for (const n of ['norm', 'norm2']) {
    if (c.norm.scale) specs.push(visionSpec(`${p}.${n}.scale`, [D], 'norm'));
    if (c.norm.bias) specs.push(visionSpec(`${p}.${n}.bias`, [D], 'bias'));
  }
  specs.push(...layerSpecs(c.interactionModule, `${p}.interaction_module.`));
  specs.push(visionSpec(`${p}.upproj.weight`, [I, D], 'linear'));
  if (c.bias) specs.push(visionSpec(`${p}.upproj.bias`, [I], 'bias'));
  specs.push(visionSpec(`${p}.downproj.weight`, [D, I], 'linear'));
  if (c.bias) specs.push(visionSpec(`${p}.downproj.bias`, [D], 'bias'));
}

/** The pLSTMVisionModel weight table under `cfg`, in state_dict order. */
export function plstmVisionTable(cfg: PlstmVisionConfig): WeightTable {
  const D = cfg.dim;
  const specs = embedSpecs(D, cfg.numChannels, cfg.patchSize, cfg.usePosEmbed ? cfg.seqlens : null);
  cfg.blocks.forEach((b, i) => {
    postUpSpecs(specs, `block_stack.blocks.${i}.block0`, b.block0);
    postUpSpecs(specs, `block_stack.blocks.${i}.block1`, b.block1);
  });
  specs.push(...tailSpecs(D, cfg.norm, cfg.numClasses, cfg.pooling));
  return { arch: 'pLSTMVisionModel', specs };
}

/** Every official tensor name with its shape under `cfg` (a view of plstmVisionTable). */
export function plstmVisionWeightTable(cfg: PlstmVisionConfig): Map<string, number[]> {
  return tableShapes(plstmVisionTable(cfg));
}

/** A source of named tensors read synchronously (a parsed safetensors file or a plain map). */
export type NamedTensorSource = TensorSource<Tensor>;

/** Checks `src` against a weight table (missing, unexpected, mis-shaped: errors naming the tensor) and reads every tensor as f32. */
export function loadByTable(table: WeightTable, src: NamedTensorSource, what: string): Map<string, Tensor> {
  const m = matchTensorInfos(table, new Map(src.names().map((n) => [n, { shape: src.shape(n), dtype: src.dtype?.(n) ?? 'f32' }])));
  const { missing, unexpected, misshaped, badDtype } = m.problems;
  if (missing.length || unexpected.length) {
    const list = (a: string[]) => a.slice(0, 6).join(', ') + (a.length > 6 ? `, ... (${a.length} in all)` : '');
    throw new ConfigError(`${what} weights (${src.source}): state_dict does not match the config`
      + (missing.length ? `; missing: ${list(missing.map((s) => s.name))}` : '') + (unexpected.length ? `; unexpected: ${list(unexpected)}` : ''));
  }
  if (misshaped.length) {
    const { file, spec, shape } = misshaped[0];
    throw new ConfigError(`${what} weights (${src.source}): tensor '${file}' has shape ${shapeStr(shape)}, expected ${shapeStr(spec.shape)} from the config: config and weights do not match`);
  }
  if (badDtype.length) throw new ConfigError(`${what} weights (${src.source}): tensor '${badDtype[0].file}' has dtype ${badDtype[0].dtype}, expected a float format (${FLOAT_DTYPES.join(', ')})`);
  const out = new Map<string, Tensor>();
  for (const [name, { file }] of m.matches) {
    const v = src.read(file);
    out.set(name, v.dtype === 'f32' ? v : new Tensor('f32', v.shape, v.toFloat32()));
  }
  return out;
}
