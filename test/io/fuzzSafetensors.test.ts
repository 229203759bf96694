// Property-based fuzzing of the safetensors readers (in memory and lazy file):
// valid files from the project's own writer, mutated at the byte level (length
// prefix, JSON text, data) and at the JSON level (dtype, shape, data_offsets,
// entries, metadata), plus random bytes. Every input must end in a
// SafetensorsError (an XlstmError) or a reader whose every tensor checks out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { DType, DTYPE_SIZE, arrayClassFor, numel } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { SafetensorsBuffer, SafetensorsError, serializeSafetensors } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { XlstmError } from '../../src/errors.js';
import { FUZZ_TIMEOUT_MS, Outcome, concat, mutate, mutationArb, nameArb, placeAt, placementArb, runFuzz, typedOrValid, typedOrValidAsync } from './fuzzUtil.js';
import { rawFile, tempDir } from './util.js';

const DTYPES: DType[] = ['f64', 'f32', 'f16', 'bf16', 'i64', 'i32', 'i8', 'u8', 'bool'];
const FILE_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I8', 'U8', 'BOOL'];

const tensorArb: fc.Arbitrary<Tensor> = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
}).chain(({ dtype, shape }) => fc.uint8Array({ minLength: numel(shape) * DTYPE_SIZE[dtype], maxLength: numel(shape) * DTYPE_SIZE[dtype] })
  .map((raw) => {
    const Cls = arrayClassFor(dtype);
    return new Tensor(dtype, shape, new Cls(raw.buffer, 0, numel(shape)));
  }));

interface Sample { tensors: Map<string, Tensor>; metadata: Record<string, string> }

const sampleArb: fc.Arbitrary<Sample> = fc.record({
  entries: fc.uniqueArray(fc.tuple(nameArb.filter((n) => n !== '__metadata__'), tensorArb), { maxLength: 5, selector: ([n]) => n }),
  metadata: fc.dictionary(nameArb, fc.string({ maxLength: 8 }), { maxKeys: 3 }),
}).map(({ entries, metadata }) => ({ tensors: new Map(entries), metadata }));

/** Offsets of the length prefix, the header's ends, and every number in the JSON (where a digit change moves an offset). */
function hotOffsets(bytes: Uint8Array): number[] {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const hot = [0, 1, 4, 7, 8, 8 + n - 1, 8 + n, bytes.length - 1];
  for (let i = 8; i < 8 + n; i++) if (bytes[i] >= 0x30 && bytes[i] <= 0x39 || bytes[i] === 0x5b || bytes[i] === 0x22) hot.push(i);
  return hot;
}

function bytesOf(t: Tensor): Uint8Array { return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength); }

/**
 * What a successfully parsed file must satisfy: every tensor's byte range is inside
 * the data section and is dtype x shape, ranges do not overlap (so they sum to at
 * most the data size), and read/readInto/f32 reads all agree.
 */
function checkBuffer(buf: SafetensorsBuffer, bytes: Uint8Array): void {
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const dataSize = bytes.length - 8 - headerLen;
  assert.ok(dataSize >= 0, 'parsed although the header runs past the end');
  let total = 0;
  const names = buf.names();
  assert.equal(new Set(names).size, names.length, 'names are unique');
  for (const name of names) {
    assert.ok(buf.has(name));
    const info = buf.info(name);
    assert.ok(DTYPES.includes(info.dtype), `dtype ${info.dtype}`);
    assert.ok(info.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `shape ${info.shape}`);
    assert.equal(info.byteLength, numel(info.shape) * DTYPE_SIZE[info.dtype], `${name}: byteLength is dtype x shape`);
    total += info.byteLength;
    const t = buf.read(name);
    assert.equal(t.dtype, info.dtype);
    assert.deepEqual([...t.shape], info.shape);
    assert.equal(t.data.byteLength, info.byteLength);
    const into = new Uint8Array(info.byteLength);
    buf.readInto(name, into);
    assert.deepEqual(into, bytesOf(t), `${name}: readInto equals read`);
    const f32 = buf.read(name, { dtype: 'f32' }).data;
    assert.equal(f32.length, numel(info.shape));
    const f32Into = new Float32Array(numel(info.shape));
    buf.readInto(name, f32Into, { dtype: 'f32' });
    assert.deepEqual(f32Into, f32, `${name}: readInto f32 equals read f32`);
  }
  assert.ok(total <= dataSize, `tensors claim ${total} bytes but the data section has ${dataSize}`);
  for (const v of Object.values(buf.metadata)) assert.equal(typeof v, 'string');
}

