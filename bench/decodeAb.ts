// Decode at batch 1 of the 162M bench model, step paths A/B interleaved (issue 14: int8 and q4 at
// >= 70% of the copy bandwidth). One model per weight format; its step paths (default
// 'fused-serial', the earlier barrier rule, against 'fused') alternate in rounds of a few tokens
// so the load of a shared machine hits them alike; the copy bandwidth is measured before and
// after. Per path: median and best wall ms per token, CPU ms per token (process.cpuUsage: all
// threads), tokens/s and the fraction of the copy bandwidth (bench/lm.ts decodeBytesPerToken).
// A third row, "GEMVs alone", runs just the step's GEMVs (every matrix once, step order, x never
// written, so no barrier at all) as one fused program: the floor the rest of the step adds to.
// `XLSTM_BENCH_LM_DTYPES=q4,int8 XLSTM_BENCH_LM_THREADS=2 npm run bench -- decodeab --quick`
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { KernelCall, KernelProgram } from '../src/backend/wasm/program.js';
import { XLSTMLarge, resolveXLSTMLargeConfig, XLSTMLargeDType, XLSTMLargeStepPath } from '../src/models/xlstmLarge/index.js';
import { RandomXLSTMLargeSource } from '../src/models/xlstmLarge/randomWeights.js';
import { LinearWeight, gemvKernelCall, gemvScratchBytes } from '../src/ops/matmul.js';
import { Q4Weight } from '../src/tensor/quant.js';
import { Tensor } from '../src/tensor/tensor.js';
import { LM_BENCH_CONFIG, decodeBytesPerToken } from './lm.js';
import { BenchRow } from './report.js';
import { benchCopy, BenchOptions } from './gemm.js';

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The step's GEMVs (B = 1) as one program reading a never-written x: no barriers, just the weight stream. */
function gemvProgram(m: XLSTMLarge, be: WasmBackend): { program: KernelProgram; temps: Tensor[] } {
  const ws: LinearWeight[] = [];
  for (const bw of m.weights.blocks) ws.push(bw.qkvo, bw.ifGate, bw.outProj, bw.projUpBoth, bw.projDown);
  ws.push(m.weights.lmHead);
  const temps: Tensor[] = [];
  const tmp = (n: number) => { const t = be.empty([n]); (t.data as Float32Array).forEach((_, i, d) => { d[i] = Math.sin(i * 0.37); }); temps.push(t); return t.data.byteOffset; };
  const maxK = Math.max(...ws.map((w) => w.shape[1])), maxN = Math.max(...ws.map((w) => w.shape[0]));
  const x = tmp(maxK), y = tmp(maxN);
  const scratchBytes = Math.max(...ws.map((w) => gemvScratchBytes(be, w, 1)));
  const scratch = tmp(Math.max(1, scratchBytes / 4));
  const calls: KernelCall[] = ws.map((w) => {
    const p = w instanceof Q4Weight ? { w: w.packed.data.byteOffset, scales: w.scales.data.byteOffset } : { w: w.data.byteOffset, scales: w.dtype === 'i8' ? w.scales!.byteOffset : 0 };
    const c = gemvKernelCall(be, w, 1, { ...p, x, y, bias: 0, scratch });
    const per = gemvScratchBytes(be, w, 1) / c.nt;
    // y is left undeclared on purpose: the outputs are thrown away, only the weight stream counts
    return { ...c, reads: [{ ptr: x, bytes: 4 * maxK }], writes: per ? [{ ptr: scratch, bytes: per, stride: per, split: true }] : [] };
  });
  return { program: new KernelProgram(be, calls, 'fused'), temps };
}

