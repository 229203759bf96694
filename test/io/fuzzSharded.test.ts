// Property-based fuzzing of the sharded safetensors reader: one folder of real shards
// (and traps: a file outside the folder, a sub-folder, a corrupt shard, a tensor stored
// in two shards), and model.safetensors.index.json files mutated at the JSON level
// (shard paths with traversal, absolute, missing, empty, folders; non-string values;
// duplicate keys; wrong top-level types) and at the byte level. Each index must end in
// a SafetensorsError (an XlstmError) or a reader that only opens files inside the
// folder and reads, for every name, exactly what the shard the index names holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { Tensor } from '../../src/tensor/tensor.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { ShardedSafetensors } from '../../src/io/safetensorsSharded.js';
import { FUZZ_TIMEOUT_MS, Outcome, mutate, mutationArb, nameArb, runFuzz, typedOr, typedOrValidAsync } from './fuzzUtil.js';
import { tempDir } from './util.js';

const SHARD1 = 'model-00001-of-00002.safetensors';
const SHARD2 = 'model-00002-of-00002.safetensors';
const SUB = 'sub/model-00003.safetensors';

/** The folder: models/ holds the shards; its parent holds a file an index must never reach. */
function makeFolder(root: string): string {
  const dir = join(root, 'model');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  mkdirSync(join(dir, 'adir'));
  const t = (v: number[]) => Tensor.fromArray(v);
  writeFileSync(join(dir, SHARD1), serializeSafetensors({ a: t([1, 2]), b: t([3]) }));
  // 'a' again, with other values: a tensor stored in two shards.
  writeFileSync(join(dir, SHARD2), serializeSafetensors({ c: t([4, 5, 6]), d: t([]), a: t([-1, -2]) }));
  writeFileSync(join(dir, SUB), serializeSafetensors({ e: t([7]) }));
  writeFileSync(join(dir, 'corrupt.safetensors'), new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 0x7b]));
  writeFileSync(join(root, 'outside.safetensors'), serializeSafetensors({ a: t([666]), secret: t([666]) }));
  return dir;
}

const VALID_MAP: Record<string, string> = { a: SHARD1, b: SHARD1, c: SHARD2, d: SHARD2, e: SUB };

const shardFileArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(SHARD1, SHARD2, SUB) },
  { weight: 3, arbitrary: fc.constantFrom('../outside.safetensors', '/etc/passwd', 'sub/../../outside.safetensors', '..\\outside.safetensors',
    'sub/../' + SHARD1, './' + SHARD2, 'missing.safetensors', '', '.', 'adir', 'adir/', 'sub', 'corrupt.safetensors',
    'model.safetensors.index.json', '..', 'sub//model-00003.safetensors', 'C:\\x.safetensors', '\0') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

type IndexEdit =
  | { kind: 'set'; name: string; file: unknown }
  | { kind: 'drop'; name: string }
  | { kind: 'metadata'; value: unknown }
  | { kind: 'weightMap'; value: unknown }
  | { kind: 'whole'; value: unknown };

const tensorNameArb = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'secret'), nameArb);
const editArb: fc.Arbitrary<IndexEdit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), name: tensorNameArb, file: shardFileArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), name: tensorNameArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('metadata' as const), value: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('weightMap' as const), value: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('whole' as const), value: fc.jsonValue({ maxDepth: 2 }) }) },
);

/** Index text from edits; `dupe` writes one weight_map key a second time (JSON.parse would keep the last silently). */
function indexText(edits: IndexEdit[], dupe: { name: string; file: string } | null): string {
  let index: any = { metadata: { total_size: 40 }, weight_map: { ...VALID_MAP } };
  for (const e of edits) {
    const wm = index !== null && typeof index === 'object' && index.weight_map !== null && typeof index.weight_map === 'object' ? index.weight_map : undefined;
    if (e.kind === 'set' && wm) Object.defineProperty(wm, e.name, { value: e.file, enumerable: true, writable: true, configurable: true });
    else if (e.kind === 'drop' && wm) delete wm[e.name];
    else if (e.kind === 'metadata' && index && typeof index === 'object') index.metadata = e.value;
    else if (e.kind === 'weightMap' && index && typeof index === 'object') index.weight_map = e.value;
    else if (e.kind === 'whole') index = e.value;
  }
  let text = JSON.stringify(index, null, 1) ?? 'undefined';
  if (dupe && text.includes('"weight_map": {\n')) {
    text = text.replace('"weight_map": {\n', `"weight_map": {\n  ${JSON.stringify(dupe.name)}: ${JSON.stringify(dupe.file)},\n`);
  }
  return text;
}

