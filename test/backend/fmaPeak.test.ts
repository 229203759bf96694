// The fmaPeak kernel of the GEMM bench: its loop must really run (the bench's
// "fraction of peak" divides by it), so its result is checked against float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';

test('fmaPeak: every thread computes the 12 chains a <- 0.999 a + x (float64 reference)', async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const relaxedSimd of [true, false]) {
    const be = await WasmBackend.create({ threads: 2, relaxedSimd });
    try {
      const out = be.empty([2]);
      const iters = 1000, x = 0.5;
      be.run('fmaPeak', [iters, x, be.ptr(out)]);
      let want = 0;
      for (let i = 0; i < 12; i++) { let a = i; for (let k = 0; k < iters; k++) a = Math.fround(0.999) * a + x; want += a; }
      for (let t = 0; t < be.threads; t++) {
        const got = (out.data as Float32Array)[t];
        assert.ok(Math.abs(got - want) <= 1e-4 * want, `thread ${t} relaxed=${be.features.relaxedSimd}: ${got} vs ${want}`);
      }
      out.dispose();
    } finally { be.dispose(); }
  }
});
