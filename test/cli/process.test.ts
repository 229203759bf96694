// Process edges of the `xlstm` binary: SIGINT/SIGTERM during `train` write a checkpoint and
// exit 130/143, `--resume` continues exactly, a second signal ends the process at once;
// metrics.jsonl in step order; no empty folders after a failed run; train config values
// that contradict each other or exceed memory are refused up front; --version, one-line
// usage errors and --help examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { runTrain, resolveTrainConfig } from '../../src/cli/commands/train.js';
import { ConfigError, LimitError } from '../../src/errors.js';
import { EXIT_SIGINT, EXIT_SIGTERM } from '../../src/cli/exitCodes.js';
import { maxThreadCount } from '../../src/backend/wasm/backend.js';

const silent = { stdout: () => {}, stderr: () => {} };
const BIN = ['--experimental-wasm-relaxed-simd', 'dist/src/cli/bin.js'];

function tirexConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { kind: 'tirex', embedding_dim: 16, num_heads: 2, num_blocks: 1, input_ff_dim: 32, patch_size: 8, context_length: 48, seed: 3 },
    data: { seed: 5, cpm: { probability: 0.5 } },
    optim: { lr: 0.003, warmup_steps: 2, steps: 400, batch_size: 4, grad_clip: 1 },
    eval: {},
    checkpoint: { dir: join(dir, 'ck'), every: 1000 },
    log_every: 1,
    threads: 1,
    ...extra,
  };
}

interface Child { code: number | null; signal: string | null; stderr: string; closedAt: number }

/**
 * Starts `xlstm train`, calls `onLine` with every stderr line as it comes (it may send
 * signals), and resolves when the process has ended.
 */
function trainChild(config: string, onLine: (line: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Child> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...BIN, 'train', '--config', config, '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', partial = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine(l, (s) => child.kill(s));
    });
    child.on('close', (code, signal) => { clearTimeout(guard); done({ code, signal, stderr, closedAt: Date.now() }); });
  });
}

const lossLines = (ck: string) => readFileSync(join(ck, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number });

