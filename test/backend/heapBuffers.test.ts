// Heap.owns after V8 refreshes a shared memory's buffer object: when one memory grows, V8
// hands out new buffer objects for the others; a view made on such an object must still be
// recognised after its own memory grows (the 7B load over several heaps depends on it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heap } from '../../src/backend/wasm/heap.js';

test('heap: a view on the buffer handed out between two growths is still owned', () => {
  const a = new Heap(2 << 20), b = new Heap(2 << 20);
  assert.ok(!a.owns(new Uint8Array(8)), 'a JS array is not on the heap');
  b.alloc(8 << 20); // another memory grows
  const v = new Float32Array(a.buffer, a.alloc(64), 16);
  a.alloc(16 << 20); // this memory grows
  assert.ok(a.owns(v), 'view made on the buffer a handed out');
  assert.ok(!b.owns(v), 'not on the other heap');
  assert.ok(a.owns(new Float32Array(a.buffer, a.alloc(64), 16)));
});
