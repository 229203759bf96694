// Forecaster training throughput: one Trainer step of a trainable TiRex (forward + backward on
// the tape + clipping + AdamW) on synthetic batches, in series/s. A sub-benchmark of topic
// "train" (bench/train.ts): append `tirexTrainBench` to TRAIN_BENCHES, or call
// benchTrainForecaster(backends, {quick}). Batches are generated before timing (their cost
// is reported separately as genMsPerBatch) so the figure is the model's training speed.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { ForecastBatch, ForecastBatchSampler } from '../src/train/forecastData.js';
import { TiRexTrainable } from '../src/train/tirexTrainable.js';
import { createTiRexTrainer } from '../src/train/forecastTrain.js';
import type { TrainData } from '../src/train/trainer.js';
import { BenchRow, time } from './report.js';
import type { TrainBenchOptions, TrainSubBench } from './trainBench.js';

interface TiRexShape { E: number; NH: number; blocks: number; ff: number; P: number; ctx: number; B: number; quick: boolean }

const SHAPES: TiRexShape[] = [
  { E: 32, NH: 2, blocks: 2, ff: 64, P: 16, ctx: 256, B: 8, quick: true },
  // configs/default-forecaster.yaml
  { E: 128, NH: 4, blocks: 3, ff: 256, P: 32, ctx: 1024, B: 16, quick: false },
];

/** A fixed ring of pre-generated batches (content does not change the cost). */
function ring(batches: ForecastBatch[]): TrainData<ForecastBatch> {
  let i = 0;
  return { next: () => batches[i++ % batches.length], state: () => null, restore: () => undefined };
}

export const tirexTrainBench: TrainSubBench = {
  name: 'tirex',
  async run(be, opts) {
    const rows: BenchRow[] = [];
    for (const sh of SHAPES) {
      if (opts.quick && !sh.quick) continue;
      const sampler = new ForecastBatchSampler({ seed: 1, contextLength: sh.ctx, patchSize: sh.P, batchSize: sh.B });
      const g0 = performance.now();
      const batches = [0, 1, 2].map((k) => sampler.batch(k));
      const genMs = (performance.now() - g0) / batches.length;
      const model = TiRexTrainable.create(be, { embeddingDim: sh.E, numHeads: sh.NH, numBlocks: sh.blocks, inputFfDim: sh.ff, patchSize: sh.P, contextLength: sh.ctx }, { seed: 1 });
      const trainer = createTiRexTrainer(model, ring(batches), { totalSteps: 1000, lr: 1e-3, warmupSteps: 10, gradClip: 1 });
      const t = time(() => { trainer.trainStep(); }, { warmup: 1, runs: opts.quick ? 3 : 5, maxMs: opts.quick ? 4000 : 15000 });
      rows.push({
        topic: 'train', name: `tirex step E=${sh.E} NH=${sh.NH} blocks=${sh.blocks} ff=${sh.ff} P=${sh.P} ctx=${sh.ctx} B=${sh.B}`, threads: be.threads,
        value: sh.B / (t.bestMs / 1000), unit: 'series/s',
        extra: { msPerStep: t.bestMs, medianMs: t.medianMs, params: model.numParameters, tokensPerSeries: Math.ceil(sh.ctx / sh.P), genMsPerBatch: genMs },
      });
    }
    return rows;
  },
};

/** Forecaster training rows on the given backends (default: new ones with 1 and 2 threads). */
export async function benchTrainForecaster(backends?: WasmBackend[], opts: TrainBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const rows: BenchRow[] = [];
  try {
    for (const be of bes) rows.push(...await tirexTrainBench.run(be, opts));
  } finally { if (own) bes.forEach((b) => b.dispose()); }
  return rows;
}

if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { formatTable } = await import('./report.js');
  console.log(formatTable(await benchTrainForecaster(undefined, { quick: process.argv.includes('--quick') })));
}
