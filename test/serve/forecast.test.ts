// `xlstm serve` forecasting, in process on 127.0.0.1 port 0 with the shipped default
// forecaster: the official TiRex request/response format (NX-AI/tirex inference/tests/
// test_http.py), /v1/forecast with timestamps, levels and per-series errors, sessions that
// send only new observations, dynamic batching (gathered == alone, bit for bit), limits,
// API keys, overload (429 + Retry-After), health, readiness and metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { loadForecaster, resolveModelPath, LoadedForecaster } from '../../src/cli/commands/forecast.js';
import { post, get, assertNoStack } from './helpers.js';

let server: XlstmServer;
let url: string;
let direct: LoadedForecaster;

const series = (n: number, f: number, trend = 0.05) => Array.from({ length: n }, (_, i) => Math.round((Math.sin(i * f) * 10 + i * trend + 20) * 1000) / 1000);

before(async () => {
  server = await createServer({ threads: 1, batchWindowMs: 5 });
  url = await server.listen({ port: 0 });
  direct = await loadForecaster(await resolveModelPath(undefined), { threads: 1 });
});
after(async () => {
  await server?.close();
  direct?.close();
});

test('official /forecast/mean and /forecast/quantiles: request, shapes and numbers', async () => {
  // the official README's curl example
  const m = await post(`${url}/forecast/mean`, { context: [[0, 1, 2, 3]], prediction_length: 4 });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.length, 1);
  assert.equal(m.body[0].length, 4);
  const want = direct.model.forecast([Float32Array.from([0, 1, 2, 3])], { predictionLength: 4 });
  assert.deepEqual(m.body[0], Array.from(want.median[0]));
  // official test_http.py: quantiles of [[0,1,2,3]] at prediction_length 2 have shape (1, 2, 9)
  const q = await post(`${url}/forecast/quantiles`, { context: [[0, 1, 2, 3]], prediction_length: 2 });
  assert.equal(q.status, 200, q.text);
  assert.deepEqual([q.body.length, q.body[0].length, q.body[0][0].length], [1, 2, 9]);
  const wq = direct.model.forecast([Float32Array.from([0, 1, 2, 3])], { predictionLength: 2 });
  assert.deepEqual(q.body[0][1], Array.from(wq.quantiles[0][1]));
  // prediction_length defaults to 32 as in the official pydantic model
  const d = await post(`${url}/forecast/mean`, { context: [series(100, 0.2), series(40, 0.5)] });
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body.map((r: number[]) => r.length), [32, 32]);
});

test('official endpoints: bad requests get 400/413 with {error_code, error_message} and no stack', async () => {
  const cases: [unknown, number, RegExp][] = [
    ['{"context": [[1, 2]', 400, /JSON/],
    [{ context: [[1, 2]], prediction_length: 'x' }, 400, /prediction_length must be integer/],
    [{ context: [[1, 2]], prediction_length: 0 }, 400, /prediction_length must be >= 1/],
    [{ context: [[1, 'a']] }, 400, /context\/0\/1 must be number/],
    [{ prediction_length: 3 }, 400, /must have required property 'context'/],
    [{ context: [] }, 400, /at least one/],
    [{ context: [[null, null]] }, 400, /no observed value/],
    [{ context: [[1, 2]], prediction_length: 5000 }, 413, /prediction_length 5000 is above the limit 1024/],
  ];
  for (const [body, status, re] of cases) {
    const r = await post(`${url}/forecast/mean`, body);
    assert.equal(r.status, status, `${JSON.stringify(body)} -> ${r.text}`);
    assert.equal(r.body.error_code, status);
    assert.match(r.body.error_message, re);
    assertNoStack(r.text);
  }
});

