// Frequency of a series from its timestamps, and the timestamps of the forecast horizon in
// the same text format. Timestamps are read as naive calendar fields (a time-zone suffix is
// kept verbatim but not applied), so there are no daylight-saving jumps.
//
// Inference: the most common gap between consecutive timestamps decides (so a few missing
// rows do not matter). Gaps of 28 days or more are tested as calendar steps first: k months
// (same day of month, or month end), k = 3 -> quarterly, 12 -> yearly. A daily series with
// no Saturday/Sunday and Friday->Monday gaps is business-daily.

import { ArgumentError, InputError } from '../errors.js';

export type FrequencyUnit = 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'businessDay' | 'week' | 'month' | 'quarter' | 'year' | 'index';

export interface Frequency {
  unit: FrequencyUnit;
  /** Multiple of the unit between consecutive points (e.g. 15 minutes, 2 weeks). */
  step: number;
  /** Month-based units: every timestamp is the last day of its month. */
  monthEnd?: boolean;
  /** Short pandas-like alias, e.g. 'D', '15min', 'MS', 'ME', 'QE', 'YS', 'B', 'W', 'h', 'index'. */
  alias: string;
}

/** Calendar fields of one timestamp (naive, month 1-12). */
export interface TimeFields { year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number }

type TimeFormat =
  | { kind: 'number'; decimals: number }
  | { kind: 'quarter'; sep: string }
  | {
    kind: 'date'; dateSep: string; parts: 1 | 2 | 3; padMonth: boolean; padDay: boolean;
    timeSep: string | null; padHour: boolean; hasSeconds: boolean; fracDigits: number; tz: string;
  };

export interface ParsedTimestamp { fields: TimeFields; format: TimeFormat; /** naive epoch ms (or the number, for numeric indices) */ key: number }

const DAY = 86_400_000;
const DATE_RE = /^(\d{4})(?:([-/.])(\d{1,2})(?:\2(\d{1,2}))?)?(?:([T ])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const QUARTER_RE = /^(\d{4})(-?Q|-?q)([1-4])$/;
const NUM_RE = /^[+-]?\d+(\.\d+)?$/;

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses one timestamp; undefined when it is not in a supported format. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const s = text.trim();
  if (NUM_RE.test(s)) {
    const dot = s.indexOf('.');
    const decimals = dot < 0 ? 0 : s.length - dot - 1;
    const v = Number(s);
    // 400 digits are Infinity as a number: not a point in time (and no step from it)
    if (!Number.isFinite(v)) return undefined;
    // a bare 4-digit integer is an index unless the caller sees it as a year (frequency stays 'index' either way)
    return { fields: { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0 }, format: { kind: 'number', decimals }, key: v };
  }
  let m = QUARTER_RE.exec(s);
  if (m) {
    const year = Number(m[1]), q = Number(m[3]);
    const fields = { year, month: 3 * (q - 1) + 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0 };
    return { fields, format: { kind: 'quarter', sep: m[2] }, key: Date.UTC(year, fields.month - 1, 1) };
  }
  m = DATE_RE.exec(s);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[3] !== undefined ? Number(m[3]) : 1;
  const day = m[4] !== undefined ? Number(m[4]) : 1;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (m[3] === undefined && m[5] !== undefined) return undefined; // '2020 10:00'
  const hour = m[6] !== undefined ? Number(m[6]) : 0;
  const minute = m[7] !== undefined ? Number(m[7]) : 0;
  const second = m[8] !== undefined ? Number(m[8]) : 0;
  const frac = m[9] ?? '';
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const parts = m[4] !== undefined ? 3 : m[3] !== undefined ? 2 : 1;
  const format: TimeFormat = {
    kind: 'date', dateSep: m[2] ?? '-', parts, padMonth: (m[3] ?? '00').length === 2, padDay: (m[4] ?? '00').length === 2,
    timeSep: m[5] ?? null, padHour: (m[6] ?? '00').length === 2, hasSeconds: m[8] !== undefined, fracDigits: frac.length, tz: m[10] ?? '',
  };
  const fields = { year, month, day, hour, minute, second, ms };
  return { fields, format, key: Date.UTC(year, month - 1, day, hour, minute, second, ms) };
}

