// `xlstm forecast` / `xlstm evaluate` with TiRex-2 columns (--target, --past-covariates,
// --future-covariates) on a tiny random-weight TiRex-2 saved by the test: wide and long CSV,
// future covariates from the rows after the last target value, per-series errors for a
// missing future value, the horizon cap, bad flags; values equal the library's forecast.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex2 } from '../../src/models/tirex2/model.js';
import { resolveTiRex2Config } from '../../src/models/tirex2/config.js';
import { randomTiRex2Weights, saveTiRex2Checkpoint, tirex2ConfigJson } from '../../src/models/tirex2/init.js';
import { runForecast, CommandIo } from '../../src/cli/commands/forecast.js';
import { runEvaluate } from '../../src/cli/commands/evaluate.js';
import { ArgumentError, InputError } from '../../src/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

let dir: string, modelDir: string;
let be: WasmBackend;
let model: TiRex2;
const F = 8; // the test model's future_len
const T = 40, H = 6;

function day(k: number): string { return new Date(Date.UTC(2024, 0, 1) + k * 86400000).toISOString().slice(0, 10); }
const y1 = (k: number) => 10 + Math.sin(k / 3) + 0.05 * k;
const y2 = (k: number) => 5 + Math.cos(k / 4);
const x1 = (k: number) => Math.sin(k / 5);
const holiday = (k: number) => (k % 7 === 5 ? 1 : 0);
const price = (k: number) => 2 + 0.1 * (k % 4);

/** Wide file: T context rows, then `fut` rows with empty targets and past covariate. */
function wideCsv(fut: number, drop?: { row: number; col: 'price' }): string {
  const lines = ['date,y1,y2,x1,holiday,price'];
  for (let k = 0; k < T + fut; k++) {
    const ctx = k < T;
    const p = drop && drop.row === k ? '' : String(price(k));
    lines.push([day(k), ctx ? y1(k) : '', ctx ? y2(k) : '', ctx ? x1(k) : '', holiday(k), p].join(','));
  }
  return lines.join('\n') + '\n';
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlstm-tirex2-cli-'));
  modelDir = join(dir, 'model');
  const json = tirex2ConfigJson({ embeddingDim: 16, numHeads: 2, numBlocks: 2, patchSize: 4, contextLength: 32, futureLength: F, inputFfDim: 16, hExpand: 2 });
  const cfg = resolveTiRex2Config(json);
  await saveTiRex2Checkpoint(modelDir, json, cfg, randomTiRex2Weights(cfg, 21, 0.05));
  be = await WasmBackend.create({ threads: 1 });
  model = await TiRex2.fromPretrained(modelDir, { backend: be });
});
after(() => { model.dispose(); be.dispose(); rmSync(dir, { recursive: true, force: true }); });

function capture(): CommandIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (s: string) => { io.out += s; }, stderr: (s: string) => { io.err += s; } };
  return io;
}

const range = (n: number, f: (k: number) => number, from = 0) => Array.from({ length: n }, (_, k) => f(from + k));

