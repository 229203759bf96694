// Shared pieces of the io fuzzers: run counts and seeds (fixed in CI, overridable
// for long local campaigns), byte-level mutations of valid files, and the one
// property every reader must have: an input ends in the project's own typed error
// (XlstmError) or in a result that checks out, within a time budget. Anything else
// (TypeError, RangeError, a hang, a huge allocation) is a bug in the reader.
import fc from 'fast-check';
import { XlstmError } from '../../src/errors.js';

/**
 * numRuns and seed of one fuzz property. FUZZ_RUNS multiplies every default (so
 * `FUZZ_RUNS=100` turns a 1000-run CI property into a 100k-run campaign);
 * FUZZ_SEED replaces the fixed seed (a failure report prints the one to reuse).
 */
export function fuzzParams(defaultRuns: number, seed: number): { numRuns: number; seed: number } {
  const factor = Number(process.env.FUZZ_RUNS ?? '1');
  if (!(factor > 0)) throw new Error(`FUZZ_RUNS must be a number > 0, got ${process.env.FUZZ_RUNS}`);
  const envSeed = process.env.FUZZ_SEED;
  return { numRuns: Math.max(1, Math.round(defaultRuns * factor)), seed: envSeed !== undefined ? Number(envSeed) : seed };
}

/**
 * Runs a property with fuzzParams; on failure the error names the property, the seed
 * and the environment to reproduce it (fast-check's own report, with the shrunk
 * counterexample and its path, follows).
 */
export async function runFuzz<Ts extends [unknown, ...unknown[]]>(
  label: string, defaultRuns: number, seed: number, prop: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
): Promise<number> {
  const params = fuzzParams(defaultRuns, seed);
  try {
    await fc.assert(prop as fc.IAsyncPropertyWithHooks<Ts>, { ...params, endOnFailure: false });
  } catch (e) {
    const cause = (e as Error).cause as Error | undefined;
    const err = new Error(`fuzz '${label}' failed (numRuns ${params.numRuns}, seed ${params.seed}; reproduce with FUZZ_SEED=${params.seed} FUZZ_RUNS=${process.env.FUZZ_RUNS ?? 1}):\n${(e as Error).message}` +
      (cause ? `\nCause: ${cause.stack ?? cause.message}` : ''));
    console.error(err.message);
    throw err;
  }
  if (process.env.FUZZ_REPORT) console.log(`fuzz '${label}': ${params.numRuns} cases passed (seed ${params.seed})`);
  return params.numRuns;
}

/**
 * Per-test limit, so an async hang (a read that never settles) fails the test instead of
 * stalling the run; scaled with FUZZ_RUNS. (A synchronous endless loop cannot be preempted
 * in-process; the per-case budget below catches loops that end but blow up.)
 */
export const FUZZ_TIMEOUT_MS = 120_000 * Math.max(1, Number(process.env.FUZZ_RUNS ?? '1') || 1);

/**
 * Most CPU time one case may use: real readers finish in milliseconds, so anything near
 * this is a blow-up. CPU time of this process, not wall time, so a machine busy with other
 * work does not make the fuzzers flaky.
 */
export const CASE_BUDGET_MS = 2000;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** What one case ended in (so properties can also assert that the mutations reach the valid path). */
export type Outcome = 'valid' | 'refused';

function checkError(e: unknown, label: string): Outcome {
  if (e instanceof XlstmError) {
    // A typed error must still say something useful: a non-empty message naming the input.
    if (!e.message || e.message.length < 8) throw new Error(`${label}: ${e.name} with an empty message`);
    return 'refused';
  }
  const err = e as Error;
  throw new Error(`${label}: not a typed error but ${err?.name ?? typeof e}: ${err?.message}\n${err?.stack ?? ''}`);
}

function checkTime(start: number, label: string): void {
  const ms = cpuMs() - start;
  if (ms > CASE_BUDGET_MS) throw new Error(`${label}: took ${ms.toFixed(0)} ms of CPU time (budget ${CASE_BUDGET_MS} ms): a hang or a blow-up`);
}

/** Runs `run`; a throw must be an XlstmError, a result must pass `check` (whose own failures are bugs too). */
export function typedOrValid<T>(label: string, run: () => T, check: (v: T) => void): Outcome {
  const start = cpuMs();
  let v: T;
  try {
    v = run();
  } catch (e) {
    checkTime(start, label);
    return checkError(e, label);
  }
  check(v);
  checkTime(start, label);
  return 'valid';
}

