import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downloadBar, resolveCliModel } from '../../src/cli/hubModel.js';
import { HubError } from '../../src/hub/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('CLI download bar: nothing when stderr is not a terminal; bytes, size, rate and ETA when it is', async () => {
  const quiet = await downloadBar({ write: () => { throw new Error('must not write'); }, isTTY: false });
  assert.equal(quiet.onProgress, undefined);
  quiet.stop();
  let out = '';
  const tty = { write: (s: string) => { out += s; return true; }, isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => tty, removeListener: () => tty };
  const bar = await downloadBar(tty);
  const MiB = 1 << 20;
  bar.onProgress!({ status: 'initiate', name: 'o/r', file: 'config.json', total: 1000, cached: true });
  bar.onProgress!({ status: 'initiate', name: 'o/r', file: 'model.safetensors', total: 8 * MiB, cached: false });
  bar.onProgress!({ status: 'download', name: 'o/r', file: 'model.safetensors', total: 8 * MiB, resumeFrom: 2 * MiB });
  await new Promise((r) => setTimeout(r, 120));
  bar.onProgress!({ status: 'progress', name: 'o/r', file: 'model.safetensors', loaded: 4 * MiB, total: 8 * MiB, progress: 50 });
  bar.stop();
  // the cached config does not count; the resumed 2 MiB count as done but not toward the rate
  assert.match(out, /downloading model\.safetensors \[.*\] 50% \| 4\.0 MiB\/8\.0 MiB \| [\d.]+ (MiB|GiB)\/s \| ETA \d+s/);
});

test('resolveCliModel: a hub failure names the flag and keeps its code; a local path passes through', async () => {
  const err = { write: () => true, isTTY: false };
  // offline with an empty cache: never a request, whatever the machine's network
  const saved = { offline: process.env.HF_HUB_OFFLINE, cache: process.env.HF_HUB_CACHE };
  process.env.HF_HUB_OFFLINE = '1';
  process.env.HF_HUB_CACHE = mkdtempSync(join(tmpdir(), 'xlstm-hub-empty-'));
  try {
    await assert.rejects(resolveCliModel('NX-AI/TiRex@main', 'tirex', err), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 'not-cached');
      assert.match(e.message, /^--model 'NX-AI\/TiRex@main': NX-AI\/TiRex@main is not in the hub cache/);
      return true;
    });
    assert.equal(await resolveCliModel('.', 'tirex', err), '.');
  } finally {
    rmSync(process.env.HF_HUB_CACHE, { recursive: true, force: true });
    for (const [k, v] of [['HF_HUB_OFFLINE', saved.offline], ['HF_HUB_CACHE', saved.cache]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }
});
