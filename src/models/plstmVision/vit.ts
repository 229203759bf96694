// A small ViT-style classifier: the baseline of the arrow-pointing extrapolation runs. It shares
// the pLSTM vision model's patch embedding, bicubically resampled position embedding and
// pooling (parts.ts), its weight-table entries (weights.ts) and the norms, linear layers and
// MLP of src/blocks; only the blocks differ: pre-norm multi-head softmax self-attention over
// all patches + an MLP (GELU), both residual. Written once on the tape, like the pLSTM model
// (inference with plain inputs, training with Parameters).
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { ConfigError } from '../../errors.js';
import { patchEmbed, addPosEmbed, pool, Pooling } from './parts.js';
import { WeightLookup, WeightSource, weightLookup, need, linear, rmsNorm, mlp } from '../../blocks/basic.js';
import { WeightSpec, WeightTable, tableShapes } from '../weightTable.js';
import { embedSpecs, tailSpecs, visionSpec } from './weights.js';

/** The baseline's config (config.json of a saved baseline, `model_type: 'vit-vision'`). */
export interface VitVisionConfig {
  dim: number;
  numHeads: number;
  patchSize: number;
  numBlocks: number;
  numClasses: number;
  numChannels: number;
  resolution: [number, number];
  mlpRatio: number;
  pooling: Pooling;
  eps: number;
}

