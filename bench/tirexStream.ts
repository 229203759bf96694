// Streaming TiRex (src/models/tirex/stream.ts) on the shipped default forecaster
// (models/default-forecaster): updates/s at context 2048, each update = new values then a
// forecast of horizon 32, against a full re-run (TiRex.forecast on the whole series so far,
// which reads its last train_ctx_len values) per update. Rows: one patch (32 values) per update
// with patchAlignment 'fixed' and 'every', and one value per update with 'every'.
// Used by bench/index.ts (topic "tirex-stream"); runs alone with `node dist/bench/tirexStream.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { loadDefaultForecaster } from '../src/models/tirex/defaultForecaster.js';
import type { TiRex } from '../src/models/tirex/model.js';
import type { TiRexStreamAlignment } from '../src/models/tirex/stream.js';
import { BenchRow } from './report.js';

export interface TirexStreamBenchOptions { quick?: boolean }

const CONTEXT = 2048;
const HORIZON = 32;

function series(n: number, seed = 5): Float64Array {
  let s = seed >>> 0;
  const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  return Float64Array.from({ length: n }, (_, t) => 100 + 10 * Math.sin((2 * Math.PI * t) / 24) + 3 * rnd());
}

/**
 * ms per update, each update = new values then a forecast: the median over `updates` runs after
 * `warmup` (a shared machine's GC pauses and neighbours show up as outliers; the mean is kept too).
 */
function perUpdate(updates: number, warmup: number, run: (u: number) => void): { median: number; mean: number } {
  for (let u = 0; u < warmup; u++) run(u);
  const ts: number[] = [];
  for (let u = warmup; u < warmup + updates; u++) { const t0 = performance.now(); run(u); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  return { median: ts[ts.length >> 1], mean: ts.reduce((a, b) => a + b, 0) / ts.length };
}

export async function benchTirexStream(backends?: WasmBackend[], opts: TirexStreamBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const updates = opts.quick ? 16 : 64, warmup = 3;
  const rows: BenchRow[] = [];
  for (const be of bes) {
    const model: TiRex = await loadDefaultForecaster({ backend: be });
    try {
      const P = model.config.inputPatchSize;
      const x = series(CONTEXT + (updates + warmup) * P);
      const full = perUpdate(updates, warmup, (u) => { model.forecast(x.subarray(0, CONTEXT + (u + 1) * P), { predictionLength: HORIZON }); });
      const cases: [TiRexStreamAlignment, number][] = [['fixed', P], ['every', P], ['every', 1]];
      for (const [alignment, step] of cases) {
        const t0 = performance.now();
        const st = model.stream(x.subarray(0, CONTEXT), { maxContext: CONTEXT, patchAlignment: alignment });
        const startMs = performance.now() - t0;
        const ms = perUpdate(updates, warmup, (u) => {
          st.push(x.subarray(CONTEXT + u * step, CONTEXT + (u + 1) * step));
          st.forecast({ predictionLength: HORIZON });
        });
        rows.push({
          topic: 'tirex-stream', name: `stream '${alignment}' +${step} value${step > 1 ? 's' : ''}/update H=${HORIZON} ctx=${CONTEXT} default-forecaster`, threads: be.threads,
          value: 1000 / ms.median, unit: 'updates/s',
          extra: {
            msPerUpdate: ms.median, meanMsPerUpdate: ms.mean, fullRerunMsPerUpdate: full.median, fullRerunMeanMs: full.mean,
            fullRerunUpdatesPerS: 1000 / full.median, speedup: full.median / ms.median, streamStartMs: startMs, updates,
          },
        });
      }
    } finally { model.dispose(); }
  }
  if (own) bes.forEach((b) => b.dispose());
  return rows;
}

// Run directly: node dist/bench/tirexStream.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  const rows = await benchTirexStream(undefined, { quick: process.argv.includes('--quick') });
  for (const r of rows) console.log(`${r.name} threads=${r.threads}: ${r.value.toFixed(1)} ${r.unit}, ${JSON.stringify(r.extra)}`);
}
