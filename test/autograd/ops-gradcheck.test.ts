// Every differentiable op of src/autograd/ops.ts against central finite differences (f64 tape).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { gradCheck } from '../../src/autograd/gradcheck.js';
import { randF64, weightedSum } from './util.js';

const TOL = 1e-6;

function check(label: string, fn: (t: Tape, xs: Var[]) => Var, inputs: Tensor[], tol = TOL): void {
  const r = gradCheck((t, xs) => weightedSum(t, fn(t, xs)), inputs);
  assert.ok(r.maxRelError < tol, `${label}: max rel error ${r.maxRelError.toExponential(2)} (per input ${r.relErrors.map((e) => e.toExponential(1)).join(', ')})`);
}

test('binary ops with same-shape, row and scalar broadcasting', () => {
  const a = randF64([3, 4], 1), b = randF64([3, 4], 2), row = randF64([4], 3), sc = randF64([1], 4);
  for (const op of ['add', 'sub', 'mul'] as const) {
    check(`${op} same`, (t, [x, y]) => ag[op](t, x, y), [a, b]);
    check(`${op} rows`, (t, [x, y]) => ag[op](t, x, y), [a, row]);
    check(`${op} scalar tensor`, (t, [x, y]) => ag[op](t, x, y), [a, sc]);
    check(`${op} number`, (t, [x]) => ag[op](t, x, 0.7), [a]);
  }
  check('scale', (t, [x]) => ag.scale(t, x, -1.5), [a]);
});

test('activations (gelu exact) and softcap', () => {
  const x = randF64([2, 5], 5, -4, 4), pos = randF64([2, 5], 6, 0.2, 3);
  for (const fn of ['exp', 'sigmoid', 'logsigmoid', 'tanh', 'silu', 'gelu', 'softplus'] as const) check(fn, (t, [v]) => ag.activation(t, fn, v), [x]);
  check('log', (t, [v]) => ag.log(t, v), [pos]);
  check('softcap', (t, [v]) => ag.softcap(t, v, 3), [x]);
  // gelu' at 0 is 0.5, far tails of logsigmoid / softplus stay finite
  check('gelu tails', (t, [v]) => ag.gelu(t, v), [new Tensor('f64', [4], Float64Array.from([0, -6, 6, 1e-3]))]);
  check('logsigmoid tails', (t, [v]) => ag.logsigmoid(t, v), [new Tensor('f64', [3], Float64Array.from([-30, 30, 0]))]);
});

test('matmul with every transpose, batched and shared-b; linear with bias', () => {
  const M = 3, K = 4, N = 2;
  for (const transA of [false, true]) for (const transB of [false, true]) {
    const a = randF64(transA ? [K, M] : [M, K], 7), b = randF64(transB ? [N, K] : [K, N], 8);
    check(`matmul tA=${transA} tB=${transB}`, (t, [x, y]) => ag.matmul(t, x, y, { transA, transB }), [a, b]);
    const a3 = randF64(transA ? [2, K, M] : [2, M, K], 9), b3 = randF64(transB ? [2, N, K] : [2, K, N], 10);
    check(`batched matmul tA=${transA} tB=${transB}`, (t, [x, y]) => ag.matmul(t, x, y, { transA, transB }), [a3, b3]);
  }
  check('matmul 3-D a, shared 2-D b', (t, [x, y]) => ag.matmul(t, x, y, { transB: true }), [randF64([2, M, K], 11), randF64([N, K], 12)]);
  check('linear', (t, [x, w, b]) => ag.linear(t, x, w, b), [randF64([2, 3, K], 13), randF64([N, K], 14), randF64([N], 15)]);
});

test('reductions, softmax, log-softmax, cross-entropy with ignore index', () => {
  const x = randF64([3, 5], 16, -3, 3);
  check('sumAll', (t, [v]) => ag.sumAll(t, v), [x]);
  check('meanAll', (t, [v]) => ag.meanAll(t, v), [x]);
  check('sumLast', (t, [v]) => ag.sumLast(t, v), [x]);
  check('softmax', (t, [v]) => ag.softmax(t, v), [x]);
  check('logSoftmax', (t, [v]) => ag.logSoftmax(t, v), [x]);
  const targets = [4, -100, 0];
  const r = gradCheck((t, [v]) => ag.crossEntropy(t, v, targets), [x]);
  assert.ok(r.maxRelError < TOL, `crossEntropy: ${r.maxRelError}`);
  // value: mean over the two counted rows of logsumexp - logit[target]
  const t = new Tape(null, 'f64');
  const d = x.data as Float64Array;
  const lse = (row: number) => Math.log([0, 1, 2, 3, 4].reduce((s, j) => s + Math.exp(d[row * 5 + j]), 0));
  const want = ((lse(0) - d[4]) + (lse(2) - d[10])) / 2;
  const got = (ag.crossEntropy(t, t.input(x), targets).data as Float64Array)[0];
  assert.ok(Math.abs(got - want) < 1e-12, `crossEntropy value ${got} vs ${want}`);
  assert.throws(() => ag.crossEntropy(t, t.input(x), [5, 0, 0]), /targets\[0\] = 5 is out of range/);
});

