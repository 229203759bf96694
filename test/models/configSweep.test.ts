// Every case of test/fixtures/config_sweep (the official TiRex, xLSTM Large and xLSTMLMModel
// built for many small configs) through this project's resolvers and weight tables: the
// same state_dict names and shapes, the same derived dimensions and parameter count, and
// every config the official code refuses refused here at resolve time with a ConfigError.
// Nothing is allocated: shapes come from the weight tables. Counts and configs are read
// from the files (a held-out sweep with another seed has the same format).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/golden.js';
import { ConfigError } from '../../src/errors.js';
import { resolveTiRexConfig, tirexNumParameters } from '../../src/models/tirex/config.js';
import { tirexWeightTable, LEGACY_PREFIX } from '../../src/models/tirex/weights.js';
import { resolveXLSTMLargeConfig, xlstmLargeNumParameters, XLSTMLargeConfigInput } from '../../src/models/xlstmLarge/config.js';
import { xlstmLargeWeightTable } from '../../src/models/xlstmLarge/weights.js';
import { resolveXLSTMLMConfig, xlstmLmNumParameters, mlstmProjHeads } from '../../src/models/xlstmLm/config.js';
import { xlstmLmTensorSpecs } from '../../src/models/xlstmLm/weights.js';
import { pyFloatFloorDiv, roundUpToNextMultipleOf, truncFloatProduct, upProjDim } from '../../src/models/configRules.js';

interface SweepCase {
  id: string;
  config: Record<string, unknown>;
  config_hf?: Record<string, unknown>;
  resolved: Record<string, Record<string, unknown>>;
  derived: Record<string, unknown>;
  rounding: { rule: string; x: number; multiple_of: number | null; official: number; quantity: string; round_proj_up_dim_up?: boolean }[];
  shapes: Record<string, number[]>;
  num_parameters: number;
  aliases?: string[][];
}
interface SweepRejected { id: string; config: Record<string, unknown>; config_hf?: Record<string, unknown>; stage: string; error: string }
interface Sweep { family: string; cases: SweepCase[]; rejected: SweepRejected[] }

const load = (name: string): Sweep => JSON.parse(readFileSync(join(FIXTURES, 'config_sweep', name), 'utf8')) as Sweep;
const tirex = load('tirex.json');
const large = load('xlstm_large.json');
const lm = load('xlstm_lm.json');

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * The official names and shapes, with each alias group (one tensor under several names,
 * e.g. a tied embedding and LM head) reduced to the one name the table lists.
 */
function expectedShapes(c: SweepCase, table: ReadonlyMap<string, readonly number[]>, rename: (n: string) => string = (n) => n): Map<string, number[]> {
  const out = new Map(Object.entries(c.shapes).map(([n, s]) => [rename(n), s] as [string, number[]]));
  for (const group of c.aliases ?? []) {
    const names = group.map(rename);
    const kept = names.filter((n) => table.has(n));
    assert.equal(kept.length, 1, `${c.id}: alias group ${group.join(' = ')} must be listed once in the weight table, found ${kept.length}`);
    for (const n of names) if (n !== kept[0]) out.delete(n);
  }
  return out;
}

