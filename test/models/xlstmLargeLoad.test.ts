// The streaming loader (weights.ts placeSlot): int8 / q4 / bf16 weights converted from
// checkpoint rows staged on the heap must be exactly what the JavaScript reference
// (quantizeInt8 / quantizeQ4 / f32ArrayToBf16 on the whole concatenated matrix) gives, with
// any staging size (one row, a few rows, whole tensors), from sources with ranged reads
// (random, in-memory, file, sharded) and without (whole-tensor fallback), from bf16, f16,
// f32 and f64 tensors mixed in one matrix; a failing read frees everything. The model size
// is the xlstm_large fixture's config.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Q4Weight, Q4_BLOCK, quantizeInt8, quantizeQ4 } from '../../src/tensor/quant.js';
import { f32ArrayToBf16, f32ArrayToF16 } from '../../src/tensor/convert.js';
import { SafetensorsSource, SHARD_INDEX_FILE, parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { ShardedSafetensors } from '../../src/io/safetensorsSharded.js';
import { loadXLSTMLargeWeights, XLSTMLargeWeights, LoadWeightsOptions } from '../../src/models/xlstmLarge/weights.js';
import { resolveXLSTMLargeConfig, XLSTMLargeConfig } from '../../src/models/xlstmLarge/index.js';
import { RandomXLSTMLargeSource } from '../../src/models/xlstmLarge/randomWeights.js';
import { loadCase } from '../helpers/golden.js';

let be: WasmBackend;
let cfg: XLSTMLargeConfig;
before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  cfg = resolveXLSTMLargeConfig({ ...loadCase('xlstm_large').config, num_blocks: 2, weight_mode: 'single', tie_word_embeddings: false });
});
after(() => be?.dispose());

/** The big matrices of a loaded model, by slot, with the checkpoint tensors each is built from (rows concatenated). */
function matrices(w: XLSTMLargeWeights): { label: string; weight: Tensor | Q4Weight; names: string[] }[] {
  const out: { label: string; weight: Tensor | Q4Weight; names: string[] }[] = [];
  w.blocks.forEach((b, i) => {
    const p = `backbone.blocks.${i}.`, m = `${p}mlstm_layer.`;
    out.push({ label: `block ${i} qkvo`, weight: b.qkvo as Tensor | Q4Weight, names: ['q', 'k', 'v', 'ogate_preact'].map((n) => `${m}${n}.weight`) });
    out.push({ label: `block ${i} outProj`, weight: b.outProj as Tensor | Q4Weight, names: [`${m}out_proj.weight`] });
    out.push({ label: `block ${i} projUpBoth`, weight: b.projUpBoth as Tensor | Q4Weight, names: [`${p}ffn.proj_up_gate.weight`, `${p}ffn.proj_up.weight`] });
    out.push({ label: `block ${i} projDown`, weight: b.projDown as Tensor | Q4Weight, names: [`${p}ffn.proj_down.weight`] });
  });
  out.push({ label: 'lm head', weight: w.lmHead as Tensor | Q4Weight, names: ['lm_head.weight'] });
  return out;
}

