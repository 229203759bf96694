// Property-based tests of the CSV reader (fast-check): mutated CSV texts (random bytes,
// quotes, delimiters, BOM, huge numbers, empty lines, CRLF, duplicate headers) end in a valid
// parse or an InputError naming the source, never another exception or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSeriesCsv, CsvReadOptions } from '../../src/timeseries/csv.js';
import { InputError } from '../../src/errors.js';
import { checkGrid, inferFrequency, timestampKey } from '../../src/timeseries/frequency.js';

/** Parses; returns the result, or the InputError. Anything else fails the property. */
function parseOrInputError(text: string, opts: CsvReadOptions) {
  try {
    return parseSeriesCsv(text, { source: 'fuzz.csv', ...opts });
  } catch (e) {
    if (!(e instanceof InputError)) throw new Error(`not an InputError: ${String(e)} for ${JSON.stringify(text).slice(0, 300)}`, { cause: e });
    assert.match(e.message, /^fuzz\.csv: /);
    return e;
  }
}

const oddCells = fc.constantFrom('', '1e308', '1e309', '-1e400', '0x1F', 'NaN', 'NA', 'inf', '9'.repeat(400), 'abc', '"', '""', '"a,b"',
  '"x\ny"', ' 3 ', '2024-02-30', '2024Q1', 'é', '\u0000', '\ufffd', 'id', 'value', 'date');
const numberCell = fc.oneof(
  { weight: 8, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('', 'NA', 'nan', '1e308', '1e309', '-1e400', '9'.repeat(400), ' 3 ') },
);
const dateCell = fc.integer({ min: 0, max: 40 }).map((d) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10));
const idCell = fc.constantFrom('A', 'B', 'C');
/** A column: its kind decides its cells, with now and then a cell of any kind. */
const column = (rows: number) => fc.constantFrom(numberCell, dateCell, idCell).chain((kind) => fc.array(
  fc.oneof({ weight: 30, arbitrary: kind }, { weight: 1, arbitrary: oddCells }), { minLength: rows, maxLength: rows }));
const delimiters = fc.constantFrom(',', ';', '\t');
const newlines = fc.constantFrom('\n', '\r\n', '\r', '\n\n');
const headerNames = fc.constantFrom('date', 'id', 'value', 'ds', 'y', 'unique_id', 'a', 'b', 't', '', '"q"', 'time', 'c', 'd', 'e', 'f');

/** A table-shaped CSV text (every row as wide as the header, so many parse), then mutated. */
const csvText = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 12 })).chain(([cols, rows]) => fc.record({
  header: fc.array(headerNames, { minLength: cols, maxLength: cols }),
  columns: fc.array(column(rows), { minLength: cols, maxLength: cols }),
  delimiter: delimiters,
  newline: newlines,
  bom: fc.boolean(),
})).map(({ header, columns, delimiter, newline, bom }) => {
  const rows = columns[0].map((_, r) => columns.map((c) => c[r]));
  return (bom ? '\ufeff' : '') + [header, ...rows].map((r) => r.join(delimiter)).join(newline);
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: 'binary', maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), code: fc.integer({ min: 0, max: 0xffff }) }),
);

function mutate(text: string, ms: { kind: string; at: number; text?: string; len?: number; code?: number }[]): string {
  let s = text;
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.len!);
    else s = s.slice(0, at) + String.fromCharCode(m.code!) + s.slice(at + 1);
  }
  return s;
}

const someOptions = fc.record({
  format: fc.constantFrom(undefined, undefined, 'auto', 'wide', 'long'),
  timeCol: fc.constantFrom(undefined, undefined, null, 'date', 'missing'),
  idCol: fc.constantFrom(undefined, undefined, 'id', 'a'),
  delimiter: fc.constantFrom(undefined, undefined, ',', ';', '\t'),
}, { requiredKeys: [] }) as fc.Arbitrary<CsvReadOptions>;
/** Mostly the defaults (auto-detection), which is what most files meet. */
const options = fc.oneof({ weight: 3, arbitrary: fc.constant({} as CsvReadOptions) }, { weight: 2, arbitrary: someOptions });

