// `xlstm train` for language models on tokenizer.json ids: model.kind 'xlstm-large' trains a
// tiny xLSTM Large on test/fixtures/text with test/fixtures/tokenizer; the checkpoint and output
// folders hold config.json + model.safetensors + tokenizer.json and load with loadLanguageModel
// (same logits as the trainable weights) and `xlstm generate`; init_from fine-tunes from such a
// folder; vocab_size too small for the tokenizer is a clear error; 'xlstm-lm' takes the tokenizer too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { runTrain, resolveTrainConfig } from '../../src/cli/commands/train.js';
import { parseGenerateArgs, runGenerate } from '../../src/cli/commands/generate.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/index.js';
import { XLSTMLargeTrainable } from '../../src/train/xlstmLargeTrainable.js';
import { loadLanguageModel, loadTokenizer } from '../../src/models/auto.js';
import { FIXTURES } from '../helpers/golden.js';

const silent = { stdout: () => {}, stderr: () => {} };
const TEXT = resolve(FIXTURES, 'text', 'grammar.txt');
const TOKENIZER = resolve(FIXTURES, 'tokenizer', 'tokenizer.json');
const LARGE = { embedding_dim: 32, num_heads: 2, num_blocks: 2, vocab_size: 101, chunk_size: 8, ffn_round_up_to_multiple_of: 16 };

function largeConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { kind: 'xlstm-large', config: LARGE, seed: 1 },
    data: { text: TEXT, tokenizer: TOKENIZER, seq_len: 24, seed: 2, validation_fraction: 0.05 },
    optim: { lr: 0.01, warmup_steps: 2, steps: 12, batch_size: 4, grad_clip: 1 },
    eval: { max_batches: 2 },
    checkpoint: { dir: join(dir, 'ck'), every: 6 },
    output: join(dir, 'out'),
    log_every: 6, threads: 1,
    ...extra,
  };
}

test('train config: xlstm-large kind and data.tokenizer are validated', () => {
  const ok = resolveTrainConfig(largeConfig('/tmp/x'), 'c');
  assert.equal(ok.model.kind, 'xlstm-large');
  assert.equal(ok.data.tokenizer, TOKENIZER);
  assert.throws(() => resolveTrainConfig({ ...largeConfig('/tmp/x'), model: { kind: 'xlstm-large' } }, 'c'), /model\.config is required for model\.kind 'xlstm-large'/);
  assert.throws(() => resolveTrainConfig({ ...largeConfig('/tmp/x'), model: { kind: 'xlstm-large', config: LARGE, chunk_size: 4 } }, 'c'), /model\.chunk_size is not a known key/);
  assert.throws(() => resolveTrainConfig({ ...largeConfig('/tmp/x'), data: { seq_len: 8 } }, 'c'), /for model\.kind 'xlstm-large' needs text/);
  assert.throws(() => resolveTrainConfig({ ...largeConfig('/tmp/x'), model: { kind: 'gpt' } }, 'c'), /model\.kind must be 'tirex' or 'xlstm-lm' or 'xlstm-large'/);
});

