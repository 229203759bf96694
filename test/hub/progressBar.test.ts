import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downloadBar } from '../../src/cli/hubModel.js';

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