for (const [sig, code, workers] of [['SIGINT', EXIT_SIGINT, 1], ['SIGTERM', EXIT_SIGTERM, 0]] as const) {
  test(`xlstm train: ${sig} after some steps writes a checkpoint, exits ${code}, and --resume continues exactly (data workers ${workers})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xlstm-signal-'));
    try {
      const cfg = tirexConfig(join(dir, 'A'));
      (cfg.data as Record<string, unknown>).workers = workers;
      writeFileSync(join(dir, 'a.json'), JSON.stringify(cfg));
      let sent = false;
      const r = await trainChild(join(dir, 'a.json'), (line, kill) => {
        const m = /^step (\d+)\//.exec(line);
        if (m && Number(m[1]) >= 3 && !sent) { sent = true; kill(sig); }
      });
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.code, code, r.stderr);
      const ck = join(dir, 'A', 'ck');
      const state = JSON.parse(readFileSync(join(ck, 'trainer_state.json'), 'utf8')) as { step: number };
      const k = state.step;
      assert.ok(k >= 3 && k < 400, `stopped at step ${k}`);
      assert.match(r.stderr, new RegExp(`xlstm train: ${sig}: stopping after this step`));
      assert.ok(r.stderr.includes(`xlstm train: stopped by ${sig} after step ${k} of 400; checkpoint in ${ck} (continue with: xlstm train --config ${join(dir, 'a.json')} --resume)\n`), r.stderr);
      assert.deepEqual(readdirSync(ck).filter((f) => f.endsWith('.tmp')), []);
      // metrics.jsonl: one line per step, in order
      const before = lossLines(ck);
      assert.deepEqual(before.map((l) => l.step), Array.from({ length: k }, (_, i) => i + 1));
      // resume for two more steps == an uninterrupted run to the same step
      const resumed = await runTrain({ config: join(dir, 'a.json'), resume: true, untilStep: k + 2, progress: false }, silent);
      assert.equal(resumed.startStep, k);
      const ref = tirexConfig(join(dir, 'B'));
      (ref.data as Record<string, unknown>).workers = workers;
      writeFileSync(join(dir, 'b.json'), JSON.stringify(ref));
      const full = await runTrain({ config: join(dir, 'b.json'), untilStep: k + 2, progress: false }, silent);
      assert.deepEqual([...before.map((l) => l.loss), ...resumed.losses], full.losses, 'interrupted + resumed losses differ from the uninterrupted run');
      assert.ok(readFileSync(join(ck, 'model.safetensors')).equals(readFileSync(join(dir, 'B', 'ck', 'model.safetensors'))), 'weights differ');
      assert.deepEqual(lossLines(ck).map((l) => l.step), Array.from({ length: k + 2 }, (_, i) => i + 1));
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
}

test('xlstm train: a second signal ends the process at once (while the first one\'s checkpoint is being written)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-signal2-'));
  try {
    // weights and moments of ~6M parameters: the checkpoint takes long enough to be interrupted
    const cfg = tirexConfig(dir, {
      model: { kind: 'tirex', embedding_dim: 384, num_heads: 4, num_blocks: 4, input_ff_dim: 64, patch_size: 8, context_length: 32, seed: 3 },
      optim: { lr: 0.001, steps: 100, batch_size: 1 },
      data: { seed: 5, workers: 0 },
    });
    writeFileSync(join(dir, 'c.json'), JSON.stringify(cfg));
    let firstAt = 0, secondAt = 0;
    const r = await trainChild(join(dir, 'c.json'), (line, kill) => {
      if (!firstAt && /^step 1\//.test(line)) { firstAt = Date.now(); kill('SIGINT'); }
      if (!secondAt && /SIGINT: stopping after this step/.test(line)) { secondAt = Date.now(); kill('SIGINT'); }
    });
    assert.ok(secondAt > 0, r.stderr);
    assert.equal(r.signal, 'SIGINT', `expected the default action of a second SIGINT, got exit ${r.code}: ${r.stderr}`);
    assert.ok(r.closedAt - secondAt < 2000, `ended ${r.closedAt - secondAt} ms after the second signal`);
    assert.doesNotMatch(r.stderr, /stopped by SIGINT/);
    // no checkpoint was completed; what a cut-off save leaves (temp files) goes with the next run
    assert.equal(existsSync(join(dir, 'ck', 'trainer_state.json')), false);
    writeFileSync(join(dir, 'ck', '.optimizer.safetensors.4242.k3x9.tmp'), 'partial');
    const again = await runTrain({ config: join(dir, 'c.json'), untilStep: 1, progress: false }, silent);
    assert.equal(again.endStep, 1);
    assert.deepEqual(readdirSync(join(dir, 'ck')).filter((f) => f.endsWith('.tmp')), []);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('xlstm train: failed runs leave no folder they created; a user\'s own empty folder stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-nofolders-'));
  try {
    // fails after the config is read (eval.csv cannot be read), with a nested checkpoint.dir
    writeFileSync(join(dir, 'a.json'), JSON.stringify(tirexConfig(dir, { checkpoint: { dir: join(dir, 'runs', 'r1', 'ck') }, eval: { csv: [join(dir, 'missing.csv')] } })));
    await assert.rejects(runTrain({ config: join(dir, 'a.json'), progress: false }, silent), /eval\.csv: cannot read/);
    assert.equal(existsSync(join(dir, 'runs')), false);
    // --resume without a checkpoint
    mkdirSync(join(dir, 'mine'));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(tirexConfig(dir, { checkpoint: { dir: join(dir, 'mine', 'ck') } })));
    await assert.rejects(runTrain({ config: join(dir, 'b.json'), resume: true, progress: false }, silent), /--resume: no checkpoint/);
    assert.deepEqual(readdirSync(join(dir, 'mine')), []);
    // an LM whose sequences cannot fit in memory: refused before any folder is made
    writeFileSync(join(dir, 't.txt'), 'abc '.repeat(50));
    writeFileSync(join(dir, 'lm.json'), JSON.stringify({
      model: { kind: 'xlstm-lm', config: { vocab_size: 256, embedding_dim: 16, num_blocks: 1, context_length: 16 } },
      data: { text: 't.txt', seq_len: 100_000_000 }, optim: { lr: 0.01, steps: 2, batch_size: 1 }, checkpoint: { dir: 'lmrun/ck' }, threads: 1,
    }));
    await assert.rejects(runTrain({ config: join(dir, 'lm.json'), progress: false }, silent), (e: Error) => {
      assert.ok(e instanceof LimitError, e.message);
      assert.equal(e.option, 'data.seq_len');
      assert.ok(e.limit > 1000 && e.limit < 100_000_000, String(e.limit));
      assert.match(e.message, /^train config '.*lm\.json': data\.seq_len 100000000 is above the limit \d+ \(one sample would need at least .* GiB of activations; the wasm heap holds 4 GiB\)$/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'lmrun')), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('train config: contradicting values and sizes beyond memory are errors naming keys, values and limits, at once', () => {
  const base = tirexConfig('/tmp/x');
  const optim = base.optim as Record<string, unknown>;
  const cfgErr = (raw: Record<string, unknown>, re: RegExp) => assert.throws(() => resolveTrainConfig(raw, "'c.json'"), (e: Error) => {
    assert.ok(e instanceof ConfigError, `${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
  cfgErr({ ...base, optim: { ...optim, lr: 0.001, min_lr: 0.01 } }, /^train config 'c\.json': optim\.min_lr \(0\.01\) must be <= optim\.lr \(0\.001\)/);
  cfgErr({ ...base, optim: { ...optim, steps: 10, warmup_steps: 20 } }, /^train config 'c\.json': optim\.warmup_steps \(20\) must be <= optim\.steps \(10\)/);
  cfgErr({ ...base, data: { min_context_length: 64 } }, /data\.min_context_length \(64\) must be <= model\.context_length \(48\)/);
  cfgErr({ ...base, model: { ...(base.model as object), patch_size: 64 } }, /model\.patch_size \(64\) must be <= model\.context_length \(48\)/);
  cfgErr({ ...base, data: { cpm: { probability: 0.5, max_rnu: 3 } } }, /data\.cpm\.max_rnu is not a known key/);
  cfgErr({ ...base, eval: { synthetic: { count: 2, sead: 1 } } }, /eval\.synthetic\.sead is not a known key/);
  cfgErr({ ...base, eval: { csv: [{ path: 'a.csv', horizn: 3 }] } }, /eval\.csv\[0\]\.horizn is not a known key/);
  cfgErr({ ...base, checkpoint: { dir: 'ck', evry: 3 } }, /checkpoint\.evry is not a known key/);
  const limitErr = (raw: Record<string, unknown>, option: string, value: number, re: RegExp) => {
    const t0 = Date.now();
    assert.throws(() => resolveTrainConfig(raw, "'c.json'"), (e: Error) => {
      assert.ok(e instanceof LimitError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.option, option);
      assert.equal(e.value, value);
      assert.ok(e.limit < value && e.limit >= 0, `limit ${e.limit}`);
      assert.match(e.message, re);
      return true;
    });
    assert.ok(Date.now() - t0 < 1000);
  };
  limitErr({ ...base, optim: { ...optim, batch_size: 10_000_000 } }, 'optim.batch_size', 10_000_000, /^train config 'c\.json': optim\.batch_size 10000000 is above the limit \d+ \(one step .* the wasm heap holds 4 GiB\)$/);
  limitErr({ ...base, model: { ...(base.model as object), num_blocks: 1e9 } }, 'model.num_blocks', 1e9, /model\.num_blocks 1000000000 is above the limit \d+ \(the weights and gradients would need at least/);
  limitErr({ ...base, model: { ...(base.model as object), embedding_dim: 1_000_000, num_heads: 1 } }, 'model.embedding_dim', 1_000_000, /model\.embedding_dim 1000000 is above the limit \d+/);
  limitErr({ ...base, model: { ...(base.model as object), context_length: 2 ** 40, patch_size: 1 } }, 'model.context_length', 2 ** 40, /model\.context_length \d+ is above the limit/);
  limitErr({ ...base, optim: { ...optim, steps: 1e12 } }, 'optim.steps', 1e12, /optim\.steps 1000000000000 is above the limit 1000000000/);
  // the largest batch named in the message is accepted
  const msg = (() => { try { resolveTrainConfig({ ...base, optim: { ...optim, batch_size: 10_000_000 } }, 'c'); return ''; } catch (e) { return (e as LimitError).limit; } })();
  assert.equal(resolveTrainConfig({ ...base, optim: { ...optim, batch_size: msg } }, 'c').optim.batch_size, msg);
});

test('xlstm train --threads 100000: one line naming the flag, value and limit, exit 1, at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-threads-'));
  try {
    writeFileSync(join(dir, 'a.json'), JSON.stringify(tirexConfig(dir)));
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [...BIN, 'train', '--config', join(dir, 'a.json'), '--threads', '100000'], { encoding: 'utf8' });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `xlstm: --threads 100000 is above the limit ${await maxThreadCount()} (compute threads: 4 per core, at most 256)\n`);
    const z = spawnSync(process.execPath, [...BIN, 'train', '--config', join(dir, 'a.json'), '--threads', '0'], { encoding: 'utf8' });
    assert.equal(z.status, 1);
    assert.equal(z.stderr, "xlstm: --threads must be a positive integer, got '0'\n");
    // the config key is named with the file when the flag is not given
    writeFileSync(join(dir, 'b.json'), JSON.stringify(tirexConfig(dir, { threads: 100000 })));
    const c = spawnSync(process.execPath, [...BIN, 'train', '--config', join(dir, 'b.json')], { encoding: 'utf8' });
    assert.equal(c.status, 1);
    assert.equal(c.stderr, `xlstm: train config '${join(dir, 'b.json')}': threads 100000 is above the limit ${await maxThreadCount()} (compute threads: 4 per core, at most 256)\n`);
    assert.equal(existsSync(join(dir, 'ck')), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('xlstm --version prints package.json\'s version; usage errors are one line; --help shows examples', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const v = spawnSync(process.execPath, [...BIN, flag], { encoding: 'utf8' });
    assert.equal(v.status, 0);
    assert.equal(v.stdout, `${pkg.version}\n`);
  }
  const one = (args: string[], expected: string) => {
    const r = spawnSync(process.execPath, [...BIN, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, expected);
    assert.equal(r.stdout, '');
  };
  one(['forecast', 'x.csv'], 'xlstm forecast: missing required option --horizon <n>\n');
  one(['train'], 'xlstm train: missing required option --config <file>\n');
  one(['generate', '-p', 'hi'], 'xlstm generate: missing required option -m, --model <dir>\n');
  one(['convert', 'tirex', '--ckpt', 'a'], 'xlstm convert tirex: missing required option --out <dir>\n');
  one(['train', '--config', 'a.json', '--resmue'], "xlstm train: unknown option '--resmue' (did you mean --resume?)\n");
  one(['trian'], "xlstm: unknown command 'trian' (did you mean train?)\n");
  for (const [cmd, example] of [['train', 'xlstm train --config configs/default-forecaster.yaml'], ['forecast', 'xlstm forecast sales.csv --horizon 24'], ['evaluate', 'xlstm evaluate sales.csv'], ['generate', 'xlstm generate --model'], ['score', 'xlstm score --model'], ['convert tirex', 'xlstm convert tirex --ckpt']] as const) {
    const h = spawnSync(process.execPath, [...BIN, ...cmd.split(' '), '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /\nExamples:\n {2}\$ xlstm /, `${cmd} --help`);
    assert.ok(h.stdout.includes(`$ ${example}`), `${cmd} --help lacks ${example}:\n${h.stdout}`);
  }
  const top = spawnSync(process.execPath, [...BIN, '--help'], { encoding: 'utf8' });
  assert.match(top.stdout, /Examples:\n/);
  assert.match(top.stdout, /-V, --version/);
});
