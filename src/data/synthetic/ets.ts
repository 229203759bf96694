// Simulation from ETS(error, trend, season) state-space models (Hyndman, Koehler, Ord &
// Snyder 2008; Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", ch. 8), the
// model class forecast::ets fits. The recursions are written in Holt-Winters form, which is
// the same model for additive and multiplicative errors (the error type changes the noise
// only: y = mu + e or y = mu (1 + e)):
//   trend N/A/Ad/M/Md: lp = l | l + b | l + phi b | l b | l b^phi   (b carried: b | b | phi b | b | b^phi)
//   season N/A/M:      mu = lp | lp + s_{t-m} | lp * s_{t-m}
//   l' = alpha (y "minus" s) + (1 - alpha) lp
//   b' = beta (l' "minus" l) + (1 - beta) b_carried        (minus = ratio for M trends)
//   s' = gamma (y "minus" lp) + (1 - gamma) s_{t-m}
// with beta, gamma the Holt-Winters parameters (Hyndman's beta = alpha beta, gamma = (1 - alpha) gamma).
import { Rng } from '../../random/rng.js';

export type EtsError = 'A' | 'M';
export type EtsTrend = 'N' | 'A' | 'Ad' | 'M' | 'Md';
export type EtsSeason = 'N' | 'A' | 'M';

export interface EtsSpec {
  error: EtsError; trend: EtsTrend; season: EtsSeason;
  /** Seasonal period m (ignored for season 'N'). */
  period: number;
  alpha: number; beta: number; gamma: number; phi: number;
  /** Noise standard deviation: absolute for 'A' errors, relative for 'M'. */
  sigma: number;
  level0: number;
  /** Initial slope: additive for A/Ad trends, a growth factor (about 1) for M/Md. */
  trend0: number;
  /** [period] initial seasonal states, oldest first (sum 0 for A, mean 1 for M). */
  season0: Float64Array;
}

export function describeEts(s: EtsSpec): string {
  const f = (x: number) => +x.toPrecision(2);
  return `ETS(${s.error},${s.trend},${s.season}${s.season === 'N' ? '' : `,m=${s.period}`}) alpha=${f(s.alpha)}${s.trend === 'N' ? '' : ` beta=${f(s.beta)}`}${s.season === 'N' ? '' : ` gamma=${f(s.gamma)}`}${s.trend.endsWith('d') ? ` phi=${f(s.phi)}` : ''} sigma=${f(s.sigma)}`;
}

/**
 * n steps of the model. Multiplicative states are kept positive (level and seasonal factors
 * floored, growth factors clamped to [0.8, 1.25]) so an unlucky draw cannot overflow or go
 * negative; the floors are far from where realistic draws go.
 */
export function simulateEts(rng: Rng, n: number, s: EtsSpec): Float64Array {
  const m = s.season === 'N' ? 1 : s.period;
  if (s.season !== 'N' && (!Number.isInteger(m) || m < 2 || s.season0.length !== m)) throw new RangeError(`simulateEts: seasonal period must be an integer >= 2 with season0 of that length, got m=${m}, season0 ${s.season0.length}`);
  const multTrend = s.trend === 'M' || s.trend === 'Md', damped = s.trend === 'Ad' || s.trend === 'Md';
  const phi = damped ? s.phi : 1;
  const floor = 1e-3 * Math.abs(s.level0);
  const seas = s.season === 'N' ? new Float64Array(1) : Float64Array.from(s.season0);
  let l = s.level0, b = s.trend === 'N' ? 0 : s.trend0;
  const y = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const bc = s.trend === 'N' ? 0 : multTrend ? Math.pow(b, phi) : phi * b;
    const lp = s.trend === 'N' ? l : multTrend ? l * bc : l + bc;
    const st = seas[t % m];
    const mu = s.season === 'A' ? lp + st : s.season === 'M' ? lp * st : lp;
    const e = s.sigma * rng.normal();
    const v = s.error === 'A' ? mu + e : mu * (1 + e);
    y[t] = v;
    const deseason = s.season === 'A' ? v - st : s.season === 'M' ? v / st : v;
    let ln = s.alpha * deseason + (1 - s.alpha) * lp;
    if ((multTrend || s.season === 'M' || s.error === 'M') && ln < floor) ln = floor;
    if (s.trend !== 'N') {
      b = multTrend ? s.beta * (ln / l) + (1 - s.beta) * bc : s.beta * (ln - l) + (1 - s.beta) * bc;
      if (multTrend) b = Math.min(1.25, Math.max(0.8, b));
    }
    if (s.season === 'A') seas[t % m] = s.gamma * (v - lp) + (1 - s.gamma) * st;
    else if (s.season === 'M') seas[t % m] = Math.max(0.02, s.gamma * (v / lp) + (1 - s.gamma) * st);
    l = ln;
  }
  return y;
}

/** A random seasonal profile of period m: a few decaying Fourier harmonics plus a little noise, zero-mean, unit max |value|. */
export function seasonalProfile(rng: Rng, m: number): Float64Array {
  const p = new Float64Array(m);
  const harmonics = rng.int(1, Math.max(1, Math.min(4, Math.floor(m / 2))));
  for (let h = 1; h <= harmonics; h++) {
    const a = rng.normal() / h, c = rng.normal() / h;
    for (let i = 0; i < m; i++) p[i] += a * Math.cos(2 * Math.PI * h * i / m) + c * Math.sin(2 * Math.PI * h * i / m);
  }
  for (let i = 0; i < m; i++) p[i] += 0.15 * rng.normal();
  let mean = 0; for (const v of p) mean += v / m;
  let mx = 0; for (let i = 0; i < m; i++) { p[i] -= mean; mx = Math.max(mx, Math.abs(p[i])); }
  for (let i = 0; i < m; i++) p[i] /= mx || 1;
  return p;
}

/**
 * Realistic parameters for period m (1 = non-seasonal) in the ranges forecast::ets estimates
 * on business and economic series: alpha mostly 0.05-0.9, small beta and gamma, phi 0.8-0.98,
 * noise 0.5-10% of the level, seasonal amplitude 2-40% of the level.
 */
export function sampleEtsSpec(rng: Rng, period: number): EtsSpec {
  const error: EtsError = rng.bernoulli(0.5) ? 'A' : 'M';
  const trend = (['N', 'A', 'Ad', 'M', 'Md'] as const)[rng.weighted([0.35, 0.2, 0.3, 0.05, 0.1])];
  const season: EtsSeason = period < 2 ? 'N' : (['N', 'A', 'M'] as const)[rng.weighted([0.15, 0.4, 0.45])];
  const alpha = rng.logRange(0.03, 0.95), beta = rng.logRange(0.005, 0.3), gamma = rng.logRange(0.005, 0.4);
  const phi = rng.range(0.8, 0.98);
  const level0 = 1, rel = rng.logRange(0.005, 0.1);
  const sigma = error === 'A' ? rel * level0 : rel;
  // slope per step: up to about 1% of the level (a doubling over 70+ steps)
  const slope = rng.normal() * rng.logRange(0.0003, 0.01);
  const trend0 = trend === 'M' || trend === 'Md' ? 1 + slope : slope * level0;
  const m = season === 'N' ? 1 : period;
  const amp = rng.logRange(0.02, 0.4);
  const prof = season === 'N' ? new Float64Array(0) : seasonalProfile(rng, m);
  const season0 = season === 'M' ? Float64Array.from(prof, (v) => 1 + amp * v) : Float64Array.from(prof, (v) => amp * level0 * v);
  return { error, trend, season, period: m, alpha, beta, gamma, phi, sigma, level0, trend0, season0 };
}
