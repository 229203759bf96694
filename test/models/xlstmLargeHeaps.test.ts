// xLSTM Large beyond the golden f32 runs: the LanguageModel surface (modelType,
// vocabSize, logits 'last'), load-time weight formats (bf16 / int8 / q4) with progress
// reports, and models split over several WebAssembly heaps (maxHeapBytes), which must
// compute exactly what the single-heap model computes. Sizes come from the fixtures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Q4Weight } from '../../src/tensor/quant.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { XLSTMLarge, resolveXLSTMLargeConfig } from '../../src/models/xlstmLarge/index.js';
import type { LoadProgress } from '../../src/models/xlstmLarge/index.js';
import { RandomXLSTMLargeSource } from '../../src/models/xlstmLarge/randomWeights.js';
import type { LanguageModel } from '../../src/models/languageModel.js';
import { loadCase, assertGolden, assertClose, FIXTURES, GoldenCase } from '../helpers/golden.js';

let be: WasmBackend;
let model: XLSTMLarge;
let c: GoldenCase;
const dir = () => join(FIXTURES, 'xlstm_large');

const ids = (g: GoldenCase, name: string): number[][] => {
  const [B, S] = g.shape(name);
  const d = g.io.get(name)!.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => Number(d[b * S + s])));
};
const f32 = (t: Tensor) => t.data as Float32Array;

before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  c = loadCase('xlstm_large');
  model = await XLSTMLarge.fromPretrained(dir(), { backend: be });
});
after(() => { model?.dispose(); be?.dispose(); });

test('LanguageModel surface: modelType, vocabSize, logits "last" = last row of "all"', () => {
  const lm: LanguageModel<ReturnType<XLSTMLarge['emptyState']>> = model;
  assert.equal(lm.modelType, 'xlstm-large');
  assert.equal(lm.vocabSize, c.config.vocab_size);
  const input = ids(c, 'input_ids');
  const [B, S] = c.shape('input_ids');
  const V = c.config.vocab_size;
  const all = model.forward(input);
  const last = model.forward(input, { logits: 'last' });
  assert.deepEqual(last.logits.shape, [B, 1, V]);
  const { atol } = c.tol('logits');
  for (let b = 0; b < B; b++) assertClose(`last b${b}`, f32(last.logits).subarray(b * V, (b + 1) * V), f32(all.logits).subarray((b * S + S - 1) * V, (b * S + S) * V), atol);
  // the state is the full prefill's either way
  for (let b = 0; b < c.config.num_blocks; b++) assertClose(`state ${b}`, f32(last.state[b].c), f32(all.state[b].c), 0);
  assertGolden(c, 'logits', f32(all.logits));
  assert.throws(() => model.forward(input, { logits: 'first' as never }), /logits = "first", expected "all" or "last"/);
});

test('split over heaps: the heaps made for the model take the caller backend\'s threads, build and barrierSpins', async () => {
  const spinBe = await WasmBackend.create({ threads: 2, barrierSpins: 3000 });
  try {
    const split = await XLSTMLarge.fromPretrained(dir(), { backend: spinBe, maxHeapBytes: 1 });
    try {
      assert.ok(split.backends.length > 2);
      for (const b of split.backends) {
        assert.equal(b.barrierSpins, 3000);
        assert.equal(b.threads, 2);
        assert.equal(b.features.relaxedSimd, spinBe.features.relaxedSimd);
      }
    } finally { split.dispose(); }
  } finally { spinBe.dispose(); }
});

