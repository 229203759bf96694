// The wasm backward kernels of the f32 tape (src/autograd/wasmBackward.ts) against the f64 tape
// (the reference loops of src/backend/ref/*Backward.ts): random shapes (head dims off the SIMD
// width, chunk sizes that are not powers of two, one and several chunks, initial states),
// extreme gates, on 1 and 2 threads and on the relaxed-SIMD (FMA) and plain SIMD builds.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { mlstmParallel, mlstmChunkwise, slstm } from '../../src/autograd/cells.js';
import { backends } from '../ops/harness.js';
import { randF64, relErr } from './util.js';

const NAMES = ['q', 'k', 'v', 'i', 'f'] as const;

/** Relative error of each gradient (f32 tape vs f64 tape), asserted below `tol`; returns the worst. */
function compare(label: string, g32: Record<string, ArrayLike<number>>, g64: Record<string, ArrayLike<number>>, tol: number): number {
  let worst = 0;
  for (const n of Object.keys(g64)) {
    const e = relErr(g32[n], g64[n]);
    assert.ok(e < tol, `${label} ${n}: f32 vs f64 rel error ${e.toExponential(2)} (tol ${tol})`);
    worst = Math.max(worst, e);
  }
  return worst;
}

interface MlstmCase { B: number; NH: number; S: number; DHQK: number; DHV: number; L?: number; init?: boolean; iR: number; fR: number }

function mlstmGrads(t: Tape, c: MlstmCase, seed: number, chunk: boolean, gradMode: 'official' | 'exact'): Record<string, ArrayLike<number>> {
  const dims = [c.B, c.NH, c.S];
  const sh: Record<string, number[]> = { q: [...dims, c.DHQK], k: [...dims, c.DHQK], v: [...dims, c.DHV], i: dims, f: dims };
  const range: Record<string, number> = { q: 1, k: 1, v: 1, i: c.iR, f: c.fR };
  const vs = Object.fromEntries(NAMES.map((n, j) => [n, t.input(randF64(sh[n], seed + j, -range[n], range[n]), true, n)])) as Record<typeof NAMES[number], Var>;
  let init: { c: Var; n: Var; m: Tensor } | undefined;
  if (c.init) {
    init = {
      c: t.input(randF64([c.B, c.NH, c.DHQK, c.DHV], seed + 7, -0.5, 0.5), true, 'c0'),
      n: t.input(randF64([c.B, c.NH, c.DHQK], seed + 8, 0, 1), true, 'n0'),
      m: new Tensor('f32', [c.B, c.NH], Float32Array.from(randF64([c.B, c.NH], seed + 9, -1, 1).data as Float64Array)),
    };
  }
  const h = chunk ? mlstmChunkwise(t, vs, { chunkSize: c.L, initialState: init, gradMode }) : mlstmParallel(t, vs, { gradMode });
  t.backward(ag.sumAll(t, ag.mul(t, h, t.input(randF64([...h.shape], seed + 10)))));
  const out: Record<string, ArrayLike<number>> = { h: h.data, ...Object.fromEntries(NAMES.map((n) => [n, vs[n].grad!.data as ArrayLike<number>])) };
  if (init) out.c0 = init.c.grad!.data as ArrayLike<number>;
  if (init && gradMode === 'exact') out.n0 = init.n.grad!.data as ArrayLike<number>;
  return out;
}

const MLSTM_CASES: MlstmCase[] = [
  { B: 1, NH: 2, S: 7, DHQK: 5, DHV: 3, iR: 2, fR: 3 },
  { B: 2, NH: 1, S: 13, DHQK: 8, DHV: 12, iR: 10, fR: 8 },
  { B: 1, NH: 3, S: 33, DHQK: 16, DHV: 9, iR: 3, fR: 5 },
  // large enough for the kernel to run on 2 threads
  { B: 2, NH: 2, S: 40, DHQK: 16, DHV: 16, iR: 3, fR: 4 },
  // S > 64: the parallel backward runs in chunks (L = 48 here) from the parallel forward's m, N
  { B: 1, NH: 2, S: 96, DHQK: 8, DHV: 12, iR: 6, fR: 6 },
  { B: 1, NH: 1, S: 128, DHQK: 4, DHV: 4, iR: 10, fR: 8 },
];
const CHUNK_CASES: MlstmCase[] = [
  { B: 1, NH: 2, S: 12, DHQK: 6, DHV: 5, L: 4, iR: 2, fR: 3 },
  { B: 2, NH: 1, S: 9, DHQK: 5, DHV: 7, L: 3, init: true, iR: 2, fR: 3 },
  { B: 1, NH: 2, S: 15, DHQK: 8, DHV: 8, L: 5, init: true, iR: 10, fR: 8 },
  { B: 1, NH: 1, S: 8, DHQK: 4, DHV: 4, L: 8, iR: 2, fR: 3 },
  { B: 2, NH: 2, S: 48, DHQK: 16, DHV: 24, L: 16, init: true, iR: 4, fR: 4 },
];

