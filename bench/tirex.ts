// TiRex forecast throughput at the released size (12 sLSTM blocks x 512, 4 heads, FFN 1408,
// context 2048; random weights): series/s and ms per forecast call for batches of 1 and 32
// series, horizons 32 and 128, on 1 and 2 threads, and 256 series (H=32) on 2 threads (one
// timed call, also in --quick), beside the official torch code measured on the same 2-core
// machine (baseline columns and ratios).
// Used by bench/index.ts (topic "tirex"); runs alone with `node dist/bench/tirex.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { TiRex } from '../src/models/tirex/model.js';
import { resolveTiRexConfig } from '../src/models/tirex/config.js';
import { tirexWeightTable } from '../src/models/tirex/weights.js';
import { BenchRow, time } from './report.js';

export interface TirexBenchOptions {
  /** Fewer runs. */
  quick?: boolean;
  /** Override the batches of the main rows (default [1, 32]). */
  batches?: number[];
  /** Series of the many-series row (H=32, threads >= 2 only; default 256, 0 = no such row). */
  manySeries?: number;
  horizons?: number[];
}

/** The released NX-AI/TiRex hyper-parameters. */
export const RELEASED_TIREX_CONFIG = {
  model_config: {
    input_patch_size: 32, output_patch_size: 32, quantiles: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    block_kwargs: { embedding_dim: 512, num_heads: 4, num_blocks: 12, ffn_proj_factor: 2.6667 }, input_ff_dim: 2048,
  },
  train_ctx_len: 2048,
};

/**
 * Official TiRex (torch, CPU, same 2-core machine), seconds per forecast call, from the issue:
 * one series h32 0.63-0.87 s (midpoint used), a batch of 32 (h32) 8.9 s, one series h128 2.9 s.
 */
export const OFFICIAL_SECONDS: Record<string, number> = { 'b1 h32': 0.75, 'b32 h32': 8.9, 'b1 h128': 2.9 };

/** A TiRex with random weights of the given hyper-parameters (scaled so activations stay O(1)). */
export async function randomTiRex(be: WasmBackend, hp: unknown = RELEASED_TIREX_CONFIG, seed = 7): Promise<TiRex> {
  const cfg = resolveTiRexConfig(hp, 'bench');
  let s = seed >>> 0;
  const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of tirexWeightTable(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape[shape.length - 1];
    const d = new Float32Array(n);
    if (name.endsWith('norm_slstm.weight') || name.endsWith('norm_ffn.weight') || name === 'out_norm.weight') d.fill(1);
    else if (shape.length === 1) for (let i = 0; i < n; i++) d[i] = 0.2 * rnd();
    else { const sc = 2 / Math.sqrt(fanIn); for (let i = 0; i < n; i++) d[i] = sc * rnd(); }
    tensors.set(name, new Tensor('f32', shape, d));
  }
  return TiRex.fromTensors(hp, tensors, { backend: be });
}

function randomSeries(n: number, len: number, seed = 3): Float32Array[] {
  let s = seed >>> 0;
  const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  return Array.from({ length: n }, (_, i) => Float32Array.from({ length: len }, (_, t) => 10 + i + 3 * Math.sin(t / (5 + (i % 7))) + rnd()));
}

/**
 * GFLOP of the sLSTM stack's matrix products in one forecast call (12 blocks x 512, 4 heads,
 * FFN 1408): per token and block the head-wise gate projection and the recurrent kernel
 * (4 gates x NH x DH x DH each) and the three FFN matrices (3 x E x FFN); passes of
 * ctx/32 + k - 1 tokens, one per k output patches. The patch embedding and output head add ~8%.
 */
export function stackGflop(B: number, ctx: number, H: number, k: number): number {
  const E = 512, NH = 4, DH = E / NH, FFN = 1408, blocks = 12;
  const perToken = blocks * 2 * (2 * 4 * NH * DH * DH + 3 * E * FFN);
  const passes = Math.ceil(Math.ceil(H / 32) / k);
  return (B * passes * (Math.ceil(ctx / 32) + k - 1) * perToken) / 1e9;
}

