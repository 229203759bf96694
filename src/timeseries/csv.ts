// Reading time series from CSV text (browser-safe: the caller reads the file).
// Two layouts:
//  - wide: one row per time step, first column (or `timeCol`) the timestamp, every other
//    column one series;
//  - long: one row per observation with an id, an (optional) timestamp and a value column.
// Cells that are empty (or NA / NaN / null) are missing values (NaN); any other cell that is
// not a number is an error naming the source, line, column and value, because silently
// dropping it would shift the series. Every problem with the text is an InputError naming the
// source and, where there is one, the line and column.
import { parse } from 'csv-parse/sync';
import { InputError } from '../errors.js';
import { timestampKey } from './frequency.js';

export type CsvLayout = 'wide' | 'long';

export interface CsvReadOptions {
  /** 'auto' (default): long when the header has an id column and a value column, else wide. */
  format?: CsvLayout | 'auto';
  /** Long layout: id column name (auto: id, item_id, unique_id, series_id, series). */
  idCol?: string;
  /**
   * Timestamp column name. Wide auto: the first column, if its header looks like a time
   * (time/date/ds/...) or its first value is not a number. Long auto: timestamp, time,
   * date, ds, datetime. null: no timestamp column (an integer index is used).
   */
  timeCol?: string | null;
  /** Long layout: value column name (auto: value, target, y). */
  valueCol?: string;
  /** Name used in error messages (e.g. the file path). */
  source?: string;
  /**
   * Field delimiter: one character other than a quote or line break. Default: detected from
   * the header line (the most frequent of ',', ';' and tab outside quotes; ',' when none).
   */
  delimiter?: string;
}

export interface TimeSeries {
  id: string;
  /** One per value, as written in the file; null when the data has no timestamp column. */
  timestamps: string[] | null;
  /** NaN = missing. */
  values: Float64Array;
  /**
   * Without timestamps: the integer index of the first value (a wide-table series that starts
   * after the table's first row), so indices stay aligned across series. 0 otherwise.
   */
  start: number;
}

export interface ParsedSeriesCsv {
  layout: CsvLayout;
  /** Columns actually used. */
  idCol: string | null;
  timeCol: string | null;
  valueCols: string[];
  series: TimeSeries[];
}

const ID_NAMES = ['id', 'item_id', 'unique_id', 'series_id', 'series', 'item'];
const VALUE_NAMES = ['value', 'target', 'y', 'values'];
const TIME_NAMES = ['timestamp', 'time', 'date', 'ds', 'datetime', 'period', 'index'];
const TIME_HEADER_RE = /(time|date|^ds$|period|month|year|week|day|hour|^t$)/i;
const MISSING = new Set(['', 'na', 'nan', 'null', 'n/a', 'none', '?']);
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a numeric cell: a number, NaN for a missing marker, undefined when it is neither. */
export function parseCell(cell: string): number | undefined {
  const s = cell.trim();
  if (MISSING.has(s.toLowerCase())) return NaN;
  if (NUMBER_RE.test(s)) return Number(s);
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return undefined;
}

