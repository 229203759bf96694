// Arrow-pointing images as model inputs: pixels [B, C, H, W] in [0, 1] (1 = white, as the
// official uint8 / 255), the one rendered channel copied to C channels, and labels 0/1. The
// training stream walks the dataset indices in order (index = step * B + b, wrapping at
// nSamples), so its state is one number and a resumed run sees the same batches.
import { ArrowPointingConfig, arrowPointingSample, renderArrowPointing, arrowPointingBaseSeed } from './arrowPointing.js';

export interface ImageBatch { pixels: Float32Array; shape: [number, number, number, number]; labels: number[] }

/** The samples `indices` of the dataset `cfg` as an image batch with `channels` channels. */
export function arrowPointingImages(cfg: ArrowPointingConfig, indices: readonly number[], channels: number, baseSeed = arrowPointingBaseSeed(cfg.seed)): ImageBatch {
  const [H, W] = cfg.imageSize, HW = H * W, B = indices.length;
  const pixels = new Float32Array(B * channels * HW);
  const labels: number[] = [];
  indices.forEach((idx, b) => {
    const s = arrowPointingSample(cfg, idx, baseSeed);
    const img = renderArrowPointing(cfg, s);
    for (let ch = 0; ch < channels; ch++) {
      const off = (b * channels + ch) * HW;
      for (let p = 0; p < HW; p++) pixels[off + p] = img[p] / 255;
    }
    labels.push(s.label);
  });
  return { pixels, shape: [B, channels, H, W], labels };
}

/** A resumable stream of training batches over the dataset indices. */
export class ArrowPointingStream {
  private pos = 0;
  private readonly baseSeed: bigint;
  constructor(readonly cfg: ArrowPointingConfig, readonly batchSize: number, readonly channels: number) {
    this.baseSeed = arrowPointingBaseSeed(cfg.seed);
  }
  next(): ImageBatch {
    const idx = Array.from({ length: this.batchSize }, (_, b) => (this.pos + b) % this.cfg.nSamples);
    this.pos = (this.pos + this.batchSize) % this.cfg.nSamples;
    return arrowPointingImages(this.cfg, idx, this.channels, this.baseSeed);
  }
  state(): { pos: number } { return { pos: this.pos }; }
  restore(s: unknown): void {
    const p = (s as { pos?: unknown } | null)?.pos;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= this.cfg.nSamples) throw new Error(`arrow-pointing data state: expected {pos: 0..${this.cfg.nSamples - 1}}, got ${JSON.stringify(s)}`);
    this.pos = p;
  }
}
