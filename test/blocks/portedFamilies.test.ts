// TiRex-2 and the vision models on the shared layer: `shared` alias groups in the generic
// matcher (any subset of a group's names, copies shape-checked and compared), the tables'
// roles driving the initialisers, the trainable reading aliases and rejecting copies that
// differ, the vision loader's dtype check, the new blocks (mlp, residualMlp's activation)
// by finite differences, and the model definitions recording nothing on plain inputs. Sizes
// of the vision case come from the golden fixture's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape } from '../../src/autograd/tape.js';
import * as ag from '../../src/autograd/ops.js';
import { gradCheck } from '../../src/autograd/gradcheck.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { InputError, ConfigError } from '../../src/errors.js';
import { WeightTable, matchTensorInfos, tensorMapSource } from '../../src/models/weightTable.js';
import { mlp, residualMlp, inputWeights } from '../../src/blocks/basic.js';
import { resolveTiRex2Config } from '../../src/models/tirex2/config.js';
import { tirex2Table, tirex2WeightTable, loadTiRex2Weights } from '../../src/models/tirex2/weights.js';
import { randomTiRex2Weights, tirex2ConfigJson } from '../../src/models/tirex2/init.js';
import { tirex2Network } from '../../src/models/tirex2/network.js';
import { TiRex2Trainable } from '../../src/train/tirex2Trainable.js';
import { plstmVisionConfigFromJson } from '../../src/models/plstmVision/config.js';
import { plstmVisionTable, plstmVisionWeightTable, loadByTable } from '../../src/models/plstmVision/weights.js';
import { initWeightsFromTable, plstmVisionForward } from '../../src/models/plstmVision/model.js';
import { vitConfigFromJson, vitTable, vitVisionForward } from '../../src/models/plstmVision/vit.js';
import { loadCase } from '../helpers/golden.js';

