// TiRex-2 beyond the golden numbers: config validation and the FFN width rule, checkpoints
// (safetensors alias layout, legacy model-config.yaml + model.ckpt through the safe pickle
// reader, strict-load errors), forecast inputs (per-series errors, NaN, flat rows, quantile
// levels, bad arguments), and the network on the f32 tape against the f64 tape, with gradient
// checks of the parts the trainable kind reuses (gather/flip routing, sLSTM time mixer, the
// variate attention).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify as toYaml } from 'yaml';
import { loadCase, GoldenCase } from '../helpers/golden.js';
import { PickleBuilder, torchZip, bytesOf } from '../io/torchTestUtil.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape, Var } from '../../src/autograd/tape.js';
import { gradCheck } from '../../src/autograd/gradcheck.js';
import * as ag from '../../src/autograd/ops.js';
import { ConfigError, InputError, ArgumentError } from '../../src/errors.js';
import { TiRex2, TiRex2Series } from '../../src/models/tirex2/model.js';
import { resolveTiRex2Config, TiRex2Config } from '../../src/models/tirex2/config.js';
import { loadTiRex2Checkpoint, tirex2SafetensorsNames, tirex2WeightTable } from '../../src/models/tirex2/weights.js';
import { randomTiRex2Weights, saveTiRex2Checkpoint, tirex2ConfigJson } from '../../src/models/tirex2/init.js';
import { attentionPlan, timeMixer, tirex2Network, variateMixer } from '../../src/models/tirex2/network.js';

const c: GoldenCase = loadCase('tirex2');
const cfg = resolveTiRex2Config(c.config, 'fixture');
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
let be: WasmBackend;
let golden: TiRex2;
let tmp: string;

before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  golden = await TiRex2.fromPretrained(c.dir, { backend: be });
  tmp = mkdtempSync(join(tmpdir(), 'tirex2-'));
});
after(() => { golden.dispose(); be.dispose(); rmSync(tmp, { recursive: true, force: true }); });

/** A series of the fixture's first main-call input, as plain rows. */
function fixtureTarget(): number[] {
  const name = [...c.io.keys()].find((k) => /^s\d+_target$/.test(k))!;
  const [, T] = c.shape(name);
  return Array.from(c.f32(name).subarray(0, T));
}

// ---- config ----

test('FFN width rule: int(((E*2.6667 + 63) // 64) * 64) (rounds up only when the excess is >= 1)', () => {
  for (const [E, want] of [[512, 1408], [32, 128], [40, 128], [48, 128], [64, 192], [24, 64]]) {
    const r = resolveTiRex2Config(tirex2ConfigJson({ embeddingDim: E, numHeads: 2, numBlocks: 2, patchSize: 4, contextLength: 16, futureLength: 8, inputFfDim: 8 }));
    assert.equal(r.ffnDim, want, `E ${E}`);
  }
});

test('bad configs are ConfigErrors naming the key', () => {
  const cases: [string, (j: any) => void, RegExp][] = [
    ['typo', (j) => { j.embeding_dim = 3; }, /unknown key 'embeding_dim' \(did you mean 'embedding_dim'\?\)/],
    ['recipe', (j) => { j.stack_config.recipe[0] = 'nope'; }, /stack_config\.recipe\[0\] = "nope" names no template/],
    ['num_blocks', (j) => { j.num_blocks += 1; }, /num_blocks \d+ must equal the length of stack_config\.recipe/],
    ['patch', (j) => { j.output_patch_size += 1; }, /output_patch_size \d+ must equal input_patch_size/],
    ['future', (j) => { j.future_len += 1; }, /future_len \d+ must be a multiple of input_patch_size/],
    ['stride', (j) => { j.tokenizer_cfg.input_patch_stride += 1; }, /tokenizer_cfg\.input_patch_stride/],
    ['quantiles', (j) => { j.quantiles = [0.5, 0.1]; }, /quantiles must increase/],
    ['quantile range', (j) => { j.quantiles = [0, 0.5]; }, /quantiles must be a non-empty list of levels in \(0, 1\)/],
    ['act', (j) => { j.act_func = 'GELU'; }, /act_func = "GELU"/],
    ['model_type', (j) => { Object.values<any>(j.stack_config.templates)[0].time_mixer.model_type = 'bi-gru'; }, /time_mixer\.model_type = "bi-gru"/],
    ['heads', (j) => { Object.values<any>(j.stack_config.templates)[0].variate_mixer.num_heads = 7; }, /variate_mixer\.num_heads 7 must divide embedding_dim/],
    ['width', (j) => { Object.values<any>(j.stack_config.templates)[0].time_mixer.embedding_dim += 2; }, /time_mixer\.embedding_dim \d+ must equal embedding_dim/],
    ['size type', (j) => { j.context_len = '512'; }, /context_len = "512", expected an integer >= 1/],
    ['scaler', (j) => { j.scaler_cfg.use_arcsinh = 'yes'; }, /scaler_cfg\.use_arcsinh = "yes", expected true or false/],
  ];
  for (const [label, edit, re] of cases) {
    const j = clone(c.config);
    edit(j);
    assert.throws(() => resolveTiRex2Config(j, 'x.json'), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message) && /\(x\.json\)/.test((e as Error).message), label);
  }
  assert.throws(() => resolveTiRex2Config([], 'x'), ConfigError);
});

