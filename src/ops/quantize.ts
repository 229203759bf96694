// Weight quantisation on the heap's threads (kernels: assembly/quantize.ts): rows of f32,
// bf16 or f16 data already on the heap to per-row int8 or Q4_0 blocks, bit-identical to the
// JavaScript reference in src/tensor/quant.ts (quantizeInt8 / quantizeQ4), which stays the
// float64 reference. The loader streams checkpoint rows through these.
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { shapeStr } from '../tensor/dtype.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Q4Weight, Q4_BLOCK } from '../tensor/quant.js';
import { ArgumentError } from '../errors.js';
import { threadsFor } from './check.js';

/** Source element formats the quantisation kernels read (widen.ts weight kinds). */
const KIND: Partial<Record<DType, number>> = { f32: 0, bf16: 1, f16: 2 };

/** Source rows on the heap: `data` is a view of `rows * cols` elements in `dtype`. */
export interface QuantSource {
  dtype: DType;
  data: Float32Array | Uint16Array;
  rows: number;
  cols: number;
}

function kindOf(op: string, src: QuantSource): number {
  const k = KIND[src.dtype];
  if (k === undefined) throw new ArgumentError(`${op}: source dtype is ${src.dtype}, expected f32, bf16 or f16`);
  const want = src.rows * src.cols;
  if (src.data.length !== want) throw new ArgumentError(`${op}: source holds ${src.data.length} elements, expected rows ${src.rows} x cols ${src.cols} = ${want}`);
  const Cls = src.dtype === 'f32' ? Float32Array : Uint16Array;
  if (!(src.data instanceof Cls)) throw new ArgumentError(`${op}: ${src.dtype} source data must be a ${Cls.name}, got ${src.data.constructor.name}`);
  return k;
}

function checkLen(op: string, what: string, a: ArrayBufferView & { length: number }, want: number): void {
  if (a.length !== want) throw new ArgumentError(`${op}: ${what} holds ${a.length} elements, expected ${want}`);
}

/**
 * Per-row symmetric int8 of `src` into `q` (i8, rows*cols) and `scales` (f32, rows), all
 * views on `be`'s heap. Same values as quantizeInt8 (NaN rows: scale NaN, q 0).
 */
export function quantizeRowsInt8Into(be: WasmBackend, src: QuantSource, q: Int8Array, scales: Float32Array): void {
  const op = 'quantizeRowsInt8Into';
  const kind = kindOf(op, src);
  checkLen(op, 'q', q, src.rows * src.cols);
  checkLen(op, 'scales', scales, src.rows);
  if (src.rows === 0 || src.cols === 0) { scales.fill(0); return; }
  be.run('quantizeRowsInt8', [kind, be.ptr(src.data), src.rows, src.cols, be.ptr(q), be.ptr(scales)], threadsFor(be, src.rows * src.cols, 4, src.rows));
}

/**
 * Q4_0 blocks of `src` (cols % 32 == 0) into `packed` (u8, rows*cols/2) and `scales`
 * (f32, rows*cols/32), all views on `be`'s heap. Same bytes as quantizeQ4.
 */
export function quantizeRowsQ4Into(be: WasmBackend, src: QuantSource, packed: Uint8Array, scales: Float32Array): void {
  const op = 'quantizeRowsQ4Into';
  const kind = kindOf(op, src);
  if (src.cols % Q4_BLOCK !== 0) throw new ArgumentError(`${op}: cols is ${src.cols}, expected a multiple of ${Q4_BLOCK}`);
  checkLen(op, 'packed', packed, (src.rows * src.cols) / 2);
  const nb = (src.rows * src.cols) / Q4_BLOCK;
  checkLen(op, 'scales', scales, nb);
  if (nb === 0) return;
  be.run('quantizeRowsQ4', [kind, be.ptr(src.data), src.rows, src.cols, be.ptr(packed), be.ptr(scales)], threadsFor(be, src.rows * src.cols, 4, nb));
}

function matrixSource(op: string, be: WasmBackend, w: Tensor): { src: QuantSource; staged?: Tensor } {
  if (w.rank !== 2) throw new ArgumentError(`${op}: w must be 2-D [N, K], got ${shapeStr(w.shape)}`);
  if (KIND[w.dtype] === undefined) throw new ArgumentError(`${op}: w is ${w.dtype}, expected f32, bf16 or f16`);
  const onHeap = be.upload(w);
  return { src: { dtype: w.dtype, data: onHeap.data as Float32Array | Uint16Array, rows: w.shape[0], cols: w.shape[1] }, staged: onHeap === w ? undefined : onHeap };
}

/** quantizeInt8 on the heap: an i8 heap tensor whose per-row scales are a heap view too. */
export function quantizeInt8OnHeap(be: WasmBackend, w: Tensor): Tensor {
  const { src, staged } = matrixSource('quantizeInt8OnHeap', be, w);
  const q = be.empty([src.rows, src.cols], 'i8');
  const s = be.empty([src.rows], 'f32');
  try {
    quantizeRowsInt8Into(be, src, q.data as Int8Array, s.data as Float32Array);
  } catch (e) { q.dispose(); s.dispose(); throw e; } finally { staged?.dispose(); }
  return new Tensor('i8', [src.rows, src.cols], q.data, { scales: s.data as Float32Array, release: () => { q.dispose(); s.dispose(); } });
}

/** quantizeQ4 on the heap: a Q4Weight whose packed nibbles and scales live on the heap. */
export function quantizeQ4OnHeap(be: WasmBackend, w: Tensor): Q4Weight {
  const { src, staged } = matrixSource('quantizeQ4OnHeap', be, w);
  if (src.cols % Q4_BLOCK !== 0) { staged?.dispose(); throw new ArgumentError(`quantizeQ4OnHeap: K (last dim of w) must be a multiple of ${Q4_BLOCK}, got shape ${shapeStr(w.shape)}`); }
  const p = be.empty([src.rows, src.cols / 2], 'u8');
  const s = be.empty([src.rows, src.cols / Q4_BLOCK], 'f32');
  try {
    quantizeRowsQ4Into(be, src, p.data as Uint8Array, s.data as Float32Array);
  } catch (e) { p.dispose(); s.dispose(); throw e; } finally { staged?.dispose(); }
  return new Q4Weight([src.rows, src.cols], p, s);
}
