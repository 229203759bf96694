// pLSTM layers against the official code (golden cases plstm_1d, plstm_2d): outputs, the loss
// L = sum(dL_dy * y), dL/dx and every parameter gradient, on the float64 reference tape (against
// io_f64 / grads_f64 with the float64 tolerances) and on the f32 tape (against io / grads), in
// both forms of each kernel. Every size, variant and option comes from the fixture files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadCase, assertGolden, assertClose, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import {
  plstm1d, plstm2d, plstm1dConfigFromJson, plstm2dConfigFromJson, plstmParamsFromTensors, PLstmParams, PLstm2dConfig,
  defaultPlstm1dConfig, defaultPlstm2dConfig, initPlstmParams, plstmParamShapes,
} from '../../src/xlstm/plstm/index.js';
import { atol64, golden64, gradTensors, gradTol, modelTensors } from './plstm-util.js';

const c1: GoldenCase = loadCase('plstm_1d');
const c2: GoldenCase = loadCase('plstm_2d');
const g1 = golden64(c1), g2 = golden64(c2);
const m1 = modelTensors(c1), m2 = modelTensors(c2);
const gr1 = gradTensors(c1), gr2 = gradTensors(c2);

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 1 }); });
after(() => be.dispose());

function io(c: GoldenCase, name: string): Tensor { return new Tensor('f32', c.shape(name), c.f32(name)); }
function tape(dtype: 'f32' | 'f64'): Tape { return dtype === 'f64' ? new Tape(null, 'f64') : new Tape(be, 'f32'); }

/** Compares every parameter gradient (official names) and returns how many were checked. */
function checkParamGrads(c: GoldenCase, p: PLstmParams, prefix: string, dtype: 'f32' | 'f64', g64: Map<string, Float64Array>, g32: Map<string, Float32Array>): number {
  let n = 0;
  for (const [name, v] of Object.entries(p)) {
    const key = prefix + name, tol = gradTol(c, key);
    assert.ok(v.grad, `${c.name} ${key}: no gradient`);
    const got = v.grad!.data as ArrayLike<number>;
    if (dtype === 'f64') assertClose(`${c.name} f64 grad ${key}`, got, g64.get(key)!, tol.atol64);
    else assertClose(`${c.name} f32 grad ${key}`, got, g32.get(key)!, tol.atol, tol.rtol);
    n++;
  }
  return n;
}

function expect(c: GoldenCase, g: { io: Map<string, Float64Array> }, dtype: 'f32' | 'f64', name: string, v: Var | ArrayLike<number>): void {
  const data: ArrayLike<number> = v instanceof Var ? v.data : v;
  if (dtype === 'f64') {
    const e = g.io.get(name);
    assert.ok(e, `${c.name}: no ${name} in io_f64`);
    assertClose(`${c.name} f64 ${name}`, data, e!, atol64(c, name));
  } else assertGolden(c, name, data);
}

/** Chunk size of the chunked variant, from its producer note ("config.levels=2"); else a quarter of S. */
function chunkedLevels(S: number): number {
  const m = /levels=(\d+)/.exec(String(c1.meta.outputs?.chunked__y?.produced_by ?? ''));
  return m ? 1 << Number(m[1]) : Math.max(1, S >> 2);
}

for (const dtype of ['f64', 'f32'] as const) {
  for (const form of ['recurrent', 'chunkwise'] as const) {
    test(`plstm_1d ${dtype} ${form}: y, L, grad_x and parameter gradients, C_last, initial-state variant, chunked variant`, () => {
      const cfg = plstm1dConfigFromJson(c1.config);
      const S = c1.shape('x')[1];
      const t = tape(dtype);
      const x = t.input(io(c1, 'x'), true, 'x');
      const p = plstmParamsFromTensors(t, cfg, m1, { trainable: true });
      const { y, state } = plstm1d(t, x, p, cfg, { form, chunkSize: form === 'chunkwise' ? Math.max(1, S >> 1) : undefined });
      expect(c1, g1, dtype, 'y', y);
      expect(c1, g1, dtype, 'C_last', state);
      const L = ag.sumAll(t, ag.mul(t, y, t.input(io(c1, 'dL_dy'))));
      expect(c1, g1, dtype, 'L', L);
      t.backward(L);
      expect(c1, g1, dtype, "grad_x", x.grad!.data as ArrayLike<number>);
      if (dtype === 'f64') assertClose("plstm_1d f64 grad_x", x.grad!.data as ArrayLike<number>, g1.io.get('grad_x')!, atol64(c1, 'grad_x'));
      assert.equal(checkParamGrads(c1, p, '', dtype, g1.grads, gr1), gr1.size, 'every stored gradient is checked');

      const t2 = tape(dtype);
      const p2 = plstmParamsFromTensors(t2, cfg, m1);
      const st = plstm1d(t2, t2.input(io(c1, 'x')), p2, cfg, { form, initialState: t2.input(io(c1, 'state__C0')) });
      expect(c1, g1, dtype, 'state__y', st.y);
      expect(c1, g1, dtype, 'state__C_last', st.state);
      const ch = plstm1d(t2, t2.input(io(c1, 'x')), p2, cfg, { form: 'chunkwise', chunkSize: chunkedLevels(S) });
      expect(c1, g1, dtype, 'chunked__y', ch.y);
    });
  }
}

