// Batch forecasting over a BullMQ queue: `submit` splits a CSV file into jobs, `status`
// counts them, `collect` writes the results as `xlstm forecast` would. The CSV reading,
// preparation and output format are the forecast command's own functions, so a batch run and
// a local run of the same file give the same file.
import { createHash } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import type { Queue } from 'bullmq';
import { ArgumentError, InputError } from '../errors.js';
import {
  DEFAULT_BATCH_SIZE, ForecastRun, InputOptions, SeriesForecast, checkInputOptions, checkRunLimits, forecastsToCsv, forecastsToJson,
  parseFill, parsePositiveInt, parseQuantileList, prepareSeries, readSeriesFile, regularizeSeries,
} from '../cli/commands/forecast.js';
import { STDIO_PATH, checkFileTargets, writeOutput } from '../cli/cliFiles.js';
import { BATCH_FORMAT, JobOptions, chunkJobs, validateJobResult } from './jobs.js';
import { BULL_PREFIX, batchKeys, connectRedis, queueName, redisUrlOf } from './queue.js';

export const DEFAULT_CHUNK_SIZE = 100;
export const DEFAULT_ATTEMPTS = 5;
/** first retry after 1 s, then 2 s, 4 s, ... (BullMQ's exponential backoff) */
export const BACKOFF_DELAY_MS = 1000;

/** What submit records so status and collect know the batch without the input file. */
export interface BatchManifest {
  v: number;
  /** hash of the job ids: the same input and options give the same batch */
  batchId: string;
  input: string;
  options: JobOptions;
  seriesCount: number;
  /** job ids in input order, with the series positions each covers */
  jobs: { id: string; first: number; count: number }[];
}

export interface BatchConnectionOptions {
  queue?: string;
  redis?: string;
}

export interface SubmitOptions extends InputOptions, BatchConnectionOptions {
  horizon: string | number;
  quantiles?: string;
  contextLength?: string | number;
  chunkSize?: string | number;
  attempts?: string | number;
}

export interface SubmitReport { queue: string; batchId: string; jobs: number; added: number; retried: number; series: number }

interface Opened { redis: RedisClient; queue: Queue; name: string; close(): Promise<void> }

async function openQueue(o: BatchConnectionOptions): Promise<Opened> {
  const name = queueName(o.queue);
  const redis = await connectRedis(redisUrlOf(o.redis));
  const { Queue } = await import('bullmq');
  const queue = new Queue(name, { connection: redis, prefix: BULL_PREFIX });
  return { redis, queue, name, close: async () => { await queue.close(); redis.disconnect(); } };
}

async function readManifest(redis: RedisClient, queue: string): Promise<BatchManifest> {
  const text = await redis.get(batchKeys(queue).manifest);
  if (text === null) throw new InputError(`queue '${queue}' has no batch: run 'xlstm batch submit data.csv --horizon N${queue === 'xlstm-forecast' ? '' : ` --queue ${queue}`}' first`);
  const m = JSON.parse(text) as BatchManifest;
  if (m.v !== BATCH_FORMAT) throw new InputError(`queue '${queue}': batch format ${String(m.v)} is not ${BATCH_FORMAT} (submitted by another version of xlstm-ts)`);
  return m;
}

/** Values of `keys` in pipelined slices (a batch of millions of series has many jobs). */
async function getMany(redis: RedisClient, op: 'get' | 'exists', keys: readonly string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const p = redis.pipeline();
    for (const k of keys.slice(i, i + 1000)) p[op](k);
    for (const [err, v] of (await p.exec()) ?? []) { if (err) throw err; out.push(v); }
  }
  return out;
}

/**
 * Splits the file into jobs and queues them. Idempotent: the job ids come from the chunks'
 * contents, so a second submit of the same file adds nothing (it retries jobs that failed);
 * another file on a queue that holds a batch is refused rather than mixed in.
 */
