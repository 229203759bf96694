// The pLSTM vision model against the official pLSTMVisionModel (golden case plstm_vision):
// config mirrored key by key, the weight table = the official state_dict, and every stage
// (patch + position embedding, interpolated embedding at the larger size, blocks, norm,
// pooling, logits, loss, parameter gradients) on the f32 tape (float32 tolerances of meta.json)
// and on the f64 tape (io_f64 with the float64 tolerances). Sizes come from the fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCase, assertClose, assertGolden } from '../helpers/golden.js';
import { parseSafetensors } from '../../src/io/safetensors.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { plstmVisionConfigFromJson, plstmVisionOfficialJson } from '../../src/models/plstmVision/config.js';
import { plstmVisionTable, plstmVisionWeightTable, loadByTable } from '../../src/models/plstmVision/weights.js';
import { visionEmbed, visionTail, plstmVisionForward } from '../../src/models/plstmVision/model.js';
import { ConfigError, InputError } from '../../src/errors.js';

const c = loadCase('plstm_vision');
const io64 = parseSafetensors(readFileSync(join(c.dir, 'io_f64.safetensors')), { source: 'io_f64' });
const cfg = plstmVisionConfigFromJson(c.config);
const model = c.model();
const be = await WasmBackend.create({ threads: 1 });
const f64 = (n: string) => io64.read(n).data as Float64Array;
const atolF64 = (n: string): number => c.meta.outputs[n].recommended_atol_f64;

function weightVars(t: Tape): Map<string, Var> {
  const w = new Map<string, Var>();
  for (const [k, v] of model) w.set(k, t.input(new Tensor('f32', v.shape, v.data as Float32Array)));
  return w;
}
const input = (t: Tape, n: string) => t.input(new Tensor('f32', c.shape(n), c.f32(n)));
// golden names of the two image sizes: '' (config resolution) and 'large__'
const SIZES = ['', 'large__'].filter((p) => c.has(`${p}pixels`));

test('config: every official key read; the official JSON written back equals the golden config.json', () => {
  assert.equal(cfg.dim, c.meta.dims.dim);
  assert.equal(cfg.numClasses, c.shape('logits')[1]);
  const again = plstmVisionOfficialJson({
    dim: cfg.dim, numHeads: cfg.numHeads, patchSize: cfg.patchSize, numBlocks: cfg.numBlocks, numClasses: cfg.numClasses,
    resolution: cfg.resolution, numChannels: cfg.numChannels, pooling: cfg.pooling, blockMode: cfg.blocks[0]?.blockMode as 'PD',
  });
  assert.deepEqual(again, c.config);
  assert.throws(() => plstmVisionConfigFromJson({ ...c.config, pathc_size: 4 }), (e: Error) => e instanceof ConfigError && /pathc_size/.test(e.message));
  assert.throws(() => plstmVisionConfigFromJson({ ...c.config, seqlens: [3, 3] }), (e: Error) => e instanceof ConfigError && /seqlens/.test(e.message));
  assert.throws(() => plstmVisionConfigFromJson({ ...c.config, pooling: 'cls' }), (e: Error) => e instanceof ConfigError && /pooling/.test(e.message));
});

test('weight table = the official state_dict (names and shapes); strict loading names the bad tensor', () => {
  const table = plstmVisionWeightTable(cfg);
  assert.deepEqual([...table.keys()].sort(), [...model.keys()].sort());
  for (const [k, s] of table) assert.deepEqual(s, model.get(k)!.shape, k);
  const asSource = (m: Map<string, { shape: number[]; data: unknown }>) => ({
    source: 'model.safetensors', names: () => [...m.keys()], shape: (n: string) => m.get(n)!.shape,
    read: (n: string) => new Tensor('f32', m.get(n)!.shape, m.get(n)!.data as Float32Array),
  });
  const loaded = loadByTable(plstmVisionTable(cfg), asSource(model), 'pLSTM vision');
  assert.equal(loaded.size, table.size);
  const broken = new Map(model);
  broken.set('head.bias', { ...model.get('head.bias')!, shape: [cfg.numClasses + 1] });
  assert.throws(() => loadByTable(plstmVisionTable(cfg), asSource(broken), 'pLSTM vision'), (e: Error) => e instanceof ConfigError && /head\.bias/.test(e.message));
  broken.delete('norm.scale');
  assert.throws(() => loadByTable(plstmVisionTable(cfg), asSource(broken), 'pLSTM vision'), (e: Error) => /missing: norm\.scale/.test(e.message));
});

