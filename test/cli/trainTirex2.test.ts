// `xlstm train` with model.kind 'tirex2': config validation, a few steps with checkpoint and an
// exact resume (split run == uninterrupted run), the with/without-covariate evaluation, the
// checkpoint folder loads as a TiRex2 that forecasts with covariates, and init_from fine-tunes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runTrain, resolveTrainConfig } from '../../src/cli/commands/train.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex2 } from '../../src/models/tirex2/model.js';

const silent = { stdout: () => {}, stderr: () => {} };

function tirex2Config(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { kind: 'tirex2', embedding_dim: 16, num_heads: 2, recipe: ['bi-mlstm', 'bi-slstm'], patch_size: 8, context_length: 32, future_length: 16, input_ff_dim: 32, h_expand: 2, seed: 3 },
    data: { seed: 5, covariate_dropout: 0.5, promotion: { duration_range: [3, 6] } },
    optim: { lr: 0.003, warmup_steps: 1, steps: 4, batch_size: 3, grad_clip: 1 },
    eval: { synthetic: { count: 4, seed: 77 } },
    checkpoint: { dir: join(dir, 'ck'), every: 2 },
    log_every: 1,
    threads: 1,
    ...extra,
  };
}

test('train config (tirex2): sizes, task keys and keys of other kinds are checked, naming the key', () => {
  const base = tirex2Config('/tmp/x');
  const ok = resolveTrainConfig(base, 'c');
  assert.equal(ok.model.kind, 'tirex2');
  assert.equal(ok.eval.horizon, 16, 'eval.horizon defaults to future_length');
  assert.deepEqual(ok.data.promotion?.duration_range, [3, 6]);
  const m = base.model as Record<string, unknown>, d = base.data as Record<string, unknown>;
  assert.throws(() => resolveTrainConfig({ ...base, model: { ...m, recipe: ['bi-mlstm', 'gru'] } }, 'c'), /model\.recipe\[1\] must be 'bi-mlstm' or 'bi-slstm', got "gru"/);
  assert.throws(() => resolveTrainConfig({ ...base, model: { ...m, num_blocks: 3 } }, 'c'), /model\.num_blocks \(3\) must equal the length of model\.recipe \(2\)/);
  assert.throws(() => resolveTrainConfig({ ...base, model: { ...m, embedding_dim: undefined } }, 'c'), /model\.embedding_dim is required for model\.kind 'tirex2'/);
  assert.throws(() => resolveTrainConfig({ ...base, model: { kind: 'tirex2', init_from: '/tmp/m', patch_size: 8 } }, 'c'), /model\.patch_size is not used with model\.init_from/);
  assert.throws(() => resolveTrainConfig({ ...base, model: { ...m, input_ff_dim: 0 } }, 'c'), /model\.input_ff_dim must be >= 1, got 0/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { ...d, covariate_dropout: 1.5 } }, 'c'), /data\.covariate_dropout must be <= 1, got 1\.5/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { ...d, promotion: { lift: 1 } } }, 'c'), /data\.promotion\.lift is not a known key/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { ...d, promotion: { duration_range: [4, 2] } } }, 'c'), /data\.promotion\.duration_range\[1\] must be >= 4, got 2/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { ...d, promotion: { noise_ar: 1 } } }, 'c'), /data\.promotion\.noise_ar must be < 1/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { ...d, mix: { arma: 1 } } }, 'c'), /data\.mix is only used by model\.kind 'tirex' .*not by model\.kind 'tirex2'/);
  assert.throws(() => resolveTrainConfig({ ...base, eval: { csv: ['a.csv'] } }, 'c'), /eval\.csv is only used by model\.kind 'tirex'/);
  assert.throws(() => resolveTrainConfig({ ...base, eval: { synthetic: { seasonality: 7 } } }, 'c'), /eval\.synthetic\.seasonality is not used by model\.kind 'tirex2'/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { ...d, text: 'a.txt' } }, 'c'), /data\.text is only used by the language-model kinds/);
  // the task keys belong to tirex2 only
  assert.throws(() => resolveTrainConfig({ ...base, model: { kind: 'tirex', embedding_dim: 16, num_heads: 2, num_blocks: 1, input_ff_dim: 32, patch_size: 8, context_length: 48 } }, 'c'), /data\.covariate_dropout is only used by model\.kind 'tirex2'/);
});

test('train (tirex2): a few steps, checkpoint, resume == uninterrupted, with/without-covariate metrics, folder loads as TiRex2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-tirex2-'));
  try {
    const a = join(dir, 'a.json'), b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify(tirex2Config(join(dir, 'A'))));
    writeFileSync(b, JSON.stringify(tirex2Config(join(dir, 'B'))));
    const full = await runTrain({ config: a, progress: false }, silent);
    assert.equal(full.endStep, 4);
    assert.ok(full.losses.every((l) => Number.isFinite(l) && l > 0));
    assert.equal(full.evals.length, 1);
    const ev = full.evals[0].metrics;
    for (const k of ['withCovariate.MASE', 'withCovariate.WQL', 'withoutCovariate.MASE', 'withoutCovariate.WQL', 'seasonalNaive.MASE']) assert.ok(ev[k] > 0 && Number.isFinite(ev[k]), `${k} = ${ev[k]}`);
    assert.notEqual(ev['withCovariate.WQL'], ev['withoutCovariate.WQL'], 'the flag changes the forecast');
    const first = await runTrain({ config: b, progress: false, untilStep: 2 }, silent);
    const second = await runTrain({ config: b, progress: false, resume: true }, silent);
    assert.equal(second.startStep, 2);
    assert.deepEqual([...first.losses, ...second.losses], full.losses, 'resumed losses differ from the uninterrupted run');
    assert.ok(readFileSync(join(dir, 'A', 'ck', 'model.safetensors')).equals(readFileSync(join(dir, 'B', 'ck', 'model.safetensors'))), 'final weights differ after resume');
    assert.deepEqual(second.evals[0].metrics, ev);
    // the folder is a TiRex-2 model: forecasts with a future covariate through the public API
    const be = await WasmBackend.create({ threads: 1 });
    try {
      const m = await TiRex2.fromPretrained(join(dir, 'A', 'ck'), { backend: be });
      assert.equal(m.config.futureLength, 16);
      const target = Array.from({ length: 30 }, (_, i) => 10 + Math.sin(i));
      const promo = Array.from({ length: 40 }, (_, i) => (i % 7 < 2 ? 1 : 0));
      const f = m.forecast([{ target, futureCovariates: [promo] }, { target }], { predictionLength: 10 });
      assert.deepEqual(f.series[0].shape, [1, 9, 10]);
      assert.ok(f.series.every((s) => s.quantiles.every(Number.isFinite)));
      m.dispose();
    } finally { be.dispose(); }
    // fine-tuning from the folder; sizes come from its config.json
    const ft = tirex2Config(join(dir, 'FT'), { model: { kind: 'tirex2', init_from: join(dir, 'A', 'ck') }, optim: { lr: 0.001, steps: 1, batch_size: 2 }, eval: {} });
    writeFileSync(join(dir, 'ft.json'), JSON.stringify(ft));
    const r = await runTrain({ config: join(dir, 'ft.json'), progress: false }, silent);
    assert.equal(r.endStep, 1);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'FT', 'ck', 'config.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'A', 'ck', 'config.json'), 'utf8')));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
