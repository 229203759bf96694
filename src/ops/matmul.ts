// Matrix products on the wasm backend: matmul (2-D and batched 3-D f32, with
// transposes, alpha/beta, out) and linear (torch Linear: y = x W^T + b for any
// weight format). Kernels: assembly/gemm.ts, assembly/gemv.ts; float64
// reference: src/backend/ref/matmul.ts.
import { Tensor } from '../tensor/tensor.js';
import { Q4Weight, Q4_BLOCK } from '../tensor/quant.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkFinite, checkTensor, outputF32, shapeStr } from './check.js';

export interface MatmulOptions {
  /** Use a^T (a stored [.., K, M]). */
  transA?: boolean;
  /** Use b^T (b stored [.., N, K]). */
  transB?: boolean;
  alpha?: number;
  /** Weight of out's prior contents (needs `out`; default 0). */
  beta?: number;
  /** Heap f32 tensor [.., M, N] to write (and read, when beta != 0). */
  out?: Tensor;
}

/** Below this many multiply-adds one thread beats paying the pool's dispatch. */
export const GEMM_MT_MIN = 1 << 18;
/** linear uses GEMV up to this many rows of x, GEMM beyond. */
export const GEMV_MAX_ROWS = 8;

/**
 * Scratch for a kernel whose nt threads claim GEMM work items from a shared counter
 * (gemmLinearChunked, headwiseGemmF32): the zeroed i32 counter on its own 64-byte cache line,
 * then nt per-thread GEMM scratch areas. Freed with st.
 */
export function claimedGemmScratch(be: WasmBackend, st: Staging, nt: number): { counter: number; scratch: number } {
  const t = st.scratch([16 + (nt * (be.exports.gemmScratchBytes as () => number)()) / 4]);
  (t.data as Float32Array)[0] = 0;
  const counter = be.ptr(t);
  return { counter, scratch: counter + 64 };
}

function gemm(be: WasmBackend, st: Staging, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  pa: number, lda: number, pb: number, ldb: number, beta: number, pc: number, ldc: number): void {
  const nt = M * N * K >= GEMM_MT_MIN ? be.threads : 1;
  const scratch = st.scratch([(nt * (be.exports.gemmScratchBytes as () => number)()) / 4]);
  be.run('gemmF32', [transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, pa, lda, pb, ldb, beta, pc, ldc, be.ptr(scratch)], nt);
}

/**
 * out = alpha * op(a) op(b) + beta * out for f32 a [M,K] / b [K,N] (op = optional
 * transpose), or batched a [Bt,M,K] with b [Bt,K,N] or a shared 2-D b.
 */
