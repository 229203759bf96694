// Float64 reference for src/ops/elementwise.ts: the specification of each op.
import { erf, erfc } from './math.js';

export type BinaryOpName = 'add' | 'sub' | 'mul';

/**
 * a op b where b (length m) repeats over a: m = a.length (same shape), a trailing
 * row (a.length a multiple of m) or 1 (scalar).
 */
export function binaryRef(op: BinaryOpName, a: ArrayLike<number>, b: ArrayLike<number> | number): Float64Array {
  const bs = typeof b === 'number' ? [b] : b;
  const m = bs.length;
  if (a.length % m !== 0) throw new RangeError(`binaryRef: b (${m}) does not tile a (${a.length})`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = bs[i % m];
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : x * y;
  }
  return out;
}

export function sigmoidRef(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
/** log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)). */
export function logsigmoidRef(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}
/** log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)). */
export function softplusRef(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}
export function siluRef(x: number): number { return x * sigmoidRef(x); }
/** x * Phi(x) = x/2 * (1 + erf(x/sqrt2)); the negative side via erfc keeps its tail accurate. */
export function geluRef(x: number): number {
  const z = x / Math.SQRT2;
  return z >= 0 ? 0.5 * x * (1 + erf(z)) : 0.5 * x * erfc(-z);
}
export function reluRef(x: number): number { return Number.isNaN(x) ? NaN : Math.max(x, 0); }
export function softcapRef(x: number, cap: number): number { return cap * Math.tanh(x / cap); }

export const ACTIVATION_REFS: Readonly<Record<string, (x: number) => number>> = Object.freeze({
  exp: Math.exp,
  log: Math.log,
  sigmoid: sigmoidRef,
  logsigmoid: logsigmoidRef,
  tanh: Math.tanh,
  silu: siluRef,
  gelu: geluRef,
  softplus: softplusRef,
  relu: reluRef,
  erf,
});

/** f applied to every element. */
export function mapRef(x: ArrayLike<number>, f: (v: number) => number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}
