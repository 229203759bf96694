// One definition for training and inference, LM families: the model definitions of
// src/models/xlstmLm/network.ts and src/models/xlstmLarge/network.ts run with the golden
// checkpoints' weights as plain tape inputs record nothing and give the official logits
// (f32 tape on the wasm kernels, f64 tape on the reference). And the loaders built on the
// weight tables are strict: an unexpected tensor is an error naming it and the file; a tied
// lm_head in the file is accepted. Sizes come from the fixtures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape } from '../../src/autograd/tape.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { inputWeights } from '../../src/blocks/basic.js';
import { resolveXLSTMLMConfig } from '../../src/models/xlstmLm/config.js';
import { xlstmLmNetwork } from '../../src/models/xlstmLm/network.js';
import { XLSTMLMModel } from '../../src/models/xlstmLm/model.js';
import { resolveXLSTMLargeConfig } from '../../src/models/xlstmLarge/config.js';
import { xlstmLargeNetwork } from '../../src/models/xlstmLarge/network.js';
import { XLSTMLarge } from '../../src/models/xlstmLarge/model.js';
import { loadCase, compare, FIXTURES, GoldenCase } from '../helpers/golden.js';

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 2 }); });
after(() => be.dispose());

function idsOf(g: GoldenCase): { ids: Int32Array; B: number; S: number } {
  const [B, S] = g.shape('input_ids');
  return { ids: Int32Array.from(g.io.get('input_ids')!.data as BigInt64Array, (v) => Number(v)), B, S };
}
function tensorsOf(dir: string): Map<string, Tensor> {
  const src = parseSafetensors(readFileSync(join(dir, 'model.safetensors')));
  return new Map(src.names().map((n) => [n, src.read(n)] as [string, Tensor]));
}

test('xlstmLmNetwork with plain weights: nothing recorded, official logits on the f32 and f64 tapes', () => {
  const c = loadCase('xlstm_lm');
  const cfg = resolveXLSTMLMConfig(c.config);
  const w = tensorsOf(c.dir);
  const { ids, B, S } = idsOf(c);
  const atol = c.tol('logits').atol;
  for (const t of [new Tape(be, 'f32'), new Tape(null, 'f64')]) {
    const y = xlstmLmNetwork(t, cfg, inputWeights(t, w), ids, B, S);
    assert.equal(t.length, 0, `${t.dtype} tape: an inference forward must record nothing`);
    assert.deepEqual([...y.shape], c.shape('logits'));
    const d = compare(Float32Array.from(y.data), c.f32('logits'), atol);
    assert.equal(d.bad, -1, `${t.dtype}: logits max |diff| ${d.maxAbs} (atol ${atol})`);
  }
});

for (const name of ['xlstm_large', 'xlstm_large_hf'] as const) {
  test(`xlstmLargeNetwork (${name}) with plain weights: nothing recorded, official logits on the f32 and f64 tapes`, () => {
    const c = loadCase(name);
    const cfg = resolveXLSTMLargeConfig(c.config);
    const w = tensorsOf(c.dir);
    const layout = w.has('backbone.embeddings.weight') ? 'hf' : 'native';
    const { ids, B, S } = idsOf(c);
    const atol = c.tol('logits').atol;
    for (const t of [new Tape(be, 'f32'), new Tape(null, 'f64')]) {
      const y = xlstmLargeNetwork(t, cfg, inputWeights(t, w), ids, B, S, { layout, mlstmGradMode: 'official' });
      assert.equal(t.length, 0, `${t.dtype} tape: an inference forward must record nothing`);
      const d = compare(Float32Array.from(y.data), c.f32('logits'), atol);
      assert.equal(d.bad, -1, `${t.dtype}: logits max |diff| ${d.maxAbs} (atol ${atol})`);
    }
  });
}

test('weight-table loaders are strict: an unexpected tensor names itself and the file; a tied lm_head in the file is accepted', async () => {
  const large = loadCase('xlstm_large');
  const lw = tensorsOf(large.dir);
  const E = large.config.embedding_dim, V = large.config.vocab_size;
  const extra = new Map(lw);
  extra.set('backbone.blocks.0.mlstm_layer.extra.weight', new Tensor('f32', [2], new Float32Array(2)));
  const used = be.heap.bytesInUse;
  await assert.rejects(XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(extra), { source: 'extra.safetensors' }), large.config, { backend: be }),
    /xLSTMLarge weights \(.*\): 1 problem\(s\): unexpected tensor backbone\.blocks\.0\.mlstm_layer\.extra\.weight/);
  assert.equal(be.heap.bytesInUse, used, 'nothing half-loaded');
  // tied: the file also carries lm_head.weight (as torch's state_dict does); must have the embedding's shape
  const embName = lw.has('embedding.weight') ? 'embedding.weight' : 'backbone.embeddings.weight';
  const tied = new Map(lw);
  tied.set('lm_head.weight', lw.get(embName)!);
  const m = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(tied)), { ...large.config, tie_word_embeddings: true }, { backend: be });
  assert.equal(m.weights.lmHead, m.weights.embedding);
  m.dispose();
  tied.set('lm_head.weight', new Tensor('f32', [V - 1, E], new Float32Array((V - 1) * E)));
  await assert.rejects(XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(tied)), { ...large.config, tie_word_embeddings: true }, { backend: be }),
    new RegExp(`tensor lm_head\\.weight: expected shape \\[${V}, ${E}\\], file has \\[${V - 1}, ${E}\\]`));

  const lm = loadCase('xlstm_lm');
  const mw = tensorsOf(lm.dir);
  mw.set('xlstm_block_stack.blocks.0.stray', new Tensor('f32', [3], new Float32Array(3)));
  await assert.rejects(XLSTMLMModel.fromSource(parseSafetensors(serializeSafetensors(mw)), lm.config, { backend: be }),
    /xLSTMLMModel weights \(.*\): 1 problem\(s\): unexpected tensor xlstm_block_stack\.blocks\.0\.stray/);
});