export async function submitBatch(o: SubmitOptions): Promise<SubmitReport> {
  const horizon = parsePositiveInt('--horizon', o.horizon);
  const quantiles = o.quantiles !== undefined ? parseQuantileList(o.quantiles) : undefined;
  const contextLength = o.contextLength !== undefined ? parsePositiveInt('--context-length', o.contextLength) : undefined;
  const chunkSize = o.chunkSize !== undefined ? parsePositiveInt('--chunk-size', o.chunkSize) : DEFAULT_CHUNK_SIZE;
  const attempts = o.attempts !== undefined ? parsePositiveInt('--attempts', o.attempts) : DEFAULT_ATTEMPTS;
  const name = queueName(o.queue);
  const url = redisUrlOf(o.redis);
  checkInputOptions(o);
  const limits = { horizon, batchSize: DEFAULT_BATCH_SIZE, levels: quantiles, contextLength };
  checkRunLimits(limits);
  // the file is read and checked before Redis is touched: a bad CSV queues nothing
  const series = await readSeriesFile(o);
  checkRunLimits(limits, series);
  const regular = regularizeSeries(series, parseFill(o.fill));
  const prepared = prepareSeries(regular.series, horizon, regular.problems);
  const options: JobOptions = { horizon, ...(quantiles ? { quantiles } : {}), ...(contextLength !== undefined ? { contextLength } : {}) };
  const jobs = chunkJobs(prepared, options, chunkSize);
  const batchId = createHash('sha256').update(jobs.map((j) => j.id).join(',')).digest('hex').slice(0, 16);
  const manifest: BatchManifest = {
    v: BATCH_FORMAT, batchId, input: o.input === STDIO_PATH ? '<stdin>' : o.input!, options, seriesCount: prepared.length,
    jobs: jobs.map((j) => ({ id: j.id, first: j.payload.series[0].pos, count: j.payload.series.length })),
  };
  const q = await openQueue({ queue: name, redis: url });
  try {
    const keys = batchKeys(name);
    const set = await q.redis.set(keys.manifest, JSON.stringify(manifest), 'NX');
    if (set === null) {
      const old = await readManifest(q.redis, name);
      if (old.batchId !== batchId) throw new ArgumentError(`queue '${name}' holds another batch (from '${old.input}', ${old.seriesCount} series): give another --queue, or 'xlstm batch clear --queue ${name}' once its results are collected`);
    }
    // a job is new when neither BullMQ knows it nor a result exists (a result outlives a removed job)
    const known = await getMany(q.redis, 'exists', jobs.flatMap((j) => [`${BULL_PREFIX}:${name}:${j.id}`, keys.result(j.id)]));
    const fresh = jobs.filter((_, i) => known[2 * i] === 0 && known[2 * i + 1] === 0);
    for (let i = 0; i < fresh.length; i += 500) {
      await q.queue.addBulk(fresh.slice(i, i + 500).map((j) => ({
        name: 'forecast', data: j.payload,
        opts: { jobId: j.id, attempts, backoff: { type: 'exponential', delay: BACKOFF_DELAY_MS }, removeOnComplete: false, removeOnFail: false },
      })));
    }
    let retried = 0;
    for (const j of await q.queue.getFailed(0, -1)) {
      if (manifest.jobs.some((m) => m.id === j.id)) { await j.retry(); retried++; }
    }
    return { queue: name, batchId, jobs: jobs.length, added: fresh.length, retried, series: prepared.length };
  } finally { await q.close(); }
}

export interface BatchStatus {
  queue: string;
  batchId: string;
  input: string;
  jobs: { total: number; waiting: number; active: number; delayed: number; completed: number; failed: number };
  series: { total: number; done: number; failed: number };
}

