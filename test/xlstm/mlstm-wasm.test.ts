// The float32 WebAssembly mLSTM (src/xlstm/mlstm) against the official golden outputs,
// against the float64 reference, and its forms against each other.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadCase, assertGolden, assertClose, GoldenCase } from '../helpers/golden.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import {
  mlstmStep, mlstmRecurrent, mlstmChunkwise, mlstmPrefill, mlstmParallel, mlstmSigParallel, mlstmSigChunkwise,
  mlstmSigRecurrent, mlstmZeroState, MlstmInputs, MlstmState,
} from '../../src/xlstm/mlstm/index.js';
import { mlstmArbitraryRef, mlstmParallelRef, mlstmSigParallelRef, mlstmRecurrentRef } from '../../src/backend/ref/mlstm.js';
import { sliceS, mulberry } from './mlstm-util.js';

const be = await WasmBackend.create({ threads: 2 });
after(() => be.dispose());

const T = (c: GoldenCase, name: string) => new Tensor('f32', c.shape(name), c.f32(name));
function inputsOf(c: GoldenCase, p = ''): MlstmInputs {
  return { q: T(c, p + 'q'), k: T(c, p + 'k'), v: T(c, p + 'v'), i: T(c, p + 'i'), f: T(c, p + 'f') };
}
function checkState(c: GoldenCase, p: string, st: MlstmState | undefined) {
  assert.ok(st, `${p}: state returned`);
  assertGolden(c, p + '__c', st.c.data as Float32Array);
  assertGolden(c, p + '__n', st.n.data as Float32Array);
  assertGolden(c, p + '__m', st.m.data as Float32Array);
}
function chunkSizesOf(c: GoldenCase, base: string): number[] {
  return [...c.io.keys()].map((k) => new RegExp(`^${base}(\\d+)__h$`).exec(k)).filter((m) => m).map((m) => Number(m![1]));
}
const f32 = (t: Tensor) => t.data as Float32Array;

for (const name of ['mlstm_kernels_basic', 'mlstm_kernels_extreme_gates', 'mlstm_kernels_initial_states', 'mlstm_kernels_ragged']) {
  test(`wasm golden ${name}`, () => {
    const c = loadCase(name);
    const x = inputsOf(c);
    const initialState = c.has('c0') ? { c: T(c, 'c0'), n: T(c, 'n0'), m: T(c, 'm0') } : undefined;
    let checked = 0;
    const r = mlstmRecurrent(be, x, { initialState, returnState: true });
    assertGolden(c, 'recurrent__h', f32(r.h)); checkState(c, 'recurrent', r.state); checked += 4;
    if (c.has('parallel__h')) {
      const p = mlstmParallel(be, x, { returnVecs: true });
      assertGolden(c, 'parallel__h', f32(p.h)); checked++;
      if (c.has('parallel__vecN')) { assertGolden(c, 'parallel__vecN', f32(p.vecN!)); assertGolden(c, 'parallel__vecM', f32(p.vecM!)); checked += 2; }
      if (c.has('parallel_stablef__h')) { assertGolden(c, 'parallel_stablef__h', f32(p.h)); checked++; }
    }
    for (const cs of chunkSizesOf(c, 'chunkwise')) {
      const p = `chunkwise${cs}`;
      const o = mlstmChunkwise(be, x, { chunkSize: cs, initialState, returnState: true, returnVecs: true });
      assertGolden(c, p + '__h', f32(o.h)); checkState(c, p, o.state); checked += 4;
      if (c.has(p + '__vecN')) { assertGolden(c, p + '__vecN', f32(o.vecN!)); assertGolden(c, p + '__vecM', f32(o.vecM!)); checked += 2; }
    }
    for (const cs of chunkSizesOf(c, 'arbitrary')) {
      const p = `arbitrary${cs}`;
      const o = mlstmPrefill(be, x, { chunkSize: cs, initialState, returnState: true });
      assertGolden(c, p + '__h', f32(o.h)); checkState(c, p, o.state); checked += 4;
    }
    for (const cs of chunkSizesOf(c, 'padzeros')) { assertGolden(c, `padzeros${cs}__h`, f32(mlstmPrefill(be, x, { chunkSize: cs }).h)); checked++; }
    if (c.has('step__q')) {
      // copies: mlstmStep writes the new state back into JS tensors
      const Tc = (nm: string) => new Tensor('f32', c.shape(nm), c.f32(nm).slice());
      const st = { c: Tc('step__c0'), n: Tc('step__n0'), m: Tc('step__m0') };
      const cBefore = f32(st.c).slice();
      const s = mlstmStep(be, { q: T(c, 'step__q'), k: T(c, 'step__k'), v: T(c, 'step__v'), i: T(c, 'step__i'), f: T(c, 'step__f') }, st);
      assert.equal(s.state, st, 'step returns the state it updated');
      // again from the same start into a caller-provided output: same numbers
      const st2 = { c: be.upload(T(c, 'step__c0')), n: be.upload(T(c, 'step__n0')), m: be.upload(T(c, 'step__m0')) };
      const out = be.empty(c.shape('step__out_h'));
      const s2 = mlstmStep(be, { q: T(c, 'step__q'), k: T(c, 'step__k'), v: T(c, 'step__v'), i: T(c, 'step__i'), f: T(c, 'step__f') }, st2, { out });
      assert.equal(s2.h, out);
      assert.deepEqual(f32(out), f32(s.h));
      assert.deepEqual(f32(st2.c), f32(st.c));
      assert.notDeepEqual(f32(st.c), cBefore, 'state updated in place');
      assertGolden(c, 'step__out_h', f32(s.h)); assertGolden(c, 'step__out_c', f32(st.c));
      assertGolden(c, 'step__out_n', f32(st.n)); assertGolden(c, 'step__out_m', f32(st.m)); checked += 4;
    }
    const expected = Object.keys(c.meta.outputs ?? c.meta.tensors ?? {}).filter((k) => k.includes('__')).length;
    assert.equal(checked, expected, `${name}: checked ${checked} of ${expected} expected tensors`);
  });
}

