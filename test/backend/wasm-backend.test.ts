// The wasm backend's plumbing: heap allocation, growth, views, and the thread pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Heap, RESERVED_BYTES } from '../../src/backend/wasm/heap.js';
import { Tensor } from '../../src/tensor/tensor.js';

test('heap: aligned, non-overlapping blocks; released blocks are reused and coalesced', () => {
  const h = new Heap(1 << 20);
  const a = h.alloc(10), b = h.alloc(100), c = h.alloc(64);
  assert.ok(a >= RESERVED_BYTES);
  for (const p of [a, b, c]) assert.equal(p % 64, 0);
  assert.ok(a + 64 <= b && b + 128 <= c);
  h.release(a); h.release(b);
  const d = h.alloc(150); // fits in the coalesced a+b hole (64 + 128 bytes)
  assert.equal(d, a);
  assert.equal(h.bytesInUse, 192 + 64);
});

test('heap: grows on demand and old views stay valid', () => {
  const h = new Heap(2 << 20);
  const p = h.alloc(1024);
  const v = h.f32(p, 256);
  v[7] = 42;
  const big = h.alloc(8 << 20); // forces growth
  assert.ok(h.bytesReserved >= big + (8 << 20));
  assert.equal(v[7], 42);
  assert.equal(h.f32(p, 256)[7], 42);
  assert.ok(h.owns(v) && h.owns(h.f32(big, 4)));
  assert.ok(!h.owns(new Float32Array(4)));
});

test('heap: asking for more than 4 GiB names the limit', () => {
  const h = new Heap(1 << 20);
  assert.throws(() => h.alloc(5 * 2 ** 30), /4 GiB/);
});

test('backend: kernels run on 1 and 2 threads with the same result', async () => {
  for (const threads of [1, 2]) {
    const be = await WasmBackend.create({ threads });
    try {
      const n = 100003; // odd: exercises the scalar tails of every thread's range
      const a = be.empty([n]), b = be.empty([n]), c = be.zeros([n]);
      for (let i = 0; i < n; i++) { a.data[i] = i * 0.5; b.data[i] = -i; }
      be.run('addF32', [be.ptr(c), be.ptr(a), be.ptr(b), n]);
      for (let i = 1; i < n; i += 997) assert.equal(c.data[i], -i * 0.5);
      assert.equal(c.data[n - 1], -(n - 1) * 0.5);
      // Many small jobs in a row: the pool must not lose or repeat one.
      const x = be.zeros([8]);
      const one = be.upload(Tensor.fromArray([1, 1, 1, 1, 1, 1, 1, 1]));
      for (let r = 0; r < 500; r++) be.run('addF32', [be.ptr(x), be.ptr(x), be.ptr(one), 8]);
      assert.deepEqual(Array.from(x.toFloat32()), new Array(8).fill(500));
    } finally { be.dispose(); }
  }
});

test('backend: upload keeps heap tensors, copies JS tensors; ptr refuses JS memory', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const js = Tensor.fromArray([1, 2, 3]);
    assert.throws(() => be.ptr(js), /not on the heap/);
    const h = be.upload(js);
    assert.notEqual(h, js);
    assert.deepEqual(Array.from(h.toFloat32()), [1, 2, 3]);
    assert.equal(be.upload(h), h);
    assert.throws(() => be.run('noSuchKernel', []), /no kernel named noSuchKernel/);
    const before = be.heap.bytesInUse;
    const t = be.empty([1000]);
    assert.ok(be.heap.bytesInUse > before);
    t.dispose(); t.dispose();
    assert.equal(be.heap.bytesInUse, before);
  } finally { be.dispose(); }
});

test('backend: a reshaped view keeps heap memory alive after the original is dropped', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    let view: Tensor | undefined;
    (() => {
      const t = be.empty([4, 4]);
      (t.data as Float32Array).fill(7);
      view = t.reshape([16]);
    })();
    const g = (globalThis as any).gc as undefined | (() => void);
    for (let r = 0; r < 3 && g; r++) { g(); await new Promise((res) => setTimeout(res, 0)); }
    const other = be.empty([16]);
    (other.data as Float32Array).fill(-1); // would overwrite the view's memory if it had been freed
    assert.ok(Array.from(view!.toFloat32()).every((v) => v === 7));
  } finally { be.dispose(); }
});

test('backend: two backends in one process; one growing does not confuse the other', async () => {
  const be1 = await WasmBackend.create({ threads: 1 });
  const be2 = await WasmBackend.create({ threads: 1 });
  try {
    const big = be1.empty([50304 * 1024]); // grows be1's memory
    const t = be2.empty([16]);
    assert.ok(be2.heap.owns(t.data));
    assert.ok(be1.heap.owns(big.data));
    assert.equal(typeof be2.ptr(t), 'number');
  } finally { be1.dispose(); be2.dispose(); }
});

test('backend: plain node (no V8 flag) gets the relaxed-SIMD (FMA) build, and its kernels run on 2 threads', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const mod = fileURLToPath(new URL('../../src/backend/wasm/backend.js', import.meta.url));
  const script = `
    const { WasmBackend } = await import(${JSON.stringify('file://' + mod)});
    const be = await WasmBackend.create({ threads: 2 });
    const n = 4099, a = be.empty([n]), b = be.empty([n]), c = be.zeros([n]);
    for (let i = 0; i < n; i++) { a.data[i] = i; b.data[i] = 2 * i; }
    be.run('addF32', [be.ptr(c), be.ptr(a), be.ptr(b), n]);
    console.log(JSON.stringify({ relaxed: be.features.relaxedSimd, last: c.data[n - 1], fma: be.exports.hasRelaxedSimd() }));
    be.dispose();`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // no flag may sneak in from the test runner
  // A file, not -e: workers inherit the parent's execArgv, and --input-type breaks them.
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-relaxed-'));
  const file = join(dir, 'probe.mjs');
  writeFileSync(file, script);
  let r;
  try { r = spawnSync(process.execPath, [file], { encoding: 'utf8', env, timeout: 60000 }); } finally { rmSync(dir, { recursive: true, force: true }); }
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 20) {
    assert.equal(out.relaxed, true, 'relaxed SIMD should be enabled without a command-line flag');
    assert.equal(out.fma, 1);
  }
  assert.equal(out.last, 3 * 4098);
});
