// Trainer on a tiny softmax-regression problem: the loss falls, accumulation over k
// micro-batches equals one step on their concatenation, a restored checkpoint continues
// bit-identically (f32 and f64 tapes), hooks fire, bad options are rejected; TextDataset
// windows, split, resumable order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Parameter, ag } from '../../src/autograd/index.js';
import { Rng } from '../../src/optim/index.js';
import { Trainer, TrainData, Json, TrainerProgress, writeFileAtomic } from '../../src/train/trainer.js';
import { TextDataset, encodeBytes, encodeWithTokenizer, byteLevelTokenizerJson } from '../../src/train/textData.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { createLmTraining } from '../../src/train/lmTraining.js';
import { loadLanguageModel, loadTokenizer } from '../../src/models/auto.js';
import { loadTokenizerFromDir } from '../../src/tokenizer/index.js';
import { FIXTURES } from '../helpers/golden.js';

interface Batch { x: Float32Array; y: number[]; n: number }
const D = 6, C = 3;

/** Deterministic points of 3 linearly separable classes; batches of n in order, cyclic. */
class Points implements TrainData<Batch> {
  pos = 0;
  readonly xs: Float32Array; readonly ys: number[];
  constructor(readonly total: number, readonly n: number) {
    const r = new Rng(5);
    this.xs = new Float32Array(total * D); this.ys = [];
    for (let i = 0; i < total; i++) {
      const c = i % C;
      this.ys.push(c);
      for (let d = 0; d < D; d++) this.xs[i * D + d] = r.normal() * 0.5 + (d % C === c ? 1.5 : 0);
    }
  }
  next(): Batch {
    const x = new Float32Array(this.n * D), y: number[] = [];
    for (let b = 0; b < this.n; b++) { const i = (this.pos + b) % this.total; x.set(this.xs.subarray(i * D, (i + 1) * D), b * D); y.push(this.ys[i]); }
    this.pos = (this.pos + this.n) % this.total;
    return { x, y, n: this.n };
  }
  state(): Json { return { pos: this.pos }; }
  restore(s: Json): void { this.pos = (s as { pos: number }).pos; }
}

function makeParams(dtype: 'f32' | 'f64'): Parameter[] {
  const r = new Rng(1);
  const mk = (shape: number[], data: Float32Array) => new Tensor(dtype, shape, dtype === 'f32' ? data : Float64Array.from(data));
  return [
    new Parameter(mk([C, D], r.normalArray(C * D, 0.1)), 'head.weight'),
    new Parameter(mk([C], new Float32Array(C)), 'head.bias', false),
  ];
}

function lossFn(params: Parameter[]) {
  return (t: Tape, b: Batch) => {
    const x = t.input(new Tensor('f32', [b.n, D], b.x));
    return { loss: ag.crossEntropy(t, ag.linear(t, x, params[0], params[1]), b.y), tokens: b.n };
  };
}

function trainer(be: WasmBackend | null, dtype: 'f32' | 'f64', o: { acc?: number; n?: number; totalSteps?: number; lr?: number; gradClip?: number; onProgress?: (p: TrainerProgress) => void; checkedSettings?: Record<string, number> } = {}) {
  const params = makeParams(dtype);
  return new Trainer<Batch>({
    params, loss: lossFn(params), data: new Points(60, o.n ?? 8), backend: be, dtype,
    totalSteps: o.totalSteps ?? 30, lr: o.lr ?? 0.1, warmupSteps: 3, weightDecay: 0.05, gradClip: o.gradClip ?? 1, accumulationSteps: o.acc, seed: 3, onProgress: o.onProgress,
    checkedSettings: o.checkedSettings,
  });
}

const values = (t: Trainer<Batch>) => t.params.map((p) => Array.from(p.value.data as Float32Array));

