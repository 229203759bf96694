// sLSTM cell: golden parity (f64 reference and wasm kernel, both checkpoint layouts),
// stepping, first-step rules, TiRex bf16 mode, bad inputs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadCase, assertGolden, assertClose, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { roundBf16 } from '../../src/tensor/convert.js';
import { loadSlstmParams, recurrentExt, SlstmParams, SlstmParamLayout } from '../../src/xlstm/slstm/params.js';
import { slstmForward, slstmStep } from '../../src/xlstm/slstm/cell.js';
import { slstmForwardRef } from '../../src/backend/ref/slstm.js';

const c: GoldenCase = loadCase('slstm_cell');
const variants = [...c.io.keys()].filter((k) => k.endsWith('__x')).map((k) => k.slice(0, -3)).sort();
const xShape = c.shape(`${variants[0]}__x`);
const B = xShape[0], S = xShape[1];
const NH: number = c.config.num_heads;
const H: number = c.config.hidden_size;
const DH = H / NH;
let be: WasmBackend;

before(async () => { be = await WasmBackend.create({ threads: 2 }); });
after(() => be.dispose());

function t(name: string): Tensor { return new Tensor('f32', c.shape(name), c.f32(name)); }
function model(name: string): Tensor { const m = c.model().get(name)!; return new Tensor('f32', m.shape, m.data as Float32Array); }

function paramsFor(layout: SlstmParamLayout | 'vanilla-auto'): SlstmParams {
  if (layout === 'cuda') return loadSlstmParams({ recurrentKernel: t('recurrent_kernel_cuda_layout'), bias: t('bias_cuda_layout'), numHeads: NH, layout });
  return loadSlstmParams({ recurrentKernel: model('_recurrent_kernel_'), bias: model('_bias_'), numHeads: NH, layout: layout === 'vanilla-auto' ? 'auto' : 'vanilla' });
}
function refWeights(p: SlstmParams) {
  const biasExt = p.bias; // [NH, 4, DH]
  return { numHeads: p.numHeads, headDim: p.headDim, recurrentExt: recurrentExt(p), biasExt };
}
/** [B, S, H] -> [B, NH, S, DH] */
function toBNSH(y: ArrayLike<number>, b: number, s: number): Float64Array {
  const out = new Float64Array(b * s * H);
  for (let i = 0; i < b; i++) for (let tt = 0; tt < s; tt++) for (let h = 0; h < NH; h++) for (let d = 0; d < DH; d++) {
    out[((i * NH + h) * s + tt) * DH + d] = y[(i * s + tt) * H + h * DH + d];
  }
  return out;
}
const state0 = (v: string) => (c.has(`${v}__state0`) ? t(`${v}__state0`) : undefined);

test('params: the vanilla and cuda layouts (and auto) give the same internal parameters', () => {
  const v = paramsFor('vanilla'), cu = paramsFor('cuda'), a = paramsFor('vanilla-auto');
  assert.equal(v.headDim, DH); assert.equal(cu.sourceLayout, 'cuda'); assert.equal(a.sourceLayout, 'vanilla');
  assert.deepEqual(v.recurrentPacked, cu.recurrentPacked);
  assert.deepEqual(v.bias, cu.bias);
  assert.deepEqual(a.recurrentPacked, v.recurrentPacked);
  // R_ext [NH, DH_in, 4, DH_out] and bias_ext [NH, 4, DH] are the layout-free forms
  assert.deepEqual(recurrentExt(v), c.f32('recurrent_kernel_ext'));
  assert.deepEqual(v.bias, c.f32('bias_ext'));
  const autoCuda = loadSlstmParams({ recurrentKernel: t('recurrent_kernel_cuda_layout'), bias: t('bias_cuda_layout'), numHeads: NH, layout: 'auto' });
  assert.equal(autoCuda.sourceLayout, 'cuda');
});

