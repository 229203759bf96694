// Frequency inference and future timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inferFrequency, futureTimestamps, seasonalPeriod, Frequency, checkGrid } from '../../src/timeseries/frequency.js';
import { InputError } from '../../src/errors.js';

function check(ts: string[], unit: Frequency['unit'], step: number, next: string[], alias?: string): Frequency {
  const f = inferFrequency(ts);
  assert.equal(f.unit, unit, `${ts[0]}...: unit`);
  assert.equal(f.step, step, `${ts[0]}...: step`);
  if (alias) assert.equal(f.alias, alias);
  assert.deepEqual(futureTimestamps(ts[ts.length - 1], f, next.length), next);
  return f;
}

test('monthly: month end (28/29/30/31-day gaps), month start, YYYY-MM, a missing month', () => {
  const f = check(['2020-01-31', '2020-02-29', '2020-03-31', '2020-04-30'], 'month', 1, ['2020-05-31', '2020-06-30', '2020-07-31'], 'ME');
  assert.equal(f.monthEnd, true);
  check(['2021-11-01', '2021-12-01', '2022-01-01'], 'month', 1, ['2022-02-01', '2022-03-01'], 'MS');
  check(['2020-11', '2020-12'], 'month', 1, ['2021-01', '2021-02']);
  check(['2020-01-01', '2020-02-01', '2020-03-01', '2020-05-01', '2020-06-01'], 'month', 1, ['2020-07-01']);
  // mid-month days keep the day, clamped in short months
  check(['2023-10-31', '2023-11-30', '2023-12-31'], 'month', 1, ['2024-01-31', '2024-02-29']);
  check(['2023-11-15', '2023-12-15'], 'month', 1, ['2024-01-15']);
  check(['2024/01/01', '2024/02/01'], 'month', 1, ['2024/03/01']);
});

test('quarterly and yearly', () => {
  check(['2019-03-31', '2019-06-30', '2019-09-30', '2019-12-31'], 'quarter', 1, ['2020-03-31', '2020-06-30'], 'QE');
  check(['2019-01-01', '2019-04-01', '2019-07-01'], 'quarter', 1, ['2019-10-01', '2020-01-01'], 'QS');
  check(['2019Q3', '2019Q4'], 'quarter', 1, ['2020Q1', '2020Q2']);
  check(['2019-Q4', '2020-Q1'], 'quarter', 1, ['2020-Q2']);
  check(['2017-12-31', '2018-12-31', '2019-12-31'], 'year', 1, ['2020-12-31'], 'YE');
  check(['2010-01-01', '2012-01-01', '2014-01-01'], 'year', 2, ['2016-01-01']);
  // a bare year column is an integer index with the same future values
  check(['2001', '2002', '2003'], 'index', 1, ['2004', '2005']);
});

