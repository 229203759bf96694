// Bad input: every malformed-file case must fail with an error naming the file,
// the tensor (where one is involved) and what was expected vs found. Each case is
// checked on both readers: in memory and the Node file reader.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../src/tensor/tensor.js';
import { parseSafetensors, serializeSafetensors, SafetensorsError, MAX_HEADER_BYTES } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { writeSafetensorsFile } from '../../src/io/safetensorsWrite.js';
import { rawFile, sampleTensors, tempDir } from './util.js';

const tmp = tempDir();
after(tmp.cleanup);
let counter = 0;

/** Asserts both readers reject `bytes`, with the source name and every pattern in the message. */
async function rejectsBoth(bytes: Uint8Array, patterns: RegExp[], tensor?: string): Promise<void> {
  const check = (source: string) => (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.ok(e.message.startsWith(`${source}: `), `message should start with the source: ${e.message}`);
    assert.equal(e.source, source);
    assert.equal(e.tensor, tensor, `tensor in: ${e.message}`);
    if (tensor !== undefined) assert.ok(e.message.includes(`tensor '${tensor}'`), e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
  assert.throws(() => parseSafetensors(bytes, { source: 'mem.safetensors' }), check('mem.safetensors'));
  const path = join(tmp.dir, `bad${counter++}.safetensors`);
  writeFileSync(path, bytes);
  await assert.rejects(SafetensorsFile.open(path), check(path));
}

const f32x2 = (name = 'w', offsets = [0, 8]) => ({ [name]: { dtype: 'F32', shape: [2], data_offsets: offsets } });

test('truncated file: data end beyond the file size', async () => {
  const good = serializeSafetensors({ a: Tensor.fromArray([1, 2, 3]), b: new Tensor('f64', [2], new Float64Array(2)) });
  // Layout: b (16 bytes) then a (12 bytes); cut 4 bytes off a.
  await rejectsBoth(good.subarray(0, good.length - 4), [/file is truncated: data ends at byte 28 .* only 24 data bytes/], 'a');
});

test('corrupt header: bad JSON, invalid UTF-8, not an object, bad lengths', async () => {
  await rejectsBoth(rawFile(null, new Uint8Array(0), '{"w": {"dtype": "F32",'), [/corrupt header: not valid UTF-8 JSON/]);
  const badUtf8 = rawFile({ ab: 1 });
  badUtf8[10] = 0xff; // the 'a' of the key
  await rejectsBoth(badUtf8, [/corrupt header: not valid UTF-8 JSON/]);
  await rejectsBoth(rawFile([1, 2]), [/expected a JSON object, got an array/]);
  await rejectsBoth(rawFile(42), [/expected a JSON object, got number/]);
  await rejectsBoth(rawFile(null), [/expected a JSON object, got null/]);
  await rejectsBoth(new Uint8Array([1, 0, 0]), [/too short .* 3 bytes, need at least 8/]);
  // Header length larger than the file.
  const long = rawFile({});
  new DataView(long.buffer).setBigUint64(0, 1000n, true);
  await rejectsBoth(long, [/header length 1000 bytes needs 1008 bytes but the file has 10/]);
  // Absurd header length (garbage in the first 8 bytes): refused before allocating.
  const absurd = rawFile({});
  new DataView(absurd.buffer).setBigUint64(0, 0x7fff_ffff_ffff_0000n, true);
  await rejectsBoth(absurd, [new RegExp(`header length ${0x7fff_ffff_ffff_0000n} bytes exceeds the limit of ${MAX_HEADER_BYTES} bytes`)]);
  const zero = rawFile({});
  new DataView(zero.buffer).setBigUint64(0, 0n, true);
  await rejectsBoth(zero, [/header length 0 is too small/]);
  await rejectsBoth(rawFile({ __metadata__: { version: 2 } }), [/__metadata__ value for 'version' must be a string, got 2/]);
  await rejectsBoth(rawFile({ __metadata__: [] }), [/__metadata__ must be an object/]);
});

test('offsets that do not match shape x dtype size', async () => {
  await rejectsBoth(rawFile({ w: { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 8] } }, new Uint8Array(12)),
    [/data_offsets \[0, 8\] span 8 bytes but shape \[2, 3\] x BF16 needs 12 bytes/], 'w');
});

test('overlapping and out-of-order offsets', async () => {
  await rejectsBoth(rawFile({ ...f32x2('a', [0, 8]), ...f32x2('b', [4, 12]) }, new Uint8Array(12)),
    [/data_offsets \[4, 12\] overlap tensor 'a' at \[0, 8\] \(expected begin >= 8\)/], 'b');
  await rejectsBoth(rawFile({ w: { dtype: 'U8', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)),
    [/data_offsets \[8, 0\] are out of order \(end < begin\)/], 'w');
});

test('unknown dtype, bad shape, bad data_offsets, bad entry', async () => {
  await rejectsBoth(rawFile({ q: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
    [/unknown dtype "F8_E4M3" \(supported: F64, F32, F16, BF16, I64, I32, I8, U8, BOOL\)/], 'q');
  await rejectsBoth(rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), [/shape must be an array of integers >= 0, got \[-1\]/], 'w');
  await rejectsBoth(rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 0] } }), [/got \[1\.5\]/], 'w');
  await rejectsBoth(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), [/data_offsets must be \[begin, end\]/], 'w');
  await rejectsBoth(rawFile({ w: 'F32' }), [/header entry must be an object/], 'w');
});

