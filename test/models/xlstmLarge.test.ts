// xLSTM Large / xLSTM-7B against the official float32 runs (test/fixtures/xlstm_large,
// xlstm_large_hf): prefill logits and states, step logits, greedy generation; plus
// prefill-then-step consistency and the error paths of loading and input checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { serializeSafetensors, parseSafetensors } from '../../src/io/safetensors.js';
import { XLSTMLarge, resolveXLSTMLargeConfig } from '../../src/models/xlstmLarge/index.js';
import { loadCase, assertGolden, assertClose, FIXTURES, GoldenCase } from '../helpers/golden.js';

let be: WasmBackend;
let model: XLSTMLarge;
let c: GoldenCase;

const ids = (g: GoldenCase, name: string): number[][] => {
  const [B, S] = g.shape(name);
  const d = g.io.get(name)!.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => Number(d[b * S + s])));
};

before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  c = loadCase('xlstm_large');
  model = await XLSTMLarge.fromPretrained(join(FIXTURES, 'xlstm_large'), { backend: be });
});
after(() => { model?.dispose(); be?.dispose(); });

test('config: derived dims equal meta.json derived_dims, frozen', () => {
  const cfg = resolveXLSTMLargeConfig(c.config);
  for (const [k, v] of Object.entries(c.meta.derived_dims)) assert.equal((cfg as any)[k], v, k);
  assert.ok(Object.isFrozen(cfg));
  const hf = resolveXLSTMLargeConfig(loadCase('xlstm_large_hf').config);
  assert.equal(hf.embedding_dim, cfg.embedding_dim);
  assert.equal(hf.num_blocks, cfg.num_blocks);
  assert.equal(hf.ffn_up_proj_dim, cfg.ffn_up_proj_dim);
});

test('config: bad enumerated values and disagreeing aliases name the field', () => {
  assert.throws(() => resolveXLSTMLargeConfig({ ...c.config, weight_mode: 'packed' }), /weight_mode = "packed"/);
  assert.throws(() => resolveXLSTMLargeConfig({ ...c.config, mode: 'decode' }), /mode = "decode"/);
  assert.throws(() => resolveXLSTMLargeConfig({ ...c.config, chunkwise_kernel: 'parallel--native_siging_autograd' }), /chunkwise_kernel = "parallel--native_siging_autograd"/);
  assert.throws(() => resolveXLSTMLargeConfig({ ...c.config, inference_state_dtype: 'bfloat16' }), /inference_state_dtype = "bfloat16"/);
  assert.throws(() => resolveXLSTMLargeConfig({ ...c.config, hidden_size: 64 }), /embedding_dim = 128 and its alias hidden_size = 64 disagree/);
  const { num_heads: _n, ...noHeads } = c.config;
  assert.throws(() => resolveXLSTMLargeConfig(noHeads), /num_heads is required/);
});

test('xlstm_large: prefill logits and final states', () => {
  const r = model.forward(ids(c, 'input_ids'));
  assert.deepEqual(r.logits.shape, c.shape('logits'));
  assertGolden(c, 'logits', r.logits.data as Float32Array);
  r.state.forEach((s, b) => {
    for (const k of ['c', 'n', 'm'] as const) assertGolden(c, `state__block_${b}__${k}`, s[k].data as Float32Array);
  });
});

test('xlstm_large: token-by-token step logits (logits_step)', () => {
  const input = ids(c, 'input_ids');
  const [B, S] = c.shape('input_ids');
  const V = c.config.vocab_size;
  const st = model.emptyState(B);
  const out = new Float32Array(B * S * V);
  for (let t = 0; t < S; t++) {
    const r = model.step(input.map((row) => row[t]), st);
    assert.deepEqual(r.logits.shape, [B, V]);
    for (let b = 0; b < B; b++) out.set((r.logits.data as Float32Array).subarray(b * V, (b + 1) * V), (b * S + t) * V);
  }
  assertGolden(c, 'logits_step', out);
  st.forEach((s, b) => { for (const k of ['c', 'n', 'm'] as const) assertGolden(c, `state__block_${b}__${k}`, s[k].data as Float32Array); });
});

