// mLSTM (parallel, chunkwise) and sLSTM backward passes against central finite differences
// in float64, chunkwise == parallel, and the tape wrappers (f32 wasm forward vs f64).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { mlstmParallel, mlstmChunkwise, slstm } from '../../src/autograd/cells.js';
import { MlstmRefDims, MlstmRefInputs, mlstmChunkwiseRef, mlstmParallelRef } from '../../src/backend/ref/mlstm.js';
import {
  MlstmGradMode, mlstmChunkwiseBackwardRef, mlstmChunkwiseFwd64, mlstmParallelBackwardRef, mlstmParallelFwd64,
} from '../../src/backend/ref/mlstmBackward.js';
import { slstmForwardRef } from '../../src/backend/ref/slstm.js';
import { slstmBackwardRef } from '../../src/backend/ref/slstmBackward.js';
import { dot, fdGrad, randF64, relErr } from './util.js';

const d: MlstmRefDims = { B: 1, NH: 2, S: 8, DHQK: 4, DHV: 3 };

function mlstmInputs(seed: number, iRange = 2, fRange = 3): Record<'q' | 'k' | 'v' | 'i' | 'f', Float64Array> {
  const { B, NH, S, DHQK, DHV } = d;
  const g = (shape: number[], s: number, r: number) => randF64(shape, s, -r, r).data as Float64Array;
  return {
    q: g([B, NH, S, DHQK], seed, 1), k: g([B, NH, S, DHQK], seed + 1, 1), v: g([B, NH, S, DHV], seed + 2, 1),
    i: g([B, NH, S], seed + 3, iRange), f: g([B, NH, S], seed + 4, fRange),
  };
}
const NAMES = ['q', 'k', 'v', 'i', 'f'] as const;

for (const mode of ['official', 'exact'] as MlstmGradMode[]) {
  for (const [label, iR, fR] of [['normal', 2, 3], ['extreme', 10, 8]] as const) {
    test(`mLSTM parallel backward (${mode}, ${label} gates) == finite differences of the forward with m${mode === 'official' ? ' and N' : ''} held`, () => {
      const x = mlstmInputs(label === 'normal' ? 1 : 11, iR, fR);
      const W = randF64([d.B, d.NH, d.S, d.DHV], 5).data as Float64Array;
      const fw = mlstmParallelFwd64(d, x);
      const fixed = { vecM: fw.vecM, vecN: mode === 'official' ? fw.vecN : undefined };
      const g = mlstmParallelBackwardRef(d, x, W, fw, { mode });
      const grads = { q: g.dq, k: g.dk, v: g.dv, i: g.di, f: g.df };
      for (const n of NAMES) {
        const num = fdGrad((arr) => dot(mlstmParallelFwd64(d, { ...x, [n]: arr }, { fixed }).h, W), x[n].slice());
        const e = relErr(grads[n], num);
        assert.ok(e < 1e-6, `d${n}: rel error ${e.toExponential(2)}`);
      }
    });
  }
}

test('mLSTM parallel exact backward is the full derivative up to eps effects (m moves with the inputs)', () => {
  const x = mlstmInputs(21);
  const W = randF64([d.B, d.NH, d.S, d.DHV], 6).data as Float64Array;
  const g = mlstmParallelBackwardRef(d, x, W, mlstmParallelFwd64(d, x), { mode: 'exact' });
  const grads = { q: g.dq, k: g.dk, v: g.dv, i: g.di, f: g.df };
  for (const n of NAMES) {
    const num = fdGrad((arr) => dot(mlstmParallelRef(d, { ...x, [n]: arr }).h, W), x[n].slice());
    assert.ok(relErr(grads[n], num) < 1e-4, `d${n}: ${relErr(grads[n], num)}`);
  }
});