function parse(bytes: Uint8Array): SafetensorsBuffer { return SafetensorsBuffer.parse(bytes); }

test('fuzz: unmutated files from the writer read back exactly (names, metadata, bits)', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  await runFuzz('safetensors round trip', 300, 0x5afe_0001, fc.property(sampleArb, (s) => {
    const bytes = serializeSafetensors(s.tensors, s.metadata);
    const buf = parse(bytes);
    checkBuffer(buf, bytes);
    assert.deepEqual(new Set(buf.names()), new Set(s.tensors.keys()));
    for (const [name, t] of s.tensors) {
      const r = buf.read(name);
      assert.equal(r.dtype, t.dtype);
      assert.deepEqual([...r.shape], [...t.shape]);
      assert.deepEqual(bytesOf(r), bytesOf(t), `${name}: data bits`);
    }
    assert.deepEqual({ ...buf.metadata }, { ...s.metadata }, 'metadata');
    assert.deepEqual(Object.keys(buf.metadata).sort(), Object.keys(s.metadata).sort(), 'metadata keys');
  }));
});

test('fuzz: byte-level mutations of valid files end in SafetensorsError or a consistent reader', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  const arb = sampleArb.chain((s) => {
    const bytes = serializeSafetensors(s.tensors, s.metadata);
    return fc.tuple(fc.constant(bytes), fc.array(mutationArb(hotOffsets(bytes)), { minLength: 1, maxLength: 4 }), placementArb);
  });
  await runFuzz('safetensors byte mutations', 3000, 0x5afe_0002, fc.property(arb, ([bytes, muts, at]) => {
    const input = placeAt(mutate(bytes, muts), at.offset, at.asBuffer);
    seen[typedOrValid('SafetensorsBuffer.parse', () => parse(input), (buf) => checkBuffer(buf, input))]++;
  }));
  // The mutations must reach both ends, or the property proves little.
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

/** JSON-level edits of a header: the shapes of corruption that byte flips rarely produce. */
type HeaderEdit = { target: number; kind: 'dtype' | 'shape' | 'offsets' | 'drop' | 'entry' | 'metadata' | 'whole' | 'add' | 'overlap' | 'dropField'; value: unknown };

const weirdNumber = fc.oneof(fc.integer({ min: -2, max: 64 }), fc.constantFrom(-1, 0.5, 1e15, 2 ** 53, 2 ** 53 + 2, 1e300, -0, 2 ** 31, 2 ** 32),
  fc.double(), fc.constantFrom('3', null, true, [], {}));
const headerEditArb: fc.Arbitrary<HeaderEdit> = fc.record({
  target: fc.nat(),
  kind: fc.constantFrom('dtype', 'shape', 'offsets', 'drop', 'entry', 'metadata', 'whole', 'add', 'overlap', 'dropField'),
  value: fc.oneof(
    fc.constantFrom(...FILE_DTYPES, 'F8_E4M3', 'I16', 'U64', 'f32', '', 'constructor', '__proto__'),
    fc.array(weirdNumber, { maxLength: 4 }),
    fc.tuple(weirdNumber, weirdNumber),
    fc.jsonValue({ maxDepth: 3 }),
  ),
});

function isObj(v: unknown): v is Record<string, any> { return typeof v === 'object' && v !== null && !Array.isArray(v); }

function editHeader(header: Record<string, any>, edit: HeaderEdit): unknown {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names.length ? names[edit.target % names.length] : undefined;
  switch (edit.kind) {
    case 'whole': return edit.value;
    case 'metadata': header.__metadata__ = edit.value; return header;
    case 'add': header[`extra${edit.target}`] = edit.value; return header;
    case 'drop': if (name !== undefined) delete header[name]; return header;
    case 'entry': if (name !== undefined) header[name] = edit.value; return header;
    case 'overlap': {
      // Give one tensor another's offsets (or a range straddling two), the classic aliasing corruption.
      if (names.length < 2) return header;
      const other = header[names[(edit.target + 1) % names.length]];
      const mine = header[name!];
      if (isObj(mine) && isObj(other) && Array.isArray(other.data_offsets)) mine.data_offsets = [...other.data_offsets];
      return header;
    }
    case 'dropField': {
      if (name === undefined) return header;
      const fields = ['dtype', 'shape', 'data_offsets'];
      if (isObj(header[name])) delete header[name][fields[edit.target % 3]];
      return header;
    }
    default: {
      if (name === undefined) return header;
      const field = edit.kind === 'dtype' ? 'dtype' : edit.kind === 'shape' ? 'shape' : 'data_offsets';
      header[name] = { ...header[name], [field]: edit.value };
      return header;
    }
  }
}

test('fuzz: JSON-level header mutations (dtype, shape, offsets, entries, metadata) end in SafetensorsError or a consistent reader', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  const arb = fc.tuple(sampleArb, fc.array(headerEditArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: -8, max: 8 }), placementArb);
  await runFuzz('safetensors header edits', 2000, 0x5afe_0003, fc.property(arb, ([s, edits, dataDelta, at]) => {
    const bytes = serializeSafetensors(s.tensors, s.metadata);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    let header: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const e of edits) header = header !== null && typeof header === 'object' && !Array.isArray(header) ? editHeader(header as Record<string, any>, e) : header;
    // The data section may also grow or shrink a little, moving "the end of the file" under the offsets.
    const data = bytes.subarray(8 + n);
    const newData = dataDelta >= 0 ? concat(data, new Uint8Array(dataDelta)) : data.subarray(0, Math.max(0, data.length + dataDelta));
    const input = placeAt(rawFile(header, newData), at.offset, at.asBuffer);
    seen[typedOrValid('SafetensorsBuffer.parse', () => parse(input), (buf) => checkBuffer(buf, input))]++;
  }));
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