async function doneCounts(redis: RedisClient, name: string, m: BatchManifest): Promise<{ done: number; failed: number; doneJobs: Set<string> }> {
  const all = await redis.hgetall(batchKeys(name).done);
  let done = 0, failed = 0;
  const doneJobs = new Set<string>();
  for (const j of m.jobs) {
    const v = all[j.id];
    if (v === undefined) continue;
    const r = JSON.parse(v) as { n: number; failed: number };
    done += r.n; failed += r.failed; doneJobs.add(j.id);
  }
  return { done, failed, doneJobs };
}

/** Job counts from BullMQ, series counts from what the workers recorded. */
export async function batchStatus(o: BatchConnectionOptions): Promise<BatchStatus> {
  const q = await openQueue(o);
  try {
    const m = await readManifest(q.redis, q.name);
    const c = await q.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    const d = await doneCounts(q.redis, q.name, m);
    return {
      queue: q.name, batchId: m.batchId, input: m.input,
      jobs: { total: m.jobs.length, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 },
      series: { total: m.seriesCount, done: d.done, failed: d.failed },
    };
  } finally { await q.close(); }
}

export function formatStatus(s: BatchStatus): string {
  const j = s.jobs;
  return `queue ${s.queue} (batch ${s.batchId} from ${s.input}): ${j.total} jobs: ${j.waiting} waiting, ${j.active} active, ${j.delayed} delayed (retry), ${j.completed} completed, ${j.failed} failed\n`
    + `series: ${s.series.done} of ${s.series.total} done${s.series.failed ? ` (${s.series.failed} could not be forecast)` : ''}\n`;
}

export interface CollectOptions extends BatchConnectionOptions {
  output?: string;
  /** wait until every job has finished instead of refusing */
  wait?: boolean;
  pollMs?: number;
}

export interface CollectReport { run: ForecastRun; missingJobs: number }

/**
 * Gathers the results in input order into one file, in the format of `xlstm forecast`.
 * Each series position is written once, whichever worker (or how many) computed it; series
 * of jobs that failed for good keep their rows with empty values and an error line.
 */
