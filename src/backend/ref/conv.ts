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

/**
 * One decoding step (xlstm conv1d_step): the state [B,K,C] shifts one slot towards
 * index 0, x [B,C] becomes state[:, K-1], y[b,c] = bias[c] + sum_j w[c*K + j] state[b,j,c].
 * Returns y and the new state (the input state is not modified).
 */
export function causalConv1dStepRef(
  x: ArrayLike<number>, state: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | undefined,
  B: number, C: number, K: number,
): { y: Float64Array; state: Float64Array } {
  const ns = new Float64Array(B * K * C);
  const y = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < K - 1; k++) ns[(b * K + k) * C + c] = state[(b * K + k + 1) * C + c];
      ns[(b * K + K - 1) * C + c] = x[b * C + c];
      let acc = bias ? bias[c] : 0;
      for (let j = 0; j < K; j++) acc += w[c * K + j] * ns[(b * K + j) * C + c];
      y[b * C + c] = acc;
    }
  }
  return { y, state: ns };
}
