// Process edges of the wasm backend: a backend the caller never disposes must not keep Node
// alive (its worker threads are unref'd once ready), and its options are checked before any
// thread starts (threads: 0 and threads: 100000 used to be accepted / crash with EAGAIN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { WasmBackend, maxThreadCount, defaultThreadCount } from '../../src/backend/wasm/backend.js';
import { ArgumentError, LimitError } from '../../src/errors.js';

/** Runs `node file`, resolving with its exit status, output and run time (killing it after `limitMs`). */
function runNode(file: string, limitMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number; killed: boolean }> {
  return new Promise((done) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', killed = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, limitMs);
    child.on('close', (code, signal) => { clearTimeout(timer); done({ code, signal, stdout, stderr, ms: Date.now() - t0, killed }); });
  });
}

test('backend: a forgotten dispose() does not keep the process alive (2 threads, a TiRex forecast run)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-nodispose-'));
  try {
    const dist = (p: string) => pathToFileURL(resolve('dist/src', p)).href;
    const script = join(dir, 'forget.mjs');
    writeFileSync(script, `
      import { WasmBackend } from ${JSON.stringify(dist('backend/wasm/backend.js'))};
      import { TiRex } from ${JSON.stringify(dist('models/tirex/model.js'))};
      const be = await WasmBackend.create({ threads: 2 });
      const model = await TiRex.fromPretrained(${JSON.stringify(resolve('models/default-forecaster'))}, { backend: be });
      const f = model.forecast([Array.from({ length: 96 }, (_, i) => Math.sin(i / 4))], { predictionLength: 8 });
      // neither model.dispose() nor be.dispose(): the process must still end by itself
      console.log(JSON.stringify({ threads: be.threads, horizon: f.shape[1], finite: Array.from(f.quantileData).every(Number.isFinite) }));
    `);
    const r = await runNode(script, 30_000);
    assert.equal(r.killed, false, `the process did not exit on its own within 30 s (stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)})`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { threads: 2, horizon: 8, finite: true });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('backend: threads, relaxedSimd and initialMemoryBytes are checked with errors naming the option, value and limit', async () => {
  for (const threads of [0, -1, 1.5, Number.NaN, '2' as unknown as number]) {
    await assert.rejects(WasmBackend.create({ threads }), (e: Error) => {
      assert.ok(e instanceof ArgumentError, `${String(threads)}: ${e.constructor.name}`);
      assert.match(e.message, /^WasmBackend\.create: threads must be a positive integer, got /);
      return true;
    });
  }
  const max = await maxThreadCount();
  assert.equal(max, Math.min(256, Math.max(16, 4 * (await defaultThreadCount()))));
  await assert.rejects(WasmBackend.create({ threads: 100000 }), (e: Error) => {
    assert.ok(e instanceof LimitError);
    assert.equal(e.option, 'threads');
    assert.equal(e.value, 100000);
    assert.equal(e.limit, max);
    assert.match(e.message, new RegExp(`^threads 100000 is above the limit ${max} \\(`));
    return true;
  });
  await assert.rejects(WasmBackend.create({ relaxedSimd: 'no' as unknown as boolean }), /relaxedSimd must be a boolean, got "no"/);
  await assert.rejects(WasmBackend.create({ initialMemoryBytes: -5 }), /initialMemoryBytes must be a non-negative integer, got -5/);
  await assert.rejects(WasmBackend.create({ initialMemoryBytes: 2 ** 33 }), (e: Error) => e instanceof LimitError && /^initialMemoryBytes 8589934592 is above the limit 4294967296/.test(e.message));
  await assert.rejects(WasmBackend.create(null as never), /options must be an object, got null/);
  await assert.rejects(WasmBackend.create({ barrierSpins: 1.5 }), /barrierSpins must be an integer from -1 \(never sleep\) to 2\^31 - 1, got 1.5/);
  await assert.rejects(WasmBackend.create({ barrierSpins: -2 }), /barrierSpins must be an integer .* got -2/);
  await assert.rejects(WasmBackend.create({ barrierSpins: '1000' as unknown as number }), /barrierSpins must be an integer .* got "1000"/);
  // the limit itself is accepted (a backend at the edge is made, not refused); 3 threads here for speed
  const be = await WasmBackend.create({ threads: 3 });
  try { assert.equal(be.threads, 3); } finally { be.dispose(); }
});

test('train data workers: an unclosed ForecastDataWorkers does not keep the process alive, and one awaited is not cut off', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-noclose-'));
  try {
    const script = join(dir, 'forget.mjs');
    writeFileSync(script, `
      import { ForecastDataWorkers } from ${JSON.stringify(pathToFileURL(resolve('dist/src/train/forecastDataWorkers.js')).href)};
      const d = await ForecastDataWorkers.create({ seed: 42, contextLength: 64, patchSize: 8, batchSize: 4 }, { workers: 2, prefetch: 3 });
      // nothing but the workers keeps the loop alive while these batches are on their way
      await d.ready(3);
      const b = [d.next(), d.next(), d.next()];
      console.log(JSON.stringify({ position: d.position, batchSize: b[2].batchSize, numTokens: b[2].numTokens }));
      // no d.close(): three more batches were requested ahead, the process must still end
    `);
    const r = await runNode(script, 30_000);
    assert.equal(r.killed, false, `the process did not exit on its own within 30 s (${r.stderr})`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { position: 3, batchSize: 4, numTokens: 8 });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