// ---- checkpoints ----

/** torch.save of a flat state dict (every alias listed, aliases sharing one storage as torch does). */
function writeCkpt(path: string, tensors: [string, Tensor][], wrap: boolean, shareAliasesWith?: Map<string, string>): void {
  const b = new PickleBuilder().proto(2);
  if (wrap) b.emptyDict().str('state_dict');
  b.emptyDict();
  const storages: Record<string, Uint8Array> = {};
  const keyOf = new Map<string, string>();
  tensors.forEach(([name, t]) => {
    const owner = shareAliasesWith?.get(name) ?? name;
    let key = keyOf.get(owner);
    if (!key) { key = String(keyOf.size); keyOf.set(owner, key); storages[key] = bytesOf(t.data as Float32Array); }
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, x) => a * x, 1));
    b.str(name).tensor('FloatStorage', key, t.size, 0, [...t.shape], stride).setitem();
  });
  if (wrap) b.setitem();
  writeFileSync(path, torchZip(b.stop().build(), storages));
}

test('the stored names of the golden model.safetensors are the alias rule of the table', () => {
  const stored = [...tirex2SafetensorsNames(cfg).values()].sort();
  assert.deepEqual(stored, [...c.model().keys()].sort());
  const aliasCount = [...tirex2WeightTable(cfg).values()].reduce((n, e) => n + e.aliases.length, 0);
  const dropped: string[] = c.meta.checkpoint?.dropped_names ?? [];
  if (dropped.length) assert.equal(aliasCount, dropped.length, 'every dropped name is an alias');
});

test('legacy model-config.yaml + model.ckpt (every alias, {state_dict: ...}) forecast bit-identically', async () => {
  const dir = join(tmp, 'legacy');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  writeFileSync(join(dir, 'model-config.yaml'), toYaml(c.config));
  const loaded = await loadTiRex2Checkpoint(c.dir);
  const table = tirex2WeightTable(cfg);
  const all: [string, Tensor][] = [];
  const owner = new Map<string, string>();
  for (const [name, e] of table) for (const n of [name, ...e.aliases]) { all.push([n, loaded.weights.get(name)!]); owner.set(n, name); }
  writeCkpt(join(dir, 'model.ckpt'), all, true, owner);
  const m = await TiRex2.fromPretrained(dir, { backend: be });
  try {
    const s: TiRex2Series[] = [{ target: fixtureTarget() }];
    const a = golden.forecast(s, { predictionLength: 5 }), b = m.forecast(s, { predictionLength: 5 });
    assert.deepEqual(Array.from(b.series[0].quantiles), Array.from(a.series[0].quantiles));
    const ld = await loadTiRex2Checkpoint(dir);
    assert.equal(ld.format, 'ckpt');
    assert.match(ld.configFile, /model-config\.yaml$/);
  } finally { m.dispose(); }
  // a plain state dict (no wrapper), canonical names only
  const plain = join(tmp, 'plain.ckpt');
  writeCkpt(plain, [...table.keys()].map((n) => [n, loaded.weights.get(n)!]), false);
  const p = await loadTiRex2Checkpoint(plain, { config: c.config });
  for (const [n, t] of loaded.weights) assert.deepEqual(Array.from(p.weights.get(n)!.data as Float32Array), Array.from(t.data as Float32Array), n);
  // an alias that differs from its group cannot be one shared parameter
  const bad = join(tmp, 'bad.ckpt');
  const rev = [...table].find(([, e]) => e.aliases.length)!;
  const changed = new Tensor('f32', rev[1].shape, (loaded.weights.get(rev[0])!.data as Float32Array).map((v, i) => (i === 0 ? v + 1 : v)));
  writeCkpt(bad, [...[...table.keys()].map((n): [string, Tensor] => [n, loaded.weights.get(n)!]), [rev[1].aliases[0], changed]], false);
  await assert.rejects(loadTiRex2Checkpoint(bad, { config: c.config }), (e: unknown) => e instanceof InputError && (e as Error).message.includes(`'${rev[1].aliases[0]}' differs from '${rev[0]}' at index 0`));
});