function parseAll(timestamps: readonly string[], pre: string): ParsedTimestamp[] {
  return timestamps.map((t, i) => {
    const p = parseTimestamp(t);
    if (!p) throw new InputError(`${pre}timestamp ${i} '${t}' is not a supported date/time (YYYY, YYYY-MM, YYYY-MM-DD[ HH:MM[:SS[.fff]]][Z|+hh:mm], YYYY-Qn, or a number)`);
    return p;
  });
}

function mode(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0], bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount || (c === bestCount && v < best)) { best = v; bestCount = c; }
  return best;
}

const monthIndex = (f: TimeFields) => f.year * 12 + (f.month - 1);
const isMonthEnd = (f: TimeFields) => f.day === daysInMonth(f.year, f.month);
const weekday = (key: number) => new Date(key).getUTCDay(); // 0 Sunday

function monthAlias(months: number, monthEnd: boolean): { unit: FrequencyUnit; step: number; alias: string } {
  const suffix = monthEnd ? 'E' : 'S';
  if (months % 12 === 0) return { unit: 'year', step: months / 12, alias: `${months > 12 ? months / 12 : ''}Y${suffix}` };
  if (months % 3 === 0) return { unit: 'quarter', step: months / 3, alias: `${months > 3 ? months / 3 : ''}Q${suffix}` };
  return { unit: 'month', step: months, alias: `${months > 1 ? months : ''}M${suffix}` };
}

function fixedAlias(ms: number): { unit: FrequencyUnit; step: number; alias: string } {
  const units: [FrequencyUnit, number, string][] = [['week', 7 * DAY, 'W'], ['day', DAY, 'D'], ['hour', 3_600_000, 'h'], ['minute', 60_000, 'min'], ['second', 1000, 's'], ['millisecond', 1, 'ms']];
  for (const [unit, size, a] of units) {
    if (ms % size === 0) { const step = ms / size; return { unit, step, alias: `${step > 1 ? step : ''}${a}` }; }
  }
  return { unit: 'millisecond', step: ms, alias: `${ms}ms` };
}

/**
 * Infers the frequency of a series from its timestamps (at least 2, strictly increasing).
 * `what` names the series in error messages.
 */
export function inferFrequency(timestamps: readonly string[], what = ''): Frequency {
  const pre = what ? `${what}: ` : '';
  if (timestamps.length < 2) throw new InputError(`${pre}cannot infer the frequency from ${timestamps.length} timestamp(s); need at least 2`);
  const parsed = parseAll(timestamps, pre);
  const kinds = new Set(parsed.map((p) => p.format.kind));
  if (kinds.size > 1) throw new InputError(`${pre}timestamps mix formats (${[...kinds].join(', ')}), e.g. '${timestamps[0]}' and '${timestamps[parsed.findIndex((p) => p.format.kind !== parsed[0].format.kind)]}'`);
  const deltas: number[] = [];
  for (let i = 1; i < parsed.length; i++) {
    const d = parsed[i].key - parsed[i - 1].key;
    if (!(d > 0)) throw new InputError(`${pre}timestamps must increase: '${timestamps[i - 1]}' is followed by '${timestamps[i]}'`);
    deltas.push(d);
  }
  const kind = parsed[0].format.kind;
  if (kind === 'number') {
    const step = mode(deltas.map((d) => Number(d.toPrecision(12))));
    return { unit: 'index', step, alias: step === 1 ? 'index' : `${step}index` };
  }
  if (kind === 'quarter') {
    const step = mode(parsed.slice(1).map((p, i) => (monthIndex(p.fields) - monthIndex(parsed[i].fields)) / 3));
    return { unit: 'quarter', step, monthEnd: false, alias: `${step > 1 ? step : ''}QS` };
  }
  const d = mode(deltas);
  if (d >= 28 * DAY) {
    // calendar steps: k months between consecutive points with the same day of month (or month ends)
    const monthDiffs: number[] = [];
    let calendar = 0;
    const allEnd = parsed.every((p) => isMonthEnd(p.fields));
    for (let i = 1; i < parsed.length; i++) {
      const a = parsed[i - 1].fields, b = parsed[i].fields;
      monthDiffs.push(monthIndex(b) - monthIndex(a));
      const sameTime = a.hour === b.hour && a.minute === b.minute && a.second === b.second && a.ms === b.ms;
      if (sameTime && (a.day === b.day || (isMonthEnd(a) && isMonthEnd(b)))) calendar++;
    }
    const k = mode(monthDiffs);
    if (k >= 1 && calendar >= 0.8 * monthDiffs.length) {
      const { unit, step, alias } = monthAlias(k, allEnd);
      return { unit, step, monthEnd: allEnd, alias };
    }
  }
  if (d === DAY) {
    const weekend = parsed.some((p) => { const w = weekday(p.key); return w === 0 || w === 6; });
    const friMon = parsed.some((p, i) => i > 0 && deltas[i - 1] === 3 * DAY && weekday(p.key) === 1);
    if (!weekend && friMon) return { unit: 'businessDay', step: 1, alias: 'B' };
  }
  return fixedAlias(d);
}

