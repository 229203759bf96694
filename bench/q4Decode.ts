// Q4 decode with 8-bit against 16-bit activations, A/B interleaved: both models of the
// 162M bench config are loaded side by side and their decode steps alternate in rounds, so
// the load of a shared machine hits both alike. Per variant: best and median wall ms per
// token, and CPU ms per token (process.cpuUsage: all threads of the process), and the
// ratios x16 / x8 of the medians; then the same for the GEMVs of a decode step alone (every
// q4 matrix of the model once, as a step reads them: ~78 MB, streamed from DRAM).
// `npm run bench -- q4ab --quick`.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { XLSTMLarge, resolveXLSTMLargeConfig } from '../src/models/xlstmLarge/index.js';
import { RandomXLSTMLargeSource } from '../src/models/xlstmLarge/randomWeights.js';
import { LM_BENCH_CONFIG } from './lm.js';
import { linear } from '../src/ops/matmul.js';
import type { LinearWeight } from '../src/ops/matmul.js';
import { BenchRow } from './report.js';
import type { BenchOptions } from './gemm.js';

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function benchQ4Decode(backends?: WasmBackend[], opts: BenchOptions = { quick: false }): Promise<BenchRow[]> {
  const own = !backends;
  const bes = backends ?? [await WasmBackend.create({ threads: 1, initialMemoryBytes: 640 << 20 }), await WasmBackend.create({ threads: 2, initialMemoryBytes: 640 << 20 })];
  const env = typeof process !== 'undefined' ? process.env : {};
  const threadSet = env.XLSTM_BENCH_LM_THREADS ? new Set(env.XLSTM_BENCH_LM_THREADS.split(',').map(Number)) : undefined;
  const cfg = resolveXLSTMLargeConfig(LM_BENCH_CONFIG);
  const src = new RandomXLSTMLargeSource(cfg, { seed: 3 });
  const rounds = opts.quick ? 6 : 12, steps = opts.quick ? 8 : 16;
  const rows: BenchRow[] = [];
  try {
    for (const be of bes) {
      if (threadSet && !threadSet.has(be.threads)) continue;
      const variants = [
        { name: 'q4 x8', m: await XLSTMLarge.fromSource(src, cfg, { backend: be, dtype: 'q4', q4ActivationBits: 8 }) },
        { name: 'q4 x16', m: await XLSTMLarge.fromSource(src, cfg, { backend: be, dtype: 'q4', q4ActivationBits: 16 }) },
      ];
      try {
        const stats = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
        const states = variants.map((v) => v.m.emptyState(1));
        let tok = 5;
        for (let r = -1; r < rounds; r++) { // round -1 warms up
          for (let i = 0; i < variants.length; i++) {
            const m = variants[i].m;
            const c0 = process.cpuUsage(), t0 = performance.now();
            for (let s = 0; s < steps; s++) { const out = m.step([tok], states[i]); out.logits.dispose(); tok = (tok * 31 + 7) % cfg.vocab_size; }
            const wall = (performance.now() - t0) / steps, cu = process.cpuUsage(c0);
            if (r >= 0) { stats[i].wall.push(wall); stats[i].cpu.push((cu.user + cu.system) / 1000 / steps); }
          }
          variants.reverse(); stats.reverse(); states.reverse(); // alternate which goes first
        }
        const med = new Map<string, { wall: number; cpu: number }>();
        for (let i = 0; i < variants.length; i++) {
          const s = stats[i];
          med.set(variants[i].name, { wall: median(s.wall), cpu: median(s.cpu) });
          rows.push({
            topic: 'q4ab', name: `decode B=1 ${variants[i].name}`, threads: be.threads, value: 1000 / median(s.wall), unit: 'tokens/s (median)',
            extra: { bestTokS: 1000 / Math.min(...s.wall), medianWallMs: median(s.wall), medianCpuMs: median(s.cpu), bestCpuMs: Math.min(...s.cpu), rounds, stepsPerRound: steps },
          });
        }
        const a = med.get('q4 x8')!, b = med.get('q4 x16')!;
        rows.push({ topic: 'q4ab', name: 'x16 / x8 per token', threads: be.threads, value: b.wall / a.wall, unit: 'x (median wall)', extra: { cpuRatio: b.cpu / a.cpu } });
        // the GEMVs alone: each model's q4 matrices in step order, x of the right width
        const gemvSets = variants.map((v) => {
          const ws: LinearWeight[] = [];
          for (const bw of v.m.weights.blocks) ws.push(bw.qkvo, bw.outProj, bw.projUpBoth, bw.projDown);
          ws.push(v.m.weights.lmHead);
          return ws.map((w) => {
            const [N, K] = w.shape;
            const x = be.empty([1, K]);
            (x.data as Float32Array).forEach((_, i, d) => { d[i] = Math.sin(i * 0.37); });
            return { w, x, y: be.empty([1, N]) };
          });
        });
        const g = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
        for (let r = -1; r < rounds; r++) {
          for (let k = 0; k < variants.length; k++) {
            const i = (k + r + 1) % variants.length; // alternate which goes first
            const c0 = process.cpuUsage(), t0 = performance.now();
            for (let s = 0; s < steps; s++) for (const { w, x, y } of gemvSets[i]) linear(be, x, w, undefined, y);
            const wall = (performance.now() - t0) / steps, cu = process.cpuUsage(c0);
            if (r >= 0) { g[i].wall.push(wall); g[i].cpu.push((cu.user + cu.system) / 1000 / steps); }
          }
        }
        for (let i = 0; i < variants.length; i++) {
          rows.push({
            topic: 'q4ab', name: `GEMVs of one token ${variants[i].name}`, threads: be.threads, value: median(g[i].cpu), unit: 'CPU ms (median)',
            extra: { bestCpuMs: Math.min(...g[i].cpu), medianWallMs: median(g[i].wall), bestWallMs: Math.min(...g[i].wall), matrices: gemvSets[i].length },
          });
        }
        const i8 = variants.findIndex((v) => v.name === 'q4 x8'), i16 = 1 - i8;
        rows.push({ topic: 'q4ab', name: 'GEMVs x16 / x8', threads: be.threads, value: median(g[i16].cpu) / median(g[i8].cpu), unit: 'x (median CPU)',
          extra: { wallRatio: median(g[i16].wall) / median(g[i8].wall) } });
        for (const set of gemvSets) for (const { x, y } of set) { x.dispose(); y.dispose(); }
        for (const st of states) for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
      } finally { for (const v of variants) v.m.dispose(); }
    }
  } finally { if (own) bes.forEach((b) => b.dispose()); }
  return rows;
}

// Run directly: node dist/bench/q4Decode.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchQ4Decode(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(2)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
