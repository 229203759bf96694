// `xlstm forecast`: zero-shot quantile forecasts of every series in a CSV file with TiRex.
// The steps are plain functions (read, prepare, forecast, write) so the tests and
// `xlstm evaluate` reuse them; `runForecast` is the whole command without commander.
import type { Command } from 'commander';
import { ArgumentError, InputError, XlstmError } from '../../errors.js';
import { parseSeriesCsv, CsvLayout, TimeSeries } from '../../timeseries/csv.js';
import { Frequency, INDEX_FREQUENCY, checkGrid, futureTimestamps, inferFrequency } from '../../timeseries/frequency.js';
import { plotForecastGridSvg, PlotSeries } from '../../timeseries/plot.js';
import { EXIT_PARTIAL } from '../exitCodes.js';
import { STDIO_PATH, checkFileTargets, exitQuietlyOnEpipe, readTextInput, writeOutput } from '../cliFiles.js';
import { checkForecastLimits } from '../limits.js';

/** What the commands need from a forecasting model (TiRex's forecast contract). */
export interface Forecaster {
  forecast(context: Float32Array[], opts: {
    predictionLength: number;
    quantileLevels?: readonly number[];
    batchSize?: number;
    onProgress?: (p: { done: number; total: number }) => void;
    rawQuantiles?: boolean;
  }): {
    quantileLevels: readonly number[];
    /** [series][t] -> levels */
    quantiles: Float32Array[][];
    /** [series] -> [t] */
    median: Float32Array[];
    errors: { series: number; message: string }[];
  };
}

export interface LoadedForecaster { model: Forecaster; close(): void }

/** --model, or else the default forecaster shipped in the package (models/default-forecaster). */
export async function resolveModelPath(model: string | undefined): Promise<string> {
  if (model !== undefined && model !== '') return model;
  const { defaultForecasterPath, defaultForecasterUrl } = await import('../../models/tirex/defaultForecaster.js');
  const d = await defaultForecasterPath();
  if (d === undefined) throw new InputError(`no --model given and the default forecaster is missing (${defaultForecasterUrl().href}): give a TiRex folder (model.ckpt, or model.safetensors + config.json) or checkpoint file`);
  return d;
}