export function matmul(be: WasmBackend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  checkDType(op, 'a', a, ['f32']);
  checkDType(op, 'b', b, ['f32']);
  const transA = !!opts.transA, transB = !!opts.transB;
  const alpha = checkFinite(op, 'alpha', opts.alpha ?? 1);
  const beta = checkFinite(op, 'beta', opts.beta ?? 0);
  if (a.rank !== 2 && a.rank !== 3) throw new RangeError(`${op}: a must be 2-D [M, K] or 3-D [batch, M, K], got shape ${shapeStr(a.shape)}`);
  if (b.rank !== 2 && b.rank !== 3) throw new RangeError(`${op}: b must be 2-D [K, N] or 3-D [batch, K, N], got shape ${shapeStr(b.shape)}`);
  const batch = a.rank === 3 ? a.shape[0] : 1;
  if (b.rank === 3 && (a.rank !== 3 || b.shape[0] !== batch)) {
    throw new RangeError(`${op}: 3-D b of shape ${shapeStr(b.shape)} needs a 3-D a with the same batch ${b.shape[0]}, got a of shape ${shapeStr(a.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac;
  const Kb = transB ? bc : br, N = transB ? br : bc;
  if (Kb !== K) {
    throw new RangeError(`${op}: inner dims differ: op(a) is [${M}, ${K}] (a ${shapeStr(a.shape)}${transA ? ', transposed' : ''}) but op(b) is [${Kb}, ${N}] (b ${shapeStr(b.shape)}${transB ? ', transposed' : ''}); b must have ${transB ? `shape [.., ${N}, ${K}]` : `shape [.., ${K}, ${N}]`}`);
  }
  const outShape = a.rank === 3 ? [batch, M, N] : [M, N];
  if (beta !== 0 && !opts.out) throw new TypeError(`${op}: beta = ${beta} needs an out tensor of shape ${shapeStr(outShape)} to accumulate into`);
  const y = outputF32(be, op, outShape, opts.out);
  if (y.size === 0) return y;
  const st = new Staging(be);
  try {
    const pa = st.ptr(a), pb = st.ptr(b), py = be.ptr(y);
    for (let i = 0; i < batch; i++) {
      const ao = pa + i * M * K * 4, bo = pb + (b.rank === 3 ? i * K * N * 4 : 0), yo = py + i * M * N * 4;
      gemm(be, st, transA, transB, M, N, K, alpha, ao, ac, bo, bc, beta, yo, N);
    }
  } finally { st.done(); }
  return y;
}

/** Weights for linear: f32 / bf16 / f16 [N, K], i8 [N, K] with per-row scales, or Q4. */
export type LinearWeight = Tensor | Q4Weight;

function weightShape(w: LinearWeight): readonly number[] {
  return w instanceof Q4Weight ? w.shape : w.shape;
}

/** Heap byte offsets of one GEMV: weight (packed data), its scales (0: none), x, y, bias (0: none), scratch. */
export interface GemvPointers { w: number; scales: number; x: number; y: number; bias: number; scratch: number }

/** The threads a GEMV of an [N, K] weight runs on (one thread below ~32K multiply-adds per row). */
export function gemvThreads(be: WasmBackend, N: number, K: number): number { return N * K >= 1 << 15 ? be.threads : 1; }

/** Scratch bytes the GEMV of `w` over R <= 8 rows of x needs (0: none). */
export function gemvScratchBytes(be: WasmBackend, w: LinearWeight, R: number): number {
  const [N, K] = weightShape(w);
  const nt = gemvThreads(be, N, K);
  const dtype = w instanceof Q4Weight ? 'q4' : w.dtype;
  // Per-thread Q8_0 blocks of x (q4 with 8-bit activations), int16 copy of x for the other
  // integer dot products, f32 rows for bf16.
  if (w instanceof Q4Weight && w.activationBits === 8) return nt * (be.exports.gemvQ8ScratchBytes as (k: number, b: number) => number)(K, R);
  if (dtype === 'q4' || dtype === 'i8') return nt * (be.exports.gemvQuantScratchBytes as (k: number, b: number) => number)(K, R);
  if (dtype === 'bf16') return nt * R * K * 4;
  if (dtype === 'f32' && R >= F32_BATCH_MIN_ROWS) return nt * (be.exports.gemvF32BatchScratchBytes as (k: number) => number)(K);
  return 0;
}

/**
 * From this many rows of x the f32 GEMV runs gemvF32Batch (x transposed, each weight read
 * once for all rows at the pace of the FMAs: 1.3-1.45x the pair kernel's rate at B = 8 with
 * the weights streamed from DRAM); below it the pair kernel, which wastes no SIMD lanes on
 * absent rows and is faster while the weights stay in cache.
 */
const F32_BATCH_MIN_ROWS = 5;

/**
 * The one place that picks the GEMV kernel for a weight format: y[R, N] = x[R, K] w^T (+ bias)
 * as a kernel call (name, arguments, threads), for linear and for prebuilt step programs.
 */
export function gemvKernelCall(be: WasmBackend, w: LinearWeight, R: number, p: GemvPointers): { kernel: string; args: number[]; nt: number } {
  const [N, K] = weightShape(w);
  const nt = gemvThreads(be, N, K);
  const dtype = w instanceof Q4Weight ? 'q4' : w.dtype;
  if (w instanceof Q4Weight && w.activationBits === 8) return { kernel: 'gemvQ4Q8', args: [p.w, p.scales, p.x, p.y, p.bias, N, K, R, p.scratch], nt };
  if (dtype === 'q4' || dtype === 'i8') return { kernel: dtype === 'q4' ? 'gemvQ4' : 'gemvI8', args: [p.w, p.scales, p.x, p.y, p.bias, N, K, R, p.scratch], nt };
  if (dtype === 'bf16') return { kernel: 'gemvBf16', args: [p.w, p.x, p.y, p.bias, N, K, R, p.scratch], nt };
  if (dtype === 'f32' && R >= F32_BATCH_MIN_ROWS) return { kernel: 'gemvF32Batch', args: [p.w, p.x, p.y, p.bias, N, K, R, p.scratch], nt };
  return { kernel: dtype === 'f32' ? 'gemvF32' : 'gemvF16', args: [p.w, p.x, p.y, p.bias, N, K, R], nt };
}

/**
 * torch.nn.Linear: y[.., N] = x[.., K] w[N, K]^T (+ bias[N]). Few rows of x (decoding)
 * run the GEMV kernels straight on the stored weight format; many rows run the
 * GEMM, which widens w to f32 panel by panel while packing it.
 */
export function linear(be: WasmBackend, x: Tensor, w: LinearWeight, bias?: Tensor, out?: Tensor): Tensor {
  const op = 'linear';
  checkDType(op, 'x', x, ['f32']);
  if (!(w instanceof Q4Weight)) {
    checkDType(op, 'w', w, ['f32', 'bf16', 'f16', 'i8']);
    if (w.dtype === 'i8' && (!w.scales || w.scales.length !== w.shape[0])) {
      throw new TypeError(`${op}: i8 w of shape ${shapeStr(w.shape)} needs per-row scales of length ${w.shape[0]}, got ${w.scales ? w.scales.length : 'none'}`);
    }
  }
  const ws = weightShape(w);
  if (ws.length !== 2) throw new RangeError(`${op}: w must be 2-D [N, K], got shape ${shapeStr(ws)}`);
  const [N, K] = ws;
  if (x.rank < 1 || x.shape[x.rank - 1] !== K) {
    throw new RangeError(`${op}: x must have shape [.., ${K}] (last dim = in_features of w ${shapeStr(ws)}), got ${shapeStr(x.shape)}`);
  }
  if (bias !== undefined) {
    checkTensor(op, 'bias', bias);
    checkDType(op, 'bias', bias, ['f32']);
    if (bias.rank !== 1 || bias.shape[0] !== N) throw new RangeError(`${op}: bias must have shape [${N}], got ${shapeStr(bias.shape)}`);
  }
  const outShape = [...x.shape.slice(0, -1), N];
  const y = outputF32(be, op, outShape, out);
  const R = x.size / (K || 1);
  if (y.size === 0) return y;
  const st = new Staging(be);
  try {
    const px = st.ptr(x), py = be.ptr(y);
    const pbias = bias ? st.ptr(bias) : 0;
    const q4 = w instanceof Q4Weight ? w : undefined;
    const wt = q4 ? q4.packed : (w as Tensor);
    const pw = st.ptr(wt);
    let pscales = 0;
    if (q4) pscales = st.ptr(q4.scales);
    else if (wt.dtype === 'i8') {
      const sc = wt.scales!;
      pscales = be.heap.owns(sc) ? sc.byteOffset : st.ptr(new Tensor('f32', [N], sc));
    }
    if (K === 0) {
      (y.data as Float32Array).fill(0);
      if (bias) for (let r = 0; r < R; r++) (y.data as Float32Array).set(bias.data as Float32Array, r * N);
      return y;
    }
    if (R <= GEMV_MAX_ROWS) {
      const bytes = gemvScratchBytes(be, w, R);
      const scratch = bytes ? be.ptr(st.scratch([bytes / 4])) : 0;
      const c = gemvKernelCall(be, w, R, { w: pw, scales: pscales, x: px, y: py, bias: pbias, scratch });
      be.run(c.kernel, c.args, c.nt);
      return y;
    }
    let beta = 0;
    if (bias) {
      const yd = y.data as Float32Array, bd = bias.data as Float32Array;
      for (let r = 0; r < R; r++) yd.set(bd, r * N);
      beta = 1;
    }
    // The GEMM widens non-f32 weights panel by panel while packing them (no f32 copy of w).
    const kind = q4 ? 4 : wt.dtype === 'f32' ? 0 : wt.dtype === 'bf16' ? 1 : wt.dtype === 'f16' ? 2 : 3;
    const nt = R * N * K >= GEMM_MT_MIN ? be.threads : 1;
    const scratch = st.scratch([(nt * (be.exports.gemmScratchBytes as () => number)()) / 4]);
    be.run('gemmLinear', [kind, R, N, K, px, K, pw, pscales, beta, py, N, be.ptr(scratch)], nt);
  } finally { st.done(); }
  return y;
}

export { Q4_BLOCK };
