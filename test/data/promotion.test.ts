import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromotionTaskGenerator, expectedPromotionShare, PROMOTION_DEFAULTS } from '../../src/data/index.js';

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test('promotion task: deterministic per (seed, index), seeds differ', () => {
  const g = new PromotionTaskGenerator({ seed: 5, length: 200 });
  const a = g.range(0, 6), b = new PromotionTaskGenerator({ seed: 5, length: 200 }).range(0, 6);
  a.forEach((s, i) => { assert.ok(sameBits(s.target, b[i].target)); assert.ok(sameBits(s.promotion, b[i].promotion)); });
  assert.ok(sameBits(g.at(4).target, a[4].target), 'at(i) does not depend on call order');
  const c = new PromotionTaskGenerator({ seed: 6, length: 200 }).range(0, 6);
  assert.equal(a.filter((s, i) => sameBits(s.target, c[i].target)).length, 0);
});

test('promotion task statistics: flag share, run lengths, lift, seasonality and noise match the options', () => {
  const o = { seed: 11, length: 400 };
  const g = new PromotionTaskGenerator(o);
  const series = g.range(0, 200);
  let on = 0, total = 0;
  const runs: number[] = [];
  let liftErr = 0, noiseRatio = 0, acfAtPeriod = 0, acfHalf = 0;
  for (const s of series) {
    let run = 0;
    for (let t = 0; t < s.promotion.length; t++) {
      const p = s.promotion[t];
      assert.ok(p === 0 || p === 1, `flag ${p} is not binary`);
      on += p; total++;
      if (p) run++;
      // runs cut by the series end are not full runs
      else if (run) { runs.push(run); run = 0; }
    }
    // least squares of the deseasonalised target on [1, promo]: the slope is the lift
    const base = (t: number) => s.level * (1 + s.amplitude * Math.sin((2 * Math.PI * t) / s.period + s.phase));
    let n1 = 0, n0 = 0, m1 = 0, m0 = 0;
    const resid: number[] = [];
    for (let t = 0; t < s.target.length; t++) {
      const r = s.target[t] - base(t);
      if (s.promotion[t]) { n1++; m1 += r; } else { n0++; m0 += r; }
      resid.push(r - s.lift * s.promotion[t]);
    }
    if (n1 > 5) liftErr = Math.max(liftErr, Math.abs((m1 / n1 - m0 / n0) - s.lift) / s.level);
    const sd = Math.sqrt(resid.reduce((a, r) => a + r * r, 0) / resid.length);
    noiseRatio += sd / s.noiseSd / series.length;
    // the promotion-free part is seasonal with the drawn period
    const clean = Array.from(s.target, (v, t) => v - s.lift * s.promotion[t]);
    const mean = clean.reduce((a, b) => a + b, 0) / clean.length;
    const acf = (lag: number) => {
      let c0 = 0, c = 0;
      for (let t = 0; t < clean.length; t++) c0 += (clean[t] - mean) ** 2;
      for (let t = lag; t < clean.length; t++) c += (clean[t] - mean) * (clean[t - lag] - mean);
      return c / c0;
    };
    acfAtPeriod += acf(s.period) / series.length;
    acfHalf += acf(Math.round(s.period / 2)) / series.length;
  }
  const share = on / total;
  const expected = expectedPromotionShare(PROMOTION_DEFAULTS.startProbability, PROMOTION_DEFAULTS.durationRange);
  assert.ok(Math.abs(share - expected) < 0.02, `promotion share ${share.toFixed(4)}, expected ${expected.toFixed(4)}`);
  assert.ok(runs.every((r) => r >= 2), 'a run is at least durationRange[0] (back-to-back runs merge into longer ones)');
  const meanRun = runs.reduce((a, b) => a + b, 0) / runs.length;
  assert.ok(meanRun > 4 && meanRun < 4.5, `mean run ${meanRun} (4 per drawn run, merged neighbours add a little)`);
  // noise sd 0.05 level: the group means of ~70 promotion steps are within a few noise sd / sqrt(n)
  assert.ok(liftErr < 0.05, `worst relative lift error ${liftErr}`);
  assert.ok(Math.abs(noiseRatio - 1) < 0.05, `residual sd / noise sd = ${noiseRatio}`);
  assert.ok(acfAtPeriod > 0.7 && acfHalf < -0.3, `acf at the period ${acfAtPeriod}, at half the period ${acfHalf}`);
  for (const s of series) {
    assert.ok(s.level >= 10 && s.level <= 1000 && s.lift >= 0.5 * s.level && s.lift <= 1.5 * s.level && [7, 12, 24].includes(s.period));
  }
});

test('promotion task: bad options name the argument', () => {
  assert.throws(() => new PromotionTaskGenerator({ seed: -1, length: 100 }), /seed = -1/);
  assert.throws(() => new PromotionTaskGenerator({ seed: 1, length: 3 }), /length = 3/);
  assert.throws(() => new PromotionTaskGenerator({ seed: 1, length: 100, startProbability: 0 }), /startProbability must be in \(0, 1\], got 0/);
  assert.throws(() => new PromotionTaskGenerator({ seed: 1, length: 100, durationRange: [3, 2] }), /durationRange must be \[lo, hi\]/);
  assert.throws(() => new PromotionTaskGenerator({ seed: 1, length: 100, periods: [] }), /periods must be a non-empty list/);
  assert.throws(() => new PromotionTaskGenerator({ seed: 1, length: 100, noiseAr: 1 }), /noiseAr must be in \(-1, 1\), got 1/);
  assert.throws(() => new PromotionTaskGenerator({ seed: 1, length: 100 }).at(-2), /index = -2/);
});
