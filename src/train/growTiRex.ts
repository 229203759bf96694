// Function-preserving depth growth of a TiRex (Net2Net-style "deeper" operator, Chen et al.
// 2016): a model with more sLSTM blocks whose first blocks, patch embeddings and output norm
// are the trained model's, and whose new blocks (appended after the old ones) start as the
// identity. A block adds x + sLSTM(norm(x)) and then x + FFN(norm(x)); the sLSTM branch ends in
// a group norm with a learnable scale (applied as 1 + w, so w = -1 is scale 0) and the FFN in
// proj_down, so zero group-norm scales and a zero proj_down make both branches output 0. Training then starts from the smaller
// model's function instead of from scratch (their gradients are not zero: the loss depends on
// those weights linearly, so they move in the first step).
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { TiRexTrainable } from './tirexTrainable.js';
import { ArgumentError } from '../errors.js';
import type { TiRexHyperParametersJson } from '../models/tirex/config.js';

export interface GrowTiRexOptions {
  /** Blocks of the grown model (> the source's). */
  numBlocks: number;
  /** train_ctx_len of the grown model (default: the source's); a multiple of the patch size. */
  contextLength?: number;
  /** Seed of the new blocks' other weights (default 0). */
  seed?: number;
}

/** The grown model (same backend); the source is not changed. */
export function growTiRex(be: WasmBackend, source: TiRexTrainable, o: GrowTiRexOptions): TiRexTrainable {
  const hp = source.hyperParameters;
  const old = hp.model_config.block_kwargs.num_blocks;
  if (!Number.isInteger(o.numBlocks) || o.numBlocks <= old) throw new ArgumentError(`growTiRex: numBlocks must be an integer > the source's ${old} blocks, got ${o.numBlocks}`);
  const ctx = o.contextLength ?? hp.train_ctx_len;
  const P = hp.model_config.input_patch_size;
  if (!Number.isInteger(ctx) || ctx < P || ctx % P) throw new ArgumentError(`growTiRex: contextLength must be a positive multiple of the patch size ${P}, got ${ctx}`);
  const grownHp: TiRexHyperParametersJson = { ...hp, model_config: { ...hp.model_config, block_kwargs: { ...hp.model_config.block_kwargs, num_blocks: o.numBlocks } }, train_ctx_len: ctx };
  const fresh = TiRexTrainable.create(be, grownHp, { seed: o.seed ?? 0 });
  const tensors = fresh.tensors();
  for (const [name, t] of source.tensors()) tensors.set(name, t);
  for (let b = old; b < o.numBlocks; b++) {
    for (const [name, value] of [[`blocks.${b}.slstm_layer.group_norm.weight`, -1], [`blocks.${b}.ffn.proj_down.weight`, 0]] as const) {
      const t = tensors.get(name);
      if (!t) throw new Error(`growTiRex: the fresh model has no tensor '${name}'`);
      tensors.set(name, new Tensor('f32', t.shape, new Float32Array(t.size).fill(value)));
    }
  }
  return TiRexTrainable.fromTensors(be, grownHp, tensors);
}
