// Shared helpers for the op tests: seeded random inputs and a tolerance check
// that reports the worst element (as llm.c's maxdiff printout).
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';

/** Deterministic uniform [0, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** f32 tensor (JS memory) of uniform values in [lo, hi). */
export function randTensor(shape: number[], seed: number, lo = -4, hi = 4): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * r();
  return new Tensor('f32', shape, d);
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise; NaN must
 * match NaN and infinities must match exactly.
 */
export function expectClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol = 0): number {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs expected ${expected.length}`);
  let worst = 0, wi = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) assert.fail(`${label}: [${i}] = ${a}, expected ${e}`);
      continue;
    }
    if (!Number.isFinite(a)) assert.fail(`${label}: [${i}] = ${a}, expected ${e}`);
    const err = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (err > worst) { worst = err; wi = i; }
  }
  if (worst > 1) assert.fail(`${label}: [${wi}] = ${actual[wi]}, expected ${expected[wi]} (error ${(worst).toFixed(2)}x of atol ${atol} + rtol ${rtol})`);
  return worst;
}

/**
 * Backends for 1 and 2 threads (relaxed-SIMD build where the engine has it) and
 * 1 thread of the plain SIMD build (mul+add instead of FMA), disposed by the caller.
 */
export async function backends(): Promise<WasmBackend[]> {
  return [
    await WasmBackend.create({ threads: 1 }),
    await WasmBackend.create({ threads: 2 }),
    await WasmBackend.create({ threads: 1, relaxedSimd: false }),
  ];
}

/**
 * Shapes exercised by every row/elementwise op: odd sizes, size 1, and one large enough to use
 * the pool (262478 elements: even add, cost 1, reaches threadsFor's POOL_MIN_OPS).
 */
export const SHAPES: number[][] = [[1], [7], [1, 1], [3, 5], [2, 3, 17], [4, 64], [5, 129], [2, 37, 3547]];

/**
 * The three backends the kernel tests run on: 1 thread, 2 threads, and 2 threads on the
 * baseline (non-relaxed) SIMD build, so every kernel is checked with and without a thread
 * split and in both builds. Turns on V8's relaxed-SIMD flag first (Node 20 needs it).
 */
export async function kernelTestBackends(): Promise<WasmBackend[]> {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  return [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 }), await WasmBackend.create({ threads: 2, relaxedSimd: false })];
}

/** "threads=N relaxed|baseline", for assertion messages. */
export const backendLabel = (be: WasmBackend) => `threads=${be.threads} ${be.features.relaxedSimd ? 'relaxed' : 'baseline'}`;
