// Trainable TiRex: pinball loss by hand, CPM masks, batches deterministic by seed, trainable
// forward == inference TiRex (f32 recurrence) after save + fromPretrained, gradients vs
// finite differences, and a tiny model learning a simple task.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape } from '../../src/autograd/tape.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { AdamW, paramGroups, clipGradNorm } from '../../src/optim/optim.js';
import { Rng } from '../../src/random/rng.js';
import { pinball, quantileLoss } from '../../src/train/forecastLoss.js';
import { contiguousPatchMask, ForecastBatchSampler, ForecastBatch } from '../../src/train/forecastData.js';
import { TiRexTrainable, nanScaler } from '../../src/train/tirexTrainable.js';

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 2 }); });
after(() => { be.dispose(); });

const TINY = { embeddingDim: 16, numHeads: 2, numBlocks: 2, inputFfDim: 24, patchSize: 4, contextLength: 24 };

test('pinball / quantileLoss: values by hand, NaN targets skipped, gradient', () => {
  assert.equal(pinball(3, 1, 0.1), 0.2); // under-forecast: q (y - yhat)
  assert.ok(Math.abs(pinball(1, 3, 0.1) - 1.8) < 1e-12); // over-forecast: (1 - q)(yhat - y)
  const t = new Tape(be, 'f32');
  // B=1, T=2, Q=2, P=2: pred rows are [q0p0, q0p1, q1p0, q1p1]
  const levels = [0.25, 0.75];
  const pred = t.input(new Tensor('f32', [1, 2, 4], Float32Array.from([0, 1, 2, 3, 10, 10, 10, 10])), true);
  const target = Float32Array.from([1, NaN, 0, 20]);
  const { loss, scored } = quantileLoss(t, pred, target, levels);
  assert.equal(scored, 3);
  // token 0, p0 (y=1): q=.25 yhat=0 -> .25*1 = .25; q=.75 yhat=2 -> .25*1 = .25
  // token 1, p0 (y=0): yhat 10 both -> .75*10 = 7.5 and .25*10 = 2.5
  // token 1, p1 (y=20): yhat 10 both -> .25*10 = 2.5 and .75*10 = 7.5
  const want = (0.25 + 0.25 + 7.5 + 2.5 + 2.5 + 7.5) / (3 * 2);
  assert.ok(Math.abs((loss.data[0]) - want) < 1e-6, `loss ${loss.data[0]} vs ${want}`);
  t.backward(loss);
  const g = Array.from(pred.grad!.data as Float32Array);
  const n = 1 / 6;
  const wantG = [-0.25 * n, 0, 0.25 * n, 0, 0.75 * n, -0.25 * n, 0.25 * n, -0.75 * n];
  wantG.forEach((v, i) => assert.ok(Math.abs(g[i] - v) < 1e-7, `grad[${i}] ${g[i]} vs ${v}`));
});

test('contiguousPatchMask: runs within range, token 0 kept, deterministic by seed', () => {
  for (let seed = 0; seed < 50; seed++) {
    const a = contiguousPatchMask(new Rng(seed), 16, { probability: 1, maxRun: 3, maxRuns: 2 });
    const b = contiguousPatchMask(new Rng(seed), 16, { probability: 1, maxRun: 3, maxRuns: 2 });
    assert.deepEqual(a, b);
    assert.equal(a.length, 16);
    assert.equal(a[0], 0);
    const ones = a.reduce((s, v) => s + v, 0);
    assert.ok(ones >= 1 && ones <= 6, `seed ${seed}: ${ones} masked`);
    // every run is at most 3 long unless two runs touch (then at most 6)
    let run = 0, longest = 0;
    for (const v of a) { run = v ? run + 1 : 0; longest = Math.max(longest, run); }
    assert.ok(longest <= 6);
  }
  assert.equal(contiguousPatchMask(new Rng(1), 16, { probability: 0 }).reduce((s, v) => s + v, 0), 0);
  // suffixProbability 1: the first run always ends at the last token
  for (let seed = 0; seed < 20; seed++) assert.equal(contiguousPatchMask(new Rng(seed), 10, { probability: 1, suffixProbability: 1, maxRuns: 1 })[9], 1);
  assert.throws(() => contiguousPatchMask(new Rng(1), 0), /numTokens/);
});

