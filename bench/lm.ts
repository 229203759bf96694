// Language-model benchmark: xLSTM Large with E=768, 4 heads, 12 blocks, vocab 50304
// (162M parameters) and random weights, per weight format (f32, bf16, int8, q4) and
// thread count: decode tokens/s at batch 1, prefill tokens/s (2048 tokens; 256 with
// --quick, LM head on the last position only), peak memory, and decode's fraction of
// the memory-bandwidth bound (weight bytes read per token / measured copy bandwidth).
// A per-kernel profile of one decode step shows where the time goes.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { Q4Weight } from '../src/tensor/quant.js';
import { XLSTMLarge, resolveXLSTMLargeConfig, XLSTMLargeDType, XLSTMLargeStepPath } from '../src/models/xlstmLarge/index.js';
import type { LinearWeight } from '../src/ops/matmul.js';
import { RandomXLSTMLargeSource } from '../src/models/xlstmLarge/randomWeights.js';
import { BenchRow, time } from './report.js';
import { benchCopy, BenchOptions, gemmF32Rate } from './gemm.js';
import { profileJsGlue, stubbedGlueUs } from './jsProfile.js';

/** The 162M config of the issue (xLSTM Large defaults otherwise). */
export const LM_BENCH_CONFIG = { embedding_dim: 768, num_heads: 4, num_blocks: 12, vocab_size: 50304, weight_mode: 'single', mode: 'inference' } as const;

function weightBytes(w: LinearWeight): number {
  if (w instanceof Q4Weight) return w.packed.data.byteLength + w.scales.data.byteLength;
  return w.data.byteLength + (w.scales ? w.scales.byteLength : 0);
}

/**
 * Bytes a decode step reads from the weights: every matrix and vector but the embedding table (one
 * row). Not counted: the mLSTM states (c, n, m: ~0.29 MB read and written per block and row at
 * E = 768) and the activations. bandwidthFraction = these bytes x tokens/s / the copy rate of
 * benchCopy, which is bytes *copied* per second (a 64 MiB memcpy: each byte read once and written
 * once, so the memory moves twice as many bytes). A read-only weight stream can therefore exceed
 * 1.0 without breaking any hardware limit (f32 on one thread did, with part of the weights in L3).
 */
export function decodeBytesPerToken(m: XLSTMLarge): number {
  let n = 0;
  for (const b of m.weights.blocks) {
    n += weightBytes(b.qkvo) + weightBytes(b.outProj) + weightBytes(b.projUpBoth) + weightBytes(b.projDown) + b.ifGate.data.byteLength;
    for (const v of [b.normMlstm, b.ifGateBias, b.multiheadNorm, b.normFfn]) n += v.data.byteLength;
  }
  n += weightBytes(m.weights.lmHead) + (m.weights.outNorm?.data.byteLength ?? 0);
  n += m.weights.embedding.data.byteLength / m.config.vocab_size; // one gathered row
  return n;
}

/**
 * Multiply-add FLOPs of the linear layers in a prefill of `tokens` tokens with the LM
 * head on the last position only (2 per weight per row; the mLSTM cell's own products
 * and the elementwise ops are not counted, so this is the GEMM work the rate is judged by).
 */
export function prefillMatmulFlops(m: XLSTMLarge, tokens: number): number {
  let perToken = 0;
  for (const b of m.weights.blocks) {
    for (const w of [b.qkvo, b.ifGate, b.outProj, b.projUpBoth, b.projDown]) perToken += 2 * w.shape[0] * w.shape[1];
  }
  const head = m.weights.lmHead.shape;
  return perToken * tokens + 2 * head[0] * head[1];
}

