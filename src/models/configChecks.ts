// Checks shared by the model config resolvers: unknown keys (with a "did you mean"), sizes
// that must be positive integers, and the memory a config's parameters would need, checked
// before any array or heap is allocated. Every failure is a ConfigError or LimitError whose
// message names the key by its full path in the config file.
import { ConfigError, LimitError } from '../errors.js';

type Obj = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A value for an error message: short, never a whole nested config. */
export function showValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === undefined) return 'undefined';
  let s: string;
  try { s = JSON.stringify(v) ?? String(v); } catch { s = String(v); }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Levenshtein distance, bounded: returns `max + 1` as soon as it must exceed `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The closest known key when it is close enough to be a typo (a third of the key's length, at least 2 edits). */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const max = Math.max(2, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestD = max + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase(), max);
    if (d < bestD) { best = k; bestD = d; }
  }
  return best;
}

export const joinPath = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/**
 * Refuses any key of `obj` that is not in `known` (nor accepted by `extra`), naming its
 * full path. `known` is what the error suggests from, so keys that are accepted but
 * ignored belong in `extra`.
 */
export function checkKeys(what: string, obj: Obj, path: string, known: readonly string[], extra: (key: string) => boolean = () => false): void {
  for (const k of Object.keys(obj)) {
    if (known.includes(k) || extra(k)) continue;
    const near = didYouMean(k, known);
    throw new ConfigError(`${what}: unknown key '${joinPath(path, k)}'${near ? ` (did you mean '${joinPath(path, near)}'?)` : ''}; `
      + `known keys${path ? ` of ${path}` : ''}: ${known.join(', ')}`);
  }
}

/**
 * A size: a positive (or >= `min`) integer. Fractions, NaN, infinities, strings and booleans
 * are refused here so that no arithmetic further on sees them.
 */
export function sizeInt(what: string, path: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`${what}: ${path} = ${showValue(v)}, expected an integer >= ${min}`);
  }
  return v;
}

/** A positive finite float (projection factors). */
export function positiveFloat(what: string, path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(`${what}: ${path} = ${showValue(v)}, expected a finite number > 0`);
  }
  return v;
}

/**
 * Bytes a model may need, at most. In Node it is the machine's physical memory: a model
 * larger than that can only end in an out-of-memory abort after minutes of work. Browsers
 * expose no such figure; there the limit is 16 GiB, four full wasm32 heaps, the most the
 * multi-heap xLSTM Large loader can place in one tab.
 */
export function maxModelBytes(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as { totalmem?: () => number } | undefined;
  const total = os?.totalmem?.();
  return typeof total === 'number' && total > 0 ? total : 16 * 2 ** 30;
}

/** One size of a config that the parameter count grows with. */
export interface SizeTerm {
  /** Path in the config file, e.g. `model_config.block_kwargs.num_blocks`. */
  readonly path: string;
  readonly value: number;
  /** The parameter count with this size set to `v` and all others as given. */
  count(v: number): number;
}

export interface ParameterBudget {
  /** Error prefix: the family. */
  readonly what: string;
  /** Parameters of the resolved config (float64: may exceed 2^53, never wraps). */
  readonly parameters: number;
  /** Bytes per parameter in the smallest format the family loads. */
  readonly bytesPerParameter: number;
  /** Sizes to blame, in order of preference when several are too large. */
  readonly terms: readonly SizeTerm[];
  /** Bytes allowed (default maxModelBytes()). */
  readonly maxBytes?: number;
}

const gib = (b: number) => `${(b / 2 ** 30).toPrecision(3)} GiB`;

/** The largest value in [1, hi] for which `count` stays within `maxParams` (0 when even 1 does not fit). */
function largestFitting(count: (v: number) => number, hi: number, maxParams: number): number {
  if (!(count(1) <= maxParams)) return 0;
  let lo = 1;
  let top = Math.min(hi, Number.MAX_SAFE_INTEGER);
  while (lo < top) {
    const mid = Math.floor(lo + (top - lo + 1) / 2);
    if (count(mid) <= maxParams) lo = mid; else top = mid - 1;
  }
  return lo;
}

/**
 * Refuses, with a LimitError naming one config key, its value and the largest value that
 * would fit, a config whose parameters need more bytes than `maxBytes`. The key blamed is
 * the one furthest above its own largest fitting value.
 */
export function checkParameterBudget(b: ParameterBudget): void {
  const maxBytes = b.maxBytes ?? maxModelBytes();
  const bytes = b.parameters * b.bytesPerParameter;
  if (bytes <= maxBytes) return;
  const maxParams = maxBytes / b.bytesPerParameter;
  let worst: { term: SizeTerm; limit: number; ratio: number } | undefined;
  for (const term of b.terms) {
    const limit = largestFitting(term.count, term.value, maxParams);
    // a size that cannot fix the excess on its own (limit 0) is blamed only when none can
    const ratio = limit > 0 ? term.value / limit : 0;
    if (limit < term.value && (!worst || ratio > worst.ratio)) worst = { term, limit, ratio };
  }
  const reason = `${b.what} would have ${b.parameters.toPrecision(4)} parameters, ${gib(bytes)} at ${b.bytesPerParameter} bytes each, `
    + `more than the ${gib(maxBytes)} this process can hold`;
  if (!worst) throw new LimitError('parameters', b.parameters, Math.floor(maxParams), reason);
  throw new LimitError(worst.term.path, worst.term.value, worst.limit, reason);
}
