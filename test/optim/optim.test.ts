import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Parameter } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { AdamW, paramGroups, clipGradNorm, globalGradNorm, warmupCosineLr, accumulateGradients, Rng } from '../../src/optim/optim.js';

const f64 = (v: number[]) => new Tensor('f64', [v.length], Float64Array.from(v));

test('AdamW: hand-computed updates for three steps, decay and no-decay groups', () => {
  const w = new Parameter(f64([1, -2]), 'w');
  const b = new Parameter(f64([0.5]), 'b', false);
  const opt = new AdamW(paramGroups([w, b], 0.1), { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  const grads = [[[0.5, -1], [2]], [[0.1, 0.3], [-1]], [[-0.2, 0.4], [0.5]]];
  // Hand computation for w[0] and b[0] (torch.optim.AdamW):
  let x = 1, m = 0, v = 0, y = 0.5, mb = 0, vb = 0;
  for (let t = 1; t <= 3; t++) {
    w.grad = f64(grads[t - 1][0]); b.grad = f64(grads[t - 1][1]);
    opt.stepUpdate();
    const g = grads[t - 1][0][0], gb = grads[t - 1][1][0];
    x *= 1 - 0.01 * 0.1;
    m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g * g;
    x -= 0.01 * (m / (1 - 0.9 ** t)) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
    mb = 0.9 * mb + 0.1 * gb; vb = 0.999 * vb + 0.001 * gb * gb;
    y -= 0.01 * (mb / (1 - 0.9 ** t)) / (Math.sqrt(vb / (1 - 0.999 ** t)) + 1e-8);
    assert.ok(Math.abs((w.value.data as Float64Array)[0] - x) < 1e-15, `step ${t} w: ${(w.value.data as Float64Array)[0]} vs ${x}`);
    assert.ok(Math.abs((b.value.data as Float64Array)[0] - y) < 1e-15, `step ${t} b (no decay)`);
  }
  // First step moves by ~lr * sign(g): the classic Adam property.
  const p = new Parameter(f64([0]), 'p');
  const o2 = new AdamW([p], { lr: 0.1, weightDecay: 0 });
  p.grad = f64([123]); o2.stepUpdate();
  assert.ok(Math.abs((p.value.data as Float64Array)[0] + 0.1) < 1e-9);
  // Exact first step values: w[1] = -2 * (1 - 1e-3) - 0.01 * (-1 / 1) (m/bc1 = g, sqrt(v/bc2) = |g|)
  const w2 = new Parameter(f64([-2]), 'w2');
  const o3 = new AdamW([w2], { lr: 0.01, weightDecay: 0.1, eps: 0 });
  w2.grad = f64([-1]); o3.stepUpdate();
  assert.equal((w2.value.data as Float64Array)[0], -2 * (1 - 0.001) + 0.01);
});

test('global-norm clipping scales every gradient by maxNorm / norm', () => {
  const a = new Parameter(f64([3, 0]), 'a'), b = new Parameter(f64([4]), 'b');
  a.grad = f64([3, 0]); b.grad = f64([4]);
  assert.equal(globalGradNorm([a, b]), 5);
  const n = clipGradNorm([a, b], 1);
  assert.equal(n, 5);
  const c = 1 / (5 + 1e-6);
  assert.deepEqual([...(a.grad.data as Float64Array), ...(b.grad.data as Float64Array)], [3 * c, 0, 4 * c]);
  clipGradNorm([a, b], 10); // below the max: unchanged
  assert.ok(Math.abs(globalGradNorm([a, b]) - 5 * c) < 1e-15);
});

test('warmup + cosine schedule values', () => {
  const o = { maxLr: 1e-3, warmupSteps: 4, totalSteps: 12, minLr: 1e-4 };
  assert.equal(warmupCosineLr(0, o), 2.5e-4);
  assert.equal(warmupCosineLr(3, o), 1e-3);
  assert.equal(warmupCosineLr(4, o), 1e-3);
  assert.ok(Math.abs(warmupCosineLr(8, o) - (1e-4 + 0.5 * 9e-4)) < 1e-18);
  assert.equal(warmupCosineLr(12, o), 1e-4);
  assert.equal(warmupCosineLr(100, o), 1e-4);
});

test('gradient accumulation over micro-batches equals one big batch', () => {
  const x = [1, 2, 3, 4], yT = [2, 4, 6, 8.5];
  const run = (splits: number): number[] => {
    const w = new Parameter(f64([0.5]), 'w');
    const per = x.length / splits;
    accumulateGradients(splits, (i) => {
      const t = new Tape(null, 'f64');
      const xs = t.input(new Tensor('f64', [per], Float64Array.from(x.slice(i * per, (i + 1) * per))));
      const ys = t.input(new Tensor('f64', [per], Float64Array.from(yT.slice(i * per, (i + 1) * per))));
      const d = ag.sub(t, ag.mul(t, xs, w), ys);
      const loss = ag.scale(t, ag.meanAll(t, ag.mul(t, d, d)), 1 / splits);
      t.backward(loss);
      return (loss.data as Float64Array)[0] * splits;
    });
    return [...(w.grad!.data as Float64Array)];
  };
  const g1 = run(1), g4 = run(4);
  assert.ok(Math.abs(g1[0] - g4[0]) < 1e-12, `${g1} vs ${g4}`);
});

test('seeded Rng is deterministic; shuffle is a permutation; normals have ~unit variance', () => {
  const a = new Rng(42), b = new Rng(42);
  assert.deepEqual([a.uniform(), a.uniform()], [b.uniform(), b.uniform()]);
  const s = new Rng(7).shuffle([...Array(20).keys()]);
  assert.deepEqual([...s].sort((p, q) => p - q), [...Array(20).keys()]);
  assert.deepEqual(s, new Rng(7).shuffle([...Array(20).keys()]));
  const n = new Rng(3).normalArray(20000);
  let m = 0, v = 0;
  for (const z of n) m += z;
  m /= n.length;
  for (const z of n) v += (z - m) ** 2;
  v /= n.length;
  assert.ok(Math.abs(m) < 0.03 && Math.abs(v - 1) < 0.05, `mean ${m}, var ${v}`);
});

test('a tiny model trains: f32 tape + AdamW drive a linear regression loss down', async () => {
  const { WasmBackend } = await import('../../src/backend/wasm/backend.js');
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const rng = new Rng(1);
    const t0 = new Tape(be, 'f32');
    const W = t0.param(new Tensor('f32', [1, 3], rng.normalArray(3, 0.1)), 'W');
    const X = new Tensor('f32', [8, 3], rng.normalArray(24));
    const Y = new Float32Array(8), xd = X.data as Float32Array;
    for (let r = 0; r < 8; r++) Y[r] = 1.5 * xd[r * 3] - 2 * xd[r * 3 + 1] + 0.5 * xd[r * 3 + 2];
    const opt = new AdamW([W], { lr: 0.05, weightDecay: 0 });
    let first = 0, last = 0;
    for (let step = 0; step < 150; step++) {
      const t = new Tape(be, 'f32');
      const pred = ag.linear(t, t.input(X), W);
      const d = ag.sub(t, ag.reshape(t, pred, [8]), t.input(new Tensor('f32', [8], Y)));
      const loss = ag.meanAll(t, ag.mul(t, d, d));
      opt.zeroGrad();
      t.backward(loss);
      opt.stepUpdate();
      last = loss.data[0];
      if (step === 0) first = last;
    }
    assert.ok(last < first * 1e-3, `loss ${first} -> ${last}`);
  } finally { be.dispose(); }
});
