// Model configs: unknown or misspelt keys at any level are errors naming the key's path
// (with the closest known key), the keys official files carry are accepted, sizes that are
// not positive integers are ConfigErrors, and sizes beyond this process's memory are
// LimitErrors naming the key, the value and the largest value that fits — all before any
// allocation, within a second. Through the resolvers and through each family's loader.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FIXTURES } from '../helpers/golden.js';
import { ConfigError, LimitError, XlstmError } from '../../src/errors.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { resolveTiRexConfig, tirexNumParameters } from '../../src/models/tirex/config.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { resolveXLSTMLargeConfig, XLSTMLargeConfigInput } from '../../src/models/xlstmLarge/config.js';
import { XLSTMLarge } from '../../src/models/xlstmLarge/model.js';
import { resolveXLSTMLMConfig, parseXLSTMLMConfigYaml } from '../../src/models/xlstmLm/config.js';
import { XLSTMLMModel } from '../../src/models/xlstmLm/model.js';
import { checkParameterBudget, didYouMean, maxModelBytes } from '../../src/models/configChecks.js';
import { detectModel } from '../../src/models/auto.js';

type Obj = Record<string, any>;
const readJson = (p: string): Obj => JSON.parse(readFileSync(p, 'utf8'));
const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o));
const sweepCase = (file: string): Obj => readJson(join(FIXTURES, 'config_sweep', file)).cases[0];

const tirexConfig = readJson(join(FIXTURES, 'tirex', 'config.json'));
const largeHf = readJson(join(FIXTURES, 'xlstm_large_hf', 'config.json'));
const largeNative = readJson(join(FIXTURES, 'xlstm_large', 'config.json'));
const lmConfig = readJson(join(FIXTURES, 'xlstm_lm', 'config.json'));

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 1 }); });
after(() => be.dispose());

/** Throws a ConfigError whose message matches every pattern. */
function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('didYouMean: suggests close keys only', () => {
  assert.equal(didYouMean('embeding_dim', ['embedding_dim', 'num_heads']), 'embedding_dim');
  assert.equal(didYouMean('numheads', ['embedding_dim', 'num_heads']), 'num_heads');
  assert.equal(didYouMean('colour', ['embedding_dim', 'num_heads']), undefined);
});

test('TiRex: misspelt keys at every level name their path', () => {
  const top = clone(tirexConfig); top.train_ctx_lenn = 256;
  assertConfigError(() => resolveTiRexConfig(top), /unknown key 'train_ctx_lenn' \(did you mean 'train_ctx_len'\?\)/);
  const mc = clone(tirexConfig); mc.model_config.input_ff_dims = 3;
  assertConfigError(() => resolveTiRexConfig(mc), /unknown key 'model_config\.input_ff_dims' \(did you mean 'model_config\.input_ff_dim'\?\)/);
  const bk = clone(tirexConfig); bk.model_config.block_kwargs.embeding_dim = 64;
  assertConfigError(() => resolveTiRexConfig(bk), /unknown key 'model_config\.block_kwargs\.embeding_dim' \(did you mean 'model_config\.block_kwargs\.embedding_dim'\?\)/);
  // keys the official checkpoints carry and the official code ignores stay accepted
  const official = clone(tirexConfig);
  Object.assign(official.model_config.block_kwargs, { all_slstm: true, return_last_states: true, vocab_size: 0 });
  assert.equal(resolveTiRexConfig(official).embeddingDim, tirexConfig.model_config.block_kwargs.embedding_dim);
});