for (const layout of ['vanilla', 'cuda'] as const) {
  for (const v of variants) {
    test(`golden ${v}: f64 reference, ${layout} layout`, () => {
      const p = paramsFor(layout);
      const s0 = state0(v);
      const r = slstmForwardRef(refWeights(p), c.f32(`${v}__x`), B, S, { initialState: s0?.data as Float32Array | undefined });
      assertGolden(c, `${v}__y`, toBNSH(r.y, B, S));
      assertGolden(c, `${v}__state_final`, r.state);
      assertGolden(c, `${v}__states_all`, r.statesAll);
    });
    test(`golden ${v}: wasm kernel, ${layout} layout, 1 and 2 threads`, () => {
      const p = paramsFor(layout);
      for (const threads of [1, 2]) {
        const r = slstmForward(be, t(`${v}__x`), p, { initialState: state0(v), returnAllStates: true, threads });
        assert.deepEqual(r.y.shape, c.shape(`${v}__y`));
        assertGolden(c, `${v}__y`, r.y.data as Float32Array);
        assertGolden(c, `${v}__state_final`, r.state.data as Float32Array);
        assertGolden(c, `${v}__states_all`, r.statesAll!.data as Float32Array);
      }
    });
  }
}

test('wasm: BSH output layout equals BNSH transposed; the initial state tensor is not modified', () => {
  const v = 'random_state';
  const p = paramsFor('cuda');
  const s0 = state0(v)!;
  const copy = Float32Array.from(s0.data as Float32Array);
  const a = slstmForward(be, t(`${v}__x`), p, { initialState: s0 });
  const b = slstmForward(be, t(`${v}__x`), p, { initialState: s0, outputLayout: 'BSH' });
  assert.deepEqual(b.y.shape, [B, S, H]);
  assert.deepEqual(toBNSH(b.y.data as Float32Array, B, S), Float64Array.from(a.y.data as Float32Array));
  assert.deepEqual(s0.data, copy);
  // heads are independent: the split over threads cannot change a single bit
  for (const bf16 of [false, 'tirex'] as const) {
    const one = slstmForward(be, t(`${v}__x`), p, { initialState: s0, threads: 1, bf16, returnAllStates: true });
    const two = slstmForward(be, t(`${v}__x`), p, { initialState: s0, threads: 2, bf16, returnAllStates: true });
    assert.deepEqual(two.statesAll!.data, one.statesAll!.data);
    assert.deepEqual(two.y.data, one.y.data);
  }
});

test('step by step equals the sequence (wasm and reference)', () => {
  for (const v of variants) {
    const p = paramsFor('vanilla');
    const x = c.f32(`${v}__x`);
    const seq = slstmForward(be, t(`${v}__x`), p, { initialState: state0(v), outputLayout: 'BSH' });
    let st: Tensor | undefined = state0(v);
    const ys = new Float32Array(B * S * H);
    let refState: ArrayLike<number> | undefined = state0(v)?.data as Float32Array | undefined;
    const refYs = new Float64Array(B * S * H);
    for (let tt = 0; tt < S; tt++) {
      const xt = new Float32Array(B * 4 * H);
      for (let b = 0; b < B; b++) xt.set(x.subarray((b * S + tt) * 4 * H, (b * S + tt + 1) * 4 * H), b * 4 * H);
      const r = slstmStep(be, new Tensor('f32', [B, 4 * H], xt), p, st);
      assert.deepEqual(r.y.shape, [B, H]);
      for (let b = 0; b < B; b++) ys.set((r.y.data as Float32Array).subarray(b * H, (b + 1) * H), (b * S + tt) * H);
      st = r.state;
      const rr = slstmForwardRef(refWeights(p), xt, B, 1, { initialState: refState });
      for (let b = 0; b < B; b++) refYs.set(rr.y.subarray(b * H, (b + 1) * H), (b * S + tt) * H);
      refState = rr.state;
    }
    assertClose(`${v} wasm step y`, ys, seq.y.data as Float32Array, 0, 0);
    assertClose(`${v} wasm step state`, st!.data as Float32Array, seq.state.data as Float32Array, 0, 0);
    const refSeq = slstmForwardRef(refWeights(p), x, B, S, { initialState: state0(v)?.data as Float32Array | undefined });
    assertClose(`${v} ref step y`, refYs, refSeq.y, 1e-12, 0);
    assertClose(`${v} ref step state`, refState!, refSeq.state, 1e-12, 0);
  }
});

