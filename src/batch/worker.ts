// The worker side of batch forecasting: takes jobs from the BullMQ queue, forecasts their
// series with the forecast command's own functions, and stores the result under the job id
// before the job counts as done. A worker killed mid-job leaves the job locked until its lock
// expires; another worker then takes it (BullMQ's stalled-job check) and writes the same
// result under the same key, so nothing is lost and nothing is written twice.
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { XlstmError } from '../errors.js';
import { Forecaster, PreparedSeries, forecastPrepared } from '../cli/commands/forecast.js';
import { BATCH_FORMAT, JobPayload, JobResult, SeriesResult, validateJobPayload } from './jobs.js';
import { BULL_PREFIX, batchKeys, connectRedis } from './queue.js';

export interface WorkerOptions {
  queue: string;
  redisUrl: string;
  concurrency: number;
  /** series per forward pass; the worker yields to the event loop between passes */
  batchSize: number;
  /** how long a job stays locked without a renewal before another worker may take it */
  lockMs: number;
  log: (line: string) => void;
}

/**
 * Forecasts one job. The series go through the model `batchSize` at a time with a pause for
 * the event loop in between, so BullMQ can renew the job's lock during a long job.
 */
export async function forecastJob(model: Forecaster, payload: JobPayload, jobId: string, batchSize: number, workerName: string): Promise<JobResult> {
  const prepared: PreparedSeries[] = payload.series.map((s) => ({
    id: s.id, values: Float64Array.from(s.values, (v) => (v === null ? NaN : v)), timestamps: [],
    // the frequency only names the output; the result takes the alias from the payload
    frequency: null, future: s.future, ...(s.error !== undefined ? { error: s.error } : {}),
  }));
  const out: SeriesResult[] = [];
  let levels: number[] = payload.quantiles ?? [];
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  for (let first = 0; first < prepared.length; first += batchSize) {
    const part = prepared.slice(first, first + batchSize);
    const run = forecastPrepared(model, part, { horizon: payload.horizon, quantileLevels: payload.quantiles, batchSize, contextLength: payload.contextLength });
    if (run.series.some((s) => !s.error)) levels = run.quantileLevels;
    run.series.forEach((s, k) => {
      const src = payload.series[first + k];
      out.push({
        pos: src.pos, id: s.id, frequency: src.frequency, timestamps: s.timestamps, median: Array.from(s.median, num),
        quantiles: s.quantiles.map((q) => Array.from(q, num)), ...(s.error ? { error: s.error } : {}),
      });
    });
    await new Promise((r) => setImmediate(r));
  }
  return { v: BATCH_FORMAT, jobId, quantileLevels: levels, series: out, worker: workerName };
}

export interface RunningWorker { worker: Worker; close(): Promise<void> }

/** Starts taking jobs; `close()` finishes the jobs in hand, then disconnects. */
export async function startWorker(model: Forecaster, o: WorkerOptions): Promise<RunningWorker> {
  const redis = await connectRedis(o.redisUrl);
  let lastError = '';
  redis.on('error', (e: Error) => { if (e.message !== lastError) { lastError = e.message; o.log(`xlstm worker: Redis: ${e.message} (retrying)\n`); } });
  redis.on('ready', () => { if (lastError) { lastError = ''; o.log('xlstm worker: Redis reachable again\n'); } });
  const { Worker, UnrecoverableError } = await import('bullmq');
  const keys = batchKeys(o.queue);
  const me = `${hostname()}:${process.pid}`;
  const worker = new Worker(o.queue, async (job: Job) => {
    let payload: JobPayload;
    // a malformed payload fails the same way on every try: no retries
    try { payload = validateJobPayload(job.data, job.id); } catch (e) { throw new UnrecoverableError((e as Error).message); }
    const t0 = Date.now();
    o.log(`xlstm worker: job ${job.id} started (${payload.series.length} series, attempt ${job.attemptsMade + 1})\n`);
    let result: JobResult;
    try { result = await forecastJob(model, payload, job.id!, o.batchSize, me); } catch (e) {
      if (e instanceof XlstmError) throw new UnrecoverableError(e.message);
      throw e;
    }
    // the result is stored before the job completes: a crash in between only repeats the job,
    // which writes the same value under the same key
    await redis.multi()
      .set(keys.result(job.id!), JSON.stringify(result))
      .hset(keys.done, job.id!, JSON.stringify({ n: result.series.length, failed: result.series.filter((s) => s.error).length }))
      .exec();
    o.log(`xlstm worker: job ${job.id} done in ${Date.now() - t0} ms\n`);
    return { series: result.series.length, worker: me };
  }, {
    connection: redis, prefix: BULL_PREFIX, concurrency: o.concurrency,
    lockDuration: o.lockMs, stalledInterval: o.lockMs, maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => { o.log(`xlstm worker: job ${job?.id ?? '?'} failed: ${err.message}\n`); });
  worker.on('error', (err) => { if (err.message !== lastError) { lastError = err.message; o.log(`xlstm worker: ${err.message}\n`); } });
  await worker.waitUntilReady();
  return { worker, close: async () => { await worker.close(); redis.disconnect(); } };
}