test('strict load: a missing tensor, a wrong shape, no config are errors naming them', async () => {
  const dir = join(tmp, 'strict');
  const loaded = await loadTiRex2Checkpoint(c.dir);
  const w = new Map(loaded.weights);
  const gone = [...w.keys()].find((n) => n.includes('combination'))!;
  w.delete(gone);
  const { writeSafetensorsFile } = await import('../../src/io/safetensorsWrite.js');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c.config));
  await writeSafetensorsFile(join(dir, 'model.safetensors'), w);
  await assert.rejects(TiRex2.fromPretrained(dir, { backend: be }), (e: unknown) => e instanceof InputError && (e as Error).message.includes(`missing: ${gone}`));
  const j = clone(c.config);
  j.input_ff_dim += 8;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(j));
  copyFileSync(join(c.dir, 'model.safetensors'), join(dir, 'model.safetensors'));
  await assert.rejects(TiRex2.fromPretrained(dir, { backend: be }),
    (e: unknown) => e instanceof InputError && /'input_patch_embedding\.hidden_layer\.(weight|bias)' has shape \[\d+(, \d+)?\], expected \[\d+/.test((e as Error).message));
  rmSync(join(dir, 'config.json'));
  await assert.rejects(TiRex2.fromPretrained(dir, { backend: be }), /no config\.json or model-config\.yaml/);
  await assert.rejects(TiRex2.fromPretrained(join(tmp, 'nowhere'), { backend: be }), /does not exist/);
});

test('saveTiRex2Checkpoint writes the official layout; random weights round-trip', async () => {
  const json = tirex2ConfigJson({ embeddingDim: 16, numHeads: 2, numBlocks: 2, patchSize: 4, contextLength: 32, futureLength: 8, inputFfDim: 16, hExpand: 2 });
  const r = resolveTiRex2Config(json);
  const w = randomTiRex2Weights(r, 3, 0.05);
  const dir = join(tmp, 'saved');
  await saveTiRex2Checkpoint(dir, json, r, w);
  const back = await loadTiRex2Checkpoint(dir);
  assert.deepEqual(back.config, r);
  for (const [n, t] of w) assert.deepEqual(Array.from(back.weights.get(n)!.data as Float32Array), Array.from(t.data as Float32Array), n);
  const { SafetensorsFile } = await import('../../src/io/safetensorsFile.js');
  const sf = await SafetensorsFile.open(join(dir, 'model.safetensors'));
  try { assert.ok(sf.names().every((n) => !n.includes('rev_cell') && !n.endsWith('.recurrent_kernel'))); } finally { await sf.close(); }
});

// ---- forecast inputs ----

