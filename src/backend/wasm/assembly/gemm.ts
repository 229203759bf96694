// f32 GEMM: C[M,N] = alpha * op(A) op(B) + beta * C, row-major with leading
// dimensions, in the GotoBLAS scheme: B blocks [KC x NC] and A blocks [MC x KC]
// are packed into per-thread scratch so the MR x NR micro-kernel streams both
// operands with unit stride, the B micro-panel (KC*NR*4 = 8 KiB) stays in L1 and
// the A block (MC*KC*16 = 192 KiB: each A value is stored 4 times, see packA)
// in the 1 MiB L2.
import { fmadd } from './simd';
import { widenRow, WK_F32 } from './widen';

// 4 x 8 tile, k not unrolled: 8 accumulators + 2 B vectors + 4 broadcast A =
// 14 of the 15 xmm registers V8 gives wasm (xmm15 is its scratch). TurboFan
// issues all loads of an iteration before its FMAs (loads are ordered on the
// effect chain, arithmetic floats down to its use), so every loaded value is
// live at once: 6 x 8 (12 + 2 + 6 = 20) and any k unrolling spilled 5-10
// vectors per k step. Measured on one core of the 2-core EPYC (Zen 3, Node 20,
// FMA build, CPU time): 4 x 8 38-40 GFLOP/s, 6 x 8 unrolled by 2 21-26,
// 6 x 8 not unrolled 21, 4 x 8 with one A load + 4 pshufd 35-38; with A
// pre-broadcast by packA (plain loads, whose offsets V8 folds into the address,
// where load32_splat needed a lea each) 42-44. KC 256..512 and MC 24..96 were
// within the noise; MC 48 was best.
const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 48;
const NC: i32 = 1024;

const AP_FLOATS: i32 = MC * KC * 4;
const BP_FLOATS: i32 = KC * NC;
const TMP_FLOATS: i32 = MR * NR;
// NR weight rows widened to f32 before they are packed (gemmLinear).
const CONV_FLOATS: i32 = NR * KC;
// Per-thread scratch, rounded to cache lines so threads never share one.
const SCRATCH_BYTES: i32 = (((AP_FLOATS + BP_FLOATS + TMP_FLOATS + CONV_FLOATS) * 4 + 63) / 64) * 64;

/** Bytes of scratch gemmF32 needs per thread (pass nt times this). */
export function gemmScratchBytes(): i32 {
  return SCRATCH_BYTES;
}

// @ts-ignore: decorator
@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

// Packs rows i0..i0+mc, depths p0..p0+kc of op(A) into MR-row panels laid out
// [panel][k][MR][4]: every value broadcast to 4 lanes, so the micro-kernel loads
// it as a plain vector. Rows past mc are zero so edge tiles run the full kernel.
function packA(transA: i32, A: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, ap: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = imin(MR, mc - ir);
    const dst = ap + (<usize>(ir * kc) << 4);
    for (let r = 0; r < MR; r++) {
      if (r >= mr) {
        for (let k = 0; k < kc; k++) v128.store(dst + (<usize>(k * MR + r) << 4), f32x4.splat(0));
        continue;
      }
      if (transA) {
        for (let k = 0; k < kc; k++) v128.store(dst + (<usize>(k * MR + r) << 4), v128.load32_splat(A + ((<usize>(p0 + k) * lda + i0 + ir + r) << 2)));
      } else {
        const row = A + ((<usize>(i0 + ir + r) * lda + p0) << 2);
        for (let k = 0; k < kc; k++) v128.store(dst + (<usize>(k * MR + r) << 4), v128.load32_splat(row + (<usize>k << 2)));
      }
    }
  }
}