test('RMSNorm, LayerNorm (offset weight, bias), group norm', () => {
  const x = randF64([3, 8], 17, -2, 2), w = randF64([8], 18), b = randF64([8], 19);
  check('rmsNorm', (t, [v, ww]) => ag.rmsNorm(t, v, { eps: 1e-6, weight: ww }), [x, w]);
  check('layerNorm', (t, [v, ww, bb]) => ag.layerNorm(t, v, { eps: 1e-5, weight: ww, bias: bb }), [x, w, b]);
  check('layerNorm offset', (t, [v, ww]) => ag.layerNorm(t, v, { eps: 1e-5, weight: ww, weightOffset: true }), [x, w]);
  check('groupNorm', (t, [v, ww, bb]) => ag.groupNorm(t, v, 2, { eps: 1e-5, weight: ww, bias: bb }), [x, w, b]);
  check('layerNorm no weight', (t, [v]) => ag.layerNorm(t, v, { eps: 1e-5 }), [x]);
});

test('causal conv1d, embedding scatter-add', () => {
  check('causalConv1d', (t, [x, w, b]) => ag.causalConv1d(t, x, w, b), [randF64([2, 5, 3], 20), randF64([3, 1, 4], 21), randF64([3], 22)]);
  check('causalConv1d K > S', (t, [x, w]) => ag.causalConv1d(t, x, w), [randF64([1, 2, 3], 23), randF64([3, 4], 24)]);
  const ids = new Tensor('i32', [2, 3], Int32Array.from([1, 0, 1, 3, 1, 2]));
  check('embedding', (t, [tab]) => ag.embedding(t, ids, tab), [randF64([4, 3], 25)]);
  // repeated ids accumulate: d table[1] = sum of the three rows' upstream gradients
  const t = new Tape(null, 'f64');
  const tab = t.input(randF64([4, 3], 25), true);
  t.backward(ag.sumAll(t, ag.embedding(t, ids, tab)));
  assert.deepEqual([...(tab.grad!.data as Float64Array)], [1, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1]);
});

test('reshape, permute, transpose, slice, concat', () => {
  const x = randF64([2, 3, 4], 26);
  check('reshape', (t, [v]) => ag.reshape(t, v, [6, 4]), [x]);
  check('permute', (t, [v]) => ag.permute(t, v, [2, 0, 1]), [x]);
  check('transpose', (t, [v]) => ag.transpose(t, v, 0, 2), [x]);
  check('slice', (t, [v]) => ag.slice(t, v, 1, 1, 3), [x]);
  check('concat', (t, [a, b]) => ag.concat(t, [a, b, a], 1), [x, randF64([2, 1, 4], 27)]);
  // permute moves values as torch.permute does
  const t = new Tape(null, 'f64');
  const p = ag.permute(t, t.input(x), [2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.equal(p.data[1 * 6 + 1 * 3 + 2], (x.data as Float64Array)[1 * 12 + 2 * 4 + 1]);
});

test('gradients accumulate over backward calls; shared inputs sum their paths', () => {
  const t1 = new Tape(null, 'f64');
  const x = t1.param(new Tensor('f64', [2], Float64Array.from([1, 2])));
  t1.backward(ag.sumAll(t1, ag.mul(t1, x, x))); // d = 2x
  const t2 = new Tape(null, 'f64');
  t2.backward(ag.sumAll(t2, ag.scale(t2, x, 3)));
  assert.deepEqual([...(x.grad!.data as Float64Array)], [2 + 3, 4 + 3]);
  assert.throws(() => new Tape(null, 'f64').backward(t1.input(new Tensor('f64', [2], new Float64Array(2)))), /loss must be a scalar/);
});

test('a composite graph on the f32 tape (wasm forward + GEMM backward) matches the f64 tape', async () => {
  const { WasmBackend } = await import('../../src/backend/wasm/backend.js');
  const { relErr } = await import('./util.js');
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const ins = [randF64([2, 6, 8], 30), randF64([8, 1, 4], 31), randF64([8], 32), randF64([16, 8], 33, -0.4, 0.4), randF64([16], 34), randF64([16], 35), randF64([5, 16], 36, -0.4, 0.4), randF64([11, 8], 37)];
    const ids = new Tensor('i32', [2, 6], Int32Array.from([1, 4, 2, 10, 0, 3, 7, 7, 9, 1, 5, 6]));
    const targets = [1, 4, -100, 0, 2, 3, 4, 4, 0, -100, 1, 2];
    const run = (t: Tape) => {
      const [x, cw, cb, w1, lnw, b1, w2, emb] = ins.map((v) => t.input(v, true));
      const h0 = ag.add(t, x, ag.embedding(t, ids, emb));
      const h1 = ag.silu(t, ag.causalConv1d(t, h0, cw, cb));
      const h2 = ag.gelu(t, ag.layerNorm(t, ag.linear(t, h1, w1, b1), { eps: 1e-5, weight: lnw, weightOffset: true }));
      const logits = ag.linear(t, ag.rmsNorm(t, h2, { eps: 1e-6 }), w2);
      const loss = ag.crossEntropy(t, logits, targets);
      t.backward(loss);
      return [loss.data, x, cw, cb, w1, lnw, b1, w2, emb].map((v) => ('grad' in v ? v.grad!.data : v) as ArrayLike<number>);
    };
    const g32 = run(new Tape(be, 'f32')), g64 = run(new Tape(null, 'f64'));
    ['loss', 'x', 'convW', 'convB', 'w1', 'lnW', 'b1', 'w2', 'emb'].forEach((n, j) => {
      const e = relErr(g32[j], g64[j]);
      assert.ok(e < 2e-5, `${n}: f32 vs f64 rel error ${e.toExponential(2)}`);
    });
  } finally { be.dispose(); }
});