function findColumn(header: string[], names: readonly string[]): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  for (const n of names) {
    const i = lower.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

function requireColumn(header: string[], name: string, what: string, source: string): number {
  const i = header.findIndex((h) => h.trim() === name);
  if (i < 0) throw new InputError(`${source}: ${what} column '${name}' not found; the header has ${header.map((h) => `'${h}'`).join(', ')}`);
  return i;
}

interface Row { cells: string[]; line: number }

/** Parses CSV text with a header row into series (see CsvReadOptions for the layouts). */
export function parseSeriesCsv(text: string, opts: CsvReadOptions = {}): ParsedSeriesCsv {
  const source = opts.source ?? '<csv>';
  if (typeof text !== 'string') throw new InputError(`${source}: CSV text must be a string, got ${typeof text}`);
  const delimiter = opts.delimiter ?? detectDelimiter(text);
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || /["\r\n]/.test(delimiter)) {
    throw new InputError(`${source}: the delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: false, delimiter,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    throw new InputError(`${source}: not valid CSV: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (records.length === 0) throw new InputError(`${source}: the file is empty (expected a header row and data rows)`);
  const header = records[0].record;
  checkHeader(header, records[0].info.lines, source);
  const rows: Row[] = records.slice(1).map((r) => ({ cells: r.record, line: r.info.lines }));
  if (rows.length === 0) throw new InputError(`${source}: no data rows after the header`);
  const format = opts.format ?? 'auto';
  if (format !== 'auto' && format !== 'wide' && format !== 'long') throw new InputError(`${source}: format must be 'wide', 'long' or 'auto', got '${String(format)}'`);
  let layout: CsvLayout;
  if (format !== 'auto') layout = format;
  else if (opts.idCol !== undefined || opts.valueCol !== undefined) layout = 'long';
  else layout = findColumn(header, ID_NAMES) >= 0 && findColumn(header, VALUE_NAMES) >= 0 ? 'long' : 'wide';
  return layout === 'long' ? parseLong(header, rows, opts, source) : parseWide(header, rows, opts, source);
}

/**
 * The delimiter of the header line: the most frequent of ',', ';' and tab outside quotes
 * (ties in that order), ',' when the header has none (one column).
 */
export function detectDelimiter(text: string): string {
  const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0]]);
  let quoted = false;
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) {
      if ([...counts.values()].some((v) => v > 0)) break;
    } else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = ',', bestCount = 0;
  for (const [d, c] of counts) if (c > bestCount) { best = d; bestCount = c; }
  return best;
}

// Two columns of one name would make one series shadow the other (wide) or make the id /
// time / value choice ambiguous (long).
function checkHeader(header: string[], line: number, source: string): void {
  const seen = new Map<string, number>();
  header.forEach((h, i) => {
    const name = h.trim();
    const j = seen.get(name);
    if (j !== undefined) throw new InputError(`${source}: line ${line}: column name '${name}' appears twice (columns ${j + 1} and ${i + 1})`);
    seen.set(name, i);
  });
}

function numberAt(row: Row, col: number, header: string[], source: string): number {
  const cell = row.cells[col];
  const v = parseCell(cell);
  if (v === undefined) throw new InputError(`${source}: line ${row.line}, column '${header[col]}' (${col + 1}): '${cell}' is not a number (empty cell = missing)`);
  return v;
}

function parseWide(header: string[], rows: Row[], opts: CsvReadOptions, source: string): ParsedSeriesCsv {
  let timeIdx: number;
  if (opts.timeCol === null) timeIdx = -1;
  else if (opts.timeCol !== undefined) timeIdx = requireColumn(header, opts.timeCol, 'time', source);
  else {
    const first = rows.find((r) => r.cells[0].trim() !== '')?.cells[0] ?? '';
    timeIdx = TIME_HEADER_RE.test(header[0]) || parseCell(first) === undefined ? 0 : -1;
  }
  const valueCols = header.map((_, i) => i).filter((i) => i !== timeIdx);
  if (valueCols.length === 0) throw new InputError(`${source}: wide layout needs at least one series column besides the time column '${header[timeIdx]}'`);
  const times = timeIdx >= 0 ? rows.map((r) => r.cells[timeIdx]) : null;
  if (times) {
    const blank = times.findIndex((t) => t === '');
    if (blank >= 0) throw new InputError(`${source}: line ${rows[blank].line}, column '${header[timeIdx]}': the timestamp is empty`);
    const seen = new Map<string | number, number>();
    times.forEach((t, i) => {
      const k = timeSortKey(t) ?? t;
      const j = seen.get(k);
      if (j !== undefined) throw new InputError(`${source}: line ${rows[i].line}: timestamp '${t}' appears twice (also line ${rows[j].line})`);
      seen.set(k, i);
    });
  }
  const series: TimeSeries[] = valueCols.map((c) => {
    const values = new Float64Array(rows.length);
    rows.forEach((r, t) => { values[t] = numberAt(r, c, header, source); });
    // a series that starts later than the table is missing before its first value: drop
    // that prefix (trailing gaps stay, the forecast starts after the table's last row)
    let start = 0;
    while (start < values.length && Number.isNaN(values[start])) start++;
    return { id: header[c], timestamps: times ? times.slice(start) : null, values: values.slice(start), start: times ? 0 : start };
  });
  return { layout: 'wide', idCol: null, timeCol: timeIdx >= 0 ? header[timeIdx] : null, valueCols: valueCols.map((c) => header[c]), series };
}

