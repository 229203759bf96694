// Helpers for the autograd tests: seeded f64 inputs, finite differences, error measures.
import { Tensor } from '../../src/tensor/tensor.js';
import { rng } from '../ops/harness.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';

export function randF64(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor('f64', shape, Float64Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

/** sum(y * W) for a fixed random W: a scalar loss with a non-trivial upstream gradient. */
export function weightedSum(t: Tape, y: Var, seed = 99): Var {
  const w = t.input(randF64([...y.shape], seed, -1, 1));
  return ag.sumAll(t, ag.mul(t, y, w));
}

/** Central differences of f at x (all entries). */
export function fdGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const v = x[j], hh = h * Math.max(1, Math.abs(v));
    x[j] = v + hh; const p = f(x);
    x[j] = v - hh; const m = f(x);
    x[j] = v;
    g[j] = (p - m) / (2 * hh);
  }
  return g;
}

/** max |a - b| / max(max |b|, floor). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} vs ${b.length}`);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, floor);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
