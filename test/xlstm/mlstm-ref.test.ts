// Golden parity of the float64 mLSTM reference (src/backend/ref/mlstm.ts) against the
// official mlstm_kernels outputs, plus cross-checks between its forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCase, assertGolden, assertClose, GoldenCase } from '../helpers/golden.js';
import {
  mlstmStepRef, mlstmRecurrentRef, mlstmParallelRef, mlstmChunkwiseRef, mlstmArbitraryRef, mlstmArbitrarySplit,
  mlstmSigParallelRef, mlstmSigRecurrentRef, mlstmSigChunkwiseRef, MlstmRefDims, MlstmRefInputs,
} from '../../src/backend/ref/mlstm.js';
import { sliceS, mulberry } from './mlstm-util.js';

function dimsOf(c: GoldenCase, prefix = ''): MlstmRefDims {
  const [B, NH, S, DHQK] = c.shape(prefix + 'q');
  const DHV = c.shape(prefix + 'v')[3];
  return { B, NH, S, DHQK, DHV };
}
function inputsOf(c: GoldenCase, prefix = ''): MlstmRefInputs {
  return { q: c.f32(prefix + 'q'), k: c.f32(prefix + 'k'), v: c.f32(prefix + 'v'), i: c.f32(prefix + 'i'), f: c.f32(prefix + 'f') };
}
function checkState(c: GoldenCase, p: string, st: { c: Float64Array; n: Float64Array; m: Float64Array } | undefined) {
  assert.ok(st);
  assertGolden(c, p + '__c', st.c);
  assertGolden(c, p + '__n', st.n);
  assertGolden(c, p + '__m', st.m);
}
/** Every expected tensor named `<prefix>__*` the case has must be checked by the caller. */
function chunkSizesOf(c: GoldenCase, base: string): number[] {
  return [...c.io.keys()].map((k) => new RegExp(`^${base}(\\d+)__h$`).exec(k)).filter((m) => m).map((m) => Number(m![1]));
}

for (const name of ['mlstm_kernels_basic', 'mlstm_kernels_extreme_gates', 'mlstm_kernels_initial_states', 'mlstm_kernels_ragged']) {
  test(`ref golden ${name}`, () => {
    const c = loadCase(name);
    const d = dimsOf(c);
    const x = inputsOf(c);
    const init = c.has('c0') ? { c: c.f32('c0'), n: c.f32('n0'), m: c.f32('m0') } : undefined;
    let checked = 0;
    const r = mlstmRecurrentRef(d, x, { initialState: init });
    assertGolden(c, 'recurrent__h', r.h); checkState(c, 'recurrent', r.state); checked += 4;
    if (c.has('parallel__h')) {
      const p = mlstmParallelRef(d, x);
      assertGolden(c, 'parallel__h', p.h); checked++;
      if (c.has('parallel__vecN')) { assertGolden(c, 'parallel__vecN', p.vecN!); assertGolden(c, 'parallel__vecM', p.vecM!); checked += 2; }
    }
    if (c.has('parallel_stablef__h')) { assertGolden(c, 'parallel_stablef__h', mlstmParallelRef(d, x, { stablef: true }).h); checked++; }
    for (const cs of chunkSizesOf(c, 'chunkwise')) {
      const p = `chunkwise${cs}`;
      const o = mlstmChunkwiseRef(d, x, { chunkSize: cs, initialState: init });
      assertGolden(c, p + '__h', o.h); checkState(c, p, o.state); checked += 4;
      if (c.has(p + '__vecN')) { assertGolden(c, p + '__vecN', o.vecN!); assertGolden(c, p + '__vecM', o.vecM!); checked += 2; }
    }
    for (const cs of chunkSizesOf(c, 'arbitrary')) {
      const p = `arbitrary${cs}`;
      const o = mlstmArbitraryRef(d, x, { chunkSize: cs, initialState: init });
      assertGolden(c, p + '__h', o.h); checkState(c, p, o.state); checked += 4;
    }
    // zero padding to a multiple of the chunk changes nothing for the first S outputs
    for (const cs of chunkSizesOf(c, 'padzeros')) { assertGolden(c, `padzeros${cs}__h`, mlstmArbitraryRef(d, x, { chunkSize: cs }).h); checked++; }
    if (c.has('step__q')) {
      const [B, NH, DHQK] = c.shape('step__q');
      const DHV = c.shape('step__v')[2];
      const s = mlstmStepRef({ B, NH, DHQK, DHV },
        { q: c.f32('step__q'), k: c.f32('step__k'), v: c.f32('step__v'), i: c.f32('step__i'), f: c.f32('step__f') },
        { c: c.f32('step__c0'), n: c.f32('step__n0'), m: c.f32('step__m0') });
      assertGolden(c, 'step__out_h', s.h); assertGolden(c, 'step__out_c', s.state.c);
      assertGolden(c, 'step__out_n', s.state.n); assertGolden(c, 'step__out_m', s.state.m); checked += 4;
    }
    const expected = Object.keys(c.meta.outputs ?? c.meta.tensors ?? {}).filter((k) => k.includes('__')).length;
    assert.equal(checked, expected, `${name}: checked ${checked} of ${expected} expected tensors`);
  });
}