// Packs depths p0..p0+kc, columns j0..j0+nc of op(B) into NR-column panels laid
// out [panel][k][NR], zero-padded past nc.
function packB(transB: i32, B: usize, ldb: i32, p0: i32, kc: i32, j0: i32, nc: i32, bp: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = imin(NR, nc - jr);
    const dst = bp + (<usize>(jr * kc) << 2);
    if (!transB) {
      if (nr == NR) {
        let src = B + ((<usize>p0 * ldb + j0 + jr) << 2);
        const step = <usize>ldb << 2;
        for (let k = 0; k < kc; k++) {
          const d = dst + (<usize>k << 5);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += step;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let c = 0; c < NR; c++) {
            const v: f32 = c < nr ? load<f32>(B + ((<usize>(p0 + k) * ldb + j0 + jr + c) << 2)) : 0;
            store<f32>(dst + (<usize>(k * NR + c) << 2), v);
          }
        }
      }
    } else {
      // op(B)[k,j] = B[j, k] (torch Linear weights): 8 rows contiguous in k,
      // transposed in two 4x4 blocks.
      if (nr == NR) {
        const rs = <usize>ldb << 2;
        const b0 = B + ((<usize>(j0 + jr) * ldb + p0) << 2);
        let k = 0;
        for (; k + 4 <= kc; k += 4) {
          const d = dst + (<usize>k << 5);
          for (let h = 0; h < 2; h++) {
            const r0 = b0 + <usize>(h * 4) * rs + (<usize>k << 2);
            const a0 = v128.load(r0), a1 = v128.load(r0 + rs), a2 = v128.load(r0 + 2 * rs), a3 = v128.load(r0 + 3 * rs);
            const t0 = i32x4.shuffle(a0, a1, 0, 4, 1, 5);
            const t1 = i32x4.shuffle(a2, a3, 0, 4, 1, 5);
            const t2 = i32x4.shuffle(a0, a1, 2, 6, 3, 7);
            const t3 = i32x4.shuffle(a2, a3, 2, 6, 3, 7);
            const dh = d + (<usize>h << 4);
            v128.store(dh, i64x2.shuffle(t0, t1, 0, 2));
            v128.store(dh, i64x2.shuffle(t0, t1, 1, 3), 32);
            v128.store(dh, i64x2.shuffle(t2, t3, 0, 2), 64);
            v128.store(dh, i64x2.shuffle(t2, t3, 1, 3), 96);
          }
        }
        for (; k < kc; k++) {
          for (let c = 0; c < NR; c++) {
            store<f32>(dst + (<usize>(k * NR + c) << 2), load<f32>(b0 + <usize>c * rs + (<usize>k << 2)));
          }
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let c = 0; c < NR; c++) {
            const v: f32 = c < nr ? load<f32>(B + ((<usize>(j0 + jr + c) * ldb + p0 + k) << 2)) : 0;
            store<f32>(dst + (<usize>(k * NR + c) << 2), v);
          }
        }
      }
    }
  }
}

// packB for op(B) = W^T with W [N, K] stored as `kind` (widen.ts): each group
// of NR weight rows is widened to f32 into `conv` [NR, kc] (in L1) and packed
// from there, so no f32 copy of the whole weight is ever made.
function packBWiden(kind: i32, W: usize, scales: usize, K: i32, p0: i32, kc: i32, j0: i32, nc: i32, bp: usize, conv: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = imin(NR, nc - jr);
    for (let c = 0; c < NR; c++) {
      const d = conv + (<usize>(c * kc) << 2);
      if (c < nr) widenRow(kind, W, scales, K, j0 + jr + c, p0, kc, d);
      else memory.fill(d, 0, <usize>kc << 2);
    }
    packB(1, conv, kc, 0, kc, 0, NR, bp + (<usize>(jr * kc) << 2));
  }
}

// The 4 x 8 micro-kernel: C[0:4, 0:8] = alpha * Ap Bp + beta * C (beta == 0
// never reads C, so garbage or NaN there does not leak in, as in BLAS).
function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load(pa);
    c00 = fmadd(a, b0, c00); c01 = fmadd(a, b1, c01);
    a = v128.load(pa, 16);
    c10 = fmadd(a, b0, c10); c11 = fmadd(a, b1, c11);
    a = v128.load(pa, 32);
    c20 = fmadd(a, b0, c20); c21 = fmadd(a, b1, c21);
    a = v128.load(pa, 48);
    c30 = fmadd(a, b0, c30); c31 = fmadd(a, b1, c31);
    pa += 64; pb += 32;
  }
  const va = f32x4.splat(alpha);
  const rs = <usize>ldc << 2;
  const vb = f32x4.splat(beta);
  storeRow(c, c00, c01, va, vb, beta);
  storeRow(c + rs, c10, c11, va, vb, beta);
  storeRow(c + 2 * rs, c20, c21, va, vb, beta);
  storeRow(c + 3 * rs, c30, c31, va, vb, beta);
}

// @ts-ignore: decorator
@inline function storeRow(r: usize, x0: v128, x1: v128, va: v128, vb: v128, beta: f32): void {
  if (beta == 0) {
    v128.store(r, f32x4.mul(va, x0)); v128.store(r, f32x4.mul(va, x1), 16);
  } else if (beta == 1) {
    v128.store(r, fmadd(va, x0, v128.load(r))); v128.store(r, fmadd(va, x1, v128.load(r, 16)), 16);
  } else {
    v128.store(r, fmadd(va, x0, f32x4.mul(vb, v128.load(r)))); v128.store(r, fmadd(va, x1, f32x4.mul(vb, v128.load(r, 16))), 16);
  }
}

