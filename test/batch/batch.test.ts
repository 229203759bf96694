// Batch forecasting over many workers, end to end with the real CLI (dist/src/cli/bin.js), a
// real redis-server on a loopback port and the small TiRex fixture: submit, three worker
// processes of which one is killed (SIGKILL) in the middle of a job, collect. Every series
// comes back exactly once, and the output file is byte for byte what `xlstm forecast` writes
// for the same file. Also: resubmitting adds nothing, status counts, and one-line errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from '../helpers/golden.js';
import { startRedis, freePort, TestRedis } from '../helpers/redis.js';
import { EXIT_ERROR, EXIT_PARTIAL } from '../../src/cli/exitCodes.js';
import { batchKeys } from '../../src/batch/queue.js';
import type { JobResult } from '../../src/batch/jobs.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const MODEL = join(FIXTURES, 'tirex');
const SERIES = 24;
const LENGTH = 512;
const H = 6;

let redis: TestRedis;
let dir: string;
let csv: string;

interface Ran { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs the CLI asynchronously (the workers' logs must be read while other commands run). */
function xlstm(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += String(d); });
    c.stderr.on('data', (d) => { stderr += String(d); });
    const guard = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('close', (code, signal) => { clearTimeout(guard); resolve({ code, signal, stdout, stderr }); });
  });
}

interface WorkerProc { child: ChildProcess; log: string[]; done: Promise<{ code: number | null; signal: string | null }> }

function startWorker(queue: string, onLine: (line: string, w: WorkerProc) => void = () => {}): WorkerProc {
  const child = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', BIN, 'worker', '--model', MODEL, '--queue', queue, '--redis', redis.url,
    '--threads', '1', '--batch-size', '1', '--lock-ms', '1500'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const w: WorkerProc = { child, log: [], done: new Promise((r) => child.on('close', (code, signal) => r({ code, signal }))) };
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) { w.log.push(l); onLine(l, w); }
  });
  return w;
}

