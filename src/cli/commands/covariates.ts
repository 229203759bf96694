// TiRex-2 in `xlstm forecast` / `xlstm evaluate`: --target, --past-covariates and
// --future-covariates name the columns of a wide (one series) or long (id column) CSV file
// (src/timeseries/covariateCsv.ts has the layout rules). Also: a TiRex-2 folder given to the
// plain commands forecasts every series as a univariate target (TiRex2AsForecaster).
import { ArgumentError, InputError } from '../../errors.js';
import type { TiRex2 } from '../../models/tirex2/model.js';
import { CovariateModelInput, covariateModelInput, parseCovariateCsv } from '../../timeseries/covariateCsv.js';
import { seasonalPeriod } from '../../timeseries/frequency.js';
import { SeriesToScore, aggregateScores, scoreSeries } from '../../timeseries/metrics.js';
import { plotForecastGridSvg } from '../../timeseries/plot.js';
import { STDIO_PATH, checkFileTargets, readTextInput, writeOutput } from '../cliFiles.js';
import type { EvaluateCommandOptions, EvaluationResult } from './evaluate.js';
import {
  CommandIo, ForecastCommandOptions, ForecastRun, Forecaster, MAX_PLOT_PANELS, PreparedSeries, SeriesForecast, checkInputOptions, checkRunLimits,
  forecastsToCsv, forecastsToJson, parseDelimiter, parseModelRunOptions, plotPanels, processIo, selectLevels,
} from './forecast.js';

/** The column flags (commander gives strings). */
export interface CovariateFlags {
  target?: string;
  pastCovariates?: string;
  futureCovariates?: string;
}

export function usesCovariateFlags(o: CovariateFlags): boolean {
  return o.target !== undefined || o.pastCovariates !== undefined || o.futureCovariates !== undefined;
}

/** 'a,b' -> ['a', 'b'] (names as written, no empties, no repeats). */
export function parseColumnList(flag: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const parts = String(value).split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new ArgumentError(`${flag} must list column names separated by commas, got '${value}'`);
  const dup = parts.find((p, i) => parts.indexOf(p) !== i);
  if (dup !== undefined) throw new ArgumentError(`${flag}: column '${dup}' is given twice`);
  return parts;
}

function columnsOf(o: CovariateFlags): { target: string[]; past: string[]; future: string[] } {
  const target = parseColumnList('--target', o.target);
  if (!target.length) throw new ArgumentError('--past-covariates / --future-covariates need --target (the columns to forecast)');
  return { target, past: parseColumnList('--past-covariates', o.pastCovariates), future: parseColumnList('--future-covariates', o.futureCovariates) };
}

