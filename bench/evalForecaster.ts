// The default forecaster (or any TiRex folder) on the real evaluation set (data/eval),
// beside the classical baselines: R's forecast::ets, forecast::auto.arima and
// forecast::thetaf (data/eval/r-baselines.csv, made by scripts/r-baselines.R) and the older
// npm `arima` AutoARIMA (data/eval/baselines.json, bench/evalBaselines.ts). Same protocol for
// all: the last `horizon` values of each series are the actuals, everything before is the
// history, quantile levels 0.1..0.9; every forecast is scored here by the same metric code.
//   node dist/bench/evalForecaster.js [--model DIR] [--dir data/eval] [--r-baselines FILE]
//     [--out FILE.json] [--threads N] [--baselines-only]
// Prints a markdown table per frequency group and overall: for every method the geometric
// means over series of MASE / seasonal naive and WQL / seasonal naive (< 1 = better than
// seasonal naive), and ours / the better of ETS and auto.arima (< 1 = we beat both).
// data/eval is a test set: run this on a finished model, never to choose checkpoints.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { TiRex } from '../src/models/tirex/model.js';
import { defaultForecasterPath } from '../src/models/tirex/defaultForecaster.js';
import { scoreSeries, geometricMean } from '../src/timeseries/metrics.js';
import { parseRBaselines, checkRBaselines, scoreRBaseline, R_BASELINE_METHODS, R_BASELINE_NAMES } from '../src/data/rBaselines.js';
import { loadEvalTasks, LEVELS } from './evalBaselines.js';
import type { EvalTask } from '../src/data/evalSet.js';

interface BaselineRow { id: string; seasonalNaive: { mase: number; wql: number }; autoArima: { mase: number; wql: number } }
/** Per-series MASE / WQL of one method (ours or a baseline), with the seasonal naive ones to divide by. */
interface MethodScore { mase: number; wql: number }
interface Row { task: EvalTask; naive: MethodScore; scores: Map<string, MethodScore> }

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const OURS = 'ours';
const NPM_ARIMA = 'npm arima';

