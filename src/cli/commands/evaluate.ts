// `xlstm evaluate`: hold out the last H points of every series, forecast them from the rest,
// and score the forecasts (MASE, WQL) against the seasonal naive baseline.
import type { Command } from 'commander';
import { ArgumentError, InputError } from '../../errors.js';
import { TimeSeries } from '../../timeseries/csv.js';
import { seasonalPeriod } from '../../timeseries/frequency.js';
import { AggregateScore, SeriesScore, SeriesToScore, aggregateScores, scoreSeries } from '../../timeseries/metrics.js';
import { plotForecastGridSvg } from '../../timeseries/plot.js';
import { EXIT_PARTIAL } from '../exitCodes.js';
import { checkFileTargets, exitQuietlyOnEpipe, writeOutput } from '../cliFiles.js';
import {
  CommandIo, InputOptions, LoadedForecaster, MAX_PLOT_PANELS, addInputOptions, checkInputOptions, checkRunLimits, forecastPrepared, loadForecaster,
  parseFill, parseModelRunOptions, plotPanels, withInputFile, processIo, prepareSeries, progressBar, regularizeSeries, resolveModelPath, readSeriesFile,
} from './forecast.js';

export interface EvaluateCommandOptions extends InputOptions {
  target?: string;
  pastCovariates?: string;
  futureCovariates?: string;
  model?: string;
  horizon: string | number;
  quantiles?: string;
  json?: boolean;
  plot?: string;
  batchSize?: string | number;
  threads?: string | number;
  contextLength?: string | number;
  rawQuantiles?: boolean;
}

export interface EvaluationResult {
  horizon: number;
  quantileLevels: number[];
  series: SeriesScore[];
  aggregate: AggregateScore;
  /** series left out, one line each */
  skipped: string[];
  /** every series of the input, in input order, with the reason when it was left out */
  all: { id: string; error?: string }[];
}

/** Splits every series into history (all but the last H values) and the held-out last H. */
export function holdOut(series: readonly TimeSeries[], horizon: number): { train: TimeSeries[]; actual: Float64Array[]; problems: (string | undefined)[] } {
  const train: TimeSeries[] = [], actual: Float64Array[] = [], problems: (string | undefined)[] = [];
  for (const s of series) {
    const n = s.values.length - horizon;
    train.push({ id: s.id, timestamps: s.timestamps ? s.timestamps.slice(0, Math.max(n, 0)) : null, values: s.values.slice(0, Math.max(n, 0)), start: s.start });
    actual.push(s.values.slice(Math.max(n, 0)));
    let problem: string | undefined;
    if (n < 1) problem = `has ${s.values.length} values, needs more than the horizon ${horizon}`;
    else if (s.values.subarray(n).every(Number.isNaN)) problem = `the last ${horizon} values are all missing`;
    else if (s.values.subarray(0, n).every(Number.isNaN)) problem = 'the history before the held-out part is all missing';
    problems.push(problem);
  }
  return { train, actual, problems };
}

/** Forecasts the held-out part and scores it (the evaluate command without I/O). */
export function evaluateSeries(lm: LoadedForecaster, series: readonly TimeSeries[], o: {
  horizon: number; quantileLevels?: readonly number[]; batchSize?: number; contextLength?: number; fill?: 'nan'; rawQuantiles?: boolean;
  onProgress?: (p: { done: number; total: number }) => void;
}): EvaluationResult & { prepared: ReturnType<typeof prepareSeries>; forecasts: ReturnType<typeof forecastPrepared>; actual: Float64Array[] } {
  const H = o.horizon;
  // gaps are found (or filled) on the whole series, so the held-out part is the last H steps of time
  const regular = regularizeSeries(series, o.fill);
  const { train, actual, problems } = holdOut(regular.series, H);
  const prepared = prepareSeries(train, H, problems.map((p, i) => regular.problems[i] ?? p));
  const run = forecastPrepared(lm.model, prepared, { horizon: H, quantileLevels: o.quantileLevels, batchSize: o.batchSize, contextLength: o.contextLength, onProgress: o.onProgress, rawQuantiles: o.rawQuantiles });
  const items: SeriesToScore[] = [];
  run.series.forEach((f, i) => {
    if (f.error) return;
    items.push({ id: f.id, history: prepared[i].values, actual: actual[i], median: f.median, quantiles: f.quantiles, m: seasonalPeriod(prepared[i].frequency!) });
  });
  const scores = items.map((it) => scoreSeries(it, run.quantileLevels));
  if (items.length === 0) throw new InputError(`no series could be evaluated: ${run.errors.join('; ')}`);
  return {
    horizon: H, quantileLevels: run.quantileLevels, series: scores, aggregate: aggregateScores(items, scores, run.quantileLevels),
    skipped: run.errors, all: run.series.map((f) => (f.error ? { id: f.id, error: f.error } : { id: f.id })), prepared, forecasts: run, actual,
  };
}

