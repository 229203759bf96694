// A small ViT-style classifier: the baseline of the arrow-pointing extrapolation runs. It shares
// the pLSTM vision model's patch embedding, bicubically resampled position embedding, final
// RMSNorm, pooling and head (parts.ts); only the blocks differ: pre-norm multi-head softmax
// self-attention over all patches + an MLP (GELU), both residual. Written once on the tape,
// like the pLSTM model (inference with plain inputs, training with Parameters).
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { ConfigError } from '../../errors.js';
import { WeightVars, weight, patchEmbed, addPosEmbed, pool, rmsNormVar, Pooling } from './parts.js';

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

/** Parameter names (timm-style) and shapes. */
export function vitWeightTable(c: VitVisionConfig): Map<string, number[]> {
  const D = c.dim, P = c.patchSize, I = c.mlpRatio * D;
  const t = new Map<string, number[]>();
  t.set('patch_embed.proj.weight', [D, c.numChannels, P, P]);
  t.set('patch_embed.proj.bias', [D]);
  t.set('pos_embed.embed', [1, c.resolution[0] / P, c.resolution[1] / P, D]);
  for (let i = 0; i < c.numBlocks; i++) {
    const p = `blocks.${i}`;
    t.set(`${p}.norm1.scale`, [D]);
    t.set(`${p}.attn.qkv.weight`, [3 * D, D]); t.set(`${p}.attn.qkv.bias`, [3 * D]);
    t.set(`${p}.attn.proj.weight`, [D, D]); t.set(`${p}.attn.proj.bias`, [D]);
    t.set(`${p}.norm2.scale`, [D]);
    t.set(`${p}.mlp.fc1.weight`, [I, D]); t.set(`${p}.mlp.fc1.bias`, [I]);
    t.set(`${p}.mlp.fc2.weight`, [D, I]); t.set(`${p}.mlp.fc2.bias`, [D]);
  }
  t.set('norm.scale', [D]);
  t.set('head.weight', [c.numClasses, c.pooling === 'corners' ? 4 * D : D]);
  t.set('head.bias', [c.numClasses]);
  return t;
}

/** Softmax self-attention over the N patches: x [B, N, D] -> [B, N, D]. */
function attention(t: Tape, c: VitVisionConfig, w: WeightVars, p: string, x: Var): Var {
  const [B, N, D] = x.shape;
  const H = c.numHeads, dh = D / H;
  const qkv = ag.linear(t, x, weight(w, `${p}.qkv.weight`), weight(w, `${p}.qkv.bias`)); // [B, N, 3D]
  // [B, N, 3, H, dh] -> [3, B, H, N, dh]
  const parts = ag.permute(t, ag.reshape(t, qkv, [B, N, 3, H, dh]), [2, 0, 3, 1, 4]);
  const head = (k: number) => ag.reshape(t, ag.slice(t, parts, 0, k, k + 1), [B * H, N, dh]);
  const q = head(0), kk = head(1), v = head(2);
  const att = ag.softmax(t, ag.scale(t, ag.matmul(t, q, kk, { transB: true }), 1 / Math.sqrt(dh))); // [B*H, N, N]
  const o = ag.permute(t, ag.reshape(t, ag.matmul(t, att, v), [B, H, N, dh]), [0, 2, 1, 3]); // [B, N, H, dh]
  return ag.linear(t, ag.reshape(t, o, [B, N, D]), weight(w, `${p}.proj.weight`), weight(w, `${p}.proj.bias`));
}

/** logits [B, numClasses] of pixels [B, C, H, W]; any H, W divisible by the patch size. */
export function vitVisionForward(t: Tape, c: VitVisionConfig, w: WeightVars, pixels: Var): Var {
  let x = patchEmbed(t, pixels, weight(w, 'patch_embed.proj.weight'), weight(w, 'patch_embed.proj.bias'), { patchSize: c.patchSize, numChannels: c.numChannels, channelsFirst: true });
  x = addPosEmbed(t, x, weight(w, 'pos_embed.embed'), true).out;
  const [B, h, wd, D] = x.shape;
  let s = ag.reshape(t, x, [B, h * wd, D]);
  for (let i = 0; i < c.numBlocks; i++) {
    const p = `blocks.${i}`;
    s = ag.add(t, s, attention(t, c, w, `${p}.attn`, rmsNormVar(t, s, c.eps, weight(w, `${p}.norm1.scale`), undefined)));
    const n2 = rmsNormVar(t, s, c.eps, weight(w, `${p}.norm2.scale`), undefined);
    const m = ag.linear(t, ag.gelu(t, ag.linear(t, n2, weight(w, `${p}.mlp.fc1.weight`), weight(w, `${p}.mlp.fc1.bias`))), weight(w, `${p}.mlp.fc2.weight`), weight(w, `${p}.mlp.fc2.bias`));
    s = ag.add(t, s, m);
  }
  const n = rmsNormVar(t, ag.reshape(t, s, [B, h, wd, D]), c.eps, weight(w, 'norm.scale'), undefined);
  return ag.linear(t, pool(t, n, c.pooling, [c.resolution[0] / c.patchSize, c.resolution[1] / c.patchSize]), weight(w, 'head.weight'), weight(w, 'head.bias'));
}
