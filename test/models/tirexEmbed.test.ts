// TiRex embeddings and linear heads: golden parity with the official TiRex v1.4 code (case
// tirex_embed, weights of case tirex). Every size comes from the fixture files; tolerances
// from meta.json (bf16 run vs the primary tensors, a run without bf16 vs *__nobf16_float32).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadCase, assertClose, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { tirexStatsFeatures, normalizeTirexStats } from '../../src/models/tirex/embed.js';
import { TiRexLinearClassifier, TiRexLinearRegressor, TiRexLinearHead } from '../../src/models/tirex/heads.js';
import { InputError, ArgumentError } from '../../src/errors.js';

const c: GoldenCase = loadCase('tirex_embed');
const weights = loadCase('tirex');
const out = c.meta.outputs;
const ctorArgs = (h: 'clf' | 'reg') => c.meta.heads[h].constructor_args;

/** Rows of a [B, V, L] (or [B, L]) tensor as arrays of V series. */
function samples(name: string): Float32Array[][] {
  const s = c.shape(name), d = c.f32(name);
  const [B, V, L] = s.length === 3 ? s : [s[0], 1, s[1]];
  return Array.from({ length: B }, (_, b) => Array.from({ length: V }, (_, v) => d.slice((b * V + v) * L, (b * V + v + 1) * L)));
}
const variate = (name: string, v: number) => samples(name).map((r) => r[v]);
const labels = (name: string) => Array.from(c.io.get(name)!.data as BigInt64Array, Number);
function tol(name: string, variant = false): { atol: number; rtol: number } { return c.tol(variant ? `${name}__nobf16_float32` : name); }
function check(name: string, actual: { data: ArrayLike<number>; shape: readonly number[] }, variant = false): void {
  const key = variant ? `${name}__nobf16_float32` : name;
  assert.deepEqual([...actual.shape], c.shape(key), `${key}: shape`);
  const t = tol(name, variant);
  assertClose(`tirex_embed/${key}`, actual.data, c.f32(key), t.atol, t.rtol);
}

let be: WasmBackend;
let bf: TiRex;
let plain: TiRex;

before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  bf = await TiRex.fromPretrained(join(weights.dir, 'model.safetensors'), { backend: be });
  plain = await TiRex.fromPretrained(join(weights.dir, 'model.safetensors'), { backend: be, bf16: false });
});
after(() => { bf.dispose(); plain.dispose(); be.dispose(); });

test('embedContext equals the official _embed_context (every max_context, bf16 and float32 variants)', () => {
  const uni = variate('x_uni', 0);
  // max_context as meta.json's producer line gives it (none: the default)
  const maxContextOf = (name: string) => {
    const m = /max_context=(\d+)/.exec(out[name].produced_by as string);
    return m ? Number(m[1]) : undefined;
  };
  const cases: [string, Float32Array[]][] = [
    ['hidden_uni', uni],
    ['hidden_uni_maxctx_short', uni],
    ['hidden_multi_v0_maxctx_long', variate('x_multi', 0)],
    ['hidden_short_alone', [c.f32('x_short')]],
  ];
  const covered = cases.map(([n]) => maxContextOf(n) ?? null);
  assert.deepEqual([...new Set(covered)].sort(), [...c.meta.options_covered['_embed_context max_context']].sort());
  for (const [name, x] of cases) {
    const maxContext = maxContextOf(name);
    check(name, bf.embedContext(x, { maxContext }));
    check(name, plain.embedContext(x, { maxContext }), true);
  }
  // hidden_multi: [B, V, tokens, NB, E] = the per-variate stack
  const [B, V] = c.shape('hidden_multi');
  for (const [m, variant] of [[bf, false], [plain, true]] as const) {
    const parts = Array.from({ length: V }, (_, v) => m.embedContext(variate('x_multi', v)));
    const per = parts[0].data.length / B;
    const stacked = new Float32Array(B * V * per);
    for (let b = 0; b < B; b++) for (let v = 0; v < V; v++) stacked.set(parts[v].data.subarray(b * per, (b + 1) * per), (b * V + v) * per);
    check('hidden_multi', { data: stacked, shape: [B, V, ...parts[0].shape.slice(1)] }, variant);
  }
});

test('ragged lists are NaN-padded on the left like the official batching', () => {
  const lengths = labels('uni_lengths');
  const padded = variate('x_uni', 0);
  const ragged = padded.map((s, i) => s.subarray(s.length - lengths[i]));
  const a = bf.embed(ragged), b = bf.embed(padded);
  assert.deepEqual(a.shape, b.shape);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  check('emb_uni', a);
});