test('Trainer: loss falls, progress reports, lr follows warmup + cosine', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  const seen: TrainerProgress[] = [];
  const tr = trainer(be, 'f32', { onProgress: (p) => seen.push(p) });
  const res = await tr.run();
  assert.equal(res.length, 30);
  assert.equal(seen.length, 30);
  assert.ok(res[29].loss < 0.35 * res[0].loss, `loss ${res[0].loss} -> ${res[29].loss}`);
  assert.ok(Math.abs(res[0].lr - 0.1 / 3) < 1e-12 && Math.abs(res[2].lr - 0.1) < 1e-12, `warmup lrs ${res.slice(0, 3).map((r) => r.lr)}`);
  assert.ok(res[29].lr < 0.002, `final lr ${res[29].lr}`);
  assert.ok(seen[29].tokensPerSec > 0 && seen[29].etaSec === 0 && seen[0].etaSec > 0);
  be.dispose();
});

test('Trainer: accumulation over 2 micro-batches == one step on both (f64 tape)', async () => {
  const a = trainer(null, 'f64', { acc: 2, n: 6, totalSteps: 4 });
  const b = trainer(null, 'f64', { acc: 1, n: 12, totalSteps: 4 });
  await a.run(); await b.run();
  const va = values(a), vb = values(b);
  for (let i = 0; i < va.length; i++) for (let j = 0; j < va[i].length; j++) assert.ok(Math.abs(va[i][j] - vb[i][j]) < 1e-12, `param ${i}[${j}]: ${va[i][j]} vs ${vb[i][j]}`);
});

for (const dtype of ['f32', 'f64'] as const) {
  test(`Trainer: resume from a checkpoint continues bit-identically (${dtype})`, async () => {
    const be = dtype === 'f32' ? await WasmBackend.create({ threads: 1 }) : null;
    const full = trainer(be, dtype, { acc: 2 });
    const lossesFull = (await full.run()).map((r) => r.loss);
    const first = trainer(be, dtype, { acc: 2 });
    await first.run({ untilStep: 13 });
    const dir = mkdtempSync(join(tmpdir(), 'trainer-'));
    try {
      await first.saveCheckpoint(dir);
      const resumed = trainer(be, dtype, { acc: 2 });
      await resumed.loadCheckpoint(dir);
      assert.equal(resumed.step, 13);
      const rest = (await resumed.run()).map((r) => r.loss);
      assert.deepEqual(rest, lossesFull.slice(13));
      assert.deepEqual(values(resumed), values(full));
    } finally { rmSync(dir, { recursive: true, force: true }); be?.dispose(); }
  });
}

test('Trainer: the RNG state (with a pending spare normal) is checkpointed; v1 checkpoints load; bad rng state is named', async () => {
  // input noise from ctx.rng: 7 normals per step, so a Box-Muller spare is pending at odd steps
  const noisy = () => {
    const params = makeParams('f64');
    return new Trainer<Batch>({
      params, data: new Points(60, 8), backend: null, dtype: 'f64', totalSteps: 12, lr: 0.1, seed: 11,
      loss: (t, b, ctx) => {
        const x = Float32Array.from(b.x);
        for (let i = 0; i < 7; i++) x[i] += 0.3 * ctx.rng.normal();
        return lossFn(params)(t, { ...b, x });
      },
    });
  };
  const full = noisy();
  const lossesFull = (await full.run()).map((r) => r.loss);
  const first = noisy();
  await first.run({ untilStep: 5 });
  assert.equal(typeof first.rng.getState().spareNormal, 'number');
  const ck = first.checkpoint();
  const resumed = noisy();
  resumed.restore(ck);
  assert.deepEqual(resumed.rng.getState(), first.rng.getState());
  assert.deepEqual((await resumed.run()).map((r) => r.loss), lossesFull.slice(5));
  // without the RNG state the noise differs: the test above can fail
  const noRng = noisy();
  noRng.restore(ck);
  noRng.rng.setState(new Rng(11).getState());
  assert.notDeepEqual((await noRng.run()).map((r) => r.loss), lossesFull.slice(5));

  const edit = (f: (st: Record<string, unknown>) => void) => {
    const st = JSON.parse(new TextDecoder().decode(ck['trainer_state.json']));
    f(st);
    return { ...ck, 'trainer_state.json': new TextEncoder().encode(JSON.stringify(st)) };
  };
  assert.throws(() => noisy().restore(edit((st) => { (st.rng as { s: number[] }).s[1] = -4; })), /trainer_state\.json: Rng\.setState: s\[1\] = -4/);
  // version 1 (mulberry32 RNG): an unused RNG (counter = seed) resumes as a fresh Rng(seed)
  const v1 = noisy();
  v1.restore(edit((st) => { st.version = 1; st.rng = { s: 11, spare: null }; }));
  assert.equal(v1.step, 5);
  assert.deepEqual(v1.rng.getState(), new Rng(11).getState());
  const v1used = noisy();
  v1used.restore(edit((st) => { st.version = 1; st.rng = { s: 123456, spare: 0.25 }; }));
  assert.deepEqual(v1used.rng.getState(), new Rng(123456).getState());
  assert.throws(() => noisy().restore(edit((st) => { st.version = 1; st.rng = { s: 'x' }; })), /version 1 rng = \{"s":"x"\}/);
  assert.throws(() => noisy().restore(edit((st) => { st.version = 3; })), /v3, expected xlstm-ts-trainer-checkpoint v1 or v2/);
});

