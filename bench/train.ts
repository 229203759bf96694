// Training throughput: one Trainer step (forward + backward on the tape + clipping + AdamW)
// per timed call. Topic "train" of bench/index.ts; runs alone with `node dist/bench/train.js [--quick]`.
//
// The topic is a list of sub-benchmarks (TRAIN_BENCHES): to add one (e.g. forecaster
// series/s), append a TrainSubBench whose run() returns rows with topic 'train'.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Trainer } from '../src/train/trainer.js';
import type { TrainData } from '../src/train/trainer.js';
import type { TokenBatch } from '../src/train/textData.js';
import { XLSTMLMTrainable } from '../src/train/xlstmLmTrainable.js';
import { XLSTMLargeTrainable } from '../src/train/xlstmLargeTrainable.js';
import { Rng } from '../src/optim/optim.js';
import { BenchRow, time } from './report.js';
import { tirexTrainBench } from './trainForecaster.js';
import type { TrainBenchOptions, TrainSubBench } from './trainBench.js';

export type { TrainBenchOptions, TrainSubBench } from './trainBench.js';

/** Random byte windows (the content does not change the cost). */
function randomBytes(B: number, S: number, seed: number): TrainData<TokenBatch> {
  const r = new Rng(seed);
  return {
    next: () => ({ ids: Int32Array.from({ length: B * S }, () => Math.floor(r.uniform() * 256)), batchSize: B, seqLen: S }),
    state: () => null,
    restore: () => undefined,
  };
}

interface LmShape { E: number; blocks: number; slstmAt: number[]; B: number; S: number; quick: boolean }

/** Byte-level xLSTMLMModel (mLSTM blocks + sLSTM at slstmAt with FFN), as in test/train/xlstmLmTraining. */
const LM_SHAPES: LmShape[] = [
  { E: 32, blocks: 2, slstmAt: [1], B: 8, S: 32, quick: true },
  { E: 64, blocks: 2, slstmAt: [1], B: 8, S: 64, quick: false },
];

/** A trainable LM as the bench needs it. */
interface BenchLm { params: XLSTMLMTrainable['params']; loss: XLSTMLMTrainable['loss'] }

/** Times Trainer steps of `model` on random byte windows: one row in tokens/s (predicted positions). */
function lmStepRow(be: WasmBackend, model: BenchLm, name: string, B: number, S: number, opts: TrainBenchOptions): BenchRow {
  const trainer = new Trainer<TokenBatch>({
    params: model.params, data: randomBytes(B, S, 5), backend: be,
    loss: (t, b) => model.loss(t, b), totalSteps: 1000, lr: 1e-3, warmupSteps: 10, gradClip: 1,
  });
  const t = time(() => { trainer.trainStep(); }, { warmup: 2, runs: opts.quick ? 3 : 8, maxMs: opts.quick ? 3000 : 10000 });
  return {
    topic: 'train', name: `${name} B=${B} S=${S}`, threads: be.threads,
    value: (B * (S - 1)) / (t.bestMs / 1000), unit: 'tokens/s',
    extra: { msPerStep: t.bestMs, medianMs: t.medianMs, params: model.params.reduce((a, p) => a + p.size, 0) },
  };
}

const xlstmLmBench: TrainSubBench = {
  name: 'xlstm-lm',
  async run(be, opts) {
    return LM_SHAPES.filter((sh) => !opts.quick || sh.quick).map((sh) => {
      const model = XLSTMLMTrainable.init({
        vocab_size: 256, embedding_dim: sh.E, num_blocks: sh.blocks, context_length: sh.S, slstm_at: sh.slstmAt,
        mlstm_block: { mlstm: { conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 4 } },
        slstm_block: { slstm: { backend: 'vanilla', num_heads: 4, conv1d_kernel_size: 4 }, feedforward: { proj_factor: 1.3, act_fn: 'gelu' } },
      }, { seed: 1 });
      return lmStepRow(be, model, `xlstm-lm step E=${sh.E} blocks=${sh.blocks} (sLSTM at ${sh.slstmAt.join(',')}) V=256`, sh.B, sh.S, opts);
    });
  },
};

interface LargeShape { E: number; NH: number; blocks: number; V: number; chunk: number; B: number; S: number; quick: boolean }

/** xLSTM Large (the xLSTM-7B block: mLSTM layer + SwiGLU FFN), chunkwise mLSTM training form. */
const LARGE_SHAPES: LargeShape[] = [
  { E: 64, NH: 4, blocks: 2, V: 256, chunk: 32, B: 8, S: 64, quick: true },
  { E: 128, NH: 4, blocks: 4, V: 256, chunk: 64, B: 8, S: 128, quick: false },
];

const xlstmLargeBench: TrainSubBench = {
  name: 'xlstm-large',
  async run(be, opts) {
    return LARGE_SHAPES.filter((sh) => !opts.quick || sh.quick).map((sh) => {
      const model = XLSTMLargeTrainable.init({ embedding_dim: sh.E, num_heads: sh.NH, num_blocks: sh.blocks, vocab_size: sh.V, chunk_size: sh.chunk }, { seed: 1 });
      return lmStepRow(be, model, `xlstm-large step E=${sh.E} NH=${sh.NH} blocks=${sh.blocks} V=${sh.V} chunk=${sh.chunk}`, sh.B, sh.S, opts);
    });
  },
};

/** The sub-benchmarks of topic "train" (append to add one): LM tokens/s, forecaster (TiRex) series/s. */
export const TRAIN_BENCHES: TrainSubBench[] = [xlstmLmBench, xlstmLargeBench, tirexTrainBench];

/** Runs every sub-benchmark on the given backends (default: new ones with 1 and 2 threads). */
export async function benchTrain(backends?: WasmBackend[], opts: TrainBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const rows: BenchRow[] = [];
  try {
    for (const be of bes) for (const b of TRAIN_BENCHES) rows.push(...await b.run(be, opts));
  } finally { if (own) bes.forEach((b) => b.dispose()); }
  return rows;
}

if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { formatTable } = await import('./report.js');
  const rows = await benchTrain(undefined, { quick: process.argv.includes('--quick') });
  console.log(formatTable(rows));
}
