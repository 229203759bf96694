import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, simulateEts, sampleEtsSpec, seasonalProfile, describeEts, type EtsSpec } from '../../src/data/index.js';
import { acf, diff } from './stats.js';

const base: EtsSpec = { error: 'A', trend: 'N', season: 'N', period: 1, alpha: 0.3, beta: 0.1, gamma: 0.1, phi: 0.9, sigma: 1, level0: 0, trend0: 0, season0: new Float64Array(0) };

/** One-step SSE of simple exponential smoothing with smoothing `a` (the fit forecast::ets does for ETS(A,N,N)). */
function sesSse(y: Float64Array, a: number): number {
  let l = y[0], sse = 0;
  for (let t = 1; t < y.length; t++) { const e = y[t] - l; sse += e * e; l += a * e; }
  return sse;
}

test('ETS(A,N,N): differences are MA(1) with theta = alpha - 1, and fitting SES recovers alpha', () => {
  for (const alpha of [0.2, 0.6]) {
    const y = simulateEts(new Rng(11), 20000, { ...base, alpha });
    // y_t - y_{t-1} = e_t - (1 - alpha) e_{t-1}: lag-1 autocorrelation -(1-a)/(1+(1-a)^2)
    const th = 1 - alpha, want = -th / (1 + th * th);
    assert.ok(Math.abs(acf(diff(y), 1) - want) < 0.03, `alpha ${alpha}: acf ${acf(diff(y), 1)} vs ${want}`);
    let best = 0, bestSse = Infinity;
    for (let a = 0.02; a < 1; a += 0.01) { const s = sesSse(y, a); if (s < bestSse) { bestSse = s; best = a; } }
    assert.ok(Math.abs(best - alpha) < 0.05, `fitted alpha ${best} vs ${alpha}`);
  }
});

test('ETS(A,N,A) m=12: the autocorrelation of the differenced series peaks at the seasonal period', () => {
  const rng = new Rng(3);
  const prof = seasonalProfile(rng, 12);
  const y = simulateEts(rng, 6000, { ...base, season: 'A', period: 12, alpha: 0.2, gamma: 0.05, sigma: 0.3, level0: 10, season0: prof.map((v) => 3 * v) });
  const d = diff(y);
  let arg = 0, best = -Infinity;
  for (let k = 2; k <= 30; k++) { const r = acf(d, k); if (r > best) { best = r; arg = k; } }
  assert.ok(arg === 12 || arg === 24, `peak at lag ${arg}`);
  assert.ok(best > 0.5, `peak ${best}`);
});

test('damped trends: without noise the slope decays geometrically with ratio phi (additive and multiplicative)', () => {
  const phi = 0.9;
  const a = simulateEts(new Rng(1), 40, { ...base, trend: 'Ad', phi, sigma: 0, level0: 100, trend0: 2, beta: 0.2, alpha: 0.5 });
  const d = diff(a);
  for (let t = 1; t < d.length; t++) assert.ok(Math.abs(d[t] / d[t - 1] - phi) < 1e-9, `step ${t}: ${d[t] / d[t - 1]}`);
  assert.ok(Math.abs(a[0] - (100 + phi * 2)) < 1e-12);
  // multiplicative damped: log growth factors decay by phi
  const m = simulateEts(new Rng(1), 40, { ...base, error: 'M', trend: 'Md', phi, sigma: 0, level0: 100, trend0: 1.05, beta: 0.2, alpha: 0.5 });
  const g = Float64Array.from({ length: 39 }, (_, t) => Math.log(m[t + 1] / m[t]));
  for (let t = 1; t < g.length; t++) assert.ok(Math.abs(g[t] / g[t - 1] - phi) < 1e-9);
  // an undamped additive trend keeps its slope
  const u = diff(simulateEts(new Rng(1), 20, { ...base, trend: 'A', sigma: 0, level0: 0, trend0: 1.5 }));
  for (const v of u) assert.ok(Math.abs(v - 1.5) < 1e-12);
});

