// Why does a vision classifier trained on arrow-pointing images lose accuracy at 2x the size?
// Evaluates a model folder (or a training checkpoint folder) on held-out images under conditions
// that separate the two changes 2x makes: (a) the canvas (and patch grid) grows, (b) the arrow-to-
// circle distances grow.
//   1x            training size
//   2x            twice the size, same object sizes (the extrapolation test)
//   1x-in-2x@tl   the 1x images pasted into a white 2x canvas at the top-left corner: distances as
//                 at 1x, only the canvas grew
//   1x-in-2x@mid  the same, pasted at the centre (offset rounded to the patch size)
//   ... [pos tiled]  the same with the position embedding tiled instead of resampled (a diagnostic)
// plus, at 1x and 2x, the recall of label 1 binned by the distance from the arrow tip to the
// circle's edge in patches (how far the information has to travel), and the label-0 accuracy. Reports accuracy, ROC AUC of logit1 - logit0, and the predicted-positive rate.
//   node scripts/vision-extrapolation-probe.mjs --model runs/plstm-vision-arrow-p8 --config configs/plstm-vision-arrow-p8.yaml [--count 400] [--seed 100042]
// Needs the build (dist/).
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { WasmBackend } from '../dist/src/backend/wasm/backend.js';
import { Tensor } from '../dist/src/tensor/tensor.js';
import { loadVisionModelFolder } from '../dist/src/cli/commands/trainVision.js';
import { classifyPixels } from '../dist/src/models/plstmVision/classifier.js';
import { arrowPointingConfigFromOfficial, arrowPointingSample, renderArrowPointing, arrowPointingBaseSeed, pyFloorDiv } from '../dist/src/data/arrowPointing.js';
import { rocAuc } from '../dist/src/train/rocAuc.js';