function pad(n: number, width: number): string { return String(n).padStart(width, '0'); }

function render(f: TimeFields, fmt: TimeFormat, key: number): string {
  if (fmt.kind === 'number') return fmt.decimals > 0 ? key.toFixed(fmt.decimals) : String(Math.round(key));
  if (fmt.kind === 'quarter') return `${f.year}${fmt.sep}${Math.floor((f.month - 1) / 3) + 1}`;
  let s = pad(f.year, 4);
  if (fmt.parts >= 2) s += fmt.dateSep + (fmt.padMonth ? pad(f.month, 2) : String(f.month));
  if (fmt.parts >= 3) s += fmt.dateSep + (fmt.padDay ? pad(f.day, 2) : String(f.day));
  if (fmt.timeSep !== null) {
    s += fmt.timeSep + (fmt.padHour ? pad(f.hour, 2) : String(f.hour)) + ':' + pad(f.minute, 2);
    if (fmt.hasSeconds) s += ':' + pad(f.second, 2);
    if (fmt.fracDigits > 0) s += '.' + pad(f.ms, 3).padEnd(fmt.fracDigits, '0').slice(0, fmt.fracDigits);
  }
  return s + fmt.tz;
}

function fieldsOf(key: number): TimeFields {
  const d = new Date(key);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), ms: d.getUTCMilliseconds() };
}

/**
 * The `horizon` timestamps after `last`, `freq` apart, written in the format of `last`.
 * Month-based frequencies keep the day of month (clamped to shorter months) or the month end.
 */
export function futureTimestamps(last: string, freq: Frequency, horizon: number): string[] {
  if (!Number.isInteger(horizon) || horizon < 0) throw new ArgumentError(`futureTimestamps: horizon must be an integer >= 0, got ${horizon}`);
  const p = parseTimestamp(last);
  if (!p) throw new InputError(`futureTimestamps: '${last}' is not a supported timestamp`);
  const out: string[] = [];
  const f = p.fields;
  for (let j = 1; j <= horizon; j++) {
    switch (freq.unit) {
      case 'index': out.push(render(f, p.format, p.key + j * freq.step)); break;
      case 'month': case 'quarter': case 'year': {
        const months = freq.step * (freq.unit === 'month' ? 1 : freq.unit === 'quarter' ? 3 : 12);
        const mi = monthIndex(f) + j * months;
        const year = Math.floor(mi / 12), month = (mi % 12) + 1;
        const dim = daysInMonth(year, month);
        const day = freq.monthEnd ? dim : Math.min(f.day, dim);
        const g = { ...f, year, month, day };
        out.push(render(g, p.format, Date.UTC(year, month - 1, day, f.hour, f.minute, f.second, f.ms)));
        break;
      }
      case 'businessDay': {
        let key = j === 1 ? p.key : keyOf(out[out.length - 1]);
        do key += DAY; while (weekday(key) === 0 || weekday(key) === 6);
        out.push(render(fieldsOf(key), p.format, key));
        break;
      }
      default: {
        const key = p.key + j * freq.step * unitMs(freq.unit);
        out.push(render(fieldsOf(key), p.format, key));
      }
    }
  }
  return out;
}

