// One TiRex definition for training and inference: the model definition of
// src/models/tirex/network.ts, run with the golden checkpoint's weights as plain tape inputs,
// records nothing on the tape and gives the fast inference path's numbers (TiRex with the
// plain f32 recurrence), on the f32 tape (wasm kernels) and the f64 tape (reference).
// Sizes come from the fixture (tirex case).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape } from '../../src/autograd/tape.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { loadTiRexCheckpoint } from '../../src/models/tirex/weights.js';
import { tirexNetwork } from '../../src/models/tirex/network.js';
import { inputWeights } from '../../src/blocks/basic.js';

const c = loadCase('tirex');
let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 2 }); });
after(() => be.dispose());

test('tirexNetwork with plain weights == TiRex (f32 recurrence) on every token; nothing recorded; f64 tape agrees', async () => {
  const { config: cfg, weights } = await loadTiRexCheckpoint(join(c.dir, 'model.safetensors'));
  const model = new TiRex(cfg, weights, { backend: be, bf16: false });
  const names = [...c.io.keys()].filter((k) => /^context_\d+$/.test(k)).sort();
  assert.ok(names.length > 0, 'fixture has no context_ series');
  const series = names.map((n) => c.f32(n));
  const r = model.forwardTokens(series, 1, true);
  const B = series.length, T = r.numTokens, P = cfg.inputPatchSize, Q = cfg.quantiles.length, Pout = cfg.outputPatchSize;
  // token features as the inference model builds them: NaN -> nan_mask_value | observed bits
  const feats = new Float32Array(B * T * 2 * P);
  for (let i = 0; i < B * T; i++) {
    for (let p = 0; p < P; p++) {
      const v = r.tokens[i * P + p], nan = Number.isNaN(v);
      feats[i * 2 * P + p] = nan ? cfg.nanMaskValue : v;
      feats[i * 2 * P + P + p] = nan ? 0 : 1;
    }
  }
  const run = (t: Tape) => {
    const out = tirexNetwork(t, cfg, inputWeights(t, weights.tensors), t.input(new Tensor('f32', [B, T, 2 * P], feats)));
    assert.equal(t.length, 0, `${t.dtype} tape: an inference forward must record nothing`);
    assert.deepEqual([...out.shape], [B, T, Q * Pout]);
    return out.data;
  };
  const y32 = run(new Tape(be, 'f32'));
  const y64 = run(new Tape(null, 'f64'));
  let worst32 = 0, worst64 = 0;
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Q; q++) {
      for (let s = 0; s < T; s++) {
        for (let p = 0; p < Pout; p++) {
          const ref = r.quantilePreds[((b * Q + q) * r.outTokens + s) * Pout + p];
          const i = ((b * T + s) * Q + q) * Pout + p;
          worst32 = Math.max(worst32, Math.abs(y32[i] - ref) / (1 + Math.abs(ref)));
          worst64 = Math.max(worst64, Math.abs(y64[i] - y32[i]) / (1 + Math.abs(y32[i])));
        }
      }
    }
  }
  assert.ok(worst32 < 2e-5, `f32 model definition vs TiRex inference: worst relative difference ${worst32}`);
  assert.ok(worst64 < 1e-4, `f64 model definition vs f32: worst relative difference ${worst64}`);
  model.dispose();
});