test('train xlstm-large on tokenizer.json ids: folders load with loadLanguageModel and generate; init_from fine-tunes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-large-'));
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const cfgPath = join(dir, 'large.json');
    writeFileSync(cfgPath, JSON.stringify(largeConfig(dir)));
    const r = await runTrain({ config: cfgPath, progress: false }, silent);
    assert.equal(r.endStep, 12);
    assert.ok(r.losses.every(Number.isFinite));
    const first = r.losses[0], last = (r.losses[10] + r.losses[11]) / 2;
    assert.ok(first > 3.5 && last < first - 0.8, `loss ${first} -> ${last}`);
    assert.equal(r.evals.length, 1);
    const vLoss = r.evals[0].metrics['validation.loss'];
    assert.ok(vLoss > 0 && vLoss < first, `validation loss ${vLoss}`);
    const tok = readFileSync(TOKENIZER);
    for (const sub of ['ck', 'out']) {
      const d = join(dir, sub);
      const files = readdirSync(d);
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(files.includes(f), `${sub} has no ${f}: ${files}`);
      assert.ok(readFileSync(join(d, 'tokenizer.json')).equals(tok), `${sub}/tokenizer.json is a copy`);
      const cj = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      assert.equal(cj.model_type, 'xlstm');
      assert.equal(cj.vocab_size, 101);
      // the tokenizer's special ids fill the unset ones, so generation inserts the right BOS
      assert.equal(cj.bos_token_id, 0);
      assert.equal(cj.eos_token_id, 2);
    }
    // the saved folder = the trained weights: the inference model's logits equal the trainable's
    const out = join(dir, 'out');
    const trained = await XLSTMLargeTrainable.fromPretrained(out);
    const ids = [0, 32, 4, 12, 6, 25, 10, 4, 18, 14];
    const ref = trained.forward(new Tape(be, 'f32'), Int32Array.from(ids), 1, ids.length).data as Float32Array;
    const lm = await loadLanguageModel(out, { backend: be });
    assert.equal(lm.modelType, 'xlstm-large');
    const f = lm.forward([ids]);
    const got = f.logits.data as Float32Array;
    let mx = 0;
    for (let i = 0; i < ref.length; i++) mx = Math.max(mx, Math.abs(got[i] - ref[i]));
    assert.ok(mx < 1e-4, `loadLanguageModel logits differ from the trained weights by ${mx}`);
    f.logits.dispose();
    (lm as unknown as { dispose(): void }).dispose();
    // trained from scratch on windows without BOS: saved with force_bos_token_insert false, so
    // the folder's tokenizer does not put a BOS the model never saw before prompts
    for (const sub of ['ck', 'out']) assert.equal(JSON.parse(readFileSync(join(dir, sub, 'config.json'), 'utf8')).force_bos_token_insert, false);
    assert.notEqual((await loadTokenizer(out)).encode('A gate')[0], 0);
    // `xlstm generate --model <dir>` (the command's function)
    const io = { stdout: { write: () => true }, stderr: { write: () => true } };
    const g = await runGenerate(parseGenerateArgs({ model: out, prompt: 'A small network', maxNewTokens: '6', threads: '1', json: true }), io);
    assert.ok(g && g.ids.length >= 1 && g.ids.length <= 6 && g.ids.every((t: number) => t >= 0 && t < 101), `generated ${JSON.stringify(g?.ids)}`);
    // fine-tune from the output folder, with a config override (chunk_size); a fine-tuned model
    // keeps the loaded folder's force_bos_token_insert (here set to true in the folder)
    const outCfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...outCfg, force_bos_token_insert: true }));
    const ftPath = join(dir, 'ft.json');
    writeFileSync(ftPath, JSON.stringify(largeConfig(join(dir, 'ft'), { model: { kind: 'xlstm-large', init_from: out, config: { chunk_size: 4 } }, optim: { lr: 0.002, steps: 2, batch_size: 4 } })));
    const ft = await runTrain({ config: ftPath, progress: false }, silent);
    assert.ok(ft.losses[0] < first - 0.8, `fine-tuning starts from the trained weights: loss ${ft.losses[0]} (fresh ${first})`);
    const ftCj = JSON.parse(readFileSync(join(dir, 'ft', 'out', 'config.json'), 'utf8'));
    assert.equal(ftCj.chunk_size, 4);
    assert.equal(ftCj.force_bos_token_insert, true);
    assert.equal((await loadTokenizer(join(dir, 'ft', 'out'))).encode('A gate')[0], 0);
    // vocab_size below the tokenizer's ids
    const badPath = join(dir, 'bad.json');
    writeFileSync(badPath, JSON.stringify(largeConfig(join(dir, 'bad'), { model: { kind: 'xlstm-large', config: { ...LARGE, vocab_size: 50 } } })));
    await assert.rejects(runTrain({ config: badPath, progress: false }, silent), /model\.config\.vocab_size is 50; the ids of data\.tokenizer '.*tokenizer\.json' \(101 ids: 0\.\.100\) needs vocab_size >= 101/);
    writeFileSync(badPath, JSON.stringify(largeConfig(join(dir, 'bad2'), { data: { text: TEXT, tokenizer: join(dir, 'nope.json'), seq_len: 16 } })));
    await assert.rejects(runTrain({ config: badPath, progress: false }, silent), /data\.tokenizer: '.*nope\.json' does not exist/);
  } finally { be.dispose(); rmSync(dir, { recursive: true, force: true }); }
});

test('train xlstm-large: --until-step then --resume gives the uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-large-resume-'));
  try {
    const cfg = (sub: string) => largeConfig(join(dir, sub), { optim: { lr: 0.01, warmup_steps: 1, steps: 4, batch_size: 2 }, checkpoint: { dir: join(dir, sub, 'ck'), every: 2 }, output: undefined });
    writeFileSync(join(dir, 'a.json'), JSON.stringify(cfg('A')));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(cfg('B')));
    const full = await runTrain({ config: join(dir, 'a.json'), progress: false }, silent);
    const first = await runTrain({ config: join(dir, 'b.json'), progress: false, untilStep: 2 }, silent);
    const second = await runTrain({ config: join(dir, 'b.json'), progress: false, resume: true }, silent);
    assert.equal(second.startStep, 2);
    assert.deepEqual([...first.losses, ...second.losses], full.losses);
    assert.ok(readFileSync(join(dir, 'A', 'ck', 'model.safetensors')).equals(readFileSync(join(dir, 'B', 'ck', 'model.safetensors'))), 'final weights differ after resume');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('train xlstm-lm with data.tokenizer: folder gets the tokenizer and loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-lm-tok-'));
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const cfg = {
      model: { kind: 'xlstm-lm', config: { vocab_size: 101, embedding_dim: 16, num_blocks: 1, context_length: 16, mlstm_block: { mlstm: { conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 2 } } } },
      data: { text: TEXT, tokenizer: resolve(FIXTURES, 'tokenizer'), seq_len: 16, seed: 1 },
      optim: { lr: 0.01, steps: 3, batch_size: 4 },
      eval: { max_batches: 1 },
      checkpoint: { dir: join(dir, 'ck') },
      log_every: 3, threads: 1,
    };
    writeFileSync(join(dir, 'lm.json'), JSON.stringify(cfg));
    const r = await runTrain({ config: join(dir, 'lm.json'), progress: false }, silent);
    assert.equal(r.endStep, 3);
    assert.ok(readdirSync(join(dir, 'ck')).includes('tokenizer.json'));
    const lm = await loadLanguageModel(join(dir, 'ck'), { backend: be });
    assert.equal(lm.modelType, 'xlstm-lm');
    assert.equal(lm.vocabSize, 101);
    (lm as unknown as { dispose(): void }).dispose();
    cfg.model.config.vocab_size = 100;
    cfg.checkpoint.dir = join(dir, 'ck2');
    writeFileSync(join(dir, 'lm.json'), JSON.stringify(cfg));
    await assert.rejects(runTrain({ config: join(dir, 'lm.json'), progress: false }, silent), /vocab_size is 100; the ids of data\.tokenizer .* needs vocab_size >= 101/);
  } finally { be.dispose(); rmSync(dir, { recursive: true, force: true }); }
});
