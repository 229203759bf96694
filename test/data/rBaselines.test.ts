// data/eval/r-baselines.csv (R forecast: ets, auto.arima, thetaf; scripts/r-baselines.R):
// complete and consistent with the evaluation set, Gaussian intervals mapped to the right
// levels, and scored by the metric code exactly as an independent recomputation scores it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRBaselines, checkRBaselines, scoreRBaseline, R_BASELINE_METHODS } from '../../src/data/rBaselines.js';
import { loadEvalTasks } from '../../bench/evalBaselines.js';
import { InputError } from '../../src/errors.js';
import { normalQuantile } from '../../bench/evalBaselines.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DIR = join(ROOT, 'data', 'eval');
const FILE = join(DIR, 'r-baselines.csv');
const text = readFileSync(FILE, 'utf8');
const tasks = loadEvalTasks(DIR);
/** The evaluation's levels, as the npm-arima baselines file records them. */
const levels: number[] = JSON.parse(readFileSync(join(DIR, 'baselines.json'), 'utf8')).levels;

test('r-baselines.csv: every series, method and step of the horizon, the evaluation levels, finite and ordered', () => {
  const b = parseRBaselines(text, FILE);
  checkRBaselines(b, tasks, levels, FILE);
  assert.equal(b.byId.size, tasks.length);
  let rows = 0;
  for (const t of tasks) {
    for (const m of R_BASELINE_METHODS) {
      const f = b.byId.get(t.id)!.get(m)!;
      assert.equal(f.quantiles.length, t.horizon);
      assert.ok(f.model.length > 0, `${t.id} ${m}: model name`);
      for (const q of f.quantiles) {
        assert.equal(q.length, levels.length);
        for (let k = 0; k < q.length; k++) {
          assert.ok(Number.isFinite(q[k]), `${t.id} ${m}: non-finite quantile`);
          if (k) assert.ok(q[k] >= q[k - 1], `${t.id} ${m}: quantiles not ordered`);
        }
      }
      rows += t.horizon;
    }
  }
  assert.equal(text.trim().split('\n').length - 1, rows);
  assert.match(b.byId.get(tasks[0].id)!.get('ets')!.model, /^ETS\(/);
  assert.match(b.byId.get(tasks[0].id)!.get('auto.arima')!.model, /ARIMA\(/);
});

test('intervals are mapped to their levels: symmetric Gaussian quantiles with the normal z ratios', () => {
  const b = parseRBaselines(text, FILE);
  const mid = levels.indexOf(0.5);
  const z = levels.map((l) => normalQuantile(l));
  let checked = 0;
  for (const t of tasks) {
    for (const m of R_BASELINE_METHODS) {
      for (const q of b.byId.get(t.id)!.get(m)!.quantiles) {
        const sd = (q[levels.length - 1] - q[0]) / (z[levels.length - 1] - z[0]);
        if (!(sd > 1e-9 * (Math.abs(q[mid]) + 1))) continue;
        // each level's distance from the median, in the normal's units, is its z-score
        for (let k = 0; k < levels.length; k++) {
          assert.ok(Math.abs((q[k] - q[mid]) / sd - z[k]) < 1e-4, `${t.id} ${m}: level ${levels[k]} sits at z ${(q[k] - q[mid]) / sd}, expected ${z[k]}`);
        }
        checked++;
      }
    }
  }
  assert.ok(checked > 0.9 * tasks.reduce((s, t) => s + 3 * t.horizon, 0));
});

test('the metric code scores the R forecasts as an independent recomputation does', () => {
  const b = parseRBaselines(text, FILE);
  for (const t of tasks) {
    // seasonal period: m when the history is longer than m, else 1
    const m = t.history.length > t.m ? t.m : 1;
    let sa = 0, na = 0;
    for (let i = m; i < t.history.length; i++) {
      if (Number.isNaN(t.history[i]) || Number.isNaN(t.history[i - m])) continue;
      sa += Math.abs(t.history[i] - t.history[i - m]); na++;
    }
    const scale = sa / na;
    for (const method of R_BASELINE_METHODS) {
      const f = b.byId.get(t.id)!.get(method)!;
      let ae = 0, n = 0, absY = 0;
      const pin = new Float64Array(levels.length);
      for (let h = 0; h < t.horizon; h++) {
        const y = t.actual[h];
        if (Number.isNaN(y)) continue;
        ae += Math.abs(y - f.quantiles[h][levels.indexOf(0.5)]); n++; absY += Math.abs(y);
        levels.forEach((l, k) => { const d = y - f.quantiles[h][k]; pin[k] += Math.max(l * d, (l - 1) * d); });
      }
      const expMase = ae / n / scale;
      const expWql = pin.reduce((s, p) => s + (2 * p) / absY, 0) / levels.length;
      const s = scoreRBaseline(t, f, levels);
      assert.ok(Math.abs(s.mase - expMase) <= 1e-9 * expMase, `${t.id} ${method}: MASE ${s.mase} vs ${expMase}`);
      assert.ok(Math.abs(s.wql - expWql) <= 1e-9 * expWql, `${t.id} ${method}: WQL ${s.wql} vs ${expWql}`);
      assert.ok(s.mase > 0 && s.wql > 0 && s.naiveMase > 0);
    }
  }
});

test('a broken or stale baselines file names the problem', () => {
  const lines = text.trim().split('\n');
  const head = lines[0];
  // a series missing
  const first = tasks[0].id;
  const without = [head, ...lines.slice(1).filter((l) => !l.startsWith(`${first},`))].join('\n');
  assert.throws(() => checkRBaselines(parseRBaselines(without), tasks, levels), (e: Error) => e instanceof InputError && e.message.includes(`no forecasts for series '${first}'`));
  // a step missing
  const gap = [head, lines[1], lines[3]].join('\n');
  assert.throws(() => parseRBaselines(gap), (e: Error) => e instanceof InputError && /line 3 .*step 3, expected 2/.test(e.message));
  // crossing quantiles
  const cells = lines[1].split(',');
  const q = cells.length - levels.length;
  [cells[q], cells[q + 1]] = [cells[q + 1], cells[q]];
  assert.throws(() => parseRBaselines([head, cells.join(',')].join('\n')), (e: Error) => e instanceof InputError && /line 2 .*quantiles decrease/.test(e.message));
  // other levels than the evaluation's
  const other = parseRBaselines(text);
  assert.throws(() => checkRBaselines(other, tasks, [0.1, 0.5, 0.9]), (e: Error) => e instanceof InputError && /levels .* differ/.test(e.message));
});
