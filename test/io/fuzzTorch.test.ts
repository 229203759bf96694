// Property-based fuzzing of the torch.save reader stack: the pickle interpreter
// (src/io/pickle.ts), the zip container (src/io/zip.ts) and the checkpoint layer on
// top (src/io/torchCheckpoint.ts). Valid checkpoints are built with the test
// builders (and taken from the real TiRex model.ckpt), then mutated: pickle opcodes
// and operands, zip end records, central-directory and local-header fields, plus
// random bytes. Each input must end in an XlstmError (PickleError, ZipError,
// TorchCheckpointError) or a checkpoint whose every tensor reads back consistently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { DType, DTYPE_SIZE, numel } from '../../src/tensor/dtype.js';
import { TorchCheckpoint, TorchTensorRef } from '../../src/io/torchCheckpoint.js';
import { PickleValue, unpickle } from '../../src/io/pickle.js';
import { ZipArchive } from '../../src/io/zip.js';
import { FIXTURES } from '../helpers/golden.js';
import { PickleBuilder, torchZip, writeStoredZip } from './torchTestUtil.js';
import { FUZZ_TIMEOUT_MS, Outcome, concat, mutate, mutationArb, nameArb, runFuzz, typedOr, typedOrValid, typedOrValidAsync } from './fuzzUtil.js';
import { tempDir } from './util.js';

const STORAGES: Record<string, DType> = {
  FloatStorage: 'f32', HalfStorage: 'f16', BFloat16Storage: 'bf16', DoubleStorage: 'f64',
  LongStorage: 'i64', IntStorage: 'i32', CharStorage: 'i8', ByteStorage: 'u8', BoolStorage: 'bool',
};

/** Every opcode byte pickle defines (writing these over opcodes makes structurally interesting pickles). */
const OPCODES = [0x28, 0x2e, 0x30, 0x31, 0x32, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56,
  0x58, 0x61, 0x62, 0x63, 0x64, 0x7d, 0x65, 0x67, 0x68, 0x69, 0x6a, 0x6c, 0x5d, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x29, 0x75,
  0x47, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x42, 0x43, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91,
  0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98];

interface TensorSpec {
  name: string;
  storageType: string;
  shape: number[];
  offset: number;
  /** Column-major strides (a transposed view) instead of row-major. */
  transposed: boolean;
  /** Storage elements past the view's end. */
  extra: number;
  /** Put the tensor in a nested list instead of the top-level dict. */
  nested: boolean;
}

const specArb: fc.Arbitrary<TensorSpec> = fc.record({
  name: nameArb,
  storageType: fc.constantFrom(...Object.keys(STORAGES)),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  offset: fc.integer({ min: 0, max: 3 }),
  transposed: fc.boolean(),
  extra: fc.integer({ min: 0, max: 3 }),
  nested: fc.boolean(),
});

function stridesOf(shape: number[], transposed: boolean): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  const dims = shape.map((_, i) => i);
  for (const i of transposed ? dims : dims.reverse()) { stride[i] = s; s *= Math.max(1, shape[i]); }
  return stride;
}

interface Built { bytes: Uint8Array; pkl: Uint8Array; storages: Record<string, Uint8Array>; specs: TensorSpec[] }

