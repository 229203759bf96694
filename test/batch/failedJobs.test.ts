// A job that fails for good (here: its payload in Redis is corrupted, which no retry can fix)
// keeps its series in the collected file with empty values and one error line each, like
// series `xlstm forecast` cannot forecast; the other jobs' series are all there. In process:
// submitBatch, startWorker and collectBatch with the TiRex fixture and a real redis-server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/golden.js';
import { startRedis, TestRedis } from '../helpers/redis.js';
import { submitBatch, collectBatch, batchStatus } from '../../src/batch/batch.js';
import { startWorker } from '../../src/batch/worker.js';
import { BULL_PREFIX } from '../../src/batch/queue.js';
import { loadForecaster } from '../../src/cli/commands/forecast.js';

let redis: TestRedis;
let dir: string;

before(async () => { redis = await startRedis(); dir = mkdtempSync(join(tmpdir(), 'xlstm-batch-failed-')); });
after(async () => { await redis?.stop(); if (dir) rmSync(dir, { recursive: true, force: true }); });

test('a job that fails for good: its series keep their rows with empty values and an error line; the rest is forecast', async () => {
  const csv = join(dir, 'wide.csv');
  const rows = ['a,b,c,d'];
  for (let t = 0; t < 40; t++) rows.push([1 + Math.sin(t), 2 + t * 0.1, 3 + Math.cos(t / 2), 4 + (t % 5)].join(','));
  writeFileSync(csv, rows.join('\n') + '\n');
  const sub = await submitBatch({ input: csv, horizon: 3, quantiles: '0.5', chunkSize: 2, timeCol: 'none', queue: 'fail', redis: redis.url, attempts: 2 });
  assert.deepEqual([sub.jobs, sub.added, sub.series], [2, 2, 4]);
  // corrupt the second job's payload where BullMQ keeps it
  const { Redis } = await import('ioredis');
  const r = new Redis(redis.url);
  const jobs = (await r.keys(`${BULL_PREFIX}:fail:j*`)).filter((k) => /:j[0-9a-f]{40}$/.test(k));
  assert.equal(jobs.length, 2);
  let corrupted = 0;
  for (const k of jobs) {
    const data = JSON.parse((await r.hget(k, 'data'))!) as { series: { pos: number; values: unknown[] }[] };
    if (data.series[0].pos !== 2) continue;
    data.series[0].values = ['x'];
    await r.hset(k, 'data', JSON.stringify(data));
    corrupted++;
  }
  assert.equal(corrupted, 1);
  r.disconnect();

  const loaded = await loadForecaster(join(FIXTURES, 'tirex'), { threads: 1 });
  const log: string[] = [];
  const w = await startWorker(loaded.model, { queue: 'fail', redisUrl: redis.url, concurrency: 1, batchSize: 8, lockMs: 5000, log: (s) => { log.push(s); } });
  try {
    const out = join(dir, 'out.csv');
    const errs: string[] = [];
    const { run } = await collectBatch({ queue: 'fail', redis: redis.url, output: out, wait: true, pollMs: 100 }, (s) => { errs.push(s); }, () => {});
    assert.equal(run.errors.length, 2);
    assert.equal(errs.length, 2);
    assert.match(errs[0], /^xlstm batch collect: skipped series 'c': job j[0-9a-f]{40} failed after 1 attempts: batch job j[0-9a-f]{40}: series\[0\]\.values must be a list of numbers or null\n$/);
    assert.match(errs[1], /skipped series 'd'/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,timestamp,median,0.5');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(',')), ['a,40', 'a,41', 'a,42', 'b,40', 'b,41', 'b,42', 'c,40', 'c,41', 'c,42', 'd,40', 'd,41', 'd,42']);
    for (const l of lines.slice(1, 7)) assert.match(l, /^[ab],4\d,-?\d[\d.e-]*,-?\d[\d.e-]*$/);
    for (const l of lines.slice(7)) assert.match(l, /^[cd],4\d,,$/);
    const st = await batchStatus({ queue: 'fail', redis: redis.url });
    assert.deepEqual(st.jobs, { total: 2, waiting: 0, active: 0, delayed: 0, completed: 1, failed: 1 });
    assert.deepEqual(st.series, { total: 4, done: 2, failed: 0 });
  } finally { await w.close(); loaded.close(); }
});
