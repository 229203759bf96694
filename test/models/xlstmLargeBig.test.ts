// A checkpoint bigger than one WebAssembly memory (4 GiB). Runs only with
// XLSTM_BIG_TEST=1 (needs ~6 GB of free disk in the temp dir, ~8 GB of RAM and a few
// minutes; see docs/BIG-MODELS.md):
//   XLSTM_BIG_TEST=1 npm test -- xlstmLargeBig
// It writes a random-weight checkpoint with the xLSTM-7B layout and sizes (HF names,
// E=4096, 8 heads, FFN 10944, vocab 50304) but only XLSTM_BIG_BLOCKS (default 10)
// blocks, as bf16 shards, tensor by tensor (never the whole file in memory); loads it
// with dtype bf16 (which must take two heaps) and int8 (one heap); and generates
// greedy tokens with both. Time and peak RSS are reported as test diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { XLSTMLarge, XLSTMLargeConfigInput } from '../../src/models/xlstmLarge/index.js';
import { timeFileRead, writeRandomCheckpoint } from '../../bench/checkpointFile.js';

const BIG = process.env.XLSTM_BIG_TEST === '1';

/** xLSTM-7B's config.json (NX-AI/xLSTM-7b) with fewer blocks. */
export function xlstm7bConfig(numBlocks: number): XLSTMLargeConfigInput {
  return {
    model_type: 'xlstm', embedding_dim: 4096, num_heads: 8, num_blocks: numBlocks, vocab_size: 50304,
    use_bias: false, norm_eps: 1e-6, norm_reduction_force_float32: true, add_out_norm: true,
    qk_dim_factor: 0.5, v_dim_factor: 1.0, chunkwise_kernel: 'chunkwise--triton_xl_chunk', sequence_kernel: 'native_sequence__triton',
    step_kernel: 'triton', mode: 'inference', chunk_size: 64, return_last_states: true, autocast_kernel_dtype: 'bfloat16',
    eps: 1e-6, inference_state_dtype: 'float32', ffn_proj_factor: 2.667, ffn_round_up_to_multiple_of: 64,
    gate_soft_cap: 15.0, output_logit_soft_cap: 30.0, weight_mode: 'single', tie_word_embeddings: false,
    bos_token_id: 0, eos_token_id: 2, pad_token_id: 1,
  };
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

test('checkpoint > 4 GiB in the xLSTM-7B layout: bf16 over two heaps, int8, greedy tokens', { skip: BIG ? false : 'set XLSTM_BIG_TEST=1 (writes ~5 GB to the temp dir)' }, async (t) => {
  const blocks = Number(process.env.XLSTM_BIG_BLOCKS ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-big-'));
  const be = await WasmBackend.create({ threads: 2 });
  const t0 = performance.now();
  try {
    const { total, shards } = await writeRandomCheckpoint(dir, xlstm7bConfig(blocks), 2 * 2 ** 30);
    const tWrite = performance.now();
    assert.ok(total > 4 * 2 ** 30, `checkpoint is ${gib(total)}, must exceed 4 GiB`);
    t.diagnostic(`wrote ${gib(total)} (${blocks} blocks) in ${((tWrite - t0) / 1000).toFixed(1)} s`);
    const prompt = [[0, 17, 923, 4001, 77, 12, 30000, 5]];
    const n = 3;
    let reported = 0;
    const bf = await XLSTMLarge.fromPretrained(dir, { backend: be, dtype: 'bf16', onProgress: (p) => { reported = p.loadedBytes; assert.ok(p.loadedBytes <= p.totalBytes); } });
    let bfTokens: number[][], bfLast: Float32Array;
    try {
      const tLoad = performance.now();
      assert.equal(reported, total);
      assert.ok(bf.backends.length >= 2, `bf16 weights (${gib(bf.weights.bytes)}) must take more than one heap, got ${bf.backends.length}`);
      assert.ok(bf.weights.heapBytes.every((b) => b <= 3.5 * 2 ** 30));
      t.diagnostic(`bf16: loaded in ${((tLoad - tWrite) / 1000).toFixed(1)} s on ${bf.backends.length} heaps (${bf.weights.heapBytes.map(gib).join(' + ')}), blocks on heaps ${bf.weights.placement.blocks.join(',')}`);
      const g = bf.generate(prompt, { maxLength: n, returnLogits: true });
      bfTokens = g.tokens;
      bfLast = (g.logits!.data as Float32Array).slice(0, 50304);
      const tGen = performance.now();
      t.diagnostic(`bf16: generated ${JSON.stringify(g.tokens)} in ${((tGen - tLoad) / 1000).toFixed(1)} s`);
      assert.equal(g.tokens[0].length, n);
      for (const tok of g.tokens[0]) assert.ok(Number.isInteger(tok) && tok >= 0 && tok < 50304);
      assert.ok(bfLast.every(Number.isFinite));
      g.state.forEach((s, b) => assert.ok(bf.blockBackend(b).heap.owns(s.c.data), `state of block ${b} on its heap`));
    } finally { bf.dispose(); }
    // the loader's bound: reading the files start to end (into a reused buffer), right before loading
    const read = await timeFileRead(shards);
    const tI = performance.now();
    const q = await XLSTMLarge.fromPretrained(dir, { backend: be, dtype: 'int8' });
    try {
      const tLoad = performance.now();
      const loadS = (tLoad - tI) / 1000;
      t.diagnostic(`int8: loaded (quantised from bf16) in ${loadS.toFixed(1)} s on ${q.backends.length} heap(s), ${gib(q.weights.bytes)}; reading the files alone took ${read.seconds.toFixed(2)} s (${(read.bytes / read.seconds / 1e9).toFixed(2)} GB/s): ${(loadS / read.seconds).toFixed(1)}x`);
      const g = q.generate(prompt, { maxLength: n, returnLogits: true });
      t.diagnostic(`int8: generated ${JSON.stringify(g.tokens)} in ${((performance.now() - tLoad) / 1000).toFixed(1)} s`);
      const last = (g.logits!.data as Float32Array).subarray(0, 50304);
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < last.length; i++) { dot += last[i] * bfLast[i]; na += last[i] ** 2; nb += bfLast[i] ** 2; }
      const cos = dot / Math.sqrt(na * nb);
      t.diagnostic(`int8 vs bf16 first-token logits: cosine ${cos.toFixed(4)}; tokens bf16 ${JSON.stringify(bfTokens)}`);
      assert.ok(cos > 0.9, `int8 logits must follow the bf16 ones (cosine ${cos})`);
    } finally { q.dispose(); }
    const ru = process.resourceUsage();
    t.diagnostic(`total ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${gib(ru.maxRSS * 1024)}; shard sizes ${JSON.stringify(shardSizes(dir))}`);
  } finally {
    be.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

function shardSizes(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().map((f) => gib(statSync(join(dir, f)).size));
}
