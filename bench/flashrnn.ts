// FlashRNN cells: sequence steps/s of the fused wasm kernels (lstm, gru, elman, slstm) at the
// official head sizes (hidden size 768 split as (DH, NH) = (16, 48) ... (768, 1), the head-dim
// experiment of NX-AI/flashrnn's kernel_speed_benchmark.py, here with B=2 and short sequences:
// a CPU is ~1000x slower than the paper's GPU), beside the existing sLSTM kernel (the xLSTM
// sLSTM of slstmForward) at the same shape, forward+backward on the tape, and a plain per-step
// TypeScript loop (the float64 reference, one step at a time: the vanilla backend's structure).
// Used by bench/index.ts (topic "flashrnn"); runs alone with `node dist/bench/flashrnn.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { flashrnn, packFlashRnnWeights } from '../src/xlstm/flashrnn/flashrnn.js';
import { FLASHRNN_CELLS, FlashRnnCell, flashrnnForwardRef } from '../src/backend/ref/flashrnn.js';
import { loadSlstmParams } from '../src/xlstm/slstm/params.js';
import { slstmForward } from '../src/xlstm/slstm/cell.js';
import { Tape } from '../src/autograd/tape.js';
import * as ag from '../src/autograd/ops.js';
import { flashrnn as agFlashrnn } from '../src/autograd/flashrnn.js';
import { BenchRow, time } from './report.js';

export interface FlashRnnBenchOptions {
  /** Fewer head sizes, shorter sequences, fewer runs. */
  quick?: boolean;
}

const CELLS: FlashRnnCell[] = ['lstm', 'gru', 'elman', 'slstm'];
const HIDDEN = 768;

/** Benchmarks on the given backends (default: new ones with 1 and 2 threads). Rows in steps/s (B * T per second). */
export async function benchFlashrnn(backends?: WasmBackend[], opts: FlashRnnBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const quick = !!opts.quick;
  const B = 2, T = quick ? 16 : 64;
  const heads: [number, number][] = quick ? [[64, 12], [768, 1]] : [[16, 48], [32, 24], [64, 12], [128, 6], [256, 3], [768, 1]];
  let seed = 5;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  const arr = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rnd());
  const runs = { warmup: 1, runs: quick ? 3 : 5, maxMs: quick ? 1500 : 4000 };
  const rows: BenchRow[] = [];
  try {
    for (const [DH, NH] of heads) {
      const inputs = new Map<FlashRnnCell, { Wx: Tensor; R: Tensor; b: Tensor }>();
      for (const cell of CELLS) {
        const s = FLASHRNN_CELLS[cell];
        inputs.set(cell, {
          Wx: new Tensor('f32', [B, T, s.gatesW, NH, DH], arr(B * T * s.gatesW * NH * DH, 2)),
          R: new Tensor('f32', [s.gatesR, NH, DH, DH], arr(s.gatesR * NH * DH * DH, 2 / Math.sqrt(DH))),
          b: new Tensor('f32', [s.gatesB, NH, DH], arr(s.gatesB * NH * DH, 2)),
        });
      }
      const slstmParams = loadSlstmParams({
        recurrentKernel: new Tensor('f32', [NH, DH, 4 * DH], arr(NH * DH * 4 * DH, 2 / Math.sqrt(DH))),
        bias: new Tensor('f32', [4 * HIDDEN], arr(4 * HIDDEN, 2)), numHeads: NH, layout: 'cuda',
      });
      for (const be of bes) {
        const threads = be.threads;
        for (const cell of CELLS) {
          const x = inputs.get(cell)!;
          const Wx = be.upload(x.Wx);
          // weights packed once, as the sLSTM kernel's parameters are (its device cache)
          const packed = packFlashRnnWeights(be, cell, { N: NH, D: DH }, x.R.toFloat32(), x.b.toFloat32());
          const t = time(() => { const r = flashrnn(be, Wx, x.R, x.b, null, { cell, threads, packed }); r.states.dispose(); r.lastStates.dispose(); }, runs);
          rows.push({ topic: 'flashrnn', name: `${cell} forward B=${B} NH=${NH} DH=${DH} T=${T}`, threads, value: (B * T) / (t.bestMs / 1000), unit: 'steps/s', extra: { medianMs: t.medianMs, bestCpuMs: t.bestCpuMs } });
          Wx.dispose(); packed.dispose();
        }
        // the existing xLSTM sLSTM kernel on the same shape (its gate pre-activations [B, T, 4H])
        const xs = be.upload(new Tensor('f32', [B, T, 4 * HIDDEN], arr(B * T * 4 * HIDDEN, 2)));
        const t = time(() => { const r = slstmForward(be, xs, slstmParams, { outputLayout: 'BSH', threads }); r.y.dispose(); r.state.dispose(); }, runs);
        rows.push({ topic: 'flashrnn', name: `xLSTM sLSTM kernel (slstmForward) B=${B} NH=${NH} DH=${DH} T=${T}`, threads, value: (B * T) / (t.bestMs / 1000), unit: 'steps/s', extra: { medianMs: t.medianMs, bestCpuMs: t.bestCpuMs } });
        xs.dispose();
      }
      if (DH === 64) {
        for (const be of bes) {
          for (const cell of CELLS) {
            const x = inputs.get(cell)!;
            const t = time(() => {
              const tape = new Tape(be, 'f32');
              const Wx = tape.input(x.Wx, true), R = tape.input(x.R, true), b = tape.input(x.b, true);
              const { states } = agFlashrnn(tape, Wx, R, b, null, { cell, threads: be.threads });
              tape.backward(ag.sumAll(tape, states));
            }, runs);
            rows.push({ topic: 'flashrnn', name: `${cell} forward+backward (tape) B=${B} NH=${NH} DH=${DH} T=${T}`, threads: be.threads, value: (B * T) / (t.bestMs / 1000), unit: 'steps/s', extra: { medianMs: t.medianMs } });
          }
        }
        // plain per-step loop in TypeScript, measured in the same run: the unfused baseline
        for (const cell of CELLS) {
          const x = inputs.get(cell)!;
          const d = { B, T, N: NH, D: DH };
          const wx = x.Wx.toFloat32(), r = x.R.toFloat32(), b = x.b.toFloat32();
          const t = time(() => { flashrnnForwardRef(cell, d, wx, r, b, null); }, { warmup: 1, runs: 3, maxMs: 3000 });
          rows.push({ topic: 'flashrnn', name: `${cell} plain TS step loop (f64 reference) B=${B} NH=${NH} DH=${DH} T=${T}`, threads: 1, value: (B * T) / (t.bestMs / 1000), unit: 'steps/s', extra: { medianMs: t.medianMs } });
        }
      }
    }
  } finally {
    if (own) bes.forEach((b) => b.dispose());
  }
  return rows;
}

// Run directly: node dist/bench/flashrnn.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchFlashrnn(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(0)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
