// createLmTraining: bytes -> trainer with validation hook; a checkpoint folder (and saveModel)
// loads with XLSTMLMModel.fromPretrained and gives the trainable model's logits; errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/index.js';
import { Rng } from '../../src/optim/index.js';
import { createLmTraining, xlstmLmConfigJson } from '../../src/train/lmTraining.js';
import { XLSTMLMModel, resolveXLSTMLMConfig } from '../../src/models/xlstmLm/index.js';
import { FIXTURES } from '../helpers/golden.js';

const TEXT = readFileSync(join(FIXTURES, 'text', 'grammar.txt'), 'utf8');
const CONFIG = {
  vocab_size: 256, embedding_dim: 32, num_blocks: 2, context_length: 16, slstm_at: [1],
  mlstm_block: { mlstm: { conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 4 } },
  slstm_block: { slstm: { backend: 'vanilla', num_heads: 4, conv1d_kernel_size: 4 }, feedforward: { proj_factor: 1.3, act_fn: 'gelu' } },
};

test('createLmTraining: trains with validation hook; checkpoint folder loads as an inference model', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'lm-train-'));
  try {
    const evals: [number, number][] = [];
    const lm = await createLmTraining({
      config: CONFIG, initSeed: 4, text: TEXT, seqLen: 16, batchSize: 4, validationFraction: 0.05, maxEvalBatches: 2,
      backend: be, totalSteps: 6, lr: 0.01, warmupSteps: 2, seed: 1,
      evalEvery: 3, onEval: (s, m) => evals.push([s, m.validationLoss]), checkpointDir: join(dir, 'ckpt'), checkpointEvery: 3,
    });
    const v0 = lm.validationLoss();
    await lm.trainer.run();
    assert.deepEqual(evals.map((e) => e[0]), [3, 6]);
    assert.ok(evals[1][1] < v0, `validation ${v0} -> ${evals.map((e) => e[1])}`);
    // byte-level text: the folder carries a byte-level tokenizer.json (ids = UTF-8 bytes) for `xlstm generate`
    assert.deepEqual(readdirSync(join(dir, 'ckpt')).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'trainer_state.json']);
    await lm.saveModel(join(dir, 'final'));
    const ids = Array.from(TEXT.slice(0, 12), (ch) => ch.charCodeAt(0));
    const t = new Tape(be, 'f32');
    const ref = lm.model.forward(t, Int32Array.from(ids), 1, ids.length).data as Float32Array;
    for (const sub of ['ckpt', 'final']) {
      const inf = await XLSTMLMModel.fromPretrained(join(dir, sub), { backend: be });
      const out = inf.forward([ids]);
      const d = out.logits.data as Float32Array;
      let mx = 0;
      for (let i = 0; i < d.length; i++) mx = Math.max(mx, Math.abs(d[i] - ref[i]));
      assert.ok(mx < 1e-4, `${sub}: inference logits differ from the trainable model by ${mx}`);
      out.logits.dispose(); inf.dispose();
    }
    // config.json holds the official fields only and resolves to the same config
    const cj = xlstmLmConfigJson(lm.model.config);
    assert.ok(!('blocks' in cj));
    assert.deepEqual(JSON.parse(JSON.stringify(resolveXLSTMLMConfig(cj))), JSON.parse(JSON.stringify(lm.model.config)));
    await assert.rejects(createLmTraining({ config: { ...CONFIG, vocab_size: 97 }, text: TEXT, seqLen: 16, batchSize: 4, backend: be, totalSteps: 1, lr: 1e-3 }), /outside the model's vocab_size 97/);
    await assert.rejects(createLmTraining({ config: CONFIG, seqLen: 16, batchSize: 4, backend: be, totalSteps: 1, lr: 1e-3 }), /exactly one of text or tokens/);
  } finally { rmSync(dir, { recursive: true, force: true }); be.dispose(); }
});

test('dropout: only with an RNG (training); evaluation equals the dropout-free model; resume stays exact', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const mk = (dropout: number) => createLmTraining({
      config: { ...CONFIG, dropout, add_embedding_dropout: true }, initSeed: 4, text: TEXT, seqLen: 16, batchSize: 4, validationFraction: 0.05,
      backend: be, totalSteps: 4, lr: 0.01, warmupSteps: 1, seed: 1,
    });
    const withDrop = await mk(0.2), without = await mk(0);
    assert.equal(withDrop.model.config.mlstm_block!.mlstm.dropout, 0.2);
    const batch = withDrop.data.validationBatches(1)[0];
    const l = (m: typeof withDrop, rng?: Rng) => Number(m.model.loss(new Tape(be, 'f32'), batch, { rng }).data[0]);
    assert.equal(l(withDrop), l(without));
    const a = l(withDrop, new Rng(1)), b = l(withDrop, new Rng(1)), c2 = l(withDrop, new Rng(2));
    assert.equal(a, b);
    assert.notEqual(a, c2);
    assert.notEqual(a, l(withDrop));
    const full = (await withDrop.trainer.run()).map((r) => r.loss);
    const first = await mk(0.2);
    await first.trainer.run({ untilStep: 2 });
    const ck = first.trainer.checkpoint();
    const resumed = await mk(0.2);
    resumed.trainer.restore(ck);
    assert.deepEqual((await resumed.trainer.run()).map((r) => r.loss), full.slice(2));
    const noDropRun = (await without.trainer.run()).map((r) => r.loss);
    assert.equal(noDropRun[0] === full[0], false, 'dropout changes the training loss');
  } finally { be.dispose(); }
});
