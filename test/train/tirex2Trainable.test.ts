// TiRex2Trainable: the trainable network IS the inference network (same head output for the
// same weights), the training targets sit where the inference reads the forecast (a head that
// outputs the targets forecasts the true future after de-scaling, the horizon slice and the
// postprocessor), gradients reach the covariate path only when a covariate is present, and
// (the covariate evidence in small) a few training steps on the promotion task make the
// forecast WITH the future promotion flag better than the same model's forecast without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/tape.js';
import { TiRex2 } from '../../src/models/tirex2/model.js';
import { descale, horizonSlice, postprocessRow, prepareRows, scaleRows } from '../../src/models/tirex2/pipeline.js';
import { TiRex2Trainable } from '../../src/train/tirex2Trainable.js';
import { PromotionTrainData, createTiRex2Trainer, promotionEvalSet, evaluateTiRex2Covariates } from '../../src/train/tirex2Train.js';

const sizes = { embeddingDim: 16, numHeads: 2, numBlocks: 2, patchSize: 8, contextLength: 40, futureLength: 16, inputFfDim: 32, hExpand: 2 };

test('TiRex2Trainable: the training forward equals the inference network on the same weights and rows', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const model = TiRex2Trainable.create(be, sizes, { seed: 4 });
    const batch = new PromotionTrainData({ seed: 3, batchSize: 3, contextLength: 40, futureLength: 16, covariateDropout: 0.5 }).batch(0);
    // a target given with a past covariate too, so every row kind is present
    batch.series[0] = { ...batch.series[0], past: [batch.series[0].target[0].map((v) => v * 0.5)] };
    assert.ok(batch.series.some((s) => s.future.length === 0) && batch.series.some((s) => s.future.length === 1), 'the dropout gives both layouts in a batch of 3 at this seed');
    const tape = new Tape(be, 'f32');
    const { pred, prepared } = model.loss(tape, batch);
    const inf = await TiRex2.fromTensors(model.configJson, model.tensors(), { backend: be });
    try {
      const pass = inf.runPass(batch.series, model.config.futureLength, model.config.ttaDiff);
      assert.equal(pass.head.length, pred.data.length);
      assert.deepEqual(Array.from(prepared.tokens), Array.from(pass.tokens));
      let worst = 0;
      for (let i = 0; i < pass.head.length; i++) worst = Math.max(worst, Math.abs(pass.head[i] - pred.data[i]));
      assert.equal(worst, 0, `head outputs differ by up to ${worst}`);
    } finally { inf.dispose(); }
  } finally { be.dispose(); }
});

test('TiRex2Trainable.prepare: a head that outputs the targets forecasts the true future (plain and differenced rows)', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const model = TiRex2Trainable.create(be, sizes, { seed: 1 });
    const cfg = model.config, F = cfg.futureLength, P = cfg.patchSize, L = cfg.numTokens, Q = cfg.quantiles.length;
    const data = new PromotionTrainData({ seed: 9, batchSize: 2, contextLength: 40, futureLength: F, covariateDropout: 0 });
    const batch = data.batch(0);
    // a strongly trending series: the trend test differences it
    const n = 40 + F;
    const trend = Float32Array.from({ length: n }, (_, t) => 5 + 2 * t + Math.sin(t));
    batch.series.push({ target: [trend.subarray(0, 40)], past: [], future: [] });
    batch.actual.push([trend.slice(40)]);
    const prepared = model.prepare(batch);
    const rows = prepareRows(cfg, batch.series, F, cfg.ttaDiff);
    assert.equal(rows.isDiff[rows.R - 1], 1, 'the trending row is differenced');
    assert.equal(rows.isDiff[0], 0);
    // every quantile of the head = the scaled target where one is scored
    const head = new Float32Array(prepared.R * L * Q * P);
    for (let r = 0; r < prepared.R; r++) {
      for (let l = 0; l < L; l++) {
        for (let p = 0; p < P; p++) {
          const z = prepared.targets[(r * L + l) * P + p];
          for (let q = 0; q < Q; q++) head[(r * L + l) * Q * P + q * P + p] = Number.isNaN(z) ? 0 : z;
        }
      }
    }
    const sc = scaleRows(cfg, rows.window, rows.R);
    const raw = horizonSlice(cfg, descale(cfg, head, sc, rows.R), rows.R, F);
    rows.targetRows.forEach(([first], s) => {
      const out = postprocessRow(raw.subarray(first * Q * F, (first + 1) * Q * F), Q, F, cfg.medianIndex, !!rows.isDiff[first], rows.last[first]);
      const actual = batch.actual[s][0];
      for (let t = 0; t < F; t++) {
        const tol = 1e-4 * Math.max(1, Math.abs(actual[t]));
        assert.ok(Math.abs(out[cfg.medianIndex * F + t] - actual[t]) <= tol, `series ${s} step ${t}: ${out[cfg.medianIndex * F + t]} vs ${actual[t]}`);
      }
    });
    // scored: the horizon (F per series) plus the context patches after the first one
    const ctxScored = (40 - P) * batch.series.length;
    assert.equal(prepared.scored, F * batch.series.length + ctxScored);
    assert.equal(model.prepare(batch, { scoreContext: false }).scored, F * batch.series.length);
    // covariate rows are never scored
    for (let r = 0; r < prepared.R; r++) {
      if (prepared.isTarget[r]) continue;
      for (let i = 0; i < L * P; i++) assert.ok(Number.isNaN(prepared.targets[r * L * P + i]));
    }
  } finally { be.dispose(); }
});

