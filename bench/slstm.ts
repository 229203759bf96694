// sLSTM recurrence throughput at TiRex's shape (B=1, NH=4, DH=128): steps per second of the
// wasm sequence kernel, plain f32 and TiRex bf16 mode, on 1 and 2 threads.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { loadSlstmParams } from '../src/xlstm/slstm/params.js';
import { slstmForward } from '../src/xlstm/slstm/cell.js';

export interface SlstmBenchRow { name: string; threads: number; value: number; unit: string }

export interface SlstmBenchOptions { seqLen?: number; numHeads?: number; headDim?: number; repeats?: number; threads?: number[] }

export async function benchSlstm(opts: SlstmBenchOptions = {}): Promise<SlstmBenchRow[]> {
  const S = opts.seqLen ?? 2048, NH = opts.numHeads ?? 4, DH = opts.headDim ?? 128, H = NH * DH;
  const repeats = opts.repeats ?? 5;
  const threadCounts = opts.threads ?? [1, 2];
  const maxT = Math.max(...threadCounts);
  const be = await WasmBackend.create({ threads: maxT });
  const rows: SlstmBenchRow[] = [];
  try {
    let seed = 1;
    const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
    const R = Float32Array.from({ length: NH * DH * 4 * DH }, () => rnd() / Math.sqrt(DH));
    const bias = Float32Array.from({ length: 4 * H }, () => rnd());
    const p = loadSlstmParams({ recurrentKernel: new Tensor('f32', [NH, DH, 4 * DH], R), bias: new Tensor('f32', [4 * H], bias), numHeads: NH, layout: 'cuda' });
    const x = be.upload(new Tensor('f32', [1, S, 4 * H], Float32Array.from({ length: S * 4 * H }, () => 2 * rnd())));
    for (const mode of [false, 'tirex'] as const) {
      for (const threads of threadCounts) {
        const run = () => { const r = slstmForward(be, x, p, { bf16: mode, threads, outputLayout: 'BSH' }); r.y.dispose(); r.state.dispose(); };
        run(); // warm-up (uploads the parameters once)
        let best = Infinity;
        for (let i = 0; i < repeats; i++) {
          const t0 = performance.now();
          run();
          best = Math.min(best, performance.now() - t0);
        }
        rows.push({ name: `slstm ${mode ? 'bf16-tirex' : 'f32'} B=1 NH=${NH} DH=${DH} S=${S}`, threads, value: S / (best / 1000), unit: 'steps/s' });
      }
    }
  } finally {
    be.dispose();
  }
  return rows;
}

// Run directly: node dist/bench/slstm.js
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const r of await benchSlstm()) console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(0)} ${r.unit}`);
}
