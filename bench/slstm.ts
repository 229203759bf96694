// sLSTM throughput at TiRex's shape (B=1, NH=4, DH=128): sequence steps/s of the wasm kernel
// (the whole recurrence in one call), plain f32 and TiRex bf16 mode, and slstmStep calls/s
// (one kernel dispatch per step), on 1 and 2 threads.
// Used by bench/index.ts (topic "slstm"); runs alone with `node dist/bench/slstm.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { loadSlstmParams } from '../src/xlstm/slstm/params.js';
import { slstmForward, slstmStep } from '../src/xlstm/slstm/cell.js';
import { BenchRow, time } from './report.js';

export interface SlstmBenchOptions {
  /** Shorter sequence and fewer runs (S = 256). */
  quick?: boolean;
  seqLen?: number;
  numHeads?: number;
  headDim?: number;
}

/** Benchmarks on the given backends (default: new ones with 1 and 2 threads). Rows in steps/s. */
export async function benchSlstm(backends?: WasmBackend[], opts: SlstmBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const B = 1, NH = opts.numHeads ?? 4, DH = opts.headDim ?? 128, H = NH * DH;
  const S = opts.seqLen ?? (opts.quick ? 256 : 2048);
  let seed = 11;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  const arr = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rnd());
  const p = loadSlstmParams({
    recurrentKernel: new Tensor('f32', [NH, DH, 4 * DH], arr(NH * DH * 4 * DH, 2 / Math.sqrt(DH))),
    bias: new Tensor('f32', [4 * H], arr(4 * H, 2)), numHeads: NH, layout: 'cuda',
  });
  const rows: BenchRow[] = [];
  try {
    for (const be of bes) {
      const threads = be.threads;
      const x = be.upload(new Tensor('f32', [B, S, 4 * H], arr(B * S * 4 * H, 4)));
      for (const mode of [false, 'tirex'] as const) {
        const t = time(() => { const r = slstmForward(be, x, p, { bf16: mode, outputLayout: 'BSH', threads }); r.y.dispose(); r.state.dispose(); },
          { warmup: 2, runs: opts.quick ? 3 : 8, maxMs: opts.quick ? 2000 : 6000 });
        rows.push({
          topic: 'slstm', name: `sequence ${mode ? 'bf16-tirex' : 'f32'} B=${B} NH=${NH} DH=${DH} S=${S}`, threads,
          value: (B * S) / (t.bestMs / 1000), unit: 'steps/s', extra: { usPerStep: (t.bestMs * 1000) / S, medianMs: t.medianMs },
        });
      }
      x.dispose();
      const xs = be.upload(new Tensor('f32', [B, 4 * H], arr(B * 4 * H, 4)));
      const steps = 32;
      const t = time(() => {
        let st: Tensor | undefined;
        for (let s = 0; s < steps; s++) { const r = slstmStep(be, xs, p, st, { bf16: 'tirex' }); st?.dispose(); r.y.dispose(); st = r.state; }
        st?.dispose();
      }, { warmup: 2, runs: opts.quick ? 3 : 10, maxMs: 3000 });
      rows.push({
        topic: 'slstm', name: `slstmStep bf16-tirex B=${B} NH=${NH} DH=${DH}`, threads,
        value: (B * steps) / (t.bestMs / 1000), unit: 'steps/s',
        // default thread choice: one step is too small to split, so the kernel runs on 1 thread
        extra: { usPerStep: (t.bestMs * 1000) / steps, threadsChosen: 'auto' },
      });
      xs.dispose();
    }
  } finally {
    if (own) bes.forEach((b) => b.dispose());
  }
  return rows;
}

// Run directly: node dist/bench/slstm.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchSlstm(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(0)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
