// Building blocks for synthetic series other than GP samples: trends, seasonalities, ARMA
// noise, level shifts, spikes, heteroscedastic noise, intermittent demand and missing runs.
// Every function draws only from the Rng it is given, so a series is a pure function of its
// stream. Arrays are [n] Float64Array unless said otherwise.
import { Rng } from '../../random/rng.js';
import { SEASONAL_PERIODS } from './kernels.js';

/**
 * Piecewise-linear trend: slope changes at 0..maxChangepoints random points, each new slope
 * drawn around the previous one. Slopes are in units of `scale` per series length.
 */
export function piecewiseTrend(rng: Rng, n: number, scale = 1, maxChangepoints = 3): Float64Array {
  const cps = Array.from({ length: rng.int(0, maxChangepoints) }, () => rng.int(1, Math.max(1, n - 1))).sort((a, b) => a - b);
  const y = new Float64Array(n);
  let slope = rng.normal() * scale / n, level = 0, c = 0;
  for (let t = 0; t < n; t++) {
    if (c < cps.length && t === cps[c]) { slope = slope * rng.range(-0.5, 1.5) + rng.normal() * 0.5 * scale / n; while (c < cps.length && cps[c] === t) c++; }
    level += slope; y[t] = level;
  }
  return y;
}

/** Logistic (saturating) growth from 0 to `scale` with a random midpoint and steepness. */
export function logisticTrend(rng: Rng, n: number, scale = 1): Float64Array {
  const mid = rng.range(0.2, 0.8) * n, width = rng.logRange(0.03, 0.3) * n, sign = rng.bernoulli(0.5) ? 1 : -1;
  return Float64Array.from({ length: n }, (_, t) => sign * scale / (1 + Math.exp(-(t - mid) / width)));
}

export interface SeasonalityInfo { period: number; harmonics: number; amplitude: number }

/**
 * Sum of 1..maxSeasonalities seasonal patterns with periods from the bank (those with at
 * least 2 cycles in n), each a random Fourier series of 1-4 harmonics whose amplitude
 * decays with the harmonic. Optionally the amplitude drifts linearly over time.
 */
export function multiSeasonal(rng: Rng, n: number, maxSeasonalities = 3): { values: Float64Array; components: SeasonalityInfo[] } {
  const y = new Float64Array(n);
  const periods = SEASONAL_PERIODS.filter((p) => 2 * p <= n);
  const components: SeasonalityInfo[] = [];
  if (periods.length === 0) return { values: y, components };
  const count = rng.int(1, Math.min(maxSeasonalities, periods.length));
  const used = new Set<number>();
  for (let s = 0; s < count; s++) {
    const period = rng.pick(periods);
    if (used.has(period)) continue;
    used.add(period);
    const harmonics = rng.int(1, Math.min(4, Math.floor(period / 2)));
    const amplitude = rng.logRange(0.2, 1.5);
    const drift = rng.bernoulli(0.3) ? rng.range(-0.8, 0.8) : 0;
    for (let h = 1; h <= harmonics; h++) {
      const a = amplitude * rng.normal() / h, b = amplitude * rng.normal() / h;
      for (let t = 0; t < n; t++) {
        const th = 2 * Math.PI * h * t / period;
        y[t] += (1 + drift * (t / n - 0.5)) * (a * Math.cos(th) + b * Math.sin(th));
      }
    }
    components.push({ period, harmonics, amplitude });
  }
  return { values: y, components };
}

/**
 * AR coefficients of a stationary AR(p): partial autocorrelations drawn in (-maxPacf, maxPacf)
 * and mapped through the Durbin-Levinson recursion, which always gives a stationary model.
 */
export function stationaryAr(rng: Rng, p: number, maxPacf = 0.95): Float64Array {
  let phi = new Float64Array(0);
  for (let k = 1; k <= p; k++) {
    const r = rng.range(-maxPacf, maxPacf);
    const next = new Float64Array(k);
    for (let j = 0; j < k - 1; j++) next[j] = phi[j] - r * phi[k - 2 - j];
    next[k - 1] = r;
    phi = next;
  }
  return phi;
}

/**
 * ARMA(p, q) sample x_t = sum phi_i x_{t-i} + e_t + sum theta_j e_{t-j}, e ~ N(0, sigma^2 v_t)
 * (v = `variance` when given, else 1), after a burn-in of 100 + 10 (p + q) steps.
 */
export function arma(rng: Rng, n: number, phi: ArrayLike<number>, theta: ArrayLike<number> = [], sigma = 1, variance?: ArrayLike<number>): Float64Array {
  const p = phi.length, q = theta.length, burn = 100 + 10 * (p + q);
  const total = n + burn;
  const x = new Float64Array(total), e = new Float64Array(total);
  for (let t = 0; t < total; t++) {
    const v = variance && t >= burn ? variance[t - burn] : 1;
    e[t] = sigma * Math.sqrt(v) * rng.normal();
    let s = e[t];
    for (let i = 1; i <= p && t - i >= 0; i++) s += phi[i - 1] * x[t - i];
    for (let j = 1; j <= q && t - j >= 0; j++) s += theta[j - 1] * e[t - j];
    x[t] = s;
  }
  return x.slice(burn);
}

