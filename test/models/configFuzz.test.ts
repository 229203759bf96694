// Property tests (fast-check) of the three config resolvers: official sweep configs mutated
// at any level (values replaced by random numbers, strings, null, huge, negative, NaN; keys
// deleted, added, misspelt) must end in a valid resolved config, whose weight table has
// only positive integer dimensions, or in the project's own XlstmError; never a TypeError,
// RangeError, hang or out-of-memory. A fixed seed keeps CI reproducible; the runs are sized
// to take a few seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FIXTURES } from '../helpers/golden.js';
import { XlstmError } from '../../src/errors.js';
import { resolveTiRexConfig } from '../../src/models/tirex/config.js';
import { tirexWeightTable } from '../../src/models/tirex/weights.js';
import { resolveXLSTMLargeConfig, XLSTMLargeConfigInput } from '../../src/models/xlstmLarge/config.js';
import { xlstmLargeWeightTable } from '../../src/models/xlstmLarge/weights.js';
import { resolveXLSTMLMConfig, parseXLSTMLMConfigYaml } from '../../src/models/xlstmLm/config.js';
import { xlstmLmTensorSpecs } from '../../src/models/xlstmLm/weights.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Sweep { cases: { config: Json; config_hf?: Json }[]; rejected: { config: Json; config_hf?: Json }[] }

function configsOf(file: string): Json[] {
  const s = JSON.parse(readFileSync(join(FIXTURES, 'config_sweep', file), 'utf8')) as Sweep;
  return [...s.cases, ...s.rejected].flatMap((c) => (c.config_hf ? [c.config, c.config_hf] : [c.config]));
}

const SEED = 20261207;
const RUNS = 600;

/** Values a user (or a corrupted file) could put anywhere. */
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.integer({ min: -3, max: 300 }),
  fc.constantFrom(0, -1, -0, 0.5, 1.5, 2 ** 31, 2 ** 53, 1e9, 1e15, 1e300, -1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('all', 'vanilla', 'cuda', 'gelu', 'single', 'fused', 'xlstm', '${model.num_blocks}', ''),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), fc.double(), fc.string({ maxLength: 3 })), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer({ min: -2, max: 64 }), fc.string({ maxLength: 4 })), { maxKeys: 3 }),
) as fc.Arbitrary<Json>;

interface Mutation { op: 'set' | 'delete' | 'add' | 'misspell'; pick: number; value: Json; name: string; pos: number }
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('set', 'set', 'delete', 'add', 'misspell') as fc.Arbitrary<Mutation['op']>,
  pick: fc.nat(),
  value: anyValue,
  name: fc.string({ minLength: 1, maxLength: 10 }),
  pos: fc.nat(),
});

type Container = { [k: string]: Json } | Json[];
const isContainer = (v: Json): v is Container => v !== null && typeof v === 'object';

/** Every (container, key) pair of the document, at all depths. */
function slots(root: Container): [Container, string | number][] {
  const out: [Container, string | number][] = [];
  const walk = (c: Container) => {
    const keys = Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c);
    for (const k of keys) {
      out.push([c, k]);
      const v = (c as Record<string | number, Json>)[k];
      if (isContainer(v)) walk(v);
    }
  };
  walk(root);
  return out;
}

function containers(root: Container): Container[] {
  const out: Container[] = [root];
  for (const [c, k] of slots(root)) { const v = (c as Record<string | number, Json>)[k]; if (isContainer(v)) out.push(v); }
  return out;
}

/** Deletes, inserts or replaces one character: the typos a person makes. */
function misspell(key: string, pos: number, ch: string): string {
  const i = pos % (key.length + 1);
  const c = ch[0] ?? 'x';
  switch (pos % 3) {
    case 0: return key.slice(0, i) + key.slice(i + 1) || `${key}${c}`;
    case 1: return key.slice(0, i) + c + key.slice(i);
    default: return key.slice(0, i) + c + key.slice(i + 1);
  }
}

