// Regime changes: Markov-switching processes (K regimes with their own mean, drift and noise
// level, persistent transitions: the behaviour of business cycles and volatility regimes),
// structural breaks (level shifts and trend breaks at random times) on a local trend, and
// financial-style log random walks with regime-switching volatility (business-daily prices,
// yields), on which the last value is the hard-to-beat forecast.
import { Rng } from '../../random/rng.js';

export interface MarkovSwitching {
  /** [K] per-regime mean, drift (per step) and noise sd. */
  mean: number[]; drift: number[]; sd: number[];
  /** Probability of staying in the current regime each step. */
  stay: number;
  /** AR(1) coefficient of the deviation from the regime mean. */
  ar: number;
}

/** n steps of a Markov-switching AR(1) with drifts; returns the values and the regime path. */
export function simulateMarkovSwitching(rng: Rng, n: number, ms: MarkovSwitching): { values: Float64Array; regimes: Int32Array } {
  const K = ms.mean.length;
  if (K < 1 || ms.drift.length !== K || ms.sd.length !== K) throw new RangeError(`simulateMarkovSwitching: mean, drift and sd must have the same length >= 1, got ${ms.mean.length}, ${ms.drift.length}, ${ms.sd.length}`);
  if (!(ms.stay >= 0 && ms.stay <= 1)) throw new RangeError(`simulateMarkovSwitching: stay must be in [0, 1], got ${ms.stay}`);
  const values = new Float64Array(n), regimes = new Int32Array(n);
  let k = rng.int(0, K - 1), dev = 0, trend = 0;
  for (let t = 0; t < n; t++) {
    if (t > 0 && K > 1 && !rng.bernoulli(ms.stay)) { let j = rng.int(0, K - 2); if (j >= k) j++; k = j; }
    trend += ms.drift[k];
    dev = ms.ar * dev + ms.sd[k] * rng.normal();
    values[t] = ms.mean[k] + trend + dev;
    regimes[t] = k;
  }
  return { values, regimes };
}

/** Level shifts and slope changes at random times on a local linear trend with AR noise. */
export function structuralBreaks(rng: Rng, n: number): { values: Float64Array; breaks: number[] } {
  const count = rng.int(1, 4);
  const breaks = Array.from({ length: count }, () => rng.int(Math.floor(n * 0.1), Math.max(Math.floor(n * 0.1), n - 2))).sort((a, b) => a - b);
  const y = new Float64Array(n);
  let level = 0, slope = rng.normal() * 0.01, c = 0, noise = 0;
  const ar = rng.range(0, 0.9), sd = rng.logRange(0.05, 0.5);
  for (let t = 0; t < n; t++) {
    while (c < breaks.length && breaks[c] === t) {
      if (rng.bernoulli(0.7)) level += rng.normal() * rng.range(1, 5);
      if (rng.bernoulli(0.4)) slope = rng.normal() * 0.02;
      c++;
    }
    level += slope;
    noise = ar * noise + sd * rng.normal();
    y[t] = level + noise;
  }
  return { values: y, breaks };
}

/** exp of a random walk with drift whose volatility switches between a calm and a turbulent regime (prices, indices, yields). */
export function switchingVolatilityWalk(rng: Rng, n: number): Float64Array {
  const calm = rng.logRange(0.002, 0.02), ratio = rng.range(1.5, 4), stay = rng.range(0.97, 0.998);
  const drift = rng.normal() * calm * 0.05;
  const y = new Float64Array(n);
  let x = 0, turbulent = false;
  for (let t = 0; t < n; t++) {
    if (!rng.bernoulli(stay)) turbulent = !turbulent;
    // fat tails: a Student-t-like scale mixture
    const z = rng.normal() / Math.sqrt(rng.gamma(3) / 3);
    x += drift + (turbulent ? calm * ratio : calm) * z;
    y[t] = Math.exp(x);
  }
  return y;
}

/** One regime-type series: Markov switching, structural breaks or a switching-volatility walk. */
export function regimeSeries(rng: Rng, n: number): { values: Float64Array; description: string } {
  const which = rng.weighted([0.35, 0.3, 0.35]);
  if (which === 0) {
    const K = rng.int(2, 3);
    const ms: MarkovSwitching = {
      mean: Array.from({ length: K }, () => rng.normal() * 2), drift: Array.from({ length: K }, () => (rng.bernoulli(0.5) ? rng.normal() * 0.02 : 0)),
      sd: Array.from({ length: K }, () => rng.logRange(0.05, 0.6)), stay: 1 - rng.logRange(0.002, 0.05), ar: rng.range(0, 0.95),
    };
    return { values: simulateMarkovSwitching(rng, n, ms).values, description: `Markov switching K=${K} stay=${ms.stay.toFixed(3)} ar=${ms.ar.toFixed(2)}` };
  }
  if (which === 1) { const r = structuralBreaks(rng, n); return { values: r.values, description: `structural breaks at [${r.breaks.join(',')}]` }; }
  return { values: switchingVolatilityWalk(rng, n), description: 'log random walk, switching volatility' };
}
