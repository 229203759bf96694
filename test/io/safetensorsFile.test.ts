// Node file reader/writer: streaming write, lazy positioned reads, readInto, and a
// sparse > 4 GiB file whose tensors lie past the 2 GiB and 4 GiB marks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, writeSync, ftruncateSync, closeSync, readdirSync, readFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../src/tensor/tensor.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { writeSafetensorsFile } from '../../src/io/safetensorsWrite.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { assertSameTensor, sampleTensors, tempDir } from './util.js';

const tmp = tempDir();
after(tmp.cleanup);

test('writeSafetensorsFile + SafetensorsFile round trip every dtype, byte-identical to serializeSafetensors', async () => {
  const tensors = sampleTensors();
  const path = join(tmp.dir, 'all.safetensors');
  const size = await writeSafetensorsFile(path, tensors, { format: 'pt' });
  assert.equal(statSync(path).size, size);
  assert.deepEqual(new Uint8Array(readFileSync(path)), serializeSafetensors(tensors, { format: 'pt' }));
  assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.includes('.tmp')), [], 'no temp file left behind');
  const f = await SafetensorsFile.open(path);
  try {
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.equal(f.fileSize, size);
    assert.deepEqual(new Set(f.names()), new Set(Object.keys(tensors)));
    for (const [name, t] of Object.entries(tensors)) assertSameTensor(name, await f.read(name), t);
    assert.deepEqual(f.info('f64'), { dtype: 'f64', shape: [2, 2], byteLength: 32 });
  } finally {
    await f.close();
  }
  await assert.rejects(f.read('f32'), /all\.safetensors: file is closed/);
});

test('tensors whose data lives in shared memory (a wasm heap) are written correctly', async () => {
  const heap = new SharedArrayBuffer(64);
  const w = new Tensor('f32', [3], new Float32Array(heap, 8, 3));
  (w.data as Float32Array).set([1, -2, 3.5]);
  const path = join(tmp.dir, 'shared.safetensors');
  await writeSafetensorsFile(path, { w }, {}, {});
  await writeSafetensorsFile(join(tmp.dir, 'shared16.safetensors'), { w }, {}, { storeF32As: 'bf16' });
  const f = await SafetensorsFile.open(path);
  const g = await SafetensorsFile.open(join(tmp.dir, 'shared16.safetensors'));
  try {
    assert.deepEqual([...(await f.read('w')).data], [1, -2, 3.5]);
    assert.deepEqual([...(await g.read('w')).data], [0x3f80, 0xc000, 0x4060]);
  } finally {
    await f.close();
    await g.close();
  }
});

test('readInto: raw bytes into a shared-memory heap slice, stored-class arrays, and widening to f32', async () => {
  const w = Tensor.fromArray([1.5, -2, 0.1, 65520], [2, 2]);
  const path = join(tmp.dir, 'into.safetensors');
  await writeSafetensorsFile(path, { w, i: new Tensor('i64', [2], new BigInt64Array([5n, -6n])) }, {}, { storeF32As: 'f16' });
  const f = await SafetensorsFile.open(path);
  try {
    assert.equal(f.info('w').dtype, 'f16');
    // Like the wasm heap: a byte range inside a SharedArrayBuffer, with sentinels around it.
    const heap = new Uint8Array(new SharedArrayBuffer(64)).fill(0xaa);
    await f.readInto('w', heap.subarray(16, 24));
    assert.deepEqual([...new Uint16Array(heap.buffer, 16, 4)], [0x3e00, 0xc000, 0x2e66, 0x7c00]);
    assert.equal(heap[15], 0xaa);
    assert.equal(heap[24], 0xaa);
    const bits = new Uint16Array(4);
    await f.readInto('w', bits);
    assert.deepEqual([...bits], [0x3e00, 0xc000, 0x2e66, 0x7c00]);
    const vals = new Float32Array(4);
    await f.readInto('w', vals, { dtype: 'f32' });
    assert.deepEqual([...vals], [1.5, -2, 0.0999755859375, Infinity]);
    const ints = new BigInt64Array(2);
    await f.readInto('i', ints);
    assert.deepEqual([...ints], [5n, -6n]);
    const asF32 = await f.read('i', { dtype: 'f32', expectDtype: 'i64', expectShape: [2] });
    assert.deepEqual([...asF32.data], [5, -6]);
  } finally {
    await f.close();
  }
});

test('a sparse file larger than 4 GiB is read lazily with positioned reads past 2 GiB and 4 GiB', async () => {
  const G2 = 2 ** 31;
  const G4 = 2 ** 32;
  // Fillers make the layout contiguous (strict readers accept it); they are never read.
  const header = {
    __metadata__: { kind: 'sparse' },
    filler: { dtype: 'U8', shape: [G2], data_offsets: [0, G2] },
    far: { dtype: 'F32', shape: [4], data_offsets: [G2, G2 + 16] },
    filler2: { dtype: 'U8', shape: [G4 - 16], data_offsets: [G2 + 16, G2 + G4] },
    farther: { dtype: 'BF16', shape: [3], data_offsets: [G2 + G4, G2 + G4 + 6] },
  };
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + text.length) % 8)) % 8);
  const path = join(tmp.dir, 'sparse.safetensors');
  const dataStart = 8 + text.length;
  const fd = openSync(path, 'w');
  try {
    const head = Buffer.alloc(dataStart);
    head.writeBigUInt64LE(BigInt(text.length), 0);
    head.write(text, 8, 'utf8');
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, dataStart + G2 + G4 + 6);
    const far = new Float32Array([1, -2.5, 3e38, 1e-40]);
    writeSync(fd, new Uint8Array(far.buffer), 0, 16, dataStart + G2);
    const farther = new Uint16Array([0x3f80, 0xc020, 0x7fc0]);
    writeSync(fd, new Uint8Array(farther.buffer), 0, 6, dataStart + G2 + G4);
  } finally {
    closeSync(fd);
  }
  try {
    assert.ok(statSync(path).size > G4 + G2, 'the test file really is > 6 GiB');
    const f = await SafetensorsFile.open(path);
    try {
      assert.deepEqual(f.metadata, { kind: 'sparse' });
      assert.deepEqual(f.names(), ['filler', 'far', 'filler2', 'farther']);
      assert.deepEqual(f.info('filler2'), { dtype: 'u8', shape: [G4 - 16], byteLength: G4 - 16 });
      const far = await f.read('far', { expectShape: [4], expectDtype: 'f32' });
      assert.deepEqual([...far.data], [1, -2.5, new Float32Array([3e38])[0], new Float32Array([1e-40])[0]]);
      const farther = await f.read('farther', { dtype: 'f32' });
      assert.deepEqual([...farther.data], [1, -2.5, NaN]);
      const bits = new Uint16Array(3);
      await f.readInto('farther', bits);
      assert.deepEqual([...bits], [0x3f80, 0xc020, 0x7fc0]);
    } finally {
      await f.close();
    }
  } finally {
    rmSync(path, { force: true });
  }
});
