// Float64 reference for src/ops/conv.ts (official xlstm CausalConv1d and conv1d_step).

/**
 * y[b,t,c] = bias[c] + sum_j w[c*K + j] * x[b, t-K+1+j, c]; x [B,S,C], w [C,1,K];
 * inputs before t = 0 come from state [B,K,C] (newest last), else 0.
 * Returns y and the new state (the last K inputs).
 */
export function causalConv1dRef(
  x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | undefined, state: ArrayLike<number> | undefined,
  B: number, S: number, C: number, K: number,
): { y: Float64Array; state: Float64Array } {
  const input = (b: number, t: number, c: number): number =>
    t >= 0 ? x[(b * S + t) * C + c] : state ? state[(b * K + K + t) * C + c] : 0;
  const y = new Float64Array(B * S * C);
  const ns = new Float64Array(B * K * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < S; t++) {
        let acc = bias ? bias[c] : 0;
        for (let j = 0; j < K; j++) acc += w[c * K + j] * input(b, t - K + 1 + j, c);
        y[(b * S + t) * C + c] = acc;
      }
      for (let k = 0; k < K; k++) ns[(b * K + k) * C + c] = input(b, S - K + k, c);
    }
  }
  return { y, state: ns };
}