/**
 * What an accepted index must satisfy: every shard path stays inside the folder, and
 * every tensor that reads at all has the values the named shard holds.
 */
async function checkSharded(sh: ShardedSafetensors, dir: string): Promise<void> {
  try {
    const root = resolve(dir) + sep;
    for (const f of sh.shardFiles()) assert.ok(resolve(dir, f).startsWith(root), `shard path ${JSON.stringify(f)} leaves the folder`);
    await typedOr('verify()', () => sh.verify());
    for (const name of sh.names()) {
      assert.ok(sh.has(name));
      const info = await typedOr(`info('${name}')`, () => sh.info(name));
      const t = await typedOr(`read('${name}')`, () => sh.read(name));
      if (!t) continue;
      assert.ok(info, `${name}: read worked but info did not`);
      assert.deepEqual([...t.shape], info!.shape);
      // The values are those of the shard the index names, opened on its own.
      const file = await shardOf(sh, name);
      const direct = await SafetensorsFile.open(join(dir, file));
      try {
        assert.deepEqual([...t.data], [...(await direct.read(name)).data], `${name}: values from ${file}`);
      } finally { await direct.close(); }
      assert.notDeepEqual([...t.data], [666], `${name}: read from the file outside the folder`);
    }
  } finally { await sh.close(); }
}

/** The shard file the index names for `name` (read back from the index itself: the reader keeps it private). */
async function shardOf(sh: ShardedSafetensors, name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const index = JSON.parse(await readFile(sh.indexPath, 'utf8'));
  return index.weight_map[name];
}

test('fuzz: mutated shard indexes end in SafetensorsError or a reader confined to the folder that reads what the index names', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const { dir: root, cleanup } = tempDir();
  const dir = makeFolder(root);
  let n = 0;
  const seen: Record<Outcome, number> = { valid: 0, refused: 0 };
  try {
    const arb = fc.tuple(fc.array(editArb, { maxLength: 3 }),
      fc.option(fc.record({ name: tensorNameArb, file: fc.constantFrom(SHARD1, SHARD2) }), { freq: 6 }));
    await runFuzz('sharded index edits', 400, 0x5a4d_0001, fc.asyncProperty(arb, async ([edits, dupe]) => {
      const path = join(dir, `index${n++ % 4}.json`);
      await writeFile(path, indexText(edits, dupe));
      seen[await typedOrValidAsync('ShardedSafetensors.open', () => ShardedSafetensors.open(path), (sh) => checkSharded(sh, dir))]++;
    }));
  } finally { cleanup(); }
  assert.ok(seen.valid > 0 && seen.refused > 0, `outcomes ${JSON.stringify(seen)}`);
});

test('fuzz: byte-level mutations of a shard index (bad JSON, bad UTF-8) end in SafetensorsError or a confined reader', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const { dir: root, cleanup } = tempDir();
  const dir = makeFolder(root);
  let n = 0;
  try {
    const base = new TextEncoder().encode(indexText([], null));
    await runFuzz('sharded index bytes', 300, 0x5a4d_0002, fc.asyncProperty(fc.array(mutationArb(), { minLength: 1, maxLength: 4 }), async (muts) => {
      const path = join(dir, `index${n++ % 4}.json`);
      await writeFile(path, mutate(base, muts));
      await typedOrValidAsync('ShardedSafetensors.open', () => ShardedSafetensors.open(path), (sh) => checkSharded(sh, dir));
    }));
  } finally { cleanup(); }
});
