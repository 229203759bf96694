// Float64 reference for the matmul kernels: the plain triple loop, used by the
// tests as ground truth.

export interface RefGemmArgs {
  transA?: boolean; transB?: boolean;
  M: number; N: number; K: number;
  alpha?: number; beta?: number;
  A: ArrayLike<number>; lda?: number;
  B: ArrayLike<number>; ldb?: number;
  /** Prior C (read when beta != 0), row stride ldc. */
  C?: ArrayLike<number>; ldc?: number;
}

/** C[M,N] = alpha op(A) op(B) + beta C in float64 (returned dense, row stride N). */
export function refGemm(a: RefGemmArgs): Float64Array {
  const { M, N, K } = a;
  const alpha = a.alpha ?? 1, beta = a.beta ?? 0;
  const lda = a.lda ?? (a.transA ? M : K);
  const ldb = a.ldb ?? (a.transB ? K : N);
  const ldc = a.ldc ?? N;
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = a.transA ? a.A[k * lda + i] : a.A[i * lda + k];
        const bv = a.transB ? a.B[j * ldb + k] : a.B[k * ldb + j];
        s += av * bv;
      }
      out[i * N + j] = alpha * s + (beta !== 0 && a.C ? beta * a.C[i * ldc + j] : 0);
    }
  }
  return out;
}

/** y[R,N] = x[R,K] w[N,K]^T + bias (torch Linear) in float64; w already dequantised. */
export function refLinear(x: ArrayLike<number>, w: ArrayLike<number>, R: number, N: number, K: number, bias?: ArrayLike<number>): Float64Array {
  const y = refGemm({ transB: true, M: R, N, K, A: x, B: w });
  if (bias) for (let r = 0; r < R; r++) for (let n = 0; n < N; n++) y[r * N + n] += bias[n];
  return y;
}
