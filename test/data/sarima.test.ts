import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, simulateSarima, sampleSarimaSpec, multiplyLagPolynomials, describeSarima, type SarimaSpec } from '../../src/data/index.js';
import { acf, diff, mean } from './stats.js';

const spec = (o: Partial<SarimaSpec>): SarimaSpec => ({ phi: [], theta: [], seasonalPhi: [], seasonalTheta: [], d: 0, seasonalD: 0, period: 1, drift: 0, sigma: 1, ...o });
const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-12);

test('multiplyLagPolynomials: seasonal AR and MA products', () => {
  // (1 - 0.5B)(1 - 0.8B^4): x_t = 0.5 x_{t-1} + 0.8 x_{t-4} - 0.4 x_{t-5}
  assert.ok(close(multiplyLagPolynomials([0.5], [0.8], 4, -1), [0.5, 0, 0, 0.8, -0.4]));
  // (1 + 0.3B)(1 - 0.6B^3): e_t + 0.3 e_{t-1} - 0.6 e_{t-3} - 0.18 e_{t-4}
  assert.ok(close(multiplyLagPolynomials([0.3], [-0.6], 3, 1), [0.3, 0, -0.6, -0.18]));
  assert.deepEqual(multiplyLagPolynomials([], [], 12, -1), []);
});

test('AR(1) and seasonal AR(1)_12 have their theoretical autocorrelations', () => {
  const a = simulateSarima(new Rng(4), 20000, spec({ phi: [0.7] }));
  assert.ok(Math.abs(acf(a, 1) - 0.7) < 0.03 && Math.abs(acf(a, 2) - 0.49) < 0.04, `${acf(a, 1)} ${acf(a, 2)}`);
  const s = simulateSarima(new Rng(5), 30000, spec({ seasonalPhi: [0.8], period: 12 }));
  assert.ok(Math.abs(acf(s, 12) - 0.8) < 0.04 && Math.abs(acf(s, 24) - 0.64) < 0.05 && Math.abs(acf(s, 1)) < 0.03, `${acf(s, 12)} ${acf(s, 24)} ${acf(s, 1)}`);
});

test('airline model: the seasonal difference of (0,1,1)(0,1,1)_12 is MA with the product autocorrelations', () => {
  const th = -0.4, Th = -0.6;
  const y = simulateSarima(new Rng(6), 30000, spec({ theta: [th], seasonalTheta: [Th], d: 1, seasonalD: 1, period: 12 }));
  const w = diff(diff(y, 12), 1);
  // (1 + th B)(1 + Th B^12): rho_1 = th / (1 + th^2), rho_12 = Th / (1 + Th^2), rho_13 = rho_1 rho_12
  const r1 = th / (1 + th * th), r12 = Th / (1 + Th * Th);
  assert.ok(Math.abs(acf(w, 1) - r1) < 0.03 && Math.abs(acf(w, 12) - r12) < 0.03 && Math.abs(acf(w, 13) - r1 * r12) < 0.03 && Math.abs(acf(w, 5)) < 0.03, `${acf(w, 1)} ${acf(w, 12)} ${acf(w, 13)}`);
});

test('drift: the mean of the differences of an ARIMA(0,1,0) with drift is the drift', () => {
  const y = simulateSarima(new Rng(7), 20000, spec({ d: 1, drift: 0.3 }));
  assert.ok(Math.abs(mean(diff(y)) - 0.3) < 0.03, `${mean(diff(y))}`);
});

test('sampleSarimaSpec: stationary AR, invertible MA, low orders; seasonal series show their period', () => {
  const rng = new Rng(12);
  let seasonalPeaks = 0, seasonalCount = 0;
  for (let i = 0; i < 200; i++) {
    const s = sampleSarimaSpec(rng, 12);
    assert.ok(s.phi.length <= 3 && s.theta.length <= 2 && s.seasonalPhi.length <= 2 && s.seasonalTheta.length <= 1 && s.d <= 2 && s.seasonalD <= 1, describeSarima(s));
    // AR(1)/MA(1) coefficients of stationary / invertible models are inside (-1, 1)
    if (s.phi.length === 1) assert.ok(Math.abs(s.phi[0]) < 1);
    if (s.theta.length === 1) assert.ok(Math.abs(s.theta[0]) < 1);
    const y = simulateSarima(rng, 600, s);
    assert.ok(y.every(Number.isFinite), describeSarima(s));
    if (s.period === 12 && s.seasonalD === 1 && s.d === 0) {
      seasonalCount++;
      const d = diff(y);
      let arg = 0, best = -Infinity;
      for (let k = 2; k <= 15; k++) { const r = acf(d, k); if (r > best) { best = r; arg = k; } }
      if (arg === 12) seasonalPeaks++;
    }
  }
  assert.ok(seasonalCount >= 10 && seasonalPeaks >= 0.8 * seasonalCount, `${seasonalPeaks} of ${seasonalCount} seasonally integrated series peak at lag 12`);
  assert.equal(sampleSarimaSpec(new Rng(1), 1).period, 1);
  assert.throws(() => simulateSarima(new Rng(1), 10, spec({ period: 0 })), /period/);
});