function num(v: number, digits = 4): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** Fixed-width table of per-series and aggregate scores. */
export function formatEvaluationTable(r: EvaluationResult): string {
  const head = ['series', 'm', 'MASE', 'WQL', 'naive MASE', 'naive WQL', 'MASE/naive', 'WQL/naive'];
  // every input series has a row, in input order; one left out shows '-' (its reason is below)
  const scored = new Map(r.series.map((s) => [s.id, s]));
  const rows = r.all.map(({ id }) => {
    const s = scored.get(id);
    return s ? [s.id, String(s.m), num(s.mase), num(s.wql), num(s.naiveMase), num(s.naiveWql), num(s.relMase), num(s.relWql)] : [id, ...Array<string>(7).fill('-')];
  });
  const a = r.aggregate;
  const agg = [`all (${a.series})`, '', num(a.mase), num(a.wql), num(a.naiveMase), num(a.naiveWql), num(a.relMase.value), num(a.relWql.value)];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length), agg[c].length));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(head), sep, ...rows.map(line), sep, line(agg)];
  out.push('', `horizon ${r.horizon}; quantile levels ${r.quantileLevels.join(', ')}`);
  out.push('all: MASE = mean over series, WQL = pooled over series, ratios = geometric mean over series of model / seasonal naive' +
    (a.relMase.skipped || a.relWql.skipped ? ` (undefined ratios left out: MASE ${a.relMase.skipped}, WQL ${a.relWql.skipped})` : ''));
  for (const s of r.series) for (const n of s.notes) out.push(`note: series '${s.id}': ${n}`);
  for (const s of r.skipped) out.push(`skipped: ${s}`);
  return out.join('\n') + '\n';
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

export function evaluationToJson(r: EvaluationResult): string {
  const a = r.aggregate;
  const scored = new Map(r.series.map((s) => [s.id, s]));
  return JSON.stringify({
    horizon: r.horizon,
    quantileLevels: r.quantileLevels,
    // every input series, in input order: the left-out ones with null scores and their error,
    // so a join with the input does not lose them
    series: r.all.map((e) => {
      const s = scored.get(e.id);
      if (!s) return { id: e.id, m: null, mase: null, wql: null, naiveMase: null, naiveWql: null, relMase: null, relWql: null, notes: [], error: e.error };
      return {
        id: s.id, m: s.m, mase: finiteOrNull(s.mase), wql: finiteOrNull(s.wql), naiveMase: finiteOrNull(s.naiveMase), naiveWql: finiteOrNull(s.naiveWql),
        relMase: finiteOrNull(s.relMase), relWql: finiteOrNull(s.relWql), notes: s.notes,
      };
    }),
    aggregate: {
      series: a.series, mase: finiteOrNull(a.mase), wql: finiteOrNull(a.wql), naiveMase: finiteOrNull(a.naiveMase), naiveWql: finiteOrNull(a.naiveWql),
      relMase: { ...a.relMase, value: finiteOrNull(a.relMase.value) }, relWql: { ...a.relWql, value: finiteOrNull(a.relWql.value) },
    },
    skipped: r.skipped,
  }, null, 1) + '\n';
}

/**
 * The `evaluate` command: prints the scores (table or --json) and writes --plot. Series that
 * cannot be evaluated are named on stderr and in the output; when none can, nothing is written.
 */
export async function runEvaluate(o: EvaluateCommandOptions, io: CommandIo = processIo, loaded?: LoadedForecaster): Promise<EvaluationResult> {
  const cov = await import('./covariates.js');
  if (cov.usesCovariateFlags(o)) return cov.runCovariateEvaluate(o, io);
  const opts = parseModelRunOptions(o);
  const { horizon, levels, batchSize, threads, contextLength } = opts;
  if (o.plot !== undefined && !/\.svg$/i.test(o.plot)) throw new ArgumentError(`--plot must end in .svg, got '${o.plot}'`);
  checkInputOptions(o);
  checkRunLimits(opts);
  await checkFileTargets([{ flag: 'input file', path: o.input! }, ...(o.model ? [{ flag: '--model', path: o.model }] : [])], o.plot !== undefined ? [{ flag: '--plot', path: o.plot }] : []);
  const modelPath = loaded ? '' : await resolveModelPath(o.model);
  const series = await readSeriesFile(o);
  checkRunLimits(opts, series);
  const fill = parseFill(o.fill);
  const lm = loaded ?? await loadForecaster(modelPath, { threads });
  let r: ReturnType<typeof evaluateSeries>;
  try {
    const bar = await progressBar(series.length, batchSize);
    try { r = evaluateSeries(lm, series, { horizon, quantileLevels: levels, batchSize, contextLength, fill, onProgress: bar.onProgress, rawQuantiles: o.rawQuantiles }); } finally { bar.stop(); }
  } finally { if (!loaded) lm.close(); }
  for (const s of r.skipped) io.stderr(`xlstm evaluate: skipped ${s}\n`);
  io.stdout(o.json ? evaluationToJson(r) : formatEvaluationTable(r));
  if (o.plot) {
    const panels = plotPanels(r.forecasts, r.prepared, MAX_PLOT_PANELS, r.actual);
    await writeOutput(o.plot, plotForecastGridSvg(panels, { title: `Evaluation: last ${horizon} steps held out` }), io.stdout);
  }
  return r;
}

export function register(program: Command): void {
  const cmd = program.command('evaluate').description('hold out the last --horizon points of each series, forecast them, report MASE / WQL vs seasonal naive');
  addInputOptions(cmd)
    .option('--quantiles <levels>', 'quantile levels for WQL (default: the model\'s, 0.1..0.9)')
    .option('--json', 'print JSON instead of a table')
    .option('--plot <file>', 'SVG plot: history, forecast, band and the held-out actuals')
    .option('--raw-quantiles', "score the model's raw quantiles (they may cross; default: sorted per step)")
    .action(async (file: string | undefined, opts: EvaluateCommandOptions) => {
      exitQuietlyOnEpipe();
      const r = await runEvaluate(withInputFile(file, opts));
      if (r.skipped.length > 0) process.exitCode = EXIT_PARTIAL;
    });
}
