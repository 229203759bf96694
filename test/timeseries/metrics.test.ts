// Metrics against hand-computed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pinballLoss, naiveScale, mase, wql, seasonalNaive, geometricMean, empiricalQuantile, scoreSeries, aggregateScores, effectiveSeasonalPeriod,
} from '../../src/timeseries/metrics.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('pinball loss', () => {
  close(pinballLoss(10, 8, 0.1), 0.2);
  close(pinballLoss(10, 12, 0.1), 1.8);
  close(pinballLoss(10, 12, 0.9), 0.2);
  close(pinballLoss(5, 5, 0.5), 0);
});

test('MASE: scale from in-sample seasonal differences, NaN skipped, zero scale -> NaN', () => {
  // m = 1: |diffs| = 1 each -> scale 1; errors 0 and 2 -> MAE 1
  close(naiveScale([1, 2, 3, 4, 5], 1), 1);
  close(mase([6, 8], [6, 6], [1, 2, 3, 4, 5], 1), 1);
  // m = 2: x_t - x_{t-2} = 1,1,1,1 -> scale 1 ; m = 1: |2,-1,2,-1,2| -> 1.6
  close(naiveScale([1, 3, 2, 4, 3, 5], 2), 1);
  close(naiveScale([1, 3, 2, 4, 3, 5], 1), 1.6);
  close(mase([4, 6], [5, 5], [1, 3, 2, 4, 3, 5], 1), 1 / 1.6);
  // missing values: pairs with a NaN are left out (|3-1| only) and NaN actuals are skipped
  // no pair with both values observed at lag 1
  assert.ok(Number.isNaN(naiveScale([1, NaN, 3], 1)));
  close(naiveScale([1, NaN, 3], 2), 2);
  close(mase([NaN, 4], [0, 3], [1, NaN, 3], 2), 0.5);
  assert.ok(Number.isNaN(mase([2, 2], [1, 1], [5, 5, 5], 1)));
  assert.throws(() => mase([1, 2], [1], [1, 2], 1), /mase: forecast has 1 steps, the actuals have 2/);
  assert.equal(effectiveSeasonalPeriod(12, 12), 1);
  assert.equal(effectiveSeasonalPeriod(13, 12), 12);
});

test('WQL: 2 * sum pinball / sum |y|, averaged over levels; pooled over series', () => {
  const levels = [0.1, 0.5, 0.9];
  // per level sums: 0.1 -> 0.2 + 0.5, 0.5 -> 0 + 1, 0.9 -> 0.2 + 0.5; sum|y| = 30
  const q = [[8, 10, 12], [15, 18, 25]];
  close(wql([[10, 20]], [q], levels), (2 * (0.7 + 1 + 0.7)) / 30 / 3);
  // second series: y = [-5], q = [-6, -5, -1]: level losses 0.1, 0, 0.4; pooled sum|y| = 35
  const pooled = (2 * (0.7 + 0.1) / 35 + 2 * (1 + 0) / 35 + 2 * (0.7 + 0.4) / 35) / 3;
  close(wql([[10, 20], [-5]], [q, [[-6, -5, -1]]], levels), pooled);
  // NaN actuals skipped; all-zero actuals -> NaN
  close(wql([[10, NaN, 20]], [[q[0], [0, 0, 0], q[1]]], levels), (2 * 2.4) / 30 / 3);
  assert.ok(Number.isNaN(wql([[0, 0]], [q], levels)));
  assert.throws(() => wql([[1]], [[[1, 2]]], levels), /has 2 quantiles, expected 3/);
});

test('empirical quantile (linear interpolation)', () => {
  close(empiricalQuantile([9, 18, 27], 0.1), 10.8);
  close(empiricalQuantile([9, 18, 27], 0.5), 18);
  close(empiricalQuantile([9, 18, 27], 0.9), 25.2);
  close(empiricalQuantile([4], 0.3), 4);
});