test('TiRex.embed equals TiRexEmbedding with data_augmentation false and true', () => {
  for (const [m, variant] of [[bf, false], [plain, true]] as const) {
    check('emb_uni', m.embed(samples('x_uni')), variant);
    check('emb_uni_aug', m.embed(samples('x_uni'), { dataAugmentation: true }), variant);
    check('emb_multi', m.embed(samples('x_multi')), variant);
    check('emb_multi_aug', m.embed(samples('x_multi'), { dataAugmentation: true, batchSize: 2 }), variant);
    check('emb_short_alone', m.embed(c.f32('x_short')), variant);
    check('emb_short_alone_aug', m.embed([c.f32('x_short')], { dataAugmentation: true }), variant);
  }
  // a batch of one: the normalised statistics are exactly 0 (official)
  const one = bf.embed([c.f32('x_short')], { dataAugmentation: true });
  const De = c.shape('emb_short_alone')[1];
  assert.ok(one.rows[0].subarray(2 * De).every((v) => v === 0));
});

test('patch statistics and their normalisation equal the official ones (sentinels, NaN, overflow columns)', () => {
  for (const x of ['uni', 'multi']) {
    const name = `x_${x}`;
    const [B, V, L] = c.shape(name);
    const raw = tirexStatsFeatures(c.f32(name), B, V, L);
    const exp = c.f32(`stats_raw_${x}`);
    assert.equal(raw.data.length, exp.length);
    const t = c.tol(`stats_raw_${x}`);
    for (let i = 0; i < exp.length; i++) {
      const e = exp[i], a = raw.data[i];
      if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `stats_raw_${x}[${i}]: NaN expected, got ${a}`);
      else if (Math.abs(e) >= 3.4e38) assert.equal(a, e, `stats_raw_${x}[${i}]: sentinel`);
      else assert.ok(Math.abs(a - e) <= t.atol + t.rtol * Math.abs(e), `stats_raw_${x}[${i}]: ${a} vs ${e}`);
    }
    const norm = normalizeTirexStats(raw.data, B, raw.data.length / B);
    check(`stats_norm_${x}`, { data: norm, shape: [B, norm.length / B] });
  }
});

test('linear heads trained from the stored embeddings equal the official fit (weights, losses, outputs)', () => {
  for (const h of ['clf', 'reg'] as const) {
    const a = ctorArgs(h);
    assert.equal(c.meta.heads[h].train_batches_per_epoch, 1);
    const task = h === 'clf' ? 'classification' : 'regression';
    const y = (n: string) => (h === 'clf' ? labels(`clf_y_${n}`) : c.f32(`reg_y_${n}`));
    const [N, D] = c.shape(`${h}_emb_train`);
    const { head, history } = TiRexLinearHead.fit(task, { data: c.f32(`${h}_emb_train`), shape: [N, D] }, y('train'), {
      maxEpochs: a.max_epochs, lr: a.lr, weightDecay: a.weight_decay, batchSize: a.batch_size, patience: a.patience, delta: a.delta,
      initialWeight: c.f32(`${h}_head_init_weight`), initialBias: c.f32(`${h}_head_init_bias`),
      validation: { embeddings: { data: c.f32(`${h}_emb_val`), shape: c.shape(`${h}_emb_val`) }, targets: y('val') },
    });
    assert.equal(history.epochs, c.meta.heads[h].epochs_run);
    check(`${h}_head_weight`, { data: head.weight, shape: [head.outputs, head.embDim] });
    check(`${h}_head_bias`, { data: head.bias, shape: [head.outputs] });
    check(`${h}_train_loss`, { data: history.trainLoss, shape: [history.epochs] });
    check(`${h}_val_loss`, { data: history.valLoss, shape: [history.epochs] });
    const o = head.apply({ data: c.f32(`${h}_emb_test`), shape: c.shape(`${h}_emb_test`) });
    if (h === 'clf') check('clf_logits_test', { data: o, shape: c.shape('clf_logits_test') });
    else check('reg_pred_test', { data: o, shape: c.shape('reg_pred_test') });
  }
});

