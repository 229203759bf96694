// ForecastDataWorkers: batches made in worker threads are bit-identical to the sampler's,
// in any order of arrival, after restore, and when next() runs ahead of the workers; a
// trainer fed by workers gives the same losses as one fed on the main thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { ForecastBatchSampler } from '../../src/train/forecastData.js';
import type { ForecastBatch, ForecastSamplerOptions } from '../../src/train/forecastData.js';
import { ForecastDataWorkers } from '../../src/train/forecastDataWorkers.js';
import { ForecastTrainData, createTiRexTrainer } from '../../src/train/forecastTrain.js';
import { TiRexTrainable } from '../../src/train/tirexTrainable.js';

const OPTS: ForecastSamplerOptions = { seed: 42, contextLength: 64, patchSize: 8, batchSize: 4, cpm: { probability: 0.5 } };

function assertSameBatch(a: ForecastBatch, b: ForecastBatch, label: string): void {
  assert.equal(a.batchSize, b.batchSize, label);
  assert.equal(a.numTokens, b.numTokens, label);
  // NaN-aware, bit-exact
  assert.deepEqual(new Uint32Array(a.windows.buffer, a.windows.byteOffset, a.windows.length), new Uint32Array(b.windows.buffer, b.windows.byteOffset, b.windows.length), `${label}: windows`);
  assert.deepEqual(a.patchMask, b.patchMask, `${label}: patchMask`);
  assert.deepEqual(a.contextLengths, b.contextLengths, `${label}: contextLengths`);
}

test('worker batches equal the sampler\'s: in order, after restore (back and forward), and when next() outruns the workers', async () => {
  const ref = new ForecastBatchSampler(OPTS);
  const d = await ForecastDataWorkers.create(OPTS, { workers: 2, prefetch: 3 });
  try {
    for (let i = 0; i < 5; i++) { await d.ready(1); assertSameBatch(d.next(), ref.batch(i), `batch ${i}`); }
    assert.deepEqual(d.state(), { position: 5 });
    d.restore({ position: 1 });
    await d.ready(2);
    assertSameBatch(d.next(), ref.batch(1), 'batch 1 after restore');
    assertSameBatch(d.next(), ref.batch(2), 'batch 2 after restore');
    d.restore({ position: 40 });
    // no ready(): the batch is computed in place
    assertSameBatch(d.next(), ref.batch(40), 'batch 40 without waiting');
    assertSameBatch(d.next(), ref.batch(41), 'batch 41 without waiting');
    await d.ready(1);
    assertSameBatch(d.next(), ref.batch(42), 'batch 42');
    assert.throws(() => d.restore({ position: -1 }), /ForecastDataWorkers\.restore: expected \{position: integer >= 0\}, got \{"position":-1\}/);
  } finally { await d.close(); }
  assert.throws(() => d.next(), /ForecastDataWorkers: closed/);
});

test('bad options fail before any thread starts', async () => {
  await assert.rejects(ForecastDataWorkers.create(OPTS, { workers: 0 }), /workers must be an integer in 1\.\.64, got 0/);
  await assert.rejects(ForecastDataWorkers.create(OPTS, { prefetch: 0 }), /prefetch must be an integer >= 1, got 0/);
  await assert.rejects(ForecastDataWorkers.create({ ...OPTS, batchSize: 0 }), /batchSize/);
});

test('training on worker-made batches gives the losses of main-thread batches', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const sizes = { embeddingDim: 16, numHeads: 2, numBlocks: 1, inputFfDim: 32, patchSize: 8, contextLength: 64 };
    const run = async (data: ForecastTrainData | ForecastDataWorkers) => {
      const model = TiRexTrainable.create(be, sizes, { seed: 3 });
      const tr = createTiRexTrainer(model, data, { totalSteps: 4, lr: 1e-3, warmupSteps: 1, accumulationSteps: 2 });
      const losses = (await tr.run()).map((r) => r.loss);
      return losses;
    };
    const plain = await run(new ForecastTrainData(OPTS));
    const w = await ForecastDataWorkers.create(OPTS);
    let viaWorkers: number[];
    try { viaWorkers = await run(w); } finally { await w.close(); }
    assert.equal(plain.length, 4);
    assert.deepEqual(viaWorkers, plain);
    assert.ok(plain.every(Number.isFinite));
  } finally { be.dispose(); }
});
