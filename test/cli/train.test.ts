// `xlstm train`: config validation, a few TiRex steps end-to-end with checkpoint + exact
// resume (split run == uninterrupted run), the checkpoint folder loads as a TiRex, the
// xlstm-lm kind, and the CLI binary once through child_process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { runTrain, resolveTrainConfig } from '../../src/cli/commands/train.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';

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
    const second = await runTrain({ config: b, progress: false, resume: true }, silent);
    assert.equal(second.startStep, 3);
    assert.deepEqual([...first.losses, ...second.losses], full.losses, 'resumed losses differ from the uninterrupted run');
    const wa = readFileSync(join(dir, 'A', 'ck', 'model.safetensors')), wb = readFileSync(join(dir, 'B', 'ck', 'model.safetensors'));
    assert.ok(wa.equals(wb), 'final weights differ after resume');
    const lines = readFileSync(join(dir, 'A', 'ck', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.loss !== undefined).length, 6);
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
