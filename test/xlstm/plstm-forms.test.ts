// pLSTM kernels: the parallel forms against the recurrent reference forms on random inputs with
// state-tracking dims > 1, several chunk sizes, both chiralities and all orientations; float64
// finite differences of the hand-written backward passes (the 1D scan over several chunks, where
// the official backward is wrong, the 2D scan, and the small ops); bad inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { gradCheck } from '../../src/autograd/gradcheck.js';
import { ArgumentError, ConfigError } from '../../src/errors.js';
import {
  scan1d, scan2d, expSkew, conv2dDepthwise, headProj, transitionCombine, scaleRows, flip2d, plstm1d, plstm2d,
  defaultPlstm1dConfig, defaultPlstm2dConfig, initPlstmParams, plstmParamsFromTensors, plstm2dConfigFromJson, Scan2dOrientation,
} from '../../src/xlstm/plstm/index.js';
import { randF64, weightedSum } from '../autograd/util.js';
import { assertClose } from '../helpers/golden.js';

const dims1 = { B: 2, S: 7, H: 2, DK: 3, DV: 2, JK: 2, JQ: 2, JV: 2, JT: 3, JO: 2 };
function inputs1d(seed: number, d = dims1): Tensor[] {
  const { B, S, H, DK, DV, JK, JQ, JV, JT, JO } = d;
  // transitions scaled so that products stay O(1) over the sequence
  return [
    randF64([B, S, H, DK, JQ], seed), randF64([B, S, H, DK, JK], seed + 1), randF64([B, S, H, DV, JV], seed + 2),
    randF64([B, S, H, JT, JK, JV], seed + 3, 0, 1), randF64([B, S, H, JT, JT], seed + 4, -0.5, 0.5),
    randF64([B, S, H, JO, JQ, JT], seed + 5, 0, 1), randF64([B, S, H, JO, JQ, JK, JV], seed + 6, 0, 1), randF64([B * H, DK, DV, JT], seed + 7),
  ];
}
function run1d(t: Tape, xs: Var[], form: 'recurrent' | 'chunkwise', chunkSize?: number) {
  return scan1d(t, { q: xs[0], k: xs[1], v: xs[2], s: xs[3], t: xs[4], m: xs[5], d: xs[6], c0: xs[7] }, { form, chunkSize });
}

test('scan1d: chunkwise equals recurrent for every chunk size (outputs and last state)', () => {
  const ins = inputs1d(11);
  const t = new Tape(null, 'f64');
  const xs = ins.map((x) => t.input(x));
  const ref = run1d(t, xs, 'recurrent');
  for (const L of [1, 2, 3, 4, 7, 16]) {
    const ch = run1d(t, xs, 'chunkwise', L);
    assertClose(`chunk ${L} y`, ch.y.data, ref.y.data, 1e-12);
    assertClose(`chunk ${L} last`, ch.last.data, ref.last.data, 1e-12);
  }
  // the values are not trivially small
  assert.ok(Math.max(...Array.from(ref.y.data, Math.abs)) > 0.1);
});

test('scan1d: JK = JQ = 1 (the factorised path) equals the general chunkwise form', () => {
  const ins = inputs1d(13, { ...dims1, JK: 1, JQ: 1, JT: 4, JV: 3, JO: 2 });
  const t = new Tape(null, 'f64');
  const xs = ins.map((x) => t.input(x));
  const a = run1d(t, xs, 'recurrent'), b = run1d(t, xs, 'chunkwise', 3);
  assertClose('JK=JQ=1 y', a.y.data, b.y.data, 1e-12);
  assertClose('JK=JQ=1 last', a.last.data, b.last.data, 1e-12);
});

test('scan1d: the gradient over several chunks equals float64 finite differences (y and last state)', () => {
  for (const d of [{ ...dims1, B: 1, S: 5, H: 1 }, { ...dims1, B: 1, S: 5, H: 2, JK: 1, JQ: 1, JT: 3, JV: 2, JO: 2 }]) {
    const ins = inputs1d(21, d);
    for (const form of ['chunkwise', 'recurrent'] as const) {
      const r = gradCheck((t, xs) => {
        const o = run1d(t, xs, form, 2);
        return ag.add(t, weightedSum(t, o.y, 5), weightedSum(t, o.last, 6));
      }, ins);
      assert.ok(r.maxRelError < 1e-6, `${form} JK=${d.JK}: max rel error ${r.maxRelError} (per input ${r.relErrors.map((e) => e.toExponential(1)).join(', ')})`);
    }
  }
});

