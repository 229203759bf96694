// Seasonal ARIMA(p,d,q)(P,D,Q)_m simulation with realistic parameter draws: the model class
// forecast::auto.arima searches. The ARMA part is the product of the non-seasonal and the
// seasonal polynomials, (1 - phi(B))(1 - Phi(B^m)) x_t = (1 + theta(B))(1 + Theta(B^m)) e_t,
// simulated after a burn-in (components.arma); the series is then integrated D times at lag
// m and d times at lag 1, with a drift when d + D = 1 (auto.arima's "with drift").
import { Rng } from '../../random/rng.js';
import { arma, stationaryAr } from './components.js';

export interface SarimaSpec {
  /** Non-seasonal AR / MA coefficients (x_t = sum phi_i x_{t-i} + e_t + sum theta_j e_{t-j}). */
  phi: number[]; theta: number[];
  /** Seasonal AR / MA coefficients at lags m, 2m, ... */
  seasonalPhi: number[]; seasonalTheta: number[];
  d: number; seasonalD: number;
  /** Seasonal period (1 = none). */
  period: number;
  /** Constant added to the differenced series before integration (drift). */
  drift: number;
  sigma: number;
}

export function describeSarima(s: SarimaSpec): string {
  const f = (a: number[]) => `[${a.map((v) => v.toFixed(2)).join(',')}]`;
  const seas = s.period > 1 ? `(${s.seasonalPhi.length},${s.seasonalD},${s.seasonalTheta.length})_${s.period}` : '';
  return `SARIMA(${s.phi.length},${s.d},${s.theta.length})${seas} phi=${f(s.phi)} theta=${f(s.theta)}${s.period > 1 ? ` Phi=${f(s.seasonalPhi)} Theta=${f(s.seasonalTheta)}` : ''}${s.drift ? ` drift=${s.drift.toPrecision(2)}` : ''}`;
}

/** Coefficients of (1 - sum a_i B^i)(1 - sum A_j B^{jm}) as the `c` of x_t = sum c_k x_{t-k} (sign = -1 for AR); for MA (sign = +1): (1 + ...)(1 + ...). */
export function multiplyLagPolynomials(a: number[], A: number[], m: number, sign: 1 | -1): number[] {
  // polynomial coefficients p[0] = 1, p[k] = sign * a_k, then product, then back to c_k = sign * p[k]
  const p = [1, ...a.map((v) => sign * v)];
  const P = new Array(A.length * m + 1).fill(0); P[0] = 1;
  A.forEach((v, j) => { P[(j + 1) * m] = sign * v; });
  const out = new Array(p.length + P.length - 1).fill(0);
  for (let i = 0; i < p.length; i++) for (let j = 0; j < P.length; j++) out[i + j] += p[i] * P[j];
  return out.slice(1).map((v) => sign * v);
}

/** n steps of the model (integration starts from zero: the level is arbitrary, the generator rescales). */
export function simulateSarima(rng: Rng, n: number, s: SarimaSpec): Float64Array {
  const m = s.period;
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`simulateSarima: period must be an integer >= 1, got ${m}`);
  const ar = multiplyLagPolynomials(s.phi, m > 1 ? s.seasonalPhi : [], m, -1);
  const ma = multiplyLagPolynomials(s.theta, m > 1 ? s.seasonalTheta : [], m, 1);
  // the integrations below need d + D m extra starting values, which the burn-in supplies
  const extra = s.d + s.seasonalD * m;
  let x = arma(rng, n + extra, ar, ma, s.sigma);
  if (s.drift) x = x.map((v) => v + s.drift);
  for (let k = 0; k < s.seasonalD; k++) {
    // seasonal integration from a random initial season (the pattern the differences evolve)
    const y = new Float64Array(x.length);
    for (let t = 0; t < x.length; t++) y[t] = x[t] + (t >= m ? y[t - m] : rng.normal() * 3 * s.sigma);
    x = y;
  }
  for (let k = 0; k < s.d; k++) { let c = 0; x = x.map((v) => (c += v)); }
  return x.slice(extra);
}

/**
 * Parameters like those auto.arima selects on business and economic series: low orders,
 * stationary AR and invertible MA (both via partial autocorrelations), seasonal MA around
 * the airline model's -0.6, differencing d in {0, 1, 2} (mostly 0/1), D = 1 for half of the
 * seasonal series.
 */
export function sampleSarimaSpec(rng: Rng, period: number): SarimaSpec {
  const d = rng.weighted([0.4, 0.52, 0.08]);
  const seasonal = period > 1 && rng.bernoulli(0.75);
  const seasonalD = seasonal && rng.bernoulli(0.5) ? 1 : 0;
  const p = rng.weighted([0.35, 0.35, 0.2, 0.1]), q = rng.weighted([0.45, 0.35, 0.2]);
  const phi = Array.from(stationaryAr(rng, p, 0.9));
  // invertible MA: the same PACF construction gives a polynomial with roots outside the unit circle
  const theta = Array.from(stationaryAr(rng, q, 0.85), (v) => -v);
  const P = seasonal ? rng.weighted([0.55, 0.4, 0.05]) : 0, Q = seasonal ? rng.weighted([0.4, 0.6]) : 0;
  const seasonalPhi = Array.from(stationaryAr(rng, P, 0.9));
  const seasonalTheta = Q ? [Math.max(-0.95, Math.min(0.6, -0.6 + 0.3 * rng.normal()))] : [];
  const total = d + seasonalD;
  const drift = total === 1 && rng.bernoulli(0.5) ? rng.normal() * rng.logRange(0.05, 0.5) : 0;
  return { phi, theta, seasonalPhi, seasonalTheta, d, seasonalD, period: seasonal ? period : 1, drift, sigma: 1 };
}
