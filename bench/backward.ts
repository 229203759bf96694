// Forward + backward of the xLSTM cells on the f32 autograd tape: the wasm backward kernels
// (src/backend/wasm/assembly/backward*.ts, 'after') vs the TypeScript reference loops the
// f32 tape used before ('before': the wasm forward, then the float64 forward recomputed and
// src/backend/ref/*Backward.ts, gradients rounded to f32, exactly the old closure), and the
// speedup. Shapes: sLSTM at a TiRex-like training shape (B=32, S=64, H=128, NH=4), mLSTM
// chunkwise (B=4, NH=4, S=256, DHQK=DHV=64, L=64); also the mLSTM parallel form at that shape
// and the fused cross-entropy of an LM head (N=256 rows, V=32768).
// Used by bench/index.ts (topic "backward"); runs alone with `node dist/bench/backward.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Tape } from '../src/autograd/tape.js';
import * as ag from '../src/autograd/ops.js';
import { mlstmChunkwise as agMlstmChunkwise, mlstmParallel as agMlstmParallel, slstm as agSlstm } from '../src/autograd/cells.js';
import { mlstmChunkwise as wasmMlstmChunkwise, mlstmParallel as wasmMlstmParallel } from '../src/xlstm/mlstm/mlstm.js';
import { slstmForward as wasmSlstmForward } from '../src/xlstm/slstm/cell.js';
import { loadSlstmParams } from '../src/xlstm/slstm/params.js';
import { mlstmChunkwiseBackwardRef, mlstmChunkwiseFwd64, mlstmParallelBackwardRef, mlstmParallelFwd64 } from '../src/backend/ref/mlstmBackward.js';
import { crossEntropyRef } from '../src/backend/ref/opsBackward.js';
import { slstmBackwardRef } from '../src/backend/ref/slstmBackward.js';
import { BenchRow, time } from './report.js';

export interface BackwardBenchOptions {
  /** Fewer runs; the 'before' rows run once. */
  quick?: boolean;
}

function rand(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) >>> 0; return scale * (s / 2 ** 32 - 0.5); });
}

