// The job payload of batch forecasting (`xlstm batch submit` -> `xlstm worker`) and its
// results: plain JSON, validated on both ends, because a worker may run another version of
// xlstm-ts than the submitter and Redis holds whatever anyone wrote into it.
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import type { PreparedSeries } from '../cli/commands/forecast.js';

/** Version of the payload and result layout; a worker refuses other versions (no guessing). */
export const BATCH_FORMAT = 1;

/** One series of a job, ready to forecast (prepared at submit time, so workers need no CSV logic). */
export interface JobSeries {
  /** position of the series in the input file (0-based): collect writes rows in this order */
  pos: number;
  id: string;
  /** history; missing values are null (JSON has no NaN) */
  values: (number | null)[];
  /** frequency alias ('D', 'h', 'index', ...) or null when unknown */
  frequency: string | null;
  /** the horizon's timestamps */
  future: string[];
  /** set when the series cannot be forecast (found at submit time): the worker skips it */
  error?: string;
}

export interface JobOptions {
  horizon: number;
  /** quantile levels; absent: the model's own levels */
  quantiles?: number[];
  contextLength?: number;
}

export interface JobPayload extends JobOptions {
  v: number;
  series: JobSeries[];
}

/** What a worker stores per series (float32 values written as JSON numbers, NaN as null). */
export interface SeriesResult {
  pos: number;
  id: string;
  frequency: string | null;
  timestamps: string[];
  median: (number | null)[];
  /** [t][level] */
  quantiles: (number | null)[][];
  error?: string;
}

export interface JobResult {
  v: number;
  jobId: string;
  quantileLevels: number[];
  series: SeriesResult[];
  /** who computed it (host:pid), for logs and for tests that check a killed worker's job */
  worker: string;
}

/**
 * The job id: a hash of what the job computes (options, positions, ids, values, timestamps).
 * Submitting the same file twice gives the same ids, so BullMQ keeps one job per chunk. The
 * positions are part of it so two identical chunks at different places stay two jobs.
 */
export function jobIdOf(payload: JobPayload): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: payload.v, horizon: payload.horizon, quantiles: payload.quantiles ?? null, contextLength: payload.contextLength ?? null }));
  for (const s of payload.series) h.update('\n' + JSON.stringify([s.pos, s.id, s.values, s.frequency, s.future, s.error ?? null]));
  // BullMQ refuses ':' and all-digit custom ids; a letter first and hex after avoids both
  return 'j' + h.digest('hex').slice(0, 40);
}

/** Prepared series -> job payloads of at most `chunkSize` series each, in input order. */
export function chunkJobs(prepared: readonly PreparedSeries[], options: JobOptions, chunkSize: number): { id: string; payload: JobPayload }[] {
  const out: { id: string; payload: JobPayload }[] = [];
  for (let first = 0; first < prepared.length; first += chunkSize) {
    const series = prepared.slice(first, first + chunkSize).map((p, k): JobSeries => ({
      pos: first + k, id: p.id, values: Array.from(p.values, (v) => (Number.isNaN(v) ? null : v)),
      frequency: p.frequency?.alias ?? null, future: p.future, ...(p.error !== undefined ? { error: p.error } : {}),
    }));
    const payload: JobPayload = { v: BATCH_FORMAT, horizon: options.horizon, ...(options.quantiles ? { quantiles: options.quantiles } : {}), ...(options.contextLength !== undefined ? { contextLength: options.contextLength } : {}), series };
    out.push({ id: jobIdOf(payload), payload });
  }
  return out;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isPosInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;

/** Checks a payload read from Redis; the message names the job and the field at fault. */
export function validateJobPayload(data: unknown, jobId = '?'): JobPayload {
  const bad = (what: string) => new InputError(`batch job ${jobId}: ${what}`);
  if (!isObj(data)) throw bad('payload is not an object');
  if (data.v !== BATCH_FORMAT) throw bad(`payload format ${JSON.stringify(data.v)} is not ${BATCH_FORMAT} (submitted by another version of xlstm-ts?)`);
  if (!isPosInt(data.horizon)) throw bad(`horizon must be a positive integer, got ${JSON.stringify(data.horizon)}`);
  if (data.quantiles !== undefined && !(Array.isArray(data.quantiles) && data.quantiles.length > 0 && data.quantiles.every((q) => typeof q === 'number' && q > 0 && q < 1))) {
    throw bad('quantiles must be a list of levels strictly between 0 and 1');
  }
  if (data.contextLength !== undefined && !isPosInt(data.contextLength)) throw bad(`contextLength must be a positive integer, got ${JSON.stringify(data.contextLength)}`);
  if (!Array.isArray(data.series) || data.series.length === 0) throw bad('series must be a non-empty list');
  data.series.forEach((s: unknown, i: number) => {
    const at = `series[${i}]`;
    if (!isObj(s)) throw bad(`${at} is not an object`);
    if (!Number.isSafeInteger(s.pos) || (s.pos as number) < 0) throw bad(`${at}.pos must be an integer >= 0`);
    if (typeof s.id !== 'string') throw bad(`${at}.id must be a string`);
    if (!Array.isArray(s.values) || !s.values.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) throw bad(`${at}.values must be a list of numbers or null`);
    if (s.frequency !== null && typeof s.frequency !== 'string') throw bad(`${at}.frequency must be a string or null`);
    if (!Array.isArray(s.future) || !s.future.every((t) => typeof t === 'string')) throw bad(`${at}.future must be a list of strings`);
    if (s.error !== undefined && typeof s.error !== 'string') throw bad(`${at}.error must be a string`);
  });
  return data as unknown as JobPayload;
}

/** Checks a stored result (collect reads what any worker wrote). */
export function validateJobResult(data: unknown, jobId: string): JobResult {
  const bad = (what: string) => new InputError(`batch result of job ${jobId}: ${what}`);
  if (!isObj(data)) throw bad('not an object');
  if (data.v !== BATCH_FORMAT) throw bad(`format ${JSON.stringify(data.v)} is not ${BATCH_FORMAT}`);
  if (data.jobId !== jobId) throw bad(`it belongs to job ${JSON.stringify(data.jobId)}`);
  if (!Array.isArray(data.quantileLevels) || !data.quantileLevels.every((q) => typeof q === 'number')) throw bad('quantileLevels must be a list of numbers');
  if (!Array.isArray(data.series)) throw bad('series must be a list');
  const num = (v: unknown) => v === null || typeof v === 'number';
  data.series.forEach((s: unknown, i: number) => {
    if (!isObj(s) || !Number.isSafeInteger(s.pos) || typeof s.id !== 'string' || !Array.isArray(s.timestamps) || !Array.isArray(s.median) || !s.median.every(num)
      || !Array.isArray(s.quantiles) || !s.quantiles.every((q) => Array.isArray(q) && q.every(num))) throw bad(`series[${i}] is malformed`);
  });
  return data as unknown as JobResult;
}