/** Rows: series/s per (batch, horizon, threads), with the official figure where one exists. */
export async function benchTirex(backends?: WasmBackend[], opts: TirexBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1, initialMemoryBytes: 640 << 20 }), await WasmBackend.create({ threads: 2, initialMemoryBytes: 640 << 20 })] : backends!;
  const batches = opts.batches ?? [1, 32];
  const horizons = opts.horizons ?? [32, 128];
  const ctx = RELEASED_TIREX_CONFIG.train_ctx_len;
  const rows: BenchRow[] = [];
  for (const be of bes) {
    const model = await randomTiRex(be);
    try {
      // first call uploads the recurrent kernels and JIT-compiles the JS around the kernels
      model.forecast(randomSeries(1, ctx), { predictionLength: 32 });
      for (const H of horizons) {
        for (const B of batches) {
          const series = randomSeries(B, ctx);
          const work = B * Math.ceil(H / 32);
          // a call of 32+ series takes seconds (256: tens of seconds on one thread): one timed run there
          const big = work >= 32;
          // CPU time (all threads) beside wall time: the machine is shared, and core-ms per call
          // show the work done even when other processes stretch the wall clock
          const cpu = typeof process !== 'undefined' && process.cpuUsage ? () => process.cpuUsage().user / 1000 : () => NaN;
          let cpuBest = Infinity;
          const t = time(() => {
            const c0 = cpu();
            model.forecast(series, { predictionLength: H, batchSize: Math.min(B, 64) });
            cpuBest = Math.min(cpuBest, cpu() - c0);
          }, { warmup: big ? 0 : 1, runs: big ? 1 : opts.quick ? 2 : 3, maxMs: 1 });
          const off = OFFICIAL_SECONDS[`b${B} h${H}`];
          const extra: Record<string, number | string> = { msPerCall: t.bestMs, medianMs: t.medianMs, cpuMsPerCall: cpuBest, runs: t.runs, ctx };
          if (off !== undefined) {
            extra.officialSeriesPerS = B / off;
            extra.speedup = (B / (t.bestMs / 1000)) / (B / off);
          }
          const gflop = stackGflop(B, ctx, H, 1);
          extra.stackGflop = gflop;
          extra.stackGflopsPerCpuS = gflop / (cpuBest / 1000);
          rows.push({ topic: 'tirex', name: `forecast B=${B} H=${H} ctx=${ctx} 12x512`, threads: be.threads, value: B / (t.bestMs / 1000), unit: 'series/s', extra });
        }
      }
      // The official option max_accelerated_rollout_steps: H=128 in one pass (3 fully masked
      // tokens appended) instead of 4 passes that each feed the forecast back in; other numbers
      // than k = 1, so a row of its own.
      {
        const series = randomSeries(1, ctx);
        const c0 = process.cpuUsage().user;
        const t = time(() => { model.forecast(series, { predictionLength: 128, maxAcceleratedRolloutSteps: 4 }); }, { warmup: 1, runs: opts.quick ? 2 : 3, maxMs: 1 });
        const cpuMs = (process.cpuUsage().user - c0) / 1000 / (t.runs + 1);
        rows.push({ topic: 'tirex', name: `forecast B=1 H=128 ctx=${ctx} maxAcceleratedRolloutSteps=4`, threads: be.threads, value: 1 / (t.bestMs / 1000), unit: 'series/s',
          extra: { msPerCall: t.bestMs, medianMs: t.medianMs, cpuMsPerCallMean: cpuMs, stackGflop: stackGflop(1, ctx, 128, 4) } });
      }
      // many series (issue 14: 256 series >= 45 series/s): 2 threads only, one timed call
      // (~30 CPU-s), batches of the default 64 series as a caller would run them
      const many = opts.manySeries ?? 256;
      if (many > 0 && be.threads >= 2) {
        const series = randomSeries(many, ctx);
        const c0 = process.cpuUsage();
        const t = time(() => { model.forecast(series, { predictionLength: 32 }); }, { warmup: 0, runs: 1, maxMs: 1 });
        const c = process.cpuUsage(c0);
        const cpuMs = (c.user + c.system) / 1000;
        const gflop = stackGflop(many, ctx, 32, 1);
        rows.push({ topic: 'tirex', name: `forecast B=${many} H=32 ctx=${ctx} 12x512`, threads: be.threads, value: many / (t.bestMs / 1000), unit: 'series/s',
          extra: { msPerCall: t.bestMs, cpuMsPerCall: cpuMs, runs: t.runs, ctx, stackGflop: gflop, stackGflopsPerCpuS: gflop / (cpuMs / 1000) } });
      }
      // short series (air passengers' 132 values): most of the 64 tokens are fully masked and skipped
      const short = randomSeries(32, 132);
      model.forecast(short.slice(0, 1), { predictionLength: 32 });
      const ts = time(() => { model.forecast(short, { predictionLength: 32 }); }, { warmup: 1, runs: opts.quick ? 2 : 3, maxMs: 1 });
      rows.push({ topic: 'tirex', name: 'forecast B=32 H=32 ctx=132 12x512', threads: be.threads, value: 32 / (ts.bestMs / 1000), unit: 'series/s', extra: { msPerCall: ts.bestMs, medianMs: ts.medianMs, ctx: 132 } });
    } finally { model.dispose(); }
  }
  if (own) bes.forEach((b) => b.dispose());
  return rows;
}

// Run directly: node dist/bench/tirex.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchTirex(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(2)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