test('ref golden mlstm_kernels_siging', () => {
  const c = loadCase('mlstm_kernels_siging');
  let checked = 0;
  for (const prefix of ['', 'extreme__']) {
    const d = dimsOf(c, prefix), x = inputsOf(c, prefix);
    for (const norm of [0, 1]) {
      const h = mlstmSigParallelRef(d, x, { normalize: norm === 1 }).h;
      for (const sf of [0, 1]) { assertGolden(c, `${prefix}siging_stablef${sf}_norm${norm}__h`, h); checked++; }
      // the recurrent and chunkwise forms are the same function
      const tol = 1e-9 * Math.max(1, ...Array.from(h, Math.abs));
      assertClose(`sig recurrent norm${norm} ${prefix}`, mlstmSigRecurrentRef(d, x, { normalize: norm === 1 }).h, h, tol);
      assertClose(`sig chunkwise16 norm${norm} ${prefix}`, mlstmSigChunkwiseRef(d, x, { normalize: norm === 1, chunkSize: 16 }).h, h, tol);
    }
  }
  assert.equal(checked, 8);
});

test('ref arbitrary split follows the official wrapper', () => {
  assert.deepEqual(mlstmArbitrarySplit(100, 64), [[0, 64, 64], [64, 96, 32], [96, 100, 0]]);
  assert.deepEqual(mlstmArbitrarySplit(100, 16), [[0, 96, 16], [96, 100, 0]]);
  assert.deepEqual(mlstmArbitrarySplit(15, 64), [[0, 15, 0]]);
  assert.deepEqual(mlstmArbitrarySplit(128, 64), [[0, 128, 64]]);
});

test('ref sig state passing: two halves = whole', () => {
  const d = { B: 1, NH: 2, S: 32, DHQK: 8, DHV: 4 };
  const rnd = mulberry(7);
  const mk = (n: number, s = 1) => Float64Array.from({ length: n }, () => s * (rnd() * 2 - 1));
  const BH = 2;
  const x = { q: mk(BH * 32 * 8), k: mk(BH * 32 * 8), v: mk(BH * 32 * 4), i: mk(BH * 32, 5), f: mk(BH * 32, 5) };
  const whole = mlstmSigChunkwiseRef(d, x, { chunkSize: 8 });
  const half = (t0: number) => ({
    q: sliceS(x.q, BH, 32, 8, t0, 16), k: sliceS(x.k, BH, 32, 8, t0, 16), v: sliceS(x.v, BH, 32, 4, t0, 16),
    i: sliceS(x.i, BH, 32, 1, t0, 16), f: sliceS(x.f, BH, 32, 1, t0, 16),
  });
  const d2 = { ...d, S: 16 };
  const a = mlstmSigChunkwiseRef(d2, half(0), { chunkSize: 8 });
  const b = mlstmSigRecurrentRef(d2, half(16), { initialState: a.state });
  assertClose('sig C', b.state.c, whole.state.c, 1e-12);
  assertClose('sig h second half', b.h, sliceS(whole.h, BH, 32, 4, 16, 16), 1e-12);
});