test("scan1d: the chunkwise form's own gradients equal the recurrent adjoint's for every chunk size", () => {
  const ins = inputs1d(17);
  const grads = (form: 'recurrent' | 'chunkwise', L?: number) => {
    const t = new Tape(null, 'f64');
    const xs = ins.map((x) => t.input(x, true));
    const o = run1d(t, xs, form, L);
    t.backward(ag.add(t, weightedSum(t, o.y, 5), weightedSum(t, o.last, 6)));
    return xs.map((v) => v.grad!.data as Float64Array);
  };
  const ref = grads('recurrent');
  for (const L of [1, 2, 3, 7, 16]) grads('chunkwise', L).forEach((g, i) => assertClose(`chunk ${L} input ${i}`, g, ref[i], 1e-11));
});

const dims2 = { B: 1, X: 3, Y: 4, H: 2, G: 8, DK: 2, DV: 2, JK: 2, JQ: 1, JV: 1, JT: 2, JO: 2 };
function inputs2d(seed: number, d = dims2): Tensor[] {
  const { B, X, Y, H, G, DK, DV, JK, JQ, JV, JT, JO } = d;
  return [
    randF64([B, X, Y, H, DK, JQ], seed), randF64([B, X, Y, H, DK, JK], seed + 1), randF64([B, X, Y, H, DV, JV], seed + 2),
    randF64([B, X, Y, G, JT, JK, JV], seed + 3, 0, 1), randF64([B, X, Y, G, JT, JK, JV], seed + 4, 0, 1),
    randF64([B, X, Y, G, JT, JT], seed + 5, -0.5, 0.5), randF64([B, X, Y, G, JT, JT], seed + 6, -0.5, 0.5),
    randF64([B, X, Y, G, JT, JT], seed + 7, -0.5, 0.5), randF64([B, X, Y, G, JT, JT], seed + 8, -0.5, 0.5),
    randF64([B, X, Y, G, JO, JQ, JT], seed + 9, 0, 1), randF64([B, X, Y, G, JO, JQ, JT], seed + 10, 0, 1),
    randF64([B, X, Y, H, JO, JQ, JK, JV], seed + 11, 0, 1),
  ];
}
function run2d(t: Tape, xs: Var[], orients: Scan2dOrientation[], form: 'recurrent' | 'parallel', drop: { tDL?: boolean; tRU?: boolean } = {}) {
  return scan2d(t, { q: xs[0], k: xs[1], v: xs[2], sR: xs[3], sD: xs[4], tRL: xs[5], tDU: xs[6], tDL: drop.tDL ? null : xs[7], tRU: drop.tRU ? null : xs[8], mL: xs[9], mU: xs[10], d: xs[11] }, orients, { form });
}
const fused: Scan2dOrientation[] = [0, 1, 2, 3].map((o) => ({ gateOffset: o, gateStride: 4, flipX: o % 2 === 1, flipY: o >= 2 }));

test('scan2d: the parallel (gating-matrix) form equals the recurrent form for each corner, the fused sum and both chiralities', () => {
  const ins = inputs2d(31);
  const t = new Tape(null, 'f64');
  const xs = ins.map((x) => t.input(x));
  const cases: [string, Scan2dOrientation[], { tDL?: boolean; tRU?: boolean }][] = [
    ...[0, 1, 2, 3].map((o): [string, Scan2dOrientation[], {}] => [`corner ${o}`, [{ gateOffset: 2 * o, gateStride: 1, flipX: o % 2 === 1, flipY: o >= 2 }], {}]),
    ['fused', fused, {}], ['chirality L', fused, { tDL: true }], ['chirality R', fused, { tRU: true }],
  ];
  for (const [name, orients, drop] of cases) {
    const a = run2d(t, xs, orients, 'recurrent', drop), b = run2d(t, xs, orients, 'parallel', drop);
    assertClose(`scan2d ${name}`, b.data, a.data, 1e-12);
  }
  // a transition changes the far corner: a long-range path exists
  const a = run2d(t, xs, fused.slice(0, 1), 'recurrent');
  const ins2 = ins.map((x) => x);
  ins2[5] = randF64(ins[5].shape as number[], 99, -0.5, 0.5);
  const t2 = new Tape(null, 'f64');
  const b = run2d(t2, ins2.map((x) => t2.input(x)), fused.slice(0, 1), 'recurrent');
  const last = a.size - 1;
  assert.notEqual(a.data[last], b.data[last]);
});

