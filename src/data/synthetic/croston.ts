// Intermittent demand as Croston (1972) describes it: demands occur after inter-demand
// intervals (geometric, mean `meanInterval` steps) and their sizes are positive (negative
// binomial + 1 counts, or log-normal amounts); the TSB variant (Teunter, Syntetos & Babai 2011)
// lets the demand probability drift, including obsolescence (demand dying out). Complements
// components.intermittent (Bernoulli occurrence with a seasonal probability).
import { Rng } from '../../random/rng.js';

export interface CrostonSpec {
  /** Mean inter-demand interval in steps (>= 1). */
  meanInterval: number;
  /** Mean demand size (> 0; counts are 1 + NegBin with mean meanSize - 1). */
  meanSize: number;
  /** NegBin dispersion of counts, or the log-normal sigma of amounts. */
  dispersion: number;
  counts: boolean;
  /** Multiplicative change of the demand probability per step (1 = stationary; < 1 obsolescence). */
  probabilityDrift: number;
}

export function simulateCroston(rng: Rng, n: number, s: CrostonSpec): Float64Array {
  if (!(s.meanInterval >= 1)) throw new RangeError(`simulateCroston: meanInterval must be >= 1, got ${s.meanInterval}`);
  if (!(s.meanSize > 0)) throw new RangeError(`simulateCroston: meanSize must be > 0, got ${s.meanSize}`);
  const y = new Float64Array(n);
  let p = 1 / s.meanInterval;
  for (let t = 0; t < n; t++) {
    if (rng.bernoulli(Math.min(1, p))) {
      y[t] = s.counts
        ? 1 + (s.meanSize > 1 ? rng.negBinomial(s.meanSize - 1, s.dispersion) : 0)
        : s.meanSize * Math.exp(s.dispersion * rng.normal() - s.dispersion * s.dispersion / 2);
    }
    p *= s.probabilityDrift;
  }
  return y;
}

export function sampleCrostonSpec(rng: Rng, n: number): CrostonSpec {
  const counts = rng.bernoulli(0.7);
  return {
    meanInterval: rng.logRange(1.1, 20), meanSize: counts ? rng.logRange(1, 30) : rng.logRange(0.5, 100),
    dispersion: counts ? rng.logRange(0.5, 10) : rng.range(0.1, 1), counts,
    // a quarter of the series drift: over the series the probability changes by a factor 0.05..3
    probabilityDrift: rng.bernoulli(0.25) ? Math.exp(rng.range(Math.log(0.05), Math.log(3)) / n) : 1,
  };
}

export function describeCroston(s: CrostonSpec): string {
  return `Croston interval=${s.meanInterval.toFixed(1)} size=${s.meanSize.toFixed(1)} ${s.counts ? 'counts' : 'amounts'}${s.probabilityDrift !== 1 ? ` drift=${s.probabilityDrift.toPrecision(4)}` : ''}`;
}