test('bad series give per-series errors naming index, row and value; the others are forecast', () => {
  const x = fixtureTarget().slice(-60);
  const T = x.length, H = 4;
  const list: unknown[] = [
    { target: x },
    { target: [] },
    { target: [...x.slice(0, 10), Infinity, ...x.slice(11)] },
    { target: x.map(() => NaN) },
    { target: x, pastCovariates: [x.slice(1)] },
    { target: x, futureCovariates: [x.concat(x.slice(0, H - 1))] },
    { target: [x, x.slice(1)] },
    { target: x, futurCovariates: [x] },
    { target: [x, x.map((v) => 'a' + v)] },
    42,
  ];
  const f = golden.forecast(list as TiRex2Series[], { predictionLength: H });
  const msg = new Map(f.errors.map((e) => [e.series, e.message]));
  assert.deepEqual([...msg.keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.match(msg.get(1)!, /series\[1\]\.target is empty/);
  assert.match(msg.get(2)!, /series\[2\]\.target\[10\] is Infinity/);
  assert.match(msg.get(3)!, /series\[3\]\.target has no observed value/);
  assert.match(msg.get(4)!, new RegExp(`series\\[4\\]\\.pastCovariates\\[0\\] has ${T - 1} values, expected ${T}`));
  assert.match(msg.get(5)!, new RegExp(`series\\[5\\]\\.futureCovariates\\[0\\] has ${T + H - 1} values, expected at least ${T + H}`));
  assert.match(msg.get(6)!, /series\[6\]\.target rows differ in length/);
  assert.match(msg.get(7)!, /unknown key 'futurCovariates'/);
  assert.match(msg.get(8)!, /series\[8\]\.target\[1\]\[0\] is string/);
  assert.match(msg.get(9)!, /series\[9\] must be an object/);
  const alone = golden.forecast([{ target: x }], { predictionLength: H });
  assert.deepEqual(Array.from(f.series[0].quantiles), Array.from(alone.series[0].quantiles));
  assert.ok(f.series[0].quantiles.every(Number.isFinite));
  for (const i of [1, 2, 3]) assert.ok(f.series[i].quantiles.every(Number.isNaN) && f.series[i].quantiles.length > 0);
  assert.deepEqual(f.series[6].shape, [2, cfg.quantiles.length, H]);
});

test('NaN: gaps, trailing NaN and NaN covariates give finite forecasts; a flat row equals [row]', () => {
  const x = fixtureTarget().slice(-80);
  x[10] = NaN; x[11] = NaN; x[x.length - 1] = NaN;
  const cov = x.map((v, i) => (i % 7 === 0 ? NaN : Math.sin(i)));
  const fut = [...cov, 1, 0, NaN, 1, 0];
  const f = golden.forecast([{ target: x, pastCovariates: cov, futureCovariates: [fut] }, { target: [x] }, { target: x }], { predictionLength: 5 });
  assert.deepEqual(f.errors, []);
  for (const s of f.series) assert.ok(s.quantiles.every(Number.isFinite));
  assert.deepEqual(Array.from(f.series[1].quantiles), Array.from(f.series[2].quantiles));
  // the covariates change the forecast (they reach the target through attention)
  assert.notDeepEqual(Array.from(f.series[0].quantiles), Array.from(f.series[2].quantiles));
});

test('bad calls throw ArgumentError; quantileLevels select and interpolate', () => {
  const s: TiRex2Series[] = [{ target: fixtureTarget() }];
  for (const bad of [0, -1, 1.5, NaN, '3']) assert.throws(() => golden.forecast(s, { predictionLength: bad as number }), (e: unknown) => e instanceof ArgumentError && /predictionLength must be an integer >= 1/.test((e as Error).message));
  assert.throws(() => golden.forecast([], { predictionLength: 3 }), /series is empty/);
  assert.throws(() => golden.forecast('x' as unknown as TiRex2Series[], { predictionLength: 3 }), ArgumentError);
  assert.throws(() => golden.forecast(s, { predictionLength: 3, batchSize: 0 }), /batchSize must be an integer >= 1/);
  assert.throws(() => golden.forecast(s, { predictionLength: 3, quantileLevels: [0.5, 1] }), /quantileLevels\[1\] must be a number in \(0, 1\)/);
  const full = golden.forecast(s, { predictionLength: 3 });
  const Q = cfg.quantiles.length, H = 3;
  const pick = [cfg.quantiles[Q - 1], cfg.quantiles[0]];
  const sel = golden.forecast(s, { predictionLength: 3, quantileLevels: pick });
  assert.deepEqual(sel.series[0].shape, [1, 2, H]);
  assert.deepEqual(Array.from(sel.series[0].quantiles.subarray(0, H)), Array.from(full.series[0].quantiles.subarray((Q - 1) * H, Q * H)));
  assert.deepEqual(Array.from(sel.series[0].quantiles.subarray(H, 2 * H)), Array.from(full.series[0].quantiles.subarray(0, H)));
  const mid = (cfg.quantiles[0] + cfg.quantiles[1]) / 2;
  const between = golden.forecast(s, { predictionLength: 3, quantileLevels: [mid] });
  for (let t = 0; t < H; t++) {
    // levels between trained ones come from the sorted trained values (the model's may cross)
    const col = Array.from({ length: Q }, (_, q) => full.series[0].quantiles[q * H + t]).sort((p, q) => p - q);
    const v = between.series[0].quantiles[t];
    assert.ok(v >= col[0] - 1e-4 && v <= col[1] + 1e-4, `level ${mid} at step ${t}: ${v} not between ${col[0]} and ${col[1]}`);
  }
  assert.deepEqual(Array.from(full.series[0].median), Array.from(full.series[0].quantiles.subarray(cfg.medianIndex * H, (cfg.medianIndex + 1) * H)));
});

// ---- the network on both tapes ----

function tinyConfig(recipe: ('bi-mlstm' | 'bi-slstm')[], E = 8): { json: unknown; cfg: TiRex2Config } {
  const json = tirex2ConfigJson({ embeddingDim: E, numHeads: 2, recipe, patchSize: 4, contextLength: 12, futureLength: 8, inputFfDim: 8, hExpand: 1, quantiles: [0.1, 0.5, 0.8] });
  return { json, cfg: resolveTiRex2Config(json) };
}

function lookup(t: Tape, w: Map<string, Tensor>, grads?: Map<string, Var>): (n: string) => Var {
  const vars = new Map<string, Var>();
  return (n) => {
    let v = vars.get(n);
    if (!v) { v = grads?.get(n) ?? t.input(w.get(n)!, false, n); vars.set(n, v); }
    return v;
  };
}

// rows: series 1 = target + past + known; series 2 = one target (skips attention); series 3 = 2 targets
const layout = { group: [1, 1, 1, 2, 3, 3], isTarget: [1, 0, 0, 1, 1, 1], known: [0, 0, 1, 0, 0, 0] };

test('network: f32 tape (wasm kernels) equals the f64 tape (references), random weights, both time mixers', () => {
  const { cfg: tc } = tinyConfig(['bi-mlstm', 'bi-slstm']);
  const w = randomTiRex2Weights(tc, 11, 0.2);
  const R = layout.group.length, L = tc.numTokens, P = tc.patchSize;
  const tok = new Float32Array(R * L * 2 * P);
  let s = 1;
  for (let i = 0; i < tok.length; i++) { s = (s * 16807) % 2147483647; tok[i] = (i % (2 * P)) < P ? (s / 2147483647 - 0.5) * 3 : 1; }
  const run = (t: Tape) => tirex2Network(t, tc, lookup(t, w), t.input(new Tensor('f32', [R, L, 2 * P], tok)), layout).data;
  const a = run(new Tape(be, 'f32')), b = run(new Tape(null, 'f64'));
  let maxAbs = 0, maxRef = 0;
  for (let i = 0; i < a.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i])); maxRef = Math.max(maxRef, Math.abs(b[i])); }
  assert.ok(maxRef > 0.1, 'output carries signal');
  assert.ok(maxAbs <= 2e-5 * maxRef, `f32 vs f64: max |diff| ${maxAbs} of max |ref| ${maxRef}`);
});