/**
 * Volatility envelope for heteroscedastic noise: GARCH(1,1)-like clustering
 * (h_t = w + a z_{t-1}^2 h_{t-1} + b h_{t-1}) or a smooth seasonal/level-dependent profile.
 * Returns variances with mean about 1.
 */
export function volatility(rng: Rng, n: number): Float64Array {
  const v = new Float64Array(n);
  if (rng.bernoulli(0.5)) {
    const a = rng.range(0.05, 0.2), b = rng.range(0.6, 0.9 - a + 0.05), w = 1 - a - b;
    let h = 1, z = rng.normal();
    for (let t = 0; t < n; t++) { h = w + a * z * z * h + b * h; v[t] = h; z = rng.normal(); }
  } else {
    const period = rng.pick(SEASONAL_PERIODS.filter((p) => p <= n) .concat([n]));
    const depth = rng.range(0.3, 0.9), growth = rng.range(-1, 2), ph = rng.range(0, 2 * Math.PI);
    for (let t = 0; t < n; t++) v[t] = Math.max(0.05, (1 + depth * Math.sin(2 * Math.PI * t / period + ph)) * Math.exp(growth * (t / n - 0.5)));
  }
  return v;
}

/** Level shifts: 1..maxShifts steps at random times, each of size ~ N(0, scale^2). */
export function levelShifts(rng: Rng, n: number, scale = 1, maxShifts = 3): Float64Array {
  const y = new Float64Array(n);
  const count = rng.int(1, maxShifts);
  for (let s = 0; s < count; s++) {
    const at = rng.int(1, Math.max(1, n - 1)), size = scale * rng.normal();
    for (let t = at; t < n; t++) y[t] += size;
  }
  return y;
}

/** Spikes/outliers added in place: each step with probability `rate`, size `scale` * (3..8) with a random sign. Returns their indices. */
export function addSpikes(rng: Rng, y: Float64Array, scale: number, rate = 0.01): number[] {
  const at: number[] = [];
  for (let t = 0; t < y.length; t++) {
    if (rng.bernoulli(rate)) { y[t] += (rng.bernoulli(0.7) ? 1 : -1) * scale * rng.range(3, 8); at.push(t); }
  }
  return at;
}

/**
 * Intermittent (count) demand: a non-zero with probability pDemand (which can follow a
 * seasonal pattern), sizes 1 + NegBinomial(mean, dispersion). Integer-valued, >= 0.
 */
export function intermittent(rng: Rng, n: number): { values: Float64Array; pDemand: number; meanSize: number } {
  const pDemand = rng.range(0.05, 0.6), meanSize = rng.logRange(0.5, 20), dispersion = rng.logRange(0.5, 10);
  const periods = SEASONAL_PERIODS.filter((p) => 2 * p <= n);
  const period = periods.length && rng.bernoulli(0.4) ? rng.pick(periods) : 0;
  const depth = rng.range(0.3, 1);
  const y = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const p = period ? pDemand * (1 + depth * Math.sin(2 * Math.PI * t / period)) : pDemand;
    y[t] = rng.bernoulli(Math.min(1, p)) ? 1 + rng.negBinomial(meanSize, dispersion) : 0;
  }
  return { values: y, pDemand, meanSize };
}

export interface MissingOptions {
  /** Probability that a series gets missing values at all (default 0.1). */
  probability?: number;
  /** Upper bound of the missing fraction of a series that gets them (default 0.2). */
  maxFraction?: number;
  /** Mean length of one missing run (geometric, default 5). */
  meanRunLength?: number;
}

/**
 * Sets runs of values to NaN in place: a target fraction ~ U(0.01, maxFraction), filled by
 * runs of geometric length at random starts until the target is reached (never the whole
 * series; the first and last steps stay observed so every series has a history and a last value).
 * Returns the number of missing steps.
 */
export function addMissingRuns(rng: Rng, y: Float64Array, opts: MissingOptions = {}): number {
  const n = y.length;
  const maxFraction = opts.maxFraction ?? 0.2, meanRun = opts.meanRunLength ?? 5;
  if (!(maxFraction >= 0 && maxFraction < 1)) throw new Error(`missing.maxFraction must be in [0, 1), got ${maxFraction}`);
  if (!(meanRun >= 1)) throw new Error(`missing.meanRunLength must be >= 1, got ${meanRun}`);
  if (n < 3 || maxFraction === 0) return 0;
  const target = Math.floor(rng.range(Math.min(0.01, maxFraction), maxFraction) * n);
  let missing = 0;
  for (let tries = 0; missing < target && tries < 10 * n; tries++) {
    const start = rng.int(1, n - 2);
    const len = Math.min(rng.geometric(1 / meanRun), target - missing);
    for (let t = start; t < Math.min(n - 1, start + len); t++) if (!Number.isNaN(y[t])) { y[t] = NaN; missing++; }
  }
  return missing;
}
