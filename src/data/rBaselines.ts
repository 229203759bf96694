// Classical baselines on data/eval made by R's forecast package (scripts/r-baselines.R):
// forecast::ets, forecast::auto.arima and forecast::thetaf quantile forecasts, one row per
// (series, method, step) in data/eval/r-baselines.csv. This module reads that file, checks
// it against the evaluation tasks (every series and method, every step of the horizon, the
// expected levels, finite and non-decreasing quantiles) and scores it with the same metric
// code as our model. Browser-safe: callers pass the file text.
import { parse } from 'csv-parse/sync';
import type { EvalTask } from './evalSet.js';
import { scoreSeries, type SeriesScore, type SeriesToScore } from '../timeseries/metrics.js';
import { InputError } from '../errors.js';

export const R_BASELINE_METHODS = ['ets', 'auto.arima', 'thetaf'] as const;
export type RBaselineMethod = typeof R_BASELINE_METHODS[number];
/** Display names, as the tables print them. */
export const R_BASELINE_NAMES: Record<RBaselineMethod, string> = { ets: 'ETS', 'auto.arima': 'auto.arima', thetaf: 'Theta' };

export interface RBaselineForecast {
  id: string;
  method: RBaselineMethod;
  /** the fitted model as R prints it, e.g. ETS(M,Ad,M) or ARIMA(0,1,1)(0,1,1)[12] */
  model: string;
  /** [H] the 0.5 quantile (the point forecast) */
  median: Float64Array;
  /** [H][levels] */
  quantiles: Float64Array[];
}

export interface RBaselines {
  levels: number[];
  /** id -> method -> forecast */
  byId: Map<string, Map<RBaselineMethod, RBaselineForecast>>;
}

/** Parses r-baselines.csv (header id,method,model,step,q<level>...; steps 1..H in order). */
export function parseRBaselines(text: string, source = 'r-baselines.csv'): RBaselines {
  let rows: string[][];
  try { rows = parse(text, { skip_empty_lines: true }) as string[][]; } catch (e) {
    throw new InputError(`${source}: not a valid CSV file (${(e as Error).message})`);
  }
  if (rows.length < 2) throw new InputError(`${source}: no forecasts`);
  const header = rows[0];
  if (header.slice(0, 4).join(',') !== 'id,method,model,step') throw new InputError(`${source}: header must start with id,method,model,step, got ${header.slice(0, 4).join(',')}`);
  const levels = header.slice(4).map((h) => {
    const v = /^q(0?\.\d+)$/.test(h) ? Number(h.slice(1)) : NaN;
    if (!(v > 0 && v < 1)) throw new InputError(`${source}: column '${h}' is not a quantile column q<level> with a level in (0, 1)`);
    return v;
  });
  for (let k = 1; k < levels.length; k++) if (!(levels[k] > levels[k - 1])) throw new InputError(`${source}: quantile columns must have increasing levels, got ${levels.join(', ')}`);
  const mid = levels.indexOf(0.5);
  if (mid < 0) throw new InputError(`${source}: no q0.5 column (the point forecast)`);
  const byId = new Map<string, Map<RBaselineMethod, RBaselineForecast>>();
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r], line = r + 1;
    if (row.length !== header.length) throw new InputError(`${source}: line ${line} has ${row.length} cells, the header ${header.length}`);
    const [id, method, model, stepText] = row;
    if (!(R_BASELINE_METHODS as readonly string[]).includes(method)) throw new InputError(`${source}: line ${line}: unknown method '${method}' (expected ${R_BASELINE_METHODS.join(', ')})`);
    const step = Number(stepText);
    const q = Float64Array.from(row.slice(4), (c, k) => {
      const v = c.trim() === '' ? NaN : Number(c);
      if (!Number.isFinite(v)) throw new InputError(`${source}: line ${line}, column '${header[4 + k]}': '${c}' is not a finite number`);
      return v;
    });
    for (let k = 1; k < q.length; k++) if (q[k] < q[k - 1]) throw new InputError(`${source}: line ${line} (${id} ${method} step ${step}): quantiles decrease from level ${levels[k - 1]} to ${levels[k]}`);
    let m = byId.get(id);
    if (!m) byId.set(id, (m = new Map()));
    let f = m.get(method as RBaselineMethod);
    if (!f) m.set(method as RBaselineMethod, (f = { id, method: method as RBaselineMethod, model, median: new Float64Array(0), quantiles: [] }));
    if (step !== f.quantiles.length + 1) throw new InputError(`${source}: line ${line} (${id} ${method}): step ${stepText}, expected ${f.quantiles.length + 1} (steps 1..H in order)`);
    if (model !== f.model) throw new InputError(`${source}: line ${line} (${id} ${method}): model '${model}' differs from '${f.model}' of step 1`);
    f.quantiles.push(q);
  }
  for (const m of byId.values()) for (const f of m.values()) f.median = Float64Array.from(f.quantiles, (q) => q[mid]);
  return { levels, byId };
}

/**
 * Throws (naming series and method) unless `b` holds, for every task, every method with
 * exactly `horizon` steps at `levels`; returns nothing. Extra series are an error too (a stale file).
 */
export function checkRBaselines(b: RBaselines, tasks: readonly EvalTask[], levels: readonly number[], source = 'r-baselines.csv'): void {
  if (b.levels.length !== levels.length || b.levels.some((l, i) => Math.abs(l - levels[i]) > 1e-12)) throw new InputError(`${source}: levels ${b.levels.join(', ')} differ from the evaluation's ${levels.join(', ')}`);
  const ids = new Set(tasks.map((t) => t.id));
  for (const id of b.byId.keys()) if (!ids.has(id)) throw new InputError(`${source}: series '${id}' is not in the evaluation set (regenerate with npm run eval:r-baselines)`);
  for (const t of tasks) {
    const m = b.byId.get(t.id);
    if (!m) throw new InputError(`${source}: no forecasts for series '${t.id}' (regenerate with npm run eval:r-baselines)`);
    for (const method of R_BASELINE_METHODS) {
      const f = m.get(method);
      if (!f) throw new InputError(`${source}: series '${t.id}' has no ${method} forecast`);
      if (f.quantiles.length !== t.horizon) throw new InputError(`${source}: series '${t.id}' ${method} has ${f.quantiles.length} steps, its horizon is ${t.horizon}`);
    }
  }
}

/** Scores one R baseline forecast of a task exactly as our model's forecasts are scored. */
export function scoreRBaseline(task: EvalTask, f: RBaselineForecast, levels: readonly number[]): SeriesScore {
  const item: SeriesToScore = { id: task.id, history: task.history, actual: task.actual, median: f.median, quantiles: f.quantiles, m: task.m };
  return scoreSeries(item, levels);
}