test('split over heaps (maxHeapBytes): forward, step, generate identical to one heap; state on each block heap', async () => {
  // 1 byte: every unit (embedding, each block, the head) gets a heap of its own; the caller's
  // heap already holds the other model, so even the embedding moves to a new one.
  const split = await XLSTMLarge.fromPretrained(dir(), { backend: be, maxHeapBytes: 1 });
  const backends = split.backends;
  try {
    const nb = c.config.num_blocks;
    assert.equal(backends.length, nb + 3);
    assert.equal(backends[0], be);
    assert.deepEqual(split.weights.placement, { embedding: 1, blocks: Array.from({ length: nb }, (_, b) => b + 2), head: nb + 2 });
    for (const extra of backends.slice(1)) assert.equal(extra.threads, be.threads);
    const input = ids(c, 'input_ids');
    const a = model.forward(input), s = split.forward(input);
    assertClose('split logits', f32(s.logits), f32(a.logits), 0);
    for (let b = 0; b < nb; b++) {
      assert.ok(split.blockBackend(b).heap.owns(s.state[b].c.data), `prefill state ${b} on its block's heap`);
      for (const k of ['c', 'n', 'm'] as const) assertClose(`state ${b}.${k}`, f32(s.state[b][k]), f32(a.state[b][k]), 0);
    }
    const st = split.emptyState(2), st1 = model.emptyState(2);
    st.forEach((x, b) => { for (const k of ['c', 'n', 'm'] as const) assert.ok(split.blockBackend(b).heap.owns(x[k].data), `emptyState ${b}.${k}`); });
    for (const tok of [[3, 5], [7, 1], [0, 2]]) {
      const r1 = model.step(tok, st1), r2 = split.step(tok, st);
      assertClose(`step ${tok}`, f32(r2.logits), f32(r1.logits), 0);
    }
    const [, n] = c.shape('gen_tokens');
    const g = split.generate(ids(c, 'gen_prompt_ids'), { maxLength: n });
    assert.deepEqual(g.tokens, ids(c, 'gen_tokens'));
    // a state from one heap layout feeds the other (forward copies it in, step updates in place)
    const cont = split.forward(input.map((r) => r.slice(0, 2)), { state: a.state });
    const cont1 = model.forward(input.map((r) => r.slice(0, 2)), { state: a.state });
    assertClose('continued', f32(cont.logits), f32(cont1.logits), 0);
  } finally { split.dispose(); }
  assert.equal(split.backends.length, 1, 'dispose drops the created backends');
  // a budget larger than the model keeps everything on the caller's heap
  const one = await XLSTMLarge.fromPretrained(dir(), { backend: be, maxHeapBytes: 1 << 30 });
  try { assert.equal(one.backends.length, 1); } finally { one.dispose(); }
  await assert.rejects(XLSTMLarge.fromPretrained(dir(), { backend: be, maxHeapBytes: 5 * 2 ** 30 }), /maxHeapBytes is 5368709120, expected a number of bytes > 0 and <= /);
});

test('dtype bf16 / int8 / q4: formats, closeness to the f32 golden logits, progress reports', async () => {
  const input = ids(c, 'input_ids');
  const gold = c.f32('logits');
  const cases: { dtype: 'f32' | 'bf16' | 'int8' | 'q4'; tol: number }[] = [
    { dtype: 'f32', tol: c.tol('logits').atol }, { dtype: 'bf16', tol: 1.0 }, { dtype: 'int8', tol: 1.0 }, { dtype: 'q4', tol: Infinity },
  ];
  const maxErr: Record<string, number> = {};
  for (const { dtype, tol } of cases) {
    const seen: LoadProgress[] = [];
    const m = await XLSTMLarge.fromPretrained(dir(), { backend: be, dtype, onProgress: (p) => seen.push(p) });
    try {
      const b0 = m.weights.blocks[0];
      if (dtype === 'q4') assert.ok(b0.qkvo instanceof Q4Weight && b0.projDown instanceof Q4Weight && m.weights.lmHead instanceof Q4Weight);
      else {
        const want = dtype === 'int8' ? 'i8' : dtype;
        for (const w of [b0.qkvo, b0.outProj, b0.projUpGate, b0.projDown, m.weights.lmHead]) assert.equal((w as Tensor).dtype, want);
      }
      if (dtype === 'int8') assert.ok(be.heap.owns((b0.qkvo as Tensor).scales!), 'int8 scales live on the heap');
      assert.equal(b0.ifGate.dtype, 'f32');
      assert.equal(b0.normMlstm.dtype, 'f32');
      assert.equal(m.weights.embedding.dtype, dtype === 'f32' ? 'f32' : 'bf16');
      const out = f32(m.forward(input).logits);
      let err = 0;
      for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i] - gold[i]));
      maxErr[dtype] = err;
      assert.ok(err <= tol, `${dtype}: max |logit - golden| = ${err} > ${tol}`);
      // 4-bit weights move this tiny random model's logits (near the soft cap 30) by much more
      // than an absolute tolerance would allow; they must still point the same way.
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < out.length; i++) { dot += out[i] * gold[i]; na += out[i] ** 2; nb += gold[i] ** 2; }
      assert.ok(dot / Math.sqrt(na * nb) > 0.9, `${dtype}: cosine(logits, golden) = ${dot / Math.sqrt(na * nb)}`);
      // progress: monotone, ends at the total, names real tensors
      assert.ok(seen.length > 10);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i].loadedBytes > seen[i - 1].loadedBytes);
      const lastP = seen[seen.length - 1];
      assert.equal(lastP.loadedBytes, lastP.totalBytes);
      assert.equal(lastP.loaded, lastP.loadedBytes);
      assert.ok(seen.some((p) => p.tensor === 'backbone.blocks.0.mlstm_layer.q.weight'));
      // decoding runs on the stored format (GEMV)
      const st = m.emptyState(1);
      const r = m.step([3], st);
      assert.ok(f32(r.logits).every(Number.isFinite));
    } finally { m.dispose(); }
  }
  // coarser formats are further from the f32 model, and none is exact
  assert.ok(maxErr.bf16 > 0 && maxErr.int8 > 0 && maxErr.q4 > maxErr.int8, JSON.stringify(maxErr));
  await assert.rejects(XLSTMLarge.fromPretrained(dir(), { backend: be, dtype: 'int4' as never }), /dtype is "int4", expected "f32", "bf16", "int8" or "q4"/);
});