test('xlstm_large: prefill of a prefix then steps equals the full-sequence logits', () => {
  const input = ids(c, 'input_ids');
  const [B, S] = c.shape('input_ids');
  const V = c.config.vocab_size;
  const full = model.forward(input).logits.data as Float32Array;
  const P = Math.max(1, S - 5);
  const pre = model.forward(input.map((r) => r.slice(0, P)));
  const { atol } = c.tol('logits');
  for (let b = 0; b < B; b++) assertClose(`prefix b${b}`, (pre.logits.data as Float32Array).subarray(b * P * V, (b + 1) * P * V), full.subarray(b * S * V, (b * S + P) * V), atol);
  // forward with a state continues the same way and leaves that state as it was
  const m0 = Float32Array.from(pre.state[0].m.data as Float32Array);
  const rest = model.forward(input.map((r) => r.slice(P)), { state: pre.state });
  assert.deepEqual(Float32Array.from(pre.state[0].m.data as Float32Array), m0);
  for (let b = 0; b < B; b++) assertClose(`continued b${b}`, (rest.logits.data as Float32Array).subarray(b * (S - P) * V, (b + 1) * (S - P) * V), full.subarray((b * S + P) * V, (b + 1) * S * V), atol);
  // step updates the state in place
  const st = pre.state;
  for (let t = P; t < S; t++) {
    const r = model.step(input.map((row) => row[t]), st);
    assert.equal(r.state, st);
    for (let b = 0; b < B; b++) assertClose(`step t${t} b${b}`, (r.logits.data as Float32Array).subarray(b * V, (b + 1) * V), full.subarray((b * S + t) * V, (b * S + t + 1) * V), atol);
  }
});

test('xlstm_large: greedy generation token for token, its logits and final state', () => {
  const [B, n] = c.shape('gen_tokens');
  const r = model.generate(ids(c, 'gen_prompt_ids'), { maxLength: n, returnLogits: true });
  assert.deepEqual(r.tokens, ids(c, 'gen_tokens'));
  assert.deepEqual(r.logits!.shape, c.shape('gen_step_logits'));
  assertGolden(c, 'gen_step_logits', r.logits!.data as Float32Array);
  assert.equal(r.state.length, c.config.num_blocks);
  r.state.forEach((s, b) => { for (const k of ['c', 'n', 'm'] as const) assertGolden(c, `gen_state__block_${b}__${k}`, s[k].data as Float32Array); });
  assert.equal(r.tokens.length, B);
});

test('xlstm_large_hf: logits and gen_tokens through the HF layout and config', async () => {
  const h = loadCase('xlstm_large_hf');
  const m = await XLSTMLarge.fromPretrained(join(FIXTURES, 'xlstm_large_hf'), { backend: be });
  try {
    assert.equal(m.weights.layout, 'hf');
    assertGolden(h, 'logits', m.forward(ids(h, 'input_ids')).logits.data as Float32Array);
    const [, n] = h.shape('gen_tokens');
    assert.deepEqual(m.generate(ids(h, 'gen_prompt_ids'), { maxLength: n }).tokens, ids(h, 'gen_tokens'));
  } finally { m.dispose(); }
});