function parseLong(header: string[], rows: Row[], opts: CsvReadOptions, source: string): ParsedSeriesCsv {
  const idIdx = opts.idCol !== undefined ? requireColumn(header, opts.idCol, 'id', source) : findColumn(header, ID_NAMES);
  if (idIdx < 0) throw new InputError(`${source}: long layout: no id column (tried ${ID_NAMES.join(', ')}); name it with --id-col`);
  const valueIdx = opts.valueCol !== undefined ? requireColumn(header, opts.valueCol, 'value', source) : findColumn(header, VALUE_NAMES);
  if (valueIdx < 0) throw new InputError(`${source}: long layout: no value column (tried ${VALUE_NAMES.join(', ')}); name it with --value-col`);
  let timeIdx: number;
  if (opts.timeCol === null) timeIdx = -1;
  else if (opts.timeCol !== undefined) timeIdx = requireColumn(header, opts.timeCol, 'time', source);
  else timeIdx = findColumn(header, TIME_NAMES);
  if (timeIdx === idIdx || timeIdx === valueIdx || idIdx === valueIdx) {
    throw new InputError(`${source}: long layout: id, time and value columns must differ (got '${header[idIdx]}', '${timeIdx >= 0 ? header[timeIdx] : '-'}', '${header[valueIdx]}')`);
  }
  const groups = new Map<string, { times: string[]; values: number[]; lines: number[] }>();
  for (const r of rows) {
    const id = r.cells[idIdx];
    if (id === '') throw new InputError(`${source}: line ${r.line}, column '${header[idIdx]}': the series id is empty`);
    let g = groups.get(id);
    if (!g) { g = { times: [], values: [], lines: [] }; groups.set(id, g); }
    if (timeIdx >= 0) {
      const t = r.cells[timeIdx];
      if (t === '') throw new InputError(`${source}: line ${r.line}, column '${header[timeIdx]}': the timestamp is empty`);
      g.times.push(t);
    }
    g.values.push(numberAt(r, valueIdx, header, source));
    g.lines.push(r.line);
  }
  const series: TimeSeries[] = [];
  for (const [id, g] of groups) {
    let order = g.values.map((_, i) => i);
    if (timeIdx >= 0) {
      // rows of one series may come in any order: sort by time when every timestamp is
      // comparable (parseable date or number), else keep the file order
      const keys = g.times.map(timeSortKey);
      if (keys.every((k) => k !== undefined)) order.sort((a, b) => (keys[a]! - keys[b]!) || a - b);
      // sorted, equal keys are neighbours; unsorted (some timestamp not a date), equal text
      const seen = new Map<string | number, number>();
      for (const i of order) {
        const k = keys[i] ?? g.times[i];
        const j = seen.get(k);
        if (j !== undefined) throw new InputError(`${source}: line ${g.lines[i]}: series '${id}' has timestamp '${g.times[i]}' twice (also line ${g.lines[j]})`);
        seen.set(k, i);
      }
    } else order = order.slice();
    series.push({
      id,
      timestamps: timeIdx >= 0 ? order.map((i) => g.times[i]) : null,
      values: Float64Array.from(order, (i) => g.values[i]),
      start: 0,
    });
  }
  return { layout: 'long', idCol: header[idIdx], timeCol: timeIdx >= 0 ? header[timeIdx] : null, valueCols: [header[valueIdx]], series };
}

// Sort key for a timestamp cell: naive epoch ms of a date, or the number itself; undefined if neither.
function timeSortKey(s: string): number | undefined {
  return timestampKey(s);
}
