// Where batch work lives in Redis: the BullMQ queue (its own key prefix) and, beside it, the
// batch manifest (the job ids in input order) and the results keyed by job id. Results are
// kept apart from BullMQ's job records so they survive a cleaned or removed job.
import type { Redis as RedisClient } from 'ioredis';
import { ArgumentError, InputError } from '../errors.js';

export const DEFAULT_QUEUE = 'xlstm-forecast';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** BullMQ's key prefix for our queues (its own default 'bull' would mix with other apps). */
export const BULL_PREFIX = 'xlstm:bull';

/** --queue: letters, digits, '-', '_', '.' (BullMQ keys are joined with ':'). */
export function queueName(name: string | undefined): string {
  const q = name ?? DEFAULT_QUEUE;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(q)) throw new ArgumentError(`--queue must be 1-64 letters, digits, '.', '-' or '_' (starting with a letter or digit), got '${q}'`);
  return q;
}

/** Redis keys of one queue's batch (outside BULL_PREFIX so BullMQ never touches them). */
export function batchKeys(queue: string): { manifest: string; done: string; result: (jobId: string) => string } {
  const base = `xlstm:batch:${queue}`;
  return { manifest: `${base}:manifest`, done: `${base}:done`, result: (jobId) => `${base}:result:${jobId}` };
}

/** --redis, else REDIS_URL, else the local default. */
export function redisUrlOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag ?? (env.REDIS_URL || DEFAULT_REDIS_URL);
  if (!/^rediss?:\/\//.test(url)) throw new ArgumentError(`--redis must be a redis:// or rediss:// URL, got '${url}'`);
  return url;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch { return url; }
}

/**
 * Connects to Redis, failing fast with one line when it cannot be reached: the default
 * client would retry forever, and a command that hangs is worse than one that says why.
 * The returned client is set up as BullMQ needs it (no per-command retry limit, so a worker
 * rides out a Redis restart).
 */
export async function connectRedis(url: string, timeoutMs = 5000): Promise<RedisClient> {
  const { Redis } = await import('ioredis');
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // connect() itself only says 'Connection is closed'; the cause (ECONNREFUSED, ENOTFOUND,
  // a timeout) comes as an error event first
  let cause: Error | undefined;
  probe.on('error', (e: Error) => { cause ??= e; });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    // no disconnect() on a connection that never opened: ioredis would arm a 2 s timer for a
    // socket close that already happened, and the failing command would linger that long
    if (probe.status !== 'end') probe.disconnect();
    const why = cause?.message ?? (e instanceof Error ? e.message : String(e));
    throw new InputError(`cannot reach Redis at ${redactUrl(url)}: ${why} (start redis-server, or give its URL with --redis or REDIS_URL)`);
  }
  probe.disconnect();
  const client = new Redis(url, { maxRetriesPerRequest: null });
  // ioredis prints 'Unhandled error event' without a listener; callers that run for long
  // (the worker) add their own to report outages
  client.on('error', () => {});
  return client;
}
