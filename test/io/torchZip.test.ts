import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BytesAccess, RandomAccess, ZipArchive, ZipError, crc32 } from '../../src/io/zip.js';
import { writeStoredZip } from './torchTestUtil.js';
import { tempDir } from './util.js';

const enc = new TextEncoder();
const sample = () => [
  { name: 'archive/data.pkl', data: enc.encode('hello pickle') },
  { name: 'archive/data/0', data: new Uint8Array(1000).map((_, i) => (i * 7) & 0xff) },
  { name: 'archive/empty', data: new Uint8Array(0) },
  { name: 'archive/ünï', data: enc.encode('utf8 name') },
];

/** A RandomAccess over a real file, as a Node caller would write it. */
async function fileAccess(path: string): Promise<RandomAccess> {
  const fh = await open(path, 'r');
  const size = (await fh.stat()).size;
  return {
    source: path, size,
    async read(offset, length) { const b = new Uint8Array(length); await fh.read(b, 0, length, offset); return b; },
    close: () => fh.close(),
  };
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(enc.encode('123456789')), 0xcbf43926);
  assert.equal(crc32(enc.encode('6789'), crc32(enc.encode('12345'))), 0xcbf43926);
});

for (const variant of [{}, { zip64: true }, { align: 64 }, { zip64: true, align: 64, comment: 'PK\x05\x06 not an end record' }]) {
  test(`zip round trip ${JSON.stringify(variant)}: in memory and from a file`, async () => {
    const entries = sample();
    const bytes = writeStoredZip(entries, variant);
    const mem = ZipArchive.fromBytes(bytes, 'mem.zip');
    assert.deepEqual(mem.names(), entries.map((e) => e.name));
    for (const e of entries) {
      assert.deepEqual(mem.readSync(e.name), e.data, e.name);
      assert.deepEqual(await mem.read(e.name), e.data, e.name);
      assert.equal(mem.entry(e.name).size, e.data.length);
    }
    assert.deepEqual(await mem.readRange('archive/data/0', 10, 5), entries[1].data.subarray(10, 15));
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'a.zip');
      await writeFile(path, bytes);
      const file = await ZipArchive.open(await fileAccess(path));
      for (const e of entries) assert.deepEqual(await file.read(e.name), e.data, e.name);
      await file.close();
    } finally { cleanup(); }
  });
}

function expectZipError(fn: () => unknown, source: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ZipError, `expected ZipError, got ${String(e)}`);
    assert.equal(e.source, source);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`${source}: `), e.message);
    return true;
  });
}

test('truncated and corrupt archives fail with the file name', async () => {
  const bytes = writeStoredZip(sample());
  expectZipError(() => ZipArchive.fromBytes(bytes.subarray(0, bytes.length - 5), 'cut.zip'), 'cut.zip', /no end-of-central-directory/);
  expectZipError(() => ZipArchive.fromBytes(bytes.subarray(0, 10), 'tiny.zip'), 'tiny.zip', /too short/);
  expectZipError(() => ZipArchive.fromBytes(enc.encode('x'.repeat(100)), 'text.zip'), 'text.zip', /not a zip archive/);
  // Drop the data but keep the end record: the central directory now points past the end.
  const eocd = bytes.subarray(bytes.length - 22);
  const lost = new Uint8Array([...bytes.subarray(0, 40), ...eocd]);
  expectZipError(() => ZipArchive.fromBytes(lost, 'lost.zip'), 'lost.zip', /central directory .* past the end/);
  // Flip a data byte: the CRC check catches it on a whole-entry read.
  const flipped = bytes.slice();
  const z = ZipArchive.fromBytes(flipped, 'flip.zip');
  flipped[30 + 'archive/data.pkl'.length] ^= 1; // first data byte
  expectZipError(() => z.readSync('archive/data.pkl'), 'flip.zip', /CRC-32 mismatch/);
  // Broken local header signature.
  const badLocal = bytes.slice();
  badLocal[0] = 0;
  expectZipError(() => ZipArchive.fromBytes(badLocal, 'local.zip').readSync('archive/data.pkl'), 'local.zip', /no local file header/);
  // Broken central record signature.
  const cdOff = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 6, true);
  const badCd = bytes.slice();
  badCd[cdOff] = 0;
  expectZipError(() => ZipArchive.fromBytes(badCd, 'cd.zip'), 'cd.zip', /central directory record 0 .* missing or truncated/);
  expectZipError(() => ZipArchive.fromBytes(bytes, 'ok.zip').entry('nope'), 'ok.zip', /no such entry/);
  await assert.rejects(ZipArchive.fromBytes(bytes, 'ok.zip').readRange('archive/data/0', 990, 20), /outside the entry's 1000 bytes/);
});

test('a file truncated after open fails with the file name, not with garbage', async () => {
  const bytes = writeStoredZip(sample());
  const src = new BytesAccess(bytes, 'shrunk.zip');
  const z = await ZipArchive.open(src);
  const shortSrc: RandomAccess = { source: 'shrunk.zip', size: 200, read: (o, l) => src.read(o, l), close: () => {} };
  await assert.rejects(ZipArchive.open(shortSrc), /shrunk\.zip: .*no end-of-central-directory/);
  assert.equal((await z.read('archive/empty')).length, 0);
});

test('deflated entries are refused with a clear message (no inflate without fflate)', () => {
  const bytes = writeStoredZip([{ name: 'a/data.pkl', data: enc.encode('abc'), method: 8 }, { name: 'a/x', data: enc.encode('x'), method: 12 }]);
  const z = ZipArchive.fromBytes(bytes, 'deflate.zip');
  expectZipError(() => z.readSync('a/data.pkl'), 'deflate.zip', /deflate-compressed .*fflate/);
  expectZipError(() => z.readSync('a/x'), 'deflate.zip', /unsupported compression method 12/);
});

test('duplicate names are refused', () => {
  const bytes = writeStoredZip([{ name: 'a', data: enc.encode('1') }, { name: 'a', data: enc.encode('2') }]);
  expectZipError(() => ZipArchive.fromBytes(bytes, 'dup.zip'), 'dup.zip', /occurs twice/);
});
