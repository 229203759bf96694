// The arrow-pointing dataset against the official generator (golden case arrow_pointing):
// NumPy's PCG64 stream, labels, arrow sizes and geometry exactly; the batched variant's images
// pixel for pixel; the PIL variant's images (Pillow's scan conversion is not reproduced) by
// their overlap with the official ones. Every size comes from the fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/golden.js';
import { parseSafetensors } from '../../src/io/safetensors.js';
import {
  arrowPointingConfigFromOfficial, arrowPointingConfig, arrowPointingSample, arrowPointingBatch, renderArrowPointing, arrowPointingBaseSeed, pyFloorDiv,
} from '../../src/data/arrowPointing.js';
import { NumpyRng, seedSequenceState } from '../../src/random/pcg64.js';
import { ConfigError, ArgumentError } from '../../src/errors.js';

const dir = join(FIXTURES, 'arrow_pointing');
const io = parseSafetensors(readFileSync(join(dir, 'io.safetensors')), { source: 'arrow_pointing/io.safetensors' });
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const get = (n: string) => io.read(n);
const atol = (n: string): number => meta.outputs[n].atol ?? meta.outputs[n].recommended_atol;
const pilCfg = arrowPointingConfigFromOfficial(config.ArrowPointingConfig);
const batchedCfg = arrowPointingConfigFromOfficial(config['ArrowPointingConfig (batched module)']);
const geomRow = (g: { ax: number; ay: number; phi: number; cx: number; cy: number; r: number }) => [g.ax, g.ay, g.phi, g.cx, g.cy, g.r];

test('NumPy PCG64: the per-sample seeds and the 9 uniforms of each sample are bit-identical', () => {
  const seeds = get('pil__sample_seed').data as BigInt64Array;
  const rnd = get('pil__random').data as Float64Array;
  const idx = get('pil__indices').data as BigInt64Array;
  const nU = get('pil__random').shape[1];
  const base = arrowPointingBaseSeed(pilCfg.seed);
  for (let i = 0; i < idx.length; i++) {
    assert.equal(base + idx[i], seeds[i], `sample seed of index ${idx[i]}`);
    const r = new NumpyRng(seeds[i]);
    for (let k = 0; k < nU; k++) assert.equal(r.random(), rnd[i * nU + k], `uniform ${k} of sample ${idx[i]}`);
  }
});

test('SeedSequence: a known NumPy state (default_rng(0) words) and multi-word seeds', () => {
  // numpy.random.SeedSequence(0).generate_state(4) = [2968811710, 3677149159, 745650761, 2884920346]
  assert.deepEqual(Array.from(seedSequenceState(0, 4)), [2968811710, 3677149159, 745650761, 2884920346]);
  // numpy.random.default_rng(0).random() = 0.6369616873214543
  assert.equal(new NumpyRng(0).random(), 0.6369616873214543);
  assert.throws(() => new NumpyRng(-1), ArgumentError);
});

test('PIL variant: labels, arrow length/width and geometry equal the official ArrowPointingDataset', () => {
  const idx = get('pil__indices').data as BigInt64Array;
  const labels = get('pil__labels').data as BigInt64Array;
  const len = get('pil__arrow_length').data as BigInt64Array, wid = get('pil__arrow_width').data as BigInt64Array;
  const geo = get('pil__geometry').data as Float64Array;
  const tol = atol('pil__geometry');
  for (let i = 0; i < idx.length; i++) {
    const s = arrowPointingSample(pilCfg, Number(idx[i]));
    assert.equal(s.label, Number(labels[i]), `label of sample ${idx[i]}`);
    assert.equal(s.arrowLength, Number(len[i]));
    assert.equal(s.arrowWidth, Number(wid[i]));
    geomRow(s.geometry).forEach((v, k) => assert.ok(Math.abs(v - geo[i * 6 + k]) <= tol, `geometry[${k}] of sample ${idx[i]}: ${v} vs ${geo[i * 6 + k]}`));
  }
});

test('PIL variant: images cover the official Pillow images up to boundary pixels', () => {
  const t = get('pil__images');
  const [N, H, W] = t.shape;
  assert.deepEqual([H, W], pilCfg.imageSize);
  const official = t.data as Uint8Array;
  const idx = get('pil__indices').data as BigInt64Array;
  for (let i = 0; i < N; i++) {
    const img = renderArrowPointing(pilCfg, arrowPointingSample(pilCfg, Number(idx[i])));
    let both = 0, either = 0, offBoundary = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x, a = img[p] === 0, b = official[i * H * W + p] === 0;
        assert.ok(img[p] === 0 || img[p] === 255, 'pure black/white');
        if (a && b) both++;
        if (a || b) either++;
        if (a !== b) {
          // a differing pixel must lie within 2 pixels of a pixel where both images are black (a shape boundary)
          let near = false;
          for (let dy = -2; dy <= 2 && !near; dy++) for (let dx = -2; dx <= 2 && !near; dx++) {
            const yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < H && xx >= 0 && xx < W && img[yy * W + xx] === 0 && official[i * H * W + yy * W + xx] === 0) near = true;
          }
          if (!near) offBoundary++;
        }
      }
    }
    assert.ok(both / either > 0.8, `sample ${idx[i]}: black-pixel IoU ${(both / either).toFixed(3)} <= 0.8`);
    assert.equal(offBoundary, 0, `sample ${idx[i]}: ${offBoundary} differing pixels away from any shape`);
  }
});