test('ForecastBatchSampler: shapes, end-aligned random contexts, deterministic by (seed, step)', () => {
  const o = { seed: 7, contextLength: 40, minContextLength: 8, patchSize: 8, batchSize: 6, cpm: { probability: 1 } };
  const s1 = new ForecastBatchSampler(o), s2 = new ForecastBatchSampler(o);
  const a = s1.batch(3), b = s2.batch(3);
  assert.deepEqual(a.windows, b.windows);
  assert.deepEqual(a.patchMask, b.patchMask);
  assert.equal(a.numTokens, 5);
  assert.equal(a.windows.length, 6 * 6 * 8);
  assert.notDeepEqual(s1.batch(4).windows, a.windows);
  for (let j = 0; j < 6; j++) {
    const c = a.contextLengths[j];
    assert.ok(c >= 8 && c <= 40);
    const row = a.windows.subarray(j * 48, (j + 1) * 48);
    // left padding is exactly 40 - c values; the masked patches lie inside the context
    for (let i = 0; i < 40 - c; i++) assert.ok(Number.isNaN(row[i]));
    const firstTok = 5 - Math.ceil(c / 8);
    for (let t = 0; t <= firstTok; t++) assert.equal(a.patchMask[j * 5 + t], 0, `row ${j}: token ${t} before/at the first context token is masked`);
  }
});

test('prepare: inference scaler, masked patches become masked tokens, targets shifted by one patch', () => {
  const m = TiRexTrainable.create(be, { ...TINY, contextLength: 8, patchSize: 4 }, { seed: 1 });
  const windows = Float32Array.from([NaN, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]); // T=2, P=4
  const batch: ForecastBatch = { batchSize: 1, numTokens: 2, patchSize: 4, windows, patchMask: Uint8Array.from([0, 1]), contextLengths: Int32Array.from([7]) };
  const p = m.prepare(batch);
  const { m: loc, sd } = nanScaler([NaN, 2, 4, 6]); // token 1 is masked: not in the statistics
  assert.equal(p.loc[0], loc); assert.equal(loc, 4);
  assert.equal(p.scale[0], sd);
  assert.deepEqual(Array.from(p.tokens.subarray(0, 8)), [0, Math.fround(-2 / sd), 0, Math.fround(2 / sd), 0, 1, 1, 1]);
  assert.deepEqual(Array.from(p.tokens.subarray(8, 16)), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(p.targets), [8, 10, 12, 14, 16, 18, 20, 22].map((v) => Math.fround(Math.fround(v - 4) / sd)));
});

