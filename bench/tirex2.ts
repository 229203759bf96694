// TiRex-2 forecast throughput at the released size (official test configuration, which the
// README's 38.4M + 44.1M parameters match: 12 blocks alternating bi-mLSTM / bi-sLSTM, E 512,
// 4 heads, patch 32, context 2048, future 320, input_ff_dim 2048, h_expand 4, 9 quantiles;
// random weights): forecasts/s for a univariate series and for a target with 3 covariates
// (1 past, 2 future-known: the future ones also run the reverse-time pass), context 2048.
// One forward pass gives the whole horizon (<= 320), so H hardly matters.
// Used by bench/index.ts (topic "tirex2"); runs alone with `node dist/bench/tirex2.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { TiRex2, TiRex2Series } from '../src/models/tirex2/model.js';
import { resolveTiRex2Config, tirex2NumParameters } from '../src/models/tirex2/config.js';
import { randomTiRex2Weights, tirex2ConfigJson } from '../src/models/tirex2/init.js';
import { BenchRow, time } from './report.js';

export interface Tirex2BenchOptions {
  /** One series per case and fewer runs. */
  quick?: boolean;
}

/** The released structure (see the sheet: an inference from the parameter counts; the released config.json was not inspected). */
export const RELEASED_TIREX2_SIZES = { embeddingDim: 512, numHeads: 4, numBlocks: 12, patchSize: 32, contextLength: 2048, futureLength: 320, inputFfDim: 2048, hExpand: 4 };

function wave(len: number, k: number): number[] {
  let s = 17 + k;
  return Array.from({ length: len }, (_, t) => { s = (s * 1664525 + 1013904223) >>> 0; return 10 + k + 3 * Math.sin(t / (5 + (k % 7))) + (s / 2 ** 32 - 0.5); });
}

export async function benchTirex2(backends?: WasmBackend[], opts: Tirex2BenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1, initialMemoryBytes: 640 << 20 }), await WasmBackend.create({ threads: 2, initialMemoryBytes: 640 << 20 })] : backends!;
  const json = tirex2ConfigJson(RELEASED_TIREX2_SIZES);
  const cfg = resolveTiRex2Config(json, 'bench');
  const weights = randomTiRex2Weights(cfg, 7, 0.01);
  const ctx = cfg.contextLength, H = 64;
  const batches = opts.quick ? [1] : [1, 4];
  const cases: [string, (b: number) => TiRex2Series[]][] = [
    ['univariate', (b) => Array.from({ length: b }, (_, i) => ({ target: wave(ctx, i) }))],
    ['1 target + 1 past + 2 future covariates', (b) => Array.from({ length: b }, (_, i) => ({
      target: wave(ctx, i), pastCovariates: [wave(ctx, i + 50)], futureCovariates: [wave(ctx + H, i + 80), wave(ctx + H, i + 90).map((v) => (v > 10 + i + 90 ? 1 : 0))],
    }))],
  ];
  const rows: BenchRow[] = [];
  for (const be of bes) {
    const model = new TiRex2(cfg, weights, { backend: be });
    try {
      for (const [label, make] of cases) {
        for (const B of batches) {
          const series = make(B);
          const t = time(() => { model.forecast(series, { predictionLength: H }); }, { warmup: opts.quick ? 0 : 1, runs: opts.quick ? 1 : 2, maxMs: 1 });
          rows.push({
            topic: 'tirex2', name: `forecast ${label} B=${B} H=${H} ctx=${ctx} 12x512`, threads: be.threads, value: B / (t.bestMs / 1000), unit: 'forecasts/s',
            // CPU time (all threads) beside wall time: on the shared machine wall time includes waiting for a core
            extra: { msPerCall: t.bestMs, medianMs: t.medianMs, cpuMsPerCall: t.bestCpuMs, runs: t.runs, ctx, parameters: tirex2NumParameters(cfg) },
          });
        }
      }
    } finally { model.dispose(); }
  }
  if (own) bes.forEach((b) => b.dispose());
  return rows;
}

// Run directly: node dist/bench/tirex2.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchTirex2(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(3)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