export function vitConfigFromJson(o: unknown, source = 'vit-vision config'): VitVisionConfig {
  if (!o || typeof o !== 'object') throw new ConfigError(`${source}: expected an object`);
  const j = o as Record<string, unknown>;
  const known = ['model_type', 'dim', 'num_heads', 'patch_size', 'num_blocks', 'num_classes', 'num_channels', 'resolution', 'mlp_ratio', 'pooling', 'eps'];
  for (const k of Object.keys(j)) if (!known.includes(k)) throw new ConfigError(`${source}: unknown key '${k}' (known: ${known.join(', ')})`);
  if (j.model_type !== undefined && j.model_type !== 'vit-vision') throw new ConfigError(`${source}.model_type: expected 'vit-vision', got ${JSON.stringify(j.model_type)}`);
  const int = (k: string, d?: number) => {
    const v = j[k] ?? d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${source}.${k}: expected a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const res = j.resolution;
  if (!Array.isArray(res) || res.length !== 2 || res.some((r) => !Number.isInteger(r) || r < 1)) throw new ConfigError(`${source}.resolution: expected two positive integers, got ${JSON.stringify(res)}`);
  const c: VitVisionConfig = {
    dim: int('dim'), numHeads: int('num_heads'), patchSize: int('patch_size'), numBlocks: int('num_blocks'), numClasses: int('num_classes'),
    numChannels: int('num_channels', 3), resolution: [res[0], res[1]], mlpRatio: int('mlp_ratio', 4),
    pooling: (j.pooling ?? 'mean') as Pooling, eps: typeof j.eps === 'number' ? j.eps : 1e-5,
  };
  if (c.dim % c.numHeads) throw new ConfigError(`${source}.dim ${c.dim} must be divisible by num_heads ${c.numHeads}`);
  if (c.resolution.some((r) => r % c.patchSize)) throw new ConfigError(`${source}.resolution ${JSON.stringify(c.resolution)} must be divisible by patch_size ${c.patchSize}`);
  if (!['corners', 'mean', 'sum', 'center'].includes(c.pooling)) throw new ConfigError(`${source}.pooling: expected corners, mean, sum or center, got ${JSON.stringify(j.pooling)}`);
  return c;
}

export function vitConfigToJson(c: VitVisionConfig): Record<string, unknown> {
  return {
    model_type: 'vit-vision', dim: c.dim, num_heads: c.numHeads, patch_size: c.patchSize, num_blocks: c.numBlocks, num_classes: c.numClasses,
    num_channels: c.numChannels, resolution: [...c.resolution], mlp_ratio: c.mlpRatio, pooling: c.pooling, eps: c.eps,
  };
}

/** The baseline's weight table (timm-style names), in the order the model creates them. */
export function vitTable(c: VitVisionConfig): WeightTable {
  const D = c.dim, P = c.patchSize, I = c.mlpRatio * D;
  const specs: WeightSpec[] = embedSpecs(D, c.numChannels, P, [c.resolution[0] / P, c.resolution[1] / P]);
  const lin = (p: string, o: number, i: number) => specs.push(visionSpec(`${p}.weight`, [o, i], 'linear'), visionSpec(`${p}.bias`, [o], 'bias'));
  for (let i = 0; i < c.numBlocks; i++) {
    const p = `blocks.${i}`;
    specs.push(visionSpec(`${p}.norm1.scale`, [D], 'norm'));
    lin(`${p}.attn.qkv`, 3 * D, D);
    lin(`${p}.attn.proj`, D, D);
    specs.push(visionSpec(`${p}.norm2.scale`, [D], 'norm'));
    lin(`${p}.mlp.fc1`, I, D);
    lin(`${p}.mlp.fc2`, D, I);
  }
  specs.push(...tailSpecs(D, { scale: true, bias: false }, c.numClasses, c.pooling));
  return { arch: 'vit-vision', specs };
}

/** Parameter names and shapes (a view of vitTable). */
export function vitWeightTable(c: VitVisionConfig): Map<string, number[]> {
  return tableShapes(vitTable(c));
}

const lin = (W: WeightLookup, p: string) => ({ weight: need(W, `${p}.weight`), bias: need(W, `${p}.bias`) });
const scaleNorm = (t: Tape, W: WeightLookup, c: VitVisionConfig, name: string, x: Var) => rmsNorm(t, x, { weight: need(W, name) }, c.eps);

/** Softmax self-attention over the N patches: x [B, N, D] -> [B, N, D]. */
function attention(t: Tape, c: VitVisionConfig, W: WeightLookup, p: string, x: Var): Var {
  const [B, N, D] = x.shape;
  const H = c.numHeads, dh = D / H;
  const qkv = linear(t, x, lin(W, `${p}.qkv`)); // [B, N, 3D]
  // [B, N, 3, H, dh] -> [3, B, H, N, dh]
  const parts = ag.permute(t, ag.reshape(t, qkv, [B, N, 3, H, dh]), [2, 0, 3, 1, 4]);
  const head = (k: number) => ag.reshape(t, ag.slice(t, parts, 0, k, k + 1), [B * H, N, dh]);
  const q = head(0), kk = head(1), v = head(2);
  const att = ag.softmax(t, ag.scale(t, ag.matmul(t, q, kk, { transB: true }), 1 / Math.sqrt(dh))); // [B*H, N, N]
  const o = ag.permute(t, ag.reshape(t, ag.matmul(t, att, v), [B, H, N, dh]), [0, 2, 1, 3]); // [B, N, H, dh]
  return linear(t, ag.reshape(t, o, [B, N, D]), lin(W, `${p}.proj`));
}

/** logits [B, numClasses] of pixels [B, C, H, W]; any H, W divisible by the patch size. */
export function vitVisionForward(t: Tape, c: VitVisionConfig, w: WeightSource, pixels: Var): Var {
  const W = weightLookup(w);
  let x = patchEmbed(t, pixels, need(W, 'patch_embed.proj.weight'), need(W, 'patch_embed.proj.bias'), { patchSize: c.patchSize, numChannels: c.numChannels, channelsFirst: true });
  x = addPosEmbed(t, x, need(W, 'pos_embed.embed'), true).out;
  const [B, h, wd, D] = x.shape;
  let s = ag.reshape(t, x, [B, h * wd, D]);
  for (let i = 0; i < c.numBlocks; i++) {
    const p = `blocks.${i}`;
    s = ag.add(t, s, attention(t, c, W, `${p}.attn`, scaleNorm(t, W, c, `${p}.norm1.scale`, s)));
    s = ag.add(t, s, mlp(t, scaleNorm(t, W, c, `${p}.norm2.scale`, s), { up: lin(W, `${p}.mlp.fc1`), down: lin(W, `${p}.mlp.fc2`) }, 'gelu'));
  }
  const n = scaleNorm(t, W, c, 'norm.scale', ag.reshape(t, s, [B, h, wd, D]));
  return linear(t, pool(t, n, c.pooling, [c.resolution[0] / c.patchSize, c.resolution[1] / c.patchSize]), lin(W, 'head'));
}