test('daily (with gaps), business days, weekly', () => {
  check(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-05', '2024-01-06'], 'day', 1, ['2024-01-07', '2024-01-08'], 'D');
  // Thu Fri Mon Tue Wed -> Thu Fri Mon
  check(['2024-01-04', '2024-01-05', '2024-01-08', '2024-01-09', '2024-01-10'], 'businessDay', 1, ['2024-01-11', '2024-01-12', '2024-01-15'], 'B');
  check(['2024-01-07', '2024-01-14', '2024-01-21'], 'week', 1, ['2024-01-28'], 'W');
  check(['2024-02-27', '2024-02-28', '2024-02-29'], 'day', 1, ['2024-03-01']);
});

test('hourly, minutes, seconds: format kept (separator, seconds, fraction, zone suffix)', () => {
  check(['2024-03-10 22:00', '2024-03-10 23:00', '2024-03-11 00:00'], 'hour', 1, ['2024-03-11 01:00', '2024-03-11 02:00'], 'h');
  check(['2024-01-01T00:00:00Z', '2024-01-01T00:15:00Z'], 'minute', 15, ['2024-01-01T00:30:00Z', '2024-01-01T00:45:00Z'], '15min');
  check(['2024-12-31 23:59:58', '2024-12-31 23:59:59'], 'second', 1, ['2025-01-01 00:00:00']);
  check(['2024-01-01T10:00:00.500+02:00', '2024-01-01T10:00:01.000+02:00'], 'millisecond', 500, ['2024-01-01T10:00:01.500+02:00']);
  check(['2024-01-01 00:00', '2024-01-01 06:00', '2024-01-01 12:00'], 'hour', 6, ['2024-01-01 18:00', '2024-01-02 00:00'], '6h');
});

test('integer index and numeric steps', () => {
  check(['1', '2', '3'], 'index', 1, ['4', '5']);
  check(['0', '5', '10', '20'], 'index', 5, ['25']);
});

test('seasonal periods', () => {
  const p = (ts: string[]) => seasonalPeriod(inferFrequency(ts));
  assert.equal(p(['2020-01-01', '2020-02-01']), 12);
  assert.equal(p(['2020-01-01', '2020-04-01']), 4);
  assert.equal(p(['2020-01-01', '2020-01-02']), 7);
  assert.equal(p(['2020-01-01 00:00', '2020-01-01 01:00']), 24);
  assert.equal(p(['2020-01-01 00:00', '2020-01-01 02:00']), 12);
  assert.equal(p(['2020-01-05', '2020-01-12']), 1);
  assert.equal(p(['2020-01-01', '2021-01-01']), 1);
  assert.equal(p(['1', '2']), 1);
});

test('bad timestamps give errors naming the series and value', () => {
  assert.throws(() => inferFrequency(['2024-01-01'], "series 'a'"), /series 'a': cannot infer the frequency from 1 timestamp/);
  assert.throws(() => inferFrequency(['2024-01-02', '2024-01-01'], "series 'a'"), /must increase: '2024-01-02' is followed by '2024-01-01'/);
  assert.throws(() => inferFrequency(['2024-01-01', 'tomorrow']), /timestamp 1 'tomorrow' is not a supported/);
  assert.throws(() => inferFrequency(['2024-02-30', '2024-03-01']), /'2024-02-30' is not a supported/);
  assert.throws(() => inferFrequency(['1', '2024-01-01']), /mix formats/);
});

test('checkGrid: regular series, gaps (first missing timestamp, full grid, positions), mixed frequencies', () => {
  const grid = (ts: string[]) => checkGrid(ts, inferFrequency(ts), "series 's'");
  assert.deepEqual(grid(['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30']), { kind: 'regular' });
  assert.deepEqual(grid(['2024-01-05', '2024-01-08', '2024-01-09', '2024-01-10', '2024-01-11', '2024-01-12', '2024-01-15']), { kind: 'regular' }); // business days
  // (a Saturday in the data: daily, not business days)
  const g = grid(['2024-01-01', '2024-01-02', '2024-01-04', '2024-01-05', '2024-01-06', '2024-01-09']);
  assert.equal(g.kind, 'gaps');
  if (g.kind !== 'gaps') return;
  assert.deepEqual([g.missing, g.firstMissing, g.before, g.after], [3, '2024-01-03', '2024-01-02', '2024-01-04']);
  assert.deepEqual(g.grid, ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06', '2024-01-07', '2024-01-08', '2024-01-09']);
  assert.deepEqual(Array.from(g.positions), [0, 1, 3, 4, 5, 8]);
  // month starts with a missing month; numeric index with a missing step
  const m = grid(['2020-01', '2020-02', '2020-04', '2020-05']);
  assert.ok(m.kind === 'gaps' && m.firstMissing === '2020-03' && m.grid.length === 5);
  const n = grid(['1', '2', '3', '5', '6']);
  assert.ok(n.kind === 'gaps' && n.firstMissing === '4');
  const mixed = (ts: string[], re: RegExp) => assert.throws(() => grid(ts), (e: Error) => e instanceof InputError && re.test(e.message));
  // off the grid: a half day in a daily series
  mixed(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-03 12:00', '2024-01-04', '2024-01-05'],
    /^series 's': frequencies mixed: '2024-01-03 12:00' \(after '2024-01-03'\) is not on the 'D' grid that the other timestamps follow \(expected '2024-01-04'\)$/);
  mixed(['2024-01-01 00:00', '2024-01-01 01:00', '2024-01-01 02:00', '2024-01-01 03:00', '2024-01-01 03:30', '2024-01-01 04:00', '2024-01-01 05:00'],
    /^series 's': frequencies mixed: '2024-01-01 03:30' \(after '2024-01-01 03:00'\) is not on the 'h' grid that the other timestamps follow \(expected '2024-01-01 04:00'\)$/);
  // weekly data that turns monthly-ish: runs of equal multi-step jumps
  mixed(['2024-01-01', '2024-01-08', '2024-01-15', '2024-01-22', '2024-01-29', '2024-02-26', '2024-03-25', '2024-04-22'],
    /^series 's': frequencies mixed: mostly 'W' apart, but from '2024-01-29' on 4 steps of 'W' apart/);
  // far too sparse for its frequency: not filled into a huge grid
  mixed(['0', '1', '2', '1000000'], /the timestamps '0' \.\. '1000000' span more than 400 steps of 'index' for 4 values/);
});

test('checkGrid: numbers with different decimals, and numbers too large to be timestamps', () => {
  const ts = ['1', '1.5', '2', '3', '3.5'];
  const g = checkGrid(ts, inferFrequency(ts));
  assert.ok(g.kind === 'gaps');
  if (g.kind === 'gaps') assert.deepEqual([g.firstMissing, g.grid], ['2.5', ['1.0', '1.5', '2.0', '2.5', '3.0', '3.5']]);
  assert.throws(() => inferFrequency(['1', '9'.repeat(400)]), (e: Error) => e instanceof InputError && /timestamp 1 '9{400}' is not a supported date\/time/.test(e.message));
});

test('checkGrid: business-day and month-end gaps follow the rules of futureTimestamps', () => {
  const gaps = (ts: string[]) => { const g = checkGrid(ts, inferFrequency(ts)); assert.equal(g.kind, 'gaps'); return g.kind === 'gaps' ? [g.firstMissing, g.missing, g.grid] : []; };
  assert.deepEqual(gaps(['2024-01-04', '2024-01-05', '2024-01-08', '2024-01-10', '2024-01-11']), ['2024-01-09', 1, ['2024-01-04', '2024-01-05', '2024-01-08', '2024-01-09', '2024-01-10', '2024-01-11']]);
  assert.deepEqual(gaps(['2024-01-31', '2024-02-29', '2024-04-30', '2024-05-31']), ['2024-03-31', 1, ['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30', '2024-05-31']]);
  // not month ends: the day of the first
  assert.deepEqual(gaps(['2024-01-15', '2024-02-15', '2024-03-15', '2024-05-15']), ['2024-04-15', 1, ['2024-01-15', '2024-02-15', '2024-03-15', '2024-04-15', '2024-05-15']]);
  assert.deepEqual(gaps(['2023Q3', '2023Q4', '2024Q2']), ['2024Q1', 1, ['2023Q3', '2023Q4', '2024Q1', '2024Q2']]);
});