test('fused weight mode and bf16 weights give the same model', async () => {
  const src = parseSafetensors(readFileSync(join(FIXTURES, 'xlstm_large', 'model.safetensors')));
  const t: Record<string, Tensor> = {};
  for (const n of src.names()) t[n] = src.read(n);
  const cat = (names: string[]) => {
    const parts = names.map((n) => t[n]);
    const data = new Float32Array(parts.reduce((a, p) => a + p.size, 0));
    let o = 0;
    for (const p of parts) { data.set(p.data as Float32Array, o); o += p.size; delete t[names[parts.indexOf(p)]]; }
    return new Tensor('f32', [parts.reduce((a, p) => a + p.shape[0], 0), ...parts[0].shape.slice(1)], data);
  };
  for (let b = 0; b < c.config.num_blocks; b++) {
    const m = `backbone.blocks.${b}.mlstm_layer.`, f = `backbone.blocks.${b}.ffn.`;
    t[`${m}qkv_opreact.weight`] = cat(['q', 'k', 'v', 'ogate_preact'].map((x) => `${m}${x}.weight`));
    t[`${m}ifgate_preact.weight`] = cat([`${m}igate_preact.weight`, `${m}fgate_preact.weight`]);
    t[`${m}ifgate_preact.bias`] = cat([`${m}igate_preact.bias`, `${m}fgate_preact.bias`]);
    t[`${f}proj_up_gate_z.weight`] = cat([`${f}proj_up_gate.weight`, `${f}proj_up.weight`]);
  }
  const input = ids(c, 'input_ids');
  const fused = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t)), { ...c.config, weight_mode: 'fused' }, { backend: be });
  try { assertGolden(c, 'logits', fused.forward(input).logits.data as Float32Array); } finally { fused.dispose(); }
  // bf16 on disk: same network on bf16-rounded weights, so only a loose check against the f32 run
  const half = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t, {}, { storeF32As: 'bf16' })), { ...c.config, weight_mode: 'fused' }, { backend: be });
  try {
    assert.equal((half.weights.blocks[0].qkvo as Tensor).dtype, 'bf16');
    assertClose('bf16 logits', half.forward(input).logits.data as Float32Array, c.f32('logits'), 1.0);
  } finally { half.dispose(); }
  const f16 = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t, {}, { storeF32As: 'f16' })), { ...c.config, weight_mode: 'fused' }, { backend: be });
  try {
    assert.equal((f16.weights.blocks[0].projDown as Tensor).dtype, 'f16');
    assert.equal(f16.weights.embedding.dtype, 'f32'); // the gather kernel reads f32/bf16 tables only
    assertClose('f16 logits', f16.forward(input).logits.data as Float32Array, c.f32('logits'), 0.1);
  } finally { f16.dispose(); }
  const wide = await XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t, {}, { storeF32As: 'bf16' })), { ...c.config, weight_mode: 'fused' }, { backend: be, matrixDtype: 'f32' });
  try { assert.equal((wide.weights.blocks[0].qkvo as Tensor).dtype, 'f32'); } finally { wide.dispose(); }
});

test('load errors: missing tensor, wrong shape; nothing half-loaded', async () => {
  const src = parseSafetensors(readFileSync(join(FIXTURES, 'xlstm_large', 'model.safetensors')));
  const base: Record<string, Tensor> = {};
  for (const n of src.names()) base[n] = src.read(n);
  const missing = { ...base };
  delete missing['backbone.blocks.1.mlstm_layer.k.weight'];
  await assert.rejects(XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(missing)), c.config, { backend: be }),
    /missing tensor backbone\.blocks\.1\.mlstm_layer\.k\.weight/);
  const wrong = { ...base, 'backbone.blocks.0.ffn.proj_down.weight': new Tensor('f32', [128, 10], new Float32Array(1280)) };
  wrong['backbone.blocks.0.ffn.proj_down.weight'] = new Tensor('f32', [c.config.embedding_dim, 10], new Float32Array(c.config.embedding_dim * 10));
  const used = be.heap.bytesInUse;
  await assert.rejects(XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(wrong)), c.config, { backend: be }),
    new RegExp(`backbone\\.blocks\\.0\\.ffn\\.proj_down\\.weight: expected shape \\[${c.config.embedding_dim}, ${c.meta.derived_dims.ffn_up_proj_dim}\\], file has \\[${c.config.embedding_dim}, 10\\]`));
  assert.equal(be.heap.bytesInUse, used);
  // a read that fails after some tensors were placed frees them all
  const good = parseSafetensors(serializeSafetensors(base));
  let reads = 0;
  const failing = Object.assign(Object.create(good), {
    readInto(name: string, dest: any, o: any) { if (++reads === 10) throw new Error(`disk error reading ${name}`); return good.readInto(name, dest, o); },
  });
  await assert.rejects(XLSTMLarge.fromSource(failing, c.config, { backend: be }), /disk error reading/);
  assert.equal(reads, 10);
  assert.equal(be.heap.bytesInUse, used);
  // a config that does not match the file (more blocks) names the first absent block tensor
  await assert.rejects(XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(base)), { ...c.config, num_blocks: c.config.num_blocks + 1 }, { backend: be }),
    new RegExp(`missing tensor backbone\\.blocks\\.${c.config.num_blocks}\\.norm_mlstm\\.weight`));
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-large-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...c.config, weight_mode: 'tiled' }));
    await assert.rejects(XLSTMLarge.fromPretrained(dir, { backend: be }), /weight_mode = "tiled"/);
  } finally { rmSync(dir, { recursive: true }); }
});

