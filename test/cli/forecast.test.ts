// `xlstm forecast` / `xlstm evaluate` end to end (child process on dist/src/cli/bin.js) with the
// small TiRex fixture: output rows, columns, timestamps and values against the library.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { parseSeriesCsv } from '../../src/timeseries/csv.js';
import { mase, wql } from '../../src/timeseries/metrics.js';
import { runForecast } from '../../src/cli/commands/forecast.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const MODEL = join(FIXTURES, 'tirex');
const WIDE = join(FIXTURES, 'csv', 'monthly_wide.csv');
const LONG = join(FIXTURES, 'csv', 'long_small.csv');
const BAD = join(FIXTURES, 'csv', 'bad_cell.csv');

let dir: string;
let be: WasmBackend;
let model: TiRex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlstm-forecast-'));
  be = await WasmBackend.create({ threads: 1 });
  model = await TiRex.fromPretrained(MODEL, { backend: be });
});
after(() => { model.dispose(); be.dispose(); rmSync(dir, { recursive: true, force: true }); });

function xlstm(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
}

test('forecast (wide CSV -> CSV): rows, columns, continued month-end timestamps, values equal the library', () => {
  const out = join(dir, 'out.csv');
  const H = 7;
  const r = xlstm('forecast', '--model', MODEL, '--input', WIDE, '--horizon', String(H), '--quantiles', '0.1,0.5,0.9', '--output', out, '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const rows = readCsv(out);
  assert.deepEqual(rows[0], ['id', 'timestamp', 'median', '0.1', '0.5', '0.9']);
  const data = parseSeriesCsv(readFileSync(WIDE, 'utf8'));
  const ids = data.series.map((s) => s.id);
  assert.equal(rows.length - 1, ids.length * H);
  const last = data.series[0].timestamps!.at(-1)!;
  assert.equal(last, '2019-12-31');
  assert.deepEqual(rows.slice(1, H + 1).map((r) => r[1]), ['2020-01-31', '2020-02-29', '2020-03-31', '2020-04-30', '2020-05-31', '2020-06-30', '2020-07-31']);
  const lib = model.forecast(data.series.map((s) => Float32Array.from(s.values)), { predictionLength: H, quantileLevels: [0.1, 0.5, 0.9] });
  assert.equal(lib.errors.length, 0);
  ids.forEach((id, s) => {
    for (let t = 0; t < H; t++) {
      const row = rows[1 + s * H + t];
      assert.equal(row[0], id);
      assert.equal(Math.fround(Number(row[2])), lib.median[s][t], `${id} median t=${t}`);
      for (let k = 0; k < 3; k++) assert.equal(Math.fround(Number(row[3 + k])), lib.quantiles[s][t][k], `${id} q${k} t=${t}`);
    }
  });
});

test('forecast (long CSV -> JSON + SVG): bad series reported on stderr and kept with null values, the others forecast, exit 3', () => {
  const out = join(dir, 'out.json');
  const svg = join(dir, 'out.svg');
  const r = xlstm('forecast', '--model', MODEL, '--input', LONG, '--horizon', '3', '--output', out, '--plot', svg, '--threads', '1', '--batch-size', '1');
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^xlstm forecast: skipped series 'lonely': cannot infer the frequency from 1 timestamp\(s\); need at least 2\n$/);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.horizon, 3);
  assert.deepEqual(j.quantileLevels, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(j.series.map((s: { id: string }) => s.id), ['hourly', 'lonely', 'daily']);
  const [hourly, lonely, daily] = j.series;
  assert.match(lonely.error, /cannot infer the frequency/);
  // one timestamp: no frequency, so no future timestamps either; the values are null
  assert.deepEqual([lonely.frequency, lonely.timestamps, lonely.median, lonely.quantiles['0.5']], [null, [null, null, null], [null, null, null], [null, null, null]]);
  assert.equal(hourly.error, undefined);
  assert.equal(hourly.frequency, 'h');
  assert.deepEqual(hourly.timestamps, ['2024-03-11 04:00', '2024-03-11 05:00', '2024-03-11 06:00']);
  assert.equal(daily.frequency, 'D');
  assert.deepEqual(daily.timestamps, ['2024-03-03', '2024-03-04', '2024-03-05']);
  const data = parseSeriesCsv(readFileSync(LONG, 'utf8'));
  const ctx = [data.series[0], data.series[2]].map((s) => Float32Array.from(s.values));
  // batch size 1 as in the command (batching left-pads with NaN, which changes the last bits)
  const lib = model.forecast(ctx, { predictionLength: 3, batchSize: 1 });
  [hourly, daily].forEach((s, i) => {
    assert.deepEqual(s.median.map(Math.fround), Array.from(lib.median[i]));
    assert.deepEqual(s.quantiles['0.9'].map(Math.fround), lib.quantiles[i].map((q) => q[8]));
  });
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.deepEqual([...text.matchAll(/class="panel" data-id="([^"]*)"/g)].map((m) => m[1]), ['hourly', 'daily']);
  assert.equal(text.match(/<g /g)!.length, text.match(/<\/g>/g)!.length);
});

test('forecast without --output writes CSV to stdout; --context-length truncates the context', () => {
  const r = xlstm('forecast', '--model', MODEL, '--input', WIDE, '--horizon', '2', '--quantiles', '0.5', '--context-length', '24', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(rows[0], ['id', 'timestamp', 'median', '0.5']);
  const data = parseSeriesCsv(readFileSync(WIDE, 'utf8'));
  const lib = model.forecast(data.series.map((s) => Float32Array.from(s.values.subarray(s.values.length - 24))), { predictionLength: 2, quantileLevels: [0.5] });
  assert.equal(Math.fround(Number(rows[1][2])), lib.median[0][0]);
  assert.equal(Math.fround(Number(rows[4][3])), lib.quantiles[1][1][0]);
});

test('evaluate --json: held-out scores match the library forecast and the metrics', () => {
  const H = 12;
  const r = xlstm('evaluate', '--model', MODEL, '--input', WIDE, '--horizon', String(H), '--json', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const data = parseSeriesCsv(readFileSync(WIDE, 'utf8'));
  const hist = data.series.map((s) => s.values.subarray(0, s.values.length - H));
  const act = data.series.map((s) => s.values.subarray(s.values.length - H));
  const lib = model.forecast(hist.map((h) => Float32Array.from(h)), { predictionLength: H });
  assert.deepEqual(j.series.map((s: { id: string; m: number }) => [s.id, s.m]), [['sales', 12], ['visits', 12]]);
  data.series.forEach((_, i) => {
    const s = j.series[i];
    assert.ok(Math.abs(s.mase - mase(act[i], lib.median[i], hist[i], 12)) < 1e-12);
    assert.ok(Math.abs(s.wql - wql([act[i]], [lib.quantiles[i]], lib.quantileLevels)) < 1e-12);
    assert.ok(Math.abs(s.relMase - s.mase / s.naiveMase) < 1e-12);
  });
  const g = Math.sqrt(j.series[0].relWql * j.series[1].relWql);
  assert.ok(Math.abs(j.aggregate.relWql.value - g) < 1e-12);
  assert.equal(j.aggregate.series, 2);
  // the table form prints the same numbers
  const t = xlstm('evaluate', '--model', MODEL, '--input', WIDE, '--horizon', String(H), '--threads', '1');
  assert.equal(t.code, 0, t.stderr);
  const salesRow = t.stdout.split('\n').find((l) => l.startsWith('sales'))!.trim().split(/\s+/);
  assert.equal(salesRow[2], j.series[0].mase.toFixed(4));
  assert.match(t.stdout, /^all \(2\)/m);
});

test('bad input: one clear line on stderr, exit code 1', () => {
  const cases: [string[], RegExp][] = [
    [['forecast', '--model', MODEL, '--input', BAD, '--horizon', '3'], /^xlstm: .*bad_cell\.csv: line 3, column 'b' \(3\): 'abc' is not a number/],
    [['forecast', '--model', MODEL, '--input', WIDE, '--horizon', '0'], /^xlstm: --horizon must be a positive integer, got '0'$/],
    [['forecast', '--model', MODEL, '--input', join(dir, 'missing.csv'), '--horizon', '3'], /^xlstm: input file: cannot read '.*missing\.csv': no such file$/],
    [['forecast', '--model', MODEL, '--horizon', '3'], /^xlstm: no input: give a CSV file/],
    [['forecast', WIDE, '--model', MODEL, '--input', BAD, '--horizon', '3'], /^xlstm: two input files given: '.*' and --input '.*bad_cell\.csv'$/],
    [['forecast', '--model', join(dir, 'nomodel'), '--input', WIDE, '--horizon', '3'], /^xlstm: --model '.*nomodel': .*does not exist/],
    [['evaluate', '--model', MODEL, '--input', WIDE, '--horizon', '60'], /^xlstm: no series could be evaluated: series 'sales': has 60 values, needs more than the horizon 60/],
    [['forecast', '--model', MODEL, '--input', WIDE, '--horizon', '3', '--quantiles', '0.5,1.5'], /^xlstm: --quantiles: '1.5' is not a level strictly between 0 and 1$/],
  ];
  for (const [args, re] of cases) {
    const r = xlstm(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
});

test('runForecast in process with a loaded model (no child process)', async () => {
  const input = join(dir, 'idx.csv');
  writeFileSync(input, 'a,b\n1,10\n2,11\n3,12\n4,13\n');
  let stdout = '';
  const run = await runForecast({ input, horizon: 2, quantiles: '0.5' }, { stdout: (s) => { stdout += s; }, stderr: () => {} }, { model, close: () => {} });
  assert.deepEqual(run.series.map((s) => [s.id, s.timestamps]), [['a', ['4', '5']], ['b', ['4', '5']]]);
  assert.equal(stdout.split('\n')[1].split(',')[1], '4');
});

test('runForecast --plot with --quantiles 0.5: the band levels are added for the plot only', async () => {
  const out = join(dir, 'q50.csv'), svg = join(dir, 'q50.svg');
  const run = await runForecast({ input: WIDE, horizon: 4, quantiles: '0.5', output: out, plot: svg }, { stdout: () => {}, stderr: () => {} }, { model, close: () => {} });
  assert.deepEqual(run.quantileLevels, [0.5]);
  assert.deepEqual(readCsv(out)[0], ['id', 'timestamp', 'median', '0.5']);
  const text = readFileSync(svg, 'utf8');
  assert.equal(text.match(/class="band"/g)!.length, 2);
  assert.match(text, /median · 10-90%/);
  // the band is the 0.1 / 0.9 forecast of the library
  const data = parseSeriesCsv(readFileSync(WIDE, 'utf8'));
  const lib = model.forecast(data.series.map((s) => Float32Array.from(s.values)), { predictionLength: 4, quantileLevels: [0.5, 0.1, 0.9] });
  assert.equal(Math.fround(Number(readCsv(out)[1][3])), lib.quantiles[0][0][0]);
});