for (const mode of ['official', 'exact'] as MlstmGradMode[]) {
  test(`mLSTM chunkwise backward == parallel backward (${mode}), chunk sizes 2, 4, 8`, () => {
    const x = mlstmInputs(31);
    const W = randF64([d.B, d.NH, d.S, d.DHV], 7).data as Float64Array;
    const gp = mlstmParallelBackwardRef(d, x, W, mlstmParallelFwd64(d, x), { mode });
    for (const L of [2, 4, 8]) {
      const fw = mlstmChunkwiseFwd64(d, x, { chunkSize: L });
      // m starts at 0 here and at -inf in the parallel form: equal up to eps effects
      assert.ok(relErr(fw.h, mlstmChunkwiseRef(d, x, { chunkSize: L }).h) < 1e-12, `forward L=${L} vs mlstmChunkwiseRef`);
      assert.ok(relErr(fw.h, mlstmParallelRef(d, x).h) < 1e-5, `forward L=${L} vs parallel: ${relErr(fw.h, mlstmParallelRef(d, x).h)}`);
      const gc = mlstmChunkwiseBackwardRef(d, x, W, fw, { mode });
      for (const [n, a, b] of [['q', gc.dq, gp.dq], ['k', gc.dk, gp.dk], ['v', gc.dv, gp.dv], ['i', gc.di, gp.di], ['f', gc.df, gp.df]] as const) {
        const e = relErr(a, b);
        assert.ok(e < 1e-5, `L=${L} d${n}: chunkwise vs parallel rel error ${e.toExponential(2)}`);
      }
    }
  });

  test(`mLSTM chunkwise backward with an initial state (${mode}) == finite differences (m held), incl. dC0${mode === 'exact' ? ', dn0' : ''}`, () => {
    const x = mlstmInputs(41, 3, 4);
    const { B, NH, DHQK, DHV } = d;
    const c = randF64([B, NH, DHQK, DHV], 42).data as Float64Array;
    const n = randF64([B, NH, DHQK], 43, 0.5, 2).data as Float64Array;
    const m = Float64Array.from([0.5, -1]);
    const W = randF64([d.B, d.NH, d.S, d.DHV], 8).data as Float64Array;
    const fw = mlstmChunkwiseFwd64(d, x, { chunkSize: 4, initialState: { c, n, m } });
    const fixed = { vecM: fw.vecM, scaM: fw.scaM, vecN: mode === 'official' ? fw.vecN : undefined };
    const g = mlstmChunkwiseBackwardRef(d, x, W, fw, { mode });
    const run = (xx: MlstmRefInputs, cc: Float64Array, nn: Float64Array) => dot(mlstmChunkwiseFwd64(d, xx, { chunkSize: 4, initialState: { c: cc, n: nn, m }, fixed }).h, W);
    const grads = { q: g.dq, k: g.dk, v: g.dv, i: g.di, f: g.df };
    for (const nm of NAMES) {
      const e = relErr(grads[nm], fdGrad((arr) => run({ ...x, [nm]: arr }, c, n), x[nm].slice()));
      assert.ok(e < 1e-6, `d${nm}: ${e.toExponential(2)}`);
    }
    assert.ok(relErr(g.dC0!, fdGrad((arr) => run(x, arr, n), c.slice())) < 1e-6, 'dC0');
    if (mode === 'exact') assert.ok(relErr(g.dn0!, fdGrad((arr) => run(x, c, arr), n.slice())) < 1e-6, 'dn0');
    else assert.ok(g.dn0!.every((v) => v === 0), 'official mode: dn0 = 0 as the kernels');
  });
}

