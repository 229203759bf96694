import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, readSafetensorsSimple } from '../helpers/golden.js';
import {
  PICKLE_ATTRIBUTES, TorchCheckpoint, TorchCheckpointError, TorchTensorRef, stripKeyPrefix,
} from '../../src/io/torchCheckpoint.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { PickleBuilder, bytesOf, torchZip } from './torchTestUtil.js';
import { ZipError } from '../../src/io/zip.js';
import { tempDir } from './util.js';

const DIR = join(FIXTURES, 'tirex');
const CKPT = join(DIR, 'model.ckpt');

function plain(v: unknown): unknown { return JSON.parse(JSON.stringify(v)); }

test('TiRex model.ckpt: hyper_parameters match config.json', async () => {
  const config = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8'));
  const ckpt = await TorchCheckpoint.open(CKPT);
  try {
    const obj = ckpt.object as Record<string, any>;
    assert.deepEqual(plain(obj.hyper_parameters.model_config), config.model_config);
    assert.equal(obj.hyper_parameters.train_ctx_len, config.train_ctx_len);
    assert.equal(typeof obj.hyper_parameters.model_config.block_kwargs.all_slstm, 'boolean');
    assert.equal(ckpt.archivePrefix, 'model/');
  } finally { await ckpt.close(); }
});

test('TiRex model.ckpt: every state_dict tensor (block_stack. stripped) equals model.safetensors bit for bit', async () => {
  const golden = readSafetensorsSimple(join(DIR, 'model.safetensors'));
  const ckpt = await TorchCheckpoint.open(CKPT);
  try {
    const raw = ckpt.tensors('state_dict');
    assert.ok([...raw.keys()].some((k) => k.startsWith('block_stack.')), 'the file uses the legacy prefix');
    const tensors = ckpt.tensors('state_dict', { stripPrefix: 'block_stack.' });
    assert.deepEqual([...tensors.keys()].sort(), [...golden.keys()].sort());
    // The same through a renameKeys function.
    assert.deepEqual([...ckpt.tensors(undefined, { renameKeys: stripKeyPrefix('block_stack.') }).keys()], [...tensors.keys()]);
    for (const [name, ref] of tensors) {
      const g = golden.get(name)!;
      assert.equal(ref.dtype, 'f32', name);
      assert.deepEqual([...ref.shape], g.shape, name);
      const t = await ckpt.read(ref);
      assert.equal(t.dtype, 'f32');
      assert.deepEqual([...t.shape], g.shape, name);
      assert.deepEqual(bytesOf(t.data), bytesOf(g.data), `${name}: data bits`);
    }
    // Names of the default map are the file's own (prefixed) keys.
    const first = [...raw.keys()].find((k) => k.startsWith('block_stack.'))!;
    const viaName = await ckpt.read(first);
    assert.deepEqual(bytesOf(viaName.data), bytesOf(golden.get(first.slice('block_stack.'.length))!.data));
    await assert.rejects(ckpt.read('no.such.tensor'), (e: unknown) => e instanceof TorchCheckpointError && /tensor 'no\.such\.tensor': no such tensor \(available: 'input_patch/.test(e.message) && e.message.startsWith(CKPT));
  } finally { await ckpt.close(); }
  // The src/io safetensors reader agrees too (same names, same bits), via fromBytes.
  const mem = TorchCheckpoint.fromBytes(readFileSync(CKPT), { source: 'model.ckpt' });
  const st = await SafetensorsFile.open(join(DIR, 'model.safetensors'));
  try {
    for (const [name, ref] of mem.tensors(undefined, { stripPrefix: 'block_stack.' })) {
      assert.deepEqual(bytesOf((await mem.read(ref)).data), bytesOf((await st.read(name)).data), name);
    }
  } finally { await st.close(); await mem.close(); }
});

test('reading after close fails', async () => {
  const ckpt = await TorchCheckpoint.open(CKPT);
  await ckpt.close();
  await assert.rejects(ckpt.read('state_dict'), /checkpoint is closed/);
});

/** A synthetic checkpoint with every supported dtype, a storage offset, a shared storage and a transposed view. */
function syntheticCheckpoint(opts: { byteorder?: string; zip64?: boolean } = {}) {
  const f32 = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]);
  const f16 = new Uint16Array([0x3c00, 0x7e01, 0x8000]);
  const bf16 = new Uint16Array([0x3f80, 0xff81]);
  const i64 = new BigInt64Array([-(2n ** 63n), 42n]);
  const i32 = new Int32Array([-7, 7]);
  const u8 = new Uint8Array([0, 255]);
  const bool = new Uint8Array([1, 0, 1]);
  const f64 = new Float64Array([Math.PI, -0]);
  const b = new PickleBuilder().proto(2).emptyDict();
  const item = (name: string, f: (p: PickleBuilder) => void) => { b.str(name); f(b); b.setitem(); };
  item('matrix', (p) => p.tensor('FloatStorage', '0', 8, 0, [2, 4], [4, 1]));
  item('rowOne', (p) => p.tensor('FloatStorage', '0', 8, 4, [4], [1])); // offset view into the same storage
  item('transposed', (p) => p.tensor('FloatStorage', '0', 8, 0, [4, 2], [1, 4])); // non-contiguous
  item('scalar', (p) => p.tensor('FloatStorage', '0', 8, 5, [], []));
  item('empty', (p) => p.tensor('FloatStorage', '0', 8, 0, [0, 3], [3, 1]));
  item('half', (p) => p.tensor('HalfStorage', '1', 3, 0, [3], [1]));
  item('bf', (p) => p.tensor('BFloat16Storage', '2', 2, 0, [2, 1], [1, 1]));
  item('long', (p) => p.tensor('LongStorage', '3', 2, 0, [2], [1]));
  item('int', (p) => p.tensor('IntStorage', '4', 2, 0, [2], [1]));
  item('byte', (p) => p.tensor('ByteStorage', '5', 2, 0, [2], [1]));
  item('flag', (p) => p.tensor('BoolStorage', '6', 3, 0, [3], [1]));
  item('double', (p) => p.tensor('DoubleStorage', '7', 2, 0, [2], [1]));
  item('meta', (p) => { p.emptyDict().str('n').int(3).setitem().str('xs').tuple((q) => q.int(1), (q) => q.none()).setitem(); });
  const pkl = b.stop().build();
  const storages = {
    0: bytesOf(f32), 1: bytesOf(f16), 2: bytesOf(bf16), 3: bytesOf(i64), 4: bytesOf(i32), 5: u8, 6: bool, 7: bytesOf(f64),
  };
  return { bytes: torchZip(pkl, storages, opts), f32, f16, bf16, i64, i32, u8, bool, f64 };
}

