// The default forecaster (or any TiRex folder) on the real evaluation set (data/eval),
// against the baselines in data/eval/baselines.json (seasonal naive and AutoARIMA, made by
// bench/evalBaselines.ts with the same protocol: the last `horizon` values of each series
// are the actuals, everything before is the history, quantile levels 0.1..0.9).
//   node dist/bench/evalForecaster.js [--model DIR] [--dir data/eval] [--out FILE.json] [--threads N]
// Prints a markdown table per frequency and overall: our MASE / WQL, and the geometric means
// of the per-series ratios ours / seasonal naive and ours / AutoARIMA (< 1 = we are better).
// data/eval is a test set: run this on a finished model, never to choose checkpoints.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { TiRex } from '../src/models/tirex/model.js';
import { defaultForecasterPath } from '../src/models/tirex/defaultForecaster.js';
import { scoreSeries, geometricMean, type SeriesScore } from '../src/timeseries/metrics.js';
import { loadEvalTasks, LEVELS } from './evalBaselines.js';
import type { EvalTask } from '../src/data/evalSet.js';

interface BaselineRow { id: string; seasonalNaive: { mase: number; wql: number }; autoArima: { mase: number; wql: number } }
interface Row { task: EvalTask; ours: SeriesScore; arima: { mase: number; wql: number } }

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function summary(rows: Row[]) {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    series: rows.length,
    mase: mean(rows.map((r) => r.ours.mase)),
    wql: mean(rows.map((r) => r.ours.wql)),
    relMaseVsNaive: geometricMean(rows.map((r) => r.ours.relMase)),
    relWqlVsNaive: geometricMean(rows.map((r) => r.ours.relWql)),
    relMaseVsAutoArima: geometricMean(rows.map((r) => r.ours.mase / r.arima.mase)),
    relWqlVsAutoArima: geometricMean(rows.map((r) => r.ours.wql / r.arima.wql)),
    autoArimaRelMaseVsNaive: geometricMean(rows.map((r) => r.arima.mase / r.ours.naiveMase)),
    autoArimaRelWqlVsNaive: geometricMean(rows.map((r) => r.arima.wql / r.ours.naiveWql)),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  const dir = arg('--dir', join('data', 'eval'));
  const model = arg('--model', '') || (await defaultForecasterPath());
  if (!model) throw new Error('--model is required (no default forecaster in models/default-forecaster)');
  const threads = Number(arg('--threads', '0')) || undefined;
  const baselines = JSON.parse(readFileSync(join(dir, 'baselines.json'), 'utf8')) as { levels: number[]; series: BaselineRow[] };
  if (JSON.stringify(baselines.levels) !== JSON.stringify(LEVELS)) throw new Error(`${dir}/baselines.json: levels ${baselines.levels} differ from ${LEVELS}`);
  const byId = new Map(baselines.series.map((s) => [s.id, s]));
  const tasks = loadEvalTasks(dir);

  const be = await WasmBackend.create(threads ? { threads } : {});
  const tirex = await TiRex.fromPretrained(model, { backend: be });
  const rows: Row[] = [];
  const t0 = performance.now();
  // one call per horizon (the eval set's horizons differ by frequency); the model batches inside
  for (const H of [...new Set(tasks.map((t) => t.horizon))]) {
    const group = tasks.filter((t) => t.horizon === H);
    const f = tirex.forecast(group.map((t) => Float32Array.from(t.history)), { predictionLength: H, quantileLevels: LEVELS });
    if (f.errors.length) throw new Error(`forecast failed: ${f.errors.map((e) => `${group[e.series].id}: ${e.message}`).join('; ')}`);
    group.forEach((task, i) => {
      const base = byId.get(task.id);
      if (!base) throw new Error(`${dir}/baselines.json has no series '${task.id}' (rerun npm run eval:baselines)`);
      const ours = scoreSeries({ id: task.id, history: task.history, actual: task.actual, median: f.median[i], quantiles: f.quantiles[i], m: task.m }, LEVELS);
      rows.push({ task, ours, arima: base.autoArima });
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  tirex.dispose(); be.dispose();
  rows.sort((a, b) => tasks.indexOf(a.task) - tasks.indexOf(b.task));

  const freqs = [...new Set(rows.map((r) => r.task.frequency))];
  const groups: [string, Row[]][] = [...freqs.map((f) => [f, rows.filter((r) => r.task.frequency === f)] as [string, Row[]]), ['all', rows]];
  const lines = [
    '| group | series | MASE | WQL | MASE / naive (gmean) | WQL / naive (gmean) | MASE / AutoARIMA (gmean) | WQL / AutoARIMA (gmean) | AutoARIMA: MASE / naive, WQL / naive |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const out: Record<string, ReturnType<typeof summary>> = {};
  for (const [g, r] of groups) {
    const s = (out[g] = summary(r));
    lines.push(`| ${g} | ${r.length} | ${fmt(s.mase)} | ${fmt(s.wql)} | ${fmt(s.relMaseVsNaive.value)} | ${fmt(s.relWqlVsNaive.value)} | ${fmt(s.relMaseVsAutoArima.value)} | ${fmt(s.relWqlVsAutoArima.value)} | ${fmt(s.autoArimaRelMaseVsNaive.value)}, ${fmt(s.autoArimaRelWqlVsNaive.value)} |`);
  }
  console.log(lines.join('\n'));
  console.log(`\n${rows.length} series forecast in ${seconds.toFixed(1)} s`);
  const json = {
    model, levels: LEVELS, protocol: 'last `horizon` values of each series are the actuals; one origin per series; baselines from data/eval/baselines.json',
    summary: out,
    series: rows.map((r) => ({ id: r.task.id, frequency: r.task.frequency, horizon: r.task.horizon, mase: r.ours.mase, wql: r.ours.wql, relMaseVsNaive: r.ours.relMase, relWqlVsNaive: r.ours.relWql, relMaseVsAutoArima: r.ours.mase / r.arima.mase, relWqlVsAutoArima: r.ours.wql / r.arima.wql })),
  };
  const file = arg('--out', '');
  if (file) { writeFileSync(file, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n'); console.log(`wrote ${file}`); }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).pop() ?? '')) {
  main().catch((e) => { console.error((e as Error).message); process.exit(1); });
}