test('scan2d: both backward passes (recurrent adjoint, parallel form) equal float64 finite differences (fused orientations, both chiralities)', () => {
  const ins = inputs2d(41, { ...dims2, X: 2, Y: 3 });
  for (const form of ['recurrent', 'parallel'] as const) {
    for (const drop of [{ tDL: true }, { tRU: true }, {}]) {
      const r = gradCheck((t, xs) => weightedSum(t, run2d(t, xs, fused, form, drop), 7), ins);
      assert.ok(r.maxRelError < 1e-6, `${form} ${JSON.stringify(drop)}: max rel error ${r.maxRelError}`);
    }
  }
});

test("scan2d: the parallel form's gradients equal the recurrent adjoint's on a larger grid (J dims > 1, single corners and fused)", () => {
  const ins = inputs2d(43);
  for (const orients of [fused, [{ gateOffset: 5, gateStride: 1, flipX: true, flipY: false }]]) {
    const grads = (['recurrent', 'parallel'] as const).map((form) => {
      const t = new Tape(null, 'f64');
      const xs = ins.map((x) => t.input(x, true));
      t.backward(weightedSum(t, run2d(t, xs, orients, form), 9));
      return xs.map((v) => v.grad!.data as Float64Array);
    });
    grads[0].forEach((g, i) => assertClose(`input ${i}`, grads[1][i], g, 1e-11));
  }
});

test('pLSTM small ops: float64 finite differences of the hand-written backward passes', () => {
  const checks: [string, (t: Tape, xs: Var[]) => Var, Tensor[]][] = [
    ['expSkew', (t, xs) => weightedSum(t, expSkew(t, xs[0], 1, 16), 3), [randF64([3, 4, 4], 1, -1, 1)]],
    ['conv2dDepthwise', (t, xs) => weightedSum(t, conv2dDepthwise(t, xs[0], xs[1], xs[2]), 3), [randF64([2, 3, 4, 3], 2), randF64([3, 1, 3, 2], 3), randF64([3], 4)]],
    ['headProj nPsx', (t, xs) => weightedSum(t, headProj(t, xs[0], xs[1], { heads: 2, subHeads: 2, outPerHead: 3, layout: 'nPsx' }), 3), [randF64([5, 4], 5), randF64([1, 3, 2, 2], 6)]],
    ['headProj nsPx', (t, xs) => weightedSum(t, headProj(t, xs[0], xs[1], { heads: 4, subHeads: 1, outPerHead: 2, layout: 'nsPx' }), 3), [randF64([5, 4], 7), randF64([4, 1, 2, 4], 8)]],
    ['headProj loop (heads 4, sub-heads 2)', (t, xs) => weightedSum(t, headProj(t, xs[0], xs[1], { heads: 4, subHeads: 2, outPerHead: 3, layout: 'nsPx' }), 3), [randF64([5, 4], 15), randF64([2, 2, 3, 2], 16)]],
    ['transitionCombine', (t, xs) => weightedSum(t, transitionCombine(t, xs[0], xs[1], xs[2]), 3), [randF64([3, 2, 2], 9), randF64([3, 2], 10), randF64([3, 2, 2], 11)]],
    ['scaleRows', (t, xs) => weightedSum(t, scaleRows(t, xs[0], xs[1]), 3), [randF64([4], 12), randF64([4, 3], 13)]],
    ['flip2d', (t, xs) => weightedSum(t, flip2d(t, xs[0], true, true), 3), [randF64([1, 2, 3, 2], 14)]],
  ];
  for (const [name, fn, ins] of checks) {
    const r = gradCheck(fn, ins);
    assert.ok(r.maxRelError < 1e-6, `${name}: max rel error ${r.maxRelError}`);
  }
  // the truncated series is close to orthogonal for a small skew part (the reason for the parameterisation)
  const t = new Tape(null, 'f64');
  const E = expSkew(t, t.input(randF64([1, 3, 3], 20, -0.2, 0.2)), 1, 16).data;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    let dot = 0;
    for (let k = 0; k < 3; k++) dot += E[k * 3 + i] * E[k * 3 + j];
    assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9, `E^T E [${i},${j}] = ${dot}`);
  }
});

