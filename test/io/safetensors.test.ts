// In-memory safetensors: round trips, the byte layout the writer promises, and
// f32 -> bf16/f16 storage conversion checked against bit patterns known from numpy/PyTorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { parseSafetensors, serializeSafetensors, castForStorage } from '../../src/io/safetensors.js';
import { assertSameTensor, sampleTensors } from './util.js';

test('round trip of every dtype, 0-d and empty tensors, and metadata', () => {
  const tensors = sampleTensors();
  const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'ünïcode ✓' });
  const f = parseSafetensors(bytes);
  assert.deepEqual(f.metadata, { format: 'pt', note: 'ünïcode ✓' });
  assert.deepEqual(new Set(f.names()), new Set(Object.keys(tensors)));
  for (const [name, t] of Object.entries(tensors)) {
    assertSameTensor(name, f.read(name), t);
    const info = f.info(name);
    assert.equal(info.dtype, t.dtype);
    assert.deepEqual(info.shape, [...t.shape]);
    assert.equal(info.byteLength, t.data.byteLength, `${name}: byteLength`);
  }
  // An ArrayBuffer input (e.g. from fetch) works as well as a Uint8Array.
  const copy = bytes.slice().buffer;
  assertSameTensor('from ArrayBuffer', parseSafetensors(copy).read('i64'), tensors.i64);
});

