// Argument checks of the training API (AdamW, the schedule, the Trainer): a bad value is an
// ArgumentError naming the function, the option, the value and the accepted range, raised at
// the entry point instead of a NaN weight many steps later.
import { ArgumentError } from '../errors.js';

export interface NumberRange {
  /** must be an integer */ int?: boolean;
  /** inclusive bounds */ min?: number; max?: number;
  /** exclusive bounds */ gt?: number; lt?: number;
}

const show = (v: unknown): string => (typeof v === 'number' ? String(v) : v === undefined ? 'undefined' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? (v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object') : String(v));

function describe(r: NumberRange): string {
  const parts: string[] = [];
  if (r.gt !== undefined) parts.push(`> ${r.gt}`);
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.lt !== undefined) parts.push(`< ${r.lt}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return `${r.int ? 'an integer' : 'a finite number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/** `v` as a number in range, else an ArgumentError "fn: name = v, expected ...". */
export function checkNumber(fn: string, name: string, v: unknown, r: NumberRange = {}): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (!r.int || Number.isInteger(v))
    && (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max)
    && (r.gt === undefined || v > r.gt) && (r.lt === undefined || v < r.lt);
  if (!ok) throw new ArgumentError(`${fn}: ${name} = ${show(v)}, expected ${describe(r)}`);
  return v as number;
}

/** Like checkNumber, for an optional value (undefined passes). */
export function checkOptionalNumber(fn: string, name: string, v: unknown, r: NumberRange = {}): number | undefined {
  return v === undefined ? undefined : checkNumber(fn, name, v, r);
}

/** An optional callback. */
export function checkOptionalFunction(fn: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'function') throw new ArgumentError(`${fn}: ${name} = ${show(v)}, expected a function`);
}

/** An options object (undefined allowed when `optional`). */
export function checkOptions(fn: string, v: unknown, optional = false): void {
  if (v === undefined && optional) return;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ArgumentError(`${fn}: options = ${show(v)}, expected an options object`);
}