test('input errors: token id >= vocab, empty prompt, ragged batch, bad state', () => {
  const V = c.config.vocab_size;
  assert.throws(() => model.forward([[1, V]]), new RegExp(`inputIds\\[0\\]\\[1\\] = ${V} is not a token id .*vocab_size ${V}`));
  assert.throws(() => model.forward([[-1]]), /inputIds\[0\]\[0\] = -1/);
  assert.throws(() => model.forward([[]]), /shape \[1, 0\]/);
  assert.throws(() => model.forward([]), /shape \[0, 0\]/);
  assert.throws(() => model.forward([[1, 2], [3]]), /inputIds\[1\] has length 1, expected 2/);
  assert.throws(() => model.generate([[]], { maxLength: 3 }), /shape \[1, 0\]/);
  assert.throws(() => model.generate([[1]], { maxLength: 0 }), /maxLength = 0/);
  assert.throws(() => model.step([V + 3], model.emptyState(1)), /tokenIds\[0\]\[0\] = \d+ is not a token id/);
  assert.throws(() => model.step([1, 2], model.emptyState(1)), /state\[0\]\.c is f32 \[1, .*expected f32 \[2,/);
  assert.throws(() => model.forward(new Tensor('f32', [1, 2], new Float32Array(2))), /dtype f32, expected i32 or i64/);
  const r = model.forward(new Tensor('i64', [1, 2], BigInt64Array.from([3n, 4n])));
  assert.deepEqual(r.logits.shape, [1, 2, V]);
});

test('name table variants: use_bias (zero biases), tied embeddings, query/key/value names', async () => {
  const src = parseSafetensors(readFileSync(join(FIXTURES, 'xlstm_large', 'model.safetensors')));
  const base: Record<string, Tensor> = {};
  for (const n of src.names()) base[n] = src.read(n);
  const input = ids(c, 'input_ids');
  const load = (t: Record<string, Tensor>, cfg: object) => XLSTMLarge.fromSource(parseSafetensors(serializeSafetensors(t)), { ...c.config, ...cfg }, { backend: be });
  // use_bias: every Linear and norm gets a bias; zero biases must reproduce the bias-free run
  const withBias: Record<string, Tensor> = { ...base };
  for (const [n, t] of Object.entries(base)) {
    const bn = n.replace(/\.weight$/, '.bias');
    if (n.endsWith('.weight') && !withBias[bn] && !n.startsWith('embedding') && n !== 'lm_head.weight') withBias[bn] = new Tensor('f32', [t.shape[0]], new Float32Array(t.shape[0]));
  }
  await assert.rejects(load(base, { use_bias: true }), /missing tensor backbone\.blocks\.0\.norm_mlstm\.bias/);
  const mb = await load(withBias, { use_bias: true });
  try {
    assert.ok(mb.weights.blocks[0].qkvoBias && mb.weights.blocks[0].projUpBias && mb.weights.outNormBias);
    assertGolden(c, 'logits', mb.forward(input).logits.data as Float32Array);
  } finally { mb.dispose(); }
  // tie_word_embeddings: no lm_head in the file, the embedding is used; equals the untied model with lm_head := embedding
  const tiedT = { ...base };
  delete tiedT['lm_head.weight'];
  const tied = await load(tiedT, { tie_word_embeddings: true });
  const untied = await load({ ...base, 'lm_head.weight': base['embedding.weight'] }, {});
  try {
    assert.equal(tied.weights.lmHead, tied.weights.embedding);
    const a = tied.forward(input).logits.data as Float32Array, b = untied.forward(input).logits.data as Float32Array;
    assertClose('tied vs untied', a, b, 0);
    assert.ok(!Array.from(a).every((v, i) => Math.abs(v - c.f32('logits')[i]) < 1e-3), 'tied head must differ from the real lm_head');
  } finally { tied.dispose(); untied.dispose(); }
  // some transformers versions name q/k/v query/key/value
  const renamed: Record<string, Tensor> = {};
  for (const [n, t] of Object.entries(base)) renamed[n.replace(/mlstm_layer\.q\./, 'mlstm_layer.query.').replace(/mlstm_layer\.k\./, 'mlstm_layer.key.').replace(/mlstm_layer\.v\./, 'mlstm_layer.value.')] = t;
  assert.ok(renamed['backbone.blocks.0.mlstm_layer.query.weight']);
  const mr = await load(renamed, {});
  try { assertGolden(c, 'logits', mr.forward(input).logits.data as Float32Array); } finally { mr.dispose(); }
});