test('pLSTM layers: whole-layer float64 finite differences of dL/dx (1D with several chunks and any S; 2D fused D)', () => {
  const cfg1 = defaultPlstm1dConfig({ inputDim: 8, numHeads: 2, JT: 2 });
  const p1 = initPlstmParams(cfg1, 3);
  // perturb the official init so every gate is input dependent in value (biases away from -5)
  for (const [k, v] of Object.entries(p1)) if (/bias|weight/.test(k)) { const d = v.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] += 0.3 * Math.sin(7 * i + k.length); }
  const r1 = gradCheck((t, xs) => weightedSum(t, plstm1d(t, xs[0], plstmParamsFromTensors(t, cfg1, p1), cfg1, { form: 'chunkwise', chunkSize: 2 }).y, 4), [randF64([1, 5, 8], 50)]);
  assert.ok(r1.maxRelError < 1e-6, `1D: ${r1.maxRelError}`);
  const cfg2 = defaultPlstm2dConfig({ inputDim: 4, numHeads: 2, mode: 'D', fused: true });
  const p2 = initPlstmParams(cfg2, 4);
  for (const [k, v] of Object.entries(p2)) { const d = v.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] += 0.3 * Math.cos(5 * i + k.length); }
  const r2 = gradCheck((t, xs) => weightedSum(t, plstm2d(t, xs[0], plstmParamsFromTensors(t, cfg2, p2), cfg2), 4), [randF64([1, 2, 3, 4], 51)]);
  assert.ok(r2.maxRelError < 1e-6, `2D: ${r2.maxRelError}`);
});

test('pLSTM: bad configs and inputs are refused with errors naming them', () => {
  const cfg = defaultPlstm2dConfig({ inputDim: 8, numHeads: 2, mode: 'P' });
  const t = new Tape(null, 'f64');
  const p = plstmParamsFromTensors(t, cfg, initPlstmParams(cfg, 1));
  assert.throws(() => plstm2d(t, t.input(randF64([1, 3, 3, 6], 1)), p, cfg), (e: Error) => e instanceof ArgumentError && /plstm2d: x must have shape \[B, X, Y, D\] with D = 8/.test(e.message));
  const bad = { ...initPlstmParams(cfg, 1) };
  delete bad['query.weight'];
  assert.throws(() => plstmParamsFromTensors(t, cfg, bad), (e: Error) => e instanceof ConfigError && /missing query\.weight/.test(e.message));
  const wrong = { ...initPlstmParams(cfg, 1), 'mark.bias': new Tensor('f32', [3], new Float32Array(3)) };
  assert.throws(() => plstmParamsFromTensors(t, cfg, wrong), (e: Error) => e instanceof ConfigError && /mark\.bias has shape \[3\], expected \[8, 1, 1, 1\]/.test(e.message));
  assert.throws(() => plstm2dConfigFromJson({ mode: 'P' }, 'cfg'), (e: Error) => e instanceof ConfigError && /cfg\.input_dim/.test(e.message));
  const json = { class_name: 'pLSTM2DLayer', input_dim: 8, num_heads: 2, DK: 4, DV: 4, JK: 1, JQ: 1, JV: 1, JT: 1, JO: 1, mode: 'X' };
  assert.throws(() => plstm2dConfigFromJson(json, 'cfg'), (e: Error) => e instanceof ConfigError && /cfg\.mode: expected one of P, D, got "X"/.test(e.message));
  const xs = inputs1d(1).map((x) => t.input(x));
  assert.throws(() => run1d(t, xs, 'chunkwise', 0), (e: Error) => e instanceof ArgumentError && /chunkSize must be a positive integer, got 0/.test(e.message));
  assert.throws(() => scan1d(t, { q: xs[0], k: xs[1], v: xs[2], s: xs[3], t: xs[4], m: xs[5], d: xs[6], c0: xs[0] }), (e: Error) => e instanceof ArgumentError && /scan1d: initial state: expected shape \[4, 3, 2, 3\]/.test(e.message));
});
