// src/cli/cliFiles.ts in process: the UTF-8 check against the platform's strict decoder,
// the output-target checks and the atomic write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ArgumentError, InputError } from '../../src/errors.js';
import { checkFileTargets, decodeUtf8, firstInvalidUtf8, writeOutput } from '../../src/cli/cliFiles.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'xlstm-clifiles-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const strict = new TextDecoder('utf-8', { fatal: true });
const isValid = (b: Uint8Array) => { try { strict.decode(b); return true; } catch { return false; } };

test('firstInvalidUtf8 agrees with the strict decoder, and the prefix before it is valid', () => {
  const cases: [number[], number][] = [
    [[0x61, 0x62], -1], [[0xc3, 0xa9], -1], [[0xe2, 0x82, 0xac], -1], [[0xf0, 0x9f, 0x98, 0x80], -1],
    [[0x61, 0xe9, 0x62], 1], [[0xc0, 0xaf], 0], [[0xe0, 0x80, 0xaf], 0], [[0xed, 0xa0, 0x80], 0], [[0xf4, 0x90, 0x80, 0x80], 0],
    [[0x61, 0xf0, 0x9f, 0x98], 1], [[0x80], 0], [[0xff], 0],
  ];
  for (const [bytes, at] of cases) assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), at, bytes.map((x) => x.toString(16)).join(' '));
  // random bytes, and valid text with a few bytes changed
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }))
    .map(([s, edits]) => { const b = new TextEncoder().encode(s); for (const [i, v] of edits) if (b.length) b[i % b.length] = v; return b; }));
  fc.assert(fc.property(bytes, (b) => {
    const at = firstInvalidUtf8(b);
    assert.equal(at < 0, isValid(b));
    if (at >= 0) assert.ok(isValid(b.subarray(0, at)));
  }), { numRuns: 5000, seed: 3 });
  assert.throws(() => decodeUtf8(Uint8Array.from([0x61, 0xff]), 'f.txt'), (e: Error) => e instanceof InputError && e.message === 'f.txt: not valid UTF-8 at byte offset 1 (bytes ff); save the file as UTF-8');
  assert.equal(decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]), 'f'), 'a');
});

test('checkFileTargets: inputs, symlinks, files of an input folder, missing folders; - is left out', async () => {
  const input = join(dir, 'in.csv');
  writeFileSync(input, 'x');
  symlinkSync(input, join(dir, 'alias.csv'));
  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), '{}');
  const refuse = (outputs: { flag: string; path: string }[], re: RegExp) => assert.rejects(checkFileTargets([{ flag: 'input file', path: input }, { flag: '--model', path: model }], outputs), (e: Error) => e instanceof ArgumentError && re.test(e.message));
  await refuse([{ flag: '--output', path: join(dir, 'alias.csv') }], /^--output '.*alias\.csv' is the same file as input file '.*in\.csv': refusing to overwrite it$/);
  await refuse([{ flag: '--output', path: join(dir, 'sub', '..', 'in.csv') }], /is the same file as input file/);
  await refuse([{ flag: '--output', path: join(model, 'config.json') }], /^--output '.*config\.json' is a file of --model '.*model': refusing to overwrite it$/);
  await refuse([{ flag: '--output', path: join(dir, 'o.csv') }, { flag: '--plot', path: join(dir, 'o.csv') }], /^--plot '.*o\.csv' is the same file as --output/);
  await refuse([{ flag: '--output', path: join(dir, 'none', 'o.csv') }], /the folder '.*none' does not exist/);
  await refuse([{ flag: '--output', path: model }], /is a folder, not a file/);
  await checkFileTargets([{ flag: 'input file', path: '-' }, { flag: '--model', path: model }], [{ flag: '--output', path: '-' }, { flag: '--output', path: join(model, 'new.csv') }]);
});

test('writeOutput: whole file, replaces the old one, no temporary file left; - goes to stdout', async () => {
  const out = join(dir, 'w', 'out.csv');
  mkdirSync(join(dir, 'w'));
  writeFileSync(out, 'old');
  await writeOutput(out, 'a,b\n1,2\n', () => assert.fail('not stdout'));
  assert.equal(readFileSync(out, 'utf8'), 'a,b\n1,2\n');
  assert.deepEqual(readdirSync(join(dir, 'w')), ['out.csv']);
  let printed = '';
  await writeOutput('-', 'x\n', (s) => { printed += s; });
  assert.equal(printed, 'x\n');
  // a failed write (the target is a folder) leaves the folder as it was, with no temporary file
  mkdirSync(join(dir, 'w', 'sub'));
  await assert.rejects(writeOutput(join(dir, 'w', 'sub'), 'x', () => {}));
  assert.deepEqual(readdirSync(join(dir, 'w')).sort(), ['out.csv', 'sub']);
});