test('first-step rule: perElement differs from the official wholeTensor rule on mixed_zero_state exactly as documented', () => {
  const v = 'mixed_zero_state';
  const p = paramsFor('cuda');
  const s0 = state0(v)!;
  const n0 = (s0.data as Float32Array).subarray(2 * B * H, 3 * B * H);
  // the case's premise: some n are 0 (batch 0) but not all
  assert.ok(n0.some((e) => e === 0) && n0.some((e) => e !== 0));
  const whole = slstmForward(be, t(`${v}__x`), p, { initialState: s0, returnAllStates: true });
  const per = slstmForward(be, t(`${v}__x`), p, { initialState: s0, returnAllStates: true, firstStepRule: 'perElement' });
  assertGolden(c, `${v}__states_all`, whole.statesAll!.data as Float32Array);
  const ref = slstmForwardRef(refWeights(p), c.f32(`${v}__x`), B, S, { initialState: s0.data as Float32Array, firstStepRule: 'perElement' });
  assertClose('perElement wasm vs ref', per.statesAll!.data as Float32Array, ref.statesAll, c.tol(`${v}__states_all`).atol, 0);
  // step 1: m = i~ (perElement) vs max(i~, logsigmoid(f~)) (wholeTensor) differ exactly where n0 == 0
  const wa = whole.statesAll!.data as Float32Array, pa = per.statesAll!.data as Float32Array;
  const mIdx = (tt: number, k: number) => (3 * (S + 1) + tt) * B * H + k;
  let diffAtZero = 0;
  for (let k = 0; k < B * H; k++) {
    if (n0[k] === 0) { if (wa[mIdx(1, k)] !== pa[mIdx(1, k)]) diffAtZero++; }
    else assert.equal(pa[mIdx(1, k)], wa[mIdx(1, k)], `m at unit ${k} (n0 != 0) must not depend on the rule`);
  }
  assert.ok(diffAtZero > 0, 'perElement must change m where n0 == 0');
  // m is only a stabiliser: from c0 = n0 = 0 the rule rescales c and n by the same factor
  // exp(m_whole - m_per), so c and n differ but y = o c / n does not (beyond rounding).
  const cIdx = (tt: number, k: number) => (1 * (S + 1) + tt) * B * H + k;
  const nIdx = (tt: number, k: number) => (2 * (S + 1) + tt) * B * H + k;
  let cnDiffer = 0;
  for (let k = 0; k < B * H; k++) {
    if (n0[k] !== 0) continue;
    if (pa[nIdx(1, k)] !== wa[nIdx(1, k)]) cnDiffer++;
    const ratioW = wa[cIdx(1, k)] / wa[nIdx(1, k)], ratioP = pa[cIdx(1, k)] / pa[nIdx(1, k)];
    assert.ok(Math.abs(ratioW - ratioP) <= 1e-6 * (1 + Math.abs(ratioW)), `c/n at unit ${k}: ${ratioW} vs ${ratioP}`);
  }
  assert.ok(cnDiffer > 0, 'perElement must rescale n where n0 == 0');
  assertClose('y does not depend on the rule', per.y.data as Float32Array, whole.y.data as Float32Array, c.tol(`${v}__y`).atol, 0);
});

// --- TiRex bf16 mode ---

/** Independent bf16 round-to-nearest-even via a DataView (not src/tensor/convert). */
function bf(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x);
  const u = dv.getUint32(0);
  if ((u & 0x7fffffff) > 0x7f800000) return x;
  const lower = u & 0xffff, upper = u >>> 16;
  let r = upper;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1)) r = upper + 1;
  dv.setUint32(0, (r << 16) >>> 0);
  return dv.getFloat32(0);
}

/**
 * Hand-written emulation of TiRex's torch cell for one batch element, unit by unit:
 * Wx, R, y, and the initial state bf16; Ry accumulated (f32) then bf16; raw = (Wx + Ry) + b in f32;
 * f~ clamped at 15; pointwise f32; states bf16 after each step.
 */