test('writer layout: 8-byte aligned data, space padding, contiguous, deterministic order', () => {
  const a = { z: sampleTensors().u8, a: sampleTensors().f64, m: sampleTensors().f32 };
  const b = { m: a.m, a: a.a, z: a.z };
  const ba = serializeSafetensors(a, { k: 'v' });
  const bb = serializeSafetensors(b, { k: 'v' });
  assert.deepEqual(ba, bb, 'insertion order must not change the bytes');
  const n = Number(new DataView(ba.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, 'data section starts 8-byte aligned');
  const text = new TextDecoder().decode(ba.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/s, 'header is JSON padded with spaces');
  const header = JSON.parse(text);
  // Largest elements first, then by name: f64 'a' (32 B), f32 'm' (12 B), u8 'z' (3 B).
  assert.deepEqual(header.a.data_offsets, [0, 32]);
  assert.deepEqual(header.m.data_offsets, [32, 44]);
  assert.deepEqual(header.z.data_offsets, [44, 47]);
  assert.equal(ba.length, 8 + n + 47, 'no bytes after the last tensor');
  assert.deepEqual(header.__metadata__, { k: 'v' });
  assert.deepEqual(header.a, { dtype: 'F64', shape: [2, 2], data_offsets: [0, 32] });
});

test('read with {dtype: "f32"} converts bf16, f16, f64 and integer tensors', () => {
  const f = parseSafetensors(serializeSafetensors(sampleTensors()));
  assert.deepEqual([...f.read('bf16', { dtype: 'f32' }).data], [1, NaN]);
  const h = f.read('f16', { dtype: 'f32' });
  assert.equal(h.dtype, 'f32');
  assert.deepEqual([...h.data], [1, NaN, -0, 2 ** -24]);
  assert.ok(Object.is(h.data[2], -0), 'f16 0x8000 is -0');
  assert.deepEqual([...f.read('i8', { dtype: 'f32' }).data], [-128, 0, 127]);
  assert.deepEqual([...f.read('f64', { dtype: 'f32' }).data], [1.5, -0, Infinity, NaN]); // f64 max overflows f32
  // readInto widens into a caller's Float32Array, including one on shared memory (like the wasm heap).
  const dest = new Float32Array(new SharedArrayBuffer(16 + 16), 16, 4);
  f.readInto('f16', dest, { dtype: 'f32' });
  assert.deepEqual([...dest], [1, NaN, -0, 2 ** -24]);
});

// [f32 input, expected bf16 bits]; values from torch.tensor(x).bfloat16().view(torch.int16).
const BF16_CASES: [number, number][] = [
  [1, 0x3f80], [-0, 0x8000], [0, 0x0000], [Infinity, 0x7f80], [-Infinity, 0xff80], [NaN, 0x7fc0],
  [0.1, 0x3dcd], // 0x3DCCCCCD rounds up
  [1 + 2 ** -8, 0x3f80], // tie (0x3F808000) -> even mantissa ...80
  [1 + 3 * 2 ** -8, 0x3f82], // tie (0x3F818000) -> even ...82
  [1 + 2 ** -8 + 2 ** -23, 0x3f81], // just above the tie
  [3.4028234663852886e38, 0x7f80], // f32 max rounds to Inf
  [2 ** -133, 0x0001], // smallest bf16 subnormal, exact
  [2 ** -134, 0x0000], // tie between 0 and 0x0001 -> even (0)
  [3 * 2 ** -134, 0x0002], // tie between 0x0001 and 0x0002 -> even
  [-(2 ** -133), 0x8001],
];

// [f32 input, expected f16 bits]; values from numpy np.float32(x).astype(np.float16).view(np.uint16).
const F16_CASES: [number, number][] = [
  [1, 0x3c00], [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00], [NaN, 0x7e00],
  [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00], // overflow to Inf
  [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001], [3 * 2 ** -25, 0x0002], // subnormals, ties to even
  [1023 * 2 ** -24, 0x03ff], [1023.5 * 2 ** -24, 0x0400], [2 ** -14, 0x0400], [-(2 ** -24), 0x8001], [-(2 ** -26), 0x8000],
  [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], // normal ties to even
  [0.1, 0x2e66], [1 / 3, 0x3555],
];

for (const [to, cases] of [['bf16', BF16_CASES], ['f16', F16_CASES]] as const) {
  test(`f32 stored as ${to}: bit patterns through writer and reader`, () => {
    const src = Tensor.fromArray(cases.map((c) => c[0]));
    const bytes = serializeSafetensors({ w: src, keep: new Tensor('i32', [1], new Int32Array([7])) }, {}, { storeF32As: to });
    const f = parseSafetensors(bytes);
    assert.equal(f.info('w').dtype, to);
    assert.equal(f.info('keep').dtype, 'i32', 'non-f32 tensors are stored as they are');
    const bits = f.read('w').data as Uint16Array;
    cases.forEach(([x, want], i) => {
      assert.equal(bits[i], want, `${to}(${x}): got 0x${bits[i].toString(16)}, expected 0x${want.toString(16)}`);
    });
    // Reading back as f32 gives the exactly representable values (NaN stays NaN, -0 stays -0).
    const back = f.read('w', { dtype: 'f32' }).data as Float32Array;
    const viaCast = castForStorage(src, to).toFloat32();
    cases.forEach(([x], i) => {
      assert.ok(Object.is(back[i], viaCast[i]), `${to}(${x}) read as f32: ${back[i]} vs ${viaCast[i]}`);
      if (Number.isNaN(x)) assert.ok(Number.isNaN(back[i]));
      if (Object.is(x, -0)) assert.ok(Object.is(back[i], -0));
    });
  });
}

test('f16/bf16 -> f32 on read: known values', () => {
  const h = new Tensor('f16', [6], new Uint16Array([0x7bff, 0x0001, 0x03ff, 0xfc00, 0x8000, 0x3555]));
  const b = new Tensor('bf16', [4], new Uint16Array([0x0001, 0x7f7f, 0xff80, 0x3dcd]));
  const f = parseSafetensors(serializeSafetensors({ h, b }));
  const hv = f.read('h', { dtype: 'f32' }).data;
  assert.deepEqual([...hv], [65504, 5.960464477539063e-8, 6.097555160522461e-5, -Infinity, -0, 0.333251953125]);
  assert.ok(Object.is(hv[4], -0));
  const bv = f.read('b', { dtype: 'f32' }).data;
  assert.deepEqual([...bv], [9.183549615799121e-41, 3.3895313892515355e38, -Infinity, 0.10009765625]);
});

test('castForStorage refuses non-f32 input and keeps shapes', () => {
  assert.throws(() => castForStorage(new Tensor('f64', [1], new Float64Array([1])), 'bf16', 'w'), /'w' is f64; only f32/);
  const c = castForStorage(Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]), 'f16');
  assert.deepEqual([...c.shape], [2, 3]);
  assert.equal(c.dtype, 'f16');
});

test('the in-memory module graph has no Node imports (it must load in browsers)', async () => {
  const { readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const seen = new Set<string>();
  const visit = (url: URL) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const code = readFileSync(fileURLToPath(url), 'utf8');
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      assert.ok(spec.startsWith('.'), `${url.pathname} imports '${spec}', which browsers cannot load`);
      visit(new URL(spec, url));
    }
  };
  visit(new URL('../../src/io/safetensors.js', import.meta.url));
  assert.ok(seen.size >= 5, `walked ${seen.size} modules`);
});