test('multiplicative seasonality: the seasonal swing grows with the level, additive stays fixed', () => {
  const prof = seasonalProfile(new Rng(5), 12);
  // without noise: a geometric (M) trend for the multiplicative season (the in-cycle growth is
  // then the same factor in every cycle), a linear (A) one for the additive season
  const common = { ...base, period: 12, sigma: 0, alpha: 0.3, beta: 0.1, gamma: 0.1, level0: 100 };
  const swing = (y: Float64Array, c: number) => { const s = y.subarray(12 * c, 12 * c + 12); let lo = Infinity, hi = -Infinity, mu = 0; for (const v of s) { lo = Math.min(lo, v); hi = Math.max(hi, v); mu += v / 12; } return { range: hi - lo, mean: mu }; };
  const mult = simulateEts(new Rng(2), 240, { ...common, trend: 'M', trend0: 1.01, season: 'M', season0: prof.map((v) => 1 + 0.2 * v) });
  const add = simulateEts(new Rng(2), 240, { ...common, trend: 'A', trend0: 1, season: 'A', season0: prof.map((v) => 20 * v) });
  const m0 = swing(mult, 0), m1 = swing(mult, 19), a0 = swing(add, 0), a1 = swing(add, 19);
  assert.ok(m1.mean > 2 * m0.mean, 'the level grows');
  assert.ok(a1.mean > 2 * a0.mean, 'the level grows');
  assert.ok(Math.abs(m1.range / m1.mean - m0.range / m0.mean) < 1e-9 * (m0.range / m0.mean), `relative swing ${m0.range / m0.mean} -> ${m1.range / m1.mean}`);
  assert.ok(m1.range > 5 * m0.range, 'the absolute swing of the multiplicative season grows');
  assert.ok(Math.abs(a1.range - a0.range) < 1e-9 * a0.range, `absolute swing ${a0.range} -> ${a1.range}`);
});

test('multiplicative errors: the noise scales with the level', () => {
  const y = simulateEts(new Rng(8), 4000, { ...base, error: 'M', trend: 'M', sigma: 0.05, level0: 1, trend0: 1.002, alpha: 0.0001, beta: 0.0001 });
  const r = (a: number, b: number) => { let s = 0; for (let t = a + 1; t < b; t++) s += Math.abs(y[t] - y[t - 1]) / y[t - 1]; return s / (b - a - 1); };
  const early = r(0, 500), late = r(3500, 4000);
  assert.ok(y[3999] > 5 * y[0], 'grows');
  assert.ok(Math.abs(late / early - 1) < 0.15, `relative step size ${early} vs ${late}`);
});

test('sampleEtsSpec: parameters in the documented ranges, simulations finite (positive when multiplicative)', () => {
  const rng = new Rng(99);
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const s = sampleEtsSpec(rng, i % 3 === 0 ? 1 : 12);
    seen.add(`${s.error}${s.trend}${s.season}`);
    assert.ok(s.alpha >= 0.03 && s.alpha <= 0.95 && s.beta <= 0.3 && s.gamma <= 0.4 && s.phi >= 0.8 && s.phi <= 0.98, describeEts(s));
    if (i % 3 === 0) assert.equal(s.season, 'N');
    if (s.season === 'M') assert.ok(Math.abs(s.season0.reduce((a, b) => a + b, 0) / s.period - 1) < 1e-9, 'factors average 1');
    if (s.season === 'A') assert.ok(Math.abs(s.season0.reduce((a, b) => a + b, 0)) < 1e-9, 'additive states sum to 0');
    const y = simulateEts(rng, 500, s);
    assert.ok(y.every(Number.isFinite), describeEts(s));
    if (s.error === 'M' && s.trend.startsWith('M') && s.season !== 'A') assert.ok(y.every((v) => v > 0), describeEts(s));
  }
  assert.ok(seen.size >= 15, `model variety: ${[...seen].join(' ')}`);
  assert.throws(() => simulateEts(new Rng(1), 10, { ...base, season: 'A', period: 12, season0: new Float64Array(4) }), /seasonal period/);
});