test('Trainer: evaluation hook and option errors', async () => {
  const params = makeParams('f64');
  const evals: number[] = [];
  const tr = new Trainer<Batch>({
    params, loss: lossFn(params), data: new Points(30, 5), backend: null, dtype: 'f64', totalSteps: 5, lr: 0.05,
    evalEvery: 2, evaluate: (t) => ({ step: t.step }), onEval: (s, m) => { assert.equal(m.step, s); evals.push(s); },
  });
  await tr.run();
  assert.deepEqual(evals, [2, 4, 5]);
  assert.throws(() => new Trainer<Batch>({ params: [new Parameter(new Tensor('f64', [1], new Float64Array(1)))], loss: lossFn(params), data: new Points(3, 1), backend: null, dtype: 'f64', totalSteps: 1, lr: 1 }), /no name/);
  assert.throws(() => new Trainer<Batch>({ params, loss: lossFn(params), data: new Points(3, 1), backend: null, dtype: 'f32', totalSteps: 1, lr: 1 }), /needs options.backend/);
  assert.throws(() => new Trainer<Batch>({ params, loss: lossFn(params), data: new Points(3, 1), backend: null, dtype: 'f64', totalSteps: 0, lr: 1 }), /totalSteps/);
  assert.throws(() => tr.restore({}), /missing/);
  // a checkpoint of other parameters is refused with the differences named
  const ck = tr.checkpoint();
  const other = [new Parameter(new Tensor('f64', [C, D + 1], new Float64Array(C * (D + 1))), 'head.weight'), params[1]];
  const tr2 = new Trainer<Batch>({ params: other, loss: lossFn(other), data: new Points(30, 5), backend: null, dtype: 'f64', totalSteps: 5, lr: 0.05 });
  assert.throws(() => tr2.restore(ck), /head\.weight: checkpoint \[3, 6\], parameter \[3, 7\]/);
  const undecayed = [new Parameter(params[0].value, 'head.weight', false), params[1]];
  const tr3 = new Trainer<Batch>({ params: undecayed, loss: lossFn(undecayed), data: new Points(30, 5), backend: null, dtype: 'f64', totalSteps: 5, lr: 0.05 });
  assert.throws(() => tr3.restore(ck), /checkpoint decay true, parameter decay false/);
});