function tirexEmulation(Rext: Float32Array, bias: Float32Array, x: Float32Array, nh: number, dh: number, s: number, init: Float32Array) {
  const hs = nh * dh, F = Math.fround;
  let [y, cc, n, m] = [0, 1, 2, 3].map((k) => Array.from(init.subarray(k * hs, (k + 1) * hs), bf));
  const first = n.every((e) => e === 0);
  const outs: number[][] = [];
  for (let tt = 0; tt < s; tt++) {
    const ny = [], nc = [], nn = [], nm = [];
    for (let h = 0; h < nh; h++) for (let o = 0; o < dh; o++) {
      const raw = [0, 1, 2, 3].map((g) => {
        let acc = 0;
        for (let i = 0; i < dh; i++) acc = F(acc + F(y[h * dh + i] * bf(Rext[((h * dh + i) * 4 + g) * dh + o])));
        return F(F(bf(x[tt * 4 * hs + g * hs + h * dh + o]) + bf(acc)) + bias[(h * 4 + g) * dh + o]);
      });
      const u = h * dh + o;
      const fr = Math.min(raw[1], 15);
      const lf = F(m[u] + F(-Math.log(1 + Math.exp(-fr))));
      const mn = tt === 0 && first ? raw[0] : Math.max(raw[0], lf);
      const ig = F(Math.exp(Math.min(F(raw[0] - mn), 0)));
      const fg = F(Math.exp(Math.min(F(lf - mn), 0)));
      const c1 = F(F(fg * cc[u]) + F(ig * F(Math.tanh(raw[2]))));
      const n1 = F(F(fg * n[u]) + ig);
      const y1 = F(F(F(1 / (1 + Math.exp(-raw[3]))) * c1) / n1);
      ny.push(bf(y1)); nc.push(bf(c1)); nn.push(bf(n1)); nm.push(bf(mn));
    }
    y = ny; cc = nc; n = nn; m = nm;
    outs.push([...y]);
  }
  return { ys: outs, state: [...y, ...cc, ...n, ...m] };
}

test('bf16 tirex mode: reference and wasm follow a hand-written emulation of the rounding points', () => {
  const nh = 2, dh = 4, s = 6, hs = nh * dh;
  // values chosen so that rounding matters: irregular mantissas, R·y sums of mixed sign
  const rnd = (i: number, sc: number) => Math.fround(Math.sin(i * 12.9898 + 78.233) * sc);
  const Rext = Float32Array.from({ length: nh * dh * 4 * dh }, (_, i) => rnd(i, 0.7));
  const biasExt = Float32Array.from({ length: nh * 4 * dh }, (_, i) => rnd(i + 1000, 1.3));
  const x = Float32Array.from({ length: s * 4 * hs }, (_, i) => rnd(i + 2000, 3));
  const init = Float32Array.from({ length: 4 * hs }, (_, i) => rnd(i + 3000, 1));
  for (let u = 0; u < hs; u++) init[2 * hs + u] = Math.abs(init[2 * hs + u]) + 0.5; // n > 0
  const emu = tirexEmulation(Rext, biasExt, x, nh, dh, s, init);
  const cuda = new Tensor('f32', [nh, dh, 4 * dh], Rext);
  const p = loadSlstmParams({ recurrentKernel: cuda, bias: new Tensor('f32', [4 * hs], biasExt), numHeads: nh, layout: 'cuda' });
  const ref = slstmForwardRef(refWeights(p), x, 1, s, { initialState: init, bf16: 'tirex' });
  const emuY = emu.ys.flat();
  // Same f32 operation order; only exp/log/tanh may differ in the last f32 bit, which can move a
  // bf16 rounding by one bf16 ulp (2^-8 relative) at most.
  assertClose('ref bf16 y vs emulation', ref.y, emuY, 0, 2 ** -7);
  assertClose('ref bf16 state vs emulation', ref.state, emu.state, 0, 2 ** -7);
  let exact = 0;
  for (let i = 0; i < emuY.length; i++) if (ref.y[i] === emuY[i]) exact++;
  assert.ok(exact >= 0.9 * emuY.length, `most bf16 values must match exactly (${exact}/${emuY.length})`);
  const w = slstmForward(be, new Tensor('f32', [1, s, 4 * hs], x), p, { initialState: new Tensor('f32', [4, 1, hs], init), bf16: 'tirex', outputLayout: 'BSH' });
  assertClose('wasm bf16 y vs emulation', w.y.data as Float32Array, emuY, 0, 2 ** -7);
  assertClose('wasm bf16 state vs emulation', w.state.data as Float32Array, emu.state, 1e-30, 2 ** -7);
  for (const v of [...(w.y.data as Float32Array), ...(w.state.data as Float32Array), ...ref.y]) assert.equal(roundBf16(v), v, `${v} is not a bf16 value`);
});

