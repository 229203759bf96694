// The wasm SIMD 2D scan kernels (src/backend/wasm/assembly/plstm.ts) against their float64
// reference (src/backend/ref/plstm.ts): outputs and every input gradient, on one and two threads,
// for single corners, the fused four orientations, both chiralities, with and without the direct term.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { scan2d, Scan2dOrientation } from '../../src/xlstm/plstm/index.js';
import { randF64 } from '../autograd/util.js';
import { scan2dInputs } from './plstmInputs.js';
import { assertClose } from '../helpers/golden.js';

let bes: WasmBackend[];
before(async () => { bes = [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })]; });
after(() => bes.forEach((b) => b.dispose()));

const dims = { B: 2, X: 5, Y: 3, H: 3, DK: 4, DV: 8 };
function inputs(seed: number): Tensor[] {
  return scan2dInputs(dims, seed);
}

function run(t: Tape, ins: Tensor[], orients: Scan2dOrientation[], drop: { tDL?: boolean; tRU?: boolean; d?: boolean }, reference: boolean): { y: Var; xs: Var[] } {
  const xs = ins.map((x, i) => t.input(x, true, `in${i}`));
  const y = scan2d(t, { q: xs[0], k: xs[1], v: xs[2], sR: xs[3], sD: xs[4], tRL: xs[5], tDU: xs[6], tDL: drop.tDL ? null : xs[7], tRU: drop.tRU ? null : xs[8], mL: xs[9], mU: xs[10], d: drop.d ? null : xs[11] }, orients, { reference });
  const w = t.input(randF64([...y.shape], 77));
  t.backward(ag.sumAll(t, ag.mul(t, y, w)));
  return { y, xs };
}

const fused: Scan2dOrientation[] = [0, 1, 2, 3].map((o) => ({ gateOffset: o, gateStride: 4, flipX: o % 2 === 1, flipY: o >= 2 }));
const cases: [string, Scan2dOrientation[], { tDL?: boolean; tRU?: boolean; d?: boolean }][] = [
  ['corner 0', [{ gateOffset: 0, gateStride: 1, flipX: false, flipY: false }], {}],
  ['corner flip x, no direct', [{ gateOffset: 3, gateStride: 1, flipX: true, flipY: false }], { d: true }],
  ['corner flip x and y', [{ gateOffset: 2 * dims.H, gateStride: 1, flipX: true, flipY: true }], {}],
  ['fused, chirality L', fused, { tDL: true }],
  ['fused, chirality R', fused, { tRU: true }],
  ['fused, all transitions', fused, {}],
];

test('plstm2d wasm kernels equal the float64 reference: outputs and all gradients, 1 and 2 threads', () => {
  const ins = inputs(3);
  const names = ['q', 'k', 'v', 'sR', 'sD', 'tRL', 'tDU', 'tDL', 'tRU', 'mL', 'mU', 'd'];
  for (const be of bes) {
    for (const [name, orients, drop] of cases) {
      const ref = run(new Tape(be, 'f32'), ins, orients, drop, true);
      const t = new Tape(be, 'f32');
      const got = run(t, ins, orients, drop, false);
      assertClose(`${name} (${be.threads} threads) y`, got.y.data as ArrayLike<number>, ref.y.data as ArrayLike<number>, 2e-5, 1e-5);
      let checked = 0;
      got.xs.forEach((v, i) => {
        const r = ref.xs[i];
        if (!r.grad) { assert.equal(v.grad, null, `${name} ${names[i]}: unexpected gradient`); return; }
        assert.ok(v.grad, `${name} ${names[i]}: no gradient`);
        assertClose(`${name} (${be.threads} threads) d${names[i]}`, v.grad!.data as ArrayLike<number>, r.grad.data as ArrayLike<number>, 5e-5, 1e-4);
        checked++;
      });
      assert.ok(checked >= 9, `${name}: ${checked} gradients compared`);
    }
  }
});

test('plstm2d wasm forward without gradients (one state buffer shared by the orientations) equals the reference', () => {
  const ins = inputs(5);
  for (const be of bes) {
    for (const [name, orients, drop] of cases) {
      const outs = [true, false].map((reference) => {
        const t = new Tape(be, 'f32');
        const xs = ins.map((x) => t.input(x, false));
        return scan2d(t, { q: xs[0], k: xs[1], v: xs[2], sR: xs[3], sD: xs[4], tRL: xs[5], tDU: xs[6], tDL: drop.tDL ? null : xs[7], tRU: drop.tRU ? null : xs[8], mL: xs[9], mU: xs[10], d: drop.d ? null : xs[11] }, orients, { reference });
      });
      assertClose(`${name} (${be.threads} threads) no-grad y`, outs[1].data as ArrayLike<number>, outs[0].data as ArrayLike<number>, 2e-5, 1e-5);
    }
  }
});