for (const mode of ['official', 'exact'] as const) {
  test(`mLSTM parallel and chunkwise backward kernels (${mode} mode) == the f64 tape`, async () => {
    const bes = await backends();
    try {
      let worst = 0;
      for (const be of bes) {
        for (const [ci, c] of MLSTM_CASES.entries()) {
          const lab = `parallel ${mode} ${JSON.stringify(c)} thr=${be.threads} relaxed=${be.features.relaxedSimd}`;
          worst = Math.max(worst, compare(lab, mlstmGrads(new Tape(be, 'f32'), c, 100 + ci * 20, false, mode), mlstmGrads(new Tape(null, 'f64'), c, 100 + ci * 20, false, mode), 2e-4));
        }
        for (const [ci, c] of CHUNK_CASES.entries()) {
          const lab = `chunkwise ${mode} ${JSON.stringify(c)} thr=${be.threads} relaxed=${be.features.relaxedSimd}`;
          worst = Math.max(worst, compare(lab, mlstmGrads(new Tape(be, 'f32'), c, 300 + ci * 20, true, mode), mlstmGrads(new Tape(null, 'f64'), c, 300 + ci * 20, true, mode), 2e-4));
        }
      }
      console.log(`mLSTM wasm backward (${mode}): worst rel error vs f64 ${worst.toExponential(2)}`);
    } finally { bes.forEach((b) => b.dispose()); }
  });
}

interface SlstmCase { B: number; S: number; NH: number; DH: number; init?: boolean; clamp?: number | null; xR: number }

function slstmGrads(t: Tape, c: SlstmCase, seed: number): Record<string, ArrayLike<number>> {
  const H = c.NH * c.DH;
  const xv = t.input(randF64([c.B, c.S, 4 * H], seed, -c.xR, c.xR), true, 'x');
  const R = t.input(randF64([c.NH, c.DH, 4 * c.DH], seed + 1, -0.8, 0.8), true, 'R');
  const b = t.input(randF64([4 * H], seed + 2, -1, 1), true, 'bias');
  let s0: Var | undefined;
  if (c.init) {
    const r = randF64([4, c.B, H], seed + 3).data as Float64Array;
    const st = new Float64Array(4 * c.B * H);
    const BH = c.B * H;
    for (let i = 0; i < BH; i++) { st[i] = r[i]; st[BH + i] = r[BH + i]; st[2 * BH + i] = 1 + Math.abs(r[2 * BH + i]); st[3 * BH + i] = r[3 * BH + i]; }
    s0 = t.input(new Tensor('f64', [4, c.B, H], st), true, 'state0');
  }
  const y = slstm(t, xv, R, b, c.NH, { initialState: s0, forgetClamp: c.clamp ?? null });
  t.backward(ag.sumAll(t, ag.mul(t, y, t.input(randF64([c.B, c.S, H], seed + 4)))));
  const out: Record<string, ArrayLike<number>> = { y: y.data, dx: xv.grad!.data as ArrayLike<number>, dR: R.grad!.data as ArrayLike<number>, dBias: b.grad!.data as ArrayLike<number> };
  if (s0) out.dState0 = s0.grad!.data as ArrayLike<number>;
  return out;
}

const SLSTM_CASES: SlstmCase[] = [
  { B: 2, S: 5, NH: 2, DH: 3, xR: 2 },
  { B: 3, S: 7, NH: 2, DH: 8, init: true, xR: 2 },
  { B: 1, S: 9, NH: 1, DH: 5, init: true, clamp: 0.5, xR: 3 },
  { B: 2, S: 6, NH: 3, DH: 4, xR: 12 },
  { B: 4, S: 11, NH: 4, DH: 16, init: true, xR: 2 },
  // large enough for the kernel to run on 2 threads
  { B: 8, S: 16, NH: 4, DH: 16, init: true, clamp: 2, xR: 3 },
];

