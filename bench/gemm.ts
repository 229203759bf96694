// Matrix-product benchmarks: GEMM GFLOP/s, GEMV GB/s per weight format, and the
// wasm copy bandwidth that bounds GEMV.
import type { WasmBackend } from '../src/backend/wasm/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { f32ArrayToBf16, f32ArrayToF16 } from '../src/tensor/convert.js';
import { quantizeInt8, quantizeQ4, Q4Weight } from '../src/tensor/quant.js';
import { linear } from '../src/ops/matmul.js';
import { BenchRow, time } from './report.js';

/** quick: fewer runs and smaller sizes; runs: timed runs where a bench takes a count (benchCopy). */
export interface BenchOptions { quick: boolean; runs?: number }

function fill(t: Tensor, seed: number): void {
  const d = t.data as Float32Array;
  let s = seed >>> 0;
  for (let i = 0; i < d.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; d[i] = s / 2 ** 32 - 0.5; }
}

/**
 * The machine's limits beside the kernel: `fma peak` (the 128-bit multiply-add
 * rate of fmaPeak.ts on each thread count) and, when python3 with an OpenBLAS
 * numpy is present, np.matmul at the same sizes in a child process. The f32
 * rows then carry fractionOfPeak and vsOpenblas measured in the same run.
 */
export async function benchGemm(backends: WasmBackend[], opts: BenchOptions, label = ''): Promise<BenchRow[]> {
  const sizes = opts.quick ? [512, 1024] : [512, 1024, 2048];
  const peaks = benchFmaPeak(backends, opts, label);
  const rows: BenchRow[] = [...peaks];
  for (const n of sizes) {
    for (const be of backends) {
      const A = be.empty([n, n]), B = be.empty([n, n]), C = be.empty([n, n]);
      fill(A, 1); fill(B, 2);
      const sb = (be.exports.gemmScratchBytes as () => number)();
      const scratch = be.empty([(be.threads * sb) / 4]);
      const args = [0, 0, n, n, n, 1, be.ptr(A), n, be.ptr(B), n, 0, be.ptr(C), n, be.ptr(scratch)];
      const t = time(() => be.run('gemmF32', args), { warmup: 1, runs: n >= 2048 ? 4 : 10, maxMs: opts.quick ? 1000 : 4000 });
      const flop = 2 * n ** 3;
      const peak = peaks.find((p) => p.threads === be.threads)!;
      rows.push({ topic: 'gemm', name: `f32 ${n}^3${label}`, threads: be.threads, value: flop / t.bestMs / 1e6, unit: 'GFLOP/s',
        extra: { medianGflops: flop / t.medianMs / 1e6, bestMs: t.bestMs, gflopsPerCoreCpu: (flop / t.bestCpuMs / 1e6), relaxed: be.features.relaxedSimd,
          fractionOfPeak: flop / t.bestMs / 1e6 / peak.value, cpuFractionOfPeak: flop / t.bestCpuMs / 1e6 / (peak.extra!.gflopsPerCoreCpu as number) } });
      for (const x of [A, B, C, scratch]) x.dispose();
    }
  }
  const one = rows.filter((r) => r.threads === 1), two = rows.filter((r) => r.threads === 2);
  for (const r of two) {
    const o = one.find((q) => q.name === r.name);
    if (o) r.extra = { ...r.extra, speedupVs1: r.value / o.value };
  }
  const blas = await benchOpenblas(sizes.filter((n) => n <= 1024), backends.map((b) => b.threads));
  if (typeof blas === 'string') console.log(`gemm: openblas row skipped (${blas})`);
  else {
    rows.push(...blas);
    for (const r of rows) {
      const b = blas.find((q) => q.threads === r.threads && r.name.startsWith(`f32 ${q.extra!.n}^3`));
      if (b && r.topic === 'gemm' && r !== b) r.extra = { ...r.extra, vsOpenblas: r.value / b.value };
    }
  }
  return rows;
}

/** f32 n^3 GEMM through the raw kernel on `be`: best wall GFLOP/s and CPU GFLOP/s per core. */
export function gemmF32Rate(be: WasmBackend, n: number, runs: number): { gflops: number; gflopsPerCoreCpu: number } {
  const A = be.empty([n, n]), B = be.empty([n, n]), C = be.empty([n, n]);
  fill(A, 1); fill(B, 2);
  const scratch = be.empty([(be.threads * (be.exports.gemmScratchBytes as () => number)()) / 4]);
  try {
    const args = [0, 0, n, n, n, 1, be.ptr(A), n, be.ptr(B), n, 0, be.ptr(C), n, be.ptr(scratch)];
    const t = time(() => be.run('gemmF32', args), { warmup: 1, runs, maxMs: 1 });
    return { gflops: 2 * n ** 3 / t.bestMs / 1e6, gflopsPerCoreCpu: 2 * n ** 3 / t.bestCpuMs / 1e6 };
  } finally { for (const x of [A, B, C, scratch]) x.dispose(); }
}