test('/v1/forecast: ids, timestamps, frequency, any levels, per-series errors', async () => {
  const ts = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));
  const a = series(30, 0.3);
  const r = await post(`${url}/v1/forecast`, {
    series: [
      { id: 'a', values: a, timestamps: ts },
      { id: 'b', values: [null, null, null] },
      { id: 'c', values: a, timestamps: ts, frequency: 'h' },
      { id: 7, values: [1, 2, null, 4] },
    ],
    horizon: 3,
    quantile_levels: [0.05, 0.5, 0.95],
  });
  assert.equal(r.status, 200, r.text);
  const b = r.body;
  assert.deepEqual(b.quantile_levels, [0.05, 0.5, 0.95]);
  assert.equal(b.series.length, 4);
  const sa = b.series[0];
  assert.equal(sa.id, 'a');
  assert.equal(sa.frequency, 'D');
  assert.deepEqual(sa.timestamps, ['2024-01-31', '2024-02-01', '2024-02-02']);
  const want = direct.model.forecast([Float32Array.from(a)], { predictionLength: 3, quantileLevels: [0.05, 0.5, 0.95] });
  // forecast in one call with series 7: equal up to float32 rounding (see the batching test)
  assert.ok(maxRelDiff(sa.quantiles['0.05'], want.quantiles[0].map((q) => q[0])) < 2e-6);
  assert.ok(maxRelDiff(sa.mean, Array.from(want.median[0])) < 2e-6);
  assert.ok(sa.quantiles['0.05'][0] < sa.quantiles['0.95'][0]);
  assert.equal(b.series[1].id, 'b');
  assert.match(b.series[1].error, /series 'b' has no observed value/);
  assert.match(b.series[2].error, /frequency 'h' given, but the timestamps are D/);
  assert.equal(b.series[3].id, '7');
  assert.deepEqual(b.series[3].timestamps, ['4', '5', '6']);
  assert.equal(b.series[3].mean.length, 3);
  assert.deepEqual(b.errors.map((e: { id: string }) => e.id), ['b', 'c']);

  const bad = await post(`${url}/v1/forecast`, { series: [{ id: 'x', values: [1, 2], timestamps: ['2024-01-01'] }], horizon: 2 });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /series 'x': 1 timestamps for 2 values/);
  const noH = await post(`${url}/v1/forecast`, { series: [{ values: [1, 2] }] });
  assert.equal(noH.status, 400);
  assert.match(noH.body.error.message, /horizon \(or prediction_length\) is required/);
  const lv = await post(`${url}/v1/forecast`, { series: [{ values: [1, 2] }], horizon: 2, quantile_levels: [1.5] });
  assert.equal(lv.status, 400);
  assert.match(lv.body.error.message, /1\.5/);
  assertNoStack(lv.text);
});

test('/v1/forecast sessions: new observations only == the whole history', async () => {
  const full = series(1500, 0.11);
  const first = await post(`${url}/v1/forecast`, { series: [{ id: 's', values: full.slice(0, 1400) }], horizon: 8, session_id: 'fc-1' });
  assert.equal(first.status, 200, first.text);
  const cont = await post(`${url}/v1/forecast`, { series: [{ id: 's', values: full.slice(1400) }], horizon: 8, session_id: 'fc-1' });
  const whole = await post(`${url}/v1/forecast`, { series: [{ id: 's', values: full }], horizon: 8 });
  assert.equal(cont.status, 200, cont.text);
  assert.deepEqual(cont.body.series[0].mean, whole.body.series[0].mean);
  assert.deepEqual(cont.body.series[0].quantiles, whole.body.series[0].quantiles);
  // index timestamps continue after everything the session has seen
  assert.deepEqual(cont.body.series[0].timestamps.slice(0, 2), ['1500', '1501']);
  assert.notDeepEqual(first.body.series[0].mean, cont.body.series[0].mean);
});

/** Largest |a - b| / max(1, |b|) over two nested arrays of numbers. */
function maxRelDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) / Math.max(1, Math.abs(b));
  assert.ok(Array.isArray(a) && Array.isArray(b) && a.length === b.length, 'same shape');
  return Math.max(0, ...(a as unknown[]).map((x, i) => maxRelDiff(x, (b as unknown[])[i])));
}

