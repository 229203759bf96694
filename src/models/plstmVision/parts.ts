// Pieces shared by the pLSTM vision model and the ViT baseline, on the autograd tape (one
// definition for inference, with weights as plain inputs, and for training, with weights as
// Parameters): the patch embedding (a Conv2d with kernel = stride = patch, i.e. a Linear over
// flattened patches), the learned 2D position embedding with PyTorch's bicubic resampling for
// other grids, and the poolings. Norms, linear layers and MLPs come from src/blocks.
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { InputError } from '../../errors.js';
import { shapeStr } from '../../tensor/dtype.js';
import { linear } from '../../blocks/basic.js';

/**
 * VitPatchEmbed: pixels [B, C, H, W] (or [B, H, W, C] when !channelsFirst) -> [B, H/P, W/P, dim].
 * proj.weight [dim, C, P, P] flattened in (C, kh, kw) order matches the patch rows built here.
 */
export function patchEmbed(t: Tape, pixels: Var, w: Var, b: Var, o: { patchSize: number; numChannels: number; channelsFirst: boolean }): Var {
  const P = o.patchSize;
  if (pixels.shape.length !== 4) throw new InputError(`pixels: expected [B, C, H, W], got ${shapeStr(pixels.shape)}`);
  const x = o.channelsFirst ? pixels : ag.permute(t, pixels, [0, 3, 1, 2]);
  const [B, C, H, W] = x.shape;
  if (C !== o.numChannels) throw new InputError(`pixels: expected ${o.numChannels} channels, got ${C} (shape ${shapeStr(pixels.shape)})`);
  if (H % P !== 0 || W % P !== 0) throw new InputError(`pixels: height ${H} and width ${W} must be multiples of the patch size ${P}`);
  const h = H / P, wd = W / P, dim = w.shape[0];
  const patches = ag.reshape(t, ag.permute(t, ag.reshape(t, x, [B, C, h, P, wd, P]), [0, 2, 4, 1, 3, 5]), [B * h * wd, C * P * P]);
  const y = linear(t, patches, { weight: ag.reshape(t, w, [dim, C * P * P]), bias: b });
  return ag.reshape(t, y, [B, h, wd, dim]);
}

/** PyTorch's cubic convolution weights (A = -0.75) of the 4 taps around t in [0, 1). */
function cubicWeights(tt: number): [number, number, number, number] {
  const A = -0.75;
  const c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [c2(tt + 1), c1(tt), c1(1 - tt), c2(2 - tt)];
}

/**
 * The [outN, inN] matrix of 1-D bicubic resampling as F.interpolate(mode='bicubic',
 * align_corners=False) with an output size: source = (i + 0.5) * in/out - 0.5 (not clamped),
 * taps clamped to the border.
 */
export function bicubicMatrix(inN: number, outN: number): Float64Array {
  const m = new Float64Array(outN * inN);
  const scale = inN / outN;
  for (let i = 0; i < outN; i++) {
    const src = scale * (i + 0.5) - 0.5;
    const i0 = Math.floor(src);
    const wts = cubicWeights(src - i0);
    for (let k = 0; k < 4; k++) {
      const j = Math.min(Math.max(i0 - 1 + k, 0), inN - 1);
      m[i * inN + j] += wts[k];
    }
  }
  return m;
}

/**
 * VitPosEmbed2d: x [B, h, w, dim] + embed [1, h0, w0, dim], resampled bicubically to (h, w) when
 * the grid differs (the resampling is a fixed linear map, so the gradient flows into embed).
 * Returns the sum and the embedding used ([h, w, dim]).
 */
export function addPosEmbed(t: Tape, x: Var, embed: Var, allowInterpolation: boolean): { out: Var; used: Var } {
  const [, h, w, dim] = x.shape;
  const [, h0, w0] = embed.shape;
  let used: Var;
  if (h === h0 && w === w0) used = ag.reshape(t, embed, [h, w, dim]);
  else {
    if (!allowInterpolation) throw new InputError(`pixels: the patch grid ${h}x${w} differs from the position embedding's ${h0}x${w0} and pos_embed.allow_interpolation is false`);
    const my = bicubicMatrix(h0, h), mx = bicubicMatrix(w0, w);
    // kron(my, mx): [h*w, h0*w0]
    const k = new Float64Array(h * w * h0 * w0);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let a = 0; a < h0; a++) {
      const wy = my[i * h0 + a];
      if (wy === 0) continue;
      for (let b = 0; b < w0; b++) k[((i * w + j) * h0 + a) * w0 + b] = wy * mx[j * w0 + b];
    }
    const kron = t.input(t.tensor([h * w, h0 * w0], k));
    used = ag.reshape(t, ag.matmul(t, kron, ag.reshape(t, embed, [h0 * w0, dim])), [h, w, dim]);
  }
  return { out: ag.add(t, x, used), used };
}

export type Pooling = 'corners' | 'mean' | 'sum' | 'center';

/**
 * Pooling of p [B, h, w, dim]: 'corners' = concat(p[:,0,0], p[:,-1,0], p[:,0,-1], p[:,-1,-1])
 * [B, 4 dim]; 'mean'/'sum' over the grid; 'center' = p[:, s0//2, s1//2] with the CONFIG grid
 * (s0, s1), as the official model (at other resolutions that patch is off centre).
 */
export function pool(t: Tape, p: Var, kind: Pooling, configSeqlens: readonly [number, number]): Var {
  const [B, h, w, dim] = p.shape;
  const at = (i: number, j: number) => ag.reshape(t, ag.slice(t, ag.slice(t, p, 1, i, i + 1), 2, j, j + 1), [B, dim]);
  if (kind === 'corners') return ag.concat(t, [at(0, 0), at(h - 1, 0), at(0, w - 1), at(h - 1, w - 1)], 1);
  if (kind === 'center') {
    const i = Math.floor(configSeqlens[0] / 2), j = Math.floor(configSeqlens[1] / 2);
    if (i >= h || j >= w) throw new InputError(`center pooling: patch (${i}, ${j}) of the config grid is outside the ${h}x${w} grid of this image`);
    return at(i, j);
  }
  const s = ag.sumLast(t, ag.permute(t, ag.reshape(t, p, [B, h * w, dim]), [0, 2, 1]));
  return kind === 'sum' ? s : ag.scale(t, s, 1 / (h * w));
}