const f32 = (shape: number[], fill = 0.5) => new Tensor('f32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill));
const info = (m: Map<string, Tensor>) => new Map([...m].map(([k, v]) => [k, { shape: v.shape, dtype: v.dtype }]));

test('matchTensorInfos: a shared group accepts any subset of its names (copies listed and shape-checked); a plain alias pair is unexpected', () => {
  const table: WeightTable = {
    arch: 'Toy',
    specs: [
      { name: 'fwd.w', shape: [2, 3], aliases: ['rev.w'], shared: true },
      { name: 'q.weight', shape: [2], aliases: ['query.weight'] },
    ],
  };
  const only = matchTensorInfos(table, info(new Map([['rev.w', f32([2, 3])], ['q.weight', f32([2])]])));
  assert.ok(only.ok);
  assert.equal(only.matches.get('fwd.w')!.file, 'rev.w');
  assert.deepEqual(only.matches.get('fwd.w')!.copies, []);
  const both = matchTensorInfos(table, info(new Map([['fwd.w', f32([2, 3])], ['rev.w', f32([2, 3])], ['q.weight', f32([2])]])));
  assert.ok(both.ok);
  assert.equal(both.matches.get('fwd.w')!.file, 'fwd.w');
  assert.deepEqual(both.matches.get('fwd.w')!.copies, ['rev.w']);
  const badCopy = matchTensorInfos(table, info(new Map([['fwd.w', f32([2, 3])], ['rev.w', f32([3, 2])], ['q.weight', f32([2])]])));
  assert.deepEqual(badCopy.problems.misshaped.map((p) => [p.file, p.shape]), [['rev.w', [3, 2]]]);
  assert.equal(badCopy.matches.has('fwd.w'), false);
  const plain = matchTensorInfos(table, info(new Map([['fwd.w', f32([2, 3])], ['q.weight', f32([2])], ['query.weight', f32([2])]])));
  assert.deepEqual(plain.problems.unexpected, ['query.weight']);
});

const tiny = resolveTiRex2Config(tirex2ConfigJson({ embeddingDim: 8, numHeads: 2, recipe: ['bi-mlstm', 'bi-slstm'], patchSize: 4, contextLength: 12, futureLength: 8, inputFfDim: 8, hExpand: 1, quantiles: [0.1, 0.5, 0.9] }));

test('tirex2Table: the roles drive the initialiser (norms 1, gate and recurrent weights 0, forget bias linspace(3, 6), sLSTM forget slot), the view keeps names and aliases', () => {
  const table = tirex2Table(tiny);
  const view = tirex2WeightTable(tiny);
  assert.deepEqual([...view.keys()], table.specs.map((s) => s.name));
  const w = randomTiRex2Weights(tiny, 3);
  for (const s of table.specs) {
    const d = w.get(s.name)!.data as Float32Array;
    assert.deepEqual(w.get(s.name)!.shape, [...s.shape], s.name);
    if (s.role === 'norm') assert.ok(d.every((v) => v === 1), s.name);
    if (s.role === 'gateWeight' || s.role === 'recurrentKernel' || s.role === 'bias') assert.ok(d.every((v) => v === 0), s.name);
    if (s.role === 'fgateBias') assert.deepEqual(Array.from(d), Array.from({ length: d.length }, (_, h) => (d.length > 1 ? 3 + (3 * h) / (d.length - 1) : 3)), s.name);
    if (s.role === 'slstmBias') {
      const [NH, , DH] = s.shape;
      for (let h = 0; h < NH; h++) for (let k = 0; k < DH; k++) assert.equal(d[(h * 4) * DH + k], 0, `${s.name}: input slot`);
      assert.equal(d[1 * DH], 5, `${s.name}: first forget entry`);
    }
    if (s.role === 'linear' || s.role === 'headwiseGate') {
      const std = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
      assert.ok(std > 0.2 / Math.sqrt(s.fanIn!) && std < 3 / Math.sqrt(s.fanIn!), `${s.name}: std ${std} for fan_in ${s.fanIn}`);
    }
  }
  // every cell tensor is a shared group with its rev_cell name
  const cells = table.specs.filter((s) => s.name.includes('.fwd_cell.'));
  assert.ok(cells.length > 0 && cells.every((s) => s.shared && s.aliases!.some((a) => a.includes('.rev_cell.'))));
});

test('TiRex-2: loader and trainable read rev_cell names alone, and reject copies that differ, naming both', async () => {
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const w = randomTiRex2Weights(tiny, 5, 0.1);
    const rev = new Map([...w].map(([k, v]) => [k.replace('.fwd_cell.', '.rev_cell.'), v]));
    const loaded = await loadTiRex2Weights(tiny, tensorMapSource(rev));
    assert.deepEqual([...loaded.keys()], [...w.keys()]);
    for (const [k, v] of w) assert.deepEqual(Array.from(loaded.get(k)!.data as Float32Array), Array.from(v.data as Float32Array), k);
    const json = tirex2ConfigJson({ embeddingDim: 8, numHeads: 2, recipe: ['bi-mlstm', 'bi-slstm'], patchSize: 4, contextLength: 12, futureLength: 8, inputFfDim: 8, hExpand: 1, quantiles: [0.1, 0.5, 0.9] });
    const a = TiRex2Trainable.fromTensors(be, json, w), b = TiRex2Trainable.fromTensors(be, json, rev);
    assert.deepEqual([...b.params.keys()], [...a.params.keys()]);
    for (const [k, p] of a.params) assert.deepEqual(Array.from(b.params.get(k)!.value.data as Float32Array), Array.from(p.value.data as Float32Array), k);
    const name = [...w.keys()].find((k) => k.endsWith('.fwd_cell.q.weight'))!;
    const other = name.replace('.fwd_cell.', '.rev_cell.');
    const changed = new Tensor('f32', w.get(name)!.shape, (w.get(name)!.data as Float32Array).map((v, i) => (i === 2 ? v + 1 : v)));
    const both = new Map([...w, [other, changed]]);
    assert.throws(() => TiRex2Trainable.fromTensors(be, json, both), (e: unknown) => e instanceof InputError && (e as Error).message.includes(`'${other}' differs from '${name}' at index 2`));
    await assert.rejects(loadTiRex2Weights(tiny, tensorMapSource(both)), (e: unknown) => e instanceof InputError && (e as Error).message.includes(`'${other}' differs from '${name}' at index 2`));
    const i32 = new Map([...w, [name, new Tensor('i32', w.get(name)!.shape, new Int32Array(w.get(name)!.size))]]);
    await assert.rejects(loadTiRex2Weights(tiny, tensorMapSource(i32)), (e: unknown) => e instanceof InputError && (e as Error).message.includes(`'${name}' has dtype i32`));
    // inference with plain inputs records nothing
    const t = new Tape(be, 'f32');
    const R = 2, L = tiny.numTokens, P = tiny.patchSize;
    const tok = Float32Array.from({ length: R * L * 2 * P }, (_, i) => ((i % (2 * P)) < P ? Math.sin(i) : 1));
    const y = tirex2Network(t, tiny, inputWeights(t, w), t.input(new Tensor('f32', [R, L, 2 * P], tok)), { group: [0, 0], isTarget: [1, 0], known: [0, 1] });
    assert.equal(t.length, 0);
    assert.ok(Array.from(y.data).every(Number.isFinite));
  } finally { be.dispose(); }
});