test('forecast, wide CSV: targets y1,y2 with past x1 and future holiday,price equal the library', async () => {
  const input = join(dir, 'wide.csv');
  writeFileSync(input, wideCsv(H + 2));
  const io = capture();
  const run = await runForecast({ input, model: modelDir, horizon: String(H), target: 'y1,y2', pastCovariates: 'x1', futureCovariates: 'holiday,price', threads: '1' }, io);
  assert.equal(io.err, '');
  const lines = io.out.trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(lines[0], ['id', 'target', 'timestamp', 'median', ...model.config.quantiles.map(String)]);
  assert.equal(lines.length, 1 + 2 * H);
  assert.deepEqual(lines.slice(1, 1 + H).map((l) => l[2]), range(H, (k) => k).map((k) => day(T + k)));
  assert.deepEqual(lines.slice(1).map((l) => l[1]), [...Array(H).fill('y1'), ...Array(H).fill('y2')]);
  const lib = model.forecast([{
    target: [range(T, y1), range(T, y2)], pastCovariates: [range(T, x1)], futureCovariates: [range(T + H, holiday), range(T + H, price)],
  }], { predictionLength: H });
  const Q = model.config.quantiles.length;
  for (let v = 0; v < 2; v++) {
    for (let t = 0; t < H; t++) {
      const row = lines[1 + v * H + t];
      for (let q = 0; q < Q; q++) assert.equal(Number(row[4 + q]), Number(lib.series[0].quantiles[(v * Q + q) * H + t].toPrecision(9)), `target ${v} step ${t} level ${q}`);
    }
  }
  assert.equal(run.errors.length, 0);
  // the future covariates matter: without them the forecast differs
  const io2 = capture();
  await runForecast({ input, model: modelDir, horizon: String(H), target: 'y1,y2', pastCovariates: 'x1', threads: '1' }, io2);
  assert.notEqual(io2.out, io.out);
});

test('forecast, long CSV: interleaved ids; a missing future value fails only that series, naming column, timestamp and step', async () => {
  const input = join(dir, 'long.csv');
  const lines = ['id,date,y1,holiday,price'];
  for (let k = 0; k < T + H; k++) {
    for (const id of ['a', 'b']) {
      const ctx = k < T;
      const p = id === 'b' && k === T + 2 ? '' : String(price(k));
      lines.push([id, day(k), ctx ? y1(k) + (id === 'b' ? 3 : 0) : '', holiday(k), p].join(','));
    }
  }
  writeFileSync(input, lines.join('\n') + '\n');
  const io = capture();
  const out = join(dir, 'long.json');
  const run = await runForecast({ input, model: modelDir, horizon: String(H), target: 'y1', futureCovariates: 'holiday,price', output: out, threads: '1' }, io);
  assert.equal(run.errors.length, 1);
  assert.match(io.err, new RegExp(`skipped series 'b': future covariate 'price' has no value at timestamp '${day(T + 2)}', line \\d+ \\(step 3 of the horizon ${H}\\)`));
  const json = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(json.series.map((s: { id: string; target: string }) => [s.id, s.target]), [['a', 'y1'], ['b', 'y1']]);
  assert.ok(json.series[0].median.every((v: number | null) => typeof v === 'number'));
  assert.ok(json.series[1].median.every((v: number | null) => v === null) && /price/.test(json.series[1].error));
  const lib = model.forecast([{ target: range(T, y1), futureCovariates: [range(T + H, holiday), range(T + H, price)] }], { predictionLength: H });
  json.series[0].median.forEach((v: number, t: number) => assert.equal(v, Number(lib.series[0].median[t].toPrecision(9))));
});

test('too few horizon rows, horizon above future_len, bad flags and columns', async () => {
  const input = join(dir, 'short.csv');
  writeFileSync(input, wideCsv(2));
  await assert.rejects(runForecast({ input, model: modelDir, horizon: String(H), target: 'y1', futureCovariates: 'price' }, capture()),
    (e: unknown) => e instanceof InputError && new RegExp(`need ${H} rows after the last target value \\(timestamp '${day(T - 1)}'`).test((e as Error).message));
  const io = capture();
  const run = await runForecast({ input, model: modelDir, horizon: String(F + 3), target: 'y1' }, io);
  assert.match(io.err, new RegExp(`predictionLength ${F + 3} is above the model's future_len ${F}`));
  assert.equal(run.series[0].median.length, F);
  await assert.rejects(runForecast({ input, model: modelDir, horizon: '3', futureCovariates: 'price' }, capture()), (e: unknown) => e instanceof ArgumentError && /need --target/.test((e as Error).message));
  await assert.rejects(runForecast({ input, model: modelDir, horizon: '3', target: 'y1', pastCovariates: 'nope' }, capture()), (e: unknown) => e instanceof InputError && /past covariate column 'nope' not found; the header has 'date', 'y1'/.test((e as Error).message));
  await assert.rejects(runForecast({ input, model: modelDir, horizon: '3', target: 'y1', pastCovariates: 'y1' }, capture()), /column 'y1' is named twice/);
  await assert.rejects(runForecast({ input, horizon: '3', target: 'y1' }, capture()), /need a TiRex-2 model: give --model/);
  await assert.rejects(runForecast({ input, model: modelDir, horizon: '3', target: 'y1,,y2' }, capture()), /--target must list column names/);
});

