// Reductions and scans over the last dim: sum, mean, max, argmax ([..., N] -> [...]),
// cumsum ([..., N] -> [..., N]). Float64 reference: src/backend/ref/reduce.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkRank, threadsFor } from './check.js';

function rowReduce(be: WasmBackend, op: 'sum' | 'mean' | 'max' | 'argmax', x: Tensor): Tensor {
  checkDType(op, 'x', x, ['f32']);
  const n = checkRank(op, 'x', x, 1);
  if (n === 0 && op !== 'sum') throw new RangeError(`${op}: x must have a non-empty last dim, got shape [${x.shape.join(', ')}]`);
  const shape = x.shape.slice(0, -1);
  const y = be.empty(shape, op === 'argmax' ? 'i32' : 'f32');
  const rows = y.size;
  if (rows === 0) return y;
  if (n === 0) { (y.data as Float32Array).fill(0); return y; }
  const st = new Staging(be);
  try {
    const px = st.ptr(x);
    const nt = threadsFor(be, x.size, 1, rows);
    if (op === 'argmax') be.run('argmaxF32', [be.ptr(y), px, rows, n], nt);
    else be.run('reduceF32', [be.ptr(y), px, rows, n, op === 'sum' ? 0 : op === 'mean' ? 1 : 2], nt);
    return y;
  } finally { st.done(); }
}

/** Sum over the last dim: [..., N] -> [...] (f32). */
export function sum(be: WasmBackend, x: Tensor): Tensor { return rowReduce(be, 'sum', x); }
/** Mean over the last dim: [..., N] -> [...] (f32), N >= 1. */
export function mean(be: WasmBackend, x: Tensor): Tensor { return rowReduce(be, 'mean', x); }
/** Max over the last dim (NaN propagates): [..., N] -> [...] (f32), N >= 1. */
export function max(be: WasmBackend, x: Tensor): Tensor { return rowReduce(be, 'max', x); }
/** Index of the first max over the last dim (a NaN counts as the max, as in torch): [..., N] -> [...] (i32). */
export function argmax(be: WasmBackend, x: Tensor): Tensor { return rowReduce(be, 'argmax', x); }

/** Inclusive cumulative sum over the last dim (accumulated in f64): [..., N] -> [..., N]. */
export function cumsum(be: WasmBackend, x: Tensor): Tensor {
  checkDType('cumsum', 'x', x, ['f32']);
  const n = checkRank('cumsum', 'x', x, 1);
  const y = be.empty(x.shape, 'f32');
  if (x.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run('cumsumF32', [be.ptr(y), st.ptr(x), x.size / n, n], threadsFor(be, x.size, 2, x.size / n));
    return y;
  } finally { st.done(); }
}
