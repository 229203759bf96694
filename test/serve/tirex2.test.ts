// `xlstm serve` with a TiRex-2 forecaster (a small random model written in the official
// layout): /v1/forecast takes several named targets and past / future covariates and answers
// exactly what TiRex2.forecast gives for the same rows (alone or gathered with others); plain
// series and the official /forecast/* routes still work; bad layouts are 400s naming the series
// and the field; a univariate (TiRex) server refuses covariates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex2 } from '../../src/models/tirex2/model.js';
import { resolveTiRex2Config } from '../../src/models/tirex2/config.js';
import { randomTiRex2Weights, saveTiRex2Checkpoint, tirex2ConfigJson } from '../../src/models/tirex2/init.js';
import { post, assertNoStack } from './helpers.js';

let dir: string;
let server: XlstmServer;
let url: string;
let be: WasmBackend;
let direct: TiRex2;

const wave = (n: number, f: number, off = 20) => Array.from({ length: n }, (_, i) => Math.round((Math.sin(i * f) * 5 + off + i * 0.01) * 1000) / 1000);
const flag = (n: number) => Array.from({ length: n }, (_, i) => (i % 9 < 3 ? 1 : 0));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlstm-serve-tirex2-'));
  const json = tirex2ConfigJson({ embeddingDim: 16, numHeads: 2, numBlocks: 2, patchSize: 8, contextLength: 48, futureLength: 16, inputFfDim: 32, hExpand: 2 });
  const cfg = resolveTiRex2Config(json);
  // perturbed: zero-initialised paths (recurrent kernels, gate weights) carry signal too
  await saveTiRex2Checkpoint(join(dir, 'tiny-tirex2'), json, cfg, randomTiRex2Weights(cfg, 11, 0.05));
  server = await createServer({ forecaster: join(dir, 'tiny-tirex2'), threads: 1, batchWindowMs: 20 });
  url = await server.listen({ port: 0 });
  be = await WasmBackend.create({ threads: 1 });
  direct = await TiRex2.fromPretrained(join(dir, 'tiny-tirex2'), { backend: be });
});
after(async () => {
  await server?.close();
  direct?.dispose();
  be?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const f32 = (a: number[]) => Float32Array.from(a);

test('TiRex-2 /v1/forecast: named targets with past and future covariates equal TiRex2.forecast on the same rows', async () => {
  const T = 40, H = 12;
  const body = {
    horizon: H,
    series: [
      { id: 'store-1', targets: { sales: wave(T, 0.3), returns: wave(T, 0.5, 5) }, past_covariates: { temp: wave(T, 0.1, 15) }, future_covariates: { promo: flag(T + H + 3), price: wave(T + H, 0.05, 9) } },
      { id: 'store-2', values: wave(30, 0.2), future_covariates: { promo: flag(30 + H) } },
      { id: 'plain', values: wave(35, 0.4) },
    ],
  };
  const r = await post(`${url}/v1/forecast`, body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.errors, []);
  assert.equal(r.body.horizon, H);
  const [s1, s2, s3] = r.body.series;
  assert.deepEqual(Object.keys(s1.targets), ['sales', 'returns']);
  assert.equal(s1.timestamps.length, H);
  assert.equal(s1.timestamps[0], String(T));
  const want = direct.forecast([
    { target: [f32(wave(T, 0.3)), f32(wave(T, 0.5, 5))], pastCovariates: [f32(wave(T, 0.1, 15))], futureCovariates: [f32(flag(T + H + 3)), f32(wave(T + H, 0.05, 9))] },
    { target: f32(wave(30, 0.2)), futureCovariates: [f32(flag(30 + H))] },
    { target: f32(wave(35, 0.4)) },
  ], { predictionLength: H });
  const Q = want.quantileLevels.length;
  const close = (got: number[], exp: ArrayLike<number>, what: string) => {
    assert.equal(got.length, exp.length, what);
    // gathered with other requests, the summation order may differ in the last bits (as TiRex)
    got.forEach((g, i) => assert.ok(Math.abs(g - exp[i]) <= 1e-5 * Math.max(1, Math.abs(exp[i])), `${what}[${i}]: ${g} vs ${exp[i]}`));
  };
  ['sales', 'returns'].forEach((name, v) => {
    close(s1.targets[name].mean, want.series[0].median.subarray(v * H, (v + 1) * H), `${name} mean`);
    want.quantileLevels.forEach((l, q) => close(s1.targets[name].quantiles[String(l)], want.series[0].quantiles.subarray((v * Q + q) * H, (v * Q + q + 1) * H), `${name} q${l}`));
  });
  close(s2.mean, want.series[1].median, 'store-2 mean');
  close(s3.mean, want.series[2].median, 'plain mean');
  // the covariates change the forecast: the same target without them differs
  const alone = await post(`${url}/v1/forecast`, { horizon: H, series: [{ id: 'store-2', values: wave(30, 0.2) }] });
  assert.equal(alone.status, 200, alone.text);
  assert.notDeepEqual(alone.body.series[0].mean, s2.mean);
  // context_length cuts targets, past covariates and the front of the future covariates alike
  const cut = await post(`${url}/v1/forecast`, { ...body, series: [body.series[0]], context_length: 24 });
  assert.equal(cut.status, 200, cut.text);
  const wc = direct.forecast([{ target: [f32(wave(T, 0.3).slice(16)), f32(wave(T, 0.5, 5).slice(16))], pastCovariates: [f32(wave(T, 0.1, 15).slice(16))], futureCovariates: [f32(flag(T + H + 3).slice(16)), f32(wave(T + H, 0.05, 9).slice(16))] }], { predictionLength: H });
  close(cut.body.series[0].targets.sales.mean, wc.series[0].median.subarray(0, H), 'context_length sales');
});

test('TiRex-2 server: gathered requests equal requests alone; official routes and quantile levels work', async () => {
  const H = 8;
  const reqs = [0.2, 0.35, 0.5].map((f, k) => ({ horizon: H, quantile_levels: [0.25, 0.5, 0.75], series: [{ id: `s${k}`, values: wave(32, f), future_covariates: { promo: flag(40) } }] }));
  const together = await Promise.all(reqs.map((b) => post(`${url}/v1/forecast`, b)));
  for (const [k, b] of reqs.entries()) {
    const alone = await post(`${url}/v1/forecast`, b);
    assert.equal(alone.status, 200, alone.text);
    assert.deepEqual(Object.keys(alone.body.series[0].quantiles), ['0.25', '0.5', '0.75']);
    alone.body.series[0].mean.forEach((v: number, t: number) => assert.ok(Math.abs(v - together[k].body.series[0].mean[t]) <= 1e-5 * Math.max(1, Math.abs(v))));
  }
  const models = await (await fetch(`${url}/v1/models`)).json() as { data: { id: string; xlstm: Record<string, unknown> }[] };
  assert.deepEqual(models.data[0].xlstm, { kind: 'forecaster', quantile_levels: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], context_length: 48, covariates: true, future_length: 16 });
  assert.equal(models.data[0].id, 'tiny-tirex2');
  const m = await post(`${url}/forecast/mean`, { context: [wave(30, 0.3)], prediction_length: 5 });
  assert.equal(m.status, 200, m.text);
  const want = direct.forecast([{ target: f32(wave(30, 0.3)) }], { predictionLength: 5 });
  m.body[0].forEach((v: number, t: number) => assert.ok(Math.abs(v - want.series[0].median[t]) <= 1e-5 * Math.max(1, Math.abs(v))));
});

test('TiRex-2 server: bad layouts are 400s naming the series and the field; horizon above future_len is refused', async () => {
  const T = 20;
  const cases: [unknown, number, RegExp][] = [
    [{ horizon: 4, series: [{ id: 'a' }] }, 400, /series 'a': give values \(one target\) or targets/],
    [{ horizon: 4, series: [{ id: 'a', values: wave(T, 1), targets: { y: wave(T, 1) } }] }, 400, /series 'a': .*not both/],
    [{ horizon: 4, series: [{ id: 'a', targets: {} }] }, 400, /series 'a': targets is empty/],
    [{ horizon: 4, series: [{ id: 'a', targets: { y: wave(T, 1), z: wave(T - 1, 1) } }] }, 400, /series 'a': target 'z' has 19 values, expected 20/],
    [{ horizon: 4, series: [{ id: 'a', values: wave(T, 1), past_covariates: { x: wave(T + 1, 1) } }] }, 400, /series 'a': past covariate 'x' has 21 values, expected 20/],
    [{ horizon: 4, series: [{ id: 'a', values: wave(T, 1), future_covariates: { p: flag(T + 3) } }] }, 400, /series 'a': future covariate 'p' has 23 values, expected at least 24 \(the targets' 20 plus the horizon 4\)/],
    [{ horizon: 4, series: [{ id: 'a', targets: { y: wave(T, 1) }, future_covariates: { y: flag(T + 4) } }] }, 400, /'y' is named in targets and in future_covariates/],
    [{ horizon: 4, session_id: 'abc', series: [{ id: 'a', values: wave(T, 1), future_covariates: { p: flag(T + 4) } }] }, 400, /session_id does not apply to series with future_covariates/],
    [{ horizon: 4, series: [{ id: 'a', values: wave(T, 1), future_covariates: { p: [1, 'x'] } }] }, 400, /must be number/],
    [{ horizon: 17, series: [{ id: 'a', values: wave(T, 1) }] }, 413, /prediction_length 17 is above the limit 16 .*future_len/],
    [{ horizon: 4, raw_quantiles: true, series: [{ id: 'a', values: wave(T, 1) }] }, 400, /raw_quantiles does not apply to a TiRex-2 forecaster/],
  ];
  for (const [body, status, re] of cases) {
    const r = await post(`${url}/v1/forecast`, body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 120)} -> ${r.status} ${r.text}`);
    assert.match(r.text, re);
    assertNoStack(r.text);
  }
  // a series the model cannot forecast is listed in errors; the others are answered
  const mixed = await post(`${url}/v1/forecast`, { horizon: 4, series: [{ id: 'empty', values: [null, null, null], future_covariates: { p: flag(7) } }, { id: 'ok', values: wave(T, 1) }] });
  assert.equal(mixed.status, 200, mixed.text);
  assert.equal(mixed.body.errors.length, 1);
  assert.equal(mixed.body.errors[0].id, 'empty');
  assert.match(mixed.body.errors[0].message, /no observed value/);
  assert.equal(mixed.body.series[1].mean.length, 4);
});

test('a TiRex (univariate) server refuses covariates with a clear 400', async () => {
  const s = await createServer({ threads: 1 });
  try {
    const u = await s.listen({ port: 0 });
    const r = await post(`${u}/v1/forecast`, { horizon: 4, series: [{ id: 'a', values: wave(20, 1), future_covariates: { p: flag(24) } }] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /future_covariates need a TiRex-2 forecaster; this server's forecaster 'default-forecaster' is univariate/);
  } finally { await s.close(); }
});