test('TextDataset: windows, split, deterministic resumable order', () => {
  // consecutive letters (so windows are checkable) starting at a new random letter every 26
  const r = new Rng(9);
  let text = '';
  for (let k = 0; k < 8; k++) { const o = Math.floor(r.uniform() * 26); for (let j = 0; j < 26; j++) text += String.fromCharCode(97 + ((o + j) % 26)); }
  const toks = encodeBytes(text);
  assert.equal(toks.length, 208);
  const ds = new TextDataset(toks, { seqLen: 9, batchSize: 3, validationFraction: 0.25, seed: 4 });
  assert.equal(ds.trainTokens.length + ds.validationTokens.length, toks.length);
  assert.equal(ds.validationTokens.length, Math.floor(toks.length * 0.25));
  assert.equal(ds.train.windows, Math.floor((ds.trainTokens.length - 9) / 8) + 1);
  const b0 = ds.train.next();
  assert.equal(b0.ids.length, 27);
  // every window is a contiguous run of the stream
  assert.deepEqual(Array.from(toks.subarray(0, 3)), Array.from(encodeBytes(text.slice(0, 3))));
  for (let b = 0; b < 3; b++) assert.ok(text.includes(String.fromCharCode(...b0.ids.subarray(b * 9, b * 9 + 9))));
  // one epoch covers each window once (without the remainder)
  const seenStarts = new Set<string>();
  const per = Math.floor(ds.train.windows / 3);
  // distinct ids so that windows are identified by their content
  const uniq = Int32Array.from({ length: toks.length }, (_, i) => i);
  const ds2 = new TextDataset(uniq, { seqLen: 9, batchSize: 3, validationFraction: 0.25, seed: 4 });
  for (let i = 0; i < per; i++) { const b = ds2.train.next(); for (let j = 0; j < 3; j++) seenStarts.add(Array.from(b.ids.subarray(j * 9, j * 9 + 9)).join(',')); }
  assert.equal(seenStarts.size, per * 3);
  // resume: state after k batches reproduces the following batches (also across an epoch)
  const st = ds2.train.state();
  const after = [ds2.train.next(), ds2.train.next()].map((b) => Array.from(b.ids));
  const ds3 = new TextDataset(uniq, { seqLen: 9, batchSize: 3, validationFraction: 0.25, seed: 4 });
  ds3.train.restore(st);
  assert.deepEqual([ds3.train.next(), ds3.train.next()].map((b) => Array.from(b.ids)), after);
  const other = new TextDataset(toks, { seqLen: 9, batchSize: 3, validationFraction: 0.25, seed: 5 });
  assert.notDeepEqual(Array.from(other.train.next().ids), Array.from(b0.ids));
  const vb = ds.validationBatches();
  assert.ok(vb.length >= 1 && vb[0].seqLen === 9);
  assert.deepEqual(Array.from(vb[0].ids.subarray(0, 9)), Array.from(ds.validationTokens.subarray(0, 9)));
  assert.throws(() => new TextDataset(toks, { seqLen: 1, batchSize: 1 }), /seqLen/);
  assert.throws(() => new TextDataset(toks.subarray(0, 10), { seqLen: 9, batchSize: 3, validationFraction: 0 }), /fewer than batchSize/);
  assert.throws(() => ds3.train.restore({ epoch: 'x' } as unknown as Json), /expected \{epoch, pos\}/);
});

test('encodeWithTokenizer: the tokenizer.json ids without special tokens', async () => {
  const tok = await loadTokenizerFromDir(join(FIXTURES, 'tokenizer'));
  const text = 'hello world';
  const ids = encodeWithTokenizer(tok, text);
  assert.deepEqual(Array.from(ids), tok.encode(text, { addSpecialTokens: false }));
  assert.equal(tok.decode(Array.from(ids)), text);
  assert.deepEqual(Array.from(encodeBytes('hé')), [104, 195, 169]);
});