test('trainable forward == inference TiRex (bf16 off) after save + fromPretrained', async () => {
  const m = TiRexTrainable.create(be, TINY, { seed: 3 });
  // perturb the zero-initialised tensors so every parameter matters
  const rng = new Rng(9);
  for (const p of m.parameters()) { const d = p.value.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] += 0.2 * rng.normal(); }
  const dir = mkdtempSync(join(tmpdir(), 'tirex-train-'));
  try {
    await m.save(dir);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.train_ctx_len, 24);
    const inf = await TiRex.fromPretrained(dir, { backend: be, bf16: false });
    const P = 4, T = 6;
    const series = [
      Float32Array.from({ length: 24 }, (_, i) => 10 + 3 * Math.sin(i / 2) + 0.1 * i),
      Float32Array.from({ length: 13 }, (_, i) => (i === 5 ? NaN : -2 + 0.5 * Math.cos(i))),
    ];
    const fc = inf.forecast(series, { predictionLength: P, rawQuantiles: true });
    // the same windows through the trainable model: left-pad to T*P, future patch unknown
    const windows = new Float32Array(2 * (T + 1) * P).fill(NaN);
    series.forEach((s, j) => windows.set(s, j * (T + 1) * P + T * P - s.length));
    const batch: ForecastBatch = { batchSize: 2, numTokens: T, patchSize: P, windows, patchMask: new Uint8Array(2 * T), contextLengths: Int32Array.from([24, 13]) };
    const prep = m.prepare(batch);
    const tape = new Tape(be, 'f32');
    const pred = m.forward(tape, prep.tokens, 2, T).data; // [B, T, Q*P]
    let worst = 0;
    for (let j = 0; j < 2; j++) {
      for (let q = 0; q < 9; q++) {
        for (let p = 0; p < P; p++) {
          const mine = Math.fround(Math.fround(pred[(j * T + T - 1) * 9 * P + q * P + p] * prep.scale[j]) + prep.loc[j]);
          const ref = fc.quantiles[j][p][q];
          worst = Math.max(worst, Math.abs(mine - ref) / (1 + Math.abs(ref)));
        }
      }
    }
    assert.ok(worst < 2e-5, `trainable vs inference: worst relative difference ${worst}`);
    inf.dispose();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('gradients: loss gradient vs finite differences on a few parameters (f32)', () => {
  const m = TiRexTrainable.create(be, { ...TINY, numBlocks: 1 }, { seed: 5 });
  const rng = new Rng(2);
  for (const p of m.parameters()) { const d = p.value.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] += 0.1 * rng.normal(); }
  const batch = new ForecastBatchSampler({ seed: 1, contextLength: 24, patchSize: 4, batchSize: 3, cpm: { probability: 1 } }).batch(0);
  const prep = m.prepare(batch);
  const lossOf = () => { const t = new Tape(be, 'f32'); const l = m.loss(t, prep).loss.data[0]; t.clear(); return l; };
  const t = new Tape(be, 'f32');
  const { loss } = m.loss(t, prep);
  t.backward(loss);
  const names = ['input_patch_embedding.hidden_layer.weight', 'blocks.0.slstm_layer.igate.weight', 'blocks.0.slstm_layer.slstm_cell._recurrent_kernel_', 'blocks.0.ffn.proj_down.weight', 'output_patch_embedding.output_layer.bias'];
  for (const n of names) {
    const p = m.params.get(n)!;
    const d = p.value.data as Float32Array, g = p.grad!.data as Float32Array;
    // the largest-gradient entry: its finite difference is far above f32 noise
    let i = 0;
    for (let k = 1; k < g.length; k++) if (Math.abs(g[k]) > Math.abs(g[i])) i = k;
    const h = 1e-2, v0 = d[i];
    d[i] = v0 + h; const lp = lossOf();
    d[i] = v0 - h; const lm = lossOf();
    d[i] = v0;
    const fd = (lp - lm) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) <= 0.05 * Math.abs(g[i]) + 1e-4, `${n}[${i}]: backward ${g[i]} vs finite difference ${fd}`);
  }
});

test('a tiny TiRex learns noisy sines: the loss falls by a third within a few seconds', () => {
  const m = TiRexTrainable.create(be, { embeddingDim: 16, numHeads: 2, numBlocks: 1, inputFfDim: 32, patchSize: 4, contextLength: 32 }, { seed: 0 });
  const rng = new Rng(11);
  // sines of random phase/period/level: the next patch is predictable from the context
  const makeBatch = (B: number): ForecastBatch => {
    const T = 8, P = 4, W = (T + 1) * P;
    const windows = new Float32Array(B * W);
    for (let j = 0; j < B; j++) {
      const per = rng.range(6, 14), ph = rng.range(0, 7), lvl = rng.range(-5, 5), amp = rng.range(0.5, 3);
      for (let i = 0; i < W; i++) windows[j * W + i] = lvl + amp * Math.sin(ph + (2 * Math.PI * i) / per) + 0.05 * amp * rng.normal();
    }
    return { batchSize: B, numTokens: T, patchSize: P, windows, patchMask: new Uint8Array(B * T), contextLengths: new Int32Array(B).fill(32) };
  };
  const evalBatch = m.prepare(makeBatch(32));
  const evalLoss = () => { const t = new Tape(be, 'f32'); const l = m.loss(t, evalBatch).loss.data[0]; t.clear(); return l; };
  const opt = new AdamW(paramGroups(m.parameters(), 0.01), { lr: 1e-2 });
  const start = evalLoss();
  const t0 = Date.now();
  for (let step = 0; step < 60 && Date.now() - t0 < 15000; step++) {
    const t = new Tape(be, 'f32');
    t.backward(m.loss(t, makeBatch(16)).loss);
    clipGradNorm(m.parameters(), 1);
    opt.stepUpdate();
    opt.zeroGrad();
  }
  const end = evalLoss();
  assert.ok(end < start * 0.67, `eval loss ${start} -> ${end}`);
});