test('sLSTM BPTT backward kernel == the f64 tape (dx, dR, dbias, initial state)', async () => {
  const bes = await backends();
  try {
    let worst = 0;
    for (const be of bes) {
      for (const [ci, c] of SLSTM_CASES.entries()) {
        const lab = `sLSTM ${JSON.stringify(c)} thr=${be.threads} relaxed=${be.features.relaxedSimd}`;
        worst = Math.max(worst, compare(lab, slstmGrads(new Tape(be, 'f32'), c, 500 + ci * 10), slstmGrads(new Tape(null, 'f64'), c, 500 + ci * 10), 2e-4));
      }
    }
    console.log(`sLSTM wasm backward: worst rel error vs f64 ${worst.toExponential(2)}`);
  } finally { bes.forEach((b) => b.dispose()); }
});

/** Gradients of sum(op(inputs) * W) on one tape for the inputs marked trainable. */
function opGrads(t: Tape, build: (t: Tape, xs: Var[]) => Var, inputs: Tensor[], seed: number): Record<string, ArrayLike<number>> {
  const xs = inputs.map((x, j) => t.input(x, true, `in${j}`));
  const y = build(t, xs);
  const loss = y.size === 1 ? y : ag.sumAll(t, ag.mul(t, y, t.input(randF64([...y.shape], seed))));
  t.backward(loss);
  return Object.fromEntries([['y', y.data], ...xs.map((x, j) => [`d${j}`, x.grad!.data as ArrayLike<number>])]);
}

test('op backward kernels (activations, softmax, cross-entropy, norms, conv, embedding) == the f64 tape', async () => {
  const bes = await backends();
  const acts = ['exp', 'log', 'sigmoid', 'logsigmoid', 'tanh', 'silu', 'gelu', 'softplus', 'relu'] as const;
  const ids = new Tensor('i32', [3, 5], Int32Array.from([0, 3, 3, 10, 2, 3, 0, 7, 7, 7, 1, 10, 4, 3, 9]));
  const targets = [3, -100, 0, 32, 5, 5, -100];
  const bigIds = new Tensor('i32', [1024], Int32Array.from({ length: 1024 }, (_, i) => (i * i + 3 * i) % 50));
  const cases: [string, (t: Tape, xs: Var[]) => Var, Tensor[]][] = [
    ...acts.map((fn, j): [string, (t: Tape, xs: Var[]) => Var, Tensor[]] => [fn, (t, xs) => ag.activation(t, fn, xs[0]),
      [fn === 'log' ? randF64([3, 37], 700 + j, 0.2, 3) : randF64([3, 37], 700 + j, -5, 5)]]),
    ['softmax', (t, xs) => ag.softmax(t, xs[0]), [randF64([5, 129], 720, -4, 4)]],
    ['logSoftmax', (t, xs) => ag.logSoftmax(t, xs[0]), [randF64([5, 131], 721, -4, 4)]],
    ['crossEntropy', (t, xs) => ag.crossEntropy(t, xs[0], targets), [randF64([7, 33], 722, -6, 6)]],
    ['rmsNorm', (t, xs) => ag.rmsNorm(t, xs[0], { eps: 1e-5, weight: xs[1] }), [randF64([4, 3, 22], 723, -2, 3), randF64([22], 724)]],
    ['layerNorm', (t, xs) => ag.layerNorm(t, xs[0], { eps: 1e-5, weight: xs[1], bias: xs[2], weightOffset: true }),
      [randF64([9, 37], 725, -2, 3), randF64([37], 726), randF64([37], 727)]],
    ['groupNorm', (t, xs) => ag.groupNorm(t, xs[0], 4, { eps: 1e-5, weight: xs[1], bias: xs[2] }),
      [randF64([3, 5, 24], 728, -2, 3), randF64([24], 729), randF64([24], 730)]],
    ['causalConv1d', (t, xs) => ag.causalConv1d(t, xs[0], xs[1], xs[2]), [randF64([2, 9, 13], 731), randF64([13, 4], 732), randF64([13], 733)]],
    ['causalConv1d C=8', (t, xs) => ag.causalConv1d(t, xs[0], xs[1]), [randF64([3, 6, 8], 734), randF64([8, 1, 3], 735)]],
    ['embedding', (t, xs) => ag.embedding(t, ids, xs[0]), [randF64([11, 7], 736)]],
    // sizes at which the kernels split the work over 2 threads
    ['silu (2 threads)', (t, xs) => ag.silu(t, xs[0]), [randF64([64, 1031], 740, -6, 6)]],
    ['gelu (2 threads)', (t, xs) => ag.gelu(t, xs[0]), [randF64([64, 1031], 741, -6, 6)]],
    ['logSoftmax (2 threads)', (t, xs) => ag.logSoftmax(t, xs[0]), [randF64([64, 1031], 742, -4, 4)]],
    ['crossEntropy (2 threads)', (t, xs) => ag.crossEntropy(t, xs[0], Array.from({ length: 48 }, (_, r) => (r % 5 === 4 ? -100 : (r * 37) % 1031))),
      [randF64([48, 1031], 743, -6, 6)]],
    ['layerNorm (2 threads)', (t, xs) => ag.layerNorm(t, xs[0], { eps: 1e-5, weight: xs[1], bias: xs[2] }),
      [randF64([128, 520], 744, -2, 3), randF64([520], 745), randF64([520], 746)]],
    ['causalConv1d (2 threads)', (t, xs) => ag.causalConv1d(t, xs[0], xs[1], xs[2]), [randF64([4, 64, 130], 747), randF64([130, 4], 748), randF64([130], 749)]],
    ['add bias rows (2 threads)', (t, xs) => ag.add(t, xs[0], xs[1]), [randF64([160, 131], 751), randF64([131], 752)]],
    ['sub bias rows', (t, xs) => ag.sub(t, xs[0], xs[1]), [randF64([4, 64, 70], 753), randF64([64, 70], 754)]],
    ['embedding (2 threads)', (t, xs) => ag.embedding(t, bigIds, xs[0]), [randF64([50, 130], 750)]],
  ];
  try {
    let worst = 0;
    for (const be of bes) {
      for (const [ci, [name, build, inputs]] of cases.entries()) {
        const lab = `${name} thr=${be.threads} relaxed=${be.features.relaxedSimd}`;
        worst = Math.max(worst, compare(lab, opGrads(new Tape(be, 'f32'), build, inputs, 800 + ci), opGrads(new Tape(null, 'f64'), build, inputs, 800 + ci), 2e-5));
      }
    }
    console.log(`op wasm backward: worst rel error vs f64 ${worst.toExponential(2)}`);
  } finally { bes.forEach((b) => b.dispose()); }
});