/** fmaPeak on each backend: the 128-bit FMA rate (wall and CPU time per core). */
function benchFmaPeak(backends: WasmBackend[], opts: BenchOptions, label: string): BenchRow[] {
  const rows: BenchRow[] = [];
  const iters = opts.quick ? 2_000_000 : 5_000_000;
  for (const be of backends) {
    const out = be.empty([be.threads]);
    const t = time(() => be.run('fmaPeak', [iters, 0.5, be.ptr(out)]), { warmup: 1, runs: 10, maxMs: opts.quick ? 500 : 2000 });
    const flop = be.threads * iters * 96;
    rows.push({ topic: 'gemm', name: `fma peak (128-bit, 12 chains)${label}`, threads: be.threads, value: flop / t.bestMs / 1e6, unit: 'GFLOP/s',
      extra: { medianGflops: flop / t.medianMs / 1e6, gflopsPerCoreCpu: flop / t.bestCpuMs / 1e6, relaxed: be.features.relaxedSimd } });
    out.dispose();
  }
  return rows;
}

// Child process: float32 np.matmul, best of several, seconds per size as JSON;
// exits 3 when numpy's BLAS is not OpenBLAS (the row would compare with something else).
const OPENBLAS_SCRIPT = `
import json, sys, time
import numpy as np
try:
    cfg = np.show_config(mode='dicts')
except TypeError:
    cfg = None
name = json.dumps(cfg.get('Build Dependencies', {}).get('blas', {})) if cfg else ''
if 'openblas' not in name.lower():
    print('numpy BLAS is not OpenBLAS: ' + name[:200]); sys.exit(3)
out = {'blas': cfg['Build Dependencies']['blas'].get('version', '?')}
for n in json.loads(sys.argv[1]):
    rng = np.random.default_rng(1)
    a = rng.random((n, n), dtype=np.float32) - 0.5
    b = rng.random((n, n), dtype=np.float32) - 0.5
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    best, t0 = 1e9, time.perf_counter()
    for i in range(30):
        t = time.perf_counter(); np.matmul(a, b, out=c); best = min(best, time.perf_counter() - t)
        if i >= 4 and time.perf_counter() - t0 > 1.5: break
    out[str(n)] = best
print(json.dumps(out))
`;

/** OpenBLAS (numpy) GFLOP/s per size and thread count, or why the row is skipped. */
async function benchOpenblas(sizes: number[], threadCounts: number[]): Promise<BenchRow[] | string> {
  const { spawnSync } = await import('node:child_process');
  const rows: BenchRow[] = [];
  for (const nt of threadCounts) {
    const env = { ...process.env, OPENBLAS_NUM_THREADS: String(nt), OMP_NUM_THREADS: String(nt) };
    const r = spawnSync('python3', ['-c', OPENBLAS_SCRIPT, JSON.stringify(sizes)], { env, encoding: 'utf8', timeout: 120_000 });
    if (r.error) return `python3 not runnable: ${r.error.message}`;
    if (r.status !== 0) return (r.stdout + r.stderr).trim().split('\n').pop() || `python3 exited with ${r.status}`;
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
    for (const n of sizes) {
      rows.push({ topic: 'gemm', name: `openblas f32 ${n}^3 (numpy)`, threads: nt, value: 2 * n ** 3 / (res[String(n)] as number) / 1e9, unit: 'GFLOP/s',
        extra: { n: String(n), openblas: String(res.blas) } });
    }
  }
  return rows;
}

