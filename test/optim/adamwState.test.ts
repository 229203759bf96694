import test from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Parameter } from '../../src/autograd/tape.js';
import { AdamW, paramGroups, Rng } from '../../src/optim/index.js';
import type { AdamWState } from '../../src/optim/index.js';

const f64 = (shape: number[], v: ArrayLike<number>) => new Tensor('f64', shape, Float64Array.from(v));
const values = (p: Parameter) => [...(p.value.data as Float64Array)];

/** w [2, 3] (decayed) and b [3] (no decay), from fixed values. */
function model(): Parameter[] {
  return [new Parameter(f64([2, 3], [0.5, -1, 2, 0.25, 1.5, -0.75]), 'w'), new Parameter(f64([3], [0.1, 0.2, -0.3]), 'b', false)];
}
function setGrads(ps: Parameter[], r: Rng): void {
  for (const p of ps) p.grad = f64([...p.shape], Array.from({ length: p.size }, () => r.normal()));
}

test('AdamW stateDict round-trip: an optimizer loaded from another takes identical steps', () => {
  const pa = model(), pb = model();
  const a = new AdamW(paramGroups(pa, 0.1), { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6 });
  const ga = new Rng(1);
  for (let s = 0; s < 3; s++) { setGrads(pa, ga); a.stepUpdate(); }
  const st = a.stateDict();
  assert.equal(st.step, 3);
  assert.deepEqual(st.groups, [{ params: ['w'], weightDecay: 0.1 }, { params: ['b'], weightDecay: 0 }]);
  assert.deepEqual(st.moments.w.shape, [2, 3]);
  assert.equal(st.moments.b.expAvg.length, 3);
  // different hyperparameters and decay before loading: the state brings a's
  const b = new AdamW(paramGroups(pb, 0.5), { lr: 1, beta1: 0.5, beta2: 0.5, eps: 1 });
  b.loadStateDict(st);
  assert.deepEqual({ ...b.stateDict(), moments: null }, { ...st, moments: null });
  for (let i = 0; i < 2; i++) (pb[i].value.data as Float64Array).set(pa[i].value.data as Float64Array);
  // the snapshot is a copy: a's later steps do not change it, nor what b loaded
  const w0 = [...st.moments.w.expAvg];
  const gb = new Rng(2), gc = new Rng(2);
  for (let s = 0; s < 4; s++) {
    setGrads(pa, gb); a.stepUpdate();
    setGrads(pb, gc); b.stepUpdate();
    for (let i = 0; i < 2; i++) assert.deepEqual(values(pb[i]), values(pa[i]), `step ${s} ${pa[i].name}`);
  }
  assert.deepEqual([...st.moments.w.expAvg], w0);
  assert.equal(b.step, 7);
  // and the moments really matter: a fresh optimizer with step 3 but zero moments diverges
  const pc = model();
  for (let i = 0; i < 2; i++) (pc[i].value.data as Float64Array).set(pa[i].value.data as Float64Array);
  const c = new AdamW(paramGroups(pc, 0.1), { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6 });
  c.loadStateDict({ ...a.stateDict(), moments: {} });
  const gd = new Rng(3), ge = new Rng(3);
  setGrads(pa, gd); a.stepUpdate(); setGrads(pc, ge); c.stepUpdate();
  assert.notDeepEqual(values(pc[0]), values(pa[0]));
});

test('AdamW.loadStateDict: missing, unknown or mis-shaped parameters are named; nothing changes on error', () => {
  const pa = model();
  const a = new AdamW(paramGroups(pa, 0.1), { lr: 0.01 });
  setGrads(pa, new Rng(4)); a.stepUpdate();
  const good = a.stateDict();
  const pb = model();
  const b = new AdamW(paramGroups(pb, 0.1), { lr: 0.01 });
  const before = b.stateDict();
  const bad = (st: AdamWState, re: RegExp) => { assert.throws(() => b.loadStateDict(st), re); assert.deepEqual(b.stateDict(), before); };
  bad({ ...good, moments: { ...good.moments, ghost: good.moments.b } }, /moments of 'ghost', but this optimizer has no parameter named 'ghost'/);
  bad({ ...good, moments: { ...good.moments, w: { ...good.moments.w, shape: [3, 2] } } }, /moments of 'w' have shape \[3,2\], the parameter has \[2, 3\]/);
  bad({ ...good, moments: { ...good.moments, b: { ...good.moments.b, expAvgSq: new Float64Array(2) } } }, /expAvgSq of 'b' is a Float64Array of 2 values, expected a Float64Array of 3 values/);
  bad({ ...good, groups: [{ params: [], weightDecay: 0.1 }, good.groups[1]] }, /groups\[0\].params\[0\] is missing in the state, 'w' in this optimizer/);
  bad({ ...good, groups: [{ params: ['w', 'extra'], weightDecay: 0.1 }, good.groups[1]] }, /groups\[0\].params\[1\] is 'extra' in the state, absent in this optimizer/);
  bad({ ...good, groups: [good.groups[0]] }, /state has 1 parameter groups, this optimizer 2/);
  bad({ ...good, step: -1 }, /step = -1/);
  bad({ ...good, beta2: 1 }, /beta2 = 1, expected a number in \[0, 1\)/);
  // unnamed parameters cannot be keyed
  const anon = new AdamW([new Parameter(f64([1], [0]))], { lr: 0.1 });
  assert.throws(() => anon.stateDict(), /groups\[0\].params\[0\] has no name/);
  b.loadStateDict(good);
  assert.equal(b.step, 1);
});