function keyOf(s: string): number {
  const p = parseTimestamp(s);
  if (!p) throw new InputError(`'${s}' is not a supported timestamp`);
  return p.key;
}

function unitMs(u: FrequencyUnit): number {
  switch (u) {
    case 'week': return 7 * DAY;
    case 'day': return DAY;
    case 'hour': return 3_600_000;
    case 'minute': return 60_000;
    case 'second': return 1000;
    case 'millisecond': return 1;
    default: throw new Error(`unitMs: ${u} has no fixed length`);
  }
}

/** Integer index frequency, for series without timestamps. */
export const INDEX_FREQUENCY: Frequency = Object.freeze({ unit: 'index', step: 1, alias: 'index' }) as Frequency;

/**
 * Seasonal period m for MASE / seasonal naive: 12 monthly, 4 quarterly, 7 daily, 5
 * business-daily, 24 hourly, 1 otherwise; multiples divide it when they fit (2-hourly -> 12,
 * 2-monthly -> 6), else 1.
 */
export function seasonalPeriod(freq: Frequency): number {
  const base: Partial<Record<FrequencyUnit, number>> = { month: 12, quarter: 4, day: 7, businessDay: 5, hour: 24 };
  const b = base[freq.unit];
  if (b === undefined) return 1;
  return freq.step >= 1 && Number.isInteger(freq.step) && b % freq.step === 0 ? b / freq.step : 1;
}

/** Sort key of a timestamp (naive epoch ms, or the number itself), undefined if unsupported. */
export function timestampKey(text: string): number | undefined {
  return parseTimestamp(text)?.key;
}

/** Where the timestamps of a series sit on the regular grid of its frequency. */
export type GridCheck =
  | { kind: 'regular' }
  /** On the grid, with steps missing: the full grid and each value's position on it. */
  | { kind: 'gaps'; missing: number; firstMissing: string; before: string; after: string; grid: string[]; positions: Int32Array };

/**
 * Grid steps a series may span per value it has. A series sparser than this is not one
 * frequency with holes; filling it would also make the data 100 times larger.
 */
export const MAX_GRID_STEPS_PER_VALUE = 100;

/** Missing grid steps a series may have in all (each one a timestamp string when filled). */
export const MAX_MISSING_STEPS = 1_000_000;

/**
 * Checks that `timestamps` (strictly increasing, `freq` inferred from them) follow one
 * frequency: every timestamp on the grid that starts at the first one. Missing grid steps are
 * gaps (returned, with the full grid so the caller can fill them). A timestamp off the grid,
 * or a run of 3 or more equal multi-step jumps (hourly data that turns daily), is a mix of
 * frequencies: an InputError naming the timestamp and the frequency (`what` first, if given).
 */
export function checkGrid(timestamps: readonly string[], freq: Frequency, what = ''): GridCheck {
  const pre = what ? `${what}: ` : '';
  const n = timestamps.length;
  if (n < 2) return { kind: 'regular' };
  const parsed = timestamps.map((t) => {
    const p = parseTimestamp(t);
    if (!p) throw new InputError(`${pre}'${t}' is not a supported timestamp`);
    return p;
  });
  const cap = Math.min(n * MAX_GRID_STEPS_PER_VALUE, n + MAX_MISSING_STEPS);
  const positionOf = gridPositions(parsed[0], freq);
  const positions = new Int32Array(n);
  for (let i = 1; i < n; i++) {
    const p = positionOf(parsed[i]);
    if (p === undefined || p <= positions[i - 1]) {
      const next = futureTimestamps(timestamps[i - 1], freq, 1)[0];
      throw new InputError(`${pre}frequencies mixed: '${timestamps[i]}' (after '${timestamps[i - 1]}') is not on the '${freq.alias}' grid that the other timestamps follow (expected '${next}')`);
    }
    if (p > cap) {
      throw new InputError(`${pre}the timestamps '${timestamps[0]}' .. '${timestamps[n - 1]}' span more than ${cap} steps of '${freq.alias}' for ${n} values (frequencies mixed, or too sparse to be one frequency with gaps)`);
    }
    positions[i] = p;
  }
  let run = 1, missing = 0, firstGap = -1;
  for (let i = 1; i < n; i++) {
    const k = positions[i] - positions[i - 1];
    if (k > 1) { missing += k - 1; if (firstGap < 0) firstGap = i; }
    run = i >= 2 && k > 1 && k === positions[i - 1] - positions[i - 2] ? run + 1 : 1;
    if (run >= 3) {
      const from = i - run;
      throw new InputError(`${pre}frequencies mixed: mostly '${freq.alias}' apart, but from '${timestamps[from]}' on ${k} steps of '${freq.alias}' apart ('${timestamps[from]}', '${timestamps[from + 1]}', '${timestamps[from + 2]}', ...)`);
    }
  }
  if (missing === 0) return { kind: 'regular' };
  const grid = gridTimestamps(timestamps, freq, positions[n - 1]);
  return { kind: 'gaps', missing, firstMissing: grid[positions[firstGap - 1] + 1], before: timestamps[firstGap - 1], after: timestamps[firstGap], grid, positions };
}