test('xLSTM Large: misspelt keys are refused, generic Hugging Face keys accepted', () => {
  assertConfigError(() => resolveXLSTMLargeConfig({ ...largeHf, embeding_dim: 128 }), /unknown key 'embeding_dim' \(did you mean 'embedding_dim'\?\)/);
  assertConfigError(() => resolveXLSTMLargeConfig({ ...largeNative, qk_dim_fator: 0.5 }), /unknown key 'qk_dim_fator' \(did you mean 'qk_dim_factor'\?\)/);
  assertConfigError(() => resolveXLSTMLargeConfig({ ...largeNative, frobnicate: 1 }), /unknown key 'frobnicate'; known keys/);
  const hf = resolveXLSTMLargeConfig({ ...largeHf, transformers_version: '4.56.0', _name_or_path: 'NX-AI/xLSTM-7b', output_attentions: false });
  assert.equal(hf.embedding_dim, largeHf.hidden_size);
});

test('xLSTMLMModel: misspelt keys at nested levels name their path', () => {
  const m = clone(lmConfig); m.mlstm_block.mlstm.num_head = 4;
  assertConfigError(() => resolveXLSTMLMConfig(m), /unknown key 'mlstm_block\.mlstm\.num_head' \(did you mean 'mlstm_block\.mlstm\.num_heads'\?\)/);
  const f = clone(lmConfig); f.slstm_block.feedforward.proj_facter = 1.3;
  assertConfigError(() => resolveXLSTMLMConfig(f), /unknown key 'slstm_block\.feedforward\.proj_facter' \(did you mean 'slstm_block\.feedforward\.proj_factor'\?\)/);
});