/** typedOrValid for async readers; `check` may itself read (and fail only with typed errors). */
export async function typedOrValidAsync<T>(label: string, run: () => Promise<T>, check: (v: T) => Promise<void> | void): Promise<Outcome> {
  const start = cpuMs();
  let v: T;
  try {
    v = await run();
  } catch (e) {
    checkTime(start, label);
    return checkError(e, label);
  }
  await check(v);
  checkTime(start, label);
  return 'valid';
}

/** One byte-level edit of a file. Positions are taken modulo the file length, so any nat fits any file. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'u16'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'u64'; at: number; value: bigint }
  | { kind: 'copy'; from: number; to: number; length: number };

/** Values that break length and offset fields: zero, one, sign bits, saturation, just past 2^53, 1e15. */
export const INTERESTING_U32 = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
export const INTERESTING_U64 = [0n, 1n, 8n, 0xffffffffn, 2n ** 31n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n,
  10n ** 15n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

/**
 * Mutations of a file; `hot` lists offsets of fields worth hitting (length prefixes,
 * directory records, opcodes), `byteValues` bytes worth writing (e.g. pickle opcodes).
 */
export function mutationArb(hot: readonly number[] = [], byteValues: readonly number[] = [0, 0xff, 0x7f, 0x80, 0x22, 0x2e, 0x5b, 0x7b]): fc.Arbitrary<Mutation> {
  const at = hot.length ? fc.oneof({ weight: 2, arbitrary: fc.nat() }, { weight: 3, arbitrary: fc.constantFrom(...hot) }) : fc.nat();
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at, value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...byteValues)) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 32 }) }),
    fc.record({ kind: fc.constant('u16' as const), at, value: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 1, 0xffff, 0xfffe, 0x8000)) }),
    fc.record({ kind: fc.constant('u32' as const), at, value: fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(...INTERESTING_U32)) }),
    fc.record({ kind: fc.constant('u64' as const), at, value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(...INTERESTING_U64)) }),
    fc.record({ kind: fc.constant('copy' as const), from: at, to: at, length: fc.integer({ min: 1, max: 64 }) }),
  );
}

/** Applies the mutations in order (each to the result of the previous one). */
export function mutate(base: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  // new Uint8Array, not slice(): on a Node Buffer slice() is a view, and the base must stay intact.
  let b: Uint8Array = new Uint8Array(base);
  for (const m of mutations) {
    const pos = (at: number) => (b.length ? at % b.length : 0);
    switch (m.kind) {
      case 'flip': if (b.length) b[pos(m.at)] ^= 1 << m.bit; break;
      case 'set': if (b.length) b[pos(m.at)] = m.value; break;
      case 'truncate': b = b.slice(0, m.at % (b.length + 1)); break;
      case 'insert': { const p = m.at % (b.length + 1); b = concat(b.subarray(0, p), m.bytes, b.subarray(p)); break; }
      case 'delete': { const p = pos(m.at); b = concat(b.subarray(0, p), b.subarray(p + m.length)); break; }
      case 'u16': case 'u32': case 'u64': {
        const width = m.kind === 'u16' ? 2 : m.kind === 'u32' ? 4 : 8;
        if (b.length < width) break;
        const p = m.at % (b.length - width + 1);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (m.kind === 'u16') dv.setUint16(p, m.value, true);
        else if (m.kind === 'u32') dv.setUint32(p, m.value >>> 0, true);
        else dv.setBigUint64(p, m.value, true);
        break;
      }
      case 'copy': {
        if (!b.length) break;
        const from = pos(m.from);
        const chunk = b.slice(from, from + m.length);
        const to = pos(m.to);
        b.set(chunk.subarray(0, b.length - to), to);
        break;
      }
    }
  }
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Names that have tripped JS readers before: prototype keys, empty, unicode, separators, integer-like. */
export const AWKWARD_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '0', '1', '.', '..', 'a.b', 'a/b',
  '\u00e9', '\u{1f600}', ' ', '__metadata__x', 'weight'];

export const nameArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...AWKWARD_NAMES),
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** Runs one step of a check on an accepted input: a typed error is a fine outcome for it, anything else is a bug. */
export async function typedOr<T>(label: string, run: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    checkError(e, label);
    return undefined;
  }
}

/**
 * The same bytes as a Node Buffer and/or at an odd offset inside a bigger buffer, the
 * way fetch() chunks and pooled Buffers arrive: readers must not assume alignment or
 * that slice() copies.
 */
export function placeAt(bytes: Uint8Array, offset: number, asBuffer: boolean): Uint8Array {
  const backing = asBuffer ? Buffer.alloc(bytes.length + offset) : new Uint8Array(bytes.length + offset);
  backing.set(bytes, offset);
  return backing.subarray(offset);
}

export const placementArb = fc.record({ offset: fc.integer({ min: 0, max: 7 }), asBuffer: fc.boolean() });