/** Whether a local folder holds a TiRex-2 (its config has stack_config). Node only. */
export async function isTiRex2Folder(path: string): Promise<boolean> {
  const [{ readFile, stat }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  try { if (!(await stat(path)).isDirectory()) return false; } catch { return false; }
  for (const f of ['config.json', 'model-config.yaml']) {
    try {
      const text = await readFile(join(path, f), 'utf8');
      const cfg = f.endsWith('.json') ? JSON.parse(text) : (await import('yaml')).parse(text);
      return cfg !== null && typeof cfg === 'object' && 'stack_config' in cfg;
    } catch { /* next */ }
  }
  return false;
}

export interface LoadedTiRex2 { model: TiRex2; close(): void }

/** TiRex-2 from a folder or hub id on a fresh backend. */
export async function loadTiRex2Cli(modelPath: string, opts: { threads?: number } = {}): Promise<LoadedTiRex2> {
  const { WasmBackend } = await import('../../backend/wasm/backend.js');
  const { TiRex2: Model } = await import('../../models/tirex2/model.js');
  const local = await (await import('../hubModel.js')).resolveCliModel(modelPath, 'tirex2', process.stderr);
  const backend = await WasmBackend.create({ threads: opts.threads });
  try {
    const model = await Model.fromPretrained(local, { backend });
    return { model, close: () => { model.dispose(); backend.dispose(); } };
  } catch (e) {
    backend.dispose();
    throw new InputError(`--model '${modelPath}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** A TiRex-2 behind the univariate Forecaster contract of the plain commands (each series one target). */
export class TiRex2AsForecaster implements Forecaster {
  constructor(readonly model: TiRex2, private readonly warn: (m: string) => void) {}
  forecast(context: Float32Array[], opts: Parameters<Forecaster['forecast']>[1]): ReturnType<Forecaster['forecast']> {
    const r = this.model.forecast(context.map((c) => ({ target: c })), { predictionLength: opts.predictionLength, quantileLevels: opts.quantileLevels, batchSize: opts.batchSize, onWarning: this.warn });
    opts.onProgress?.({ done: context.length, total: context.length });
    const Q = r.quantileLevels.length, H = r.predictionLength;
    return {
      quantileLevels: r.quantileLevels,
      quantiles: r.series.map((s) => Array.from({ length: H }, (_, t) => Float32Array.from({ length: Q }, (_, q) => s.quantiles[q * H + t]))),
      median: r.series.map((s) => s.median.subarray(0, H)),
      errors: r.errors,
    };
  }
}

interface Prepared { inputs: (CovariateModelInput | string)[]; ids: string[] }

async function readPrepared(o: ForecastCommandOptions & CovariateFlags, H: number, mode: 'forecast' | 'evaluate', contextLength?: number): Promise<Prepared & { cols: ReturnType<typeof columnsOf> }> {
  const cols = columnsOf(o);
  if (o.valueCol !== undefined) throw new ArgumentError('--value-col does not apply with --target (the target columns are named by --target)');
  if (o.fill !== undefined) throw new ArgumentError('--fill does not apply with --target (missing rows are missing values: give them as empty cells)');
  const text = await readTextInput(o.input!, 'input file');
  const timeCol = o.timeCol === undefined ? undefined : o.timeCol === '' || o.timeCol === 'none' ? null : o.timeCol;
  const series = parseCovariateCsv(text, {
    source: o.input === STDIO_PATH ? '<stdin>' : o.input, format: (o.format ?? 'auto') as 'wide' | 'long' | 'auto', idCol: o.idCol, timeCol,
    delimiter: parseDelimiter(o.delimiter), ...cols,
  });
  return { cols, ids: series.map((s) => s.id), inputs: series.map((s) => covariateModelInput(s, cols, H, mode, contextLength)), };
}

/** Runs the model on the usable inputs; one SeriesForecast per (series, target column), in input order. */
function runModel(model: TiRex2, p: Prepared, targets: readonly string[], H: number, levels: readonly number[] | undefined, batchSize: number, io: CommandIo, cmd: string): { run: ForecastRun; horizon: number; panels: PreparedSeries[] } {
  const ok = p.inputs.map((x, i) => (typeof x === 'string' ? -1 : i)).filter((i) => i >= 0);
  const inputs = ok.map((i) => p.inputs[i] as CovariateModelInput);
  const r = inputs.length ? model.forecast(inputs.map((x) => ({ target: x.target, pastCovariates: x.past, futureCovariates: x.future })),
    { predictionLength: H, quantileLevels: levels, batchSize, onWarning: (w) => io.stderr(`xlstm ${cmd}: ${w}\n`) }) : null;
  const h = r?.predictionLength ?? H;
  const Q = r?.quantileLevels.length ?? (levels?.length ?? model.config.quantiles.length);
  const modelErr = new Map((r?.errors ?? []).map((e) => [ok[e.series], e.message]));
  const series: SeriesForecast[] = [], panels: PreparedSeries[] = [], errors: string[] = [];
  p.inputs.forEach((x, i) => {
    const j = ok.indexOf(i);
    const fail = typeof x === 'string' ? x : modelErr.get(i);
    targets.forEach((col, v) => {
      const base: SeriesForecast = { id: p.ids[i], target: col, frequency: typeof x === 'string' ? null : x.frequency?.alias ?? null, timestamps: typeof x === 'string' ? [] : x.futureLabels.slice(0, h), median: new Float32Array(h).fill(NaN), quantiles: Array.from({ length: h }, () => new Float32Array(Q).fill(NaN)) };
      if (fail === undefined && r) {
        const f = r.series[j];
        base.median = f.median.subarray(v * h, (v + 1) * h);
        base.quantiles = Array.from({ length: h }, (_, t) => Float32Array.from({ length: Q }, (_, q) => f.quantiles[(v * Q + q) * h + t]));
      } else base.error = fail;
      series.push(base);
      if (typeof x !== 'string') panels.push({ id: `${p.ids[i]}/${col}`, values: x.target[v], timestamps: x.history, frequency: x.frequency, future: x.futureLabels.slice(0, h) });
      else panels.push({ id: `${p.ids[i]}/${col}`, values: new Float64Array(0), timestamps: [], frequency: null, future: [], error: x });
    });
    if (fail !== undefined) errors.push(`series '${p.ids[i]}': ${fail}`);
  });
  return { run: { quantileLevels: [...(r?.quantileLevels ?? levels ?? model.config.quantiles)], series, errors }, horizon: h, panels };
}

/** `xlstm forecast --target ... [--past-covariates ...] [--future-covariates ...]` (the forecast command's TiRex-2 path). */
export async function runCovariateForecast(o: ForecastCommandOptions & CovariateFlags, io: CommandIo = processIo, loaded?: LoadedTiRex2): Promise<ForecastRun> {
  const opts = parseModelRunOptions(o);
  const { horizon, levels, batchSize, threads, contextLength } = opts;
  if (o.output !== undefined && o.output !== STDIO_PATH && !/\.(csv|json)$/i.test(o.output)) throw new ArgumentError(`--output must end in .csv or .json (or be - for stdout), got '${o.output}'`);
  if (o.plot !== undefined && !/\.svg$/i.test(o.plot)) throw new ArgumentError(`--plot must end in .svg, got '${o.plot}'`);
  if (o.rawQuantiles) throw new ArgumentError('--raw-quantiles does not apply to TiRex-2 (its quantiles are always the model\'s own, as the official code returns them)');
  checkInputOptions(o);
  columnsOf(o);
  checkRunLimits(opts);
  if (!loaded && !o.model) throw new ArgumentError('--target / --past-covariates / --future-covariates need a TiRex-2 model: give --model (a folder with config.json + model.safetensors, or a hub id)');
  const outputs = [...(o.output !== undefined ? [{ flag: '--output', path: o.output }] : []), ...(o.plot !== undefined ? [{ flag: '--plot', path: o.plot }] : [])];
  await checkFileTargets([{ flag: 'input file', path: o.input! }, ...(o.model ? [{ flag: '--model', path: o.model }] : [])], outputs);
  const p = await readPrepared(o, horizon, 'forecast', contextLength);
  const lm = loaded ?? await loadTiRex2Cli(o.model!, { threads });
  let res: ReturnType<typeof runModel>;
  try { res = runModel(lm.model, p, p.cols.target, horizon, levels, batchSize, io, 'forecast'); } finally { if (!loaded) lm.close(); }
  const { run, horizon: h, panels } = res;
  for (const e of run.errors) io.stderr(`xlstm forecast: skipped ${e}\n`);
  if (run.series.every((s) => s.error)) throw new InputError(`no series could be forecast (${run.errors.length} skipped): ${run.errors.slice(0, 3).join('; ')}`);
  const text = o.output && /\.json$/i.test(o.output) ? forecastsToJson(run, h) : forecastsToCsv(run);
  if (o.output) await writeOutput(o.output, text, io.stdout); else io.stdout(text);
  if (o.plot) await writeOutput(o.plot, plotForecastGridSvg(plotPanels(run, panels, MAX_PLOT_PANELS), { title: `Forecast (${h} steps)` }), io.stdout);
  return levels && run.quantileLevels.length > levels.length ? selectLevels(run, levels.length) : run;
}

/** `xlstm evaluate --target ...`: holds out the last --horizon rows up to each series' last target value, with their future covariates known. */
export async function runCovariateEvaluate(o: EvaluateCommandOptions & CovariateFlags, io: CommandIo = processIo, loaded?: LoadedTiRex2): Promise<EvaluationResult> {
  const opts = parseModelRunOptions(o);
  const { horizon, levels, batchSize, threads, contextLength } = opts;
  if (o.plot !== undefined && !/\.svg$/i.test(o.plot)) throw new ArgumentError(`--plot must end in .svg, got '${o.plot}'`);
  if (o.rawQuantiles) throw new ArgumentError('--raw-quantiles does not apply to TiRex-2');
  checkInputOptions(o);
  columnsOf(o);
  checkRunLimits(opts);
  if (!loaded && !o.model) throw new ArgumentError('--target / --past-covariates / --future-covariates need a TiRex-2 model: give --model');
  await checkFileTargets([{ flag: 'input file', path: o.input! }, ...(o.model ? [{ flag: '--model', path: o.model }] : [])], o.plot !== undefined ? [{ flag: '--plot', path: o.plot }] : []);
  const p = await readPrepared(o as ForecastCommandOptions & CovariateFlags, horizon, 'evaluate', contextLength);
  const lm = loaded ?? await loadTiRex2Cli(o.model!, { threads });
  let res: ReturnType<typeof runModel>;
  try {
    const F = lm.model.config.futureLength;
    if (horizon > F) throw new ArgumentError(`--horizon ${horizon} is above the model's future_len ${F}: evaluate scores the whole held-out horizon, which one forward pass covers only up to future_len; use --horizon ${F} or less`);
    res = runModel(lm.model, p, p.cols.target, horizon, levels, batchSize, io, 'evaluate');
  } finally { if (!loaded) lm.close(); }
  const { run } = res;
  const items: SeriesToScore[] = [];
  const all: { id: string; error?: string }[] = [];
  const nT = p.cols.target.length;
  run.series.forEach((f, k) => {
    const i = Math.floor(k / nT), v = k % nT;
    const id = `${f.id}/${f.target}`;
    all.push(f.error ? { id, error: f.error } : { id });
    if (f.error) return;
    const x = p.inputs[i] as CovariateModelInput;
    items.push({ id, history: x.target[v], actual: x.actual![v], median: f.median, quantiles: f.quantiles, m: x.frequency ? seasonalPeriod(x.frequency) : 1 });
  });
  if (!items.length) throw new InputError(`no series could be evaluated: ${run.errors.join('; ')}`);
  const scores = items.map((it) => scoreSeries(it, run.quantileLevels));
  const r: EvaluationResult = { horizon, quantileLevels: run.quantileLevels, series: scores, aggregate: aggregateScores(items, scores, run.quantileLevels), skipped: run.errors, all };
  for (const s of r.skipped) io.stderr(`xlstm evaluate: skipped ${s}\n`);
  const { evaluationToJson, formatEvaluationTable } = await import('./evaluate.js');
  io.stdout(o.json ? evaluationToJson(r) : formatEvaluationTable(r));
  if (o.plot) {
    const actual = run.series.map((_, k) => (p.inputs[Math.floor(k / nT)] as CovariateModelInput).actual?.[k % nT]);
    await writeOutput(o.plot, plotForecastGridSvg(plotPanels(run, res.panels, MAX_PLOT_PANELS, actual), { title: `Evaluation: last ${horizon} steps held out` }), io.stdout);
  }
  return r;
}