test('dynamic batching: concurrent requests are gathered and get their one-at-a-time numbers', async () => {
  const ctxs = Array.from({ length: 24 }, (_, i) => series(50 + 37 * i, 0.05 + 0.03 * i, i % 3));
  const before = await metricValue('xlstm_forecast_batch_requests_count');
  const replies = await Promise.all(ctxs.map((c) => post(`${url}/forecast/quantiles`, { context: [c], prediction_length: 12 })));
  const calls = (await metricValue('xlstm_forecast_batch_requests_count')) - before;
  assert.ok(calls < ctxs.length, `24 concurrent requests ran in ${calls} forecast calls (expected fewer: gathered)`);
  // float32 rounding apart: the kernels' summation order depends on the batch's row count. The
  // default forecaster runs TiRex's bf16 emulation of the sLSTM (as the official code), so now and
  // then such a rounding difference tips a value over a bf16 rounding boundary, which moves the
  // forecast by up to one bf16 step (2^-8 relative) downstream; with bf16: false the same inputs
  // agree to ~4e-7 (checked for the v2.1 weights, where one of these 24 series tips).
  const diffs = ctxs.map((c, i) => {
    assert.equal(replies[i].status, 200, replies[i].text);
    const alone = direct.model.forecast([Float32Array.from(c)], { predictionLength: 12 });
    const d = maxRelDiff(replies[i].body[0], alone.quantiles[0].map((q) => Array.from(q)));
    assert.ok(d < 2 ** -8, `request ${i}: relative difference ${d} (more than one bf16 step)`);
    return d;
  });
  const exact = diffs.filter((d) => d < 2e-6).length;
  assert.ok(exact >= ctxs.length - 3, `only ${exact} of ${ctxs.length} requests within f32 rounding (2e-6): ${diffs.map((d) => d.toExponential(1)).join(' ')}`);
});

async function metricValue(name: string): Promise<number> {
  const m = await get(`${url}/metrics`);
  const line = m.text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('health, readiness and Prometheus metrics', async () => {
  assert.deepEqual((await get(`${url}/health`)).body, { message: 'OK' });
  const r = await get(`${url}/ready`);
  assert.equal(r.status, 200);
  assert.equal(r.body.forecaster, 'default-forecaster');
  const m = await get(`${url}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(m.text, /xlstm_http_requests_total\{route="\/forecast\/mean",method="POST",status="200"\} [1-9]/);
  assert.match(m.text, /xlstm_forecast_batch_series_bucket/);
  const nf = await get(`${url}/nope`);
  assert.equal(nf.status, 404);
  assert.match(nf.body.error.message, /no route GET \/nope/);
});

test('limits before work: body size, series count, series length', async () => {
  const s = await createServer({ threads: 1, limits: { maxBodyBytes: 2000, maxSeries: 3, maxSeriesLength: 100 } });
  const u = await s.listen({ port: 0 });
  try {
    const big = await post(`${u}/forecast/mean`, { context: [series(400, 0.1)] });
    assert.equal(big.status, 413);
    assert.match(big.body.error_message, /body is larger than the server accepts/);
    const many = await post(`${u}/v1/forecast`, { series: [1, 2, 3, 4].map((i) => ({ values: [i, i + 1] })), horizon: 2 });
    assert.equal(many.status, 413);
    assert.match(many.body.error.message, /number of series 4 is above the limit 3/);
    const long = await post(`${u}/forecast/mean`, { context: [series(101, 0.1)] });
    assert.equal(long.status, 413);
    assert.match(long.body.error_message, /length of series 0 101 is above the limit 100/);
  } finally { await s.close(); }
});

test('API keys: 401 without or with a wrong key, probes stay open', async () => {
  const s = await createServer({ threads: 1, apiKeys: ['k-one', 'k-two'] });
  const u = await s.listen({ port: 0 });
  try {
    const body = { context: [[1, 2, 3]], prediction_length: 2 };
    const none = await post(`${u}/forecast/mean`, body);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.match(none.body.error_message, /API key is required/);
    assert.equal((await post(`${u}/forecast/mean`, body, { authorization: 'Bearer k-three' })).status, 401);
    assert.equal((await post(`${u}/forecast/mean`, body, { authorization: 'Bearer k-two' })).status, 200);
    assert.equal((await post(`${u}/forecast/mean`, body, { 'x-api-key': 'k-one' })).status, 200);
    assert.equal((await get(`${u}/health`)).status, 200);
    assert.equal((await get(`${u}/ready`)).status, 200);
  } finally { await s.close(); }
});

test('overload: a full queue answers 429 with Retry-After; the rest are served', async () => {
  const s = await createServer({ threads: 1, batchWindowMs: 50, limits: { maxQueuedSeries: 4 } });
  const u = await s.listen({ port: 0 });
  try {
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => post(`${u}/forecast/mean`, { context: [series(64, 0.1 * (i + 1))], prediction_length: 4 })));
    const codes = replies.map((r) => r.status);
    assert.ok(codes.filter((c) => c === 200).length >= 4, codes.join());
    const busy = replies.filter((r) => r.status === 429);
    assert.ok(busy.length >= 1, `expected 429s, got ${codes.join()}`);
    for (const r of busy) {
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match(r.body.error_message, /forecast queue is full/);
    }
  } finally { await s.close(); }
});