test('batched variant: seed, labels, geometry, arrow sizes and every pixel equal ArrowPointingDatasetBatched', () => {
  const imgs = get('batched__images');
  const B = imgs.shape[0];
  assert.equal(B, config.batch_size);
  const b = arrowPointingBatch(batchedCfg, B, config.batch_index);
  assert.equal(b.seed, (get('batched__seed').data as BigInt64Array)[0]);
  assert.deepEqual(Array.from(b.labels), Array.from(get('batched__labels').data as BigInt64Array, Number));
  const geo = get('batched__geometry').data as Float64Array;
  b.geometry.forEach((g, i) => geomRow(g).forEach((v, k) => assert.ok(Math.abs(v - geo[i * 6 + k]) <= atol('batched__geometry'), `batched geometry[${i}][${k}]`)));
  const L = get('batched__arrow_length').data as Float64Array, Wd = get('batched__arrow_width').data as Float64Array;
  for (let i = 0; i < B; i++) {
    assert.ok(Math.abs(b.arrowLength[i] - L[i]) <= atol('batched__arrow_length'));
    assert.ok(Math.abs(b.arrowWidth[i] - Wd[i]) <= atol('batched__arrow_width'));
  }
  const off = imgs.data as Uint8Array;
  assert.deepEqual([b.images.length, ...imgs.shape.slice(1)], [off.length, ...batchedCfg.imageSize]);
  let diff = 0;
  for (let p = 0; p < off.length; p++) if (off[p] !== b.images[p]) diff++;
  assert.equal(diff, 0, `${diff} pixels differ`);
});

test('the documented statistics: balanced labels, label 1 iff the ray passes within r/1.2, label 0 outside the 1.2r cone', () => {
  const cfg = arrowPointingConfig({ imageSize: [64, 64], minRadius: 4, maxRadius: 7, boundaryPadding: 6, arrowLengthMin: 6, arrowLengthMax: 12, seed: 7, nSamples: 600 });
  const base = arrowPointingBaseSeed(cfg.seed);
  let ones = 0;
  for (let i = 0; i < cfg.nSamples; i++) {
    const s = arrowPointingSample(cfg, i, base);
    const g = s.geometry;
    const dx = g.cx - g.ax, dy = g.cy - g.ay, d = Math.hypot(dx, dy);
    const ux = Math.cos(g.phi), uy = Math.sin(g.phi);
    const along = dx * ux + dy * uy, perp = Math.abs(dx * uy - dy * ux);
    if (s.label === 1) { ones++; assert.ok(along > 0 && perp <= g.r / cfg.intersectionFactor + 1e-9, `sample ${i}: label 1 but the ray misses (perp ${perp}, r ${g.r})`); }
    else assert.ok(along <= 0 || perp >= Math.min(d, cfg.intersectionFactor * g.r) - 1e-9, `sample ${i}: label 0 but the ray is inside the cone`);
    assert.ok(g.r >= cfg.minRadius && g.r <= cfg.maxRadius);
    assert.ok(s.arrowLength >= cfg.arrowLengthMin && s.arrowLength < cfg.arrowLengthMax);
  }
  const frac = ones / cfg.nSamples;
  assert.ok(Math.abs(frac - cfg.intersectionRatio) < 0.07, `label-1 fraction ${frac}`);
});

test('CPython float floor division and bad configs / indices', () => {
  assert.equal(pyFloorDiv(25, 2.5), 10);
  assert.equal(pyFloorDiv(24, 2.5), 9);
  assert.equal(pyFloorDiv(7.9, 2), 3);
  assert.throws(() => arrowPointingConfigFromOfficial({ image_sise: [32, 32] }), (e: Error) => e instanceof ConfigError && /image_sise/.test(e.message));
  assert.throws(() => arrowPointingConfig({ imageSize: [32, 32] }), (e: Error) => e instanceof ConfigError && /imageSize\[0\] 32/.test(e.message));
  assert.throws(() => arrowPointingSample(pilCfg, pilCfg.nSamples), (e: Error) => e instanceof ArgumentError && /out of range/.test(e.message));
});
