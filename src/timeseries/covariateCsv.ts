// Reading series with several named columns (targets, past covariates, future-known
// covariates) from CSV text, for TiRex-2 (browser-safe: the caller reads the file).
// Layouts:
//  - wide: the whole file is ONE series, one row per time step, one column per variate
//    (timestamp, y1, y2, x1, holiday, price);
//  - long: an id column splits the rows into several series, each with the same columns
//    (id, timestamp, y1, ..., price); rows of a series may be interleaved with others.
// The horizon's future covariate values are the rows AFTER a series' last target value: a
// series' context ends at its last row with any target value, and the rows after it carry
// the known future (targets empty there). Cells: numbers, or empty / NA / NaN = missing.
import { parse } from 'csv-parse/sync';
import { InputError } from '../errors.js';
import { detectDelimiter, parseCell } from './csv.js';
import { Frequency, INDEX_FREQUENCY, futureTimestamps, inferFrequency, timestampKey } from './frequency.js';

export interface CovariateCsvOptions {
  /** Name used in error messages (e.g. the file path). */
  source?: string;
  /** 'auto' (default): long when idCol is given or the header has an id column, else wide. */
  format?: 'wide' | 'long' | 'auto';
  idCol?: string;
  /** Timestamp column (auto: timestamp, time, date, ds, datetime, period); null: none. */
  timeCol?: string | null;
  delimiter?: string;
  /** Target columns (at least one). */
  target: readonly string[];
  past?: readonly string[];
  future?: readonly string[];
}

export interface CovariateSeries {
  id: string;
  /** One per row (sorted by time when every timestamp parses), or null without a time column. */
  timestamps: string[] | null;
  /** File line of each row (for messages). */
  lines: number[];
  /** Column name -> one value per row (NaN = missing). */
  columns: Map<string, Float64Array>;
  /** Rows of the context: up to and including the last row with a target value (0: none). */
  contextRows: number;
}

const ID_NAMES = ['id', 'item_id', 'unique_id', 'series_id', 'series', 'item'];
const TIME_NAMES = ['timestamp', 'time', 'date', 'ds', 'datetime', 'period'];
/** The series id of a wide file (one series). */
export const WIDE_SERIES_ID = 'series';

function column(header: string[], name: string, what: string, source: string): number {
  const i = header.findIndex((h) => h.trim() === name);
  if (i < 0) throw new InputError(`${source}: ${what} column '${name}' not found; the header has ${header.map((h) => `'${h}'`).join(', ')}`);
  return i;
}

/** Parses the file into series with their named columns; every problem names line, column and value. */
export function parseCovariateCsv(text: string, o: CovariateCsvOptions): CovariateSeries[] {
  const source = o.source ?? '<csv>';
  if (!o.target || o.target.length === 0) throw new InputError(`${source}: name at least one target column`);
  const named: [string, string][] = [...o.target.map((c) => [c, 'target'] as [string, string]), ...(o.past ?? []).map((c) => [c, 'past covariate'] as [string, string]), ...(o.future ?? []).map((c) => [c, 'future covariate'] as [string, string])];
  const seenCol = new Map<string, string>();
  for (const [c, what] of named) {
    const prev = seenCol.get(c);
    if (prev) throw new InputError(`${source}: column '${c}' is named twice (as ${prev} and as ${what}); each column has one role`);
    seenCol.set(c, what);
  }
  const delimiter = o.delimiter ?? detectDelimiter(text);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: false, delimiter }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) { throw new InputError(`${source}: not valid CSV: ${e instanceof Error ? e.message : String(e)}`); }
  if (records.length < 2) throw new InputError(`${source}: expected a header row and data rows`);
  const header = records[0].record;
  const rows = records.slice(1);
  const lower = header.map((h) => h.trim().toLowerCase());
  const format = o.format ?? 'auto';
  const autoId = ID_NAMES.map((n) => lower.indexOf(n)).find((i) => i >= 0) ?? -1;
  const long = format === 'long' || (format === 'auto' && (o.idCol !== undefined || autoId >= 0));
  const idIdx = !long ? -1 : o.idCol !== undefined ? column(header, o.idCol, 'id', source) : autoId;
  if (long && idIdx < 0) throw new InputError(`${source}: long layout: no id column (tried ${ID_NAMES.join(', ')}); name it with --id-col`);
  const timeIdx = o.timeCol === null ? -1 : o.timeCol !== undefined ? column(header, o.timeCol, 'time', source) : (TIME_NAMES.map((n) => lower.indexOf(n)).find((i) => i >= 0) ?? -1);
  const cols = named.map(([c, what]) => ({ name: c, idx: column(header, c, what, source) }));
  for (const c of cols) if (c.idx === idIdx || c.idx === timeIdx) throw new InputError(`${source}: column '${c.name}' is the ${c.idx === idIdx ? 'id' : 'time'} column, not a value column`);
  const groups = new Map<string, { rows: typeof rows }>();
  for (const r of rows) {
    const id = idIdx >= 0 ? r.record[idIdx] : WIDE_SERIES_ID;
    if (id === '') throw new InputError(`${source}: line ${r.info.lines}, column '${header[idIdx]}': the series id is empty`);
    let g = groups.get(id);
    if (!g) { g = { rows: [] }; groups.set(id, g); }
    g.rows.push(r);
  }
  const out: CovariateSeries[] = [];
  for (const [id, g] of groups) {
    let order = g.rows.map((_, i) => i);
    let timestamps: string[] | null = null;
    if (timeIdx >= 0) {
      const times = g.rows.map((r) => r.record[timeIdx]);
      const blank = times.findIndex((t) => t === '');
      if (blank >= 0) throw new InputError(`${source}: line ${g.rows[blank].info.lines}, column '${header[timeIdx]}': the timestamp is empty`);
      const keys = times.map((t) => timestampKey(t));
      if (keys.every((k) => k !== undefined)) order.sort((a, b) => (keys[a]! - keys[b]!) || a - b);
      const seen = new Map<string | number, number>();
      for (const i of order) {
        const k = keys[i] ?? times[i];
        const j = seen.get(k);
        if (j !== undefined) throw new InputError(`${source}: line ${g.rows[i].info.lines}: series '${id}' has timestamp '${times[i]}' twice (also line ${g.rows[j].info.lines})`);
        seen.set(k, i);
      }
      timestamps = order.map((i) => times[i]);
    } else order = order.slice();
    const columns = new Map<string, Float64Array>();
    for (const c of cols) {
      const v = new Float64Array(order.length);
      order.forEach((ri, k) => {
        const r = g.rows[ri], cell = r.record[c.idx];
        const x = parseCell(cell);
        if (x === undefined) throw new InputError(`${source}: line ${r.info.lines}, column '${c.name}' (${c.idx + 1}): '${cell}' is not a number (empty cell = missing)`);
        if (!Number.isFinite(x) && !Number.isNaN(x)) throw new InputError(`${source}: line ${r.info.lines}, column '${c.name}' (${c.idx + 1}): '${cell}' is infinite; values must be finite or empty (missing)`);
        v[k] = x;
      });
      columns.set(c.name, v);
    }
    let contextRows = 0;
    for (let k = order.length - 1; k >= 0 && !contextRows; k--) if (o.target.some((c) => !Number.isNaN(columns.get(c)![k]))) contextRows = k + 1;
    out.push({ id, timestamps, lines: order.map((i) => g.rows[i].info.lines), columns, contextRows });
  }
  return out;
}