test('TiRex2Trainable: gradients reach the covariate path (reverse pass combination, attention) only when a covariate is present', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const model = TiRex2Trainable.create(be, sizes, { seed: 2 });
    const covPath = [...model.params.keys()].filter((k) => /combination|variate_mixer/.test(k));
    assert.ok(covPath.length > 0);
    const norm = (names: string[]) => {
      let s = 0;
      for (const n of names) { const g = model.params.get(n)!.grad; if (g) for (const v of g.data as Float32Array) s += v * v; }
      return Math.sqrt(s);
    };
    for (const dropout of [0, 1]) {
      for (const p of model.parameters()) p.zeroGrad();
      const batch = new PromotionTrainData({ seed: 5, batchSize: 2, contextLength: 40, futureLength: 16, covariateDropout: dropout }).batch(0);
      const tape = new Tape(be, 'f32');
      const { loss } = model.loss(tape, batch);
      tape.backward(loss);
      const g = norm(covPath), all = norm([...model.params.keys()]);
      assert.ok(all > 0 && Number.isFinite(all));
      if (dropout === 0) assert.ok(g > 1e-6, `with the covariate the combination/attention gradients are ${g}`);
      else assert.equal(g, 0, 'univariate rows skip the reverse pass and the variate mixer');
    }
  } finally { be.dispose(); }
});

test('covariate evidence in small: a few deterministic training steps make the error WITH the future promotion flag lower than without it', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const C = 64, F = 16;
    const task = { durationRange: [4, 8] as [number, number], startProbability: 0.06 };
    const model = TiRex2Trainable.create(be, { embeddingDim: 32, numHeads: 2, numBlocks: 2, patchSize: 8, contextLength: C, futureLength: F, inputFfDim: 64, hExpand: 2 }, { seed: 0 });
    const data = new PromotionTrainData({ seed: 1, batchSize: 8, contextLength: C, futureLength: F, covariateDropout: 0.5, task });
    const steps = 300;
    const trainer = createTiRex2Trainer(model, data, { totalSteps: steps, lr: 0.01, warmupSteps: 20, gradClip: 1, weightDecay: 0.01 });
    const items = promotionEvalSet({ seed: 999, count: 32, contextLength: C, horizon: F, task });
    const before = await evaluateTiRex2Covariates(model, items);
    for (let s = 0; s < steps; s++) trainer.trainStep();
    const after = await evaluateTiRex2Covariates(model, items);
    const w = after.withCovariate, wo = after.withoutCovariate;
    // training helped both ways, and the flag's future values make the forecast clearly better
    assert.ok(wo.wql < 0.6 * before.withoutCovariate.wql, `WQL without the flag ${before.withoutCovariate.wql} -> ${wo.wql}`);
    assert.ok(w.mase < 0.92 * wo.mase, `MASE with the flag ${w.mase}, without ${wo.mase}`);
    assert.ok(w.wql < 0.94 * wo.wql, `WQL with the flag ${w.wql}, without ${wo.wql}`);
  } finally { be.dispose(); }
});