function mutate(base: Json, ms: Mutation[]): Json {
  const doc = structuredClone(base) as Container;
  for (const m of ms) {
    const all = slots(doc);
    if (m.op === 'add') {
      const cs = containers(doc).filter((c) => !Array.isArray(c)) as { [k: string]: Json }[];
      cs[m.pick % cs.length][m.name] = m.value;
      continue;
    }
    if (all.length === 0) continue;
    const [c, k] = all[m.pick % all.length];
    const rec = c as Record<string | number, Json>;
    if (m.op === 'set') rec[k] = m.value;
    else if (m.op === 'delete') { if (Array.isArray(c)) c.splice(k as number, 1); else delete rec[k]; }
    else if (!Array.isArray(c)) { const v = rec[k]; delete rec[k]; rec[misspell(String(k), m.pos, m.name)] = v; }
  }
  return doc;
}

/** Dimensions of a valid config are positive integers, shape by shape. */
function assertShapes(label: string, shapes: Iterable<readonly number[]>): void {
  for (const s of shapes) {
    assert.ok(s.length > 0 && s.every((d) => Number.isSafeInteger(d) && d > 0), `${label}: bad shape [${s.join(', ')}]`);
  }
}

/** How many mutated configs each family accepted and refused: both must happen, or the property says nothing. */
const tally = new Map<string, { accepted: number; refused: number }>();

/** Runs `resolve`; anything thrown must be an XlstmError (the message then names something). */
function outcome<T>(family: string, resolve: () => T): T | undefined {
  const t = tally.get(family) ?? { accepted: 0, refused: 0 };
  tally.set(family, t);
  try {
    const r = resolve();
    t.accepted++;
    return r;
  } catch (e) {
    if (e instanceof XlstmError) { assert.ok(e.message.length > 10); t.refused++; return undefined; }
    throw e;
  }
}

// Keeps the check of an accepted config's table cheap: tables grow with the block count.
const SMALL_BLOCKS = 64;

function fuzz(name: string, file: string, check: (cfg: Json) => void): void {
  test(`fuzz ${name}: mutated sweep configs resolve or fail with an XlstmError`, () => {
    const bases = configsOf(file);
    assert.ok(bases.length > 0);
    fc.assert(fc.property(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, ms) => {
      check(mutate(base, ms));
    }), { seed: SEED, numRuns: RUNS });
    const t = tally.get(name)!;
    assert.ok(t.accepted > 0 && t.refused > 0, `${name}: ${t.accepted} accepted, ${t.refused} refused`);
  });
}

fuzz('TiRex', 'tirex.json', (raw) => {
  const cfg = outcome('TiRex', () => resolveTiRexConfig(raw));
  if (cfg && cfg.numBlocks <= SMALL_BLOCKS) assertShapes('TiRex', tirexWeightTable(cfg).values());
});

fuzz('xLSTM Large', 'xlstm_large.json', (raw) => {
  const cfg = outcome('xLSTM Large', () => resolveXLSTMLargeConfig(raw as XLSTMLargeConfigInput));
  if (cfg && cfg.num_blocks <= SMALL_BLOCKS) assertShapes('xLSTM Large', xlstmLargeWeightTable(cfg, 'hf').values());
});

fuzz('xLSTMLMModel', 'xlstm_lm.json', (raw) => {
  const cfg = outcome('xLSTMLMModel', () => resolveXLSTMLMConfig(raw as Record<string, unknown>));
  if (cfg && cfg.num_blocks <= SMALL_BLOCKS) assertShapes('xLSTMLMModel', xlstmLmTensorSpecs(cfg).map((s) => s.shape));
});

test('fuzz xLSTMLMModel YAML: mutated configs as YAML text, and arbitrary text, parse and resolve or fail with an XlstmError', async () => {
  const bases = configsOf('xlstm_lm.json');
  const { stringify } = await import('yaml');
  const texts = fc.oneof(
    fc.tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => stringify({ model: mutate(b, ms) })),
    fc.string({ maxLength: 80 }),
    fc.constantFrom('model: ${model}', 'a: ${b}\nb: ${a}', 'model:\n  num_blocks: ${.num_blocks}', '- 1\n- 2', '{', 'model: [1, 2'),
  );
  await fc.assert(fc.asyncProperty(texts, async (text) => {
    try {
      const raw = await parseXLSTMLMConfigYaml(text, 'fuzz.yaml');
      const cfg = resolveXLSTMLMConfig(raw);
      if (cfg.num_blocks <= SMALL_BLOCKS) assertShapes('YAML', xlstmLmTensorSpecs(cfg).map((s) => s.shape));
    } catch (e) {
      if (!(e instanceof XlstmError)) throw e;
    }
  }), { seed: SEED, numRuns: 300 });
});
