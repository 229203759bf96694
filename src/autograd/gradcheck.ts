// Gradient checking against central finite differences on an f64 tape.
import { Tensor } from '../tensor/tensor.js';
import { Tape, Var } from './tape.js';

export interface GradCheckResult {
  /** Per input: max |analytic - numeric| / max(max |numeric|, floor) over the checked entries. */
  relErrors: number[];
  /** The largest of relErrors. */
  maxRelError: number;
}

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-6, relative to max(1, |x|)). */
  h?: number;
  /** Entries checked per input (default all; a seeded subset above this). */
  maxEntries?: number;
  /** Denominator floor for tensors whose gradient is ~0 (default 1e-8). */
  floor?: number;
}

/**
 * `fn` builds a scalar loss on the given f64 tape from Vars made of `inputs` (in order).
 * Compares tape.backward's gradients with (L(x + h) - L(x - h)) / 2h entry by entry.
 */
export function gradCheck(fn: (t: Tape, xs: Var[]) => Var, inputs: readonly Tensor[], o: GradCheckOptions = {}): GradCheckResult {
  const h0 = o.h ?? 1e-6, floor = o.floor ?? 1e-8;
  const base = inputs.map((x) => x.toFloat64());
  const lossAt = (vals: Float64Array[]): number => {
    const t = new Tape(null, 'f64');
    const xs = vals.map((v, k) => t.input(new Tensor('f64', inputs[k].shape, v), false));
    return (fn(t, xs).data as Float64Array)[0];
  };
  const t = new Tape(null, 'f64');
  const xs = base.map((v, k) => t.input(new Tensor('f64', inputs[k].shape, v.slice()), true, `input${k}`));
  const loss = fn(t, xs);
  t.backward(loss);
  const relErrors: number[] = [];
  base.forEach((v, k) => {
    const an = xs[k].grad ? (xs[k].grad!.data as Float64Array) : new Float64Array(v.length);
    let idx = [...v.keys()];
    if (o.maxEntries !== undefined && idx.length > o.maxEntries) {
      const step = idx.length / o.maxEntries;
      idx = Array.from({ length: o.maxEntries }, (_, j) => Math.floor(j * step + (k * 7 + 3) % Math.max(1, Math.floor(step))));
    }
    let maxDiff = 0, maxNum = 0;
    for (const j of idx) {
      const h = h0 * Math.max(1, Math.abs(v[j]));
      const p = base.map((b) => b.slice()); p[k][j] = v[j] + h;
      const m = base.map((b) => b.slice()); m[k][j] = v[j] - h;
      const num = (lossAt(p) - lossAt(m)) / (2 * h);
      maxDiff = Math.max(maxDiff, Math.abs(an[j] - num));
      maxNum = Math.max(maxNum, Math.abs(num));
    }
    relErrors.push(maxDiff / Math.max(maxNum, floor));
  });
  return { relErrors, maxRelError: Math.max(0, ...relErrors) };
}