const variants = Object.keys(c2.config);

for (const dtype of ['f64', 'f32'] as const) {
  for (const form of ['recurrent', 'parallel'] as const) {
    for (const vname of variants) {
      test(`plstm_2d ${vname} ${dtype} ${form}: y, L, grad_x and parameter gradients`, () => {
        const cfg: PLstm2dConfig = plstm2dConfigFromJson(c2.config[vname], vname);
        const t = tape(dtype);
        const x = t.input(io(c2, 'x'), true, 'x');
        const p = plstmParamsFromTensors(t, cfg, m2, { prefix: `${vname}.`, trainable: true });
        const y = plstm2d(t, x, p, cfg, { form });
        expect(c2, g2, dtype, `${vname}__y`, y);
        const L = ag.sumAll(t, ag.mul(t, y, t.input(io(c2, `${vname}__dL_dy`))));
        expect(c2, g2, dtype, `${vname}__L`, L);
        t.backward(L);
        expect(c2, g2, dtype, `${vname}__grad_x`, x.grad!.data as ArrayLike<number>);
        const n = checkParamGrads(c2, p, `${vname}.`, dtype, g2.grads, gr2);
        assert.equal(n, [...gr2.keys()].filter((k) => k.startsWith(`${vname}.`)).length, 'every stored gradient of the variant is checked');
      });
    }
  }
}

test('pLSTM default configs equal the official defaults in the fixtures; parameter names and shapes equal the model files', () => {
  const cfg1 = plstm1dConfigFromJson(c1.config);
  const d1 = defaultPlstm1dConfig({ inputDim: cfg1.inputDim, numHeads: cfg1.numHeads, JT: cfg1.JT });
  assert.deepEqual({ ...d1, levels: cfg1.levels }, cfg1);
  const shapes1 = plstmParamShapes(cfg1);
  assert.deepEqual(Object.keys(shapes1).sort(), [...m1.keys()].sort());
  for (const [k, sh] of Object.entries(shapes1)) assert.deepEqual(sh, m1.get(k)!.shape, k);
  for (const vname of variants) {
    const cfg = plstm2dConfigFromJson(c2.config[vname], vname);
    const d = defaultPlstm2dConfig({ inputDim: cfg.inputDim, numHeads: cfg.numHeads, mode: cfg.mode, fused: cfg.fused, chirality: cfg.chirality });
    assert.deepEqual({ ...d, levels: cfg.levels }, cfg, vname);
    const shapes = plstmParamShapes(cfg);
    assert.deepEqual(Object.keys(shapes).map((k) => `${vname}.${k}`).sort(), [...m2.keys()].filter((k) => k.startsWith(`${vname}.`)).sort(), vname);
    for (const [k, sh] of Object.entries(shapes)) assert.deepEqual(sh, m2.get(`${vname}.${k}`)!.shape, `${vname}.${k}`);
    // the official initialisation: gates ~ sigmoid(-5), eigenvalue bias 1, norm scale 1, every name present
    const init = initPlstmParams(cfg, 1);
    assert.deepEqual(Object.keys(init).sort(), Object.keys(shapes).sort());
    const src = init[cfg.mode === 'P' ? 'source.bias' : 'source_r.bias'].data as Float32Array;
    assert.ok(src.every((v) => v === -5));
    assert.ok((init['mhnorm.scale'].data as Float32Array).every((v) => v === 1));
    const qw = init['query.weight'].data as Float32Array;
    const std = Math.sqrt(qw.reduce((a, v) => a + v * v, 0) / qw.length), want = Math.sqrt(2 / (5 * cfg.inputDim / cfg.query.subHeads));
    assert.ok(std > 0.5 * want && std < 1.5 * want, `query.weight std ${std}, SmallInit ${want}`);
  }
});