test('fuzz: mutated CSV texts end in a parse or an InputError (never a crash)', () => {
  const t0 = Date.now();
  let parsed = 0, refused = 0;
  fc.assert(fc.property(csvText, fc.array(mutation, { maxLength: 3 }), options, (text, ms, opts) => {
    const r = parseOrInputError(mutate(text, ms), opts);
    if (r instanceof InputError) { refused++; return; }
    parsed++;
    // a parse is a real one: each series has one value per timestamp
    for (const s of r.series) {
      assert.ok(s.values instanceof Float64Array);
      if (s.timestamps) assert.equal(s.timestamps.length, s.values.length);
      // and its timestamps either have a frequency and a grid, or an InputError says why not
      if (s.timestamps && s.timestamps.length >= 2) {
        try { checkGrid(s.timestamps, inferFrequency(s.timestamps)); } catch (e) { if (!(e instanceof InputError)) throw e; }
      }
    }
  }), { numRuns: 3000, seed: 20261207 });
  // both outcomes are exercised, so the generator is not trivially all-bad or all-good
  assert.ok(parsed > 100 && refused > 100, `parsed ${parsed}, refused ${refused}`);
  assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
});

test('fuzz: random strings (any code units) end in a parse or an InputError', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), options, (text, opts) => { parseOrInputError(text, opts); }), { numRuns: 2000, seed: 7 });
});

test('fuzz: non-string input is an InputError too', () => {
  for (const v of [undefined, null, 42, {}, new Uint8Array(3)]) {
    assert.throws(() => parseSeriesCsv(v as unknown as string, { source: 'fuzz.csv' }), InputError);
  }
});

test('fuzz: timestamp lists (dates, times, numbers, huge and tiny) give a frequency and grid, or an InputError', () => {
  let gridded = 0;
  const kinds = [
    fc.integer({ min: -1e6, max: 1e6 }).map((m) => new Date(Date.UTC(2024, 0, 1) + m * 60_000).toISOString().slice(0, 16).replace('T', ' ')),
    fc.integer({ min: 0, max: 400 }).map((d) => new Date(Date.UTC(2020, 0, 1 + d)).toISOString().slice(0, 10)),
    fc.integer({ min: 0, max: 60 }).map((m) => `${2000 + Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, '0')}`),
    fc.double({ noNaN: true }).map(String),
    fc.constantFrom('9'.repeat(400), '1e-300', '2024Q3', '2024-02-30', 'x'),
  ];
  // mostly one kind per list (so frequencies are found and grids built), sometimes mixed
  const lists = fc.oneof(...kinds.map((k) => fc.array(k, { maxLength: 30 })), fc.array(fc.oneof(...kinds), { maxLength: 30 }));
  const byKey = (ts: string[]) => {
    const keyed = [...new Set(ts)].map((t) => [timestampKey(t) ?? NaN, t] as const);
    const seen = new Set<number>();
    return keyed.filter(([k]) => !seen.has(k) && seen.add(k)).sort((a, b) => a[0] - b[0]).map(([, t]) => t);
  };
  fc.assert(fc.property(lists, fc.nat(3), (ts, order) => {
    const list = order > 0 ? byKey(ts) : ts;
    try {
      const g = checkGrid(list, inferFrequency(list));
      gridded++;
      // a filled grid holds every timestamp at its position
      if (g.kind === 'gaps') list.forEach((t, i) => assert.equal(timestampKey(g.grid[g.positions[i]]), timestampKey(t)));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
  }), { numRuns: 3000, seed: 11 });
  // random lists are rarely regular; enough are (seeded) that the grid code runs
  assert.ok(gridded > 150, `only ${gridded} lists had a grid`);
});