test('dtype int8 with tied embeddings: the LM head is its own quantised copy, the embedding stays bf16', async () => {
  const src = parseSafetensors(readFileSync(join(dir(), 'model.safetensors')));
  const t: Record<string, Tensor> = {};
  for (const n of src.names()) if (n !== 'lm_head.weight') t[n] = src.read(n);
  const m = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t)), { ...c.config, tie_word_embeddings: true }, { backend: be, dtype: 'int8' });
  const ref = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t)), { ...c.config, tie_word_embeddings: true }, { backend: be });
  try {
    assert.equal((m.weights.lmHead as Tensor).dtype, 'i8');
    assert.equal(m.weights.embedding.dtype, 'bf16');
    assert.notEqual(m.weights.lmHead, m.weights.embedding);
    const input = ids(c, 'input_ids');
    assertClose('tied int8 vs f32', f32(m.forward(input).logits), f32(ref.forward(input).logits), 1.0);
  } finally { m.dispose(); ref.dispose(); }
});

test('random-weight source: deterministic, bf16 = truncated f32, loads and decodes split over heaps', async () => {
  const cfg = resolveXLSTMLargeConfig({ ...c.config, num_blocks: 3 });
  const a = new RandomXLSTMLargeSource(cfg, { seed: 7 }), b = new RandomXLSTMLargeSource(cfg, { seed: 7, dtype: 'bf16' });
  const name = 'backbone.blocks.1.ffn.proj_down.weight';
  const x = a.read(name), y = b.read(name, { dtype: 'f32' });
  assert.deepEqual(x.shape, [cfg.embedding_dim, cfg.ffn_up_proj_dim]);
  const into = new Float32Array(x.size);
  a.readInto(name, into);
  assert.deepEqual(into, f32(x));
  for (let i = 0; i < x.size; i += 97) {
    assert.ok(Math.abs(f32(x)[i] - f32(y)[i]) <= Math.abs(f32(x)[i]) / 128, `bf16 element ${i}`);
  }
  const sd = Math.sqrt(f32(x).reduce((s, v) => s + v * v, 0) / x.size);
  assert.ok(Math.abs(sd * Math.sqrt(cfg.ffn_up_proj_dim) - 1) < 0.05, `std ${sd}`);
  const one = await XLSTMLarge.fromSource(b, cfg, { backend: be, dtype: 'bf16' });
  const split = await XLSTMLarge.fromSource(b, cfg, { backend: be, dtype: 'bf16', maxHeapBytes: 2 * one.weights.bytes / 5 });
  try {
    assert.ok(split.backends.length > 1);
    const g1 = one.generate([[1, 2, 3]], { maxLength: 4 }), g2 = split.generate([[1, 2, 3]], { maxLength: 4 });
    assert.deepEqual(g2.tokens, g1.tokens);
  } finally { one.dispose(); split.dispose(); }
});