test('ref forms agree on random inputs with extreme gates, ragged S, S = 1 and carried state', () => {
  const rnd = mulberry(11);
  const B = 1, NH = 2, DHQK = 8, DHV = 6, BH = B * NH;
  for (const gate of [1, 15]) {
    for (const S of [1, 16, 48, 100]) {
      const mk = (n: number, s = 1, b = 0) => Float64Array.from({ length: n }, () => Math.max(-30, Math.min(30, b + s * (rnd() * 2 - 1) * 1.7)));
      const x = { q: mk(BH * S * DHQK), k: mk(BH * S * DHQK), v: mk(BH * S * DHV), i: mk(BH * S, gate), f: mk(BH * S, gate, gate === 1 ? 2 : 0) };
      const d = { B, NH, S, DHQK, DHV };
      const rec = mlstmRecurrentRef(d, x);
      const scaleOf = (a: Float64Array) => 1e-10 * Math.max(1, ...Array.from(a, Math.abs));
      for (const L of [16, 32, 64]) {
        const o = mlstmArbitraryRef(d, x, { chunkSize: L });
        assertClose(`g${gate} S=${S} arbitrary${L} h`, o.h, rec.h, scaleOf(rec.h));
        assertClose(`g${gate} S=${S} arbitrary${L} C`, o.state!.c, rec.state!.c, scaleOf(rec.state!.c));
        assertClose(`g${gate} S=${S} arbitrary${L} m`, o.state!.m, rec.state!.m, 1e-9);
        if (S % L === 0) assertClose(`g${gate} S=${S} chunkwise${L} h`, mlstmChunkwiseRef(d, x, { chunkSize: L }).h, rec.h, scaleOf(rec.h));
      }
      if (S === 1) {
        const s = mlstmStepRef({ B, NH, DHQK, DHV }, x, { c: new Float64Array(BH * DHQK * DHV), n: new Float64Array(BH * DHQK), m: new Float64Array(BH) });
        assertClose('step = recurrent S=1', s.h, rec.h, 1e-12);
      }
      if (gate === 1) {
        // m = -inf (parallel) vs m = 0 (recurrent) only matters through eps and the exp(-m) branch
        assertClose(`S=${S} parallel vs recurrent`, mlstmParallelRef(d, x).h, rec.h, 1e-5 * Math.max(1, ...Array.from(rec.h, Math.abs)));
        assertClose(`S=${S} stablef vs parallel`, mlstmParallelRef(d, x, { stablef: true }).h, mlstmParallelRef(d, x).h, 1e-10);
      }
      if (S >= 48) {
        // two parts with the state carried = the whole
        const cut = 32;
        const part = (t0: number, len: number) => ({
          q: sliceS(x.q, BH, S, DHQK, t0, len), k: sliceS(x.k, BH, S, DHQK, t0, len), v: sliceS(x.v, BH, S, DHV, t0, len),
          i: sliceS(x.i, BH, S, 1, t0, len), f: sliceS(x.f, BH, S, 1, t0, len),
        });
        const a = mlstmChunkwiseRef({ ...d, S: cut }, part(0, cut), { chunkSize: 16 });
        const b = mlstmArbitraryRef({ ...d, S: S - cut }, part(cut, S - cut), { chunkSize: 64, initialState: a.state });
        assertClose(`g${gate} S=${S} carried C`, b.state!.c, rec.state!.c, scaleOf(rec.state!.c));
        assertClose(`g${gate} S=${S} carried h`, b.h, sliceS(rec.h, BH, S, DHV, cut, S - cut), scaleOf(rec.h));
      }
    }
  }
});
