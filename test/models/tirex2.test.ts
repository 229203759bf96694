// TiRex-2: golden parity with the official tirex2 ForecastModel (case tirex2): every
// intermediate of the main call (rows, window, masks, scaler, tokens, each block's cells and
// outputs, head, de-scaled output, raw horizon), the forecasts of the main call with the
// checkpoint defaults and both TTA options, and the edge call (horizon above future_len).
// Every size and option is read from the fixture files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCase, assertClose, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { TiRex2, TiRex2Series } from '../../src/models/tirex2/model.js';
import { resolveTiRex2Config } from '../../src/models/tirex2/config.js';
import type { TiRex2SeriesRows } from '../../src/models/tirex2/pipeline.js';

const c: GoldenCase = loadCase('tirex2');
const cfg = resolveTiRex2Config(c.config, 'fixture config.json');

/** [V, T] tensor -> rows */
function rowsOf(name: string): number[][] {
  const [V, T] = c.shape(name), d = c.f32(name);
  return Array.from({ length: V }, (_, v) => Array.from(d.subarray(v * T, (v + 1) * T)));
}

/** The series of a call ('s' main, 'e' edge), in index order, from the input tensors. */
function seriesOf(prefix: string): { index: number; series: TiRex2Series }[] {
  const ids = [...c.io.keys()].map((k) => new RegExp(`^${prefix}(\\d+)_target$`).exec(k)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1]));
  ids.sort((a, b) => a - b);
  return ids.map((j) => {
    const s: TiRex2Series = { target: rowsOf(`${prefix}${j}_target`) };
    if (c.has(`${prefix}${j}_past_covariates`)) s.pastCovariates = rowsOf(`${prefix}${j}_past_covariates`);
    if (c.has(`${prefix}${j}_future_covariates`)) s.futureCovariates = rowsOf(`${prefix}${j}_future_covariates`);
    return { index: j, series: s };
  });
}

const main = seriesOf('s');
const edge = seriesOf('e');
const H = c.shape(`s${main[0].index}_forecast`)[2];
// the edge call asked for more than future_len; the files record the request
const edgeRequest: number = c.meta.sizes?.edge_H ?? cfg.futureLength + cfg.patchSize;

function asRowsF32(s: TiRex2Series): TiRex2SeriesRows {
  const f = (v: unknown) => (v === undefined ? [] : (v as number[][]).map((r) => Float32Array.from(r)));
  return { target: f(s.target), past: f(s.pastCovariates), future: f(s.futureCovariates) };
}

function i64(name: string): number[] {
  return Array.from(c.io.get(name)!.data as BigInt64Array, (v) => Number(v));
}

function check(name: string, actual: ArrayLike<number>): void {
  const { atol, rtol } = c.tol(name);
  assert.equal(actual.length, c.f32(name).length, `${name}: ${actual.length} values, expected ${c.f32(name).length} (shape [${c.shape(name)}])`);
  assertClose(`tirex2/${name}`, actual, c.f32(name), atol, rtol);
}

let be: WasmBackend;
let model: TiRex2;

before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  model = await TiRex2.fromPretrained(c.dir, { backend: be });
});
after(() => { model.dispose(); be.dispose(); });

test('config: recipe, sizes and the FFN width rule from the fixture', () => {
  assert.equal(cfg.blocks.length, c.config.stack_config.recipe.length);
  assert.equal(cfg.embeddingDim, c.config.embedding_dim);
  assert.equal(cfg.numTokens * cfg.patchSize, Math.ceil((c.config.context_len + c.config.future_len) / c.config.input_patch_size) * c.config.input_patch_size);
  if (c.meta.derived_sizes?.xlstm_ffn_width !== undefined) assert.equal(cfg.ffnDim, c.meta.derived_sizes.xlstm_ffn_width);
  if (c.meta.derived_sizes?.tokens_L !== undefined) assert.equal(cfg.numTokens, c.meta.derived_sizes.tokens_L);
  assert.deepEqual(model.config, cfg);
});