export async function benchDecodeAb(backends?: WasmBackend[], opts: BenchOptions = { quick: false }): Promise<BenchRow[]> {
  const env = typeof process !== 'undefined' ? process.env : {};
  const threadSet = new Set((env.XLSTM_BENCH_LM_THREADS ?? '2').split(',').map(Number));
  const bes = backends ?? [...threadSet].map(() => undefined);
  const made: WasmBackend[] = [];
  const dtypes = (env.XLSTM_BENCH_LM_DTYPES ?? 'q4,int8').split(',') as XLSTMLargeDType[];
  const paths = (env.XLSTM_BENCH_LM_PATHS ?? 'fused-serial,fused').split(',') as XLSTMLargeStepPath[];
  const cfg = resolveXLSTMLargeConfig(LM_BENCH_CONFIG);
  const src = new RandomXLSTMLargeSource(cfg, { seed: 3 });
  const rounds = opts.quick ? 24 : 48, steps = opts.quick ? 4 : 8;
  const rows: BenchRow[] = [];
  try {
    for (const [bi, given] of bes.entries()) {
      let be = given;
      if (!be) { be = await WasmBackend.create({ threads: [...threadSet][bi], initialMemoryBytes: 640 << 20 }); made.push(be); }
      if (!threadSet.has(be.threads)) continue;
      const copy0 = (await benchCopy([be], { quick: true }))[0].value;
      for (const dtype of dtypes) {
        const m = await XLSTMLarge.fromSource(src, cfg, { backend: be, dtype });
        const g = gemvProgram(m, be);
        try {
          const bytes = decodeBytesPerToken(m);
          const names = [...paths, 'GEMVs alone'];
          const stats = names.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
          const states = paths.map(() => m.emptyState(1));
          let tok = 5;
          for (let r = -1; r < rounds; r++) { // round -1 warms up
            for (let k = 0; k < names.length; k++) {
              const i = (k + r + 1) % names.length; // rotate which goes first
              const c0 = process.cpuUsage(), t0 = performance.now();
              if (i < paths.length) {
                m.stepPath = paths[i];
                for (let s = 0; s < steps; s++) { const out = m.step([tok], states[i]); out.logits.dispose(); tok = (tok * 31 + 7) % cfg.vocab_size; }
              } else {
                for (let s = 0; s < steps; s++) g.program.run();
              }
              const wall = (performance.now() - t0) / steps, cu = process.cpuUsage(c0);
              if (r >= 0) { stats[i].wall.push(wall); stats[i].cpu.push((cu.user + cu.system) / 1000 / steps); }
            }
          }
          const copy1 = (await benchCopy([be], { quick: true }))[0].value;
          const copyGBs = Math.max(copy0, copy1);
          const medWall = stats.map((s) => median(s.wall));
          for (const [i, name] of names.entries()) {
            const s = stats[i];
            const tokS = 1000 / median(s.wall), bestTokS = 1000 / Math.min(...s.wall);
            const planStats = i < paths.length && paths[i] !== 'ops' ? (() => { m.stepPath = paths[i]; const st = m.stepPlan(1).stats; return { barriersPerStep: st.barriers }; })() : {};
            rows.push({
              topic: 'decodeab', name: `decode B=1 ${dtype} ${name}`, threads: be.threads, value: tokS, unit: 'tokens/s (median)',
              extra: {
                bestTokS, medianWallMs: medWall[i], bestWallMs: Math.min(...s.wall), medianCpuMs: median(s.cpu), bestCpuMs: Math.min(...s.cpu),
                bandwidthFraction: (bytes * tokS) / 1e9 / copyGBs, bestBandwidthFraction: (bytes * bestTokS) / 1e9 / copyGBs,
                vsFirstPath: medWall[0] / medWall[i], copyGBs, copyBeforeAfter: `${copy0.toFixed(1)}/${copy1.toFixed(1)}`, weightMB: bytes / 1e6, rounds, stepsPerRound: steps, ...planStats,
              },
            });
          }
          m.stepPath = 'fused';
          for (const st of states) for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
        } finally { g.program.dispose(); g.temps.forEach((t) => t.dispose()); m.dispose(); }
      }
    }
  } finally { made.forEach((b) => b.dispose()); }
  return rows;
}

// Run directly: node dist/bench/decodeAb.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchDecodeAb(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(2)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