test('missing tensor name lists a few available names', () => {
  const names = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`layer${i}.weight`, Tensor.fromArray([i])]));
  const f = parseSafetensors(serializeSafetensors(names), { source: 'm.safetensors' });
  assert.throws(() => f.read('layer9.weight'),
    /^SafetensorsError: m\.safetensors: tensor 'layer9\.weight': no such tensor \(available: 'layer0\.weight', 'layer1\.weight', 'layer2\.weight', 'layer3\.weight', 'layer4\.weight', \.\.\. \(8 in all\)\)$/);
  assert.throws(() => f.info('x'), /tensor 'x': no such tensor/);
});

test('expected dtype/shape mismatches and bad readInto destinations', async () => {
  const path = join(tmp.dir, 'expect.safetensors');
  await writeSafetensorsFile(path, sampleTensors());
  const f = await SafetensorsFile.open(path);
  const mem = parseSafetensors(serializeSafetensors(sampleTensors()), { source: 'mem' });
  try {
    for (const [src, r] of [[path, f], ['mem', mem]] as const) {
      const read = async (name: string, opts: object) => r.read(name, opts);
      await assert.rejects(read('bf16', { expectDtype: 'f32' }), new RegExp(`^SafetensorsError: ${src}: tensor 'bf16': expected dtype f32 but the file stores bf16$`));
      await assert.rejects(read('bf16', { expectShape: [1, 2] }), /tensor 'bf16': expected shape \[1, 2\] but the file stores \[2, 1\]/);
      await assert.rejects(read('scalar', { expectShape: [1] }), /tensor 'scalar': expected shape \[1\] but the file stores \[\]/);
      await assert.rejects(read('f32', { dtype: 'bf16' }), /tensor 'f32': cannot convert f32 to bf16 on read \(only to f32\)/);
      const into = async (name: string, dest: any, opts: object = {}) => r.readInto(name, dest, opts);
      await assert.rejects(into('f32', new Float32Array(4)), /tensor 'f32': destination has 16 bytes but the tensor \(f32 \[3\]\) has 12/);
      await assert.rejects(into('f16', new Float32Array(2)), /destination is a Float32Array but the file stores f16 \(needs Uint16Array or Uint8Array, or pass \{dtype: 'f32'\}\)/);
      await assert.rejects(into('f16', new Uint16Array(4), { dtype: 'f32' }), /needs a Float32Array destination, got Uint16Array/);
      await assert.rejects(into('f16', new Float32Array(3), { dtype: 'f32' }), /destination has 3 elements but shape \[4\] has 4/);
    }
  } finally {
    await f.close();
  }
});

test('a file that shrinks after open fails on read, naming file and tensor', async () => {
  const path = join(tmp.dir, 'shrink.safetensors');
  const size = await writeSafetensorsFile(path, { big: Tensor.fromArray(new Array(64).fill(1)) });
  const f = await SafetensorsFile.open(path);
  try {
    truncateSync(path, size - 100);
    await assert.rejects(f.read('big'), (e: Error) => e.message.includes(path) && /tensor 'big': unexpected end of file/.test(e.message));
  } finally {
    await f.close();
  }
});

test('writer refuses what safetensors cannot hold', async () => {
  const q = new Tensor('i8', [2, 2], new Int8Array(4), { scales: new Float32Array(2) });
  assert.throws(() => serializeSafetensors({ q }), /'q' is i8 with per-row scales/);
  assert.throws(() => serializeSafetensors({ __metadata__: Tensor.fromArray([1]) }), /'__metadata__' is reserved/);
  assert.throws(() => serializeSafetensors({ x: [1, 2] as unknown as Tensor }), /'x' is not a Tensor/);
  assert.throws(() => serializeSafetensors({ x: Tensor.fromArray([1]) }, { v: 1 as unknown as string }), /metadata value for 'v' must be a string/);
  const path = join(tmp.dir, 'refused.safetensors');
  await assert.rejects(writeSafetensorsFile(path, { q }), /'q' is i8 with per-row scales/);
});
