// The generic weight-table matcher: strict like load_state_dict (missing, unexpected,
// mis-shaped and non-float tensors reported by name and shape), aliases, tied names and
// legacy prefixes; and each family's table lists exactly the names its loader reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { WeightTable, matchWeights, mapInfoSource, problemsMessage, readWeightsF32 } from '../../src/models/weightTable.js';

const table: WeightTable = {
  arch: 'Toy',
  specs: [
    { name: 'emb.weight', shape: [5, 2], role: 'embedding' },
    { name: 'blocks.0.q.weight', shape: [2, 2], aliases: ['blocks.0.query.weight'] },
    { name: 'blocks.0.norm.weight', shape: [2] },
  ],
  tied: [{ name: 'lm_head.weight', target: 'emb.weight', shape: [5, 2] }],
  legacyPrefixes: ['stack.'],
};
const t = (shape: number[], dtype: 'f32' | 'bf16' | 'i32' = 'f32') => new Tensor(dtype, shape, dtype === 'i32' ? new Int32Array(shape.reduce((a, b) => a * b, 1)) : dtype === 'bf16' ? new Uint16Array(shape.reduce((a, b) => a * b, 1)) : new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5));

test('matchWeights: a complete source via alias, legacy prefix and a tied name is ok; reads f32 by official name', async () => {
  const src = new Map([['emb.weight', t([5, 2])], ['blocks.0.query.weight', t([2, 2], 'bf16')], ['stack.blocks.0.norm.weight', t([2])], ['lm_head.weight', t([5, 2])]]);
  const m = await matchWeights(table, mapInfoSource(src));
  assert.ok(m.ok, problemsMessage('toy', m.problems));
  assert.equal(m.matches.get('blocks.0.q.weight')!.file, 'blocks.0.query.weight');
  assert.equal(m.matches.get('blocks.0.norm.weight')!.file, 'stack.blocks.0.norm.weight');
  const read = await readWeightsF32(m, (n) => src.get(n)!);
  assert.deepEqual([...read.keys()], ['emb.weight', 'blocks.0.q.weight', 'blocks.0.norm.weight']);
  assert.equal(read.get('blocks.0.q.weight')!.dtype, 'f32');
  assert.equal(read.get('emb.weight')!.data[0], 0.5);
});

test('matchWeights: missing, unexpected, mis-shaped (also a tied name) and non-float tensors are each reported by name', async () => {
  const src = new Map([['emb.weight', t([5, 3])], ['blocks.0.q.weight', t([2, 2], 'i32')], ['extra.weight', t([1])], ['lm_head.weight', t([4, 2])]]);
  const m = await matchWeights(table, mapInfoSource(src));
  assert.equal(m.ok, false);
  assert.deepEqual(m.problems.missing.map((s) => s.name), ['blocks.0.norm.weight']);
  assert.deepEqual(m.problems.unexpected, ['extra.weight']);
  assert.deepEqual(m.problems.misshaped.map((p) => [p.file, p.shape]), [['emb.weight', [5, 3]], ['lm_head.weight', [4, 2]]]);
  assert.deepEqual(m.problems.badDtype.map((p) => [p.file, p.dtype]), [['blocks.0.q.weight', 'i32']]);
  const msg = problemsMessage('Toy weights (toy.safetensors)', m.problems);
  assert.match(msg, /^Toy weights \(toy\.safetensors\): 5 problem\(s\): /);
  assert.match(msg, /missing tensor blocks\.0\.norm\.weight \(expected shape \[2\]\)/);
  assert.match(msg, /tensor emb\.weight: expected shape \[5, 2\], file has \[5, 3\]/);
  assert.match(msg, /tensor blocks\.0\.q\.weight: dtype i32 is not a float format/);
  assert.match(msg, /unexpected tensor extra\.weight/);
  // strict: false ignores names the table does not list
  const lax = await matchWeights(table, mapInfoSource(new Map([['emb.weight', t([5, 2])], ['blocks.0.q.weight', t([2, 2])], ['blocks.0.norm.weight', t([2])], ['optimizer.step', t([1])]])), { strict: false });
  assert.ok(lax.ok);
  const missingAlias = await matchWeights(table, mapInfoSource(new Map([['emb.weight', t([5, 2])], ['blocks.0.norm.weight', t([2])]])));
  assert.match(problemsMessage('x', missingAlias.problems), /missing tensor blocks\.0\.q\.weight \(or blocks\.0\.query\.weight\) \(expected shape \[2, 2\]\)/);
});

test('trainables check tensor maps with the same tables: legacy names, tied heads, unexpected and missing tensors (nothing placed on failure)', async () => {
  const { WasmBackend } = await import('../../src/backend/wasm/backend.js');
  const { TiRexTrainable } = await import('../../src/train/tirexTrainable.js');
  const { XLSTMLMTrainable } = await import('../../src/train/xlstmLmTrainable.js');
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const a = TiRexTrainable.create(be, { embeddingDim: 8, numHeads: 2, numBlocks: 1, inputFfDim: 8, patchSize: 2, contextLength: 8 }, { seed: 1 });
    const sd = a.tensors();
    // legacy 'block_stack.' names (older Lightning checkpoints) load as the official ones
    const legacy = new Map([...sd].map(([n, t]) => [n.startsWith('blocks.') || n === 'out_norm.weight' ? `block_stack.${n}` : n, t] as [string, Tensor]));
    const b = TiRexTrainable.fromTensors(be, a.hyperParameters, legacy);
    assert.deepEqual(b.params.get('blocks.0.norm_ffn.weight')!.value.data, sd.get('blocks.0.norm_ffn.weight')!.data);
    const used = be.heap.bytesInUse;
    assert.throws(() => TiRexTrainable.fromTensors(be, a.hyperParameters, new Map([...sd, ['blocks.0.stray', t([1])]])), /TiRexTrainable: unexpected tensors for this config: blocks\.0\.stray/);
    const short = new Map(sd); short.delete('out_norm.weight');
    assert.throws(() => TiRexTrainable.fromTensors(be, a.hyperParameters, short), /TiRexTrainable: tensor 'out_norm\.weight' is missing/);
    assert.equal(be.heap.bytesInUse, used, 'a failed check places nothing on the heap');

    const cfg = { vocab_size: 16, embedding_dim: 8, num_blocks: 1, context_length: 4, tie_weights: true, mlstm_block: { mlstm: { num_heads: 2, conv1d_kernel_size: 2, qkv_proj_blocksize: 2 } } };
    const lm = XLSTMLMTrainable.init(cfg, { seed: 1 });
    const lsd = lm.stateDict();
    const withHead = new Map([...lsd, ['lm_head.weight', lsd.get('token_embedding.weight')!]]);
    assert.equal(XLSTMLMTrainable.fromTensors(cfg, withHead).params.length, lm.params.length, 'a tied lm_head is accepted and not a parameter');
    assert.throws(() => XLSTMLMTrainable.fromTensors(cfg, new Map([...lsd, ['xlstm_block_stack.blocks.0.xlstm.stray', t([2])]])), /XLSTMLMTrainable: unexpected tensor xlstm_block_stack\.blocks\.0\.xlstm\.stray/);
  } finally { be.dispose(); }
});
