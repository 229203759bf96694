// Trainable xLSTM Large: logits against the official float32 runs (test/fixtures/xlstm_large:
// inference-mode and train-mode chunkwise logits; xlstm_large_hf) and against XLSTMLarge;
// float64 finite differences of the full loss (single and fused weight modes, biases, tied
// head, padded chunks); f32-tape gradients equal the f64 ones; a tiny model learns a repeated
// text; bad inputs; save -> inference model / loadLanguageModel round trip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Trainer } from '../../src/train/trainer.js';
import { TextDataset } from '../../src/train/textData.js';
import { XLSTMLargeTrainable } from '../../src/train/xlstmLargeTrainable.js';
import { evaluateLmLoss } from '../../src/train/xlstmLmTrainable.js';
import { XLSTMLarge, resolveXLSTMLargeConfig } from '../../src/models/xlstmLarge/index.js';
import { loadLanguageModel } from '../../src/models/auto.js';
import { loadCase, compare, GoldenCase, FIXTURES } from '../helpers/golden.js';

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 1 }); });
after(() => be.dispose());

function idsOf(g: GoldenCase, name = 'input_ids'): { ids: Int32Array; B: number; S: number } {
  const [B, S] = g.shape(name);
  return { ids: Int32Array.from(g.io.get(name)!.data as BigInt64Array, (v) => Number(v)), B, S };
}
const rows = (ids: Int32Array, B: number, S: number) => Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * S, (b + 1) * S)));

for (const name of ['xlstm_large', 'xlstm_large_hf'] as const) {
  test(`XLSTMLargeTrainable (${name}): logits equal the official logits and XLSTMLarge's`, async () => {
    const c = loadCase(name);
    const m = await XLSTMLargeTrainable.fromSafetensors(c.config, new Uint8Array(readFileSync(join(FIXTURES, name, 'model.safetensors'))));
    assert.equal(m.layout, name === 'xlstm_large' ? 'native' : 'hf');
    const { ids, B, S } = idsOf(c);
    const t = new Tape(be, 'f32');
    const logits = m.forward(t, ids, B, S);
    assert.deepEqual([...logits.shape], c.shape('logits'));
    const got = logits.data as Float32Array;
    // the chunkwise training form (chunk_size 64 > S: one padded chunk) vs the inference-mode kernels
    const d = compare(got, c.f32('logits'), c.tol('logits').atol);
    assert.equal(d.bad, -1, `logits max |diff| ${d.maxAbs} (atol ${c.tol('logits').atol})`);
    if (c.io.has('logits_train')) {
      const dt = compare(got, c.f32('logits_train'), c.tol('logits_train').atol);
      assert.equal(dt.bad, -1, `logits_train max |diff| ${dt.maxAbs}`);
    }
    const inf = await XLSTMLarge.fromPretrained(join(FIXTURES, name), { backend: be, matrixDtype: 'f32' });
    const r = inf.forward(rows(ids, B, S));
    const di = compare(r.logits.data as Float32Array, got, c.tol('logits').atol);
    assert.equal(di.bad, -1, `inference vs trainable max |diff| ${di.maxAbs}`);
    r.logits.dispose(); inf.dispose();
    // chunk_size 8 (the train-mode golden's): 3 full chunks, same logits
    const m8 = await XLSTMLargeTrainable.fromSafetensors({ ...c.config, chunk_size: 8 }, m.toSafetensors());
    const d8 = compare(m8.forward(new Tape(be, 'f32'), ids, B, S).data as Float32Array, got, 1e-4);
    assert.equal(d8.bad, -1, `chunk 8 vs chunk 64 max |diff| ${d8.maxAbs}`);
  });
}

const TINY = {
  embedding_dim: 16, num_heads: 2, num_blocks: 2, vocab_size: 11, ffn_proj_factor: 2.0, ffn_round_up_to_multiple_of: 8,
  chunk_size: 4, chunkwise_kernel: 'chunkwise--native_autograd', gate_soft_cap: 15, output_logit_soft_cap: 3,
};

function perturbed(cfg: Record<string, unknown>, seed: number): XLSTMLargeTrainable {
  const m = XLSTMLargeTrainable.init(cfg, { seed, dtype: 'f64' });
  // move every weight off its init (ones, -10 biases, linspace) so that every path carries gradient
  let s = seed + 11;
  const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32 - 0.5; };
  for (const p of m.params) {
    const d = p.value.data as Float64Array;
    const gate = /[if]gate_preact\.bias$/.test(p.name!);
    for (let i = 0; i < d.length; i++) d[i] = gate ? 2 * rnd() : d[i] + 0.3 * rnd();
  }
  return m;
}

