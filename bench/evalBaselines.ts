// Baselines on the real evaluation set (data/eval): seasonal naive and AutoARIMA, scored
// with MASE and WQL (src/timeseries/metrics.ts) at quantile levels 0.1..0.9.
//   node dist/bench/evalBaselines.js [--dir data/eval] [--out data/eval/baselines.json] [--only id,id]
// Prints a markdown table per frequency and overall, and writes per-series results as JSON.
//
// AutoARIMA: npm `arima` (Emscripten port of ctsa's auto.arima: stepwise search, p,q <= 5,
// d <= 2, P,Q <= 2, D <= 1, seasonal with s = the series' seasonal period when s > 1 and the
// history has >= 2s + 20 values). Its predict() returns the point forecast and the forecast
// error variance (checked: it grows linearly in h for a random walk), so quantiles are
// mean + z_tau * sqrt(variance) from a normal. Missing values are forward-filled (leading
// ones dropped) before fitting, as the package itself would do. To bound the run time on a
// shared 2-core machine (a seasonal fit with s = 24 on 624 hourly values took ~3 minutes),
// AutoARIMA sees only the last `--max-history` values (default 300); seasonal naive and the
// MASE scale always use the whole history.
// Known defect of arima 0.2.8: a selected model without AR/MA terms (e.g. ARIMA(0,1,0))
// predicts garbage (denormal numbers). Such a forecast (denormal or non-finite numbers, a
// non-positive variance, or a point more than 100 data ranges away) is replaced by ARIMA(0,1,0) in closed form
// (last value, variance h * mean squared first difference); results mark it `fallback`.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseEvalManifest, buildEvalTasks, evalFileOf, type EvalTask } from '../src/data/evalSet.js';
import { seasonalNaive, scoreSeries, aggregateScores, type SeriesToScore, type SeriesScore, type AggregateScore } from '../src/timeseries/metrics.js';

export const LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

interface ArimaModel { train(ts: number[]): ArimaModel; predict(h: number): [number[], number[]]; destroy(): void }
type ArimaCtor = new (opts: Record<string, unknown>) => ArimaModel;