test('Trainer: the checkpoint holds the hyperparameters; a restore with other ones names each; old checkpoints load', async () => {
  const tr = trainer(null, 'f64', { totalSteps: 6, checkedSettings: { batchSize: 8 } });
  await tr.run({ untilStep: 2 });
  const ck = tr.checkpoint();
  const st = JSON.parse(new TextDecoder().decode(ck['trainer_state.json']));
  assert.deepEqual(st.hyperparameters, { totalSteps: 6, lr: 0.1, warmupSteps: 3, minLr: 0, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, gradClip: 1, accumulationSteps: 1, seed: 3, batchSize: 8 });
  trainer(null, 'f64', { totalSteps: 6, checkedSettings: { batchSize: 8 } }).restore(ck);
  assert.throws(() => trainer(null, 'f64', { totalSteps: 8, lr: 0.2, checkedSettings: { batchSize: 8 } }).restore(ck),
    /checkpoint was made with totalSteps 6, this run has 8; checkpoint was made with lr 0\.1, this run has 0\.2$/);
  assert.throws(() => trainer(null, 'f64', { totalSteps: 6, checkedSettings: { batchSize: 4 } }).restore(ck), /checkpoint was made with batchSize 8, this run has 4/);
  assert.throws(() => trainer(null, 'f64', { totalSteps: 6, acc: 2, checkedSettings: { batchSize: 8 } }).restore(ck), /accumulationSteps 1, this run has 2/);
  // nothing changed by a refused restore
  const fresh = trainer(null, 'f64', { totalSteps: 8 });
  assert.throws(() => fresh.restore(ck), /totalSteps 6, this run has 8/);
  assert.equal(fresh.step, 0);
  // a checkpoint made before hyperparameters were saved loads as before
  delete st.hyperparameters;
  const old = trainer(null, 'f64', { totalSteps: 8 });
  old.restore({ ...ck, 'trainer_state.json': new TextEncoder().encode(JSON.stringify(st)) });
  assert.equal(old.step, 2);
});

test('writeFileAtomic: replaces a file whole and leaves no temp file, also when the rename fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  try {
    const p = join(dir, 'model.safetensors');
    writeFileSync(p, 'old content that is longer than the new one');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
    await writeFileAtomic(p, 'text');
    assert.equal(readFileSync(p, 'utf8'), 'text');
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
    // the target is a folder: the rename fails, the temp file is removed
    const sub = join(dir, 'sub');
    (await import('node:fs')).mkdirSync(join(sub, 'x'), { recursive: true });
    await assert.rejects(writeFileAtomic(sub, 'x'));
    assert.deepEqual(readdirSync(dir).sort(), ['model.safetensors', 'sub']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('byteLevelTokenizerJson: ids are the UTF-8 bytes, decode round-trips (non-ASCII too)', () => {
  const tok = Tokenizer.fromJSON(byteLevelTokenizerJson());
  assert.equal(tok.vocabSize, 256);
  const all = Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(all.map((i) => tok.idToToken(i) !== undefined), all.map(() => true));
  for (const s of ['hello world', '  two  spaces\n\ttab\r\n', 'héllo wörld — 日本語 🎉', '\u0000\u0001\u007f x']) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, Array.from(encodeBytes(s)));
    assert.equal(tok.decode(ids), s);
  }
});

test('createLmTraining on text: saveModel over an existing folder writes complete files (+ a byte-level tokenizer.json) that load', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'lm-save-'));
  try {
    const lmt = await createLmTraining({
      config: { vocab_size: 256, embedding_dim: 16, num_blocks: 1, context_length: 16, mlstm_block: { mlstm: { conv1d_kernel_size: 4, qkv_proj_blocksize: 4, num_heads: 2 } } },
      text: 'a small text, é and ü. '.repeat(12), seqLen: 16, batchSize: 2, backend: be, totalSteps: 2, lr: 0.01,
    });
    await lmt.trainer.run();
    assert.deepEqual(Object.keys(lmt.modelFiles()).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
    // a folder holding older (here: garbage) files of the same names
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) writeFileSync(join(dir, f), 'x'.repeat(100000));
    await lmt.saveModel(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(Buffer.from(lmt.modelFiles()['model.safetensors'])));
    const lm = await loadLanguageModel(dir, { backend: be });
    assert.equal(lm.modelType, 'xlstm-lm');
    (lm as unknown as { dispose(): void }).dispose();
    assert.deepEqual((await loadTokenizer(dir)).encode('é a'), [0xc3, 0xa9, 0x20, 0x61]);
    // checkpoints carry config.json and tokenizer.json too
    await lmt.trainer.saveCheckpoint(join(dir, 'ck'));
    assert.deepEqual(readdirSync(join(dir, 'ck')).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'trainer_state.json']);
  } finally { rmSync(dir, { recursive: true, force: true }); be.dispose(); }
});
