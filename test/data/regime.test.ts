import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, simulateMarkovSwitching, structuralBreaks, switchingVolatilityWalk, regimeSeries } from '../../src/data/index.js';
import { acf, diff, mean } from './stats.js';

test('Markov switching: regimes last 1 / (1 - stay) steps on average and have their means', () => {
  const n = 50000, stay = 0.98;
  const { values, regimes } = simulateMarkovSwitching(new Rng(41), n, { mean: [-3, 4], drift: [0, 0], sd: [0.1, 0.5], stay, ar: 0 });
  let switches = 0;
  for (let t = 1; t < n; t++) if (regimes[t] !== regimes[t - 1]) switches++;
  const duration = n / (switches + 1);
  assert.ok(Math.abs(duration / (1 / (1 - stay)) - 1) < 0.1, `mean duration ${duration}`);
  for (const k of [0, 1]) {
    const v = Array.from(values).filter((_, t) => regimes[t] === k);
    assert.ok(Math.abs(mean(v) - [-3, 4][k]) < 0.02, `regime ${k} mean ${mean(v)}`);
  }
  assert.throws(() => simulateMarkovSwitching(new Rng(1), 5, { mean: [0, 1], drift: [0], sd: [1, 1], stay: 0.9, ar: 0 }), /same length/);
});

test('structural breaks: sorted break points inside the series, a level jump at a break', () => {
  for (let s = 0; s < 30; s++) {
    const r = structuralBreaks(new Rng(50 + s), 400);
    assert.ok(r.breaks.length >= 1 && r.breaks.every((b, i) => b >= 40 && b < 400 && (i === 0 || b >= r.breaks[i - 1])));
    assert.ok(r.values.every(Number.isFinite));
  }
});

test('switching-volatility walk: positive, uncorrelated log returns with volatility clustering', () => {
  const y = switchingVolatilityWalk(new Rng(60), 20000);
  assert.ok(y.every((v) => v > 0));
  const r = diff(Array.from(y, Math.log));
  assert.ok(Math.abs(acf(r, 1)) < 0.04, `return acf ${acf(r, 1)}`);
  // |returns| stay autocorrelated over many lags (fat tails make squared returns too noisy for this)
  const ab = r.map(Math.abs);
  assert.ok(acf(ab, 1) > 0.03 && acf(ab, 10) > 0.03, `|return| acf ${acf(ab, 1)} ${acf(ab, 10)}`);
  const d = regimeSeries(new Rng(61), 300);
  assert.equal(d.values.length, 300);
});