/** Geometric means over the group's series of method / seasonal naive (MASE and WQL), and the plain means. */
function summary(rows: Row[], methods: string[]) {
  const mean = (v: number[]) => { const f = v.filter(Number.isFinite); return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN; };
  const out: Record<string, { mase: number; wql: number; relMase: number; relWql: number }> = {};
  for (const m of methods) {
    const sc = rows.map((r) => r.scores.get(m)!);
    out[m] = {
      mase: mean(sc.map((s) => s.mase)),
      wql: mean(sc.map((s) => s.wql)),
      relMase: geometricMean(rows.map((r, i) => sc[i].mase / r.naive.mase)).value,
      relWql: geometricMean(rows.map((r, i) => sc[i].wql / r.naive.wql)).value,
    };
  }
  return { series: rows.length, methods: out };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  const dir = arg('--dir', join('data', 'eval'));
  const baselinesOnly = argv.includes('--baselines-only');
  const model = baselinesOnly ? '' : arg('--model', '') || (await defaultForecasterPath());
  if (!baselinesOnly && !model) throw new Error('--model is required (no default forecaster in models/default-forecaster)');
  const threads = Number(arg('--threads', '0')) || undefined;
  const baselines = JSON.parse(readFileSync(join(dir, 'baselines.json'), 'utf8')) as { levels: number[]; series: BaselineRow[] };
  if (JSON.stringify(baselines.levels) !== JSON.stringify(LEVELS)) throw new Error(`${dir}/baselines.json: levels ${baselines.levels} differ from ${LEVELS}`);
  const byId = new Map(baselines.series.map((s) => [s.id, s]));
  const tasks = loadEvalTasks(dir);
  const rFile = arg('--r-baselines', join(dir, 'r-baselines.csv'));
  const rb = parseRBaselines(readFileSync(rFile, 'utf8'), rFile);
  checkRBaselines(rb, tasks, LEVELS, rFile);

  const rows: Row[] = tasks.map((task) => {
    const base = byId.get(task.id);
    if (!base) throw new Error(`${dir}/baselines.json has no series '${task.id}' (rerun npm run eval:baselines)`);
    const scores = new Map<string, MethodScore>();
    let naive: MethodScore | undefined;
    for (const m of R_BASELINE_METHODS) {
      const s = scoreRBaseline(task, rb.byId.get(task.id)!.get(m)!, LEVELS);
      scores.set(R_BASELINE_NAMES[m], s);
      naive = { mase: s.naiveMase, wql: s.naiveWql };
    }
    scores.set(NPM_ARIMA, base.autoArima);
    return { task, naive: naive!, scores };
  });
  let seconds = 0;
  if (!baselinesOnly) {
    const be = await WasmBackend.create(threads ? { threads } : {});
    const tirex = await TiRex.fromPretrained(model!, { backend: be });
    const t0 = performance.now();
    // one call per horizon (the eval set's horizons differ by frequency); the model batches inside
    for (const H of [...new Set(tasks.map((t) => t.horizon))]) {
      const group = rows.filter((r) => r.task.horizon === H);
      const f = tirex.forecast(group.map((r) => Float32Array.from(r.task.history)), { predictionLength: H, quantileLevels: LEVELS });
      if (f.errors.length) throw new Error(`forecast failed: ${f.errors.map((e) => `${group[e.series].task.id}: ${e.message}`).join('; ')}`);
      group.forEach((r, i) => {
        const t = r.task;
        r.scores.set(OURS, scoreSeries({ id: t.id, history: t.history, actual: t.actual, median: f.median[i], quantiles: f.quantiles[i], m: t.m }, LEVELS));
      });
    }
    seconds = (performance.now() - t0) / 1000;
    tirex.dispose(); be.dispose();
  }
  const methods = [...(baselinesOnly ? [] : [OURS]), ...R_BASELINE_METHODS.map((m) => R_BASELINE_NAMES[m]), NPM_ARIMA];

  const freqs = [...new Set(rows.map((r) => r.task.frequency))];
  const groups: [string, Row[]][] = [...freqs.map((f) => [f, rows.filter((r) => r.task.frequency === f)] as [string, Row[]]), ['all', rows]];
  const lines = [
    `Relative MASE / relative WQL: geometric means over series of method / seasonal naive (< 1 = better than seasonal naive)${baselinesOnly ? '' : '; last column: ours / the better of ETS and auto.arima per series'}.\n`,
    `| group | series | ${methods.map((m) => `${m} MASE, WQL`).join(' | ')}${baselinesOnly ? '' : ' | ours / best(ETS, auto.arima) MASE, WQL'} |`,
    `|---|---:|${methods.map(() => '---:').join('|')}|${baselinesOnly ? '' : '---:|'}`,
  ];
  type GroupSummary = ReturnType<typeof summary> & { oursVsBestClassical?: { relMase: number; relWql: number } };
  const out: Record<string, GroupSummary> = {};
  for (const [g, r] of groups) {
    const s: GroupSummary = (out[g] = summary(r, methods));
    let extra = '';
    if (!baselinesOnly) {
      const best = (k: 'mase' | 'wql') => r.map((x) => x.scores.get(OURS)![k] / Math.min(x.scores.get('ETS')![k], x.scores.get('auto.arima')![k]));
      s.oursVsBestClassical = { relMase: geometricMean(best('mase')).value, relWql: geometricMean(best('wql')).value };
      extra = ` | ${fmt(s.oursVsBestClassical.relMase)}, ${fmt(s.oursVsBestClassical.relWql)}`;
    }
    lines.push(`| ${g} | ${r.length} | ${methods.map((m) => `${fmt(s.methods[m].relMase)}, ${fmt(s.methods[m].relWql)}`).join(' | ')}${extra} |`);
  }
  console.log(lines.join('\n'));
  if (!baselinesOnly) console.log(`\n${rows.length} series forecast in ${seconds.toFixed(1)} s`);
  const json = {
    model: model || null, levels: LEVELS,
    protocol: 'last `horizon` values of each series are the actuals; one origin per series; baselines from data/eval/r-baselines.csv (R forecast) and data/eval/baselines.json (npm arima)',
    summary: out,
    series: rows.map((r) => ({
      id: r.task.id, frequency: r.task.frequency, horizon: r.task.horizon, naive: r.naive,
      models: Object.fromEntries(R_BASELINE_METHODS.map((m) => [R_BASELINE_NAMES[m], rb.byId.get(r.task.id)!.get(m)!.model])),
      scores: Object.fromEntries([...r.scores].map(([m, s]) => [m, { mase: s.mase, wql: s.wql, relMase: s.mase / r.naive.mase, relWql: s.wql / r.naive.wql }])),
    })),
  };
  const file = arg('--out', '');
  if (file) { writeFileSync(file, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n'); console.log(`wrote ${file}`); }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).pop() ?? '')) {
  main().catch((e) => { console.error((e as Error).message); process.exit(1); });
}
