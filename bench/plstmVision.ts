// The pLSTM vision model's forward in images/s (inference: weights as plain tape inputs, nothing
// recorded), at the model's resolution and at twice it (the patch grid 4x larger), with both
// 2D scan forms, beside the ViT-style baseline of similar size (bench rows in one run, so the
// ratio is meaningful on a busy machine), and one training step (forward + backward) each.
// Used by bench/index.ts (topic "plstm-vision"); runs alone with `node dist/bench/plstmVision.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tape, Var } from '../src/autograd/tape.js';
import * as ag from '../src/autograd/ops.js';
import { Tensor } from '../src/tensor/tensor.js';
import { visionClassifierFromJson } from '../src/models/plstmVision/classifier.js';
import { plstmVisionOfficialJson } from '../src/models/plstmVision/config.js';
import { initWeightsFromTable, runNoGrad } from '../src/models/plstmVision/model.js';
import { withHeapReclaim } from '../src/train/trainer.js';
import { BenchRow, time } from './report.js';

export interface PlstmVisionBenchOptions { quick?: boolean }

export async function benchPlstmVision(backends?: WasmBackend[], opts: PlstmVisionBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 })] : backends!.slice(0, 1);
  const quick = !!opts.quick;
  const B = 8, R = 32, D = quick ? 16 : 32;
  const runs = { warmup: 1, runs: quick ? 3 : 5, maxMs: quick ? 2000 : 5000 };
  const models = {
    'pLSTM vision (P+D block)': { json: plstmVisionOfficialJson({ dim: D, numHeads: 4, patchSize: 4, numBlocks: 1, numClasses: 2, resolution: [R, R], numChannels: 1 }) },
    'ViT baseline (2 blocks)': { json: { model_type: 'vit-vision', dim: D, num_heads: 4, patch_size: 4, num_blocks: 2, num_classes: 2, num_channels: 1, resolution: [R, R], mlp_ratio: 4, pooling: 'mean' } },
  };
  const rows: BenchRow[] = [];
  let seed = 3;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  try {
    for (const be of bes) {
      for (const [label, { json }] of Object.entries(models)) {
        const forms = label.startsWith('pLSTM') ? (['parallel', 'recurrent'] as const) : ([undefined] as const);
        for (const form of forms) {
          const m = visionClassifierFromJson(json, label, form ? { form } : {});
          const w0 = initWeightsFromTable(m.table, 1);
          const name = `${label} dim ${D}${form ? ` (${form} scan)` : ''}`;
          for (const scale of quick ? [1] : [1, 2]) {
            const S = R * scale;
            const px = new Tensor('f32', [B, 1, S, S], Float32Array.from({ length: B * S * S }, rnd));
            const t = time(() => runNoGrad(be, (tp) => {
              const w = new Map<string, Var>();
              for (const [k, v] of w0) w.set(k, tp.input(v));
              return m.forward(tp, w, tp.input(px)).data[0];
            }), runs);
            rows.push({ topic: 'plstm-vision', name: `${name} forward ${S}x${S} B=${B}`, threads: be.threads, value: B / (t.bestMs / 1000), unit: 'images/s', extra: { medianMs: t.medianMs } });
          }
          if (form === 'parallel') continue; // training uses the recurrent form (states kept for the backward)
          const px = new Tensor('f32', [B, 1, R, R], Float32Array.from({ length: B * R * R }, rnd));
          const labels = Array.from({ length: B }, (_, i) => i % 2);
          const t = time(() => withHeapReclaim(be, () => {
            const tp = new Tape(be, 'f32');
            const w = new Map<string, Var>();
            for (const [k, v] of w0) w.set(k, tp.param(v, k));
            const loss = ag.crossEntropy(tp, m.forward(tp, w, tp.input(px)), labels);
            tp.backward(loss);
            return loss.data[0];
          }), runs);
          rows.push({ topic: 'plstm-vision', name: `${name} train step (fwd+bwd) ${R}x${R} B=${B}`, threads: be.threads, value: B / (t.bestMs / 1000), unit: 'images/s', extra: { medianMs: t.medianMs } });
        }
      }
    }
  } finally { if (own) bes.forEach((b) => b.dispose()); }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchPlstmVision(undefined, { quick: process.argv.includes('--quick') });
  for (const r of rows) console.log(`${r.name.padEnd(80)} ${r.value.toFixed(1)} ${r.unit}`);
}
