// Trainable xLSTMLMModel against the official float64 autograd run (test/fixtures/xlstm_lm):
// the loss and the gradient of every parameter (grads.safetensors, per-tensor atol from
// meta.json grads.recommended_atol) on the f32 tape, and on the f64 tape; logits equal the
// inference model's; save -> inference model load round trip; init/decay groups.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/index.js';
import { XLSTMLMTrainable } from '../../src/train/xlstmLmTrainable.js';
import { XLSTMLMModel } from '../../src/models/xlstmLm/index.js';
import { loadCase, readSafetensorsSimple, compare, GoldenCase, FIXTURES } from '../helpers/golden.js';

let be: WasmBackend;
let c: GoldenCase;
const DIR = join(FIXTURES, 'xlstm_lm');

before(async () => { be = await WasmBackend.create({ threads: 1 }); c = loadCase('xlstm_lm'); });
after(() => be.dispose());

function idsOf(g: GoldenCase): { ids: Int32Array; B: number; S: number } {
  const [B, S] = g.shape('input_ids');
  return { ids: Int32Array.from(g.io.get('input_ids')!.data as BigInt64Array, (v) => Number(v)), B, S };
}

for (const dtype of ['f32', 'f64'] as const) {
  test(`XLSTMLMTrainable (${dtype} tape): loss and every parameter gradient match the official float64 autograd`, async () => {
    const m = await XLSTMLMTrainable.fromSafetensors(c.config, new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))), { dtype });
    const { ids, B, S } = idsOf(c);
    const t = new Tape(dtype === 'f32' ? be : null, dtype);
    const loss = m.loss(t, { ids, batchSize: B, seqLen: S });
    const lt = c.tol('loss');
    const l = Number(loss.data[0]);
    assert.ok(Math.abs(l - c.f32('loss')[0]) <= lt.atol, `loss ${l} vs ${c.f32('loss')[0]} (atol ${lt.atol})`);
    t.backward(loss);
    const grads = readSafetensorsSimple(join(DIR, 'grads.safetensors'));
    const tols = c.meta.grads.recommended_atol as Record<string, number>;
    const report: string[] = [];
    const bad: string[] = [];
    assert.equal(m.params.length, grads.size, 'one gradient per parameter');
    for (const p of m.params) {
      const g = grads.get(p.name!);
      assert.ok(g, `grads.safetensors has no ${p.name}`);
      assert.deepEqual([...p.shape], g.shape, `${p.name} shape`);
      assert.ok(p.grad, `${p.name} got no gradient`);
      const atol = tols[p.name!];
      assert.equal(typeof atol, 'number', `meta.json grads.recommended_atol has no ${p.name}`);
      const { maxAbs, bad: i } = compare(p.grad.data as Float32Array, g.data as Float32Array, atol);
      report.push(`${p.name}: ${maxAbs.toExponential(2)} / ${atol}`);
      if (i >= 0) bad.push(`${p.name}[${i}]: got ${(p.grad.data as Float32Array)[i]}, expected ${(g.data as Float32Array)[i]} (max |diff| ${maxAbs}, atol ${atol})`);
    }
    if (process.env.XLSTM_TRAIN_REPORT) console.log(`loss ${l} (expected ${c.f32('loss')[0]})\n${report.join('\n')}`);
    assert.deepEqual(bad, []);
  });
}

test('XLSTMLMTrainable with chunkwise mLSTM (chunk S/2): loss and gradients within the golden tolerances too', async () => {
  const { ids, B, S } = idsOf(c);
  const m = await XLSTMLMTrainable.fromSafetensors(c.config, new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))), { mlstmChunkSize: S / 2 });
  const t = new Tape(be, 'f32');
  const loss = m.loss(t, { ids, batchSize: B, seqLen: S });
  assert.ok(Math.abs(Number(loss.data[0]) - c.f32('loss')[0]) <= c.tol('loss').atol);
  t.backward(loss);
  const grads = readSafetensorsSimple(join(DIR, 'grads.safetensors'));
  const tols = c.meta.grads.recommended_atol as Record<string, number>;
  const bad = m.params.filter((p) => compare(p.grad!.data as Float32Array, grads.get(p.name!)!.data as Float32Array, tols[p.name!]).bad >= 0).map((p) => p.name);
  assert.deepEqual(bad, []);
  assert.throws(() => m.loss(new Tape(be, 'f32'), { ids: ids.subarray(0, 2 * 31), batchSize: 2, seqLen: 31 }), /mlstmChunkSize 16 must divide the sequence length 31/);
});