// C[0:mr, 0:nr] = tmp (already alpha-scaled) + beta * C, for edge tiles.
function mergeEdge(tmp: usize, c: usize, ldc: i32, mr: i32, nr: i32, beta: f32): void {
  for (let r = 0; r < mr; r++) {
    const row = c + (<usize>(r * ldc) << 2);
    for (let j = 0; j < nr; j++) {
      const t = load<f32>(tmp + (<usize>(r * NR + j) << 2));
      const p = row + (<usize>j << 2);
      store<f32>(p, beta == 0 ? t : t + beta * load<f32>(p));
    }
  }
}

/**
 * C = alpha * op(A) op(B) + beta * C. op(A) is [M,K] (A stored [K,M] when transA),
 * op(B) is [K,N] (B stored [N,K] when transB); lda/ldb/ldc are row strides in
 * elements. Threads take disjoint column ranges (row ranges when M > N), each
 * with its own gemmScratchBytes() of `scratch`.
 */
export function gemmF32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32,
  scratch: usize, tid: i32, nt: i32,
): void {
  gemmCore(WK_F32, 0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, scratch, tid, nt);
}

/**
 * torch Linear as a GEMM straight on stored weights: C[M,N] = A[M,K] W[N,K]^T + beta * C,
 * W of weight kind `kind` (widen.ts: 0 f32, 1 bf16, 2 f16, 3 int8 with per-row
 * `scales`, 4 Q4 with per-block `scales`), widened while the B panel is packed.
 * Scratch and threads as gemmF32.
 */
export function gemmLinear(
  kind: i32, M: i32, N: i32, K: i32, A: usize, lda: i32, W: usize, scales: usize,
  beta: f32, C: usize, ldc: i32, scratch: usize, tid: i32, nt: i32,
): void {
  if (kind == WK_F32) gemmCore(WK_F32, 0, 0, 1, M, N, K, 1, A, lda, W, K, beta, C, ldc, scratch, tid, nt);
  else gemmCore(kind, scales, 0, 1, M, N, K, 1, A, lda, W, K, beta, C, ldc, scratch, tid, nt);
}

// kind == WK_F32: B as given (transB, ldb); otherwise op(B) = W^T, W [N, K] of that kind.
// @ts-ignore: decorator
@inline function gemmCore(
  kind: i32, scales: usize, transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32,
  scratch: usize, tid: i32, nt: i32,
): void {
  let m0 = 0, m1 = M, n0 = 0, n1 = N;
  if (N >= M) {
    const per = ((N + NR - 1) / NR + nt - 1) / nt * NR;
    n0 = imin(N, per * tid); n1 = imin(N, per * (tid + 1));
  } else {
    const per = ((M + MR - 1) / MR + nt - 1) / nt * MR;
    m0 = imin(M, per * tid); m1 = imin(M, per * (tid + 1));
  }
  if (m0 >= m1 || n0 >= n1) return;
  if (K == 0 || alpha == 0) {
    for (let i = m0; i < m1; i++) {
      for (let j = n0; j < n1; j++) {
        const p = C + ((<usize>i * ldc + j) << 2);
        store<f32>(p, beta == 0 ? 0 : beta * load<f32>(p));
      }
    }
    return;
  }
  const ap = scratch + <usize>tid * SCRATCH_BYTES;
  const bp = ap + (<usize>AP_FLOATS << 2);
  const tmp = bp + (<usize>BP_FLOATS << 2);
  const conv = tmp + (<usize>TMP_FLOATS << 2);
  // Even depth blocks: K = 257 runs as 160 + 97, not 256 + 1 (multiples of 32
  // keep Q4 blocks whole; KC is one too, so kcStep <= KC).
  const nk = (K + KC - 1) / KC;
  const kcStep = ((K + nk - 1) / nk + 31) & ~31;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = imin(NC, n1 - jc);
    for (let pc = 0; pc < K; pc += kcStep) {
      const kc = imin(kcStep, K - pc);
      const b = pc == 0 ? beta : <f32>1;
      if (kind == WK_F32) packB(transB, B, ldb, pc, kc, jc, nc, bp);
      else packBWiden(kind, B, scales, K, pc, kc, jc, nc, bp, conv);
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = imin(MC, m1 - ic);
        packA(transA, A, lda, ic, mc, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = imin(NR, nc - jr);
          const pb = bp + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = imin(MR, mc - ir);
            const pa = ap + (<usize>(ir * kc) << 4);
            const cp = C + ((<usize>(ic + ir) * ldc + jc + jr) << 2);
            if (mr == MR && nr == NR) {
              micro(kc, pa, pb, cp, ldc, alpha, b);
            } else {
              micro(kc, pa, pb, tmp, NR, alpha, 0);
              mergeEdge(tmp, cp, ldc, mr, nr, b);
            }
          }
        }
      }
    }
  }
}