/** Long CSV, daily; series 'gap' misses one day, so it fails (as in xlstm forecast) without --fill. */
function writeInput(path: string): void {
  const lines = ['id,date,value'];
  for (let s = 0; s < SERIES; s++) {
    const id = s === 5 ? 'gap' : `s${String(s).padStart(2, '0')}`;
    for (let t = 0; t < LENGTH; t++) {
      if (s === 5 && t === 100) continue;
      const day = new Date(Date.UTC(2020, 0, 1) + t * 86_400_000).toISOString().slice(0, 10);
      const v = 10 + s + 3 * Math.sin((2 * Math.PI * t) / 7 + s) + 0.01 * t * (s % 3);
      lines.push(`${id},${day},${v.toFixed(4)}`);
    }
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'xlstm-batch-'));
  csv = join(dir, 'data.csv');
  writeInput(csv);
});
after(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('submit -> three workers, one SIGKILLed mid-job -> collect: each series once, same file as xlstm forecast; resubmit adds nothing; status counts', async () => {
  const expected = join(dir, 'expected.csv');
  const f = await xlstm(['forecast', csv, '--model', MODEL, '--horizon', String(H), '--quantiles', '0.1,0.5,0.9', '--output', expected, '--threads', '1', '--batch-size', '1']);
  assert.equal(f.code, EXIT_PARTIAL, f.stderr);

  const q = 'e2e';
  const sub = await xlstm(['batch', 'submit', csv, '--horizon', String(H), '--quantiles', '0.1,0.5,0.9', '--chunk-size', '4', '--queue', q, '--redis', redis.url]);
  assert.equal(sub.code, 0, sub.stderr);
  assert.match(sub.stdout, /24 series in 6 jobs \(6 added, 0 already queued or done\)/);
  const again = await xlstm(['batch', 'submit', '--input', csv, '--horizon', String(H), '--quantiles', '0.1,0.5,0.9', '--chunk-size', '4', '--queue', q], { REDIS_URL: redis.url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /24 series in 6 jobs \(0 added, 6 already queued or done\)/);

  const before = await xlstm(['batch', 'status', '--queue', q, '--redis', redis.url, '--json']);
  assert.equal(before.code, 0, before.stderr);
  const s0 = JSON.parse(before.stdout);
  assert.deepEqual(s0.jobs, { total: 6, waiting: 6, active: 0, delayed: 0, completed: 0, failed: 0 });
  assert.deepEqual(s0.series, { total: 24, done: 0, failed: 0 });
  const early = await xlstm(['batch', 'collect', '--queue', q, '--redis', redis.url, '--output', join(dir, 'early.csv')]);
  assert.equal(early.code, EXIT_ERROR);
  assert.equal(early.stderr, "xlstm: 6 of 6 jobs of queue 'e2e' have not finished: run workers ('xlstm worker'), check 'xlstm batch status', or collect with --wait\n");
  assert.ok(!existsSync(join(dir, 'early.csv')));

  // A worker is killed (SIGKILL) as soon as it says it has started a job. A job takes tens of
  // milliseconds here, so on a loaded machine the kill may land after the job is done: that
  // shows as a result written by the killed worker, and the test kills another worker on the
  // next job, until one kill has landed mid-job.
  const { Redis } = await import('ioredis');
  const r = new Redis(redis.url);
  let killedJob: string | undefined;
  let victim: WorkerProc | undefined;
  try {
    for (let tries = 0; tries < 4 && killedJob === undefined; tries++) {
      let started: string | undefined;
      victim = startWorker(q, (line, w) => {
        const m = /job (\S+) started/.exec(line);
        if (m && started === undefined) { started = m[1]; w.child.kill('SIGKILL'); }
      });
      const end = await victim.done;
      assert.equal(end.signal, 'SIGKILL');
      assert.ok(started, victim.log.join('\n'));
      const res = await r.get(batchKeys(q).result(started!));
      if (res === null) killedJob = started;
    }
  } finally { r.disconnect(); }
  assert.ok(killedJob, 'no kill landed in the middle of a job in 4 tries');
  const others = [startWorker(q), startWorker(q)];
  try {
    const out = join(dir, 'out.csv');
    const c = await xlstm(['batch', 'collect', '--queue', q, '--redis', redis.url, '--output', out, '--wait']);
    assert.equal(c.code, EXIT_PARTIAL, c.stderr);
    assert.match(c.stderr, /^xlstm batch collect: skipped series 'gap': timestamp '2020-04-10' is missing/);
    const got = readFileSync(out, 'utf8');
    assert.equal(got, readFileSync(expected, 'utf8'));
    // each series exactly once: H rows, contiguous, in input order
    const ids = got.trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    assert.equal(ids.length, SERIES * H);
    const order = ids.filter((id, i) => i === 0 || ids[i - 1] !== id);
    assert.equal(order.length, SERIES);
    assert.equal(new Set(order).size, SERIES);

    // the job of the killed worker was finished by another one
    const r2 = new Redis(redis.url);
    try {
      const res = JSON.parse((await r2.get(batchKeys(q).result(killedJob)))!) as JobResult;
      assert.notEqual(res.worker.split(':').pop(), String(victim!.child.pid));
      assert.deepEqual(res.series.map((x) => x.pos), [...res.series.keys()].map((k) => res.series[0].pos + k));
    } finally { r2.disconnect(); }
    const st = await xlstm(['batch', 'status', '--queue', q, '--redis', redis.url]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /6 jobs: 0 waiting, 0 active, 0 delayed \(retry\), 6 completed, 0 failed\nseries: 24 of 24 done \(1 could not be forecast\)\n$/);
    // resubmitting after the work is done queues nothing again
    const late = await xlstm(['batch', 'submit', csv, '--horizon', String(H), '--quantiles', '0.1,0.5,0.9', '--chunk-size', '4', '--queue', q, '--redis', redis.url]);
    assert.match(late.stdout, /\(0 added, 6 already queued or done\)/);
  } finally {
    for (const w of others) w.child.kill('SIGTERM');
    const ends = await Promise.all(others.map((w) => w.done));
    for (const e of ends) assert.equal(e.code, 143);
  }
});

test('another file on a queue that holds a batch is refused; clear empties the queue', async () => {
  const q = 'other';
  const a = await xlstm(['batch', 'submit', csv, '--horizon', '3', '--queue', q, '--redis', redis.url]);
  assert.equal(a.code, 0, a.stderr);
  const b = await xlstm(['batch', 'submit', csv, '--horizon', '4', '--queue', q, '--redis', redis.url]);
  assert.equal(b.code, EXIT_ERROR);
  assert.match(b.stderr, /^xlstm: queue 'other' holds another batch \(from '.*data\.csv', 24 series\): give another --queue, or 'xlstm batch clear --queue other' once its results are collected\n$/);
  const c = await xlstm(['batch', 'clear', '--queue', q, '--redis', redis.url]);
  assert.equal(c.code, 0, c.stderr);
  const s = await xlstm(['batch', 'status', '--queue', q, '--redis', redis.url]);
  assert.equal(s.code, EXIT_ERROR);
  assert.equal(s.stderr, "xlstm: queue 'other' has no batch: run 'xlstm batch submit data.csv --horizon N --queue other' first\n");
  const d = await xlstm(['batch', 'submit', csv, '--horizon', '4', '--queue', q, '--redis', redis.url]);
  assert.equal(d.code, 0, d.stderr);
});

test('bad input: no Redis reachable, a bad CSV, a bad queue name: one line, exit 1, nothing queued', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  for (const args of [['batch', 'status', '--redis', url], ['batch', 'submit', csv, '--horizon', '2', '--redis', url], ['worker', '--model', MODEL, '--redis', url]]) {
    const r = await xlstm(args);
    assert.equal(r.code, EXIT_ERROR, args.join(' '));
    assert.match(r.stderr, new RegExp(`^xlstm: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\(start redis-server, or give its URL with --redis or REDIS_URL\\)\\n$`), args.join(' '));
  }
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'id,date,value\na,2020-01-01,1\na,2020-01-02,oops\n');
  const r = await xlstm(['batch', 'submit', bad, '--horizon', '2', '--queue', 'bad', '--redis', redis.url]);
  assert.equal(r.code, EXIT_ERROR);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.match(r.stderr, /^xlstm: .*bad\.csv.*line 3.*oops/);
  const s = await xlstm(['batch', 'status', '--queue', 'bad', '--redis', redis.url]);
  assert.match(s.stderr, /queue 'bad' has no batch/);
  const n = await xlstm(['batch', 'status', '--queue', 'a:b', '--redis', redis.url]);
  assert.equal(n.code, EXIT_ERROR);
  assert.match(n.stderr, /^xlstm: --queue must be 1-64 letters, digits/);
  const u = await xlstm(['batch', 'status', '--redis', 'http://127.0.0.1:1']);
  assert.equal(u.stderr, "xlstm: --redis must be a redis:// or rediss:// URL, got 'http://127.0.0.1:1'\n");
});