export async function collectBatch(o: CollectOptions, stderr: (s: string) => void, stdout: (s: string) => void): Promise<CollectReport> {
  const output = o.output ?? STDIO_PATH;
  if (output !== STDIO_PATH && !/\.(csv|json)$/i.test(output)) throw new ArgumentError(`--output must end in .csv or .json (or be - for stdout), got '${output}'`);
  await checkFileTargets([], [{ flag: '--output', path: output }]);
  const q = await openQueue(o);
  let run: ForecastRun;
  let horizon: number;
  try {
    const m = await readManifest(q.redis, q.name);
    horizon = m.options.horizon;
    const keys = batchKeys(q.name);
    const failed = new Map<string, string>();
    // while waiting only key existence is polled; the results are read once, at the end
    for (;;) {
      const have = await getMany(q.redis, 'exists', m.jobs.map((j) => keys.result(j.id)));
      const missing = m.jobs.filter((_, i) => have[i] === 0);
      failed.clear();
      let pending = 0;
      if (missing.length > 0) {
        const failedJobs = new Map((await q.queue.getFailed(0, -1)).map((j) => [j.id, j]));
        const inQueue = await getMany(q.redis, 'exists', missing.map((j) => `${BULL_PREFIX}:${q.name}:${j.id}`));
        missing.forEach((j, k) => {
          const fj = failedJobs.get(j.id);
          if (fj) failed.set(j.id, `job ${j.id} failed after ${fj.attemptsMade} attempts: ${fj.failedReason}`);
          else if (inQueue[k] === 0) failed.set(j.id, `job ${j.id} is gone from the queue without a result (removed?); submit the file again`);
          else pending++;
        });
      }
      if (pending === 0) break;
      if (!o.wait) throw new InputError(`${pending} of ${m.jobs.length} jobs of queue '${q.name}' have not finished: run workers ('xlstm worker'), check 'xlstm batch status', or collect with --wait`);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
    }
    const results = await getMany(q.redis, 'get', m.jobs.map((j) => keys.result(j.id)));
    const series: (SeriesForecast | undefined)[] = new Array(m.seriesCount);
    let levels: number[] | undefined;
    for (let i = 0; i < m.jobs.length; i++) {
      if (results[i] === null) continue;
      const r = validateJobResult(JSON.parse(results[i] as string), m.jobs[i].id);
      // a job whose series all failed knows no levels (the model never ran)
      if (r.series.some((s) => !s.error)) levels ??= r.quantileLevels;
      for (const s of r.series) {
        if (s.pos < 0 || s.pos >= m.seriesCount) throw new InputError(`batch result of job ${r.jobId}: series position ${s.pos} is outside the batch (${m.seriesCount} series)`);
        if (series[s.pos] !== undefined) continue; // already written: a series appears once
        const num = (v: number | null) => (v === null ? NaN : v);
        series[s.pos] = {
          id: s.id, frequency: s.frequency, timestamps: s.timestamps, median: Float32Array.from(s.median, num),
          quantiles: s.quantiles.map((q) => Float32Array.from(q, num)), ...(s.error !== undefined ? { error: s.error } : {}),
        };
      }
    }
    // every level set is the same (same options); with no result at all they come from the options
    levels ??= m.options.quantiles ?? [];
    for (const [jobId, why] of failed) {
      const job = await q.queue.getJob(jobId);
      // the payload names the series and their timestamps; it may be what made the job fail,
      // so it is read field by field, and a position stands in for an id it does not give
      const raw = (job?.data as { series?: unknown } | undefined)?.series;
      const entry = m.jobs.find((j) => j.id === jobId)!;
      for (let k = 0; k < entry.count; k++) {
        const s = (Array.isArray(raw) ? raw[k] : undefined) as { id?: unknown; frequency?: unknown; future?: unknown } | undefined;
        const future = Array.isArray(s?.future) && s!.future.every((t) => typeof t === 'string') ? s!.future as string[] : [];
        series[entry.first + k] ??= {
          id: typeof s?.id === 'string' ? s.id : `#${entry.first + k}`, frequency: typeof s?.frequency === 'string' ? s.frequency : null, timestamps: future,
          median: new Float32Array(horizon).fill(NaN), quantiles: Array.from({ length: horizon }, () => new Float32Array(levels!.length).fill(NaN)), error: why,
        };
      }
    }
    const missing = series.findIndex((s) => s === undefined);
    if (missing >= 0) throw new InputError(`queue '${q.name}': no result covers series position ${missing} (the batch's records in Redis are inconsistent; clear the queue and submit again)`);
    const all = series as SeriesForecast[];
    for (const s of all) {
      // failed series get empty cells for the batch's levels, whatever their job knew
      if (s.error) s.quantiles = Array.from({ length: horizon }, () => new Float32Array(levels!.length).fill(NaN));
    }
    run = { quantileLevels: levels, series: all, errors: all.filter((s) => s.error).map((s) => `series '${s.id}': ${s.error}`) };
    for (const e of run.errors) stderr(`xlstm batch collect: skipped ${e}\n`);
    if (run.errors.length === run.series.length) throw new InputError(`no series could be forecast (${run.errors.length} skipped)`);
    const text = /\.json$/i.test(output) ? forecastsToJson(run, horizon) : forecastsToCsv(run);
    await writeOutput(output, text, stdout);
    return { run, missingJobs: failed.size };
  } finally { await q.close(); }
}

/** Removes the queue's jobs, results and manifest (after collecting, or to start over). */
export async function clearBatch(o: BatchConnectionOptions): Promise<void> {
  const q = await openQueue(o);
  try {
    await q.queue.obliterate({ force: true });
    const keys = batchKeys(q.name);
    let cursor = '0';
    do {
      const [next, found] = await q.redis.scan(cursor, 'MATCH', `xlstm:batch:${q.name}:*`, 'COUNT', 1000);
      if (found.length) await q.redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
    await q.redis.del(keys.manifest, keys.done);
  } finally { await q.close(); }
}
