// pLSTM layers: forward and forward+backward throughput on the f32 tape of the 1D layer (official
// default config: JT = JV = JO = 4) in the recurrent and the chunkwise form, and of the 2D layers
// (non-fused D-mode, fused P-mode: the vision model's layer) in the recurrent and the parallel
// (gating-matrix) form, at two sizes each. The scans are single-threaded TypeScript (float64
// arithmetic); the projections and norms run on the wasm ops of the backend's threads.
// Used by bench/index.ts (topic "plstm"); runs alone with `node dist/bench/plstm.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Tape } from '../src/autograd/tape.js';
import * as ag from '../src/autograd/ops.js';
import {
  defaultPlstm1dConfig, defaultPlstm2dConfig, initPlstmParams, plstm1d, plstm2d, plstmParamsFromTensors, PLstm1dConfig, PLstm2dConfig,
} from '../src/xlstm/plstm/index.js';
import { BenchRow, time } from './report.js';

export interface PlstmBenchOptions { quick?: boolean }

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 2 ** 32; };
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/** Rows in positions (1D: B*S, 2D: B*X*Y) per second. */
export async function benchPlstm(backends?: WasmBackend[], opts: PlstmBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 })] : backends!;
  const be = bes[0];
  const quick = !!opts.quick;
  const runs = { warmup: 1, runs: quick ? 3 : 5, maxMs: quick ? 1500 : 4000 };
  const rows: BenchRow[] = [];
  try {
    const sizes1: [number, number, number, number][] = quick ? [[2, 64, 64, 4]] : [[2, 64, 64, 4], [2, 256, 128, 4]]; // B, S, D, H
    for (const [B, S, D, H] of sizes1) {
      const cfg: PLstm1dConfig = defaultPlstm1dConfig({ inputDim: D, numHeads: H });
      const params = initPlstmParams(cfg, 1);
      const x = new Tensor('f32', [B, S, D], randn(B * S * D, 2));
      const w = new Tensor('f32', [B, S, D], randn(B * S * D, 3));
      for (const form of ['recurrent', 'chunkwise'] as const) {
        for (const backward of [false, true]) {
          const tm = time(() => {
            const t = new Tape(be, 'f32');
            const p = plstmParamsFromTensors(t, cfg, params, { trainable: backward });
            const xv = t.input(x, backward);
            const { y } = plstm1d(t, xv, p, cfg, { form, chunkSize: 16 });
            if (backward) t.backward(ag.sumAll(t, ag.mul(t, y, t.input(w))));
          }, runs);
          rows.push({ topic: 'plstm', name: `1d ${form}${form === 'chunkwise' ? ' L16' : ''} ${backward ? 'fwd+bwd' : 'fwd'} B${B} S${S} D${D} H${H}`, threads: be.threads, value: (B * S) / (tm.bestMs / 1000), unit: 'pos/s', extra: { bestMs: tm.bestMs, medianMs: tm.medianMs } });
        }
      }
    }
    const sizes2: [number, number, number, number][] = quick ? [[2, 8, 32, 4]] : [[2, 8, 32, 4], [2, 16, 64, 4]]; // B, side, D, H
    for (const [B, side, D, H] of sizes2) {
      for (const [mode, fused] of [['D', false], ['P', true]] as const) {
        const cfg: PLstm2dConfig = defaultPlstm2dConfig({ inputDim: D, numHeads: H, mode, fused });
        const params = initPlstmParams(cfg, 4);
        const x = new Tensor('f32', [B, side, side, D], randn(B * side * side * D, 5));
        const w = new Tensor('f32', [B, side, side, D], randn(B * side * side * D, 6));
        for (const form of ['recurrent', 'parallel'] as const) {
          for (const backward of [false, true]) {
            const tm = time(() => {
              const t = new Tape(be, 'f32');
              const p = plstmParamsFromTensors(t, cfg, params, { trainable: backward });
              const y = plstm2d(t, t.input(x, backward), p, cfg, { form });
              if (backward) t.backward(ag.sumAll(t, ag.mul(t, y, t.input(w))));
            }, runs);
            rows.push({ topic: 'plstm', name: `2d ${fused ? 'fused ' : ''}${mode} ${form} ${backward ? 'fwd+bwd' : 'fwd'} B${B} ${side}x${side} D${D} H${H}`, threads: be.threads, value: (B * side * side) / (tm.bestMs / 1000), unit: 'pos/s', extra: { bestMs: tm.bestMs, medianMs: tm.medianMs } });
          }
        }
      }
    }
  } finally {
    if (own) bes.forEach((b) => b.dispose());
  }
  return rows;
}

const isMain = typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!);
if (isMain) {
  benchPlstm(undefined, { quick: process.argv.includes('--quick') }).then((rows) => {
    for (const r of rows) console.log(`${r.name.padEnd(52)} ${r.value.toFixed(1).padStart(10)} ${r.unit}  (best ${(r.extra!.bestMs as number).toFixed(1)} ms)`);
  }).catch((e) => { console.error(e); process.exit(1); });
}