test('bf16 tirex mode differs from f32 by a plausible small amount (golden inputs)', () => {
  for (const v of variants.filter((n) => n !== 'extreme_gates')) {
    const p = paramsFor('cuda');
    const f = slstmForward(be, t(`${v}__x`), p, { initialState: state0(v) });
    const b = slstmForward(be, t(`${v}__x`), p, { initialState: state0(v), bf16: 'tirex' });
    const r = slstmForwardRef(refWeights(p), c.f32(`${v}__x`), B, S, { initialState: state0(v)?.data as Float32Array | undefined, bf16: 'tirex' });
    const fy = f.y.data as Float32Array, by = b.y.data as Float32Array, ry = toBNSH(r.y, B, S);
    let maxD = 0, maxRW = 0;
    for (let i = 0; i < fy.length; i++) { maxD = Math.max(maxD, Math.abs(fy[i] - by[i])); maxRW = Math.max(maxRW, Math.abs(ry[i] - by[i])); }
    assert.ok(maxD > 1e-4 && maxD < 0.1, `${v}: |bf16 - f32| max ${maxD} should be bf16-sized`);
    assert.ok(maxRW <= 2 * 2 ** -8, `${v}: wasm vs reference bf16 differ by ${maxRW}`);
    // without the rounding but with the clamp, the wasm kernel is plain f32 again
    const fc = slstmForward(be, t(`${v}__x`), p, { initialState: state0(v), forgetClamp: 15 });
    const fcy = fc.y.data as Float32Array;
    if (c.meta.cross_checks?.[`${v}__max_forget_preact_incl_bias`] < 15) assert.deepEqual(fcy, fy);
  }
});

test('forget clamp: changes results only when f~ exceeds it (extreme_gates)', () => {
  const v = 'extreme_gates';
  const p = paramsFor('cuda');
  const ref = slstmForwardRef(refWeights(p), c.f32(`${v}__x`), B, S, { forgetClamp: 15 });
  const w = slstmForward(be, t(`${v}__x`), p, { forgetClamp: 15, returnAllStates: true });
  assertClose('clamped wasm vs ref', w.statesAll!.data as Float32Array, ref.statesAll, c.tol(`${v}__states_all`).atol, 1e-6);
  const plain = slstmForward(be, t(`${v}__x`), p, { returnAllStates: true });
  const a = w.statesAll!.data as Float32Array, b2 = plain.statesAll!.data as Float32Array;
  let differs = false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b2[i]) { differs = true; break; }
  assert.ok(differs, 'with f~ up to ~38 the clamp at 15 must change something');
});

