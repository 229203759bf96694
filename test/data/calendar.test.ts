import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, calendarFactors, calendarSeries, daysInMonth, weekdayCounts, sampleWeekdayWeights, sampleCalendarEffects, type CalendarEffects } from '../../src/data/index.js';

const flat = (): CalendarEffects => ({ weekday: new Float64Array(7).fill(1), monthLength: 0, holiday: 1 });

test('calendar arithmetic: month lengths (leap years) and weekday counts', () => {
  assert.deepEqual([daysInMonth(2023, 1), daysInMonth(2024, 1), daysInMonth(1900, 1), daysInMonth(2000, 1), daysInMonth(2024, 0)], [28, 29, 28, 29, 31]);
  // February 2024 starts on a Thursday: five Thursdays
  assert.deepEqual(weekdayCounts(2024, 1), [4, 4, 4, 4, 5, 4, 4]);
  // March 2024 starts on a Friday: five Fridays, Saturdays and Sundays
  assert.deepEqual(weekdayCounts(2024, 2), [5, 4, 4, 4, 4, 5, 5]);
});

test('monthly: month-length effect is days / 30.44, trading-day effect follows the weekday mix', () => {
  const start = Date.UTC(2024, 0, 1);
  const len = calendarFactors('monthly', start, 3, { ...flat(), monthLength: 1 });
  assert.ok(Math.abs(len[0] - 31 / 30.436875) < 1e-12 && Math.abs(len[1] - 29 / 30.436875) < 1e-12);
  assert.ok(Math.abs(len[1] / len[0] - 29 / 31) < 1e-12);
  // only Sundays count (weight 7, others 0, mean 1): factor = 7 * Sundays / days
  const w = new Float64Array(7); w[0] = 7;
  const td = calendarFactors('monthly', Date.UTC(2024, 1, 1), 2, { ...flat(), weekday: w });
  assert.ok(Math.abs(td[0] - 7 * 4 / 29) < 1e-12 && Math.abs(td[1] - 7 * 5 / 31) < 1e-12, `${td[0]} ${td[1]}`);
  // it continues across year ends: December 2023 -> January 2024
  const dec = calendarFactors('monthly', Date.UTC(2023, 11, 1), 2, { ...flat(), monthLength: 1 });
  assert.ok(Math.abs(dec[1] - 31 / 30.436875) < 1e-12);
});

test('daily: weekday profile and holidays; business days skip weekends; hourly uses the weekend profile on Saturdays', () => {
  const w = Float64Array.from([0.5, 1, 1.1, 1.2, 1.1, 1, 1.1]);
  const f = calendarFactors('daily', Date.UTC(2023, 11, 24), 10, { ...flat(), weekday: w, holiday: 0.5 });
  // 24 Dec 2023 is a Sunday; 25/26 Dec and 1 Jan are holidays
  assert.equal(f[0], 0.5);
  assert.equal(f[1], w[1] * 0.5); assert.equal(f[2], w[2] * 0.5); assert.equal(f[3], w[3]);
  assert.equal(f[8], w[1] * 0.5); // 1 Jan 2024, a Monday
  const b = calendarFactors('bdaily', Date.UTC(2024, 0, 5), 3, { ...flat(), weekday: w, holiday: 2 });
  // Fri 5 Jan, then Mon 8 Jan (first day after a weekend), Tue 9 Jan
  assert.deepEqual(Array.from(b), [w[5], w[1] * 2, w[2]]);
  const hw = Float64Array.from({ length: 24 }, (_, h) => 1 + h / 100), he = Float64Array.from({ length: 24 }, () => 0.7);
  const h = calendarFactors('hourly', Date.UTC(2024, 0, 5, 22), 4, { ...flat(), hourWeekday: hw, hourWeekend: he });
  assert.deepEqual(Array.from(h), [hw[22], hw[23], 0.7, 0.7]);
  assert.throws(() => calendarFactors('hourly', 0, 2, flat()), /hourly series need/);
});

test('sampled effects: weekday weights average 1; calendar series carry their weekday pattern', () => {
  const rng = new Rng(31);
  for (let i = 0; i < 50; i++) {
    const w = sampleWeekdayWeights(rng, 0.4);
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) / 7 - 1) < 0.02 && w.every((v) => v > 0));
  }
  const fx = sampleCalendarEffects(rng, 'hourly');
  assert.equal(fx.hourWeekday!.length, 24);
  // a daily calendar series: the ratio of mean weekend to mean weekday values follows the sampled weights
  let agree = 0;
  for (let i = 0; i < 20; i++) {
    const r = calendarSeries(new Rng(100 + i), 728, 'daily');
    assert.ok(r.values.every((v) => v > 0 && Number.isFinite(v)), r.description);
    const ws = r.description.match(/weekday \[([^\]]+)\]/)![1].split(',').map(Number);
    const start = new Date(r.description.match(/from (\d{4}-\d\d-\d\d)/)![1] + 'T00:00:00Z');
    const by = [0, 0, 0, 0, 0, 0, 0].map(() => [] as number[]);
    r.values.forEach((v, t) => by[(start.getUTCDay() + t) % 7].push(Math.log(v)));
    const lm = by.map((a) => a.reduce((x, y) => x + y, 0) / a.length);
    // the day with the largest weight has the largest mean log value, up to noise
    const argmax = (a: number[]) => a.indexOf(Math.max(...a));
    if (argmax(lm) === argmax(ws) || Math.max(...ws) - Math.min(...ws) < 0.15) agree++;
  }
  assert.ok(agree >= 16, `${agree} of 20`);
});