test('sLSTM backward through time == finite differences (x, R, bias, initial y/c/n; forget clamp)', () => {
  const B = 2, S = 5, NH = 2, DH = 3, H = NH * DH;
  const w = { numHeads: NH, headDim: DH, recurrentExt: randF64([NH, DH, 4, DH], 50, -0.8, 0.8).data as Float64Array, biasExt: randF64([NH, 4, DH], 51).data as Float64Array };
  const x = randF64([B, S, 4 * H], 52, -3, 3).data as Float64Array;
  const st0 = new Float64Array(4 * B * H);
  const r0 = randF64([4, B, H], 53).data as Float64Array;
  for (let i = 0; i < B * H; i++) { st0[i] = r0[i]; st0[B * H + i] = r0[B * H + i]; st0[2 * B * H + i] = 1 + Math.abs(r0[2 * B * H + i]); st0[3 * B * H + i] = r0[3 * B * H + i]; }
  const W = randF64([B, S, H], 54).data as Float64Array;
  for (const [initialState, clamp] of [[undefined, null], [st0, null], [st0, 1.0]] as const) {
    const loss = (xx: Float64Array, R: Float64Array, b: Float64Array, s0?: Float64Array) =>
      dot(slstmForwardRef({ ...w, recurrentExt: R, biasExt: b }, xx, B, S, { initialState: s0, forgetClamp: clamp }).y, W);
    const g = slstmBackwardRef(w, x, W, B, S, { initialState, forgetClamp: clamp });
    const R = w.recurrentExt, bias = w.biasExt;
    const lab = `init=${!!initialState} clamp=${clamp}`;
    assert.ok(relErr(g.dx, fdGrad((a) => loss(a, R, bias, initialState), x.slice())) < 1e-6, `${lab} dx`);
    assert.ok(relErr(g.dR, fdGrad((a) => loss(x, a, bias, initialState), R.slice())) < 1e-6, `${lab} dR`);
    assert.ok(relErr(g.dBias, fdGrad((a) => loss(x, R, a, initialState), bias.slice())) < 1e-6, `${lab} dBias`);
    if (initialState) {
      const num = fdGrad((a) => loss(x, R, bias, a), initialState.slice());
      assert.ok(relErr(g.dState0, num) < 1e-6, `${lab} dState0 (y, c, n, m)`);
    }
  }
});

test('cells on the f32 tape (wasm forward) give the f64 tape\'s gradients to f32 accuracy', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const x = mlstmInputs(61, 6, 5);
    const dims = [d.B, d.NH, d.S];
    const shapes: Record<string, number[]> = { q: [...dims, d.DHQK], k: [...dims, d.DHQK], v: [...dims, d.DHV], i: dims, f: dims };
    const grads = (t: Tape, chunk: boolean): Record<string, ArrayLike<number>> => {
      const vs = Object.fromEntries(NAMES.map((n) => [n, t.input(new Tensor('f64', shapes[n], x[n]), true, n)])) as any;
      const h = chunk ? mlstmChunkwise(t, vs, { chunkSize: 4 }) : mlstmParallel(t, vs, { gradMode: 'exact' });
      const loss = ag.sumAll(t, ag.mul(t, h, t.input(randF64([...h.shape], 62))));
      t.backward(loss);
      return { h: h.data, ...Object.fromEntries(NAMES.map((n) => [n, vs[n].grad.data])) };
    };
    for (const chunk of [false, true]) {
      const g32 = grads(new Tape(be, 'f32'), chunk), g64 = grads(new Tape(null, 'f64'), chunk);
      assert.ok(relErr(g32.h, g64.h) < 1e-5, `h chunk=${chunk}: ${relErr(g32.h, g64.h)}`);
      for (const n of NAMES) assert.ok(relErr(g32[n], g64[n]) < 1e-4, `d${n} chunk=${chunk}: ${relErr(g32[n], g64[n])}`);
    }
    // sLSTM
    const B = 2, S = 4, NH = 2, DH = 4, H = NH * DH;
    const inp = [randF64([B, S, 4 * H], 63, -2, 2), randF64([NH, DH, 4 * DH], 64, -0.5, 0.5), randF64([4 * H], 65)];
    const sg = (t: Tape) => {
      const [xv, R, b] = inp.map((v) => t.input(v, true));
      const y = slstm(t, xv, R, b, NH);
      t.backward(ag.sumAll(t, ag.mul(t, y, t.input(randF64([B, S, H], 66)))));
      return [y.data, xv.grad!.data as Float64Array, R.grad!.data as Float64Array, b.grad!.data as Float64Array];
    };
    const s32 = sg(new Tape(be, 'f32')), s64 = sg(new Tape(null, 'f64'));
    ['y', 'dx', 'dR', 'dbias'].forEach((n, j) => assert.ok(relErr(s32[j], s64[j]) < 1e-4, `sLSTM ${n}: ${relErr(s32[j], s64[j])}`));
  } finally { be.dispose(); }
});