test('variate attention: f32 equals f64, masked pairs get no weight, single-row series pass through', () => {
  const { cfg: tc } = tinyConfig(['bi-slstm']);
  const w = randomTiRex2Weights(tc, 5, 0.3);
  const R = layout.group.length, L = 3, E = tc.embeddingDim;
  const x = Float32Array.from({ length: R * L * E }, (_, i) => Math.sin(i * 0.37) * 2);
  const plan = attentionPlan(layout, R);
  assert.ok(plan);
  const run = (t: Tape, xv: Float32Array) => variateMixer(t, lookup(t, w), tc, tc.blocks[0], 0, t.input(new Tensor('f32', [R, L, E], xv)), plan).data;
  const a = run(new Tape(be, 'f32'), x), b = run(new Tape(null, 'f64'), x);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), `index ${i}: ${a[i]} vs ${b[i]}`);
  // row 3 is a series of one row: unchanged
  for (let i = 3 * L * E; i < 4 * L * E; i++) assert.equal(b[i], x[i]);
  // a covariate (row 1) does not see its target (row 0): changing row 0 leaves rows 1, 2 unchanged, but changes row 0
  const x2 = x.slice();
  for (let i = 0; i < L * E; i++) x2[i] += 1;
  const b2 = run(new Tape(null, 'f64'), x2);
  for (let i = L * E; i < 3 * L * E; i++) assert.ok(Math.abs(b2[i] - b[i]) < 1e-12, 'covariates ignore targets');
  // the target sees the covariates: changing row 2 changes row 0
  const x3 = x.slice();
  for (let i = 2 * L * E; i < 3 * L * E; i++) x3[i] += 1;
  const b3 = run(new Tape(null, 'f64'), x3);
  let moved = 0;
  for (let i = 0; i < L * E; i++) moved = Math.max(moved, Math.abs(b3[i] - b[i]));
  assert.ok(moved > 1e-3, 'target attends to covariates');
});

