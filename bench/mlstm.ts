// mLSTM throughput at the xLSTM-7B head shape (B=1, NH=8, DHQK=256, DHV=512): chunkwise
// prefill tokens/s (S=2048, chunk 64) and decode-step tokens/s, on 1 and 2 threads.
// Used by bench/index.ts (topic "mlstm"); runs alone with `node dist/bench/mlstm.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { mlstmChunkwise, mlstmStep, mlstmZeroState } from '../src/xlstm/mlstm/index.js';
import { BenchRow, time } from './report.js';

export interface MlstmBenchOptions {
  /** Shorter sequence and fewer runs (S = 256). */
  quick?: boolean;
  seqLen?: number;
  chunkSize?: number;
}

/**
 * Benchmarks on the given backends (one per thread count; default: new ones with 1 and
 * 2 threads). Rows: `mlstm chunkwise prefill ...` and `mlstm step ...` in tokens/s.
 */
export async function benchMlstm(backends?: WasmBackend[], opts: MlstmBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const B = 1, NH = 8, DHQK = 256, DHV = 512;
  const S = opts.seqLen ?? (opts.quick ? 256 : 2048);
  const L = opts.chunkSize ?? 64;
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  const arr = (n: number, s = 1, b = 0) => Float32Array.from({ length: n }, () => b + s * rnd());
  const rows: BenchRow[] = [];
  try {
    for (const be of bes) {
      const threads = be.threads;
      const up = (shape: number[], data: Float32Array) => be.upload(new Tensor('f32', shape, data));
      const x = {
        q: up([B, NH, S, DHQK], arr(B * NH * S * DHQK)), k: up([B, NH, S, DHQK], arr(B * NH * S * DHQK)),
        v: up([B, NH, S, DHV], arr(B * NH * S * DHV)), i: up([B, NH, S], arr(B * NH * S, 4)), f: up([B, NH, S], arr(B * NH * S, 4, 3)),
      };
      const pre = time(() => { mlstmChunkwise(be, x, { chunkSize: L }).h.dispose(); }, { warmup: 1, runs: opts.quick ? 2 : 5, maxMs: opts.quick ? 2000 : 8000 });
      rows.push({
        topic: 'mlstm', name: `chunkwise prefill B=${B} NH=${NH} DHQK=${DHQK} DHV=${DHV} S=${S} L=${L}`, threads,
        value: (B * S) / (pre.bestMs / 1000), unit: 'tokens/s', extra: { bestMs: pre.bestMs, medianMs: pre.medianMs },
      });
      for (const t of Object.values(x)) t.dispose();
      const st = mlstmZeroState(be, { B, NH, DHQK, DHV });
      const xs = {
        q: up([B, NH, DHQK], arr(B * NH * DHQK)), k: up([B, NH, DHQK], arr(B * NH * DHQK)),
        v: up([B, NH, DHV], arr(B * NH * DHV)), i: up([B, NH, 1], arr(B * NH)), f: up([B, NH, 1], arr(B * NH, 1, 3)),
      };
      const steps = 16;
      const dec = time(() => { for (let s = 0; s < steps; s++) mlstmStep(be, xs, st).h.dispose(); }, { warmup: 2, runs: opts.quick ? 3 : 10, maxMs: 3000 });
      rows.push({
        topic: 'mlstm', name: `step B=${B} NH=${NH} DHQK=${DHQK} DHV=${DHV}`, threads,
        value: (B * steps) / (dec.bestMs / 1000), unit: 'tokens/s', extra: { usPerStep: (dec.bestMs * 1000) / steps },
      });
      for (const t of [...Object.values(xs), st.c, st.n, st.m]) t.dispose();
    }
  } finally {
    if (own) bes.forEach((b) => b.dispose());
  }
  return rows;
}

// Run directly: node dist/bench/mlstm.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchMlstm(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(1)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