test('seasonal naive: repeats the last season, quantiles from seasonal differences widen with sqrt(seasons ahead)', () => {
  const f = seasonalNaive([1, 2, 3, 10, 20, 30], 4, 3, [0.1, 0.5, 0.9]);
  assert.deepEqual(Array.from(f.median), [10, 20, 30, 10]);
  // differences 9, 18, 27: e0.1 - e0.5 = -7.2, e0.9 - e0.5 = 7.2
  close(f.quantiles[0][0], 2.8, 1e-9); close(f.quantiles[0][1], 10); close(f.quantiles[0][2], 17.2, 1e-9);
  close(f.quantiles[2][0], 30 - 7.2, 1e-9);
  close(f.quantiles[3][0], 10 - 7.2 * Math.SQRT2, 1e-9); close(f.quantiles[3][2], 10 + 7.2 * Math.SQRT2, 1e-9);
  // missing value in the last season: one season further back
  assert.deepEqual(Array.from(seasonalNaive([1, 2, 3, 4, NaN, 6], 3, 3, [0.5]).median), [4, 2, 6]);
  // m = 1: last value, zero-width quantiles for a constant history
  const c = seasonalNaive([5, 5, 5], 2, 1, [0.1, 0.9]);
  assert.deepEqual(Array.from(c.median), [5, 5]);
  assert.deepEqual(Array.from(c.quantiles[1]), [5, 5]);
  // history shorter than m: m = 1
  assert.deepEqual(Array.from(seasonalNaive([1, 2], 2, 12, [0.5]).median), [2, 2]);
  assert.throws(() => seasonalNaive([NaN], 1, 1, [0.5]), /no observed value/);
});

test('geometric mean of ratios: non-finite and non-positive ratios left out and counted', () => {
  const g = geometricMean([2, 8]);
  close(g.value, 4, 1e-12);
  assert.deepEqual([g.count, g.skipped], [2, 0]);
  const h = geometricMean([NaN, 0, 4, Infinity]);
  close(h.value, 4, 1e-12);
  assert.deepEqual([h.count, h.skipped], [1, 3]);
  assert.ok(Number.isNaN(geometricMean([]).value));
  close(geometricMean([0.5, 2, 1]).value, 1, 1e-12);
});

test('scoreSeries / aggregateScores: model vs seasonal naive', () => {
  const levels = [0.5];
  // history m = 2: 1,3,1,3,1,3 -> naive repeats 1,3 ; scale = 0 -> MASE undefined (note)
  const flat = { id: 'flat', history: [1, 3, 1, 3, 1, 3], actual: [1, 4], median: [1, 3], quantiles: [[1], [3]], m: 2 };
  const s0 = scoreSeries(flat, levels);
  assert.ok(Number.isNaN(s0.mase));
  assert.match(s0.notes.join(';'), /MASE undefined: the in-sample seasonal naive error is 0/);
  // WQL at 0.5 only = sum|y - q| / sum|y| = (0 + 1) / 5 for both the model and naive
  close(s0.wql, 0.2); close(s0.naiveWql, 0.2); close(s0.relWql, 1);
  // m = 1, history 0,2,4,6 (scale 2): naive = 6,6 ; model 8,10 ; actual 8,10
  const up = { id: 'up', history: [0, 2, 4, 6], actual: [8, 10], median: [8, 9], quantiles: [[8], [9]], m: 1 };
  const s1 = scoreSeries(up, levels);
  close(s1.mase, 0.5 / 2); close(s1.naiveMase, 3 / 2); close(s1.relMase, 1 / 6);
  close(s1.wql, 1 / 18); close(s1.naiveWql, 6 / 18); close(s1.relWql, 1 / 6);
  const a = aggregateScores([flat, up], [s0, s1], levels);
  close(a.mase, 0.25); // flat's NaN left out
  close(a.wql, (1 + 1) / 23); // pooled: |errors| 0+1 and 0+1, sum|y| = 5 + 18
  close(a.naiveWql, (1 + 6) / 23);
  close(a.relWql.value, Math.sqrt(1 / 6), 1e-12);
  assert.deepEqual([a.relMase.count, a.relMase.skipped], [1, 1]);
});
