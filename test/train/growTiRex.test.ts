// Depth growth: the grown model forecasts exactly as the source (new blocks are the identity),
// it trains (the zeroed weights get gradients), and bad sizes are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/tape.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { ForecastBatchSampler } from '../../src/train/forecastData.js';
import { TiRexTrainable } from '../../src/train/tirexTrainable.js';
import { growTiRex } from '../../src/train/growTiRex.js';

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 1 }); });
after(() => { be.dispose(); });

const TINY = { embeddingDim: 16, numHeads: 2, numBlocks: 2, inputFfDim: 24, patchSize: 4, contextLength: 24 };

test('growTiRex: the grown model forecasts as the source; the identity blocks receive gradients', async () => {
  const src = TiRexTrainable.create(be, TINY, { seed: 4 });
  const grown = growTiRex(be, src, { numBlocks: 4, seed: 9 });
  assert.equal(grown.hyperParameters.model_config.block_kwargs.num_blocks, 4);
  assert.ok(grown.numParameters > src.numParameters);
  const a = await TiRex.fromTensors(src.hyperParameters, src.tensors(), { backend: be, bf16: false });
  const b = await TiRex.fromTensors(grown.hyperParameters, grown.tensors(), { backend: be, bf16: false });
  const ctx = [Float32Array.from({ length: 21 }, (_, t) => Math.sin(t / 2) + 0.1 * t), Float32Array.from({ length: 9 }, (_, t) => t % 3)];
  const fa = a.forecast(ctx, { predictionLength: 10 }), fb = b.forecast(ctx, { predictionLength: 10 });
  for (let i = 0; i < 2; i++) for (let h = 0; h < 10; h++) assert.ok(Math.abs(fa.median[i][h] - fb.median[i][h]) < 1e-5, `series ${i} step ${h}: ${fa.median[i][h]} vs ${fb.median[i][h]}`);
  a.dispose(); b.dispose();
  const t = new Tape(be, 'f32');
  const batch = new ForecastBatchSampler({ seed: 2, contextLength: 24, patchSize: 4, batchSize: 3 }).batch(0);
  const { loss } = grown.loss(t, grown.prepare(batch));
  t.backward(loss);
  for (const n of ['blocks.3.ffn.proj_down.weight', 'blocks.3.slstm_layer.group_norm.weight']) {
    const g = grown.params.get(n)!.grad!.data as Float32Array;
    assert.ok(g.some((v) => v !== 0), `${n} has a zero gradient`);
  }
  t.clear();
});

test('growTiRex: zeroed scales and projections, old blocks copied, context changed; bad sizes are refused', () => {
  const src = TiRexTrainable.create(be, TINY, { seed: 4 });
  const grown = growTiRex(be, src, { numBlocks: 3, contextLength: 16 });
  assert.equal(grown.hyperParameters.train_ctx_len, 16);
  const gn = grown.tensors().get('blocks.2.slstm_layer.group_norm.weight')!;
  assert.ok(Array.from(gn.toFloat32()).every((v) => v === -1), 'group norm scale 1 + w = 0');
  assert.ok(Array.from(grown.tensors().get('blocks.2.ffn.proj_down.weight')!.toFloat32()).every((v) => v === 0));
  // the old blocks are copied unchanged
  assert.deepEqual(grown.tensors().get('blocks.1.ffn.proj_up.weight')!.toFloat32(), src.tensors().get('blocks.1.ffn.proj_up.weight')!.toFloat32());
  assert.throws(() => growTiRex(be, src, { numBlocks: 2 }), /numBlocks must be an integer > the source's 2 blocks, got 2/);
  assert.throws(() => growTiRex(be, src, { numBlocks: 3, contextLength: 10 }), /contextLength must be a positive multiple of the patch size 4, got 10/);
});