/** What one series gives the model, or why it cannot be used. */
export interface CovariateModelInput {
  id: string;
  /** [V_t][T] */ target: Float64Array[];
  /** [V_p][T] */ past: Float64Array[];
  /** [V_f][T + H] */ future: Float64Array[];
  /** Context timestamps (integer indices without a time column). */
  history: string[];
  /** The horizon's timestamps. */
  futureLabels: string[];
  frequency: Frequency | null;
  /** evaluate: [V_t][H] held-out target values. */
  actual?: Float64Array[];
}

const rowLabel = (s: CovariateSeries, k: number) => `${s.timestamps ? `timestamp '${s.timestamps[k]}', ` : ''}line ${s.lines[k]}`;

/**
 * The model input of one series for a horizon H. 'forecast': the context is every row up to the
 * last target value and the future covariates come from the next H rows; 'evaluate': the last
 * H context rows are held out (their targets are the actuals, their future covariates known).
 * `contextLength` keeps at most that many context rows. A string says what is missing.
 */
export function covariateModelInput(s: CovariateSeries, o: { target: readonly string[]; past?: readonly string[]; future?: readonly string[] },
  H: number, mode: 'forecast' | 'evaluate', contextLength?: number): CovariateModelInput | string {
  const past = o.past ?? [], future = o.future ?? [];
  if (s.contextRows === 0) return `no target value in any row (targets ${o.target.map((c) => `'${c}'`).join(', ')} are all empty)`;
  const end = mode === 'forecast' ? s.contextRows : s.contextRows - H;
  if (end < 1) return `has ${s.contextRows} rows up to its last target value, needs more than the horizon ${H} to hold out`;
  const horizonRows = s.columns.values().next().value!.length - end;
  if (future.length && horizonRows < H) {
    const last = s.contextRows - 1;
    return mode === 'forecast'
      ? `the future covariates need ${H} rows after the last target value (${rowLabel(s, last)}), the file has ${horizonRows}; add the horizon's rows with empty targets and the known ${future.map((c) => `'${c}'`).join(', ')}`
      : `needs ${H} rows for the held-out horizon, has ${horizonRows}`;
  }
  for (const c of future) {
    const v = s.columns.get(c)!;
    for (let k = end; k < end + H; k++) {
      if (Number.isNaN(v[k])) return `future covariate '${c}' has no value at ${rowLabel(s, k)} (step ${k - end + 1} of the horizon ${H}); the rows after the last target value must give every future covariate for the whole horizon`;
    }
  }
  const start = contextLength !== undefined && end > contextLength ? end - contextLength : 0;
  const target = o.target.map((c) => s.columns.get(c)!.slice(start, end));
  if (target.every((x) => x.every(Number.isNaN))) return 'every target value of the context is missing';
  const history = s.timestamps ? s.timestamps.slice(start, end) : Array.from({ length: end - start }, (_, k) => String(start + k));
  let frequency: Frequency | null = INDEX_FREQUENCY;
  let futureLabels: string[];
  if (!s.timestamps) futureLabels = Array.from({ length: H }, (_, k) => String(end + k));
  else if (s.timestamps.length >= end + H) { futureLabels = s.timestamps.slice(end, end + H); try { frequency = inferFrequency(s.timestamps.slice(0, end + H)); } catch { frequency = null; } }
  else {
    try { frequency = inferFrequency(s.timestamps.slice(0, end)); futureLabels = futureTimestamps(s.timestamps[end - 1], frequency, H); } catch (e) {
      return `cannot tell the horizon's timestamps: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return {
    id: s.id, target, past: past.map((c) => s.columns.get(c)!.slice(start, end)), future: future.map((c) => s.columns.get(c)!.slice(start, end + H)),
    history, futureLabels, frequency,
    ...(mode === 'evaluate' ? { actual: o.target.map((c) => s.columns.get(c)!.slice(end, end + H)) } : {}),
  };
}
