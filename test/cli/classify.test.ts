// `xlstm classify` / `xlstm regress` end to end (child process on dist/src/cli/bin.js) on
// labelled synthetic tasks with the shipped default forecaster: sine vs square wave vs linear
// trend (random period, phase, amplitude, level, noise, length), held-out accuracy clearly
// above chance; a regressor recovers the log period of noisy sines. Plus the CSV layout and
// flag errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/random/rng.js';
import { parseSamplesCsv } from '../../src/cli/commands/classify.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const CLASSES = ['sine', 'square', 'trend'];

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'xlstm-classify-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

function xlstm(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One series of class k (0 sine, 1 square, 2 trend) with random shape parameters. */
function sample(rng: Rng, k: number, length: number): { values: number[]; period: number } {
  const period = rng.range(6, 30), phase = rng.range(0, 2 * Math.PI), amp = rng.range(0.5, 3), level = rng.range(-5, 5);
  const noise = rng.range(0.05, 0.3), slope = rng.range(0.02, 0.1) * (rng.bernoulli(0.5) ? 1 : -1);
  const values = Array.from({ length }, (_, t) => {
    const s = Math.sin((2 * Math.PI * t) / period + phase);
    const base = k === 0 ? amp * s : k === 1 ? amp * Math.sign(s) : slope * amp * t;
    return level + base + noise * amp * rng.normal();
  });
  return { values, period };
}

/**
 * Shuffled rows of the given classes; header id,<label column>,t1..tL (rows shorter than L end
 * in empty cells). The label column holds the class (classify) or log(period) (regress).
 */
function writeSet(path: string, rng: Rng, perClass: number, column: 'label' | 'target' = 'label', classes = [0, 1, 2]): { labels: string[]; target: number[] } {
  const rows: { label: string; values: number[]; period: number }[] = [];
  for (const k of classes) for (let i = 0; i < perClass; i++) rows.push({ label: CLASSES[k], ...sample(rng, k, rng.int(64, 96)) });
  for (let i = rows.length - 1; i > 0; i--) { const j = rng.int(0, i); [rows[i], rows[j]] = [rows[j], rows[i]]; }
  const L = 96;
  const lines = [['id', column, ...Array.from({ length: L }, (_, t) => `t${t + 1}`)].join(',')];
  rows.forEach((r, i) => lines.push([`s${i}`, column === 'label' ? r.label : Math.log(r.period).toFixed(6), ...r.values.map((v) => v.toFixed(4)), ...Array(L - r.values.length).fill('')].join(',')));
  writeFileSync(path, lines.join('\n') + '\n');
  return { labels: rows.map((r) => r.label), target: rows.map((r) => Number(Math.log(r.period).toFixed(6))) };
}

test('classify: sine vs square vs trend, held-out accuracy clearly above chance; save and reuse the head', () => {
  const rng = new Rng(20261207);
  const train = join(dir, 'train.csv'), heldOut = join(dir, 'test.csv'), out = join(dir, 'pred.csv'), head = join(dir, 'head.json');
  writeSet(train, rng, 30);
  const truth = writeSet(heldOut, rng, 20);
  const r = xlstm('classify', '--train', train, '--predict', heldOut, '--output', out, '--save', head, '--epochs', '60', '--patience', '60', '--lr', '0.01', '--seed', '1', '--threads', '2');
  assert.equal(r.code, 0, r.stderr);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(rows[0], ['id', 'predicted', 'p_sine', 'p_square', 'p_trend']);
  assert.equal(rows.length - 1, truth.labels.length);
  let correct = 0;
  rows.slice(1).forEach((row, i) => {
    assert.equal(row[0], `s${i}`);
    const p = row.slice(2).map(Number);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${i}: probabilities sum to ${p.reduce((a, b) => a + b, 0)}`);
    assert.equal(row[1], CLASSES[p.indexOf(Math.max(...p))]);
    if (row[1] === truth.labels[i]) correct++;
  });
  const acc = correct / truth.labels.length;
  // chance is 1/3; this seed measured 0.78
  assert.ok(acc >= 0.7, `held-out accuracy ${acc}; ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`accuracy ${(100 * acc).toFixed(1)}%`));
  // the saved head predicts the same without retraining
  const again = xlstm('classify', '--head', head, '--predict', heldOut, '--threads', '2');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, readFileSync(out, 'utf8'));
});

test('regress: the log period of held-out noisy sines, MSE well below the targets\' variance', () => {
  const rng = new Rng(7);
  const train = join(dir, 'rtrain.csv'), heldOut = join(dir, 'rtest.csv'), out = join(dir, 'rpred.csv');
  writeSet(train, rng, 90, 'target', [0]);
  const truth = writeSet(heldOut, rng, 45, 'target', [0]);
  const r = xlstm('regress', '--train', train, '--predict', heldOut, '--output', out, '--epochs', '100', '--patience', '100', '--lr', '0.01', '--threads', '2');
  assert.equal(r.code, 0, r.stderr);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(rows[0], ['id', 'prediction']);
  const pred = rows.slice(1).map((row) => Number(row[1]));
  assert.equal(pred.length, truth.target.length);
  const mean = truth.target.reduce((a, b) => a + b, 0) / truth.target.length;
  const mse = pred.reduce((s, p, i) => s + (p - truth.target[i]) ** 2, 0) / pred.length;
  const variance = truth.target.reduce((s, y) => s + (y - mean) ** 2, 0) / truth.target.length;
  assert.ok(mse < 0.5 * variance, `held-out MSE ${mse} vs variance of the targets ${variance}; ${r.stderr}`);
  assert.match(r.stderr, /RMSE/);
});

test('samples CSV layout: labels, ids, short rows, missing cells; errors name file, line and column', () => {
  const s = parseSamplesCsv('id,label,a,b,c\nx,1,1,2,3\ny,0,4,,\nz,1,,5,6\n', { labelCol: 'label', idCol: 'id', requireLabels: true, source: 'f.csv' });
  assert.deepEqual(s.ids, ['x', 'y', 'z']);
  assert.deepEqual(s.labels, ['1', '0', '1']);
  assert.deepEqual(s.series.map((v) => Array.from(v)), [[1, 2, 3], [4], [NaN, 5, 6]]);
  assert.throws(() => parseSamplesCsv('id,a\nx,1\n', { labelCol: 'label', idCol: 'id', requireLabels: true, source: 'f.csv' }), /f\.csv: no label column 'label'/);
  assert.throws(() => parseSamplesCsv('label,a,b\n1,2,oops\n', { labelCol: 'label', idCol: 'id', requireLabels: true, source: 'f.csv' }), /f\.csv: line 2, column 'b': 'oops' is not a number/);
  assert.throws(() => parseSamplesCsv('label,a,b\n1,2,inf\n', { labelCol: 'label', idCol: 'id', requireLabels: true, source: 'f.csv' }), /line 2, column 'b': 'inf' is not finite/);
  assert.throws(() => parseSamplesCsv('label,a,b\n1,,\n', { labelCol: 'label', idCol: 'id', requireLabels: true, source: 'f.csv' }), /line 2 has no values/);
  const noFlags = xlstm('classify', '--predict', 'x.csv');
  assert.equal(noFlags.code, 1);
  assert.match(noFlags.stderr, /give --train FILE\.csv .* or --head FILE\.json/);
  const one = join(dir, 'one.csv');
  writeFileSync(one, 'label,a,b\nA,1,2\nA,2,3\n');
  const r = xlstm('classify', '--train', one, '--save', join(dir, 'h.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /every sample has the label 'A'; a classifier needs at least 2 classes/);
});