test('XLSTMLMTrainable: logits equal the inference model; save -> inference load round trip; decay groups', async () => {
  const m = await XLSTMLMTrainable.fromSafetensors(c.config, new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))));
  const { ids, B, S } = idsOf(c);
  const t = new Tape(be, 'f32');
  const logits = m.forward(t, ids, B, S);
  assert.deepEqual([...logits.shape], c.shape('logits'));
  const { maxAbs, bad } = compare(logits.data as Float32Array, c.f32('logits'), c.tol('logits').atol);
  assert.equal(bad, -1, `logits max |diff| ${maxAbs}`);
  const inf = await m.toInference(be);
  const rows = Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * S, (b + 1) * S)));
  const r = inf.forward(rows);
  const d = compare(r.logits.data as Float32Array, logits.data as Float32Array, 1e-5);
  assert.equal(d.bad, -1, `inference vs trainable logits max |diff| ${d.maxAbs}`);
  r.logits.dispose(); inf.dispose();
  // saved names and bytes round-trip
  const again = await XLSTMLMTrainable.fromSafetensors(c.config, m.toSafetensors());
  for (const p of m.params) assert.deepEqual(Array.from(again.param(p.name!).value.data as Float32Array), Array.from(p.value.data as Float32Array), p.name);
  // official groups: ndim >= 2 decayed, embedding not (weight_decay_on_embedding false)
  assert.equal(m.param('token_embedding.weight').decay, false);
  assert.equal(m.param('lm_head.weight').decay, true);
  assert.equal(m.param('xlstm_block_stack.blocks.0.xlstm.proj_up.weight').decay, true);
  assert.equal(m.param('xlstm_block_stack.blocks.0.xlstm.conv1d.conv.weight').decay, true);
  assert.equal(m.param('xlstm_block_stack.blocks.0.xlstm.learnable_skip').decay, false);
  assert.equal(m.param('xlstm_block_stack.blocks.1.xlstm.slstm_cell._bias_').decay, false);
  assert.equal(m.param('xlstm_block_stack.post_blocks_norm.weight').decay, false);
  const byName = await XLSTMLMTrainable.fromSafetensors(c.config, m.toSafetensors(), { decayRule: 'name' });
  assert.equal(byName.param('xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_').decay, false);
  assert.equal(m.param('xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_').decay, true);
  assert.deepEqual(byName.params.filter((p) => p.decay !== m.param(p.name!).decay).map((p) => p.name), ['xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_']);
  assert.throws(() => m.forward(t, Int32Array.from([0, 97]), 1, 2), /ids\[1\] = 97/);
});