/**
 * The grid position of a timestamp (steps of `freq` after `first`), or undefined when it is
 * not on the grid. Arithmetic, not generated timestamps, so a long series is checked in one
 * pass; the rules are those of futureTimestamps (month days clamped from the first's day).
 */
function gridPositions(first: ParsedTimestamp, freq: Frequency): (p: ParsedTimestamp) => number | undefined {
  const whole = (x: number) => { const r = Math.round(x); return Math.abs(x - r) <= 1e-6 * Math.max(1, Math.abs(x)) ? r : undefined; };
  switch (freq.unit) {
    case 'index': return (p) => whole((p.key - first.key) / freq.step);
    case 'month': case 'quarter': case 'year': {
      const months = freq.step * (freq.unit === 'month' ? 1 : freq.unit === 'quarter' ? 3 : 12);
      const f = first.fields;
      return (p) => {
        const dm = monthIndex(p.fields) - monthIndex(f);
        if (dm % months !== 0) return undefined;
        const { year, month } = p.fields;
        const dim = daysInMonth(year, month);
        const day = freq.monthEnd ? dim : Math.min(f.day, dim);
        return Date.UTC(year, month - 1, day, f.hour, f.minute, f.second, f.ms) === p.key ? dm / months : undefined;
      };
    }
    case 'businessDay': {
      // weekdays since the Monday 1970-01-05, at the first timestamp's time of day
      const timeOfDay = (k: number) => ((k % DAY) + DAY) % DAY;
      const index = (k: number) => {
        const d = Math.floor(k / DAY) - 4, w = Math.floor(d / 7), r = d - 7 * w;
        return r >= 5 ? undefined : w * 5 + r;
      };
      const i0 = index(first.key);
      return (p) => {
        const i = index(p.key);
        return i === undefined || i0 === undefined || timeOfDay(p.key) !== timeOfDay(first.key) ? undefined : i - i0;
      };
    }
    default: {
      const stepMs = freq.step * unitMs(freq.unit);
      return (p) => { const x = (p.key - first.key) / stepMs; return Number.isInteger(x) ? x : undefined; };
    }
  }
}

/** The grid's timestamps from the first one to position `last`, as futureTimestamps writes them. */
function gridTimestamps(timestamps: readonly string[], freq: Frequency, last: number): string[] {
  if (freq.unit !== 'index') return [timestamps[0], ...futureTimestamps(timestamps[0], freq, last)];
  // numbers: written with the most decimals any of them has (1 and 1.5 -> 1.0, 1.5, 2.0)
  let decimals = 0;
  for (const t of timestamps) { const u = t.trim(), d = u.indexOf('.'); if (d >= 0) decimals = Math.max(decimals, u.length - d - 1); }
  const k0 = parseTimestamp(timestamps[0])!.key;
  return Array.from({ length: last + 1 }, (_, p) => (k0 + p * freq.step).toFixed(decimals));
}
