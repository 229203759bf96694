// CSV reading: wide and long layouts, auto-detection, missing values, bad cells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeriesCsv, parseCell, detectDelimiter } from '../../src/timeseries/csv.js';
import { InputError } from '../../src/errors.js';

const nan = (v: number) => Number.isNaN(v);

test('wide: first column timestamps, one series per column, empty cell = NaN, leading gap trimmed', () => {
  const text = 'date,a,b\n2024-01-01,1,\n2024-01-02,2.5,10\n2024-01-03,,11\n2024-01-04,-4e1,NA\n';
  const r = parseSeriesCsv(text, { source: 'w.csv' });
  assert.equal(r.layout, 'wide');
  assert.equal(r.timeCol, 'date');
  assert.deepEqual(r.series.map((s) => s.id), ['a', 'b']);
  const [a, b] = r.series;
  assert.deepEqual(a.timestamps, ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04']);
  assert.equal(a.values[0], 1); assert.equal(a.values[1], 2.5); assert.ok(nan(a.values[2])); assert.equal(a.values[3], -40);
  // b starts on the second row
  assert.deepEqual(b.timestamps, ['2024-01-02', '2024-01-03', '2024-01-04']);
  assert.equal(b.values.length, 3); assert.equal(b.values[0], 10); assert.equal(b.values[1], 11); assert.ok(nan(b.values[2]));
});

test('wide without a time column: integer index, aligned start', () => {
  const r = parseSeriesCsv('x,y\n1,\n2,5\n3,6\n');
  assert.equal(r.timeCol, null);
  assert.deepEqual(r.series.map((s) => [s.id, Array.from(s.values), s.timestamps, s.start]), [['x', [1, 2, 3], null, 0], ['y', [5, 6], null, 1]]);
  // a header that names a time makes the first column the time column even when numeric
  const y = parseSeriesCsv('year,v\n2001,1\n2002,2\n');
  assert.equal(y.timeCol, 'year');
  assert.deepEqual(y.series[0].timestamps, ['2001', '2002']);
  // explicit: no time column
  assert.equal(parseSeriesCsv('year,v\n2001,1\n', { timeCol: null }).series.length, 2);
});

test('long: auto-detected id/timestamp/value, rows sorted by time within each series', () => {
  const text = 'item_id,timestamp,target\nB,2024-01-02,20\nA,2024-01-01,1\nA,2024-01-03,3\nB,2024-01-01,10\nA,2024-01-02,\n';
  const r = parseSeriesCsv(text);
  assert.equal(r.layout, 'long');
  assert.deepEqual([r.idCol, r.timeCol, r.valueCols[0]], ['item_id', 'timestamp', 'target']);
  assert.deepEqual(r.series.map((s) => s.id), ['B', 'A']);
  assert.deepEqual(r.series[0].timestamps, ['2024-01-01', '2024-01-02']);
  assert.deepEqual(Array.from(r.series[0].values), [10, 20]);
  assert.deepEqual(r.series[1].timestamps, ['2024-01-01', '2024-01-02', '2024-01-03']);
  assert.equal(r.series[1].values[0], 1); assert.ok(nan(r.series[1].values[1])); assert.equal(r.series[1].values[2], 3);
});

test('long: configurable column names, extra columns ignored, quoted fields', () => {
  const text = 'store,ds,sales,note\n"s,1",2024-01-01 00:00,5,"x"\n"s,1",2024-01-01 01:00,6,y\n';
  const r = parseSeriesCsv(text, { idCol: 'store', timeCol: 'ds', valueCol: 'sales' });
  assert.equal(r.layout, 'long');
  assert.equal(r.series[0].id, 's,1');
  assert.deepEqual(Array.from(r.series[0].values), [5, 6]);
  assert.throws(() => parseSeriesCsv(text, { format: 'long', idCol: 'shop' }), /id column 'shop' not found; the header has 'store', 'ds', 'sales', 'note'/);
  assert.throws(() => parseSeriesCsv('a,b\n1,2\n', { format: 'long' }), /no id column/);
});

test('non-numeric cell: error names the source, line, column and value', () => {
  assert.throws(() => parseSeriesCsv('date,a,b\n2024-01-01,1,2\n2024-01-02,3,abc\n', { source: 'data.csv' }),
    (e: Error) => /^data\.csv: line 3, column 'b' \(3\): 'abc' is not a number/.test(e.message));
  assert.throws(() => parseSeriesCsv('id,timestamp,value\nA,2024-01-01,1\nA,2024-01-02,1,5\n', { source: 'l.csv' }), /l\.csv: not valid CSV/);
  assert.throws(() => parseSeriesCsv('id,timestamp,value\nA,2024-01-01,1\nA,2024-01-01,2\n'), /line 3: series 'A' has timestamp '2024-01-01' twice \(also line 2\)/);
  assert.throws(() => parseSeriesCsv('date,a\n'), /no data rows/);
  assert.throws(() => parseSeriesCsv(''), /empty/);
});

test('parseCell: numbers, missing markers, rejects the rest', () => {
  assert.equal(parseCell(' 1.5e3 '), 1500);
  assert.equal(parseCell('-.5'), -0.5);
  for (const m of ['', 'NA', 'nan', 'NULL', 'n/a']) assert.ok(nan(parseCell(m)!), m);
  for (const b of ['abc', '1,5', '0x10', '1.2.3']) assert.equal(parseCell(b), undefined, b);
});

test('errors are InputErrors; duplicate column names and duplicate wide timestamps are refused', () => {
  const bad = (text: string, re: RegExp, opts = {}) => assert.throws(() => parseSeriesCsv(text, { source: 'f.csv', ...opts }), (e: Error) => e instanceof InputError && re.test(e.message));
  bad('date,a,b,a\n2024-01-01,1,2,3\n', /^f\.csv: line 1: column name 'a' appears twice \(columns 2 and 4\)$/);
  bad('id,timestamp,value, id \nA,2024-01-01,1,2\n', /^f\.csv: line 1: column name 'id' appears twice \(columns 1 and 4\)$/);
  bad('date,a\n2024-01-01,1\n2024-01-02,2\n2024-1-2,3\n', /^f\.csv: line 4: timestamp '2024-1-2' appears twice \(also line 3\)$/);
  bad('t,a\nx,1\ny,2\nx,3\n', /^f\.csv: line 4: timestamp 'x' appears twice \(also line 2\)$/);
  // long layout, timestamps that do not sort (not dates): equal text is still a duplicate
  bad('id,timestamp,value\nA,foo,1\nA,bar,2\nA,foo,3\n', /^f\.csv: line 4: series 'A' has timestamp 'foo' twice \(also line 2\)$/);
  bad('a,b\n1,2\n', /delimiter must be one character/, { delimiter: '"' });
  bad('a\n"1\n', /^f\.csv: not valid CSV: /);
});

test('delimiter: detected from the header (comma, semicolon, tab; quotes skipped), or given', () => {
  assert.equal(detectDelimiter('a,b\n1,2'), ',');
  assert.equal(detectDelimiter('\ufeffdate;a;b\r\n2024-01-01;1,5;2'), ';');
  assert.equal(detectDelimiter('date\ta\n'), '\t');
  assert.equal(detectDelimiter('"x,y";z\n1;2'), ';');
  assert.equal(detectDelimiter('value\n1\n'), ',');
  assert.equal(detectDelimiter('\n\na;b\n'), ';');
  const r = parseSeriesCsv('date;a;b\n2024-01-01;1;2\n2024-01-02;3;4\n');
  assert.deepEqual(r.series.map((s) => [s.id, Array.from(s.values)]), [['a', [1, 3]], ['b', [2, 4]]]);
  const t = parseSeriesCsv('date|a\n2024-01-01|5\n', { delimiter: '|' });
  assert.deepEqual(Array.from(t.series[0].values), [5]);
});