/**
 * Multiply-add FLOPs of the mLSTM cell's own matrix products in the same prefill (from a zero
 * state), as mlstmChunkwiseF32 computes them per head and chunk of length L: Q K^T and P V on
 * their lower triangles (L (L + 1) / 2 rows x columns pairs each), Q C_prev (skipped on the first
 * chunk, whose state is zero) and the state update K^T V (2 L DHQK DHV each). The sequence is
 * split as mlstmPrefill splits it (chunks of L, then L/2, ... down to 16; the rest runs the
 * recurrent form, not counted). Not part of prefillMatmulFlops (the goal's figure); the bench
 * reports it beside as fractionOfGemmAllFlops.
 */
export function prefillCellFlops(m: XLSTMLarge, tokens: number): number {
  const c = m.config;
  const DK = c.qk_head_dim, DV = c.v_head_dim;
  let perHead = 0, pos = 0, first = true;
  for (let L = c.chunk_size; L >= Math.min(16, c.chunk_size); L = Math.floor(L / 2)) {
    const n = Math.floor((tokens - pos) / L);
    for (let i = 0; i < n; i++) {
      perHead += L * (L + 1) * (DK + DV) + 2 * L * DK * DV + (first ? 0 : 2 * L * DK * DV);
      first = false;
    }
    pos += n * L;
    if (L === 1) break;
  }
  return perHead * c.num_heads * c.num_blocks;
}

function rssBytes(): number { return typeof process !== 'undefined' ? process.memoryUsage().rss : 0; }

/**
 * Time per kernel name over `steps` decode steps (be.run wrapped), and the rest
 * (JS: checks, allocation, copies, dispatch glue) as 'js'.
 */
export function profileDecode(m: XLSTMLarge, steps: number, B = 1): { totalMs: number; byKernel: Record<string, number>; cpuByKernel: Record<string, number> } {
  const be = m.backend;
  const orig = be.run;
  // per kernel needs the op-by-op path: the step plans dispatch through the pool directly
  const path = m.stepPath;
  m.stepPath = 'ops';
  const byKernel: Record<string, number> = {};
  // CPU time of the process (both threads) per kernel too: on a loaded machine the wall time
  // of a 2-thread call is mostly waiting for a descheduled worker
  const cpuByKernel: Record<string, number> = {};
  const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e3; };
  (be as { run: typeof orig }).run = function (name: string, args: ArrayLike<number>, nt?: number) {
    const t0 = performance.now(), c0 = cpu();
    orig.call(be, name, args, nt);
    const key = `${name}${nt === 1 ? '/1t' : ''}`;
    byKernel[key] = (byKernel[key] ?? 0) + performance.now() - t0;
    cpuByKernel[key] = (cpuByKernel[key] ?? 0) + cpu() - c0;
  };
  const st = m.emptyState(B);
  let toks = Array.from({ length: B }, (_, b) => 1 + b);
  const t0 = performance.now();
  try {
    for (let s = 0; s < steps; s++) { const r = m.step(toks, st); toks = toks.map((t) => (t * 31 + 7) % m.vocabSize); r.logits.dispose(); }
  } finally { (be as { run: typeof orig }).run = orig; m.stepPath = path; }
  const totalMs = (performance.now() - t0) / steps;
  for (const k of Object.keys(byKernel)) { byKernel[k] /= steps; cpuByKernel[k] /= steps; }
  byKernel.js = totalMs - Object.values(byKernel).reduce((a, b) => a + b, 0);
  return { totalMs, byKernel, cpuByKernel };
}

/**
 * CPU time of one prefill by kernel (be.run wrapped; process CPU, so all threads):
 * what keeps prefill below the GEMM rate is the share outside the GEMM kernels and
 * the GEMM kernels' own rate at the model's shapes.
 */