test('wasm golden mlstm_kernels_siging (parallel, chunkwise, recurrent)', () => {
  const c = loadCase('mlstm_kernels_siging');
  let checked = 0;
  for (const prefix of ['', 'extreme__']) {
    const x = inputsOf(c, prefix);
    const S = c.shape(prefix + 'q')[2];
    const cs = [16, 8, 4, 2, 1].find((L) => S % L === 0)!;
    for (const norm of [0, 1]) {
      const h = f32(mlstmSigParallel(be, x, { normalize: norm === 1 }).h);
      const hc = f32(mlstmSigChunkwise(be, x, { normalize: norm === 1, chunkSize: cs }).h);
      const hr = f32(mlstmSigRecurrent(be, x, { normalize: norm === 1 }).h);
      for (const sf of [0, 1]) {
        const nm = `${prefix}siging_stablef${sf}_norm${norm}__h`;
        assertGolden(c, nm, h); assertGolden(c, nm, hc); assertGolden(c, nm, hr); checked++;
      }
    }
  }
  assert.equal(checked, 8);
});

// ---- random inputs: forms against each other and against the float64 reference ----

interface Rand { x: MlstmInputs; raw: { q: Float32Array; k: Float32Array; v: Float32Array; i: Float32Array; f: Float32Array } }
function randomInputs(seed: number, B: number, NH: number, S: number, DHQK: number, DHV: number, gate: number, fBias = 0): Rand {
  const r = mulberry(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const arr = (n: number, s: number, b = 0) => Float32Array.from({ length: n }, () => b + s * normal());
  const raw = {
    q: arr(B * NH * S * DHQK, 1), k: arr(B * NH * S * DHQK, 1), v: arr(B * NH * S * DHV, 1),
    i: arr(B * NH * S, gate), f: arr(B * NH * S, gate, fBias),
  };
  // clamp to |x| <= 30 (the stress range asked of the kernels)
  for (const g of [raw.i, raw.f]) for (let x = 0; x < g.length; x++) g[x] = Math.max(-30, Math.min(30, g[x]));
  const x = {
    q: new Tensor('f32', [B, NH, S, DHQK], raw.q), k: new Tensor('f32', [B, NH, S, DHQK], raw.k),
    v: new Tensor('f32', [B, NH, S, DHV], raw.v), i: new Tensor('f32', [B, NH, S], raw.i), f: new Tensor('f32', [B, NH, S], raw.f),
  };
  return { x, raw };
}
/** |a - e| <= tol * (1 + |e|) */
function relClose(label: string, a: ArrayLike<number>, e: ArrayLike<number>, tol: number) {
  assertClose(label, a, e, tol, tol);
}

for (const [gate, fBias, tol] of [[1, 2, 2e-4], [12, 0, 5e-3]] as const) {
  test(`wasm forms agree with the f64 reference (gate scale ${gate})`, () => {
    const B = 1, NH = 3, DHQK = 16, DHV = 12;
    for (const S of [1, 5, 16, 47, 100, 128]) {
      const { x, raw } = randomInputs(100 + S, B, NH, S, DHQK, DHV, gate, fBias);
      const d = { B, NH, S, DHQK, DHV };
      const ref = mlstmArbitraryRef(d, raw);
      const refRec = mlstmRecurrentRef(d, raw);
      relClose(`S=${S} ref arbitrary vs recurrent`, ref.h, refRec.h, 1e-9);
      const rec = mlstmRecurrent(be, x, { returnState: true });
      relClose(`S=${S} recurrent h`, f32(rec.h), ref.h, tol);
      relClose(`S=${S} recurrent C`, f32(rec.state!.c), ref.state!.c, tol);
      relClose(`S=${S} recurrent m`, f32(rec.state!.m), ref.state!.m, tol);
      for (const L of [16, 32, 64]) {
        const o = mlstmPrefill(be, x, { chunkSize: L, returnState: true });
        relClose(`S=${S} prefill L=${L} h`, f32(o.h), ref.h, tol);
        relClose(`S=${S} prefill L=${L} C`, f32(o.state!.c), ref.state!.c, tol);
        relClose(`S=${S} prefill L=${L} n`, f32(o.state!.n), ref.state!.n, tol);
        relClose(`S=${S} prefill L=${L} m`, f32(o.state!.m), ref.state!.m, tol);
        if (S % L === 0) relClose(`S=${S} chunkwise L=${L} h`, f32(mlstmChunkwise(be, x, { chunkSize: L }).h), ref.h, tol);
      }
      // step by step from a zero state
      const st = mlstmZeroState(be, { B, NH, DHQK, DHV });
      for (let t = 0; t < S; t++) {
        const one = (a: Float32Array, D: number) => {
          const out = new Float32Array(B * NH * D);
          for (let bh = 0; bh < B * NH; bh++) out.set(a.subarray((bh * S + t) * D, (bh * S + t + 1) * D), bh * D);
          return out;
        };
        const s = mlstmStep(be, {
          q: new Tensor('f32', [B, NH, DHQK], one(raw.q, DHQK)), k: new Tensor('f32', [B, NH, DHQK], one(raw.k, DHQK)),
          v: new Tensor('f32', [B, NH, DHV], one(raw.v, DHV)), i: new Tensor('f32', [B, NH, 1], one(raw.i, 1)), f: new Tensor('f32', [B, NH, 1], one(raw.f, 1)),
        }, st);
        relClose(`S=${S} step t=${t} h`, f32(s.h), sliceS(ref.h, B * NH, S, DHV, t, 1), tol);
      }
      relClose(`S=${S} steps C`, f32(st.c), ref.state!.c, tol);
      // parallel form: m starts at -inf instead of 0, the same unless exp(-m) is active
      const par = mlstmParallel(be, x);
      relClose(`S=${S} parallel h`, f32(par.h), mlstmParallelRef(d, raw).h, tol);
    }
  });
}

test('wasm state passing: two halves with carried state = whole (chunkwise, prefill, recurrent)', () => {
  const B = 2, NH = 2, S = 96, DHQK = 8, DHV = 20;
  const { x, raw } = randomInputs(9, B, NH, S, DHQK, DHV, 3, 1);
  const whole = mlstmChunkwise(be, x, { chunkSize: 32, returnState: true });
  const half = (t0: number, len: number): MlstmInputs => {
    const sl = (a: Float32Array, D: number, shape: number[]) => new Tensor('f32', shape, Float32Array.from(sliceS(a, B * NH, S, D, t0, len)));
    return {
      q: sl(raw.q, DHQK, [B, NH, len, DHQK]), k: sl(raw.k, DHQK, [B, NH, len, DHQK]), v: sl(raw.v, DHV, [B, NH, len, DHV]),
      i: sl(raw.i, 1, [B, NH, len]), f: sl(raw.f, 1, [B, NH, len]),
    };
  };
  const a = mlstmChunkwise(be, half(0, 64), { chunkSize: 32, returnState: true });
  const b = mlstmChunkwise(be, half(64, 32), { chunkSize: 32, initialState: a.state, returnState: true });
  const tol = 1e-5;
  relClose('chunkwise C', f32(b.state!.c), f32(whole.state!.c), tol);
  relClose('chunkwise n', f32(b.state!.n), f32(whole.state!.n), tol);
  relClose('chunkwise m', f32(b.state!.m), f32(whole.state!.m), tol);
  relClose('chunkwise h 2nd', f32(b.h), sliceS(f32(whole.h), B * NH, S, DHV, 64, 32), tol);
  // the initial state is not modified
  const aC = f32(a.state!.c).slice();
  const r = mlstmRecurrent(be, half(64, 32), { initialState: a.state, returnState: true });
  assert.deepEqual(f32(a.state!.c), aC);
  relClose('recurrent h 2nd', f32(r.h), sliceS(f32(whole.h), B * NH, S, DHV, 64, 32), 1e-4);
  const p1 = mlstmPrefill(be, half(0, 37), { returnState: true });
  const p2 = mlstmPrefill(be, half(37, 59), { initialState: p1.state, returnState: true });
  relClose('prefill 37+59 C', f32(p2.state!.c), f32(whole.state!.c), 1e-4);
  relClose('prefill 37+59 h', f32(p2.h), sliceS(f32(whole.h), B * NH, S, DHV, 37, 59), 1e-4);
  // mLSTMsig carries only (C, n)
  const sw = mlstmSigChunkwise(be, x, { chunkSize: 32, returnState: true });
  const s1 = mlstmSigChunkwise(be, half(0, 64), { chunkSize: 16, returnState: true });
  const s2 = mlstmSigRecurrent(be, half(64, 32), { initialState: s1.state, returnState: true });
  relClose('sig C', f32(s2.state!.c), f32(sw.state!.c), 1e-4);
  relClose('sig h 2nd', f32(s2.h), sliceS(f32(sw.h), B * NH, S, DHV, 64, 32), 1e-4);
  relClose('sig parallel vs ref', f32(mlstmSigParallel(be, x).h), mlstmSigParallelRef({ B, NH, S, DHQK, DHV }, raw).h, 1e-4);
});

test('wasm threads: 1 and 2 threads give the same result', () => {
  const { x } = randomInputs(5, 1, 4, 64, 32, 64, 2, 1);
  const a = mlstmChunkwise(be, x, { chunkSize: 32, threads: 1, returnState: true });
  const b = mlstmChunkwise(be, x, { chunkSize: 32, threads: 2, returnState: true });
  assert.deepEqual(f32(a.h), f32(b.h));
  assert.deepEqual(f32(a.state!.c), f32(b.state!.c));
});

test('wasm bad inputs name the argument and the shapes', () => {
  const { x } = randomInputs(1, 2, 3, 100, 16, 8, 1);
  const bad = (over: Partial<MlstmInputs>) => ({ ...x, ...over });
  assert.throws(() => mlstmChunkwise(be, bad({ k: Tensor.zeros([2, 3, 100, 8]) }), { chunkSize: 20 }),
    /mlstmChunkwise: k has shape \[2,3,100,8\], expected \[2,3,100,16\] \(B,NH,S,DHQK from q\)/);
  assert.throws(() => mlstmRecurrent(be, bad({ v: Tensor.zeros([2, 3, 99, 8]) })), /mlstmRecurrent: v has shape \[2,3,99,8\], expected \[2,3,100,DHV\]/);
  assert.throws(() => mlstmParallel(be, bad({ i: Tensor.zeros([2, 3, 100, 1]) })), /mlstmParallel: i has shape \[2,3,100,1\], expected \[2,3,100\]/);
  assert.throws(() => mlstmPrefill(be, bad({ f: Tensor.zeros([2, 3, 100], 'f64') })), /mlstmPrefill: f has dtype f64, expected f32/);
  assert.throws(() => mlstmChunkwise(be, x, { chunkSize: 64 }), /mlstmChunkwise: chunkSize 64 does not divide S=100/);
  assert.throws(() => mlstmPrefill(be, x, { chunkSize: 0 }), /chunkSize is 0, expected a positive integer/);
  assert.throws(() => mlstmPrefill(be, x, { initialState: { c: Tensor.zeros([2, 3, 8, 16]), n: Tensor.zeros([2, 3, 16]), m: Tensor.zeros([2, 3, 1]) } }),
    /mlstmPrefill: initialState.c has shape \[2,3,8,16\], expected \[2,3,16,8\]/);
  assert.throws(() => mlstmRecurrent(be, bad({ q: Tensor.zeros([2, 3, 16]) })), /mlstmRecurrent: q has shape \[2,3,16\], expected \[B,NH,S,DHQK\]/);
  const st = mlstmZeroState(be, { B: 2, NH: 3, DHQK: 16, DHV: 8 });
  assert.throws(() => mlstmStep(be, x, st), /mlstmStep: q has shape \[2,3,100,16\], expected \[B,NH,DHQK\]/);
  assert.throws(() => mlstmStep(be, { q: Tensor.zeros([2, 3, 16]), k: Tensor.zeros([2, 3, 16]), v: Tensor.zeros([2, 3, 8]), i: Tensor.zeros([2, 3, 1]), f: Tensor.zeros([2, 3, 1]) },
    { ...st, m: Tensor.zeros([2, 3, 2]) }), /mlstmStep: state.m has shape \[2,3,2\], expected \[2,3,1\]/);
  assert.throws(() => mlstmSigParallel(be, x, { eps: -1 }), /mlstmSigParallel: eps is -1/);
  const x1 = { q: Tensor.zeros([2, 3, 16]), k: Tensor.zeros([2, 3, 16]), v: Tensor.zeros([2, 3, 8]), i: Tensor.zeros([2, 3, 1]), f: Tensor.zeros([2, 3, 1]) };
  assert.throws(() => mlstmStep(be, x1, st, { out: be.empty([2, 3, 16]) }), /mlstmStep: out has shape \[2,3,16\], expected \[2,3,8\]/);
});

test('wasm odd head sizes (SIMD tails): DHQK=13, DHV=7, chunk 16, S=37', () => {
  const B = 2, NH = 1, S = 37, DHQK = 13, DHV = 7;
  const { x, raw } = randomInputs(77, B, NH, S, DHQK, DHV, 4, 1);
  const d = { B, NH, S, DHQK, DHV };
  const ref = mlstmArbitraryRef(d, raw, { chunkSize: 16 });
  const o = mlstmPrefill(be, x, { chunkSize: 16, returnState: true });
  relClose('odd prefill h', f32(o.h), ref.h, 2e-4);
  relClose('odd prefill C', f32(o.state!.c), ref.state!.c, 2e-4);
  relClose('odd recurrent h', f32(mlstmRecurrent(be, x).h), ref.h, 2e-4);
  relClose('odd parallel h', f32(mlstmParallel(be, x).h), mlstmParallelRef(d, raw).h, 2e-4);
  relClose('odd sig chunkwise', f32(mlstmSigChunkwise(be, x, { chunkSize: 37 }).h), mlstmSigParallelRef(d, raw).h, 2e-4);
});