test('XLSTMLMTrainable.init: official names/shapes, seeded, loads into the inference model', async () => {
  const a = XLSTMLMTrainable.init(c.config, { seed: 7 }), b = XLSTMLMTrainable.init(c.config, { seed: 7 });
  const ref = readSafetensorsSimple(join(DIR, 'model.safetensors'));
  assert.deepEqual(a.params.map((p) => p.name).sort(), [...ref.keys()].sort());
  for (const p of a.params) assert.deepEqual(Array.from(p.value.data as Float32Array), Array.from(b.param(p.name!).value.data as Float32Array));
  assert.ok((a.param('xlstm_block_stack.blocks.0.xlstm.learnable_skip').value.data as Float32Array).every((v) => v === 1));
  // official sLSTM reset_bias (powerlaw_blockdependent), vanilla layout (g, h, d): only the forget gate (g = 1) is set
  const E = c.config.embedding_dim, NH = c.config.slstm_block.slstm.num_heads, DH = E / NH, NB = c.config.num_blocks;
  const sb = a.param('xlstm_block_stack.blocks.1.xlstm.slstm_cell._bias_').value.data as Float32Array;
  for (let h = 0; h < NH; h++) for (let d = 0; d < DH; d++) {
    const want = -(-5 + 12 * Math.pow(d / (DH - 1), 0.3 + 1.3 * (1 / (NB - 1))));
    assert.ok(Math.abs(sb[(NH + h) * DH + d] - want) < 1e-5, `sLSTM forget bias [h ${h}, d ${d}] ${sb[(NH + h) * DH + d]} vs ${want}`);
    for (const g of [0, 2, 3]) assert.equal(sb[(g * NH + h) * DH + d], 0);
  }
  const fb = a.param('xlstm_block_stack.blocks.0.xlstm.mlstm_cell.fgate.bias').value.data as Float32Array;
  assert.ok(Math.abs(fb[0] - 3) < 1e-6 && Math.abs(fb[fb.length - 1] - 6) < 1e-6, `mLSTM forget bias linspace(3, 6): ${Array.from(fb)}`);
  const inf = await a.toInference(be);
  const r = inf.forward([[1, 2, 3, 4]]);
  assert.ok((r.logits.data as Float32Array).every(Number.isFinite));
  r.logits.dispose(); inf.dispose();
  assert.ok(XLSTMLMModel);
});

test('XLSTMLMTrainable: finite differences on paths the golden case lacks (bias, tied head, cuda sLSTM layout, swish FFN, no post norm)', () => {
  const cfg = {
    vocab_size: 11, embedding_dim: 16, num_blocks: 2, context_length: 6, slstm_at: [0], bias: true, tie_weights: true, add_post_blocks_norm: false,
    mlstm_block: { mlstm: { conv1d_kernel_size: 2, qkv_proj_blocksize: 4, num_heads: 2, proj_factor: 2, round_proj_up_to_multiple_of: 8 } },
    slstm_block: { slstm: { backend: 'cuda', num_heads: 2, conv1d_kernel_size: 0, recurrent_weight_init: 'standard', bias_init: 'standard' }, feedforward: { proj_factor: 1.5, act_fn: 'swish', round_proj_up_to_multiple_of: 8 } },
  };
  const m = XLSTMLMTrainable.init(cfg, { seed: 3, dtype: 'f64' });
  assert.ok(!m.params.some((p) => p.name === 'lm_head.weight'), 'tied head: no lm_head.weight parameter');
  assert.ok(m.params.some((p) => p.name === 'xlstm_block_stack.blocks.1.xlstm.proj_up.bias'));
  // perturb every weight a little so that zero-initialised ones (biases, gates) are exercised
  let seed = 5;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  for (const p of m.params) { const d = p.value.data as Float64Array; for (let i = 0; i < d.length; i++) d[i] += 0.2 * rnd(); }
  const batch = { ids: Int32Array.from([1, 5, 2, 9, 3, 3, 0, 10, 4, 7, 6, 8]), batchSize: 2, seqLen: 6 };
  const lossAt = () => Number(m.loss(new Tape(null, 'f64'), batch).data[0]);
  const t = new Tape(null, 'f64');
  t.backward(m.loss(t, batch));
  const bad: string[] = [];
  for (const p of m.params) {
    const d = p.value.data as Float64Array, g = p.grad!.data as Float64Array;
    for (const j of [0, Math.floor(d.length / 2), d.length - 1]) {
      const x0 = d[j], h = 1e-5;
      d[j] = x0 + h; const lp = lossAt();
      d[j] = x0 - h; const lm = lossAt();
      d[j] = x0;
      const num = (lp - lm) / (2 * h);
      if (Math.abs(num - g[j]) > 1e-6 + 1e-4 * Math.abs(num)) bad.push(`${p.name}[${j}]: analytic ${g[j]}, numeric ${num}`);
    }
  }
  assert.deepEqual(bad, []);
});