/** y = W x for a 4096 x 4096 W in each weight format; GB/s counts weight bytes read (int8: + row scales, Q4: + block scales). */
export async function benchGemv(backends: WasmBackend[], opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const N = 4096, K = 4096;
  const wf = new Tensor('f32', [N, K], new Float32Array(N * K));
  fill(wf, 3);
  const formats: [string, Tensor | Q4Weight, number][] = [
    ['f32', wf, N * K * 4],
    ['bf16', new Tensor('bf16', [N, K], f32ArrayToBf16(wf.data as Float32Array)), N * K * 2],
    ['f16', new Tensor('f16', [N, K], f32ArrayToF16(wf.data as Float32Array)), N * K * 2],
    ['int8', quantizeInt8(wf), N * K + N * 4],
    ['q4_0', quantizeQ4(wf), N * K / 2 + (N * K / 32) * 4],
    // the same Q4 weights with x as int16 (the earlier kernel) beside the 8-bit default
    ['q4_0 x16', quantizeQ4(wf, { activationBits: 16 }), N * K / 2 + (N * K / 32) * 4],
  ];
  for (const be of backends) {
    const x = be.empty([1, K]);
    fill(x, 4);
    const y = be.empty([1, N]);
    const perF32: Record<string, number> = {};
    for (const [name, w, bytes] of formats) {
      // Upload once so the timed call reads the weights in place, as a model does.
      const wh = uploadWeight(be, w);
      const t = time(() => linear(be, x, wh, undefined, y), { warmup: 3, runs: opts.quick ? 10 : 30, maxMs: opts.quick ? 500 : 2000 });
      const rowsPerS = N / (t.bestMs / 1e3);
      perF32[name] = rowsPerS;
      rows.push({ topic: 'gemv', name: `${name} ${N}x${K}`, threads: be.threads, value: bytes / t.bestMs / 1e6, unit: 'GB/s',
        extra: { rowsPerSec: rowsPerS, bestUs: t.bestMs * 1e3, medianUs: t.medianMs * 1e3, rowsPerSecVsF32: rowsPerS / (perF32.f32 ?? rowsPerS) } });
      if (wh !== w) wh.dispose();
    }
    // Batched decoding (4 sequences): W is still read once, so GB/s should hold.
    const x4 = be.empty([4, K]), y4 = be.empty([4, N]);
    fill(x4, 5);
    for (const [name, w, bytes] of formats.filter(([n]) => n !== 'f16')) {
      const wh = uploadWeight(be, w);
      const t = time(() => linear(be, x4, wh, undefined, y4), { warmup: 3, runs: opts.quick ? 10 : 30, maxMs: opts.quick ? 500 : 2000 });
      rows.push({ topic: 'gemv', name: `${name} ${N}x${K} batch 4`, threads: be.threads, value: bytes / t.bestMs / 1e6, unit: 'GB/s',
        extra: { rowsPerSec: (4 * N) / (t.bestMs / 1e3), bestUs: t.bestMs * 1e3, medianUs: t.medianMs * 1e3 } });
      if (wh !== w) wh.dispose();
    }
    x.dispose(); y.dispose(); x4.dispose(); y4.dispose();
  }
  // The 4096 x 4096 int8 / Q4 matrices (16 / 10 MiB) fit the 32 MiB L3; an LM
  // head (vocab 50304 x 768: 38 / 24 MiB, short rows) streams from DRAM as decode does.
  const Nh = 50304, Kh = 768;
  const wh = new Tensor('f32', [Nh, Kh], new Float32Array(Nh * Kh));
  fill(wh, 6);
  const headFormats: [string, Tensor | Q4Weight, number][] = [
    ['f32', wh, Nh * Kh * 4], ['int8', quantizeInt8(wh), Nh * Kh + Nh * 4], ['q4_0', quantizeQ4(wh), Nh * Kh / 2 + (Nh * Kh / 32) * 4],
    ['q4_0 x16', quantizeQ4(wh, { activationBits: 16 }), Nh * Kh / 2 + (Nh * Kh / 32) * 4],
  ];
  for (const be of backends) {
    const x = be.empty([1, Kh]), y = be.empty([1, Nh]);
    fill(x, 7);
    for (const [name, w, bytes] of headFormats) {
      const wu = uploadWeight(be, w);
      const t = time(() => linear(be, x, wu, undefined, y), { warmup: 2, runs: opts.quick ? 8 : 20, maxMs: opts.quick ? 500 : 2000 });
      rows.push({ topic: 'gemv', name: `${name} ${Nh}x${Kh} (LM head)`, threads: be.threads, value: bytes / t.bestMs / 1e6, unit: 'GB/s',
        extra: { rowsPerSec: Nh / (t.bestMs / 1e3), bestUs: t.bestMs * 1e3, medianUs: t.medianMs * 1e3 } });
      if (wu !== w) wu.dispose();
    }
    x.dispose(); y.dispose();
  }
  return rows;
}

function uploadWeight(be: WasmBackend, w: Tensor | Q4Weight): Tensor | Q4Weight {
  if (w instanceof Q4Weight) return new Q4Weight(w.shape, be.upload(w.packed), be.upload(w.scales), { activationBits: w.activationBits });
  return w.dtype === 'i8' ? uploadI8(be, w) : be.upload(w);
}

function uploadI8(be: WasmBackend, w: Tensor): Tensor {
  const q = be.upload(new Tensor('i8', w.shape, w.data));
  const s = be.upload(new Tensor('f32', [w.shape[0]], w.scales!));
  return new Tensor('i8', w.shape, q.data, { scales: s.data as Float32Array, release: () => { q.dispose(); s.dispose(); } });
}

/** memory.copy of 64 MiB inside the wasm heap: the read+write bandwidth GEMV competes with. */
export async function benchCopy(backends: WasmBackend[], opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const bytes = 64 << 20;
  for (const be of backends) {
    const src = be.empty([bytes], 'u8'), dst = be.empty([bytes], 'u8');
    (src.data as Uint8Array).fill(1); (dst.data as Uint8Array).fill(0);
    const t = time(() => be.run('copyBytes', [be.ptr(dst), be.ptr(src), bytes]), { warmup: 2, runs: opts.runs ?? (opts.quick ? 5 : 15) });
    rows.push({ topic: 'copy', name: 'memcpy 64 MiB', threads: be.threads, value: bytes / t.bestMs / 1e6, unit: 'GB/s',
      extra: { readPlusWriteGBs: (2 * bytes) / t.bestMs / 1e6, medianGBs: bytes / t.medianMs / 1e6 } });
    src.dispose(); dst.dispose();
  }
  return rows;
}