test('main call: every intermediate equals the official tensors', () => {
  const d = model.runPass(main.map((m) => asRowsF32(m.series)), H, cfg.ttaDiff, 'all');
  const R = d.batch.R;
  assert.equal(R, c.shape('batch_x')[0], 'rows');
  check('batch_x', d.batch.batchX);
  assert.deepEqual(Array.from(d.batch.group), Array.from(c.f32('batch_group_vector')));
  assert.deepEqual(Array.from(d.batch.isTarget), i64('batch_target_mask'));
  assert.deepEqual(Array.from(d.batch.isDiff), i64('batch_row_is_diff'));
  assert.deepEqual(Array.from(d.batch.known), i64('known_covariate_mask'));
  assert.deepEqual(Array.from(d.scaled.isBinary), i64('scaler_is_binary'));
  // the official window is context_len + future_len wide; ours may carry the tokenizer's left pad already
  const Wo = c.shape('model_input')[1], W = cfg.windowLength;
  const lastCols = (a: Float32Array) => { const o = new Float32Array(R * Wo); for (let r = 0; r < R; r++) o.set(a.subarray(r * W + W - Wo, (r + 1) * W), r * Wo); return o; };
  check('model_input', lastCols(d.batch.window));
  check('scaler_loc', d.scaled.loc);
  check('scaler_scale', d.scaled.scale);
  check('scaled_input', lastCols(d.scaled.scaled));
  check('tokens', d.scaled.scaled);
  for (const name of c.meta.outputs ? Object.keys(c.meta.outputs) : []) {
    const got = d.intermediates.get(name);
    if (!got) continue;
    assert.deepEqual(got.shape, c.shape(name), `${name} shape`);
    check(name, got.data);
  }
  for (let i = 0; i < cfg.blocks.length; i++) {
    for (const n of ['cell_fwd_out', 'time_mixer_out', 'out']) assert.ok(d.intermediates.has(`block${i}_${n}`), `block${i}_${n} recorded`);
    if (c.has(`block${i}_cell_rev_in`)) assert.ok(d.intermediates.has(`block${i}_cell_rev_in`));
  }
  check('head_out', d.head);
  check('forward_out', d.forward);
  check('predict_raw', d.raw);
});

for (const [suffix, opts] of [['', {}], ['_no_tta_diff', { ttaDiff: false }], ['_sign_flip', { ttaSignFlip: true }]] as const) {
  test(`main call forecasts${suffix || ' (checkpoint defaults)'}`, () => {
    const f = model.forecast(main.map((m) => m.series), { predictionLength: H, ...opts });
    assert.deepEqual(f.errors, []);
    assert.deepEqual(f.warnings, []);
    assert.equal(f.predictionLength, H);
    assert.deepEqual(f.quantileLevels, cfg.quantiles);
    main.forEach((m, j) => {
      const name = `s${m.index}_forecast${suffix}`;
      assert.deepEqual(f.series[j].shape, c.shape(name), `${name} shape`);
      check(name, f.series[j].quantiles);
    });
  });
}

test('edge call: short, binary with an all-NaN past covariate, long future covariate; horizon capped at future_len with a warning', () => {
  const warnings: string[] = [];
  const f = model.forecast(edge.map((m) => m.series), { predictionLength: edgeRequest, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(f.errors, []);
  assert.equal(f.predictionLength, cfg.futureLength);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`predictionLength ${edgeRequest} is above the model's future_len ${cfg.futureLength}`));
  assert.deepEqual(f.warnings, warnings);
  edge.forEach((m, j) => {
    const name = `e${m.index}_forecast`;
    assert.deepEqual(f.series[j].shape, c.shape(name));
    check(name, f.series[j].quantiles);
  });
});

test('each series forecast alone matches the batched call', () => {
  const all = model.forecast(main.map((m) => m.series), { predictionLength: H });
  main.forEach((m, j) => {
    const one = model.forecast([m.series], { predictionLength: H });
    const name = `s${m.index}_forecast`;
    const { atol, rtol } = c.tol(name);
    assertClose(`alone ${name}`, one.series[0].quantiles, all.series[j].quantiles, atol, rtol);
  });
  // batchSize 1 runs one pass per series
  const b1 = model.forecast(main.map((m) => m.series), { predictionLength: H, batchSize: 1 });
  main.forEach((m, j) => assertClose(`batchSize 1 s${m.index}`, b1.series[j].quantiles, all.series[j].quantiles, c.tol(`s${m.index}_forecast`).atol, c.tol(`s${m.index}_forecast`).rtol));
});

test('from model.safetensors given as a file and from in-memory tensors: same forecasts', async () => {
  const m2 = await TiRex2.fromPretrained(join(c.dir, 'model.safetensors'), { backend: be });
  const tensors = new Map([...c.model()].map(([k, v]) => [k, new Tensor('f32', v.shape, v.data as Float32Array)]));
  const m3 = await TiRex2.fromTensors(c.config, tensors, { backend: be });
  try {
    const a = model.forecast(main.map((m) => m.series), { predictionLength: H });
    for (const m of [m2, m3]) {
      const b = m.forecast(main.map((s) => s.series), { predictionLength: H });
      a.series.forEach((s, j) => assert.deepEqual(Array.from(b.series[j].quantiles), Array.from(s.quantiles)));
    }
  } finally { m2.dispose(); m3.dispose(); }
});