/** A torch.save-like checkpoint: {'state_dict': OrderedDict(name -> tensor), 'epoch': 3, 'extra': [tensors...]}. */
function buildCheckpoint(specs: TensorSpec[], zip64: boolean, prefix: string): Built {
  const b = new PickleBuilder().proto(2);
  const storages: Record<string, Uint8Array> = {};
  const flat = specs.filter((s) => !s.nested);
  const nested = specs.filter((s) => s.nested);
  const pushTensor = (s: TensorSpec, i: number): void => {
    const stride = stridesOf(s.shape, s.transposed);
    const end = numel(s.shape) === 0 ? s.offset : s.offset + s.shape.reduce((a, d, k) => a + (d - 1) * stride[k], 0) + 1;
    const n = end + s.extra;
    const bytes = new Uint8Array(n * DTYPE_SIZE[STORAGES[s.storageType]]);
    for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 37 + i * 11) & 0xff;
    storages[String(i)] = bytes;
    b.tensor(s.storageType, String(i), n, s.offset, s.shape, stride);
  };
  b.emptyDict().mark().str('state_dict');
  b.global('collections', 'OrderedDict').emptyTuple().reduce().op(0x71, 1).mark(); // BINPUT 1: a memo entry, as torch writes
  flat.forEach((s) => { b.str(s.name); pushTensor(s, specs.indexOf(s)); });
  b.op(0x75); // SETITEMS
  b.str('epoch').int(3);
  b.str('extra').op(0x5d).mark(); // EMPTY_LIST, MARK
  nested.forEach((s) => pushTensor(s, specs.indexOf(s)));
  b.op(0x65); // APPENDS
  b.op(0x75).stop();
  const pkl = b.build();
  return { bytes: torchZip(pkl, storages, { zip64, prefix }), pkl, storages, specs };
}

const builtArb: fc.Arbitrary<Built> = fc.record({
  specs: fc.uniqueArray(specArb, { maxLength: 4, selector: (s) => s.name }),
  zip64: fc.boolean(),
  prefix: fc.constantFrom('archive', 'model', 'a'),
}).map(({ specs, zip64, prefix }) => buildCheckpoint(specs, zip64, prefix));

/** Offsets of the zip's structure: the end records, every central-directory field, every local header. */
function zipHotOffsets(bytes: Uint8Array): number[] {
  const hot: number[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 4 <= bytes.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x06054b50) for (const f of [4, 8, 10, 12, 16, 20]) hot.push(i + f);
    else if (sig === 0x06064b50) for (const f of [24, 32, 40, 48]) hot.push(i + f);
    else if (sig === 0x07064b50) hot.push(i + 8);
    else if (sig === 0x02014b50) for (const f of [8, 10, 16, 20, 24, 28, 30, 32, 42, 46]) hot.push(i + f);
    else if (sig === 0x04034b50) for (const f of [8, 18, 22, 26, 28, 30]) hot.push(i + f);
  }
  return hot;
}

/** The largest tensor a (mutated) checkpoint may make us allocate: beyond it the reader must refuse first. */
const MAX_READ_BYTES = 1024 * 1024 * 1024;

/**
 * What an accepted checkpoint must satisfy: every tensor handle is a view inside its
 * storage, and reading it gives (or refuses with a typed error) a tensor of its dtype
 * and shape; the unmutated case also checks the values.
 */