test('evaluate with covariates: the held-out rows keep their future covariates; scores are finite', async () => {
  const input = join(dir, 'eval.csv');
  writeFileSync(input, wideCsv(0));
  const io = capture();
  const r = await runEvaluate({ input, model: modelDir, horizon: String(H), target: 'y1,y2', pastCovariates: 'x1', futureCovariates: 'holiday,price', json: true, threads: '1' }, io);
  assert.deepEqual(r.all.map((a) => a.id), ['series/y1', 'series/y2']);
  assert.equal(r.series.length, 2);
  for (const s of r.series) assert.ok(Number.isFinite(s.mase) && Number.isFinite(s.wql), `${s.id}: ${s.mase} ${s.wql}`);
  await assert.rejects(runEvaluate({ input, model: modelDir, horizon: String(F + 1), target: 'y1' }, capture()), (e: unknown) => e instanceof ArgumentError && new RegExp(`--horizon ${F + 1} is above the model's future_len ${F}`).test((e as Error).message));
  const j = JSON.parse(io.out);
  assert.equal(j.horizon, H);
  // the same as forecasting the first T - H rows with the next H future values known
  const lib = model.forecast([{ target: [range(T - H, y1), range(T - H, y2)], pastCovariates: [range(T - H, x1)], futureCovariates: [range(T, holiday), range(T, price)] }], { predictionLength: H });
  let err = 0;
  for (let t = 0; t < H; t++) err += Math.abs(lib.series[0].median[t] - y1(T - H + t));
  const m = r.series[0].m, n = T - H - m;
  const scale = range(n, (k) => Math.abs(y1(k + m) - y1(k))).reduce((a, b) => a + b, 0) / n;
  assert.ok(Math.abs(r.series[0].mase - err / H / scale) < 1e-4, `MASE ${r.series[0].mase} vs ${err / H / scale}`);
});

test('a TiRex-2 folder without --target forecasts every column as a univariate series', async () => {
  const input = join(dir, 'uni.csv');
  writeFileSync(input, ['date,a,b', ...range(T, (k) => k).map((k) => `${day(k)},${y1(k)},${y2(k)}`)].join('\n') + '\n');
  const io = capture();
  const run = await runForecast({ input, model: modelDir, horizon: '4', threads: '1' }, io);
  const lib = model.forecast([{ target: range(T, y1) }, { target: range(T, y2) }], { predictionLength: 4 });
  run.series.forEach((s, i) => assert.deepEqual(Array.from(s.median), Array.from(lib.series[i].median)));
});

test('xlstm forecast end to end (child process)', () => {
  const input = join(dir, 'e2e.csv');
  writeFileSync(input, wideCsv(H));
  const r = spawnSync(process.execPath, [BIN, 'forecast', input, '--model', modelDir, '--target', 'y1,y2', '--past-covariates', 'x1', '--future-covariates', 'holiday,price', '--horizon', String(H), '--threads', '1'],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1 + 2 * H);
  assert.ok(lines[0].startsWith('id,target,timestamp,median'));
  const bad = spawnSync(process.execPath, [BIN, 'forecast', input, '--model', modelDir, '--target', 'y1', '--future-covariates', 'holiday,price', '--horizon', String(H + 1)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /need 7 rows after the last target value/);
});
