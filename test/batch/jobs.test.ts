// Job payloads without Redis: ids are stable and depend on content and position, chunks keep
// input order, and validation names the job and the field at fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkJobs, validateJobPayload, jobIdOf, BATCH_FORMAT } from '../../src/batch/jobs.js';
import { queueName, redactUrl } from '../../src/batch/queue.js';
import { InputError, ArgumentError } from '../../src/errors.js';
import type { PreparedSeries } from '../../src/cli/commands/forecast.js';

const prep = (id: string, values: number[]): PreparedSeries => ({ id, values: Float64Array.from(values), timestamps: [], frequency: { unit: 'day', step: 1, alias: 'D' } as PreparedSeries['frequency'], future: ['2020-01-04'] });

test('chunkJobs: positions in input order, NaN as null, ids stable, content- and position-dependent', () => {
  const series = [prep('a', [1, 2, NaN]), prep('b', [4, 5, 6]), prep('a', [1, 2, NaN])];
  const jobs = chunkJobs(series, { horizon: 1 }, 2);
  assert.equal(jobs.length, 2);
  assert.deepEqual(jobs[0].payload.series.map((s) => s.pos), [0, 1]);
  assert.deepEqual(jobs[1].payload.series[0], { pos: 2, id: 'a', values: [1, 2, null], frequency: 'D', future: ['2020-01-04'] });
  assert.match(jobs[0].id, /^j[0-9a-f]{40}$/);
  assert.deepEqual(chunkJobs(series, { horizon: 1 }, 2).map((j) => j.id), jobs.map((j) => j.id));
  // same content at another position, other options, other values: other ids
  const single = chunkJobs(series, { horizon: 1 }, 1);
  assert.notEqual(single[0].id, single[2].id);
  assert.notEqual(chunkJobs(series, { horizon: 2 }, 2)[0].id, jobs[0].id);
  assert.notEqual(chunkJobs(series, { horizon: 1, quantiles: [0.5] }, 2)[0].id, jobs[0].id);
  assert.notEqual(chunkJobs([prep('a', [1, 2, 3]), series[1]], { horizon: 1 }, 2)[0].id, jobs[0].id);
  assert.equal(jobIdOf(jobs[1].payload), jobs[1].id);
});

test('validateJobPayload: good payloads pass; each bad field is named', () => {
  const good = { v: BATCH_FORMAT, horizon: 2, series: [{ pos: 0, id: 'a', values: [1, null], frequency: null, future: ['2', '3'] }] };
  assert.equal(validateJobPayload(good, 'j1'), good);
  const cases: [unknown, RegExp][] = [
    [null, /^batch job j1: payload is not an object$/],
    [{ ...good, v: 99 }, /payload format 99 is not 1/],
    [{ ...good, horizon: 0 }, /horizon must be a positive integer, got 0/],
    [{ ...good, quantiles: [0.5, 1] }, /quantiles must be a list of levels strictly between 0 and 1/],
    [{ ...good, series: [] }, /series must be a non-empty list/],
    [{ ...good, series: [{ ...good.series[0], values: [1, 'x'] }] }, /series\[0\]\.values must be a list of numbers or null/],
    [{ ...good, series: [{ ...good.series[0], pos: -1 }] }, /series\[0\]\.pos must be an integer >= 0/],
    [{ ...good, series: [{ ...good.series[0], id: 3 }] }, /series\[0\]\.id must be a string/],
  ];
  for (const [data, re] of cases) assert.throws(() => validateJobPayload(data, 'j1'), (e: unknown) => e instanceof InputError && re.test(e.message));
});

test('queue names and URLs in messages', () => {
  assert.equal(queueName(undefined), 'xlstm-forecast');
  assert.equal(queueName('sales_2026.v1'), 'sales_2026.v1');
  for (const bad of ['a:b', '', '-x', 'x'.repeat(65)]) assert.throws(() => queueName(bad), ArgumentError);
  assert.equal(redactUrl('redis://user:secret@host:6379/0'), 'redis://user:***@host:6379/0');
});