for (const [label, extra] of [
  ['single, S not a multiple of chunk_size', { weight_mode: 'single' }],
  ['fused, use_bias, tied embeddings, no out norm', { weight_mode: 'fused', use_bias: true, tie_word_embeddings: true, add_out_norm: false }],
] as const) {
  test(`XLSTMLargeTrainable gradcheck (${label}): float64 finite differences of the full loss`, () => {
    const cfg = { ...TINY, ...extra };
    const m = perturbed(cfg, 3);
    const batch = { ids: Int32Array.from([1, 5, 2, 9, 3, 3, 0, 10, 4, 7, 6, 8]), batchSize: 2, seqLen: 6 };
    const lossAt = () => Number(m.loss(new Tape(null, 'f64'), batch).data[0]);
    const t = new Tape(null, 'f64');
    const l0 = m.loss(t, batch);
    t.backward(l0);
    const bad: string[] = [];
    let checked = 0;
    for (const p of m.params) {
      const d = p.value.data as Float64Array, g = p.grad!.data as Float64Array;
      for (const j of new Set([0, Math.floor(d.length / 3), Math.floor((2 * d.length) / 3), d.length - 1])) {
        const x0 = d[j], h = 1e-5;
        d[j] = x0 + h; const lp = lossAt();
        d[j] = x0 - h; const lm = lossAt();
        d[j] = x0;
        const num = (lp - lm) / (2 * h);
        checked++;
        if (Math.abs(num - g[j]) > 1e-7 + 1e-5 * Math.abs(num)) bad.push(`${p.name}[${j}]: analytic ${g[j]}, numeric ${num}`);
      }
    }
    assert.ok(checked >= 4 * m.params.length - 8);
    assert.deepEqual(bad, []);
    // the f32 tape (wasm kernels) gives the same gradients
    const m32 = XLSTMLargeTrainable.fromTensors(cfg, m.stateDict(), { dtype: 'f32' });
    const t32 = new Tape(be, 'f32');
    const l32 = m32.loss(t32, batch);
    assert.ok(Math.abs(Number(l32.data[0]) - Number(l0.data[0])) < 1e-4, `f32 loss ${l32.data[0]} vs f64 ${l0.data[0]}`);
    t32.backward(l32);
    for (const p of m.params) {
      const g64 = p.grad!.data as Float64Array, g32 = m32.param(p.name!).grad!.data as Float32Array;
      let mx = 0, scale = 0;
      for (let i = 0; i < g64.length; i++) { mx = Math.max(mx, Math.abs(g64[i] - g32[i])); scale = Math.max(scale, Math.abs(g64[i])); }
      assert.ok(mx <= 1e-4 + 1e-3 * scale, `${p.name}: f32 vs f64 gradient max |diff| ${mx} (max |g| ${scale})`);
    }
  });
}

test('XLSTMLargeTrainable: official (custom-backward) gradient mode is picked from chunkwise_kernel', () => {
  assert.equal(XLSTMLargeTrainable.init({ ...TINY, chunkwise_kernel: 'chunkwise--triton_limit_chunk' }).mlstmGradMode, 'official');
  assert.equal(XLSTMLargeTrainable.init(TINY).mlstmGradMode, 'exact');
  assert.equal(XLSTMLargeTrainable.init(TINY, { mlstmGradMode: 'official' }).mlstmGradMode, 'official');
});

test('XLSTMLargeTrainable: a tiny model learns a repeated text', async () => {
  const text = 'the cat sat on the mat. '.repeat(30);
  const chars = [...new Set(text)].sort();
  const tokens = Array.from(text, (ch) => chars.indexOf(ch));
  const cfg = { embedding_dim: 32, num_heads: 2, num_blocks: 2, vocab_size: chars.length, chunk_size: 8, ffn_round_up_to_multiple_of: 16 };
  const m = XLSTMLargeTrainable.init(cfg, { seed: 1 });
  const ds = new TextDataset(tokens, { seqLen: 16, batchSize: 4, validationFraction: 0.1, seed: 2 });
  const val = ds.validationBatches(2);
  const v0 = evaluateLmLoss(m, be, val);
  const trainer = new Trainer({
    params: m.params, backend: be, data: ds.train, totalSteps: 40, lr: 1e-2, warmupSteps: 4, weightDecay: 0.01, seed: 3,
    loss: (t, b, ctx) => ({ loss: m.loss(t, b, ctx), tokens: b.batchSize * (b.seqLen - 1) }),
  });
  const losses: number[] = [];
  for (let s = 0; s < 40; s++) losses.push(trainer.trainStep().loss);
  const v1 = evaluateLmLoss(m, be, val);
  if (process.env.XLSTM_TRAIN_REPORT) console.log(`train ${losses[0]} -> ${losses[39]}; validation ${v0} -> ${v1}`);
  assert.ok(losses[0] > 1.8, `initial loss ${losses[0]} (uniform over ${chars.length}: ${Math.log(chars.length)})`);
  assert.ok(losses[39] < 0.6, `loss after 40 steps ${losses[39]} (from ${losses[0]})`);
  assert.ok(v1 < 0.6 && v1 < v0 / 3, `validation loss ${v0} -> ${v1}`);
  // decay groups: matrices yes, norms/biases/embedding no
  assert.equal(m.param('backbone.embeddings.weight').decay, false);
  assert.equal(m.param('lm_head.weight').decay, true);
  assert.equal(m.param('backbone.blocks.0.mlstm_layer.q.weight').decay, true);
  assert.equal(m.param('backbone.blocks.0.mlstm_layer.igate_preact.bias').decay, false);
  assert.equal(m.param('backbone.blocks.1.norm_ffn.weight').decay, false);
});

