// Freeing the wasm-heap tensors of a forward-only pass in one go: a tape that records nothing
// keeps no reference to its intermediates, so once the caller has copied out what it keeps,
// every heap tensor the backend handed out meanwhile can be disposed. Used by the trainer's
// evaluation loops and the tape-based inference paths (TiRex-2, the vision classifiers).
import type { WasmBackend } from './backend.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Records the heap tensors `be` allocates (its `empty`, which zeros and upload use) until
 * release(), which disposes them and restores `empty`.
 */
export function trackHeap(be: WasmBackend): { release(): void } {
  const orig = be.empty;
  const live: Tensor[] = [];
  const bound = orig.bind(be);
  be.empty = (shape, dtype) => { const t = bound(shape, dtype); live.push(t); return t; };
  return {
    release() {
      be.empty = orig;
      for (const t of live) t.dispose();
      live.length = 0;
    },
  };
}

/**
 * Runs fn and then frees every wasm-heap tensor `be` allocated meanwhile (fn's result must not
 * be or hold one, e.g. a number or a copied Float32Array). null runs fn as is.
 */
export function withHeapReclaim<T>(be: WasmBackend | null, fn: () => T): T {
  const tr = be ? trackHeap(be) : null;
  try { return fn(); } finally { tr?.release(); }
}