test('bad inputs give errors naming the parameter, layout and shapes', () => {
  const rv = model('_recurrent_kernel_'), bv = model('_bias_');
  assert.throws(() => loadSlstmParams({ recurrentKernel: rv, bias: bv, numHeads: NH, layout: 'cuda' }),
    (e: Error) => /_recurrent_kernel_/.test(e.message) && /'cuda'/.test(e.message) && e.message.includes(`[${rv.shape.join(', ')}]`));
  const rc = t('recurrent_kernel_cuda_layout');
  assert.throws(() => loadSlstmParams({ recurrentKernel: rc, bias: bv, numHeads: NH, layout: 'vanilla' }), /_recurrent_kernel_ in 'vanilla' layout/);
  assert.throws(() => loadSlstmParams({ recurrentKernel: rc, bias: new Tensor('f32', [4 * H - 1], new Float32Array(4 * H - 1)), numHeads: NH, layout: 'cuda' }),
    /_bias_ in 'cuda' layout must have shape \[4\*NH\*DH=\d+\], got \[\d+\]/);
  assert.throws(() => loadSlstmParams({ recurrentKernel: rc, bias: bv, numHeads: NH + 1, layout: 'cuda' }), /_recurrent_kernel_/);
  assert.throws(() => loadSlstmParams({ recurrentKernel: new Tensor('f32', [NH, 3, 5], new Float32Array(NH * 15)), bias: bv, numHeads: NH, layout: 'auto' }), /'auto'/);
  assert.throws(() => loadSlstmParams({ recurrentKernel: rc, bias: bv, numHeads: NH, layout: 'other' as any }), /layout must be/);
  const p = paramsFor('cuda');
  assert.throws(() => slstmForward(be, new Tensor('f32', [B, S, 4 * H + 1], new Float32Array(B * S * (4 * H + 1))), p), /x must have shape \[B, S, 4H=\d+\]/);
  assert.throws(() => slstmForward(be, t(`${variants[0]}__x`), p, { initialState: Tensor.zeros([4, B + 1, H]) }), /initialState must have shape \[4, B=\d+, H=\d+\]/);
  assert.throws(() => slstmForward(be, t(`${variants[0]}__x`), p, { bf16: 'fp8' as any }), /bf16 must be/);
  assert.throws(() => slstmStep(be, Tensor.zeros([B, H]), p), /slstmStep: x must have shape \[B, 4H/);
  assert.throws(() => slstmForwardRef(refWeights(p), new Float32Array(5), B, S), /x has 5 elements/);
});

test('wasm vs f64 reference on head sizes that exercise the scalar tail and column padding', () => {
  for (const [nh, dh, b, s] of [[2, 6, 2, 7], [3, 3, 1, 5], [1, 9, 3, 4], [2, 16, 1, 9]]) {
    const hs = nh * dh;
    const rnd = (i: number, sc: number) => Math.fround(Math.sin(i * 7.77 + dh * 0.31 + nh) * sc);
    const R = new Tensor('f32', [nh, 4 * dh, dh], Float32Array.from({ length: nh * 4 * dh * dh }, (_, i) => rnd(i, 1 / Math.sqrt(dh))));
    const bias = new Tensor('f32', [4 * hs], Float32Array.from({ length: 4 * hs }, (_, i) => rnd(i + 500, 1)));
    const p = loadSlstmParams({ recurrentKernel: R, bias, numHeads: nh, layout: 'vanilla' });
    const x = new Tensor('f32', [b, s, 4 * hs], Float32Array.from({ length: b * s * 4 * hs }, (_, i) => rnd(i + 900, 4)));
    const s0 = Float32Array.from({ length: 4 * b * hs }, (_, i) => rnd(i + 1700, 1));
    for (let i = 2 * b * hs; i < 3 * b * hs; i++) s0[i] = i % 5 === 0 ? 0 : Math.abs(s0[i]) + 0.1; // some n == 0
    const init = new Tensor('f32', [4, b, hs], s0);
    const w = refWeights(p);
    for (const rule of ['wholeTensor', 'perElement'] as const) {
      for (const initial of [undefined, init]) {
        const ref = slstmForwardRef(w, x.data as Float32Array, b, s, { initialState: initial?.data as Float32Array | undefined, firstStepRule: rule });
        const got = slstmForward(be, x, p, { initialState: initial, firstStepRule: rule, returnAllStates: true, outputLayout: 'BSH', threads: 2 });
        const label = `NH=${nh} DH=${dh} B=${b} S=${s} ${rule} ${initial ? 'state0' : 'zeros'}`;
        assertClose(`${label} y`, got.y.data as Float32Array, ref.y, 2e-6, 2e-6);
        assertClose(`${label} states`, got.statesAll!.data as Float32Array, ref.statesAll, 1e-5, 1e-5);
      }
      const refB = slstmForwardRef(w, x.data as Float32Array, b, s, { initialState: s0, firstStepRule: rule, bf16: 'tirex' });
      const gotB = slstmForward(be, x, p, { initialState: init, firstStepRule: rule, bf16: 'tirex', outputLayout: 'BSH' });
      assertClose(`NH=${nh} DH=${dh} bf16 y`, gotB.y.data as Float32Array, refB.y, 1e-6, 2 ** -7);
    }
  }
});