/** The rows of `names` concatenated, as f32 (what the JS reference quantises). */
async function concatF32(src: SafetensorsSource, names: string[]): Promise<Tensor> {
  const parts = await Promise.all(names.map(async (n) => (await src.read(n)).toFloat32()));
  const cols = (await src.info(names[0])).shape[1];
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Tensor('f32', [all.length / cols, cols], all);
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function sameArray(label: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
}

/** Every big matrix of `w` equals the JS reference conversion of the checkpoint's rows. */
async function checkAgainstReference(label: string, w: XLSTMLargeWeights, src: SafetensorsSource, dtype: 'int8' | 'q4' | 'bf16'): Promise<void> {
  for (const m of matrices(w)) {
    const ref = await concatF32(src, m.names);
    const l = `${label} ${m.label}`;
    const cols = ref.shape[1];
    if (dtype === 'q4' && cols % Q4_BLOCK === 0) {
      assert.ok(m.weight instanceof Q4Weight, `${l}: Q4Weight`);
      const want = quantizeQ4(ref);
      sameArray(`${l} nibbles`, m.weight.packed.data as Uint8Array, want.packed.data as Uint8Array);
      sameArray(`${l} scale bits`, bits(m.weight.scales.data as Float32Array), bits(want.scales.data as Float32Array));
    } else if (dtype === 'bf16') {
      const t = m.weight as Tensor;
      assert.equal(t.dtype, 'bf16', `${l}: dtype`);
      sameArray(`${l} bf16`, t.data as Uint16Array, f32ArrayToBf16(ref.data as Float32Array));
    } else {
      const t = m.weight as Tensor;
      assert.equal(t.dtype, 'i8', `${l}: dtype`);
      const want = quantizeInt8(ref);
      sameArray(`${l} int8`, t.data as Int8Array, want.data as Int8Array);
      sameArray(`${l} scale bits`, bits(t.scales!), bits(want.scales!));
    }
  }
}

/** The same tensors without ranged reads: the loader reads each whole tensor once. */
function withoutRanges(src: SafetensorsSource): SafetensorsSource {
  return {
    metadata: src.metadata, names: () => src.names(), has: (n) => src.has(n), info: (n) => src.info(n),
    read: (n, o) => src.read(n, o), readInto: (n, d, o) => src.readInto(n, d, o), close: () => src.close(),
  };
}

test('int8 / q4 streamed through staging buffers of any size = the JS reference, with and without ranged reads', async () => {
  const src = new RandomXLSTMLargeSource(cfg, { dtype: 'bf16', seed: 3 });
  const E = cfg.embedding_dim;
  // one row per chunk, an odd number of rows (chunks straddle nothing: each part restarts), the default
  const stages: (number | undefined)[] = [1, E * 2 * 3 + 5, undefined];
  for (const dtype of ['int8', 'q4'] as const) {
    for (const stageBytes of stages) {
      for (const [how, s] of [['ranged', src], ['whole-tensor', withoutRanges(src)]] as const) {
        const before = be.heap.bytesInUse;
        const opts: LoadWeightsOptions = { dtype, ...(stageBytes === undefined ? {} : { stageBytes }) };
        const w = await loadXLSTMLargeWeights(be, s, cfg, opts);
        try {
          // staging buffers are gone: the heap holds the weights and nothing else
          assert.equal(be.heap.bytesInUse - before, w.bytes, `${dtype} stage ${stageBytes} ${how}: heap bytes`);
          await checkAgainstReference(`${dtype} stage ${stageBytes} ${how}`, w, src, dtype);
          // the bf16 embedding is read straight into the heap (in concurrent ranges when big)
          sameArray(`${dtype} stage ${stageBytes} ${how} embedding`, w.embedding.data as Uint16Array, (await src.read('backbone.embeddings.weight')).data as Uint16Array);
        } finally { w.dispose(); }
        assert.equal(be.heap.bytesInUse, before);
      }
    }
  }
});

test('mixed bf16 / f16 / f32 / f64 tensors in one matrix, from memory, a file and shards: int8, q4 and bf16 = the JS reference', async () => {
  const rnd = new RandomXLSTMLargeSource(cfg, { dtype: 'f32', seed: 5 });
  const dtypes = ['bf16', 'f16', 'f32', 'f64'] as const;
  const tensors: Record<string, Tensor> = {};
  rnd.names().forEach((n, i) => {
    const t = rnd.read(n);
    const to = t.shape.length === 2 ? dtypes[i % 4] : 'f32';
    const f = t.data as Float32Array;
    tensors[n] = to === 'f32' ? t
      : to === 'f64' ? new Tensor('f64', t.shape, Float64Array.from(f, (v, j) => v * (1 + 2 ** -40 * (j % 3))))
      : new Tensor(to, t.shape, to === 'bf16' ? f32ArrayToBf16(f) : f32ArrayToF16(f));
  });
  const bytes = serializeSafetensors(tensors);
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-load-'));
  try {
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    // two shards: the first half of the names in one, the rest in the other
    const names = Object.keys(tensors);
    const half = Math.ceil(names.length / 2);
    const shard = (ns: string[]) => serializeSafetensors(Object.fromEntries(ns.map((n) => [n, tensors[n]])));
    writeFileSync(join(dir, 's1.safetensors'), shard(names.slice(0, half)));
    writeFileSync(join(dir, 's2.safetensors'), shard(names.slice(half)));
    writeFileSync(join(dir, SHARD_INDEX_FILE), JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(names.map((n, i) => [n, i < half ? 's1.safetensors' : 's2.safetensors'])) }));
    const mem = parseSafetensors(bytes);
    const file = await SafetensorsFile.open(join(dir, 'model.safetensors'));
    const sharded = await ShardedSafetensors.open(dir);
    try {
      for (const [how, src] of [['memory', mem], ['file', file], ['shards', sharded]] as const) {
        for (const dtype of ['int8', 'q4', 'bf16'] as const) {
          const w = await loadXLSTMLargeWeights(be, src, cfg, { dtype, stageBytes: 4096 });
          try { await checkAgainstReference(`${how} ${dtype}`, w, mem, dtype); } finally { w.dispose(); }
        }
      }
    } finally { await file.close(); await sharded.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a read failing mid-stream frees the staging buffers and every placed weight', async () => {
  const src = new RandomXLSTMLargeSource(cfg, { dtype: 'bf16', seed: 1 });
  let calls = 0;
  const failing: SafetensorsSource = {
    ...withoutRanges(src),
    readRangeInto: async (name, off, dest) => {
      await new Promise((r) => setTimeout(r, 1));
      if (++calls === 7) throw new Error(`disk gone while reading ${name}`);
      src.readRangeInto(name, off, dest);
    },
  };
  const before = be.heap.bytesInUse;
  await assert.rejects(loadXLSTMLargeWeights(be, failing, cfg, { dtype: 'int8', stageBytes: cfg.embedding_dim * 2 * 4 }), /disk gone while reading backbone\./);
  assert.equal(be.heap.bytesInUse, before);
  await assert.rejects(loadXLSTMLargeWeights(be, src, cfg, { dtype: 'int8', stageBytes: 0 }), /stageBytes is 0, expected an integer number of bytes in \[1, 1073741824\]/);
});

test('readRangeInto: stored bytes of a tensor range; ranges outside the tensor are named', async () => {
  const t = new Tensor('f32', [3, 4], Float32Array.from({ length: 12 }, (_, i) => i + 0.5));
  const bytes = serializeSafetensors({ w: t });
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-range-'));
  try {
    const path = join(dir, 'm.safetensors');
    writeFileSync(path, bytes);
    const file = await SafetensorsFile.open(path);
    try {
      for (const src of [parseSafetensors(bytes), file]) {
        const out = new Float32Array(5);
        await src.readRangeInto('w', 4 * 6, new Uint8Array(out.buffer));
        assert.deepEqual([...out], [6.5, 7.5, 8.5, 9.5, 10.5]);
        await assert.rejects(async () => src.readRangeInto('w', 40, new Uint8Array(12)), /tensor 'w'.*byte range \[40, 52\) is outside the tensor's 48 bytes|byte range \[40, 52\) is outside the tensor's 48 bytes/);
        await assert.rejects(async () => src.readRangeInto('w', -4, new Uint8Array(4)), /byte range \[-4, 0\) is outside/);
        await assert.rejects(async () => src.readRangeInto('nope', 0, new Uint8Array(4)), /no such tensor/);
      }
    } finally { await file.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
