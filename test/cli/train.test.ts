// `xlstm train`: config validation, a few TiRex steps end-to-end with checkpoint + exact
// resume (split run == uninterrupted run), the checkpoint folder loads as a TiRex, the
// xlstm-lm kind, and the CLI binary once through child_process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { runTrain, resolveTrainConfig } from '../../src/cli/commands/train.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { loadLanguageModel, loadTokenizer } from '../../src/models/auto.js';
import { parseGenerateArgs, runGenerate } from '../../src/cli/commands/generate.js';
import { resolveXLSTMLMConfig } from '../../src/models/xlstmLm/config.js';
import { xlstmLmConfigJson } from '../../src/train/lmTraining.js';

const silent = { stdout: () => {}, stderr: () => {} };

function tirexConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { kind: 'tirex', embedding_dim: 16, num_heads: 2, num_blocks: 1, input_ff_dim: 32, patch_size: 8, context_length: 48, seed: 3 },
    data: { seed: 5, cpm: { probability: 0.5 } },
    optim: { lr: 0.003, warmup_steps: 2, steps: 6, batch_size: 4, grad_clip: 1 },
    eval: { horizon: 16, synthetic: { count: 6, seed: 77 } },
    checkpoint: { dir: join(dir, 'ck'), every: 3 },
    log_every: 1,
    threads: 1,
    ...extra,
  };
}

test('train config: unknown keys, bad values and missing sections are errors naming the key', () => {
  const base = tirexConfig('/tmp/x');
  assert.throws(() => resolveTrainConfig({ ...base, optim: { ...(base.optim as object), lrr: 1 } }, 'c'), /optim\.lrr is not a known key/);
  assert.throws(() => resolveTrainConfig({ ...base, model: { ...(base.model as object), embedding_dim: 15 } }, 'c'), /embedding_dim \(15\) must be divisible by model.num_heads/);
  assert.throws(() => resolveTrainConfig({ ...base, model: { kind: 'gpt' } }, 'c'), /model\.kind must be 'tirex' or 'xlstm-lm'/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { mix: { sines: 1 } } }, 'c'), /data\.mix\.sines is not a synthetic kind/);
  assert.throws(() => resolveTrainConfig({ ...base, checkpoint: undefined }, 'c'), /checkpoint must be a mapping/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { workers: -1 } }, 'c'), /data\.workers/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { workers: 1.5 } }, 'c'), /data\.workers/);
  assert.equal(resolveTrainConfig({ ...base, data: { workers: 0 } }, 'c').data.workers, 0);
  const ok = resolveTrainConfig(base, 'c');
  assert.equal(ok.optim.accumulation_steps, 1);
  assert.equal(ok.model.kind, 'tirex');
  // keys of the other model kind are errors, not silently ignored
  assert.throws(() => resolveTrainConfig({ ...base, data: { text: 'a.txt' } }, 'c'), /data\.text is only used by the language-model kinds .*not by model\.kind 'tirex'/);
  assert.throws(() => resolveTrainConfig({ ...base, data: { seq_len: 8 } }, 'c'), /data\.seq_len is only used by the language-model kinds/);
  assert.throws(() => resolveTrainConfig({ ...base, eval: { max_batches: 2 } }, 'c'), /eval\.max_batches is only used by the language-model kinds/);
  const lm = { ...base, model: { kind: 'xlstm-lm', config: { vocab_size: 256 } }, data: { text: 'a.txt', seq_len: 8 }, eval: {} };
  assert.equal(resolveTrainConfig(lm, 'c').model.kind, 'xlstm-lm');
  assert.throws(() => resolveTrainConfig({ ...lm, data: { text: 'a.txt', seq_len: 8, mix: { arma: 1 } } }, 'c'), /data\.mix is only used by model\.kind 'tirex' .*not by model\.kind 'xlstm-lm'/);
  assert.throws(() => resolveTrainConfig({ ...lm, data: { text: 'a.txt', seq_len: 8, cpm: false } }, 'c'), /data\.cpm is only used by model\.kind 'tirex'/);
  assert.throws(() => resolveTrainConfig({ ...lm, data: { text: 'a.txt', seq_len: 8, workers: 0 } }, 'c'), /data\.workers is only used by model\.kind 'tirex'/);
  assert.throws(() => resolveTrainConfig({ ...lm, eval: { horizon: 8 } }, 'c'), /eval\.horizon is only used by model\.kind 'tirex'/);
  assert.throws(() => resolveTrainConfig({ ...lm, model: { kind: 'xlstm-large', config: {} }, eval: { synthetic: { count: 2 } } }, 'c'), /eval\.synthetic is only used by model\.kind 'tirex' .*not by model\.kind 'xlstm-large'/);
  // TiRex sizes: required for a fresh model, optional with init_from
  assert.throws(() => resolveTrainConfig({ ...base, model: { kind: 'tirex', num_heads: 2, num_blocks: 1, input_ff_dim: 8 } }, 'c'), /model\.embedding_dim is required/);
  const ft = resolveTrainConfig({ ...base, model: { kind: 'tirex', init_from: '/tmp/m', patch_size: 8, context_length: 48 } }, 'c');
  assert.equal(ft.model.kind === 'tirex' && ft.model.embedding_dim, undefined);
});

