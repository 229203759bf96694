import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseEvalManifest, buildEvalTasks, evalFileOf } from '../../src/data/evalSet.js';
import { normalQuantile, loadEvalTasks } from '../../bench/evalBaselines.js';

test('eval set: manifest and CSVs agree; history/actual split by the horizon', () => {
  const tasks = loadEvalTasks('data/eval');
  const manifest = parseEvalManifest(readFileSync('data/eval/manifest.csv', 'utf8'));
  assert.equal(tasks.length, manifest.length);
  const ap = tasks.find((t) => t.id === 'AirPassengers')!;
  assert.equal(ap.m, 12); assert.equal(ap.horizon, 18);
  assert.equal(ap.history.length, 144 - 18);
  assert.equal(ap.history[0], 112); assert.equal(ap.actual[17], 432); // R: AirPassengers[1], AirPassengers[144]
  assert.equal(ap.timestamps![0], '1949-01-01');
  const gold = tasks.find((t) => t.id === 'gold')!;
  assert.ok(gold.history.some(Number.isNaN), 'gold has missing values');
  for (const t of tasks) assert.ok(t.history.length > t.m, `${t.id}: history ${t.history.length} vs m ${t.m}`);
  const freqs = new Set(tasks.map((t) => t.frequency));
  for (const f of ['monthly', 'quarterly', 'yearly', 'daily', 'bdaily', 'hourly']) assert.ok(freqs.has(f), f);
});

test('eval set: inconsistent inputs are errors naming the series', () => {
  const manifest = parseEvalManifest('id,frequency,seasonality,horizon,length\nx,monthly,12,2,3\n');
  assert.equal(evalFileOf('bdaily'), 'daily.csv');
  assert.throws(() => buildEvalTasks(manifest, {}), /file 'monthly.csv'/);
  assert.throws(() => buildEvalTasks(manifest, { 'monthly.csv': 'id,timestamp,value\ny,2000-01-01,1\n' }), /series 'x' is not in monthly.csv/);
  assert.throws(() => buildEvalTasks(manifest, { 'monthly.csv': 'id,timestamp,value\nx,2000-01-01,1\nx,2000-02-01,2\n' }), /'x' has 2 values, the manifest says 3/);
  const ok = buildEvalTasks(manifest, { 'monthly.csv': 'id,timestamp,value\nx,2000-01-01,1\nx,2000-02-01,\nx,2000-03-01,3\n' });
  assert.deepEqual([...ok[0].history], [1]);
  assert.ok(Number.isNaN(ok[0].actual[0])); assert.equal(ok[0].actual[1], 3);
  assert.throws(() => parseEvalManifest('id,frequency,seasonality,horizon,length\nx,monthly,0,2,3\n'), /seasonality = '0'/);
});

test('normalQuantile matches known values', () => {
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  assert.ok(Math.abs(normalQuantile(0.9) - 1.2815515655446004) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.1) + 1.2815515655446004) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232306167813) < 1e-8);
  assert.throws(() => normalQuantile(1), /p must be in \(0, 1\)/);
});