for (const dt of ['f32', 'f64'] as const) {
  test(`${dt} tape: patch + position embedding (bicubic at the larger size) equal the official patches`, () => {
    for (const p of SIZES) {
      const t = new Tape(dt === 'f32' ? be : null, dt);
      const col = new Map<string, Var>();
      visionEmbed(t, cfg, weightVars(t), input(t, `${p}pixels`), col);
      const check = (name: string, v: Var) => (dt === 'f32' ? assertGolden(c, name, v.data) : assertClose(`${name} (f64)`, v.data, f64(name), atolF64(name)));
      check(`${p}patches`, col.get('patches')!);
      if (c.has(`${p}pos_embed`)) check(`${p}pos_embed`, col.get('pos_embed')!);
    }
  });

  test(`${dt} tape: final norm, corners pooling, head and loss from the golden block output`, () => {
    for (const p of SIZES) {
      const t = new Tape(dt === 'f32' ? be : null, dt);
      const col = new Map<string, Var>();
      // the last stored block output (block<k>_out numbers the PostUp blocks in order)
      let k = 0;
      while (c.has(`${p}block${k + 1}_out`)) k++;
      const last = `${p}block${k}_out`;
      const logits = visionTail(t, cfg, weightVars(t), input(t, last), col);
      // the input is the f32-rounded golden block output: float32 tolerances on both tapes
      assertGolden(c, `${p}norm_out`, col.get('norm_out')!.data);
      assertGolden(c, `${p}pooled`, col.get('pooled')!.data);
      assertGolden(c, `${p}logits`, logits.data);
      if (p === '') {
        const labels = Array.from(c.io.get('labels')!.data as BigInt64Array, Number);
        assertGolden(c, 'loss', ag.crossEntropy(t, logits, labels).data);
      }
    }
  });
}

test('bad pixels: wrong channel count or a size that is not a multiple of the patch', () => {
  const t = new Tape(be, 'f32');
  const P = cfg.patchSize, C = cfg.numChannels;
  const mk = (shape: number[]) => t.input(new Tensor('f32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1))));
  assert.throws(() => visionEmbed(t, cfg, weightVars(t), mk([1, C + 1, 2 * P, 2 * P])), (e: Error) => e instanceof InputError && /channels/.test(e.message));
  assert.throws(() => visionEmbed(t, cfg, weightVars(t), mk([1, C, 2 * P + 1, 2 * P])), (e: Error) => e instanceof InputError && /multiples of the patch size/.test(e.message));
});

const grads32 = parseSafetensors(readFileSync(join(c.dir, 'grads.safetensors')), { source: 'grads' });
const grads64 = parseSafetensors(readFileSync(join(c.dir, 'grads_f64.safetensors')), { source: 'grads_f64' });

for (const dt of ['f32', 'f64'] as const) {
  test(`${dt} tape: the whole model (blocks, logits at both sizes, loss) and d loss / d every parameter`, () => {
    const nb = cfg.numBlocks;
    for (const p of SIZES) {
      const t = new Tape(dt === 'f32' ? be : null, dt);
      const w = new Map<string, Var>();
      for (const [k, v] of model) w.set(k, t.param(new Tensor('f32', v.shape, v.data as Float32Array), k));
      const col = new Map<string, Var>();
      const logits = plstmVisionForward(t, cfg, w, input(t, `${p}pixels`), { collect: col });
      const check = (name: string, v: ArrayLike<number>) => (dt === 'f32' ? assertGolden(c, name, v) : assertClose(`${name} (f64)`, v, f64(name), atolF64(name)));
      for (let i = 0; i < nb; i++) for (const j of [0, 1]) {
        const name = `${p}block${2 * i + j}_out`;
        if (c.has(name)) check(name, col.get(`blocks.${i}.block${j}`)!.data);
      }
      check(`${p}norm_out`, col.get('norm_out')!.data);
      check(`${p}pooled`, col.get('pooled')!.data);
      check(`${p}logits`, logits.data);
      if (p !== '') continue;
      const labels = Array.from(c.io.get('labels')!.data as BigInt64Array, Number);
      const loss = ag.crossEntropy(t, logits, labels);
      check('loss', loss.data);
      t.backward(loss);
      for (const [k, v] of w) {
        const g = v.grad!.data as ArrayLike<number>;
        if (dt === 'f32') assertClose(`grad ${k}`, g, grads32!.read(k).toFloat32(), c.meta.grads.recommended_atol[k]);
        else assertClose(`grad ${k} (f64)`, g, grads64.read(k).data as Float64Array, c.meta.grads.recommended_atol_f64[k]);
      }
    }
  });
}

test('the parallel and the recurrent 2D scan forms give the same logits and gradients', () => {
  const run = (form: 'parallel' | 'recurrent') => {
    const t = new Tape(null, 'f64');
    const w = new Map<string, Var>();
    for (const [k, v] of model) w.set(k, t.param(new Tensor('f32', v.shape, v.data as Float32Array), k));
    const logits = plstmVisionForward(t, cfg, w, input(t, 'pixels'), { form });
    const loss = ag.crossEntropy(t, logits, Array.from(c.io.get('labels')!.data as BigInt64Array, Number));
    t.backward(loss);
    return { logits: Array.from(logits.data), g: Array.from(w.get('pos_embed.embed')!.grad!.data as Float64Array) };
  };
  const a = run('parallel'), b = run('recurrent');
  assertClose('logits parallel vs recurrent', a.logits, b.logits, 1e-12);
  assertClose('pos_embed grad parallel vs recurrent', a.g, b.g, 1e-12);
});
