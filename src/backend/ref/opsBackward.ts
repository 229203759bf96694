// Backward passes of the tensor ops, written as plain loops over flat arrays (float64
// arithmetic). They are the reference the gradient checks compare with finite differences
// and, writing into a Float32Array or Float64Array `out`, also the backward of the autograd
// engine's f32 and f64 tapes for the ops that have no wasm backward kernel.
// Every function ADDS into its gradient outputs (so a caller can accumulate).
import { sigmoidRef } from './elementwise.js';
import { erfc } from './math.js';

type Out = { [i: number]: number; length: number };

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** f'(x) of an activation, given x and y = f(x). */
export function activationDerivRef(fn: string, x: number, y: number): number {
  switch (fn) {
    case 'exp': return y;
    case 'log': return 1 / x;
    case 'sigmoid': return y * (1 - y);
    case 'logsigmoid': return sigmoidRef(-x);
    case 'tanh': return 1 - y * y;
    case 'silu': { const s = sigmoidRef(x); return s * (1 + x * (1 - s)); }
    case 'gelu': return 0.5 * erfc(-x / Math.SQRT2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x); // Phi(x) + x phi(x)
    case 'softplus': return sigmoidRef(x);
    case 'relu': return x > 0 ? 1 : 0;
    case 'erf': return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x);
    default: throw new RangeError(`activationDerivRef: no derivative for ${fn}`);
  }
}

/** dx += dy * f'(x) elementwise. */
export function activationBackwardRef(fn: string, x: ArrayLike<number>, y: ArrayLike<number>, dy: ArrayLike<number>, dx: Out): void {
  for (let i = 0; i < x.length; i++) dx[i] += dy[i] * activationDerivRef(fn, x[i], y[i]);
}

/** softmax / log-softmax over rows of n, given y = the op's output: dx += J^T dy. */
export function softmaxBackwardRef(y: ArrayLike<number>, dy: ArrayLike<number>, n: number, log: boolean, dx: Out): void {
  for (let r = 0; r < y.length / n; r++) {
    const o = r * n;
    let s = 0;
    if (log) { for (let i = 0; i < n; i++) s += dy[o + i]; for (let i = 0; i < n; i++) dx[o + i] += dy[o + i] - Math.exp(y[o + i]) * s; }
    else { for (let i = 0; i < n; i++) s += dy[o + i] * y[o + i]; for (let i = 0; i < n; i++) dx[o + i] += y[o + i] * (dy[o + i] - s); }
  }
}

/**
 * Mean cross-entropy over the rows of logits [N, V] whose target is not ignoreIndex.
 * Returns the loss and the number of counted rows; with dLogits given, adds
 * dLoss * (softmax - onehot) / count into it. No counted rows: loss 0, gradient 0 (torch gives NaN).
 */
export function crossEntropyRef(logits: ArrayLike<number>, targets: ArrayLike<number>, V: number, ignoreIndex: number,
  dLogits?: Out, dLoss = 1): { loss: number; count: number } {
  const N = targets.length;
  let count = 0;
  for (let r = 0; r < N; r++) if (targets[r] !== ignoreIndex) count++;
  let loss = 0;
  for (let r = 0; r < N; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    const o = r * V;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[o + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[o + j] - m);
    const lse = m + Math.log(s);
    loss += lse - logits[o + t];
    if (dLogits) {
      const c = dLoss / count;
      for (let j = 0; j < V; j++) dLogits[o + j] += c * (Math.exp(logits[o + j] - lse) - (j === t ? 1 : 0));
    }
  }
  return { loss: count ? loss / count : 0, count };
}

export interface NormBackwardOptions {
  eps: number;
  weight?: ArrayLike<number>;
  weightOffset?: boolean;
  rms?: boolean;
}

/**
 * Group norm / LayerNorm / RMSNorm backward over rows of D = groups * DG (see normRef):
 * adds into dx, and into dw / db (length D) when given.
 */
export function normBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>, D: number, groups: number, o: NormBackwardOptions,
  dx: Out | null, dw?: Out | null, db?: Out | null): void {
  const DG = D / groups;
  const xh = new Float64Array(DG);
  const g = new Float64Array(DG);
  for (let q = 0; q < x.length / DG; q++) {
    const grp = q % groups;
    const base = q * DG;
    let mean = 0;
    if (!o.rms) { for (let i = 0; i < DG; i++) mean += x[base + i]; mean /= DG; }
    let v = 0;
    for (let i = 0; i < DG; i++) { const d = x[base + i] - mean; v += d * d; }
    const rstd = 1 / Math.sqrt(v / DG + o.eps);
    let sg = 0, sgx = 0;
    for (let i = 0; i < DG; i++) {
      const k = grp * DG + i;
      xh[i] = (x[base + i] - mean) * rstd;
      const w = o.weight ? (o.weightOffset ? 1 : 0) + o.weight[k] : 1;
      if (dw) dw[k] += dy[base + i] * xh[i];
      if (db) db[k] += dy[base + i];
      g[i] = dy[base + i] * w;
      sg += g[i]; sgx += g[i] * xh[i];
    }
    if (!dx) continue;
    // dx = rstd * (g - mean(g) - xh * mean(g * xh)); RMSNorm has no mean(g) term.
    const mg = o.rms ? 0 : sg / DG, mgx = sgx / DG;
    for (let i = 0; i < DG; i++) dx[base + i] += rstd * (g[i] - mg - xh[i] * mgx);
  }
}

/**
 * Causal depthwise conv1d backward (see causalConv1dRef, no state): x [B,S,C], w [C,K].
 * Adds into dx [B,S,C], dw [C,K], db [C] (each optional).
 */
export function causalConv1dBackwardRef(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, B: number, S: number, C: number, K: number,
  dx: Out | null, dw: Out | null, db: Out | null): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < S; t++) {
      for (let c = 0; c < C; c++) {
        const g = dy[(b * S + t) * C + c];
        if (db) db[c] += g;
        for (let j = 0; j < K; j++) {
          const tt = t - K + 1 + j;
          if (tt < 0) continue;
          const xi = (b * S + tt) * C + c;
          if (dw) dw[c * K + j] += g * x[xi];
          if (dx) dx[xi] += g * w[c * K + j];
        }
      }
    }
  }
}

/** Embedding backward: dTable[ids[i]] += dy[i] (scatter-add), table [V, E]. */
export function embeddingBackwardRef(ids: ArrayLike<number | bigint>, dy: ArrayLike<number>, E: number, dTable: Out): void {
  for (let i = 0; i < ids.length; i++) {
    const o = Number(ids[i]) * E;
    for (let k = 0; k < E; k++) dTable[o + k] += dy[i * E + k];
  }
}
