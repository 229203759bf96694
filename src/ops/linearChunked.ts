// torch Linear (y = x W^T + b) whose GEMM threads claim column chunks from a shared counter
// instead of taking fixed halves (kernel assembly/gemmChunked.ts). On a machine where other
// processes also run, a static split waits for the thread that shares its core; here the
// other thread takes over its chunks. Same bits as linear (each output element is computed
// by the same GEMM code whatever columns a call covers). Few rows (GEMV) and Q4 weights go
// to linear unchanged.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, outputF32, shapeStr } from './check.js';
import { GEMM_MT_MIN, GEMV_MAX_ROWS, LinearWeight, claimedGemmScratch, linear } from './matmul.js';

/** Chunks per thread when balanced (more: finer balance; each chunk packs the x rows again). */
const CHUNKS_PER_THREAD = 4;
/** Narrowest chunk: packing x costs ~4/chunk of a chunk's multiply-adds. */
const MIN_CHUNK = 128;
/** Above this many rows the static split (see below). */
const MAX_ROWS = 512;
const KIND: Record<string, number> = { f32: 0, bf16: 1, f16: 2, i8: 3 };

export interface LinearChunkedOptions {
  /** Columns per chunk (a multiple of 8; default: about N / (4 threads), at least 128). */
  chunk?: number;
  /** Threads (default: the backend's; 1 below ~256K multiply-adds). */
  threads?: number;
}

/** linear(be, x, w, bias, out) with dynamically balanced threads; see the file comment. */
export function linearChunked(be: WasmBackend, x: Tensor, w: LinearWeight, bias?: Tensor, out?: Tensor, opts: LinearChunkedOptions = {}): Tensor {
  const op = 'linearChunked';
  if (!(w instanceof Tensor) || !(w.dtype in KIND) || w.rank !== 2) return linear(be, x, w, bias, out);
  checkDType(op, 'x', x, ['f32']);
  const [N, K] = w.shape;
  const R = x.size / (K || 1);
  if (R <= GEMV_MAX_ROWS || K === 0 || x.rank < 1 || x.shape[x.rank - 1] !== K) return linear(be, x, w, bias, out);
  if (w.dtype === 'i8' && (!w.scales || w.scales.length !== N)) return linear(be, x, w, bias, out);
  if (bias !== undefined) {
    checkDType(op, 'bias', bias, ['f32']);
    if (bias.rank !== 1 || bias.shape[0] !== N) throw new RangeError(`${op}: bias must have shape [${N}], got ${shapeStr(bias.shape)}`);
  }
  const nt = Math.max(1, Math.min(opts.threads ?? be.threads, be.threads, R * N * K >= GEMM_MT_MIN ? be.threads : 1));
  const chunk = opts.chunk ?? Math.max(MIN_CHUNK, Math.ceil(N / (CHUNKS_PER_THREAD * nt) / 8) * 8);
  if (!Number.isInteger(chunk) || chunk < 8 || chunk % 8 !== 0) throw new RangeError(`${op}: chunk must be a positive multiple of 8, got ${String(chunk)}`);
  // Too few columns to balance (e.g. TiRex's 64-wide output layers), or so many rows that
  // packing them again for every chunk costs more than balancing can win (measured, 2 threads:
  // 4096x512x1408 +13-17% CPU, 4096x2816x512 +4-5%; 64 rows 0-4%): linear's static split.
  if (opts.chunk === undefined && nt > 1 && (Math.ceil(N / chunk) < 2 * nt || R > MAX_ROWS)) return linear(be, x, w, bias, out);
  const y = outputF32(be, op, [...x.shape.slice(0, -1), N], out);
  if (y.size === 0) return y;
  const st = new Staging(be);
  try {
    const px = st.ptr(x), pw = st.ptr(w), py = be.ptr(y);
    let pscales = 0;
    if (w.dtype === 'i8') {
      const sc = w.scales!;
      pscales = be.heap.owns(sc) ? sc.byteOffset : st.ptr(new Tensor('f32', [N], sc));
    }
    let beta = 0;
    if (bias) {
      const yd = y.data as Float32Array, bd = bias.toFloat32();
      for (let r = 0; r < R; r++) yd.set(bd, r * N);
      beta = 1;
    }
    const { counter, scratch } = claimedGemmScratch(be, st, nt);
    be.run('gemmLinearChunked', [KIND[w.dtype], R, N, K, px, K, pw, pscales, beta, py, N, scratch, counter, chunk], nt);
    return y;
  } finally { st.done(); }
}