test('gradient checks (f64 tape): variate attention and the sLSTM time mixer with a reverse pass', () => {
  const { cfg: tc } = tinyConfig(['bi-slstm'], 4);
  const w = randomTiRex2Weights(tc, 9, 0.3);
  const R = layout.group.length, L = 3, E = tc.embeddingDim;
  const x = new Tensor('f64', [R, L, E], Float64Array.from({ length: R * L * E }, (_, i) => Math.cos(i * 0.53)));
  const plan = attentionPlan(layout, R);
  const weighted = (t: Tape, y: Var) => ag.sumAll(t, ag.mul(t, y, t.input(new Tensor('f64', y.shape, Float64Array.from({ length: y.size }, (_, i) => Math.sin(i + 1))))));
  const attnNames = ['stack.0.variate_mixer.attn.WQ.weight', 'stack.0.variate_mixer.attn.WK.weight'];
  const ra = gradCheck((t, [xv, ...ws]) => weighted(t, variateMixer(t, lookup(t, w, new Map(attnNames.map((n, k) => [n, ws[k]]))), tc, tc.blocks[0], 0, xv, plan)),
    [x, ...attnNames.map((n) => w.get(n)!)], { maxEntries: 24 });
  assert.ok(ra.maxRelError < 1e-5, `attention: ${ra.relErrors}`);
  const tmNames = ['stack.0.time_mixer.combination.weight', 'stack.0.time_mixer.fwd_cell._recurrent_kernel_'];
  const rt = gradCheck((t, [xv, ...ws]) => weighted(t, timeMixer(t, lookup(t, w, new Map(tmNames.map((n, k) => [n, ws[k]]))), tc.blocks[0], 0, xv, layout.known)),
    [x, ...tmNames.map((n) => w.get(n)!)], { maxEntries: 24 });
  assert.ok(rt.maxRelError < 1e-5, `time mixer: ${rt.relErrors}`);
});

test('sign-flip TTA needs symmetric levels', async () => {
  const { json, cfg: tc } = tinyConfig(['bi-mlstm']);
  const m = await TiRex2.fromTensors(json, randomTiRex2Weights(tc, 1), { backend: be });
  try {
    const s = [{ target: [1, 2, 3, 4, 5, 6, 7, 8] }];
    assert.ok(m.forecast(s, { predictionLength: 4 }).series[0].quantiles.every(Number.isFinite));
    assert.throws(() => m.forecast(s, { predictionLength: 4, ttaSignFlip: true }), (e: unknown) => e instanceof ConfigError && /symmetric/.test((e as Error).message));
  } finally { m.dispose(); }
});