const { values: a } = parseArgs({ options: { model: { type: 'string' }, config: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' } } });
for (const k of ['model', 'config']) if (!a[k]) { console.error(`vision-extrapolation-probe: --${k} is required`); process.exit(2); }
const yaml = (await import('yaml')).parse(await readFile(a.config, 'utf8'));
const count = Number(a.count ?? 400), seed = Number(a.seed ?? 100042);
const be = await WasmBackend.create({ threads: 1 });
const { model, weights } = await loadVisionModelFolder(a.model);
const P = model.patchSize, C = model.numChannels;
const cfg1 = arrowPointingConfigFromOfficial({ ...yaml.data.arrow_pointing, seed, n_samples: count }, 'data.arrow_pointing');
const [H, W] = cfg1.imageSize;
const cfg2 = { ...cfg1, imageSize: [2 * H, 2 * W] };

/** samples + images [count][h*w] (row = y) + tip-to-circle-edge distance in patches. */
function draw(cfg) {
  const base = arrowPointingBaseSeed(cfg.seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const s = arrowPointingSample(cfg, i, base);
    const g = s.geometry, half = pyFloorDiv(s.arrowLength, 2);
    const tip = [g.ax + half * Math.cos(g.phi), g.ay + half * Math.sin(g.phi)];
    out.push({ label: s.label, img: renderArrowPointing(cfg, s), dist: Math.max(0, Math.hypot(g.cx - tip[0], g.cy - tip[1]) - g.r) / P });
  }
  return out;
}
function paste(img, h, w, H2, W2, oy, ox) {
  const o = new Uint8Array(H2 * W2).fill(255);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) o[(y + oy) * W2 + x + ox] = img[y * w + x];
  return o;
}
// Diagnostic model change (never used to train or choose): the learned [1, h0, w0, D] position
// embedding tiled 2x2 instead of resampled, so at 2x every cell of the top-left block gets exactly
// its 1x embedding; '1x-in-2x@tl [pos tiled]' then differs from 1x only by the extra cells.
function tiledPosEmbed(ws) {
  const e = ws.get('pos_embed.embed');
  if (!e) return null;
  const [, h0, w0, D] = e.shape, src = e.toFloat32(), out = new Float32Array(4 * h0 * w0 * D);
  for (let i = 0; i < 2 * h0; i++) for (let j = 0; j < 2 * w0; j++) out.set(src.subarray(((i % h0) * w0 + (j % w0)) * D, ((i % h0) * w0 + (j % w0) + 1) * D), (i * 2 * w0 + j) * D);
  return new Map([...ws, ['pos_embed.embed', new Tensor('f32', [1, 2 * h0, 2 * w0, D], out)]]);
}
const tiled = tiledPosEmbed(weights);

function evaluate(items, h, w, ws = weights) {
  const margins = [], labels = [];
  for (let s = 0; s < items.length; s += 50) {
    const part = items.slice(s, s + 50), B = part.length, px = new Float32Array(B * C * h * w);
    part.forEach((it, b) => { for (let c = 0; c < C; c++) for (let p = 0; p < h * w; p++) px[(b * C + c) * h * w + p] = it.img[p] / 255; });
    const prob = classifyPixels(be, model, ws, new Tensor('f32', [B, C, h, w], px));
    part.forEach((it, b) => { margins.push(Math.log(prob[b * 2 + 1]) - Math.log(prob[b * 2])); labels.push(it.label); });
  }
  const pred = margins.map((m) => (m > 0 ? 1 : 0));
  const acc = pred.filter((p, i) => p === labels[i]).length / labels.length;
  return { acc, auc: rocAuc(margins, labels), pos: pred.reduce((x, y) => x + y, 0) / pred.length, pred, labels };
}
const fmt = (r) => `acc ${r.acc.toFixed(3)}  auc ${r.auc.toFixed(3)}  pos ${r.pos.toFixed(3)}`;
const one = draw(cfg1), two = draw(cfg2);
const res = {
  '1x': evaluate(one, H, W),
  '2x': evaluate(two, 2 * H, 2 * W),
  '1x-in-2x@tl': evaluate(one.map((it) => ({ ...it, img: paste(it.img, H, W, 2 * H, 2 * W, 0, 0) })), 2 * H, 2 * W),
  '1x-in-2x@mid': evaluate(one.map((it) => ({ ...it, img: paste(it.img, H, W, 2 * H, 2 * W, P * Math.round(H / 2 / P), P * Math.round(W / 2 / P)) })), 2 * H, 2 * W),
};
if (tiled) {
  res['2x [pos tiled]'] = evaluate(two, 2 * H, 2 * W, tiled);
  res['1x-in-2x@tl [pos tiled]'] = evaluate(one.map((it) => ({ ...it, img: paste(it.img, H, W, 2 * H, 2 * W, 0, 0) })), 2 * H, 2 * W, tiled);
}
console.log(`${a.model} (${model.kind}), ${count} held-out images (seed ${seed}), ${H}x${W} and ${2 * H}x${2 * W}, patch ${P}`);
for (const [k, r] of Object.entries(res)) console.log(`${k.padEnd(24)} ${fmt(r)}`);
const bins = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 6], [6, 9], [9, Infinity]];
for (const [name, items] of [['1x', one], ['2x', two]]) {
  const r = res[name];
  // positives: recall by how far the information has to travel; negatives: one number
  const row = bins.map(([lo, hi]) => {
    const idx = items.map((it, i) => (it.label === 1 && it.dist >= lo && it.dist < hi ? i : -1)).filter((i) => i >= 0);
    if (!idx.length) return null;
    const ok = idx.filter((i) => r.pred[i] === 1).length;
    return `[${lo},${hi === Infinity ? 'inf' : hi}) ${(ok / idx.length).toFixed(2)} (n=${idx.length})`;
  }).filter(Boolean);
  const neg = items.map((it, i) => (it.label === 0 ? i : -1)).filter((i) => i >= 0);
  console.log(`${name} label-1 recall by tip-to-circle-edge distance (patches): ${row.join('  ')} | label-0 accuracy ${(neg.filter((i) => r.pred[i] === 0).length / neg.length).toFixed(2)} (n=${neg.length})`);
}
