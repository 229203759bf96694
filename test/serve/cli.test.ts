// `xlstm serve` as a user starts it: the real CLI in a child process on port 0, answering the
// official TiRex README curl example with the shipped default forecaster, and a SIGTERM that
// lets the request in flight finish before the process exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { post } from './helpers.js';

const BIN = 'dist/src/cli/bin.js';

function startCli(args: string[]): Promise<{ url: string; child: ReturnType<typeof spawn>; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--threads', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`xlstm serve did not start within 30 s: ${err}`)); }, 30_000);
    child.stderr!.on('data', (d) => {
      err += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) { clearTimeout(t); resolve({ url: m[1], child, stderr: () => err }); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`xlstm serve exited with ${code}: ${err}`)); });
  });
}

test('npx xlstm serve: the official curl example, then SIGTERM finishes the request in flight', async () => {
  const { url, child, stderr } = await startCli([]);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    // curl -X POST http://localhost:8000/forecast/mean -d '{"context": [[0, 1, 2, 3]], "prediction_length": 4}'
    const r = await post(`${url}/forecast/mean`, '{"context": [[0, 1, 2, 3]], "prediction_length": 4}');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.length, 1);
    assert.equal(r.body[0].length, 4);
    assert.ok(r.body[0].every((v: number) => Number.isFinite(v)));
    // a slow request (many long series), then SIGTERM while it runs
    const ctx = Array.from({ length: 96 }, (_, i) => Array.from({ length: 1024 }, (_, t) => Math.sin(t * (0.01 + i * 0.001)) * 5 + t * 0.01));
    const slow = post(`${url}/forecast/quantiles`, { context: ctx, prediction_length: 64 });
    await new Promise((res) => setTimeout(res, 150));
    child.kill('SIGTERM');
    const done = await slow;
    assert.equal(done.status, 200, done.text.slice(0, 200));
    assert.equal(done.body.length, 96);
    assert.equal(await exited, 143, stderr());
    assert.match(stderr(), /SIGTERM, finishing requests in flight/);
  } finally { if (child.exitCode === null) child.kill('SIGKILL'); }
});

test('xlstm serve: a bad option is one clear line and exit 1', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += String(d); });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 1);
  assert.match(err, /--port must be a positive integer, got 'abc'/);
  assert.doesNotMatch(err, /\n\s+at /);
});
