// The synthetic validation set: deterministic by seed, horizons and seasonal periods of each
// problem's frequency class, history lengths within bounds, bad options refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticValidationSet, CLASS_HORIZONS } from '../../src/train/syntheticValidation.js';
import { FREQUENCIES } from '../../src/data/synthetic/frequency.js';
import { SyntheticSeriesGenerator } from '../../src/data/synthetic/generator.js';

const mix = { kernelSynth: 1, composite: 0, arma: 0, intermittent: 0, ets: 1, sarima: 1, calendar: 1, regime: 0, croston: 0 };

test('synthetic validation set: class horizons and periods, log-uniform history lengths, deterministic', () => {
  const a = syntheticValidationSet({ seed: 5, count: 120, mix, minHistory: 24, maxHistory: 400 });
  const b = syntheticValidationSet({ seed: 5, count: 120, mix, minHistory: 24, maxHistory: 400 });
  assert.deepEqual(a.map((x) => Array.from(x.actual)), b.map((x) => Array.from(x.actual)));
  assert.ok(a.length > 100);
  for (const it of a) {
    assert.ok(it.history.length >= 24 && it.history.length <= 400);
    if (it.frequency) { assert.equal(it.actual.length, CLASS_HORIZONS[it.frequency]); assert.equal(it.m, FREQUENCIES[it.frequency].period); }
    else { assert.equal(it.kind, 'kernelSynth'); assert.equal(it.m, 1); assert.ok(Object.values(CLASS_HORIZONS).includes(it.actual.length)); }
  }
  const short = a.filter((x) => x.history.length < 100).length;
  // log-uniform on [24, 400]: P(< 100) = log(100/24) / log(401/24) = 0.51
  assert.ok(short > 40 && short < 80, `${short} short histories`);
  assert.notDeepEqual(syntheticValidationSet({ seed: 6, count: 5, mix })[0].actual, a[0].actual);
  assert.throws(() => syntheticValidationSet({ seed: 1, count: 0 }), /count must be an integer >= 1, got 0/);
  assert.throws(() => syntheticValidationSet({ seed: 1, count: 3, minHistory: 50, maxHistory: 10 }), /minHistory <= maxHistory, got 50, 10/);
});

test('wholeSeries: each problem is a whole series of history + horizon values, same kinds and horizons as the tail form', () => {
  const tail = syntheticValidationSet({ seed: 9, count: 30, mix, maxHistory: 300 });
  const whole = syntheticValidationSet({ seed: 9, count: 30, mix, maxHistory: 300, wholeSeries: true });
  assert.deepEqual(whole.map((x) => [x.kind, x.frequency, x.actual.length, x.history.length]), tail.map((x) => [x.kind, x.frequency, x.actual.length, x.history.length]));
  // the series differ (generated at another length), except where nothing depends on it
  assert.ok(whole.filter((x, i) => x.history[x.history.length - 1] !== tail[i].history[tail[i].history.length - 1]).length > 20);
  const gen = new SyntheticSeriesGenerator({ seed: 9, length: whole[3].history.length + whole[3].actual.length, mix });
  assert.deepEqual(Array.from(whole[3].history), Array.from(gen.at(3).values.subarray(0, whole[3].history.length)));
});