test('XLSTMLargeTrainable: bad inputs name the problem', async () => {
  const c = loadCase('xlstm_large_hf');
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'xlstm_large_hf', 'model.safetensors')));
  const m = await XLSTMLargeTrainable.fromSafetensors(c.config, bytes);
  const sd = m.stateDict();
  assert.throws(() => XLSTMLargeTrainable.fromTensors(c.config, new Map([...sd, ['backbone.blocks.0.mlstm_layer.qq.weight', new Tensor('f32', [1], new Float32Array(1))]])),
    /unknown tensor backbone\.blocks\.0\.mlstm_layer\.qq\.weight \(not a parameter of this config: weight_mode "single"/);
  const wrong = new Map(sd);
  wrong.set('backbone.blocks.1.mlstm_layer.k.weight', new Tensor('f32', [63, 128], new Float32Array(63 * 128)));
  assert.throws(() => XLSTMLargeTrainable.fromTensors(c.config, wrong), /tensor backbone\.blocks\.1\.mlstm_layer\.k\.weight has shape \[63, 128\], expected \[64, 128\]/);
  const missing = new Map(sd);
  missing.delete('backbone.out_norm.weight');
  assert.throws(() => XLSTMLargeTrainable.fromTensors(c.config, missing), /missing tensor backbone\.out_norm\.weight \(expected shape \[128\]\)/);
  assert.throws(() => XLSTMLargeTrainable.fromTensors({ ...c.config, weight_mode: 'fused' }, sd), /unknown tensors backbone\.blocks\.0\.mlstm_layer\.q\.weight/);
  const noEmb = new Map(sd);
  noEmb.delete('backbone.embeddings.weight');
  assert.throws(() => XLSTMLargeTrainable.fromTensors(c.config, noEmb), /no embedding tensor: expected backbone\.embeddings\.weight/);
  const V = c.config.vocab_size as number;
  assert.throws(() => m.forward(new Tape(be, 'f32'), Int32Array.from([0, V]), 1, 2), new RegExp(`ids\\[1\\] = ${V} is not a token id \\(0 <= id < vocab_size ${V}\\)`));
  assert.throws(() => m.loss(new Tape(be, 'f32'), { ids: Int32Array.from([1]), batchSize: 1, seqLen: 1 }), /seqLen must be >= 2, got 1/);
  assert.throws(() => m.forward(new Tape(be, 'f32'), Int32Array.from([1, 2, 3]), 1, 2), /ids has 3 entries, expected B\*S = 1\*2/);
});

test('XLSTMLargeTrainable: toSafetensors / configJson round-trip into XLSTMLarge and loadLanguageModel (both layouts, fused)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-large-train-'));
  try {
    for (const [layout, extra] of [['hf', {}], ['native', { weight_mode: 'fused', use_bias: true }]] as const) {
      const cfg = { ...TINY, ...extra, output_logit_soft_cap: 30 };
      const m = XLSTMLargeTrainable.init(cfg, { seed: 9, layout });
      const ids = Int32Array.from([1, 4, 2, 8, 5, 7, 0, 3, 10, 9]);
      const ref = m.forward(new Tape(be, 'f32'), ids, 2, 5).data as Float32Array;
      const inf = await m.toInference(be);
      const a = inf.forward(rows(ids, 2, 5));
      assert.equal(compare(a.logits.data as Float32Array, ref, 1e-5).bad, -1, `${layout}: toInference logits`);
      a.logits.dispose(); inf.dispose();
      const sub = join(dir, layout);
      rmSync(sub, { recursive: true, force: true });
      (await import('node:fs')).mkdirSync(sub);
      writeFileSync(join(sub, 'model.safetensors'), m.toSafetensors());
      writeFileSync(join(sub, 'config.json'), JSON.stringify(m.configJson()));
      // configJson resolves to the same config
      assert.deepEqual(resolveXLSTMLargeConfig(m.configJson()), m.config);
      const lm = await loadLanguageModel(sub, { backend: be });
      assert.equal(lm.modelType, 'xlstm-large');
      const b = lm.forward(rows(ids, 2, 5));
      assert.equal(compare(b.logits.data as Float32Array, ref, 1e-5).bad, -1, `${layout}: loadLanguageModel logits`);
      b.logits.dispose();
      (lm as unknown as { dispose(): void }).dispose();
      // and back into a trainable model (fine-tuning start), same weights
      const again = await XLSTMLargeTrainable.fromPretrained(sub);
      assert.equal(again.layout, layout);
      for (const p of m.params) assert.deepEqual(Array.from(again.param(p.name!).value.data as Float32Array), Array.from(p.value.data as Float32Array), p.name);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
