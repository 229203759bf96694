// A 2-block byte-level xLSTMLMModel (mLSTM + sLSTM with FFN, embedding 32, vocab 256) trained
// with the Trainer on test/fixtures/text/grammar.txt: the training loss falls well below the
// text's unigram entropy and the validation loss follows; resuming from a mid-run checkpoint
// (bytes, and a directory) reproduces the uninterrupted loss curve and weights exactly (f32);
// the wasm heap does not grow over the steps;
// the trained weights load into the inference model, whose loss agrees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Trainer, StepResult } from '../../src/train/trainer.js';
import { TextDataset, TokenBatch, encodeBytes } from '../../src/train/textData.js';
import { XLSTMLMTrainable, evaluateLmLoss } from '../../src/train/xlstmLmTrainable.js';
import { nextTokenCrossEntropy } from '../../src/models/xlstmLm/index.js';
import { FIXTURES } from '../helpers/golden.js';

const TEXT = readFileSync(join(FIXTURES, 'text', 'grammar.txt'), 'utf8');
const STEPS = 40, HALF = 20, B = 8, S = 32;
const TINY_LM_CONFIG = {
  vocab_size: 256, embedding_dim: 32, num_blocks: 2, context_length: S, slstm_at: [1],
  mlstm_block: { mlstm: { conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 4 } },
  slstm_block: { slstm: { backend: 'vanilla', num_heads: 4, conv1d_kernel_size: 4, bias_init: 'powerlaw_blockdependent' }, feedforward: { proj_factor: 1.3, act_fn: 'gelu' } },
};

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 1 }); });
after(() => be.dispose());

function setup() {
  const model = XLSTMLMTrainable.init(TINY_LM_CONFIG, { seed: 1 });
  const data = new TextDataset(encodeBytes(TEXT), { seqLen: S, batchSize: B, validationFraction: 0.1, seed: 2 });
  const trainer = new Trainer<TokenBatch>({
    params: model.params, data: data.train, backend: be,
    loss: (t, b) => ({ loss: model.loss(t, b), tokens: b.batchSize * (b.seqLen - 1) }),
    totalSteps: STEPS, lr: 0.02, warmupSteps: 10, minLr: 0.002, weightDecay: 0.1, gradClip: 1, seed: 3,
  });
  return { model, data, trainer };
}

/** Entropy (nats) of the byte unigram distribution of the text: what a model without context reaches. */
function unigramEntropy(bytes: Int32Array): number {
  const cnt = new Map<number, number>();
  for (const b of bytes) cnt.set(b, (cnt.get(b) ?? 0) + 1);
  let h = 0;
  for (const c of cnt.values()) { const p = c / bytes.length; h -= p * Math.log(p); }
  return h;
}

test('2-block byte-level xLSTM LM learns the grammar text; resume from a mid-run checkpoint is exact', async () => {
  const t0 = performance.now();
  const { model, data, trainer } = setup();
  const val0 = evaluateLmLoss(model, be, data.validationBatches());
  const heap0 = be.heap.bytesInUse;
  const first = await trainer.run({ untilStep: HALF });
  // each step's heap intermediates are released when it ends (no growth over the run)
  assert.equal(be.heap.bytesInUse, heap0, `heap in use ${heap0} -> ${be.heap.bytesInUse} bytes after ${HALF} steps`);
  const ckpt = trainer.checkpoint();
  const dir = mkdtempSync(join(tmpdir(), 'lm-ckpt-'));
  await trainer.saveCheckpoint(dir);
  const second = await trainer.run();
  const full: StepResult[] = [...first, ...second];
  const losses = full.map((r) => r.loss);
  const heapEval = be.heap.bytesInUse;
  const val = evaluateLmLoss(model, be, data.validationBatches());
  assert.equal(be.heap.bytesInUse, heapEval, 'evaluation frees its heap intermediates');
  const h1 = unigramEntropy(data.trainTokens);
  const last5 = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  const secs = (performance.now() - t0) / 1000;
  console.log(`loss curve: ${losses.map((l, i) => (i % 5 === 4 || i === 0 ? `${i + 1}:${l.toFixed(3)}` : '')).filter(Boolean).join(' ')}`);
  console.log(`validation ${val0.toFixed(3)} -> ${val.toFixed(3)}; unigram entropy ${h1.toFixed(3)}; ${STEPS} steps in ${secs.toFixed(1)} s`);
  assert.ok(losses[0] > 5, `initial loss ${losses[0]} should be near ln(256) = 5.55`);
  assert.ok(last5 < 1.5 && last5 < 0.6 * h1, `mean loss of the last 5 steps ${last5} should be < 1.5 and < 0.6 x unigram entropy ${h1}`);
  assert.ok(val < 1.6 && val < val0 - 3, `validation loss ${val0} -> ${val}`);

  // resume from bytes and from the directory: the second half is bit-identical
  for (const source of ['bytes', 'dir'] as const) {
    const r = setup();
    if (source === 'bytes') r.trainer.restore(ckpt); else await r.trainer.loadCheckpoint(dir);
    assert.equal(r.trainer.step, HALF);
    const rest = await r.trainer.run();
    assert.deepEqual(rest.map((x) => x.loss), losses.slice(HALF), `${source}: resumed loss curve`);
    assert.deepEqual(rest.map((x) => x.lr), full.slice(HALF).map((x) => x.lr));
    for (const p of model.params) {
      assert.deepEqual(r.model.param(p.name!).value.data, p.value.data, `${source}: ${p.name} after the resumed run`);
    }
  }
  rmSync(dir, { recursive: true, force: true });

  // the trained weights in the inference model give the same loss
  const vb = data.validationBatches(1)[0];
  const inf = await model.toInference(be);
  const rows = Array.from({ length: vb.batchSize }, (_, b) => Array.from(vb.ids.subarray(b * S, (b + 1) * S)));
  const out = inf.forward(rows);
  const lInf = nextTokenCrossEntropy(out.logits, rows);
  const lTr = evaluateLmLoss(model, be, [vb]);
  assert.ok(Math.abs(lInf - lTr) < 1e-4, `inference loss ${lInf} vs trainable ${lTr}`);
  out.logits.dispose(); inf.dispose();
});
