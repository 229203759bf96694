// gemmLinear with dynamic load balancing: the output columns are cut into chunks that the
// threads claim one at a time from a shared counter, each chunk a single-threaded
// gemmLinear on that slice of W and C. With the static half-and-half split a 2-thread GEMM
// lasts as long as its slower thread, which on a shared machine is the one whose core
// another process also runs on (and at the start of every job, the one still waking up);
// here the faster thread takes more chunks. Every element of C is computed as in gemmLinear
// (its value depends only on K's blocking, not on which columns a call covers), so the
// results are the same bits.
import { gemmLinear, gemmScratchBytes } from './gemm';
import { WK_F32, WK_BF16, WK_F16, WK_I8 } from './widen';

/**
 * C[M,N] = A[M,K] W[N,K]^T + beta * C for W of kind 0 (f32), 1 (bf16), 2 (f16) or 3 (int8 with
 * per-row scales); columns in chunks of `chunk` (a multiple of 8 keeps whole micro-panels).
 * ctl: an i32 the caller zeroed (the next chunk to claim); scratch: nt * gemmScratchBytes().
 */
export function gemmLinearChunked(
  kind: i32, M: i32, N: i32, K: i32, A: usize, lda: i32, W: usize, scales: usize,
  beta: f32, C: usize, ldc: i32, scratch: usize, ctl: usize, chunk: i32, tid: i32, nt: i32,
): void {
  const sc = scratch + <usize>tid * <usize>gemmScratchBytes();
  const rowBytes: usize = kind == WK_F32 ? <usize>K << 2 : kind == WK_BF16 || kind == WK_F16 ? <usize>K << 1 : <usize>K;
  const chunks = (N + chunk - 1) / chunk;
  for (;;) {
    const j = atomic.add<i32>(ctl, 1);
    if (j >= chunks) break;
    const n0 = j * chunk;
    const nc = N - n0 < chunk ? N - n0 : chunk;
    gemmLinear(kind, M, nc, K, A, lda, W + <usize>n0 * rowBytes, kind == WK_I8 ? scales + (<usize>n0 << 2) : scales,
      beta, C + (<usize>n0 << 2), ldc, sc, 0, 1);
  }
}