test('classifier and regressor end to end on the raw series (own embeddings), with save/load', async () => {
  const own = (n: string) => out[n].atol_if_own_embeddings_are_used as number;
  const a = ctorArgs('clf');
  const opts = (h: 'clf' | 'reg') => {
    const x = ctorArgs(h);
    return { dataAugmentation: x.data_augmentation, maxEpochs: x.max_epochs, lr: x.lr, weightDecay: x.weight_decay, batchSize: x.batch_size, patience: x.patience, delta: x.delta,
      initialWeight: c.f32(`${h}_head_init_weight`), initialBias: c.f32(`${h}_head_init_bias`) };
  };
  const clf = new TiRexLinearClassifier(bf, opts('clf'));
  assert.equal(a.data_augmentation, true);
  const hist = clf.fit(samples('clf_x_train'), labels('clf_y_train'), { validation: { samples: samples('clf_x_val'), labels: labels('clf_y_val') } });
  assertClose('clf_emb_train (own)', clf.embed(samples('clf_x_train')).data, c.f32('clf_emb_train'), c.tol('clf_emb_train').atol, 0);
  assertClose('clf_head_weight (own emb)', clf.linear.weight, c.f32('clf_head_weight'), own('clf_head_weight'), 0);
  assertClose('clf_head_bias (own emb)', clf.linear.bias, c.f32('clf_head_bias'), own('clf_head_bias'), 0);
  assertClose('clf_train_loss (own emb)', hist.trainLoss, c.f32('clf_train_loss'), own('clf_train_loss'), 0);
  assertClose('clf_val_loss (own emb)', hist.valLoss, c.f32('clf_val_loss'), own('clf_val_loss'), 0);
  const test = samples('clf_x_test');
  assertClose('clf_logits_test (own emb)', clf.forward(test), c.f32('clf_logits_test'), own('clf_logits_test'), 0);
  assertClose('clf_proba_test (own emb)', clf.predictProba(test), c.f32('clf_proba_test'), own('clf_proba_test'), 0);
  assert.deepEqual(Array.from(clf.predict(test)), labels('clf_pred_test'));

  const reg = new TiRexLinearRegressor(bf, opts('reg'));
  const rh = reg.fit(samples('clf_x_train'), c.f32('reg_y_train'), { validation: { samples: samples('clf_x_val'), targets: c.f32('reg_y_val') } });
  assertClose('reg_head_weight (own emb)', reg.linear.weight, c.f32('reg_head_weight'), own('reg_head_weight'), 0);
  assertClose('reg_train_loss (own emb)', rh.trainLoss, c.f32('reg_train_loss'), own('reg_train_loss'), 0);
  assertClose('reg_val_loss (own emb)', rh.valLoss, c.f32('reg_val_loss'), own('reg_val_loss'), 0);
  assertClose('reg_pred_test (own emb)', reg.predict(test), c.f32('reg_pred_test'), own('reg_pred_test'), 0);

  const dir = mkdtempSync(join(tmpdir(), 'tirex-head-'));
  try {
    clf.classNames = ['below', 'above'];
    await clf.save(join(dir, 'clf.json'));
    await reg.save(join(dir, 'reg.json'));
    const clf2 = await TiRexLinearClassifier.load(join(dir, 'clf.json'), bf);
    const reg2 = await TiRexLinearRegressor.load(join(dir, 'reg.json'), bf);
    assert.deepEqual(clf2.classNames, ['below', 'above']);
    assert.equal(clf2.dataAugmentation, true);
    assert.deepEqual(Array.from(clf2.predictProba(test)), Array.from(clf.predictProba(test)));
    assert.deepEqual(Array.from(reg2.predict(test)), Array.from(reg.predict(test)));
    // a regressor file is not a classifier, a broken file names its problem
    await assert.rejects(TiRexLinearClassifier.load(join(dir, 'reg.json'), bf), (e: Error) => e instanceof InputError && /regression head/.test(e.message));
    const broken = JSON.parse(readFileSync(join(dir, 'clf.json'), 'utf8'));
    broken.weight[3] = null;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(broken));
    await assert.rejects(TiRexLinearClassifier.load(join(dir, 'bad.json'), bf), (e: Error) => e instanceof InputError && /weight\[3\]/.test(e.message));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('embedding and head errors name the problem', () => {
  assert.throws(() => bf.embed([]), (e: Error) => e instanceof InputError && /at least one sample/.test(e.message));
  assert.throws(() => bf.embed([[1, 2, Infinity]]), (e: Error) => e instanceof InputError && /samples\[0\]\[2\] is Infinity/.test(e.message));
  assert.throws(() => bf.embed([[[1, 2]], [[1, 2], [3, 4]]]), (e: Error) => e instanceof InputError && /samples\[1\] has 2 variates/.test(e.message));
  assert.throws(() => bf.embed([5], { dataAugmentation: true }), (e: Error) => e instanceof InputError && /at least 2 values/.test(e.message));
  assert.throws(() => bf.embedContext([1, 2], { maxContext: 0 }), (e: Error) => e instanceof ArgumentError && /maxContext/.test(e.message));
  assert.throws(() => new TiRexLinearClassifier(bf, { lr: -1 }), (e: Error) => e instanceof ArgumentError && /lr must be/.test(e.message));
  const clf = new TiRexLinearClassifier(bf);
  assert.throws(() => clf.predict([[1, 2, 3]]), (e: Error) => e instanceof ArgumentError && /not trained/.test(e.message));
  assert.throws(() => TiRexLinearHead.fit('classification', { data: [1, 2, 3, 4], shape: [2, 2] }, [0, 0]), (e: Error) => e instanceof InputError && /at least 2 classes/.test(e.message));
  assert.throws(() => TiRexLinearHead.fit('classification', { data: [1, 2, 3, 4], shape: [2, 2] }, [0, 1.5], { numClasses: 2 }), (e: Error) => e instanceof InputError && /targets\[1\] = 1.5/.test(e.message));
});
