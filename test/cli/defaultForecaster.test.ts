// The shipped default forecaster (models/default-forecaster): `xlstm forecast data.csv
// --horizon 12` works with no --model and no download, and the API loader gives the same model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { loadDefaultForecaster, defaultForecasterPath } from '../../src/models/tirex/defaultForecaster.js';
import { parseSeriesCsv } from '../../src/timeseries/csv.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

/** 10 years of a monthly series: trend + yearly season (deterministic). */
function monthlyCsv(): string {
  const rows = ['date,sales'];
  for (let i = 0; i < 120; i++) {
    const y = 2010 + Math.floor(i / 12), m = (i % 12) + 1;
    const last = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
    rows.push(`${last},${(100 + 0.5 * i + 20 * Math.sin((2 * Math.PI * i) / 12)).toFixed(3)}`);
  }
  return rows.join('\n') + '\n';
}

test('the default forecaster ships in the package (model.safetensors + config.json, a few MB)', async () => {
  const dir = await defaultForecasterPath();
  assert.ok(dir !== undefined, 'models/default-forecaster/model.safetensors is missing');
  assert.equal(dir, join(ROOT, 'models', 'default-forecaster') + '/');
  for (const f of ['model.safetensors', 'config.json', 'README.md']) assert.ok(existsSync(join(dir, f)), f);
  const bytes = readFileSync(join(dir, 'model.safetensors')).length;
  assert.ok(bytes > 100_000 && bytes < 20_000_000, `model.safetensors is ${bytes} bytes`);
});

test('xlstm forecast data.csv --horizon 12 without --model: the default forecaster, same numbers as the API', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'xlstm-default-'));
  try {
    const input = join(tmp, 'data.csv');
    writeFileSync(input, monthlyCsv());
    const r = spawnSync(process.execPath, [BIN, 'forecast', input, '--horizon', '12', '--threads', '1'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines[0].split(','), ['id', 'timestamp', 'median', '0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9']);
    assert.equal(lines.length, 13);
    assert.equal(lines[1].split(',')[1], '2020-01-31');
    assert.equal(lines[12].split(',')[1], '2020-12-31');

    const be = await WasmBackend.create({ threads: 1 });
    const model = await loadDefaultForecaster({ backend: be });
    try {
      const s = parseSeriesCsv(monthlyCsv()).series[0];
      const f = model.forecast([Float32Array.from(s.values)], { predictionLength: 12 });
      lines.slice(1).forEach((l, t) => {
        const cells = l.split(',').map(Number);
        assert.ok(Math.abs(cells[2] - f.median[0][t]) <= 1e-4 * Math.max(1, Math.abs(f.median[0][t])), `t=${t}: CLI ${cells[2]} vs API ${f.median[0][t]}`);
        // the band is a band: the 0.1 level is below the 0.9 level
        assert.ok(cells[3] < cells[11], `t=${t}: 0.1 quantile ${cells[3]} is not below the 0.9 quantile ${cells[11]}`);
      });
      // a sensible forecast of an easy series: the median follows the seasonal pattern (within 15% of the truth)
      for (let t = 0; t < 12; t++) {
        const i = 120 + t, truth = 100 + 0.5 * i + 20 * Math.sin((2 * Math.PI * i) / 12);
        assert.ok(Math.abs(f.median[0][t] - truth) < 0.15 * truth, `t=${t}: median ${f.median[0][t]} vs ${truth}`);
      }
    } finally { model.dispose(); be.dispose(); }
  } finally { rmSync(tmp, { recursive: true, force: true }); }
});