test('train: a few TiRex steps, checkpoint, resume == uninterrupted (with or without data workers), folder loads as TiRex', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-'));
  try {
    const a = join(dir, 'a.json'), b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify(tirexConfig(join(dir, 'A'))));
    // A makes its batches in a worker thread (the default), B on the main thread: same run
    const bCfg = tirexConfig(join(dir, 'B'));
    writeFileSync(b, JSON.stringify({ ...bCfg, data: { ...(bCfg.data as object), workers: 0 } }));
    const full = await runTrain({ config: a, progress: false }, silent);
    assert.equal(full.endStep, 6);
    assert.equal(full.losses.length, 6);
    assert.ok(full.losses.every(Number.isFinite));
    assert.equal(full.evals.length, 1); // eval only at the end (no eval.every)
    assert.ok(full.evals[0].metrics['synthetic.relWQL'] > 0);
    const first = await runTrain({ config: b, progress: false, untilStep: 3 }, silent);
    assert.equal(first.endStep, 3);
    await assert.rejects(runTrain({ config: b, progress: false }, silent), /already holds a checkpoint: pass --resume/);
    // a resume with changed settings is refused, naming each one with both values
    const changed = join(dir, 'changed.json');
    writeFileSync(changed, JSON.stringify({ ...bCfg, data: { ...(bCfg.data as object), workers: 0 }, optim: { lr: 0.003, warmup_steps: 2, steps: 8, batch_size: 5, grad_clip: 1 } }));
    await assert.rejects(runTrain({ config: changed, progress: false, resume: true }, silent), (e: Error) => {
      assert.match(e.message, /checkpoint was made with totalSteps \(optim\.steps\) 6, this run has 8/);
      assert.match(e.message, /checkpoint was made with batchSize \(optim\.batch_size\) 4, this run has 5/);
      assert.doesNotMatch(e.message, /with lr /);
      return true;
    });
    // what a run killed after step 3's checkpoint leaves: lines of later steps, the last one torn
    appendFileSync(join(dir, 'B', 'ck', 'metrics.jsonl'), '{"step":4,"loss":9,"lr":0,"gradNorm":0,"seriesPerSec":1}\n{"step":5,"lo');
    const second = await runTrain({ config: b, progress: false, resume: true }, silent);
    assert.equal(second.startStep, 3);
    assert.deepEqual([...first.losses, ...second.losses], full.losses, 'resumed losses differ from the uninterrupted run');
    const wa = readFileSync(join(dir, 'A', 'ck', 'model.safetensors')), wb = readFileSync(join(dir, 'B', 'ck', 'model.safetensors'));
    assert.ok(wa.equals(wb), 'final weights differ after resume');
    const lines = readFileSync(join(dir, 'A', 'ck', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.loss !== undefined).length, 6);
    // the resumed folder logs each step once, with the uninterrupted run's losses
    const linesB = readFileSync(join(dir, 'B', 'ck', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(linesB.filter((l) => l.loss !== undefined).map((l) => [l.step, l.loss]), lines.filter((l) => l.loss !== undefined).map((l) => [l.step, l.loss]));
    // (the first part ends at step 3, which it evaluates as its last step)
    assert.deepEqual(linesB.filter((l) => l.eval !== undefined).map((l) => l.step), [3, 6]);
    for (const sub of ['A', 'B']) assert.deepEqual(readdirSync(join(dir, sub, 'ck')).filter((f) => f.endsWith('.tmp')), [], `${sub}/ck has temp files`);
    // init_from without sizes fine-tunes; a given size that differs from the loaded model is named
    const ftCfg = (extra: Record<string, unknown>) => tirexConfig(join(dir, 'FT'), { model: { kind: 'tirex', init_from: join(dir, 'A', 'ck'), patch_size: 8, context_length: 48, ...extra }, optim: { lr: 0.001, steps: 1, batch_size: 2 }, eval: {}, data: { seed: 5, workers: 0 } });
    writeFileSync(join(dir, 'ft.json'), JSON.stringify(ftCfg({ num_heads: 2 })));
    const ft = await runTrain({ config: join(dir, 'ft.json'), progress: false }, silent);
    assert.equal(ft.endStep, 1);
    rmSync(join(dir, 'FT'), { recursive: true, force: true });
    writeFileSync(join(dir, 'ft.json'), JSON.stringify(ftCfg({ embedding_dim: 32, num_heads: 4, num_blocks: 1 })));
    await assert.rejects(runTrain({ config: join(dir, 'ft.json'), progress: false }, silent), /model\.embedding_dim is 32, the loaded model's is 16; model\.num_heads is 4, the loaded model's is 2 \(leave the sizes out/);
    const be = await WasmBackend.create({ threads: 1 });
    try {
      const m = await TiRex.fromPretrained(join(dir, 'A', 'ck'), { backend: be, bf16: false });
      const f = m.forecast([Array.from({ length: 40 }, (_, i) => Math.sin(i / 3))], { predictionLength: 10 });
      assert.equal(f.shape[1], 10);
      assert.ok(f.quantileData.every(Number.isFinite));
      m.dispose();
    } finally { be.dispose(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('train: xlstm-lm kind trains a byte-level LM and writes model.safetensors + config.json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-lm-'));
  try {
    writeFileSync(join(dir, 'text.txt'), 'the cat sat on the mat. '.repeat(40));
    const cfg = {
      model: { kind: 'xlstm-lm', config: { vocab_size: 256, embedding_dim: 16, num_blocks: 1, context_length: 16, mlstm_block: { mlstm: { conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 2 } } } },
      data: { text: 'text.txt', seq_len: 16, seed: 1 },
      optim: { lr: 0.01, steps: 8, batch_size: 4 },
      eval: { max_batches: 2 },
      checkpoint: { dir: 'ck' },
      log_every: 4, threads: 1,
    };
    writeFileSync(join(dir, 'lm.yaml'), JSON.stringify(cfg)); // JSON is valid YAML
    const r = await runTrain({ config: join(dir, 'lm.yaml'), progress: false }, silent);
    assert.equal(r.endStep, 8);
    assert.ok(r.losses[7] < r.losses[0], `loss ${r.losses[0]} -> ${r.losses[7]}`);
    assert.ok(r.evals[0].metrics['validation.loss'] > 0);
    assert.ok(existsSync(join(dir, 'ck', 'model.safetensors')) && existsSync(join(dir, 'ck', 'config.json')));
    // config.json = the resolved official fields (the form createLmTraining writes)
    const cj = JSON.parse(readFileSync(join(dir, 'ck', 'config.json'), 'utf8'));
    assert.deepEqual(cj, xlstmLmConfigJson(resolveXLSTMLMConfig(cfg.model.config as never)));
    // a byte-level tokenizer.json: generate works on the folder, ids = UTF-8 bytes
    const be = await WasmBackend.create({ threads: 1 });
    try {
      const lm = await loadLanguageModel(join(dir, 'ck'), { backend: be });
      assert.equal(lm.vocabSize, 256);
      (lm as unknown as { dispose(): void }).dispose();
      const tok = await loadTokenizer(join(dir, 'ck'));
      for (const s of ['the cat sat', 'héllo — 日本 🎉\n\t ']) {
        const ids = tok.encode(s);
        assert.deepEqual(ids, [...new TextEncoder().encode(s)]);
        assert.equal(tok.decode(ids), s);
      }
      const io = { stdout: { write: () => true }, stderr: { write: () => true } };
      const g = await runGenerate(parseGenerateArgs({ model: join(dir, 'ck'), prompt: 'the cat', maxNewTokens: '4', threads: '1', json: true }), io);
      assert.ok(g && g.ids.length >= 1 && g.ids.length <= 4 && g.ids.every((t: number) => t >= 0 && t < 256), `generated ${JSON.stringify(g?.ids)}`);
    } finally { be.dispose(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('xlstm train (binary): runs two steps, bad config exits 1 with one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-train-bin-'));
  try {
    const cfgPath = join(dir, 'c.json');
    writeFileSync(cfgPath, JSON.stringify(tirexConfig(dir, { optim: { lr: 0.001, steps: 2, batch_size: 2 }, eval: {} })));
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', 'dist/src/cli/bin.js', 'train', '--config', cfgPath, '--no-progress'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(out, '');
    assert.ok(existsSync(join(dir, 'ck', 'trainer_state.json')));
    writeFileSync(cfgPath, JSON.stringify({ model: { kind: 'tirex' } }));
    try {
      execFileSync(process.execPath, ['dist/src/cli/bin.js', 'train', '--config', cfgPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.fail('expected exit code 1');
    } catch (e) {
      const err = e as { status: number; stderr: string };
      assert.equal(err.status, 1);
      assert.match(err.stderr, /^xlstm: train config .*model\.embedding_dim is required\n$/);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
