// Tensor-op throughput (million elements/s) for the activations, softmax, norms,
// causal conv and embedding, at xLSTM-sized rows, on 1 and 2 threads.
// For bench/index.ts (topic "ops"); runs alone with `node dist/bench/ops.js [--quick]`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as ew from '../src/ops/elementwise.js';
import { softmax } from '../src/ops/softmax.js';
import { rmsNorm, layerNorm } from '../src/ops/norm.js';
import { causalConv1d, causalConv1dStep, CausalConv1dWeight } from '../src/ops/conv.js';
import { embedding } from '../src/ops/embedding.js';
import { BenchRow, time } from './report.js';

export interface OpsBenchOptions { quick?: boolean }

/** Rows in Melem/s (elements of the output per second), best of the runs. */
export async function benchOps(backends?: WasmBackend[], opts: OpsBenchOptions = {}): Promise<BenchRow[]> {
  const own = !backends || backends.length === 0;
  const bes = own ? [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })] : backends!;
  const E = 4096, S = opts.quick ? 64 : 256; // [S, E]: a prefill chunk of xLSTM-7B activations
  let seed = 5;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  const arr = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rnd());
  const rows: BenchRow[] = [];
  const runs = { warmup: 2, runs: opts.quick ? 3 : 10, maxMs: opts.quick ? 500 : 2000 };
  try {
    for (const be of bes) {
      const x = be.upload(new Tensor('f32', [S, E], arr(S * E, 16)));
      const out = be.empty([S, E]);
      const w = be.upload(new Tensor('f32', [E], arr(E)));
      const add = (name: string, elems: number, fn: () => void, extra?: BenchRow['extra']) => {
        const t = time(fn, runs);
        rows.push({ topic: 'ops', name, threads: be.threads, value: elems / t.bestMs / 1e3, unit: 'Melem/s', extra: { medianMs: t.medianMs, ...extra } });
      };
      for (const fn of ['relu', 'exp', 'sigmoid', 'silu', 'tanh', 'logsigmoid', 'softplus', 'gelu', 'erf'] as const) {
        add(`${fn} [${S}, ${E}]`, S * E, () => ew.activation(be, fn, x, out));
      }
      add(`softcap [${S}, ${E}]`, S * E, () => ew.softcap(be, x, 15, out));
      add(`mul rows [${S}, ${E}] x [${E}]`, S * E, () => ew.mul(be, x, w, out));
      add(`softmax [${S}, ${E}]`, S * E, () => softmax(be, x, out));
      add(`rmsNorm [${S}, ${E}]`, S * E, () => rmsNorm(be, x, { eps: 1e-6, weight: w }, out));
      add(`layerNorm offset [${S}, ${E}]`, S * E, () => layerNorm(be, x, { eps: 1e-5, weight: w, weightOffset: true }, out));
      const C = 2 * E, K = 4;
      const xc = be.upload(new Tensor('f32', [1, S, C], arr(S * C)));
      const wc = CausalConv1dWeight.prepare(be, new Tensor('f32', [C, 1, K], arr(C * K)));
      const bias = be.upload(new Tensor('f32', [C], arr(C)));
      add(`causalConv1d [1, ${S}, ${C}] K=${K}`, S * C, () => { const r = causalConv1d(be, xc, wc, { bias }); r.y.dispose(); r.state.dispose(); });
      const state = be.zeros([1, K, C]);
      const xs = be.upload(new Tensor('f32', [1, C], arr(C)));
      add(`causalConv1dStep [1, ${C}] K=${K}`, C, () => causalConv1dStep(be, xs, state, wc, { bias }).y.dispose());
      // A narrow table keeps the heap under its initial 64 MiB: growing one backend's shared memory
      // currently breaks Heap.owns on the other backends of the process (reported to the lead).
      const V = 50304, ED = 256;
      const table = be.upload(new Tensor('f32', [V, ED], arr(V * ED)));
      const ids = new Tensor('i32', [S], Int32Array.from({ length: S }, (_, i) => (i * 7919) % V));
      add(`embedding ${S} ids, [${V}, ${ED}]`, S * ED, () => embedding(be, ids, table).dispose());
      for (const t of [x, out, w, xc, bias, state, xs, table]) t.dispose();
      wc.dispose();
    }
  } finally { if (own) bes.forEach((b) => b.dispose()); }
  return rows;
}

const isMain = typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (isMain) {
  const { formatTable } = await import('./report.js');
  console.log(formatTable(await benchOps(undefined, { quick: process.argv.includes('--quick') })));
}