function assertSameTable(id: string, table: ReadonlyMap<string, readonly number[]>, expected: ReadonlyMap<string, readonly number[]>): void {
  const missing = [...expected.keys()].filter((n) => !table.has(n));
  const extra = [...table.keys()].filter((n) => !expected.has(n));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${id}: names differ from the official state_dict`);
  for (const [n, s] of expected) assert.deepEqual([...table.get(n)!], s, `${id}: shape of ${n}`);
}

function assertRejected(id: string, stage: string, official: string, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `${id} (official: ${stage} "${official}"): expected a ConfigError, got ${String(e)}`);
    assert.ok(e.message.length > 20 && /config/i.test(e.message), `${id}: message too vague: ${e.message}`);
    return true;
  }, `${id}: the official code refuses this config (${stage}: ${official}) but it resolved`);
}

test('config sweep files are present and non-empty', () => {
  for (const s of [tirex, large, lm]) {
    assert.ok(s.cases.length > 0 && s.rejected.length > 0, `${s.family}: no cases`);
  }
});

test('configRules: every recorded rounding of a float product gives the official value', () => {
  let n = 0;
  for (const s of [tirex, large, lm]) {
    for (const c of s.cases) {
      for (const r of c.rounding) {
        let got: number;
        if (r.rule === 'int(((x + m - 1) // m) * m)') got = roundUpToNextMultipleOf(r.x, r.multiple_of!);
        else if (r.rule === 'int(x)') got = Math.trunc(r.x);
        else if (r.rule === 'int(math.ceil(x / m) * m)' || r.rule === 'int(math.floor(x / m) * m)') {
          got = (r.rule.includes('ceil') ? Math.ceil(r.x / r.multiple_of!) : Math.floor(r.x / r.multiple_of!)) * r.multiple_of!;
          assert.equal(upProjDim(r.x, 1, r.multiple_of!, r.rule.includes('ceil')), r.official, `${c.id} ${r.quantity} via upProjDim`);
        } else throw new Error(`${c.id}: rounding rule ${r.rule} is not one of the known official rules`);
        assert.equal(got, r.official, `${c.id} ${r.quantity}: ${r.rule} with x = ${r.x}`);
        n++;
      }
    }
  }
  assert.ok(n > 0);
});

test('configRules: Python float floor division and int() truncation', () => {
  assert.equal(pyFloatFloorDiv(191.0016, 64), 2); // 48 * 2.6667 + 63
  assert.equal(roundUpToNextMultipleOf(48 * 2.6667, 64), 128);
  assert.equal(upProjDim(2.6667, 48, 64, true), 192);
  assert.equal(truncFloatProduct(90, 0.7), 62);
  // Python: 7.0 // 2 = 3.0, -7.0 // 2 = -4.0, 7.0 // -2 = -4.0, 0.5 // 0.1 = 4.0 (not 5: fmod is exact)
  assert.equal(pyFloatFloorDiv(7, 2), 3);
  assert.equal(pyFloatFloorDiv(-7, 2), -4);
  assert.equal(pyFloatFloorDiv(7, -2), -4);
  assert.equal(pyFloatFloorDiv(0.5, 0.1), 4);
  assert.equal(Math.floor(0.5 / 0.1), 5); // why the naive formula is wrong
});

test('TiRex sweep: names, shapes, derived dims and parameter count of every case', () => {
  for (const c of tirex.cases) {
    const cfg = resolveTiRexConfig(c.config, c.id);
    const table = tirexWeightTable(cfg);
    assertSameTable(c.id, table, expectedShapes(c, table));
    const d = c.derived;
    assert.equal(cfg.ffnDim, d.ffn_up_proj_dim, `${c.id}: FFN width`);
    assert.equal(cfg.headDim, d.head_dim, `${c.id}: head dim`);
    assert.equal(cfg.quantiles.length, d.num_quantiles, `${c.id}: quantiles`);
    assert.equal(2 * cfg.inputPatchSize, d.input_dim, `${c.id}: input dim`);
    assert.equal(cfg.quantiles.length * cfg.outputPatchSize, d.output_dim, `${c.id}: output dim`);
    const r = c.resolved.TiRexZeroConfig;
    assert.equal(cfg.trainCtxLen, r.train_ctx_len);
    assert.equal(cfg.nanMaskValue, r.nan_mask_value);
    assert.equal(cfg.ffnProjFactor, c.resolved.sLSTMBlockConfig.ffn_proj_factor, `${c.id}: ffn_proj_factor default`);
    assert.equal(tirexNumParameters(cfg), c.num_parameters, `${c.id}: num_parameters (closed form)`);
    assert.equal([...table.values()].reduce((a, s) => a + numel(s), 0), c.num_parameters, `${c.id}: num_parameters (table)`);
  }
});

test('TiRex sweep: legacy block_stack. keys of official checkpoints map onto the table', () => {
  for (const c of tirex.cases) {
    const table = tirexWeightTable(resolveTiRexConfig(c.config, c.id));
    // official checkpoints store blocks.* and out_norm.weight under 'block_stack.'; the loader strips it
    const legacy = Object.keys(c.shapes).map((n) => (n.startsWith('blocks.') || n === 'out_norm.weight' ? LEGACY_PREFIX + n : n));
    const stripped = legacy.map((n) => (n.startsWith(LEGACY_PREFIX) ? n.slice(LEGACY_PREFIX.length) : n));
    assert.deepEqual(stripped.filter((n) => !table.has(n)), [], c.id);
    assert.ok(legacy.some((n) => n.startsWith(LEGACY_PREFIX)));
  }
});

test('TiRex sweep: every rejected config is refused at resolve time', () => {
  for (const r of tirex.rejected) assertRejected(r.id, r.stage, r.error, () => resolveTiRexConfig(r.config, r.id));
});

function checkLarge(c: SweepCase, raw: Record<string, unknown>, layout: 'hf' | 'native'): void {
  const label = `${c.id} (${layout === 'hf' ? 'config_hf' : 'config'})`;
  const cfg = resolveXLSTMLargeConfig(raw as XLSTMLargeConfigInput);
  const table = xlstmLargeWeightTable(cfg, layout);
  // under Hugging Face names only the embedding differs
  const rename = (n: string) => (layout === 'hf' && n === 'embedding.weight' ? 'backbone.embeddings.weight' : n);
  assertSameTable(label, table, expectedShapes(c, table, rename));
  for (const k of ['qk_dim', 'v_dim', 'qk_head_dim', 'v_head_dim', 'ffn_up_proj_dim'] as const) {
    assert.equal(cfg[k], c.derived[k], `${label}: ${k}`);
  }
  const resolved = c.resolved.xLSTMLargeConfig;
  for (const [k, v] of Object.entries(resolved)) {
    if (k in cfg) assert.deepEqual((cfg as unknown as Record<string, unknown>)[k], v, `${label}: resolved ${k}`);
  }
  assert.equal(xlstmLargeNumParameters(cfg), c.num_parameters, `${label}: num_parameters (closed form)`);
  assert.equal([...table.values()].reduce((a, s) => a + numel(s), 0), c.num_parameters, `${label}: num_parameters (table)`);
}

test('xLSTM Large sweep: names, shapes, derived dims and parameter count, native and Hugging Face config', () => {
  let hf = 0;
  for (const c of large.cases) {
    checkLarge(c, c.config, 'native');
    if (c.config_hf) { checkLarge(c, c.config_hf, 'hf'); hf++; }
  }
  assert.ok(hf > 0, 'no config_hf in the sweep');
});

test('xLSTM Large sweep: every rejected config is refused at resolve time', () => {
  for (const r of large.rejected) {
    assertRejected(r.id, r.stage, r.error, () => resolveXLSTMLargeConfig(r.config as XLSTMLargeConfigInput));
    if (r.config_hf) assertRejected(`${r.id} (config_hf)`, r.stage, r.error, () => resolveXLSTMLargeConfig(r.config_hf as XLSTMLargeConfigInput));
  }
});

test('xLSTMLMModel sweep: names, shapes, block map, derived dims and parameter count of every case', () => {
  for (const c of lm.cases) {
    const cfg = resolveXLSTMLMConfig(c.config);
    const table = new Map(xlstmLmTensorSpecs(cfg).map((s) => [s.name, s.shape] as [string, number[]]));
    assertSameTable(c.id, table, expectedShapes(c, table));
    const d = c.derived as { block_map: number[]; slstm_at: number[]; blocks: Record<string, number | string>[] };
    assert.deepEqual(cfg.blocks.map((b) => (b.kind === 'slstm' ? 1 : 0)), d.block_map, `${c.id}: block map`);
    assert.deepEqual([...cfg.slstm_at], d.slstm_at, `${c.id}: slstm_at`);
    cfg.blocks.forEach((b, i) => {
      const want = d.blocks[i];
      assert.equal(b.kind, want.type, `${c.id} block ${i}: type`);
      if (b.kind === 'mlstm') {
        assert.equal(b.mlstm._inner_embedding_dim, want.inner_dim, `${c.id} block ${i}: inner dim`);
        assert.equal(b.mlstm.num_heads, want.num_heads, `${c.id} block ${i}: heads`);
        assert.equal(b.mlstm._inner_embedding_dim / b.mlstm.num_heads, want.head_dim, `${c.id} block ${i}: head dim`);
        assert.equal(mlstmProjHeads(b.mlstm), want.num_proj_heads, `${c.id} block ${i}: q/k/v projection heads`);
        assert.equal(b.mlstm.conv1d_kernel_size, want.conv1d_kernel_size, `${c.id} block ${i}: conv`);
      } else {
        assert.equal(b.slstm.num_heads, want.num_heads, `${c.id} block ${i}: heads`);
        assert.equal(cfg.embedding_dim / b.slstm.num_heads, want.head_dim, `${c.id} block ${i}: head dim`);
        assert.equal(b.slstm.conv1d_kernel_size, want.conv1d_kernel_size, `${c.id} block ${i}: conv`);
        assert.equal(b.feedforward ? b.feedforward._proj_up_dim : null, want.ffn_up_proj_dim ?? null, `${c.id} block ${i}: FFN width`);
      }
    });
    const resolved = c.resolved.xLSTMLMModelConfig;
    for (const k of ['embedding_dim', 'num_blocks', 'vocab_size', 'context_length', 'bias', 'dropout', 'tie_weights', 'add_post_blocks_norm', '_block_map']) {
      assert.deepEqual((cfg as unknown as Record<string, unknown>)[k], resolved[k], `${c.id}: resolved ${k}`);
    }
    const rm = resolved.mlstm_block as { mlstm: Record<string, unknown> } | null;
    if (rm && cfg.mlstm_block) {
      for (const [k, v] of Object.entries(rm.mlstm)) assert.deepEqual((cfg.mlstm_block.mlstm as unknown as Record<string, unknown>)[k], v, `${c.id}: resolved mlstm_block.mlstm.${k}`);
    }
    assert.equal(xlstmLmNumParameters(cfg), c.num_parameters, `${c.id}: num_parameters (closed form)`);
    assert.equal([...table.values()].reduce((a, s) => a + numel(s), 0), c.num_parameters, `${c.id}: num_parameters (table)`);
  }
});

test('xLSTMLMModel sweep: every rejected config is refused at resolve time', () => {
  for (const r of lm.rejected) assertRejected(r.id, r.stage, r.error, () => resolveXLSTMLMConfig(r.config));
});
