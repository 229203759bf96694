// `xlstm worker`: takes batch forecasting jobs from the queue that `xlstm batch submit` fills,
// on any machine that reaches the Redis server. SIGTERM and SIGINT let the jobs in hand finish
// (a job cut short would only be redone by another worker), then exit 143/130.
import type { Command } from 'commander';
import { EXIT_SIGINT, EXIT_SIGTERM } from '../exitCodes.js';
import { DEFAULT_BATCH_SIZE, loadForecaster, parsePositiveInt, resolveModelPath } from './forecast.js';
import { DEFAULT_QUEUE, queueName, redactUrl, redisUrlOf } from '../../batch/queue.js';

export interface WorkerCommandOptions {
  model?: string;
  queue?: string;
  redis?: string;
  concurrency?: string | number;
  threads?: string | number;
  batchSize?: string | number;
  lockMs?: string | number;
}

/** Default job lock: long enough for a busy machine, short enough that a dead worker's job moves on soon. */
export const DEFAULT_LOCK_MS = 30_000;

export async function runWorker(o: WorkerCommandOptions, log: (s: string) => void = (s) => process.stderr.write(s)): Promise<{ close(): Promise<void> }> {
  const queue = queueName(o.queue);
  const redisUrl = redisUrlOf(o.redis);
  const concurrency = o.concurrency !== undefined ? parsePositiveInt('--concurrency', o.concurrency) : 1;
  const threads = o.threads !== undefined ? parsePositiveInt('--threads', o.threads) : undefined;
  const batchSize = o.batchSize !== undefined ? parsePositiveInt('--batch-size', o.batchSize) : DEFAULT_BATCH_SIZE;
  const lockMs = o.lockMs !== undefined ? parsePositiveInt('--lock-ms', o.lockMs) : DEFAULT_LOCK_MS;
  const { startWorker } = await import('../../batch/worker.js');
  // Redis is checked before the model loads: an unreachable server fails in milliseconds
  const { connectRedis } = await import('../../batch/queue.js');
  (await connectRedis(redisUrl)).disconnect();
  const loaded = await loadForecaster(await resolveModelPath(o.model), { threads });
  try {
    const w = await startWorker(loaded.model, { queue, redisUrl, concurrency, batchSize, lockMs, log });
    log(`xlstm worker: waiting for jobs on queue ${queue} at ${redactUrl(redisUrl)} (concurrency ${concurrency})\n`);
    return { close: async () => { try { await w.close(); } finally { loaded.close(); } } };
  } catch (e) { loaded.close(); throw e; }
}

export function register(program: Command): void {
  program.command('worker')
    .description('process batch forecasting jobs from the queue (xlstm batch submit); run any number, on any machines reaching Redis')
    .option('--model <dir>', 'TiRex folder, checkpoint or hub id (default: the shipped default forecaster)')
    .option('--queue <name>', `queue name (default ${DEFAULT_QUEUE})`)
    .option('--redis <url>', 'Redis URL (default: REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--concurrency <n>', 'jobs in hand at once (default 1; compute is shared, so more mainly hides Redis round trips)')
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--batch-size <n>', `series per forward pass (default ${DEFAULT_BATCH_SIZE})`)
    .option('--lock-ms <ms>', `job lock; a job of a worker that died moves on after this (default ${DEFAULT_LOCK_MS})`)
    .action(async (opts: WorkerCommandOptions) => {
      const w = await runWorker(opts);
      await new Promise<void>((resolve) => {
        const stop = (sig: NodeJS.Signals) => {
          process.stderr.write(`xlstm worker: ${sig}: finishing the jobs in hand\n`);
          void w.close().finally(() => { process.exitCode = sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM; resolve(); });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