for (const opts of [{}, { byteorder: 'little', zip64: true }]) {
  test(`synthetic checkpoint ${JSON.stringify(opts)}: dtypes, offsets, shared storage, strided views`, async () => {
    const s = syntheticCheckpoint(opts);
    const ckpt = TorchCheckpoint.fromBytes(s.bytes, { source: 'synthetic.ckpt' });
    const refs = ckpt.tensors();
    assert.deepEqual([...refs.keys()], ['matrix', 'rowOne', 'transposed', 'scalar', 'empty', 'half', 'bf', 'long', 'int', 'byte', 'flag', 'double']);
    assert.equal(refs.get('transposed')!.contiguous, false);
    assert.equal(refs.get('matrix')!.contiguous, true);
    const rd = (n: string) => ckpt.read(n);
    assert.deepEqual([...(await rd('matrix')).data], [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual([...(await rd('rowOne')).data], [4, 5, 6, 7]);
    const tr = await rd('transposed');
    assert.deepEqual([...tr.shape], [4, 2]);
    assert.deepEqual([...tr.data], [0, 4, 1, 5, 2, 6, 3, 7]);
    const sc = await rd('scalar');
    assert.deepEqual([...sc.shape], []);
    assert.deepEqual([...sc.data], [5]);
    assert.deepEqual([...(await rd('empty')).shape], [0, 3]);
    const expect: [string, string, ArrayBufferView][] = [
      ['half', 'f16', s.f16], ['bf', 'bf16', s.bf16], ['long', 'i64', s.i64], ['int', 'i32', s.i32],
      ['byte', 'u8', s.u8], ['flag', 'bool', s.bool], ['double', 'f64', s.f64],
    ];
    for (const [name, dtype, data] of expect) {
      const t = await rd(name);
      assert.equal(t.dtype, dtype, name);
      assert.deepEqual(bytesOf(t.data), bytesOf(data), name);
    }
    const meta = (ckpt.object as any).meta;
    assert.equal(meta.n, 3);
    assert.deepEqual([...meta.xs], [1, null]);
    assert.ok(Object.isFrozen(meta.xs), 'tuples are frozen arrays');
    await ckpt.close();
  });
}

test('open() from a file works lazily and errors name the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = syntheticCheckpoint();
    const path = join(dir, 'syn.ckpt');
    await writeFile(path, s.bytes);
    const ckpt = await TorchCheckpoint.open(path);
    assert.deepEqual([...(await ckpt.read('transposed')).data], [0, 4, 1, 5, 2, 6, 3, 7]);
    await ckpt.close();
    const cut = join(dir, 'cut.ckpt');
    await writeFile(cut, s.bytes.subarray(0, s.bytes.length - 30));
    await assert.rejects(TorchCheckpoint.open(cut), (e: unknown) => e instanceof Error && e.message.startsWith(`${cut}: `) && /end-of-central-directory/.test(e.message));
    const notZip = join(dir, 'legacy.pt');
    await writeFile(notZip, new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    await assert.rejects(TorchCheckpoint.open(notZip), (e: unknown) => e instanceof TorchCheckpointError && e.message.startsWith(`${notZip}: this is a legacy (non-zip) torch.save file`));
    const junk = join(dir, 'junk.ckpt');
    await writeFile(junk, new Uint8Array(100).fill(7));
    await assert.rejects(TorchCheckpoint.open(junk), (e: unknown) => e instanceof ZipError && e.message.startsWith(`${junk}: not a zip archive`));
  } finally { cleanup(); }
});

test('content errors: big-endian byteorder, storage size mismatch, view past the storage, missing storage, no data.pkl', async () => {
  assert.throws(() => TorchCheckpoint.fromBytes(syntheticCheckpoint({ byteorder: 'big' }).bytes, { source: 'be.ckpt' }),
    /^TorchCheckpointError: be\.ckpt: byteorder .*'big'; only 'little'/);
  const one = (storage: Uint8Array, numel: number, shape: number[], withEntry = true) => {
    const pkl = new PickleBuilder().proto(2).emptyDict().str('w').tensor('FloatStorage', '0', numel, 0, shape, shape.length ? [1] : []).setitem().stop().build();
    return TorchCheckpoint.fromBytes(torchZip(pkl, withEntry ? { 0: storage } : {}), { source: 'bad.ckpt' });
  };
  await assert.rejects(one(new Uint8Array(8), 4, [4]).read('w'), /^TorchCheckpointError: bad\.ckpt: tensor 'w': storage 'archive\/data\/0' has 8 bytes but the checkpoint declares 4 f32 elements \(16 bytes\)/);
  assert.throws(() => one(new Uint8Array(16), 4, [5]), /bad\.ckpt:archive\/data\.pkl: pickle opcode REDUCE .*needs 5 elements but storage '0' has 4/);
  await assert.rejects(one(new Uint8Array(16), 4, [4], false).read('w'), /tensor 'w': storage entry 'archive\/data\/0' is missing/);
  const noPkl = torchZip(new Uint8Array([0x80, 2, 0x4e, 0x2e]), {}, { prefix: 'a/b' });
  assert.throws(() => TorchCheckpoint.fromBytes(noPkl, { source: 'nopkl.ckpt' }), /nopkl\.ckpt: not a torch\.save zip checkpoint: no '<archive>\/data\.pkl'/);
  const ck = one(new Uint8Array(16), 4, [4]);
  assert.throws(() => ck.tensors(['state_dict', 'x']), /bad\.ckpt: no key 'state_dict' under <root> \(has: w\)/);
});

test('BUILD on a state_dict attaches _metadata as a hidden attribute, not as a key', () => {
  const b = new PickleBuilder().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce()
    .str('w').tensor('FloatStorage', '0', 1, 0, [1], [1]).setitem()
    .emptyDict().str('_metadata').emptyDict().setitem().op(0x62) // BUILD
    .stop().build();
  const ckpt = TorchCheckpoint.fromBytes(torchZip(b, { 0: new Uint8Array(4) }));
  assert.deepEqual(Object.keys(ckpt.object as object), ['w']);
  assert.ok((ckpt.object as any)[PICKLE_ATTRIBUTES]._metadata !== undefined);
  assert.ok(ckpt.tensors().get('w') instanceof TorchTensorRef);
});

test('shared containers are listed under each name, cycles are cut (no endless recursion)', () => {
  // d = {'w': tensor, 'l': l, 'again': l} with l = [l, tensor] (a list containing itself)
  const b = new PickleBuilder().proto(2).emptyDict()
    .str('w').tensor('FloatStorage', '0', 1, 0, [1], [1]).op(0x71, 9).setitem() // BINPUT 9 = the tensor
    .str('l').op(0x5d, 0x71, 5, 0x68, 5, 0x61, 0x68, 9, 0x61).setitem() // EMPTY_LIST BINPUT 5 BINGET 5 APPEND BINGET 9 APPEND
    .str('again').op(0x68, 5).setitem()
    .stop().build();
  const ckpt = TorchCheckpoint.fromBytes(torchZip(b, { 0: new Uint8Array(4) }));
  const l = (ckpt.object as any).l;
  assert.equal(l[0], l);
  assert.deepEqual([...ckpt.tensors().keys()], ['w', 'l.1', 'again.1']);
  assert.equal(ckpt.tensors().get('l.1'), ckpt.tensors().get('w'));
});

test('a hostile DAG of shared lists (2^40 paths) is cut off with an error instead of hanging', () => {
  const b = new PickleBuilder().proto(2).op(0x5d, 0x71, 0, 0x30); // EMPTY_LIST BINPUT 0 POP
  for (let i = 1; i <= 40; i++) b.op(0x5d, 0x71, i, 0x28, 0x68, i - 1, 0x68, i - 1, 0x65, 0x30); // [L(i-1), L(i-1)]
  const pkl = b.op(0x68, 40).stop().build();
  const ckpt = TorchCheckpoint.fromBytes(torchZip(pkl, {}), { source: 'dag.ckpt' });
  assert.throws(() => ckpt.tensors(), /^TorchCheckpointError: dag\.ckpt: more than 1000000 containers and tensors to walk/);
});