async function checkCheckpoint(ck: TorchCheckpoint, expect?: Built): Promise<void> {
  // The whole object (not just the default state_dict), so tensors in nested lists are read too.
  const refs = await typedOr('tensors()', () => ck.tensors([]));
  if (!refs) return;
  if (expect) {
    const nested = expect.specs.filter((t) => t.nested);
    assert.deepEqual([...refs.keys()].sort(), expect.specs.map((s) => (s.nested ? `extra.${nested.indexOf(s)}` : `state_dict.${s.name}`)).sort());
    assert.deepEqual([...ck.tensors().keys()].sort(), expect.specs.filter((s) => !s.nested).map((s) => s.name).sort());
  }
  for (const [name, ref] of refs) {
    assert.ok(ref instanceof TorchTensorRef);
    assert.ok(ref.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${name}: shape ${ref.shape}`);
    assert.ok(ref.storageEnd <= ref.storage.numel, `${name}: view ends at ${ref.storageEnd} past its storage of ${ref.storage.numel}`);
    const t = await typedOr(`read('${name}')`, () => ck.read(ref));
    if (!t) {
      assert.ok(!expect, `${name}: an unmutated checkpoint must read`);
      continue;
    }
    assert.equal(t.dtype, ref.dtype);
    assert.deepEqual([...t.shape], [...ref.shape]);
    assert.equal(t.data.length, numel(ref.shape));
    assert.ok(t.data.byteLength <= MAX_READ_BYTES);
    if (expect) {
      // Values: the view gathered from the storage bytes the builder wrote.
      const key = ref.storage.key;
      const raw = expect.storages[key];
      const size = DTYPE_SIZE[ref.dtype];
      const out = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const idx = new Array<number>(ref.shape.length).fill(0);
      for (let e = 0; e < t.data.length; e++) {
        let src = ref.storageOffset;
        for (let d = 0; d < idx.length; d++) src += idx[d] * ref.stride[d];
        assert.deepEqual(out.subarray(e * size, (e + 1) * size), raw.subarray(src * size, (src + 1) * size), `${name}: element ${e}`);
        for (let d = idx.length - 1; d >= 0; d--) { if (++idx[d] < ref.shape[d]) break; idx[d] = 0; }
      }
    }
  }
}

function checkZip(zip: ZipArchive, input: Uint8Array): void {
  for (const name of zip.names()) {
    const e = zip.entry(name);
    assert.ok(e.localHeaderOffset + e.compressedSize <= input.length, `${name}: data past the end`);
    let data: Uint8Array | undefined;
    try { data = zip.readSync(name); } catch (err) { typedOrValid(`readSync('${name}')`, () => { throw err; }, () => undefined); }
    if (data) assert.equal(data.length, e.size, `${name}: read ${data.length} bytes, entry says ${e.size}`);
  }
}

test('fuzz: unmutated checkpoints from the builders read back exactly', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  await runFuzz('torch round trip', 100, 0x7012_0001, fc.asyncProperty(builtArb, async (b) => {
    const ck = TorchCheckpoint.fromBytes(b.bytes);
    await checkCheckpoint(ck, b);
  }));
});

test('fuzz: pickle mutations (opcodes, operands, truncation) inside a valid zip end in a typed error or a consistent checkpoint', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  const arb = builtArb.chain((b) => fc.tuple(fc.constant(b),
    fc.array(mutationArb([...b.pkl.keys()], OPCODES), { minLength: 1, maxLength: 4 })));
  await runFuzz('torch pickle mutations', 1000, 0x7012_0002, fc.asyncProperty(arb, async ([b, muts]) => {
    const pkl = mutate(b.pkl, muts);
    const bytes = torchZip(pkl, b.storages);
    seen[await typedOrValidAsync('TorchCheckpoint.fromBytes', async () => TorchCheckpoint.fromBytes(bytes), (ck) => checkCheckpoint(ck))]++;
  }));
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

test('fuzz: zip mutations (end records, central directory, local headers) end in a typed error or a consistent archive', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  const arb = builtArb.chain((b) => fc.tuple(fc.constant(b), fc.array(mutationArb(zipHotOffsets(b.bytes)), { minLength: 1, maxLength: 3 })));
  await runFuzz('torch zip mutations', 1000, 0x7012_0003, fc.asyncProperty(arb, async ([b, muts]) => {
    const input = mutate(b.bytes, muts);
    typedOrValid('ZipArchive.fromBytes', () => ZipArchive.fromBytes(input), (zip) => checkZip(zip, input));
    seen[await typedOrValidAsync('TorchCheckpoint.fromBytes', async () => TorchCheckpoint.fromBytes(input), (ck) => checkCheckpoint(ck))]++;
  }));
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

/** The allow-list-free unpickler must also be total: values or PickleError. */
function checkValue(v: PickleValue, depth = 0): void {
  if (depth > 50) return;
  if (Array.isArray(v)) for (const x of v) checkValue(x, depth + 1);
}

test('fuzz: random bytes and random opcode streams through unpickle() and TorchCheckpoint.fromBytes', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const opStream = fc.array(fc.oneof(fc.constantFrom(...OPCODES), fc.integer({ min: 0, max: 255 })), { maxLength: 48 })
    .map((ops) => concat(new Uint8Array([0x80, 2]), new Uint8Array(ops), new Uint8Array([0x2e])));
  const arb = fc.oneof(fc.uint8Array({ maxLength: 64 }), opStream);
  await runFuzz('pickle random', 2000, 0x7012_0004, fc.asyncProperty(arb, async (bytes) => {
    typedOrValid('unpickle', () => unpickle(bytes), (v) => checkValue(v));
    await typedOrValidAsync('TorchCheckpoint.fromBytes', async () => TorchCheckpoint.fromBytes(torchZip(bytes, {})), (ck) => checkCheckpoint(ck));
    typedOrValid('ZipArchive.fromBytes', () => ZipArchive.fromBytes(bytes), (zip) => checkZip(zip, bytes));
  }));
});

test('fuzz: mutations of the real TiRex data.pkl (written by torch) end in a typed error or a consistent checkpoint', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const real = ZipArchive.fromBytes(readFileSync(join(FIXTURES, 'tirex', 'model.ckpt')));
  const pklName = real.names().find((n) => n.endsWith('/data.pkl'))!;
  const pkl = real.readSync(pklName);
  // Storages stay out (they are 700 KB): reads then end in "storage entry is missing", a typed error.
  const arb = fc.array(mutationArb([...pkl.keys()], OPCODES), { minLength: 1, maxLength: 3 });
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  await runFuzz('torch real pickle mutations', 600, 0x7012_0005, fc.asyncProperty(arb, async (muts) => {
    const bytes = writeStoredZip([{ name: 'model/data.pkl', data: mutate(pkl, muts) }]);
    seen[await typedOrValidAsync('TorchCheckpoint.fromBytes', async () => TorchCheckpoint.fromBytes(bytes), (ck) => checkCheckpoint(ck))]++;
  }));
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

test('fuzz: open() on a mutated file agrees with fromBytes()', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const { dir, cleanup } = tempDir();
  let n = 0;
  try {
    const arb = builtArb.chain((b) => fc.tuple(fc.constant(b), fc.array(mutationArb(zipHotOffsets(b.bytes)), { maxLength: 2 })));
    await runFuzz('torch open vs fromBytes', 100, 0x7012_0006, fc.asyncProperty(arb, async ([b, muts]) => {
      const input = mutate(b.bytes, muts);
      const path = join(dir, `c${n++ % 4}.ckpt`);
      await writeFile(path, input);
      let mem: TorchCheckpoint | undefined;
      try { mem = TorchCheckpoint.fromBytes(input, { source: path }); } catch { mem = undefined; }
      const outcome = await typedOrValidAsync('TorchCheckpoint.open', () => TorchCheckpoint.open(path), async (ck) => {
        try {
          assert.ok(mem, 'open() accepted what fromBytes() refused');
          await checkCheckpoint(ck);
          const a = await typedOr('tensors', () => ck.tensors());
          const m = await typedOr('tensors', () => mem!.tensors());
          assert.deepEqual(a && [...a.keys()], m && [...m.keys()]);
        } finally { await ck.close(); }
      });
      if (outcome === 'refused') assert.equal(mem, undefined, 'fromBytes() accepted what open() refused');
    }));
  } finally { cleanup(); }
});

const viewNumber = fc.oneof(fc.integer({ min: 0, max: 5 }),
  fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 1e15, 2 ** 53 - 1, -1));

test('fuzz: tensor views with huge sizes, strides, offsets and storage lengths are refused before anything is allocated', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const arb = fc.record({
    storageType: fc.constantFrom(...Object.keys(STORAGES)),
    // 'fit': the storage is exactly as long as the view needs, so only the view's own size can be wrong.
    numel: fc.oneof(viewNumber, fc.constant('fit' as const)),
    offset: fc.oneof(fc.constant(0), viewNumber),
    shape: fc.array(viewNumber, { maxLength: 4 }),
    // Stride 0 (a broadcast view) makes a small storage look like a huge tensor.
    stride: fc.array(fc.oneof(fc.constantFrom(0, 1), viewNumber), { maxLength: 4 }),
    entryBytes: fc.constantFrom('exact', 'empty', 'short'),
  });
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  await runFuzz('torch huge views', 1500, 0x7012_0007, fc.asyncProperty(arb, async (v) => {
    const b = new PickleBuilder().proto(2).emptyDict().str('w');
    b.global('torch._utils', '_rebuild_tensor_v2').mark();
    const stride = v.shape.map((_, k) => v.stride[k] ?? 1);
    const numelOf = v.numel === 'fit'
      ? (v.shape.includes(0) ? v.offset : v.offset + v.shape.reduce((a, d, k) => a + (d - 1) * stride[k], 0) + 1)
      : v.numel;
    b.mark().str('storage').global('torch', v.storageType).str('0').str('cpu');
    b.long(numelOf);
    b.op(0x74).binpersid();
    b.long(v.offset);
    b.mark(); v.shape.forEach((d) => b.long(d)); b.op(0x74);
    b.mark(); stride.forEach((d) => b.long(d)); b.op(0x74);
    b.newFalse().global('collections', 'OrderedDict').emptyTuple().reduce().op(0x74).reduce();
    b.setitem().stop();
    const need = Math.max(0, numelOf * DTYPE_SIZE[STORAGES[v.storageType]]);
    const len = v.entryBytes === 'exact' && need <= 1 << 16 ? need : v.entryBytes === 'short' ? Math.min(need, 16) : 0;
    const bytes = torchZip(b.build(), { 0: new Uint8Array(len) });
    seen[await typedOrValidAsync('TorchCheckpoint.fromBytes', async () => TorchCheckpoint.fromBytes(bytes), (ck) => checkCheckpoint(ck))]++;
  }));
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

/** Byte patterns of single opcodes (with operands) that a stress pickle repeats many times. */
const REPEATABLE: number[][] = [[0x4e], [0x28], [0x5d], [0x7d], [0x29], [0x32], [0x94], [0x65], [0x61], [0x74], [0x6c], [0x64],
  [0x75], [0x85], [0x86], [0x30], [0x31], [0x4b, 0x01], [0x8c, 0x01, 0x41], [0x68, 0x00], [0x71, 0x00], [0x73], [0x88]];

/** A length-prefixed operand of `n` bytes (LONG4 is the one whose decoding cost grows with n). */
function bigOperand(op: 'LONG4' | 'BINUNICODE' | 'BINBYTES', n: number): Uint8Array {
  const out = new Uint8Array(5 + n);
  out[0] = op === 'LONG4' ? 0x8b : op === 'BINUNICODE' ? 0x58 : 0x42;
  new DataView(out.buffer).setUint32(1, n, true);
  out.fill(op === 'LONG4' ? 0xa5 : 0x61, 5);
  return out;
}

test('fuzz: stress pickles (100k-fold repeated opcodes, 100 KB operands) finish within the per-case budget with a value or a typed error', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  // Specs, not bytes, are generated, so a failure report shows a short recipe instead of 100 KB.
  type Segment = { pattern: number[]; repeat: number } | { op: 'LONG4' | 'BINUNICODE' | 'BINBYTES'; n: number };
  const segment: fc.Arbitrary<Segment> = fc.oneof(
    fc.record({ pattern: fc.constantFrom(...REPEATABLE), repeat: fc.constantFrom(1, 2, 3, 1000, 150_000) }),
    fc.record({ op: fc.constantFrom('LONG4' as const, 'BINUNICODE' as const, 'BINBYTES' as const), n: fc.constantFrom(0, 1, 1000, 100_000) }),
  );
  const build = (s: Segment): Uint8Array => {
    if ('op' in s) return bigOperand(s.op, s.n);
    const out = new Uint8Array(s.pattern.length * s.repeat);
    for (let i = 0; i < s.repeat; i++) out.set(s.pattern, i * s.pattern.length);
    return out;
  };
  const arb = fc.array(segment, { minLength: 1, maxLength: 5 });
  await runFuzz('pickle stress', 40, 0x7012_0008, fc.asyncProperty(arb, async (segs) => {
    const bytes = concat(new Uint8Array([0x80, 2]), ...segs.map(build), new Uint8Array([0x2e]));
    typedOrValid('unpickle', () => unpickle(bytes), (v) => checkValue(v));
    await typedOrValidAsync('TorchCheckpoint.fromBytes', async () => TorchCheckpoint.fromBytes(torchZip(bytes, {})), (ck) => checkCheckpoint(ck));
  }));
});
