// kernelImports' env.waitOn (the fused program's barrier sleep, with a timeout that tells a short
// wait from a long one): the kernel passes the barrier's byte address as a wasm usize, which
// JavaScript receives as a signed i32. Above 2 GiB (the heaps of a 7B model) that is negative; the
// import must still find the word, also after the memory grew past the view it made first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelImports } from '../../src/backend/wasm/imports.js';

const PAGE = 65536;

test('waitOn reads a barrier word above 2 GiB (negative i32 address) in a memory grown after the imports were made', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768 + 16, shared: true });
  const waitOn = (kernelImports(memory).env as { waitOn: (p: number, e: number, us: number) => number }).waitOn;
  memory.grow(32768 + 8 - 1); // 2 GiB + 512 KiB: pages are reserved, only the touched one is backed
  const at = 2 ** 31 + 4 * PAGE; // a word above 2 GiB
  const words = new Int32Array(memory.buffer);
  words[at / 4] = 7;
  const asI32 = at | 0;
  assert.ok(asI32 < 0, 'the address arrives negative, as from wasm');
  // differs from the expected value: Atomics.wait must return at once, not throw RangeError
  assert.equal(waitOn(asI32, 8, -1), 0);
  // equal: sleeps until the timeout (microseconds) and says it timed out
  const t0 = performance.now();
  assert.equal(waitOn(asI32, 7, 2000), 1);
  assert.ok(performance.now() - t0 >= 1.5, 'slept ~2 ms');
  // a word beyond the memory is still an error (a wrong pointer must not pass silently)
  assert.throws(() => waitOn((2 ** 31 + 16 * PAGE) | 0, 0, -1), RangeError);
});