export function profilePrefill(m: XLSTMLarge, ids: number[][], matmulFlops: number): Record<string, number> {
  const bes = m.backends;
  const origs = bes.map((b) => b.run);
  const byKernel: Record<string, number> = {};
  bes.forEach((be, i) => {
    (be as { run: typeof be.run }).run = function (name: string, args: ArrayLike<number>, nt?: number) {
      const c0 = process.cpuUsage();
      origs[i].call(be, name, args, nt);
      const c = process.cpuUsage(c0);
      byKernel[name] = (byKernel[name] ?? 0) + (c.user + c.system) / 1000;
    };
  });
  const c0 = process.cpuUsage();
  try {
    const r = m.forward(ids, { logits: 'last' });
    r.logits.dispose();
    for (const s of r.state) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
  } finally { bes.forEach((be, i) => { (be as { run: typeof be.run }).run = origs[i]; }); }
  const c = process.cpuUsage(c0);
  const total = (c.user + c.system) / 1000;
  const gemmMs = Object.entries(byKernel).filter(([k]) => k.startsWith('gemm') && !k.startsWith('gemv')).reduce((a, [, v]) => a + v, 0);
  const kernelsMs = Object.values(byKernel).reduce((a, b) => a + b, 0);
  const out: Record<string, number> = { prefillCpuMs: total, gemmCpuShare: gemmMs / total, gemmKernelGflopsCpu: matmulFlops / gemmMs / 1e6, jsCpuShare: (total - kernelsMs) / total };
  // the three largest other kernels, by share
  for (const [k, v] of Object.entries(byKernel).filter(([k]) => !k.startsWith('gemm')).sort((a, b) => b[1] - a[1]).slice(0, 3)) out[`${k}CpuShare`] = v / total;
  return out;
}

