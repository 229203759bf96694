// f32 GEMM: C[M,N] = alpha * op(A) op(B) + beta * C, row-major with leading
// dimensions, in the GotoBLAS scheme: B blocks [KC x NC] and A blocks [MC x KC]
// are packed into per-thread scratch so the MR x NR micro-kernel streams both
// operands with unit stride, the B micro-panel (KC*NR*4 = 16 KiB) stays in the
// 48 KiB L1 and the A block (MC*KC*4 = 192 KiB) in the 1 MiB L2.
import { fmadd } from './simd';
import { widenRow, WK_F32 } from './widen';
import { micro, packA6 } from './gemmMicro';

// Register tiles (measured on one core of the 2-core EPYC, Zen 5, Node 20 /
// V8 11.3, CPU time; `gemm fma peak` of `npm run bench -- gemm` is the
// 128-bit FMA limit, ~54 GFLOP/s per core):
// - relaxed-SIMD build: 6 x 8 = 12 accumulators + 2 B vectors + 1 A broadcast
//   (v128.load32_splat from a compact packed A) = 15 xmm, all V8 gives wasm
//   (xmm15 is its scratch). In the L1 the loop runs at 97-100 % of the peak,
//   the 4 x 8 tile (8 accumulators: 2 FMA pipes x 4 cycles of latency, no
//   slack) at 88-91 %, 3 x 12 at 91 %, 5 x 8 at 93 %, 2 x 16 at 89 %; k
//   unrolled by 2 did not help 4 x 8 and spilled 3 x 12 and 2 x 16. Whole
//   GEMM 1024^3: 46-47 -> 49-51 GFLOP/s.
// - baseline build (fmadd = mul + add): the product needs a 16th register, so
//   6 x 8 spills (24 GFLOP/s); it keeps the 4 x 8 tile, KC 256 and the kernel
//   that merges into C itself, unchanged (44-47).
// TurboFan orders the loop well only when the loop is alone in its function:
// with the alpha/beta merge inlined it hoisted all six broadcasts above the
// FMAs and spilled 4 accumulators (half speed), hence micro -> tile -> merge.
// KC 512 against 256: 1-5 % faster in 8 of 10 alternating pairs (half the
// passes that read and write C, whose rows are a page apart at 1024 columns);
// MC 72..240 were within the noise of a shared machine.
const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
// Bytes per packed A value: 4 (compact, broadcast by load32_splat) for 6 x 8;
// the 4 x 8 kernel is faster with A stored pre-broadcast (16 bytes: plain
// loads, whose offsets V8 folds into the address where load32_splat needs a
// lea each): 44-45 against 38 GFLOP/s compact.
const AW: i32 = ASC_FEATURE_RELAXED_SIMD ? 4 : 16;
const NR: i32 = 8;
const KC: i32 = ASC_FEATURE_RELAXED_SIMD ? 512 : 256;
const MC: i32 = ASC_FEATURE_RELAXED_SIMD ? 96 : 48;
const NC: i32 = 1024;

const AP_FLOATS: i32 = MC * KC * AW / 4;
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
// [panel][k][MR] of AW bytes each (see AW). Rows past mc are zero so edge
// tiles run the full kernel.
function packA(transA: i32, A: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, ap: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = imin(MR, mc - ir);
    const dst = ap + <usize>(ir * kc) * AW;
    if (MR == 6 && AW == 4 && !transA && mr == MR) {
      packA6(A + ((<usize>(i0 + ir) * lda + p0) << 2), <usize>lda << 2, kc, dst);
      continue;
    }
    for (let r = 0; r < MR; r++) {
      const d = dst + <usize>r * AW;
      if (r >= mr) {
        for (let k = 0; k < kc; k++) putA(d + <usize>(k * MR) * AW, 0);
      } else if (transA) {
        const col = A + (<usize>(p0 * lda + i0 + ir + r) << 2);
        const step = <usize>lda << 2;
        for (let k = 0; k < kc; k++) putA(d + <usize>(k * MR) * AW, load<f32>(col + <usize>k * step));
      } else {
        const row = A + ((<usize>(i0 + ir + r) * lda + p0) << 2);
        for (let k = 0; k < kc; k++) putA(d + <usize>(k * MR) * AW, load<f32>(row + (<usize>k << 2)));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function putA(d: usize, v: f32): void {
  if (AW == 4) store<f32>(d, v);
  else v128.store(d, f32x4.splat(v));
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

// The baseline build's 4 x 8 kernel, merging into C itself: C[0:4, 0:8] =
// alpha * Ap Bp + beta * C (beta == 0 never reads C). Here the tile -> merge
// split cost 8-15 % (the mul + add loop has no spare register either way).
function micro4x8(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, alpha: f32, beta: f32): void {
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

// C[0:MR, 0:8] = alpha * tile + beta * C for a full tile.
function mergeFull(t: usize, c: usize, ldc: i32, alpha: f32, beta: f32): void {
  const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
  const rs = <usize>ldc << 2;
  for (let r = 0; r < MR; r++) {
    storeRow(c, v128.load(t), v128.load(t, 16), va, vb, beta);
    c += rs; t += 32;
  }
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

// C[0:mr, 0:nr] = alpha * tile + beta * C, for edge tiles.
function mergeEdge(t: usize, c: usize, ldc: i32, mr: i32, nr: i32, alpha: f32, beta: f32): void {
  for (let r = 0; r < mr; r++) {
    const row = c + (<usize>(r * ldc) << 2);
    for (let j = 0; j < nr; j++) {
      const v = alpha * load<f32>(t + (<usize>(r * NR + j) << 2));
      const p = row + (<usize>j << 2);
      store<f32>(p, beta == 0 ? v : v + beta * load<f32>(p));
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
      // full tiles written straight into C (see micro)
      const direct = alpha == 1 && b == 0;
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
            const pa = ap + <usize>(ir * kc) * AW;
            const cp = C + ((<usize>(ic + ir) * ldc + jc + jr) << 2);
            if (!ASC_FEATURE_RELAXED_SIMD) {
              if (mr == MR && nr == NR) {
                micro4x8(kc, pa, pb, cp, ldc, alpha, b);
              } else {
                micro4x8(kc, pa, pb, tmp, NR, alpha, 0);
                mergeEdge(tmp, cp, ldc, mr, nr, 1, b);
              }
            } else if (mr == MR && nr == NR && direct) {
              // Several call sites keep binaryen from inlining micro (see MR).
              micro(kc, pa, pb, cp, <usize>ldc << 2);
            } else if (mr == MR && nr == NR) {
              micro(kc, pa, pb, tmp, 32);
              mergeFull(tmp, cp, ldc, alpha, b);
            } else {
              micro(kc, pa, pb, tmp, 32);
              mergeEdge(tmp, cp, ldc, mr, nr, alpha, b);
            }
          }
        }
      }
    }
  }
}