test('composite graph: kernel gradients of intermediates stay on the heap, are freed once consumed, and match the f64 tape', async () => {
  const bes = await backends();
  const B = 2, S = 5, E = 12, NH = 2, DH = 4, H = NH * DH, V = 11;
  const inputs = [randF64([B, S, E], 900), randF64([4 * H, E], 901, -0.5, 0.5), randF64([NH, DH, 4 * DH], 902, -0.5, 0.5), randF64([4 * H], 903),
    randF64([H], 904), randF64([H], 905), randF64([V, H], 906), randF64([V], 907)];
  const targets = [1, 4, -100, 10, 0, 3, 3, 7, 9, 2];
  const run = (t: Tape, check?: () => number) => {
    const [x, Wg, R, bg, lw, lb, Wo, bo] = inputs.map((v, j) => t.input(v, true, `p${j}`));
    const g = ag.linear(t, x, Wg);
    const y = slstm(t, g, R, bg, NH);
    const z = ag.gelu(t, ag.layerNorm(t, y, { eps: 1e-5, weight: lw, bias: lb }));
    const logits = ag.linear(t, z, Wo, bo);
    const loss = ag.crossEntropy(t, logits, targets);
    const afterForward = check?.();
    t.backward(loss);
    if (check) {
      assert.ok(check() <= afterForward!, `heap grew over the backward: ${afterForward} -> ${check()} bytes`);
      for (const v of [g, y, z, logits]) assert.equal(v.grad, null, 'intermediate gradients are freed');
    }
    return Object.fromEntries([x, Wg, R, bg, lw, lb, Wo, bo].map((v, j) => [`d${j}`, v.grad!.data as ArrayLike<number>]));
  };
  try {
    const g64 = run(new Tape(null, 'f64'));
    for (const be of bes) {
      const heap = () => (be as unknown as { heap: { bytesInUse: number } }).heap.bytesInUse;
      compare(`composite thr=${be.threads} relaxed=${be.features.relaxedSimd}`, run(new Tape(be, 'f32'), heap), g64, 1e-4);
    }
  } finally { bes.forEach((b) => b.dispose()); }
});