test('vision tables: roles drive the initialiser; the loader checks names, shapes and dtypes; the definitions record nothing on plain inputs', async () => {
  const c = loadCase('plstm_vision');
  const cfg = plstmVisionConfigFromJson(c.config);
  const table = plstmVisionTable(cfg);
  assert.deepEqual([...plstmVisionWeightTable(cfg).keys()], table.specs.map((s) => s.name));
  const w = initWeightsFromTable(table, 7);
  const roles = new Set(table.specs.map((s) => s.role));
  for (const r of ['linear', 'bias', 'norm', 'head', 'gateBias', 'eigenvalueBias']) assert.ok(roles.has(r), `role ${r} present in the golden config's table`);
  for (const s of table.specs) {
    const d = w.get(s.name)!.data as Float32Array;
    if (s.role === 'norm') assert.ok(d.every((v) => v === 1), s.name);
    if (s.role === 'gateBias') assert.ok(d.every((v) => v === -5), s.name);
    if (s.role === 'eigenvalueBias') assert.ok(d.every((v) => v === 1), s.name);
    if (s.role === 'head' || s.role === 'bias' || s.role === 'eigenvalueWeight' || s.role === 'orientationWeight') assert.ok(d.every((v) => v === 0), s.name);
    if (s.role === 'orientationBias') { const last = s.shape[s.shape.length - 1]; assert.equal(d[0], last === 1 ? 0 : -2); assert.equal(d[last - 1], last === 1 ? 0 : 2); }
    if (s.role === 'linear' && d.length >= 16) {
      const std = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length), want = Math.sqrt(2 / (5 * s.fanIn!));
      assert.ok(std > 0.4 * want && std < 2 * want, `${s.name}: std ${std}, SmallInit ${want}`);
    }
  }
  assert.equal(table.specs.find((s) => s.name === 'patch_embed.proj.weight')!.fanIn, cfg.numChannels * cfg.patchSize ** 2);
  const bad = new Map(w);
  bad.set('head.bias', new Tensor('i32', [cfg.numClasses], new Int32Array(cfg.numClasses)));
  assert.throws(() => loadByTable(table, tensorMapSource(bad, 'x.safetensors'), 'pLSTM vision'), (e: unknown) => e instanceof ConfigError && /tensor 'head\.bias' has dtype i32/.test((e as Error).message));
  const be = await WasmBackend.create({ threads: 1 });
  try {
    const [B, C, H, W] = [1, cfg.numChannels, cfg.resolution[0], cfg.resolution[1]];
    const px = new Tensor('f32', [B, C, H, W], Float32Array.from({ length: B * C * H * W }, (_, i) => Math.cos(i)));
    const t = new Tape(be, 'f32');
    const y = plstmVisionForward(t, cfg, inputWeights(t, loadByTable(table, tensorMapSource(w), 'pLSTM vision')), t.input(px));
    assert.equal(t.length, 0);
    assert.deepEqual(y.shape, [B, cfg.numClasses]);
    const vc = vitConfigFromJson({ dim: 8, num_heads: 2, patch_size: cfg.patchSize, num_blocks: 1, num_classes: 2, num_channels: C, resolution: [H, W] });
    const vt = new Tape(be, 'f32');
    const vy = vitVisionForward(vt, vc, inputWeights(vt, initWeightsFromTable(vitTable(vc), 1)), vt.input(px));
    assert.equal(vt.length, 0);
    assert.deepEqual(vy.shape, [B, 2]);
  } finally { be.dispose(); }
});

test('blocks: mlp (gelu, with biases) and residualMlp (silu) pass float64 finite differences', () => {
  const x = new Tensor('f64', [2, 3, 4], Float64Array.from({ length: 24 }, (_, i) => Math.sin(i * 0.7)));
  const mat = (o: number, i: number, s: number) => new Tensor('f64', [o, i], Float64Array.from({ length: o * i }, (_, k) => Math.cos(k * s) * 0.5));
  const vec = (n: number, s: number) => new Tensor('f64', [n], Float64Array.from({ length: n }, (_, k) => Math.sin(k * s) * 0.3));
  const weighted = (t: Tape, y: ReturnType<typeof ag.add>) => ag.sumAll(t, ag.mul(t, y, t.input(new Tensor('f64', y.shape, Float64Array.from({ length: y.size }, (_, i) => Math.cos(i + 0.5))))));
  const r1 = gradCheck((t, [xv, w1, b1, w2, b2]) => weighted(t, mlp(t, xv, { up: { weight: w1, bias: b1 }, down: { weight: w2, bias: b2 } }, 'gelu')),
    [x, mat(5, 4, 0.3), vec(5, 0.9), mat(4, 5, 0.7), vec(4, 1.3)], { maxEntries: 16 });
  assert.ok(r1.maxRelError < 1e-5, `mlp: ${r1.relErrors}`);
  const r2 = gradCheck((t, [xv, wh, wo, wr]) => weighted(t, residualMlp(t, xv, { hidden: { weight: wh }, output: { weight: wo }, residual: { weight: wr } }, 'silu')),
    [x, mat(6, 4, 0.2), mat(3, 6, 0.5), mat(3, 4, 0.8)], { maxEntries: 16 });
  assert.ok(r2.maxRelError < 1e-5, `residualMlp: ${r2.relErrors}`);
});
