// Training the vision classifiers with their one tape definition (tiny sizes, a few steps):
// both fit a small fixed set of arrow-pointing images (loss falls, accuracy above chance), the
// trained weights keep the official names, and inference (plain inputs, nothing recorded)
// gives the same outputs as the training forward on the Parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { arrowPointingConfig } from '../../src/data/arrowPointing.js';
import { ArrowPointingStream, arrowPointingImages } from '../../src/data/arrowPointingBatches.js';
import { visionClassifierFromJson, classifyPixels } from '../../src/models/plstmVision/classifier.js';
import { plstmVisionOfficialJson } from '../../src/models/plstmVision/config.js';
import { initWeightsFromTable } from '../../src/models/plstmVision/model.js';
import { visionParameters, createVisionTrainer, evaluateVision } from '../../src/train/visionTraining.js';

const be = await WasmBackend.create({ threads: 1 });
// an easy setting: 8 fixed images (the stream cycles them), 16x16, a 4x4 patch grid
const data = arrowPointingConfig({ imageSize: [16, 16], minRadius: 2, maxRadius: 3, boundaryPadding: 2, arrowLengthMin: 4, arrowLengthMax: 8, nSamples: 8, seed: 3 });
const models = {
  'plstm-vision': plstmVisionOfficialJson({ dim: 8, numHeads: 2, patchSize: 4, numBlocks: 1, numClasses: 2, resolution: [16, 16], numChannels: 1 }),
  'vit-vision': { model_type: 'vit-vision', dim: 8, num_heads: 2, patch_size: 4, num_blocks: 1, num_classes: 2, num_channels: 1, resolution: [16, 16], mlp_ratio: 4, pooling: 'mean' },
};

for (const [kind, json] of Object.entries(models)) {
  test(`${kind}: fits 8 fixed arrow images in a few steps (loss falls, accuracy above chance)`, () => {
    const m = visionClassifierFromJson(json);
    const params = visionParameters(m, initWeightsFromTable(m.table, 1));
    assert.deepEqual(params.map((p) => p.name), m.table.specs.map((s) => s.name));
    const stream = new ArrowPointingStream(data, 8, m.numChannels);
    const trainer = createVisionTrainer(be, m, params, stream, { totalSteps: 40, lr: 1e-2, warmupSteps: 0, weightDecay: 0, seed: 0 });
    const weights = () => new Map(params.map((p) => [p.name!, p.value]));
    const before = evaluateVision(be, m, weights(), data, 8, 8);
    const losses: number[] = [];
    for (let s = 0; s < 40; s++) losses.push(trainer.trainStep().loss);
    const after = evaluateVision(be, m, weights(), data, 8, 8);
    assert.ok(after.loss < 0.6 * before.loss, `${kind}: loss ${before.loss.toFixed(4)} -> ${after.loss.toFixed(4)} (train losses ${losses[0].toFixed(3)} .. ${losses[39].toFixed(3)})`);
    assert.ok(after.accuracy >= 0.75, `${kind}: accuracy on the fitted images ${after.accuracy}`);
    // the eval's diagnostics: predicted and true positive rates differ by at most the error rate
    const truePos = arrowPointingImages(data, [0, 1, 2, 3, 4, 5, 6, 7], 1).labels.filter((l) => l === 1).length / 8;
    assert.ok(Math.abs(after.positiveRate - truePos) <= 1 - after.accuracy + 1e-9, `${kind}: predicted positives ${after.positiveRate}, true ${truePos}, accuracy ${after.accuracy}`);
    assert.ok(after.auc > 0.75, `${kind}: AUC on the fitted images ${after.auc}`);
    // the data stream resumes where it stopped
    const st = stream.state();
    const a = stream.next();
    stream.restore(st);
    assert.deepEqual(stream.next().labels, a.labels);
  });

  test(`${kind}: inference (no recording) equals the training forward on the Parameters, at the training size and 2x`, () => {
    const m = visionClassifierFromJson(json);
    const init = initWeightsFromTable(m.table, 2);
    const params = visionParameters(m, init);
    for (const scale of [1, 2]) {
      const cfg = { ...data, imageSize: [16 * scale, 16 * scale] as [number, number], boundaryPadding: 2 * scale };
      const b = arrowPointingImages(cfg, [0, 1, 2], m.numChannels);
      const t = new Tape(be, 'f32');
      const logits = m.forward(t, new Map<string, Var>(params.map((p) => [p.name!, p])), t.input(new Tensor('f32', b.shape, b.pixels)));
      assert.ok(t.length > 0, 'training forward records');
      const p = ag.softmax(t, logits).data;
      const q = classifyPixels(be, m, init, new Tensor('f32', b.shape, b.pixels));
      assert.equal(q.length, 3 * m.numClasses);
      for (let i = 0; i < q.length; i++) assert.ok(Math.abs(p[i] - q[i]) < 1e-6, `${kind} x${scale}: prob ${i}: ${p[i]} vs ${q[i]}`);
    }
  });
}
