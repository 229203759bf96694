// pLSTMVisionModel parameter names (the official state_dict) and shapes, from the config: one
// declarative table, read by the loader, the trainer (which creates Parameters from it) and
// the initialiser. Loading is strict like the official load_state_dict.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { ConfigError } from '../../errors.js';
import type { PlstmVisionConfig, PostUpBlockConfig } from './config.js';
import { layerWeightTable } from './layer2d.js';

function postUpTable(t: Map<string, number[]>, p: string, c: PostUpBlockConfig): void {
  const D = c.inputDim, I = c.innerDim;
  for (const n of ['norm', 'norm2']) {
    if (c.norm.scale) t.set(`${p}.${n}.scale`, [D]);
    if (c.norm.bias) t.set(`${p}.${n}.bias`, [D]);
  }
  for (const [name, shape] of layerWeightTable(c.interactionModule)) t.set(`${p}.interaction_module.${name}`, shape);
  t.set(`${p}.upproj.weight`, [I, D]);
  if (c.bias) t.set(`${p}.upproj.bias`, [I]);
  t.set(`${p}.downproj.weight`, [D, I]);
  if (c.bias) t.set(`${p}.downproj.bias`, [D]);
}

/** Every official tensor name with its shape under `cfg`. */
export function plstmVisionWeightTable(cfg: PlstmVisionConfig): Map<string, number[]> {
  const D = cfg.dim, P = cfg.patchSize;
  const t = new Map<string, number[]>();
  t.set('patch_embed.proj.weight', [D, cfg.numChannels, P, P]);
  t.set('patch_embed.proj.bias', [D]);
  if (cfg.usePosEmbed) t.set('pos_embed.embed', [1, cfg.seqlens[0], cfg.seqlens[1], D]);
  cfg.blocks.forEach((b, i) => {
    postUpTable(t, `block_stack.blocks.${i}.block0`, b.block0);
    postUpTable(t, `block_stack.blocks.${i}.block1`, b.block1);
  });
  if (cfg.norm.scale) t.set('norm.scale', [D]);
  if (cfg.norm.bias) t.set('norm.bias', [D]);
  t.set('head.weight', [cfg.numClasses, cfg.pooling === 'corners' ? 4 * D : D]);
  t.set('head.bias', [cfg.numClasses]);
  return t;
}

/** A source of named tensors (a safetensors file or a plain map). */
export interface NamedTensorSource {
  readonly source: string;
  names(): string[];
  shape(name: string): readonly number[];
  read(name: string): Tensor;
}

/** Checks `src` against a weight table (missing, unexpected, mis-shaped: errors naming the tensor) and reads every tensor as f32. */
export function loadByTable(table: ReadonlyMap<string, readonly number[]>, src: NamedTensorSource, what: string): Map<string, Tensor> {
  const have = new Set(src.names());
  const missing = [...table.keys()].filter((n) => !have.has(n));
  const unexpected = [...have].filter((n) => !table.has(n));
  if (missing.length || unexpected.length) {
    const list = (a: string[]) => a.slice(0, 6).join(', ') + (a.length > 6 ? `, ... (${a.length} in all)` : '');
    throw new ConfigError(`${what} weights (${src.source}): state_dict does not match the config`
      + (missing.length ? `; missing: ${list(missing)}` : '') + (unexpected.length ? `; unexpected: ${list(unexpected)}` : ''));
  }
  const out = new Map<string, Tensor>();
  for (const [name, want] of table) {
    const got = src.shape(name);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new ConfigError(`${what} weights (${src.source}): tensor '${name}' has shape ${shapeStr(got)}, expected ${shapeStr(want)} from the config: config and weights do not match`);
    }
    const v = src.read(name);
    out.set(name, v.dtype === 'f32' ? v : new Tensor('f32', v.shape, v.toFloat32()));
  }
  return out;
}