/** Standard normal quantile, Acklam's rational approximation (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) { const q = Math.sqrt(-2 * Math.log(p)); return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1); }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

export interface BaselineForecast { median: Float64Array; quantiles: Float64Array[]; fallback?: boolean }

export function autoArimaForecast(ARIMA: ArimaCtor, history: ArrayLike<number>, horizon: number, m: number, levels: readonly number[], maxHistory = Infinity): BaselineForecast {
  const filled: number[] = [];
  for (let t = Math.max(0, history.length - maxHistory); t < history.length; t++) {
    const v = history[t];
    if (!Number.isNaN(v)) filled.push(v);
    else if (filled.length) filled.push(filled[filled.length - 1]);
  }
  const s = m > 1 && filled.length >= 2 * m + 20 ? m : 0;
  let pred: number[] = [], vars: number[] = [];
  if (filled.length >= 20) {
    const model = new ARIMA({ auto: true, s, verbose: false }).train(filled);
    try { [pred, vars] = model.predict(horizon); } finally { model.destroy(); }
  }
  let lo = Infinity, hi = -Infinity;
  for (const v of filled) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const range = hi - lo || Math.abs(hi) || 1;
  const last = filled[filled.length - 1];
  // the defect's output is denormal numbers (and exact zeros) as points, the data as "variances"
  const denormal = (x: number) => x !== 0 && Math.abs(x) < 1e-290;
  const ok = pred.length === horizon && !pred.some(denormal) && !vars.some(denormal)
    && pred.every((p, i) => Number.isFinite(p) && Math.abs(p - last) <= 100 * range && vars[i] > 0 && Number.isFinite(vars[i]));
  let fallback = false;
  if (!ok) {
    fallback = true;
    let s2 = 0;
    for (let t = 1; t < filled.length; t++) s2 += (filled[t] - filled[t - 1]) ** 2;
    s2 /= Math.max(1, filled.length - 1);
    pred = Array.from({ length: horizon }, () => last);
    vars = Array.from({ length: horizon }, (_, h) => (h + 1) * s2);
  }
  const z = levels.map(normalQuantile);
  return {
    median: Float64Array.from(pred),
    quantiles: pred.map((p, h) => Float64Array.from(z, (zk) => p + zk * Math.sqrt(vars[h]))),
    fallback,
  };
}

export function loadEvalTasks(dir: string): EvalTask[] {
  const manifest = parseEvalManifest(readFileSync(join(dir, 'manifest.csv'), 'utf8'));
  const files: Record<string, string> = {};
  for (const e of manifest) { const f = evalFileOf(e.frequency); files[f] ??= readFileSync(join(dir, f), 'utf8'); }
  return buildEvalTasks(manifest, files);
}

interface Row { task: EvalTask; item: SeriesToScore; naive: SeriesScore; arima: SeriesScore; fallback: boolean; seconds: number }

function fmt(x: number, d = 3): string { return Number.isFinite(x) ? x.toFixed(d) : 'n/a'; }

function table(groups: [string, Row[]][]): string {
  const lines = [
    '| group | series | seasonal naive MASE | seasonal naive WQL | AutoARIMA MASE | AutoARIMA WQL | AutoARIMA / naive MASE (gmean) | AutoARIMA / naive WQL (gmean) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, rows] of groups) {
    const agg = aggregate(rows);
    lines.push(`| ${name} | ${rows.length} | ${fmt(agg.naiveMase)} | ${fmt(agg.naiveWql)} | ${fmt(agg.mase)} | ${fmt(agg.wql)} | ${fmt(agg.relMase.value)} | ${fmt(agg.relWql.value)} |`);
  }
  return lines.join('\n');
}

function aggregate(rows: Row[]): AggregateScore {
  return aggregateScores(rows.map((r) => r.item), rows.map((r) => r.arima), LEVELS);
}


async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  const dir = arg('--dir', join('data', 'eval'));
  const out = arg('--out', join(dir, 'baselines.json'));
  const only = arg('--only', '');
  const maxHistory = Number(arg('--max-history', '300'));
  if (!(maxHistory >= 30)) throw new Error(`--max-history must be a number >= 30, got ${arg('--max-history', '')}`);
  let tasks = loadEvalTasks(dir);
  if (only) { const ids = new Set(only.split(',')); tasks = tasks.filter((t) => ids.has(t.id)); }
  const ARIMA = createRequire(import.meta.url)('arima') as ArimaCtor;
  const rows: Row[] = [];
  for (const task of tasks) {
    const t0 = performance.now();
    const f = autoArimaForecast(ARIMA, task.history, task.horizon, task.m, LEVELS, maxHistory);
    const seconds = (performance.now() - t0) / 1000;
    const item: SeriesToScore = { id: task.id, history: task.history, actual: task.actual, median: f.median, quantiles: f.quantiles, m: task.m };
    const arima = scoreSeries(item, LEVELS);
    const sn = seasonalNaive(task.history, task.horizon, arima.m, LEVELS);
    const naive = scoreSeries({ ...item, median: sn.median, quantiles: sn.quantiles }, LEVELS);
    rows.push({ task, item, naive, arima, fallback: !!f.fallback, seconds });
    process.stderr.write(`${task.id}: naive MASE ${fmt(naive.mase)} WQL ${fmt(naive.wql)} | AutoARIMA MASE ${fmt(arima.mase)} WQL ${fmt(arima.wql)}${f.fallback ? ' (fallback)' : ''} ${seconds.toFixed(1)}s\n`);
  }
  const freqs = [...new Set(rows.map((r) => r.task.frequency))];
  const groups: [string, Row[]][] = freqs.map((f) => [f, rows.filter((r) => r.task.frequency === f)] as [string, Row[]]);
  groups.push(['all', rows]);
  const md = table(groups);
  console.log(md);
  const fallbacks = rows.filter((r) => r.fallback).map((r) => r.task.id);
  console.log(`\nAutoARIMA fallbacks to closed-form ARIMA(0,1,0): ${fallbacks.length ? fallbacks.join(', ') : 'none'}`);
  const json = {
    levels: LEVELS,
    autoArimaMaxHistory: maxHistory,
    protocol: 'last `horizon` values of each series are the actuals; one origin per series',
    summary: Object.fromEntries(groups.map(([g, r]) => [g, { series: r.length, autoArima: aggregate(r) }])),
    series: rows.map((r) => ({
      id: r.task.id, frequency: r.task.frequency, m: r.naive.m, horizon: r.task.horizon,
      seasonalNaive: { mase: r.naive.mase, wql: r.naive.wql },
      autoArima: { mase: r.arima.mase, wql: r.arima.wql, relMase: r.arima.relMase, relWql: r.arima.relWql, fallback: r.fallback, seconds: +r.seconds.toFixed(2) },
      notes: r.arima.notes,
    })),
  };
  writeFileSync(out, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  console.log(`wrote ${out}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).pop() ?? '')) {
  main().catch((e) => { console.error((e as Error).message); process.exit(1); });
}
