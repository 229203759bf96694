// Sharded checkpoints: the writer's shards + index, reading them back through
// ShardedSafetensors / openSafetensorsModel, lazy shard opening and its errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../src/tensor/tensor.js';
import { ShardedSafetensors, openSafetensorsModel } from '../../src/io/safetensorsSharded.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { writeShardedSafetensors, writeSafetensorsFile } from '../../src/io/safetensorsWrite.js';
import { assertSameTensor, sampleTensors, tempDir } from './util.js';

const tmp = tempDir();
after(tmp.cleanup);

function modelTensors(): Record<string, Tensor> {
  const t = (n: number, seed: number) => Tensor.fromArray(Array.from({ length: n }, (_, i) => Math.sin(seed + i)), [n]);
  return { 'a.weight': t(10, 1), 'b.weight': t(10, 2), 'c.big': t(40, 3), 'd.bias': t(3, 4), ids: new Tensor('i64', [2], new BigInt64Array([1n, 2n])) };
}

test('sharded writer: greedy shards in name order, index with total_size, round trip', async () => {
  const dir = join(tmp.dir, 'sharded');
  const tensors = modelTensors();
  // 40 + 40 bytes fit in 100; c.big (160 B) exceeds the limit and gets a shard alone.
  const res = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 100, metadata: { format: 'pt' } });
  const names = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];
  assert.deepEqual(res.shards, names);
  assert.equal(res.totalSize, 40 + 40 + 160 + 12 + 16);
  const index = JSON.parse(readFileSync(res.indexPath, 'utf8'));
  assert.deepEqual(index, {
    metadata: { format: 'pt', total_size: 268 },
    weight_map: { 'a.weight': names[0], 'b.weight': names[0], 'c.big': names[1], 'd.bias': names[2], ids: names[2] },
  });
  for (const open of [() => ShardedSafetensors.open(dir), () => ShardedSafetensors.open(res.indexPath), () => openSafetensorsModel(dir)]) {
    const s = await open();
    try {
      assert.ok(s instanceof ShardedSafetensors);
      assert.equal(s.metadata.total_size, 268);
      assert.deepEqual(s.names(), Object.keys(index.weight_map));
      for (const [name, t] of Object.entries(tensors)) assertSameTensor(name, await s.read(name), t);
      assert.deepEqual(await s.info('c.big'), { dtype: 'f32', shape: [40], byteLength: 160 });
      const dest = new Float32Array(3);
      await s.readInto('d.bias', dest);
      assert.deepEqual(dest, tensors['d.bias'].data);
      await s.verify();
    } finally {
      await s.close();
    }
  }
  // Each shard is itself a valid file carrying the metadata.
  const shard = await SafetensorsFile.open(join(dir, names[2]));
  assert.deepEqual(shard.metadata, { format: 'pt' });
  assert.deepEqual(shard.names(), ['ids', 'd.bias']);
  await shard.close();
});

test('sharded writer can store f32 as bf16', async () => {
  const dir = join(tmp.dir, 'sharded-bf16');
  await writeShardedSafetensors(dir, { w: Tensor.fromArray([1, 0.1]) }, { maxShardBytes: 1 << 20, storeF32As: 'bf16' });
  const s = await ShardedSafetensors.open(dir);
  assert.deepEqual([...(await s.read('w')).data], [0x3f80, 0x3dcd]);
  await s.close();
});

test('shards open lazily; a missing shard file or tensor names the tensor and the file', async () => {
  const dir = join(tmp.dir, 'broken');
  const res = await writeShardedSafetensors(dir, modelTensors(), { maxShardBytes: 100 });
  rmSync(join(dir, res.shards[1]));
  const index = JSON.parse(readFileSync(res.indexPath, 'utf8'));
  index.weight_map['ghost.weight'] = res.shards[0];
  writeFileSync(res.indexPath, JSON.stringify(index));
  const s = await ShardedSafetensors.open(dir);
  try {
    // Other shards still work: nothing was opened eagerly.
    assert.equal((await s.read('a.weight')).size, 10);
    await assert.rejects(s.read('c.big'), (e: Error) =>
      /tensor 'c\.big'/.test(e.message) && e.message.includes(join(dir, res.shards[1])) && /does not exist/.test(e.message));
    await assert.rejects(s.read('ghost.weight'), (e: Error) =>
      /tensor 'ghost\.weight'/.test(e.message) && e.message.includes(join(dir, res.shards[0])) && /missing from it/.test(e.message) && /'a\.weight'/.test(e.message));
    await assert.rejects(s.info('nope'), /tensor 'nope': no such tensor \(available: 'a\.weight', 'b\.weight', 'c\.big', 'd\.bias', 'ids', \.\.\. \(6 in all\)\)/);
    await assert.rejects(s.verify(), /c\.big/);
  } finally {
    await s.close();
  }
});

test('bad index files are rejected with the index path', async () => {
  const dir = join(tmp.dir, 'badindex');
  mkdirSync(dir, { recursive: true });
  const idx = join(dir, 'model.safetensors.index.json');
  writeFileSync(idx, '{"weight_map": {"a": "x.safetensors"');
  await assert.rejects(ShardedSafetensors.open(dir), (e: Error) => e.message.startsWith(idx) && /not valid JSON/.test(e.message));
  writeFileSync(idx, '{"metadata": {}}');
  await assert.rejects(ShardedSafetensors.open(idx), /"weight_map" must be an object/);
  writeFileSync(idx, '[1]');
  await assert.rejects(ShardedSafetensors.open(idx), /expected a JSON object/);
  writeFileSync(idx, JSON.stringify({ weight_map: { w: '../../etc/passwd' } }));
  await assert.rejects(ShardedSafetensors.open(idx), /tensor 'w': weight_map entry must be a shard file name relative to the index folder, got "\.\.\/\.\.\/etc\/passwd"/);
  writeFileSync(idx, JSON.stringify({ weight_map: { w: 7 } }));
  await assert.rejects(ShardedSafetensors.open(idx), /tensor 'w'.*got 7/);
});

test('openSafetensorsModel: model.safetensors folder, a file path, and a folder with neither', async () => {
  const dir = join(tmp.dir, 'single');
  mkdirSync(dir, { recursive: true });
  await writeSafetensorsFile(join(dir, 'model.safetensors'), sampleTensors());
  for (const p of [dir, join(dir, 'model.safetensors')]) {
    const m = await openSafetensorsModel(p);
    assert.ok(m instanceof SafetensorsFile);
    assertSameTensor('u8', await m.read('u8'), sampleTensors().u8);
    await m.close();
  }
  const empty = join(tmp.dir, 'empty');
  mkdirSync(empty, { recursive: true });
  writeFileSync(join(empty, 'other.safetensors'), '');
  await assert.rejects(openSafetensorsModel(empty), (e: Error) =>
    e.message.includes(empty) && /no model\.safetensors\.index\.json or model\.safetensors/.test(e.message) && /found other\.safetensors/.test(e.message));
});