/** Loads TiRex from a folder or checkpoint file on a fresh WASM backend (Node only). */
export async function loadForecaster(modelPath: string, opts: { threads?: number } = {}): Promise<LoadedForecaster> {
  const cov = await import('./covariates.js');
  if (await cov.isTiRex2Folder(modelPath)) {
    // a TiRex-2 folder without --target: every series is a univariate target
    const lm = await cov.loadTiRex2Cli(modelPath, opts);
    return { model: new cov.TiRex2AsForecaster(lm.model, (m) => process.stderr.write(`xlstm: ${m}\n`)), close: lm.close };
  }
  const { WasmBackend } = await import('../../backend/wasm/backend.js');
  const { TiRex } = await import('../../models/tirex/model.js');
  const local = await (await import('../hubModel.js')).resolveCliModel(modelPath, 'tirex', process.stderr);
  const backend = await WasmBackend.create({ threads: opts.threads });
  try {
    const model = await TiRex.fromPretrained(local, { backend });
    return { model: model as unknown as Forecaster, close: () => { model.dispose(); backend.dispose(); } };
  } catch (e) {
    backend.dispose();
    throw new InputError(`--model '${modelPath}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Parses an option that must be a positive integer (commander passes strings). */
export function parsePositiveInt(name: string, value: unknown): number {
  const s = String(value).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new ArgumentError(`${name} must be a positive integer, got '${String(value)}'`);
  return n;
}

/** '0.1,0.5,0.9' -> [0.1, 0.5, 0.9]; each strictly inside (0, 1), no duplicates. */
export function parseQuantileList(value: string, name = '--quantiles'): number[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new ArgumentError(`${name} must list quantile levels like 0.1,0.5,0.9, got '${value}'`);
  const levels = parts.map((p) => {
    const v = /^[0-9]*\.?[0-9]+(e-?\d+)?$/i.test(p) ? Number(p) : NaN;
    if (!(v > 0 && v < 1)) throw new ArgumentError(`${name}: '${p}' is not a level strictly between 0 and 1`);
    return v;
  });
  const dup = levels.find((v, i) => levels.indexOf(v) !== i);
  if (dup !== undefined) throw new ArgumentError(`${name}: level ${dup} is given twice`);
  return levels;
}

export interface InputOptions {
  /** CSV file (the positional argument or --input); '-' reads stdin */
  input?: string;
  format?: string;
  idCol?: string;
  timeCol?: string;
  valueCol?: string;
  /** ',', ';', 'tab' (or a tab character), or any one character; default: detected from the header */
  delimiter?: string;
  /** 'nan': missing timestamps of a series become missing values; default: a gap fails the series */
  fill?: string;
}

/** --delimiter: 'tab' and '\t' spelled out are a tab; else exactly one character. */
export function parseDelimiter(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const d = value === 'tab' || value === '\\t' ? '\t' : value;
  if (d.length !== 1 || /["\r\n]/.test(d)) throw new ArgumentError(`--delimiter must be one character (',', ';', 'tab', ...), not a quote or line break, got '${value}'`);
  return d;
}

/** --fill: only 'nan' (TiRex reads missing values natively, so nothing is invented). */
export function parseFill(value: string | undefined): 'nan' | undefined {
  if (value === undefined) return undefined;
  if (value.toLowerCase() !== 'nan') throw new ArgumentError(`--fill must be 'nan' (missing timestamps become missing values), got '${value}'`);
  return 'nan';
}

/** Checks the input options that need no file (so they fail before any work). */
export function checkInputOptions(o: InputOptions): void {
  if (!o.input) throw new ArgumentError('no input: give a CSV file (xlstm forecast data.csv, or --input data.csv; - reads stdin)');
  const format = o.format ?? 'auto';
  if (!['auto', 'wide', 'long'].includes(format)) throw new ArgumentError(`--format must be wide, long or auto, got '${format}'`);
  parseDelimiter(o.delimiter);
  parseFill(o.fill);
}

/** Reads and parses the input CSV (errors name the file, line, column and value). */
export async function readSeriesFile(o: InputOptions): Promise<TimeSeries[]> {
  checkInputOptions(o);
  const input = o.input!;
  const text = await readTextInput(input, 'input file');
  const timeCol = o.timeCol === undefined ? undefined : o.timeCol === '' || o.timeCol === 'none' ? null : o.timeCol;
  return parseSeriesCsv(text, {
    source: input === STDIO_PATH ? '<stdin>' : input, format: (o.format ?? 'auto') as CsvLayout | 'auto',
    idCol: o.idCol, timeCol, valueCol: o.valueCol, delimiter: parseDelimiter(o.delimiter),
  }).series;
}

/**
 * Checks every series' timestamps against its frequency. A gap fails the series (naming the
 * first missing timestamp) unless `fill` is 'nan', which inserts the missing timestamps with
 * missing values; mixed frequencies fail the series. Series that fail keep their place, with
 * the reason in `problems`.
 */
export function regularizeSeries(series: readonly TimeSeries[], fill?: 'nan'): { series: TimeSeries[]; problems: (string | undefined)[] } {
  const problems: (string | undefined)[] = [];
  const out = series.map((s) => {
    if (s.timestamps === null || s.timestamps.length < 2) { problems.push(undefined); return s; }
    try {
      const g = checkGrid(s.timestamps, inferFrequency(s.timestamps));
      if (g.kind === 'regular') { problems.push(undefined); return s; }
      if (fill !== 'nan') {
        problems.push(`timestamp '${g.firstMissing}' is missing (between '${g.before}' and '${g.after}'; ${g.missing} of ${g.grid.length} steps missing); --fill nan forecasts with the gaps as missing values`);
        return s;
      }
      const values = new Float64Array(g.grid.length).fill(NaN);
      g.positions.forEach((p, i) => { values[p] = s.values[i]; });
      problems.push(undefined);
      return { ...s, timestamps: g.grid, values };
    } catch (e) {
      if (!(e instanceof XlstmError)) throw e;
      problems.push(e.message);
      return s;
    }
  });
  return { series: out, problems };
}

/** A series ready to forecast: its frequency and the horizon's timestamps, or why not. */
export interface PreparedSeries {
  id: string;
  values: Float64Array;
  /** one per value (integer indices when the data has no timestamps) */
  timestamps: string[];
  frequency: Frequency | null;
  future: string[];
  error?: string;
}

/**
 * Infers each series' frequency and its future timestamps; a failure marks only that series.
 * `problems[i]` (from regularizeSeries or a hold-out) fails series i with that reason.
 */
export function prepareSeries(series: readonly TimeSeries[], horizon: number, problems: readonly (string | undefined)[] = []): PreparedSeries[] {
  return series.map((s, i) => {
    const base = { id: s.id, values: s.values };
    const problem = problems[i];
    if (problem !== undefined) {
      // the future timestamps are still given when they can be, so the failed rows keep them
      let frequency: Frequency | null = null, future: string[] = [];
      try {
        if (s.timestamps === null) { frequency = INDEX_FREQUENCY; future = Array.from({ length: horizon }, (_, j) => String(s.start + s.values.length + j)); }
        else { frequency = inferFrequency(s.timestamps); future = futureTimestamps(s.timestamps[s.timestamps.length - 1], frequency, horizon); }
      } catch { /* no frequency: the rows have no timestamps */ }
      return { ...base, timestamps: s.timestamps ?? [], frequency, future, error: problem };
    }
    if (s.timestamps === null) {
      const timestamps = Array.from(s.values, (_, i) => String(s.start + i));
      const future = Array.from({ length: horizon }, (_, j) => String(s.start + s.values.length + j));
      return { ...base, timestamps, frequency: INDEX_FREQUENCY, future };
    }
    try {
      const frequency = inferFrequency(s.timestamps);
      return { ...base, timestamps: s.timestamps, frequency, future: futureTimestamps(s.timestamps[s.timestamps.length - 1], frequency, horizon) };
    } catch (e) {
      return { ...base, timestamps: s.timestamps, frequency: null, future: [], error: e instanceof Error ? e.message : String(e) };
    }
  });
}

export interface SeriesForecast {
  id: string;
  /** TiRex-2 with --target: the target column this row set forecasts. */
  target?: string;
  frequency: string | null;
  timestamps: string[];
  /** [H] */
  median: Float32Array;
  /** [H][levels] */
  quantiles: Float32Array[];
  error?: string;
}

export interface ForecastRun {
  quantileLevels: number[];
  series: SeriesForecast[];
  /** one line per series that could not be forecast */
  errors: string[];
}

export interface ForecastCoreOptions {
  horizon: number;
  quantileLevels?: readonly number[];
  batchSize?: number;
  contextLength?: number;
  onProgress?: (p: { done: number; total: number }) => void;
  /** keep the model's raw (possibly crossing) quantiles instead of sorting each step's levels */
  rawQuantiles?: boolean;
}

/** Forecasts the prepared series that have no error; the others come back with `error` set. */
export function forecastPrepared(model: Forecaster, prepared: readonly PreparedSeries[], o: ForecastCoreOptions): ForecastRun {
  const ok = prepared.map((p, i) => (p.error ? -1 : i)).filter((i) => i >= 0);
  const context = ok.map((i) => {
    const v = prepared[i].values;
    return Float32Array.from(o.contextLength !== undefined && v.length > o.contextLength ? v.subarray(v.length - o.contextLength) : v);
  });
  const errors: string[] = [];
  const out: SeriesForecast[] = prepared.map((p) => ({
    id: p.id, frequency: p.frequency?.alias ?? null, timestamps: p.future, median: new Float32Array(o.horizon).fill(NaN), quantiles: [], error: p.error,
  }));
  let levels = o.quantileLevels ? [...o.quantileLevels] : [];
  if (context.length > 0) {
    const r = model.forecast(context, { predictionLength: o.horizon, quantileLevels: o.quantileLevels, batchSize: o.batchSize, onProgress: o.onProgress, rawQuantiles: o.rawQuantiles });
    levels = [...r.quantileLevels];
    const bad = new Map(r.errors.map((e) => [e.series, e.message]));
    ok.forEach((i, j) => {
      const msg = bad.get(j);
      if (msg !== undefined) { out[i].error = msg; return; }
      out[i].median = r.median[j];
      out[i].quantiles = r.quantiles[j];
    });
  }
  for (const s of out) {
    if (s.error) { s.quantiles = Array.from({ length: o.horizon }, () => new Float32Array(levels.length).fill(NaN)); errors.push(`series '${s.id}': ${s.error}`); }
  }
  return { quantileLevels: levels, series: out, errors };
}

/** The run with only its first `count` quantile levels. */
export function selectLevels(run: ForecastRun, count: number): ForecastRun {
  return {
    ...run,
    quantileLevels: run.quantileLevels.slice(0, count),
    series: run.series.map((s) => ({ ...s, quantiles: s.quantiles.map((q) => q.subarray(0, count)) })),
  };
}

/** Float32 values in the shortest decimal that reads back to the same float32. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return '';
  return String(Number(v.toPrecision(9)));
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Long CSV: id, timestamp, median, one column per level. A series that failed keeps its rows
 * (its id, the timestamps when known, empty values), so a join on the output does not lose it.
 */
export function forecastsToCsv(run: ForecastRun): string {
  // TiRex-2 runs name the target column of each row set (several targets per series)
  const withTarget = run.series.some((s) => s.target !== undefined);
  const lines = [['id', ...(withTarget ? ['target'] : []), 'timestamp', 'median', ...run.quantileLevels.map(String)].join(',')];
  for (const s of run.series) {
    for (let t = 0; t < s.median.length; t++) {
      lines.push([csvField(s.id), ...(withTarget ? [csvField(s.target ?? '')] : []), csvField(s.timestamps[t] ?? ''), formatValue(s.median[t]), ...Array.from(s.quantiles[t], formatValue)].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * JSON: {horizon, quantileLevels, series: [{id, frequency, timestamps, median, quantiles: {level: [...]}, error?}]}.
 * A failed series has its `error`, and null values (and null timestamps when unknown).
 */
export function forecastsToJson(run: ForecastRun, horizon: number): string {
  const num = (v: number) => (Number.isNaN(v) ? null : Number(v.toPrecision(9)));
  return JSON.stringify({
    horizon,
    quantileLevels: run.quantileLevels,
    series: run.series.map((s) => ({
      id: s.id, ...(s.target !== undefined ? { target: s.target } : {}), frequency: s.frequency, timestamps: Array.from({ length: s.median.length }, (_, t) => s.timestamps[t] ?? null), median: Array.from(s.median, num),
      quantiles: Object.fromEntries(run.quantileLevels.map((l, k) => [String(l), s.quantiles.map((q) => num(q[k]))])),
      ...(s.error ? { error: s.error } : {}),
    })),
  }, null, 1) + '\n';
}

/** Panels of the plot: band from the 0.1 / 0.9 levels when present, else the outermost levels. */
export function plotPanels(run: ForecastRun, prepared: readonly PreparedSeries[], maxPanels: number, actuals?: (Float64Array | undefined)[]): PlotSeries[] {
  const L = run.quantileLevels;
  let lo = L.indexOf(0.1), hi = L.indexOf(0.9);
  if (lo < 0 || hi < 0) {
    lo = L.indexOf(Math.min(...L)); hi = L.indexOf(Math.max(...L));
  }
  const band = lo !== hi && L[lo] < 0.5 && L[hi] > 0.5;
  const out: PlotSeries[] = [];
  run.series.forEach((s, i) => {
    if (s.error || out.length >= maxPanels) return;
    out.push({
      id: s.id, history: prepared[i].values, historyLabels: prepared[i].timestamps, median: s.median, futureLabels: s.timestamps,
      lower: band ? s.quantiles.map((q) => q[lo]) : undefined, upper: band ? s.quantiles.map((q) => q[hi]) : undefined,
      bandLabel: band ? `${Math.round(L[lo] * 100)}-${Math.round(L[hi] * 100)}%` : undefined,
      actual: actuals?.[i],
    });
  });
  return out;
}

export const MAX_PLOT_PANELS = 24;

export interface ProgressReporter { onProgress?: (p: { done: number; total: number }) => void; stop(): void }

/** A cli-progress bar on stderr, only when stderr is a terminal and there are many series. */
export async function progressBar(total: number, batchSize: number): Promise<ProgressReporter> {
  if (!process.stderr.isTTY || total <= batchSize) return { stop: () => {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'forecast [{bar}] {value}/{total} series | ETA {eta_formatted}', clearOnComplete: true, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { onProgress: (p) => bar.update(p.done), stop: () => bar.stop() };
}

export interface ForecastCommandOptions extends InputOptions {
  /** TiRex-2: target columns (comma-separated); with the covariate flags the command takes the covariates path (./covariates.ts). */
  target?: string;
  pastCovariates?: string;
  futureCovariates?: string;
  model?: string;
  horizon: string | number;
  quantiles?: string;
  output?: string;
  plot?: string;
  batchSize?: string | number;
  threads?: string | number;
  contextLength?: string | number;
  rawQuantiles?: boolean;
}

export interface CommandIo { stdout: (s: string) => void; stderr: (s: string) => void }
export const processIo: CommandIo = { stdout: (s) => { process.stdout.write(s); }, stderr: (s) => { process.stderr.write(s); } };

export const DEFAULT_BATCH_SIZE = 64;

/** Options `forecast` and `evaluate` share, parsed once (errors name the flag and the value). */
export function parseModelRunOptions(o: { horizon: unknown; quantiles?: string; batchSize?: unknown; threads?: unknown; contextLength?: unknown }): {
  horizon: number; levels?: number[]; batchSize: number; threads?: number; contextLength?: number;
} {
  return {
    horizon: parsePositiveInt('--horizon', o.horizon),
    levels: o.quantiles !== undefined ? parseQuantileList(o.quantiles) : undefined,
    batchSize: o.batchSize !== undefined ? parsePositiveInt('--batch-size', o.batchSize) : DEFAULT_BATCH_SIZE,
    threads: o.threads !== undefined ? parsePositiveInt('--threads', o.threads) : undefined,
    contextLength: o.contextLength !== undefined ? parsePositiveInt('--context-length', o.contextLength) : undefined,
  };
}

/** Quantile levels TiRex writes when --quantiles is not given. */
export const MODEL_LEVELS = 9;

/**
 * The size limits (--horizon, --batch-size) for these series, before the model is loaded.
 * Called once with no data (a bound that holds for any file) and again after reading it.
 */
export function checkRunLimits(r: { horizon: number; batchSize: number; contextLength?: number; levels?: readonly number[] }, series: readonly TimeSeries[] = []): void {
  let longest = 0;
  for (const s of series) longest = Math.max(longest, s.values.length);
  checkForecastLimits({
    horizon: r.horizon, batchSize: r.batchSize, series: series.length, levels: r.levels?.length ?? MODEL_LEVELS,
    longest: r.contextLength !== undefined ? Math.min(longest, r.contextLength) : longest,
  });
}

/**
 * The `forecast` command: returns the run; writes --output (or CSV to stdout) and --plot.
 * When no series could be forecast it writes nothing and throws; when some failed, their
 * rows are written with empty values and the run's `errors` name them.
 */
export async function runForecast(o: ForecastCommandOptions, io: CommandIo = processIo, loaded?: LoadedForecaster): Promise<ForecastRun> {
  const cov = await import('./covariates.js');
  if (cov.usesCovariateFlags(o)) return cov.runCovariateForecast(o, io);
  const opts = parseModelRunOptions(o);
  const { horizon, levels, batchSize, threads, contextLength } = opts;
  if (o.output !== undefined && o.output !== STDIO_PATH && !/\.(csv|json)$/i.test(o.output)) throw new ArgumentError(`--output must end in .csv or .json (or be - for stdout), got '${o.output}'`);
  if (o.plot !== undefined && !/\.svg$/i.test(o.plot)) throw new ArgumentError(`--plot must end in .svg, got '${o.plot}'`);
  checkInputOptions(o);
  checkRunLimits(opts);
  const outputs = [...(o.output !== undefined ? [{ flag: '--output', path: o.output }] : []), ...(o.plot !== undefined ? [{ flag: '--plot', path: o.plot }] : [])];
  await checkFileTargets([{ flag: 'input file', path: o.input! }, ...(o.model ? [{ flag: '--model', path: o.model }] : [])], outputs);
  const modelPath = loaded ? '' : await resolveModelPath(o.model);
  const series = await readSeriesFile(o);
  checkRunLimits(opts, series);
  const regular = regularizeSeries(series, parseFill(o.fill));
  const prepared = prepareSeries(regular.series, horizon, regular.problems);
  const lm = loaded ?? await loadForecaster(modelPath, { threads });
  let run: ForecastRun;
  try {
    const bar = await progressBar(prepared.length, batchSize);
    // the plot's 10-90% band needs those levels even when --quantiles leaves them out
    // (each level is computed on its own, so the extra ones change nothing else)
    const modelLevels = o.plot && levels ? [...levels, ...[0.1, 0.9].filter((l) => !levels.includes(l))] : levels;
    try { run = forecastPrepared(lm.model, prepared, { horizon, quantileLevels: modelLevels, batchSize, contextLength, onProgress: bar.onProgress, rawQuantiles: o.rawQuantiles }); } finally { bar.stop(); }
  } finally { if (!loaded) lm.close(); }
  const plotRun = run;
  if (levels && run.quantileLevels.length > levels.length) run = selectLevels(run, levels.length);
  for (const e of run.errors) io.stderr(`xlstm forecast: skipped ${e}\n`);
  // nothing forecast: no output at all (a header-only file would pass for an empty result)
  if (run.errors.length === run.series.length) throw new InputError(`no series could be forecast (${run.errors.length} skipped)`);
  const text = o.output && /\.json$/i.test(o.output) ? forecastsToJson(run, horizon) : forecastsToCsv(run);
  if (o.output) await writeOutput(o.output, text, io.stdout); else io.stdout(text);
  if (o.plot) {
    const panels = plotPanels(plotRun, prepared, MAX_PLOT_PANELS);
    if (run.series.length - run.errors.length > panels.length) io.stderr(`xlstm forecast: the plot shows the first ${panels.length} series\n`);
    await writeOutput(o.plot, plotForecastGridSvg(panels, { title: `Forecast (${horizon} steps)` }), io.stdout);
  }
  return run;
}

/** Merges the positional CSV argument into the options (`xlstm forecast data.csv` = `--input data.csv`). */
export function withInputFile<T extends InputOptions>(file: string | undefined, opts: T): T {
  if (file !== undefined && opts.input !== undefined && file !== opts.input) throw new ArgumentError(`two input files given: '${file}' and --input '${opts.input}'`);
  return { ...opts, input: file ?? opts.input };
}

/** Options shared by forecast and evaluate. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .argument('[file]', 'CSV file (same as --input; - reads stdin)')
    .option('--model <dir>', 'TiRex model: folder (model.ckpt, or model.safetensors + config.json) or checkpoint file (default: the shipped default forecaster); a TiRex-2 folder (config.json with stack_config) also works, and --target needs one')
    .option('--input <file>', 'CSV file: wide (timestamp column + one column per series) or long (id, timestamp, value); - reads stdin')
    .requiredOption('--horizon <n>', 'forecast steps')
    .option('--format <layout>', 'wide | long | auto (default: auto-detect from the header)')
    .option('--id-col <name>', 'long layout: id column (default: id, item_id, unique_id, series_id, series)')
    .option('--time-col <name>', "timestamp column ('none': no timestamps, integer index)")
    .option('--value-col <name>', 'long layout: value column (default: value, target, y)')
    .option('--delimiter <char>', "field delimiter: ',', ';', 'tab' or another character (default: detected from the header)")
    .option('--fill <how>', "'nan': missing timestamps become missing values (default: a series with gaps fails)")
    .option('--batch-size <n>', `series per forward pass (default ${DEFAULT_BATCH_SIZE})`)
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--context-length <n>', 'use at most the last n values of each series')
    .option('--target <cols>', 'TiRex-2: target columns, comma-separated (wide: one series; long: one per id); the rows after the last target value hold the horizon')
    .option('--past-covariates <cols>', 'TiRex-2: columns known only up to the last target value')
    .option('--future-covariates <cols>', 'TiRex-2: columns known also over the horizon (their values in the rows after the last target value)');
}

export function register(program: Command): void {
  const cmd = program.command('forecast').description('zero-shot quantile forecasts of every series in a CSV file (TiRex)');
  addInputOptions(cmd)
    .option('--quantiles <levels>', 'quantile levels, e.g. 0.1,0.5,0.9 (default: the model\'s, 0.1..0.9)')
    .option('--output <file>', 'out.csv (long: id, timestamp, median, one column per level) or out.json; - or none: CSV on stdout')
    .option('--plot <file>', 'SVG plot of the forecasts (history, median, 10-90% band)')
    .option('--raw-quantiles', "keep the model's raw quantiles (they may cross; default: sorted per step)")
    .action(async (file: string | undefined, opts: ForecastCommandOptions) => {
      exitQuietlyOnEpipe();
      const run = await runForecast(withInputFile(file, opts));
      if (run.errors.length > 0) process.exitCode = EXIT_PARTIAL;
    });
}