export async function benchLm(backends?: WasmBackend[], opts: BenchOptions = { quick: false }): Promise<BenchRow[]> {
  const own = !backends;
  const bes = backends ?? [await WasmBackend.create({ threads: 1, initialMemoryBytes: 640 << 20 }), await WasmBackend.create({ threads: 2, initialMemoryBytes: 640 << 20 })];
  const rows: BenchRow[] = [];
  const cfg = resolveXLSTMLargeConfig(LM_BENCH_CONFIG);
  const src = new RandomXLSTMLargeSource(cfg, { seed: 3 });
  const prefillLen = opts.quick ? 256 : 2048;
  const decodeSteps = opts.quick ? 8 : 32;
  // XLSTM_BENCH_LM_DTYPES / XLSTM_BENCH_LM_THREADS (comma lists) narrow the run, e.g. for
  // before/after comparisons on a busy machine.
  const env = typeof process !== 'undefined' ? process.env : {};
  // 'q4x16' is q4 with the earlier int16 activations (q4ActivationBits: 16), for comparing
  // the two Q4 GEMVs in one run; 'q4' uses the default (8-bit activations).
  const dtypes = (env.XLSTM_BENCH_LM_DTYPES ?? 'f32,bf16,int8,q4').split(',');
  // XLSTM_BENCH_LM_PATHS: step paths to time side by side (default: the op-by-op step and the fused plan)
  const paths = (env.XLSTM_BENCH_LM_PATHS ?? 'ops,fused').split(',') as XLSTMLargeStepPath[];
  // XLSTM_BENCH_LM_PREFILL_ONLY=1: only the prefill and peak-memory rows (no decode rows)
  const prefillOnly = env.XLSTM_BENCH_LM_PREFILL_ONLY === '1';
  const threadSet = env.XLSTM_BENCH_LM_THREADS ? new Set(env.XLSTM_BENCH_LM_THREADS.split(',').map(Number)) : undefined;
  try {
    for (const be of bes) {
      if (threadSet && !threadSet.has(be.threads)) continue;
      // The bandwidth limit: the copy rate measured right before and right after each format's
      // decode rounds (best of copyRuns each), the larger of the two. On this shared VM one copy
      // row swings 16-40 GB/s between runs, so a single measurement a minute away from the decode
      // made the fraction say more about the copy row than the decode.
      const copyRuns = opts.quick ? 8 : 15;
      const copyRate = async (): Promise<{ best: number; median: number }> => {
        const r = (await benchCopy([be], { quick: false, runs: copyRuns }))[0];
        return { best: r.value, median: (r.extra?.medianGBs as number) ?? NaN };
      };
      for (const dtype of dtypes) {
        const tl = performance.now();
        const m = dtype === 'q4x16'
          ? await XLSTMLarge.fromSource(src, cfg, { backend: be, dtype: 'q4', q4ActivationBits: 16 })
          : await XLSTMLarge.fromSource(src, cfg, { backend: be, dtype: dtype as XLSTMLargeDType });
        const loadMs = performance.now() - tl;
        try {
          const bytesPerToken = decodeBytesPerToken(m);
          const timeOpts = { warmup: 1, runs: opts.quick ? 3 : 5, maxMs: opts.quick ? 3000 : 10000 };
          if (!prefillOnly) {
            // decode at batch 1 and 8 (the GEMVs read each weight once for all 8 rows), each from a
            // short prefill, on every step path, the paths alternating over two rounds (best of
            // both) so that they see the same machine load
            const B8 = 8;
            const decode = new Map<string, { bestMs: number; medianMs: number; bestCpuMs: number }>();
            // every B = 1 step's wall time per path, for the per-step median and spread
            const stepMs = new Map<string, number[]>();
            // more runs at B = 1 (cheap: 8 steps of ~5 ms) so the best and median rest on enough steps
            const timeOptsB1 = { ...timeOpts, runs: opts.quick ? 8 : 16 };
            const copyBefore = await copyRate();
            for (let round = 0; round < 2; round++) {
              for (const path of paths) {
                m.stepPath = path;
                for (const B of [1, B8]) {
                  const pre = m.forward(Array.from({ length: B }, (_, b) => [1 + b, 2, 3, 4]), { logits: 'last' });
                  pre.logits.dispose();
                  const st = pre.state;
                  let toks = Array.from({ length: B }, (_, b) => 5 + b);
                  const steps: number[] = [];
                  const t = time(() => {
                    for (let s = 0; s < decodeSteps; s++) {
                      const t0 = performance.now();
                      const r = m.step(toks, st); toks = toks.map((x) => (x * 31 + 7) % cfg.vocab_size); r.logits.dispose();
                      steps.push(performance.now() - t0);
                    }
                  }, B === 1 ? timeOptsB1 : timeOpts);
                  if (B === 1) stepMs.set(path, [...(stepMs.get(path) ?? []), ...steps.slice(decodeSteps)]); // not the warm-up run
                  for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
                  const key = `${path}:${B}`, old = decode.get(key);
                  decode.set(key, old ? { bestMs: Math.min(old.bestMs, t.bestMs), medianMs: Math.min(old.medianMs, t.medianMs), bestCpuMs: Math.min(old.bestCpuMs, t.bestCpuMs) } : t);
                }
              }
            }
            const copyAfter = await copyRate();
            const copyGBs = Math.max(copyBefore.best, copyAfter.best);
            m.stepPath = 'fused';
            const prof = profileDecode(m, opts.quick ? 4 : 8);
            const top = Object.entries(prof.byKernel).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k}:${v.toFixed(2)}`).join(',');
            // the same at B=8, in CPU ms (where a batch step goes besides the GEMVs)
            const prof8 = profileDecode(m, opts.quick ? 2 : 4, B8);
            const top8 = Object.entries(prof8.cpuByKernel).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k}:${v.toFixed(2)}`).join(',');
            for (const path of paths) {
              // the default path keeps the row names of earlier sessions
              const tag = path === 'fused' ? '' : ` (${path} path)`;
              const dec = decode.get(`${path}:1`)!, dec8 = decode.get(`${path}:${B8}`)!;
              const tokS = decodeSteps / (dec.bestMs / 1000);
              const tokS8 = (B8 * decodeSteps) / (dec8.bestMs / 1000);
              const achievedGBs = (bytesPerToken * tokS) / 1e9;
              // per-step spread: tokens/s of the median, 10th and 90th percentile single step
              const sorted = [...(stepMs.get(path) ?? [])].sort((a, b) => a - b);
              const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
              const stepTokS = (ms: number) => 1000 / ms;
              const planStats = (B: number): Record<string, number> => {
                if (path === 'ops') return {};
                m.stepPath = path;
                const st = m.stepPlan(B).stats;
                m.stepPath = 'fused';
                return { callsPerStep: st.calls, dispatchesPerStep: st.dispatches, barriersPerStep: st.barriers };
              };
              rows.push({
                topic: 'lm', name: `decode B=1 ${dtype}${tag}`, threads: be.threads, value: tokS, unit: 'tokens/s',
                extra: {
                  path, msPerToken: dec.bestMs / decodeSteps, medianTokS: decodeSteps / (dec.medianMs / 1000), weightMBPerToken: bytesPerToken / 1e6,
                  achievedGBs, copyGBs, copyGBsBefore: copyBefore.best, copyGBsAfter: copyAfter.best, copyMedianGBs: Math.max(copyBefore.median, copyAfter.median), copyRuns,
                  bandwidthFraction: achievedGBs / copyGBs,
                  steps: sorted.length, medianStepTokS: stepTokS(pct(0.5)), p10StepTokS: stepTokS(pct(0.9)), p90StepTokS: stepTokS(pct(0.1)),
                  medianStepBandwidthFraction: (bytesPerToken * stepTokS(pct(0.5))) / 1e9 / copyGBs,
                  cpuMsPerToken: dec.bestCpuMs / decodeSteps, ...planStats(1),
                  ...(path === 'ops' ? { profileMs: top } : {}),
                },
              });
              rows.push({
                topic: 'lm', name: `decode B=${B8} ${dtype}${tag}`, threads: be.threads, value: tokS8, unit: 'tokens/s',
                extra: { path, msPerStep: dec8.bestMs / decodeSteps, medianTokS: (B8 * decodeSteps) / (dec8.medianMs / 1000), vsB1: tokS8 / tokS,
                  cpuMsPerStep: dec8.bestCpuMs / decodeSteps, vsB1Cpu: (B8 * dec.bestCpuMs) / dec8.bestCpuMs, ...planStats(B8),
                  ...(path === 'ops' || paths.length === 1 ? { profileCpuMs: top8 } : {}) },
              });
            }
            // flat profile of the JavaScript glue (V8 sampling profiler), int8 only: the glue is the
            // same code for every format; per step path, the op-by-op one for comparison
            if (dtype === 'int8') {
              for (const path of paths) {
                m.stepPath = path;
                const jp = await profileJsGlue(m, opts.quick ? 8 : 24);
                if (jp) {
                  rows.push({
                    topic: 'lm', name: `decode JS glue B=1 ${dtype}${path === 'fused' ? '' : ` (${path} path)`}`, threads: be.threads, value: jp.jsMs, unit: 'ms/step (sampled)',
                    extra: { path, sampledMsPerStep: jp.totalMs, wasmMsPerStep: jp.wasmMs, poolRunWaitMsPerStep: jp.waitMs, programIdleMsPerStep: jp.otherMs, nativeMsPerStep: jp.nativeMs, top: jp.top.map(([k, v]) => `${k}=${v.toFixed(3)}`).join('; ') },
                  });
                }
                for (const B of [1, B8]) {
                  const g = stubbedGlueUs(m, B, opts.quick ? 100 : 400);
                  rows.push({
                    topic: 'lm', name: `decode JS glue B=${B} ${dtype}, kernels stubbed${path === 'fused' ? '' : ` (${path} path)`}`, threads: be.threads, value: g.cpuUsPerStep, unit: 'CPU us/step',
                    extra: { path, wallUsPerStep: g.wallUsPerStep },
                  });
                }
              }
              m.stepPath = 'fused';
            }
          }
          const st = m.forward([[1, 2, 3, 4]], { logits: 'last' });
          st.logits.dispose();
          // prefill: one sequence of prefillLen tokens, logits of the last position only
          const ids = [Array.from({ length: prefillLen }, (_, i) => (i * 7919 + 13) % cfg.vocab_size)];
          const prefill = () => { const r = m.forward(ids, { logits: 'last' }); r.logits.dispose(); for (const s of r.state) { s.c.dispose(); s.n.dispose(); s.m.dispose(); } };
          // the prefill and the GEMM rate of `npm run bench -- gemm` (f32 1024^3) on this backend
          // alternate over the rounds, so both are sampled over the same minutes of a shared
          // machine (one prefill then the GEMM once was 0.86 in one run and 0.92 in the next);
          // fractionOfGemm is the best prefill against the best GEMM as before, pairedFractions
          // each round's prefill against the GEMM measured right after it (the spread)
          const flop = prefillMatmulFlops(m, prefillLen);
          const allFlop = flop + prefillCellFlops(m, prefillLen);
          const rounds = 3;
          const walls: number[] = [], paired: number[] = [];
          let bestCpuMs = Infinity, gemmGflops = 0, gemmCpu = 0;
          for (let r = 0; r < rounds; r++) {
            const t = time(prefill, { warmup: 0, runs: 1, maxMs: 1 });
            const g = gemmF32Rate(be, 1024, opts.quick ? 3 : 5);
            walls.push(t.bestMs);
            bestCpuMs = Math.min(bestCpuMs, t.bestCpuMs);
            gemmGflops = Math.max(gemmGflops, g.gflops);
            gemmCpu = Math.max(gemmCpu, g.gflopsPerCoreCpu);
            paired.push(flop / t.bestMs / 1e6 / g.gflops);
          }
          walls.sort((a, b) => a - b);
          paired.sort((a, b) => a - b);
          const pf = { bestMs: walls[0], medianMs: walls[Math.floor(rounds / 2)], bestCpuMs };
          const pfProfile = profilePrefill(m, ids, flop);
          rows.push({
            topic: 'lm', name: `prefill S=${prefillLen} ${dtype}`, threads: be.threads, value: prefillLen / (pf.bestMs / 1000), unit: 'tokens/s',
            extra: { bestMs: pf.bestMs, medianMs: pf.medianMs, loadMs, gflops: flop / pf.bestMs / 1e6, gflopsPerCoreCpu: flop / pf.bestCpuMs / 1e6,
              gemmGflops, fractionOfGemm: flop / pf.bestMs / 1e6 / gemmGflops, cpuFractionOfGemm: flop / pf.bestCpuMs / 1e6 / gemmCpu,
              // the same with the mLSTM cell's own products counted too (prefillCellFlops)
              fractionOfGemmAllFlops: allFlop / pf.bestMs / 1e6 / gemmGflops, cpuFractionOfGemmAllFlops: allFlop / pf.bestCpuMs / 1e6 / gemmCpu,
              pairedFractions: paired.map((f) => f.toFixed(3)).join('/'), ...pfProfile },
          });
          const heapBytes = m.backends.reduce((a, b) => a + b.heap.bytesReserved, 0);
          rows.push({
            topic: 'lm', name: `peak memory ${dtype}`, threads: be.threads, value: (heapBytes + rssBytes()) / 2 ** 20, unit: 'MiB heap+RSS',
            extra: { heapReservedMiB: heapBytes / 2 ** 20, heapInUseMiB: m.backends.reduce((a, b) => a + b.heap.bytesInUse, 0) / 2 ** 20, weightsMiB: m.weights.bytes / 2 ** 20, rssMiB: rssBytes() / 2 ** 20, maxRssMiB: typeof process !== 'undefined' ? process.resourceUsage().maxRSS / 1024 : 0 },
          });
          for (const s of st.state) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
        } finally { m.dispose(); }
      }
    }
  } finally {
    if (own) bes.forEach((b) => b.dispose());
  }
  return rows;
}

// Run directly: node dist/bench/lm.js [--quick] [--profile]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchLm(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  threads=${r.threads}  ${r.value.toFixed(1)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