/** Rows in ms per forward+backward (best run), with the before/after speedup on the 'after' rows. */
export async function benchBackward(backends?: WasmBackend[], opts: BackwardBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const rows: BenchRow[] = [];
  const runs = opts.quick ? 3 : 6;
  try {
    for (const be of bes) {
      const threads = be.threads;
      // ---- sLSTM ----
      {
        const B = 32, S = 64, H = 128, NH = 4, DH = H / NH;
        // inputs on the heap, as a model's projections produce them
        const x = be.upload(new Tensor('f32', [B, S, 4 * H], rand(B * S * 4 * H, 1, 4)));
        const R = new Tensor('f32', [NH, DH, 4 * DH], rand(NH * DH * 4 * DH, 2, 2 / Math.sqrt(DH)));
        const bias = new Tensor('f32', [4 * H], rand(4 * H, 3, 2));
        const W = new Tensor('f32', [B, S, H], rand(B * S * H, 4, 2));
        const after = time(() => {
          const t = new Tape(be, 'f32');
          const xv = t.input(x, true), Rv = t.input(R, true), bv = t.input(bias, true);
          const y = agSlstm(t, xv, Rv, bv, NH);
          t.backward(ag.sumAll(t, ag.mul(t, y, t.input(W))));
        }, { warmup: 1, runs, maxMs: 8000 });
        const before = time(() => {
          const params = loadSlstmParams({ recurrentKernel: R, bias, numHeads: NH, layout: 'cuda' });
          const r = wasmSlstmForward(be, x, params, { outputLayout: 'BSH' });
          r.y.dispose(); r.state.dispose();
          const g = slstmBackwardRef({ numHeads: NH, headDim: DH, recurrentExt: R.data as Float32Array, biasExt: bias.data as Float32Array }, x.data as Float32Array, W.data as Float32Array, B, S);
          Float32Array.from(g.dx); Float32Array.from(g.dR); Float32Array.from(g.dBias);
        }, { warmup: 0, runs: opts.quick ? 1 : 3, maxMs: 1 });
        const name = `sLSTM fwd+bwd B=${B} S=${S} H=${H} NH=${NH}`;
        rows.push({ topic: 'backward', name: `${name} before (TS loops)`, threads, value: before.bestMs, unit: 'ms', extra: { medianMs: before.medianMs } });
        rows.push({ topic: 'backward', name: `${name} after (wasm)`, threads, value: after.bestMs, unit: 'ms', extra: { medianMs: after.medianMs, speedup: before.bestMs / after.bestMs } });
        x.dispose();
      }
      // ---- mLSTM chunkwise ----
      {
        const B = 4, NH = 4, S = 256, D = 64, L = 64;
        const shp = [B, NH, S, D], g = [B, NH, S];
        const inp = {
          q: be.upload(new Tensor('f32', shp, rand(B * NH * S * D, 5, 2))), k: be.upload(new Tensor('f32', shp, rand(B * NH * S * D, 6, 2))),
          v: be.upload(new Tensor('f32', shp, rand(B * NH * S * D, 7, 2))), i: be.upload(new Tensor('f32', g, rand(B * NH * S, 8, 6))),
          f: be.upload(new Tensor('f32', g, rand(B * NH * S, 9, 6))),
        };
        const W = new Tensor('f32', shp, rand(B * NH * S * D, 10, 2));
        const after = time(() => {
          const t = new Tape(be, 'f32');
          const vs = { q: t.input(inp.q, true), k: t.input(inp.k, true), v: t.input(inp.v, true), i: t.input(inp.i, true), f: t.input(inp.f, true) };
          const h = agMlstmChunkwise(t, vs, { chunkSize: L });
          t.backward(ag.sumAll(t, ag.mul(t, h, t.input(W))));
        }, { warmup: 1, runs, maxMs: 8000 });
        const before = time(() => {
          wasmMlstmChunkwise(be, inp, { chunkSize: L }).h.dispose();
          const d = { B, NH, S, DHQK: D, DHV: D };
          const xin = { q: inp.q.data as Float32Array, k: inp.k.data as Float32Array, v: inp.v.data as Float32Array, i: inp.i.data as Float32Array, f: inp.f.data as Float32Array };
          const fw = mlstmChunkwiseFwd64(d, xin, { chunkSize: L });
          const gr = mlstmChunkwiseBackwardRef(d, xin, W.data as Float32Array, fw, {});
          for (const a of [gr.dq, gr.dk, gr.dv, gr.di, gr.df]) Float32Array.from(a);
        }, { warmup: 0, runs: opts.quick ? 1 : 3, maxMs: 1 });
        const name = `mLSTM chunkwise fwd+bwd B=${B} NH=${NH} S=${S} DHQK=DHV=${D} L=${L}`;
        rows.push({ topic: 'backward', name: `${name} before (TS loops)`, threads, value: before.bestMs, unit: 'ms', extra: { medianMs: before.medianMs } });
        rows.push({ topic: 'backward', name: `${name} after (wasm)`, threads, value: after.bestMs, unit: 'ms', extra: { medianMs: after.medianMs, speedup: before.bestMs / after.bestMs } });
        // 'exact' gradient mode (the normaliser's gradient; xLSTMLMTrainable uses it), same inputs
        const afterX = time(() => {
          const t = new Tape(be, 'f32');
          const vs = { q: t.input(inp.q, true), k: t.input(inp.k, true), v: t.input(inp.v, true), i: t.input(inp.i, true), f: t.input(inp.f, true) };
          const h = agMlstmChunkwise(t, vs, { chunkSize: L, gradMode: 'exact' });
          t.backward(ag.sumAll(t, ag.mul(t, h, t.input(W))));
        }, { warmup: 1, runs, maxMs: 8000 });
        const beforeX = time(() => {
          wasmMlstmChunkwise(be, inp, { chunkSize: L }).h.dispose();
          const d = { B, NH, S, DHQK: D, DHV: D };
          const xin = { q: inp.q.data as Float32Array, k: inp.k.data as Float32Array, v: inp.v.data as Float32Array, i: inp.i.data as Float32Array, f: inp.f.data as Float32Array };
          const gr = mlstmChunkwiseBackwardRef(d, xin, W.data as Float32Array, mlstmChunkwiseFwd64(d, xin, { chunkSize: L }), { mode: 'exact' });
          for (const a of [gr.dq, gr.dk, gr.dv, gr.di, gr.df]) Float32Array.from(a);
        }, { warmup: 0, runs: opts.quick ? 1 : 3, maxMs: 1 });
        const nameX = `${name} gradMode=exact`;
        rows.push({ topic: 'backward', name: `${nameX} before (TS loops)`, threads, value: beforeX.bestMs, unit: 'ms', extra: { medianMs: beforeX.medianMs } });
        rows.push({ topic: 'backward', name: `${nameX} after (wasm)`, threads, value: afterX.bestMs, unit: 'ms', extra: { medianMs: afterX.medianMs, speedup: beforeX.bestMs / afterX.bestMs } });
        // parallel form, same inputs
        const afterP = time(() => {
          const t = new Tape(be, 'f32');
          const vs = { q: t.input(inp.q, true), k: t.input(inp.k, true), v: t.input(inp.v, true), i: t.input(inp.i, true), f: t.input(inp.f, true) };
          const h = agMlstmParallel(t, vs);
          t.backward(ag.sumAll(t, ag.mul(t, h, t.input(W))));
        }, { warmup: 1, runs, maxMs: 8000 });
        const beforeP = time(() => {
          wasmMlstmParallel(be, inp).h.dispose();
          const d = { B, NH, S, DHQK: D, DHV: D };
          const xin = { q: inp.q.data as Float32Array, k: inp.k.data as Float32Array, v: inp.v.data as Float32Array, i: inp.i.data as Float32Array, f: inp.f.data as Float32Array };
          const gr = mlstmParallelBackwardRef(d, xin, W.data as Float32Array, mlstmParallelFwd64(d, xin), {});
          for (const a of [gr.dq, gr.dk, gr.dv, gr.di, gr.df]) Float32Array.from(a);
        }, { warmup: 0, runs: opts.quick ? 1 : 3, maxMs: 1 });
        const nameP = `mLSTM parallel fwd+bwd B=${B} NH=${NH} S=${S} DHQK=DHV=${D}`;
        rows.push({ topic: 'backward', name: `${nameP} before (TS loops)`, threads, value: beforeP.bestMs, unit: 'ms', extra: { medianMs: beforeP.medianMs } });
        rows.push({ topic: 'backward', name: `${nameP} after (wasm)`, threads, value: afterP.bestMs, unit: 'ms', extra: { medianMs: afterP.medianMs, speedup: beforeP.bestMs / afterP.bestMs } });
        Object.values(inp).forEach((v) => v.dispose());
      }
      // ---- cross-entropy (LM head) ----
      {
        const N = 256, V = 32768;
        const logits = be.upload(new Tensor('f32', [N, V], rand(N * V, 11, 8)));
        const targets = Int32Array.from({ length: N }, (_, r) => (r * 7919) % V);
        const after = time(() => {
          const t = new Tape(be, 'f32');
          const lv = t.input(logits, true);
          t.backward(ag.crossEntropy(t, lv, targets));
        }, { warmup: 1, runs, maxMs: 8000 });
        const before = time(() => {
          crossEntropyRef(logits.data as Float32Array, targets, V, -100);
          const g = new Float32Array(N * V);
          crossEntropyRef(logits.data as Float32Array, targets, V, -100, g, 1);
        }, { warmup: 0, runs: opts.quick ? 1 : 3, maxMs: 1 });
        const name = `crossEntropy fwd+bwd N=${N} V=${V}`;
        rows.push({ topic: 'backward', name: `${name} before (TS loops)`, threads, value: before.bestMs, unit: 'ms', extra: { medianMs: before.medianMs } });
        rows.push({ topic: 'backward', name: `${name} after (wasm)`, threads, value: after.bestMs, unit: 'ms', extra: { medianMs: after.medianMs, speedup: before.bestMs / after.bestMs } });
        logits.dispose();
      }
    }
  } finally { if (own) bes.forEach((b) => b.dispose()); }
  return rows;
}

// Run alone: node dist/bench/backward.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && /bench[\\/]backward\.js$/.test(process.argv[1])) {
  const { formatTable } = await import('./report.js');
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  const rows = await benchBackward(undefined, { quick: process.argv.includes('--quick') });
  console.log(formatTable(rows));
}