test('loaders: a misspelt key in config.json / config.yaml is a ConfigError before any weight is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfgkeys-'));
  try {
    const t = clone(tirexConfig); t.model_config.block_kwargs.embeding_dim = 64;
    copyFileSync(join(FIXTURES, 'tirex', 'model.safetensors'), join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(t));
    await assert.rejects(TiRex.fromPretrained(dir, { backend: be }), (e: unknown) => e instanceof ConfigError && /config\.json\): unknown key 'model_config\.block_kwargs\.embeding_dim'/.test(e.message));
    rmSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...largeHf, num_hiden_layers: 2 }));
    await assert.rejects(XLSTMLarge.fromPretrained(dir, { backend: be }), (e: unknown) => e instanceof ConfigError && /'num_hiden_layers' \(did you mean 'num_hidden_layers'\?\)/.test(e.message));
    rmSync(join(dir, 'config.json'));
    writeFileSync(join(dir, 'config.yaml'), `model:\n  embedding_dim: 16\n  vocab_size: 11\n  mlstm_block:\n    mlstm:\n      num_heads: 2\n      conv1d_kernal_size: 4\n`);
    await assert.rejects(XLSTMLMModel.fromPretrained(dir, { backend: be }), (e: unknown) => e instanceof ConfigError && /mlstm_block\.mlstm\.conv1d_kernal_size' \(did you mean 'mlstm_block\.mlstm\.conv1d_kernel_size'\?\)/.test(e.message));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('detectModel: an unreadable or foreign config file is a ConfigError naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfgdetect-'));
  try {
    writeFileSync(join(dir, 'config.json'), '{"vocab_size": 3,');
    await assert.rejects(detectModel(dir), (e: unknown) => e instanceof ConfigError && /config\.json is not valid JSON/.test(e.message));
    writeFileSync(join(dir, 'config.json'), '[1, 2]');
    await assert.rejects(detectModel(dir), (e: unknown) => e instanceof ConfigError && /config\.json must hold a mapping/.test(e.message));
    writeFileSync(join(dir, 'config.json'), '{"foo": 1}');
    await assert.rejects(detectModel(dir), (e: unknown) => e instanceof ConfigError && /cannot tell the model kind/.test(e.message));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('sizes that are not positive integers are ConfigErrors naming the key and value', () => {
  for (const bad of [1.5, -3, 0, Number.NaN, Number.POSITIVE_INFINITY, '64', null, true]) {
    const t = clone(tirexConfig); t.model_config.block_kwargs.embedding_dim = bad;
    assertConfigError(() => resolveTiRexConfig(t), /model_config\.block_kwargs\.embedding_dim = /);
    assertConfigError(() => resolveXLSTMLargeConfig({ ...largeNative, num_blocks: bad } as XLSTMLargeConfigInput), /num_blocks = /);
    assertConfigError(() => resolveXLSTMLMConfig({ ...clone(lmConfig), vocab_size: bad }), /vocab_size = /);
  }
});

test('xLSTMLMModel slstm_at: negative positions count from the end, as Python indexing in the official block map', () => {
  const base = { vocab_size: 7, embedding_dim: 16, num_blocks: 3, context_length: 8, mlstm_block: { mlstm: { num_heads: 2 } }, slstm_block: { slstm: { num_heads: 2, backend: 'vanilla' } } };
  const cfg = resolveXLSTMLMConfig({ ...base, slstm_at: [-1] });
  assert.equal(cfg._block_map, '0,0,1');
  assert.deepEqual([...cfg.slstm_at], [-1]);
  assert.equal(resolveXLSTMLMConfig({ ...base, slstm_at: [-3, 1] })._block_map, '1,1,0');
  assertConfigError(() => resolveXLSTMLMConfig({ ...base, slstm_at: [-4] }), /slstm_at = \[-4\]: -4 is not a block index/);
  assertConfigError(() => resolveXLSTMLMConfig({ ...base, slstm_at: [3] }), /slstm_at = \[3\]: 3 is not a block index/);
});

test('xLSTMLMModel YAML: fan-out interpolations are refused quickly, inherited names are not keys', async () => {
  // 2^30 values if expanded
  const levels = Array.from({ length: 30 }, (_, i) => `l${i}: ['\${l${i + 1}}', '\${l${i + 1}}']`).join('\n');
  const t0 = performance.now();
  await assert.rejects(parseXLSTMLMConfigYaml(`model:\n  vocab_size: '\${l0}'\n${levels}\nl30: 1\n`, 'bomb.yaml'),
    (e: unknown) => e instanceof ConfigError && /bomb\.yaml: the \$\{\.\.\.\} interpolations expand to more than 100000 values/.test(e.message));
  assert.ok(performance.now() - t0 < 1000);
  await assert.rejects(parseXLSTMLMConfigYaml("model:\n  vocab_size: '\${constructor}'\n"), /refers to constructor, which does not exist/);
});

test('factors so small that a width rounds to 0 are ConfigErrors (found by fuzzing)', () => {
  assertConfigError(() => resolveXLSTMLargeConfig({ ...largeHf, ffn_proj_factor: 5e-324 }), /ffn_proj_factor 5e-324 gives an FFN width of 0/);
  const t = clone(tirexConfig); t.model_config.block_kwargs.ffn_proj_factor = 5e-324;
  assertConfigError(() => resolveTiRexConfig(t), /ffn_proj_factor 5e-324 gives an FFN width of 0/);
  const m = clone(lmConfig); Object.assign(m.mlstm_block.mlstm, { proj_factor: 1e-9, round_proj_up_dim_up: false });
  assertConfigError(() => resolveXLSTMLMConfig(m), /mlstm_block\.mlstm\.proj_factor = 1e-9 gives an up-projection of 0/);
});

/** Resolving must fail with a LimitError for `path`, quickly (nothing allocated). */
function assertLimit(fn: () => unknown, path: string, value: number): LimitError {
  const t0 = performance.now();
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  const ms = performance.now() - t0;
  assert.ok(err instanceof LimitError, `expected a LimitError for ${path}, got ${String(err)}`);
  assert.ok(err instanceof XlstmError);
  assert.equal(err.option, path);
  assert.equal(err.value, value);
  assert.ok(err.limit < value && err.limit >= 0, `limit ${err.limit}`);
  assert.match(err.message, new RegExp(`^${path.replace(/\./g, '\\.')} ${value} is above the limit ${err.limit} \\(.*(parameters|fit)`));
  assert.ok(ms < 1000, `took ${ms} ms`);
  return err;
}

test('sizes beyond memory: LimitError naming the key, its value and the limit, within a second', () => {
  const t = clone(tirexConfig); t.model_config.block_kwargs.num_blocks = 1e9;
  const e = assertLimit(() => resolveTiRexConfig(t), 'model_config.block_kwargs.num_blocks', 1e9);
  // the limit is the largest block count whose parameters fit, exactly
  const fits = (nb: number) => {
    const c = clone(tirexConfig); c.model_config.block_kwargs.num_blocks = nb;
    return tirexNumParameters(resolveTiRexConfig(c)) * 4 <= maxModelBytes();
  };
  assert.ok(fits(e.limit));
  const over = clone(tirexConfig); over.model_config.block_kwargs.num_blocks = e.limit + 1;
  assert.throws(() => resolveTiRexConfig(over), LimitError);
  const ctx = clone(tirexConfig); ctx.train_ctx_len = 32 * 2 ** 45;
  assertLimit(() => resolveTiRexConfig(ctx), 'train_ctx_len', 32 * 2 ** 45);
  assertLimit(() => resolveXLSTMLargeConfig({ ...largeNative, num_blocks: 1e9 }), 'num_blocks', 1e9);
  assertLimit(() => resolveXLSTMLargeConfig({ ...largeHf, vocab_size: 1e13 }), 'vocab_size', 1e13);
  assertLimit(() => resolveXLSTMLargeConfig({ ...largeNative, embedding_dim: 2 ** 40, num_heads: 4 }), 'embedding_dim', 2 ** 40);
  assertLimit(() => resolveXLSTMLargeConfig({ ...largeNative, chunk_size: 2 ** 40 }), 'chunk_size', 2 ** 40);
  assertLimit(() => resolveXLSTMLMConfig({ ...clone(lmConfig), num_blocks: 1e9 }), 'num_blocks', 1e9);
  assertLimit(() => resolveXLSTMLMConfig({ ...clone(lmConfig), embedding_dim: 2 ** 30 }), 'embedding_dim', 2 ** 30);
  assertLimit(() => resolveXLSTMLMConfig({ ...clone(lmConfig), context_length: 2 ** 50 }), 'context_length', 2 ** 50);
});

test('checkParameterBudget blames the size furthest above what fits', () => {
  const count = (nb: number, V: number) => 100 + nb * 10 + V * 2;
  const terms = (nb: number, V: number) => [
    { path: 'num_blocks', value: nb, count: (v: number) => count(v, V) },
    { path: 'vocab_size', value: V, count: (v: number) => count(nb, v) },
  ];
  assert.doesNotThrow(() => checkParameterBudget({ what: 'm', parameters: count(5, 10), bytesPerParameter: 1, terms: terms(5, 10), maxBytes: 200 }));
  // 100 + 1000 + 20 > 200: num_blocks fits up to 8 (100 + 80 + 20 = 200)
  assert.throws(() => checkParameterBudget({ what: 'm', parameters: count(100, 10), bytesPerParameter: 1, terms: terms(100, 10), maxBytes: 200 }),
    (e: unknown) => e instanceof LimitError && e.option === 'num_blocks' && e.value === 100 && e.limit === 8);
  assert.throws(() => checkParameterBudget({ what: 'm', parameters: count(1, 1000), bytesPerParameter: 1, terms: terms(1, 1000), maxBytes: 200 }),
    (e: unknown) => e instanceof LimitError && e.option === 'vocab_size' && e.limit === 45);
});

test('sweep configs resolve within the limits (first case of each family)', () => {
  assert.ok(resolveTiRexConfig(sweepCase('tirex.json').config).numBlocks >= 1);
  assert.ok(resolveXLSTMLargeConfig(sweepCase('xlstm_large.json').config).num_blocks >= 1);
  assert.ok(resolveXLSTMLMConfig(sweepCase('xlstm_lm.json').config).num_blocks >= 1);
});
