// xLSTM-7B shape (embedding 4096, 8 heads, 32 blocks, FFN 10944, vocab 50304: NX-AI/xLSTM-7b's
// config.json) with random weights quantised at load to q4 and int8, spread over several wasm
// heaps (docs/BIG-MODELS.md). Per dtype: load time, peak memory, decode tokens/s at batch 1 and
// its fraction of the copy-bandwidth bound, and the time to first token of a 512-token prompt
// (prefill + LM head of the last position).
//
// Opt-in (topic "lm7b", never part of the default `npm run bench`): it needs ~5 GiB (q4) and
// ~8 GiB (int8) of memory and minutes of CPU (generating and quantising 6.9e9 random weights,
// then a 512-token prefill of ~7 TFLOP). Environment:
//   XLSTM_BENCH_7B_DTYPES  comma list of q4, int8 (default "q4,int8")
//   XLSTM_BENCH_7B_PROMPT  prompt tokens for the time to first token (default 512; 0 skips it)
//   XLSTM_BENCH_7B_BLOCKS  blocks (default 32, the real model; fewer for a quicker look)
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { XLSTMLarge, resolveXLSTMLargeConfig, XLSTMLargeDType } from '../src/models/xlstmLarge/index.js';
import { RandomXLSTMLargeSource } from '../src/models/xlstmLarge/randomWeights.js';
import { BenchRow, time } from './report.js';
import { benchCopy, BenchOptions } from './gemm.js';
import { decodeBytesPerToken } from './lm.js';

/** NX-AI/xLSTM-7b's config.json (the block count can be lowered for a quicker look). */
export function xlstm7bBenchConfig(numBlocks = 32) {
  return {
    embedding_dim: 4096, num_heads: 8, num_blocks: numBlocks, vocab_size: 50304,
    use_bias: false, norm_eps: 1e-6, norm_reduction_force_float32: true, add_out_norm: true,
    qk_dim_factor: 0.5, v_dim_factor: 1.0, mode: 'inference', chunk_size: 64, return_last_states: true,
    eps: 1e-6, inference_state_dtype: 'float32', ffn_proj_factor: 2.667, ffn_round_up_to_multiple_of: 64,
    gate_soft_cap: 15.0, output_logit_soft_cap: 30.0, weight_mode: 'single', tie_word_embeddings: false,
  } as const;
}