test('fuzz: random bytes, and random bytes behind a plausible length prefix', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.nat({ max: 80 }), fc.uint8Array({ maxLength: 80 })).map(([n, rest]) => {
      const b = new Uint8Array(8 + rest.length);
      new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
      b.set(rest, 8);
      return b;
    }),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 32 })).map(([j, d]) => rawFile(j, d)),
  );
  await runFuzz('safetensors random bytes', 2000, 0x5afe_0004, fc.property(arb, (input) => {
    typedOrValid('SafetensorsBuffer.parse', () => parse(input), (buf) => checkBuffer(buf, input));
  }));
});

test('fuzz: the lazy file reader agrees with the in-memory reader on mutated files', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const { dir, cleanup } = tempDir();
  let i = 0;
  try {
    const arb = sampleArb.chain((s) => {
      const bytes = serializeSafetensors(s.tensors, s.metadata);
      return fc.tuple(fc.constant(bytes), fc.array(mutationArb(hotOffsets(bytes)), { maxLength: 3 }));
    });
    await runFuzz('safetensors file vs memory', 300, 0x5afe_0005, fc.asyncProperty(arb, async ([bytes, muts]) => {
      const input = mutate(bytes, muts);
      const path = join(dir, `f${i++ % 4}.safetensors`);
      await writeFile(path, input);
      let mem: SafetensorsBuffer | XlstmError;
      try { mem = parse(input); } catch (e) { mem = e as XlstmError; }
      await typedOrValidAsync('SafetensorsFile.open', () => SafetensorsFile.open(path), async (f) => {
        try {
          assert.ok(mem instanceof SafetensorsBuffer, `the file reader accepted what the in-memory reader refused (${(mem as Error).message})`);
          assert.deepEqual(f.names(), mem.names());
          assert.deepEqual({ ...f.metadata }, { ...mem.metadata });
          assert.equal(f.fileSize, input.length);
          for (const name of f.names()) {
            assert.deepEqual(f.info(name), mem.info(name));
            const t = await f.read(name);
            assert.deepEqual(bytesOf(t), bytesOf(mem.read(name)), `${name}: same bits from file and memory`);
            const f32 = new Float32Array(numel(t.shape));
            await f.readInto(name, f32, { dtype: 'f32' });
            assert.deepEqual(f32, mem.read(name, { dtype: 'f32' }).data);
          }
        } finally { await f.close(); }
      }).then((outcome) => {
        if (outcome === 'refused') assert.ok(mem instanceof SafetensorsError, 'the in-memory reader accepted what the file reader refused');
      });
    }));
  } finally { cleanup(); }
});