function envList(name: string, dflt: string): string[] {
  const v = typeof process !== 'undefined' ? process.env[name] : undefined;
  return (v ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
}

function envInt(name: string, dflt: number): number {
  const v = typeof process !== 'undefined' ? process.env[name] : undefined;
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bench lm7b: ${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Rows for the 2-thread backend only (the 7B on 1 thread adds minutes and nothing new). */
export async function benchLm7b(backends: WasmBackend[], opts: BenchOptions = { quick: false }): Promise<BenchRow[]> {
  const dtypes = envList('XLSTM_BENCH_7B_DTYPES', 'q4,int8');
  for (const d of dtypes) if (d !== 'q4' && d !== 'int8') throw new Error(`bench lm7b: XLSTM_BENCH_7B_DTYPES has ${JSON.stringify(d)}, expected q4 and/or int8`);
  const promptLen = envInt('XLSTM_BENCH_7B_PROMPT', 512);
  const blocks = envInt('XLSTM_BENCH_7B_BLOCKS', 32);
  const threads = Math.max(...backends.map((b) => b.threads));
  const cfg = resolveXLSTMLargeConfig(xlstm7bBenchConfig(blocks));
  // bf16 storage as the released checkpoint; each tensor is converted while it is read
  const src = new RandomXLSTMLargeSource(cfg, { dtype: 'bf16', seed: 7 });
  const rows: BenchRow[] = [];
  const decodeSteps = opts.quick ? 4 : 8;
  // The loader's bound with this source: producing its bytes (the random bf16 weights,
  // generated in JavaScript) into one reused buffer, as reading a file would be.
  const genS = timeSourceBytes(src);
  for (const dtype of dtypes as XLSTMLargeDType[]) {
    // A small caller heap of its own: the model adds heaps as its units need them.
    const be = await WasmBackend.create({ threads, initialMemoryBytes: 256 << 20 });
    try {
      const copyGBs = (await benchCopy([be], { quick: true }))[0].value;
      const rss0 = process.memoryUsage().rss;
      const c0 = process.cpuUsage();
      const tl = performance.now();
      const m = await XLSTMLarge.fromSource(src, cfg, { backend: be, dtype });
      const loadMs = performance.now() - tl;
      const loadCpu = process.cpuUsage(c0);
      try {
        const heapBytes = m.backends.reduce((a, b) => a + b.heap.bytesReserved, 0);
        const bytesPerToken = decodeBytesPerToken(m);
        let ttftMs = NaN;
        let st = m.emptyState(1);
        if (promptLen > 0) {
          const ids = [Array.from({ length: promptLen }, (_, i) => (i * 7919 + 13) % cfg.vocab_size)];
          const t0 = performance.now();
          const r = m.forward(ids, { logits: 'last' });
          ttftMs = performance.now() - t0;
          r.logits.dispose();
          for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
          st = r.state;
        }
        let tok = 5;
        const dec = time(() => {
          for (let s = 0; s < decodeSteps; s++) { const r = m.step([tok], st); tok = (tok * 31 + 7) % cfg.vocab_size; r.logits.dispose(); }
        }, { warmup: 1, runs: 3, maxMs: 1 });
        for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
        const tokS = decodeSteps / (dec.bestMs / 1000);
        const achievedGBs = (bytesPerToken * tokS) / 1e9;
        const maxRssMiB = process.resourceUsage().maxRSS / 1024;
        const name = `7B ${dtype} (E=4096, ${blocks} blocks, V=50304)`;
        rows.push({
          topic: 'lm7b', name: `decode B=1 ${name}`, threads: be.threads, value: tokS, unit: 'tokens/s',
          extra: { msPerToken: dec.bestMs / decodeSteps, medianTokS: decodeSteps / (dec.medianMs / 1000), cpuMsPerToken: dec.bestCpuMs / decodeSteps,
            weightMBPerToken: bytesPerToken / 1e6, achievedGBs, copyGBs, bandwidthFraction: achievedGBs / copyGBs, heaps: m.backends.length },
        });
        rows.push({ topic: 'lm7b', name: `load ${name}`, threads: be.threads, value: loadMs / 1000, unit: 's',
          extra: { weightsGiB: m.weights.bytes / 2 ** 30, sourceGiB: src.totalBytes / 2 ** 30, loadCpuS: (loadCpu.user + loadCpu.system) / 1e6,
            sourceGenS: genS, ratioToSourceGen: loadMs / 1000 / genS, heaps: m.backends.length } });
        rows.push({ topic: 'lm7b', name: `peak memory ${name}`, threads: be.threads, value: maxRssMiB, unit: 'MiB maxRSS',
          extra: { heapReservedMiB: heapBytes / 2 ** 20, rssBeforeLoadMiB: rss0 / 2 ** 20, rssNowMiB: process.memoryUsage().rss / 2 ** 20 } });
        if (promptLen > 0) {
          rows.push({ topic: 'lm7b', name: `time to first token, ${promptLen}-token prompt, ${name}`, threads: be.threads, value: ttftMs / 1000, unit: 's',
            extra: { prefillTokS: promptLen / (ttftMs / 1000) } });
        }
      } finally { m.dispose(); }
    } finally { be.dispose(); }
  }
  return rows;
}

/** Seconds to generate every tensor's stored bytes of `src` into one reused 16 MiB buffer. */
function timeSourceBytes(src: RandomXLSTMLargeSource): number {
  const buf = new Uint8Array(16 << 20);
  const t0 = performance.now();
  for (const name of src.names()) {
    const n = src.info(name).byteLength;
    for (let o = 0; o < n; o += buf.length) src.readRangeInto(name, o, buf.subarray(0, Math.min(buf.length, n - o)));
  }
  return (performance.now() - t0) / 1000;
}
