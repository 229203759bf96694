// Batched-GEMV micro benchmark (`npm run bench -- gemvbatch`, opt-in): the GEMVs of one
// decode step of the 162M bench model (every block's qkvo, out, up and down projection
// and the LM head, in step order, so the weights stream from DRAM as in decode) at
// batch 1 and batch 8, one thread, the kernels called straight on a raw instance (no
// pool, no JavaScript between calls). Per weight format and matrix shape: CPU us per
// pass, G multiply-adds per second of one core, the B=8 / B=1 throughput ratio, and the
// f32 GEMM's rate on the same core for comparison (the compute ceiling a batch-8 GEMV
// could reach).
//
// XLSTM_BENCH_WASM=a.wasm,b.wasm times other kernel builds side by side (each on its
// own memory, the builds alternating in rounds so they see the same machine load), e.g.
// a copy of dist/wasm/kernels-relaxed.wasm from before a change against the current one.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveXLSTMLargeConfig } from '../src/models/xlstmLarge/index.js';
import { LM_BENCH_CONFIG } from './lm.js';
import type { BenchRow } from './report.js';
import type { BenchOptions } from './gemm.js';

type Fn = (...a: number[]) => number;
interface Build { label: string; mem: WebAssembly.Memory; ex: Record<string, Fn> }

const PAGE = 65536;
const BASE = 1 << 20; // above the kernels' statics (--memoryBase 65536)

function instantiate(bytes: Uint8Array<ArrayBuffer>, label: string, bytesNeeded: number): Build {
  const pages = Math.ceil((BASE + bytesNeeded) / PAGE) + 16;
  const mem = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  const view = () => new Int32Array(mem.buffer);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { memory: mem, abort: () => { throw new Error('wasm abort'); }, waitOn: (p: number, v: number) => { Atomics.wait(view(), p >>> 2, v); } },
  });
  return { label, mem, ex: inst.exports as unknown as Record<string, Fn> };
}

function cpuUs(): number { const c = process.cpuUsage(); return c.user + c.system; }

/** Fills [p, p + bytes) with pseudo-random bytes; f32 regions get values in [-0.5, 0.5). */
function fillBytes(mem: WebAssembly.Memory, p: number, bytes: number, seed: number, asF32: boolean): void {
  let s = seed >>> 0;
  if (asF32) {
    const f = new Float32Array(mem.buffer, p, bytes >> 2);
    for (let i = 0; i < f.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; f[i] = s / 2 ** 32 - 0.5; }
  } else {
    const u = new Uint32Array(mem.buffer, p, bytes >> 2);
    for (let i = 0; i < u.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; u[i] = s; }
  }
}

interface Shape { name: string; N: number; K: number; count: number }

function modelShapes(): Shape[] {
  const c = resolveXLSTMLargeConfig(LM_BENCH_CONFIG);
  const E = c.embedding_dim, U = c.ffn_up_proj_dim, NB = c.num_blocks;
  return [
    { name: 'qkvo', N: 2 * c.qk_dim + 2 * c.v_dim, K: E, count: NB },
    { name: 'out', N: E, K: c.v_dim, count: NB },
    { name: 'up', N: 2 * U, K: E, count: NB },
    { name: 'down', N: E, K: U, count: NB },
    { name: 'head', N: c.vocab_size, K: E, count: 1 },
  ];
}

type Format = 'f32' | 'int8' | 'q4';

function weightBytes(f: Format, N: number, K: number): { w: number; s: number } {
  if (f === 'f32') return { w: N * K * 4, s: 0 };
  if (f === 'int8') return { w: N * K, s: N * 4 };
  return { w: N * K / 2, s: (N * K / 32) * 4 };
}

const align = (n: number) => (n + 63) & ~63;

/** One decode step's GEMVs laid out in a build's memory, in step order. */
interface Call { shape: string; args: number[]; kernel: string }

function layout(b: Build, f: Format, shapes: Shape[], B: number): { calls: Call[]; bytes: number } {
  let p = BASE;
  const Kmax = Math.max(...shapes.map((s) => s.K)), Nmax = Math.max(...shapes.map((s) => s.N));
  const x = p; p += align(B * Kmax * 4);
  const y = p; p += align(B * Nmax * 4);
  // f32 from 5 rows: gemvF32Batch where the build has it (as linear picks it)
  const f32Batch = f === 'f32' && B >= 5 && typeof b.ex.gemvF32Batch === 'function';
  const scratchBytes = Math.max(...shapes.map((s) => f === 'int8' ? b.ex.gemvQuantScratchBytes(s.K, B) : f === 'q4' ? b.ex.gemvQ8ScratchBytes(s.K, B) : f32Batch ? b.ex.gemvF32BatchScratchBytes(s.K) : 0));
  const scratch = p; p += align(scratchBytes);
  const perBlock = shapes.filter((s) => s.count > 1), once = shapes.filter((s) => s.count === 1);
  const calls: Call[] = [];
  const place = (s: Shape) => {
    const wb = weightBytes(f, s.N, s.K);
    const w = p; p += align(wb.w);
    const sc = p; p += align(wb.s);
    const kernel = f32Batch ? 'gemvF32Batch' : f === 'f32' ? 'gemvF32' : f === 'int8' ? 'gemvI8' : 'gemvQ4Q8';
    const args = f32Batch ? [w, x, y, 0, s.N, s.K, B, scratch] : f === 'f32' ? [w, x, y, 0, s.N, s.K, B] : [w, sc, x, y, 0, s.N, s.K, B, scratch];
    calls.push({ shape: s.name, kernel, args });
    return { w, wb, sc };
  };
  const nBlocks = perBlock.length ? perBlock[0].count : 0;
  const regions: { w: number; wb: { w: number; s: number }; sc: number }[] = [];
  for (let blk = 0; blk < nBlocks; blk++) for (const s of perBlock) regions.push(place(s));
  for (const s of once) regions.push(place(s));
  const need = p - b.mem.buffer.byteLength;
  if (need > 0) b.mem.grow(Math.ceil(need / PAGE));
  fillBytes(b.mem, x, B * Kmax * 4, 11, true);
  let seed = 100;
  for (const r of regions) {
    fillBytes(b.mem, r.w, r.wb.w, seed++, f === 'f32');
    if (r.wb.s) {
      // scales: small positive f32
      const sv = new Float32Array(b.mem.buffer, r.sc, r.wb.s >> 2);
      for (let i = 0; i < sv.length; i++) sv[i] = 0.01 + (i % 7) * 1e-3;
    }
  }
  return { calls, bytes: p };
}

/** f32 GEMM rate of one core (G multiply-adds/s, CPU time) at n^3: the ceiling to compare with. */
function gemmRate(b: Build, n: number, rounds: number): number {
  const A = BASE, Bm = A + n * n * 4, C = Bm + n * n * 4, S = C + n * n * 4;
  const need = S + b.ex.gemmScratchBytes() - b.mem.buffer.byteLength;
  if (need > 0) b.mem.grow(Math.ceil(need / PAGE));
  fillBytes(b.mem, A, n * n * 4, 1, true); fillBytes(b.mem, Bm, n * n * 4, 2, true);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const c0 = cpuUs();
    b.ex.gemmF32(0, 0, n, n, n, 1, A, n, Bm, n, 0, C, n, S, 0, 1);
    best = Math.min(best, cpuUs() - c0);
  }
  return n ** 3 / best / 1e3;
}

export async function benchGemvBatch(_backends: unknown, opts: BenchOptions): Promise<BenchRow[]> {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  const env = process.env;
  const here = fileURLToPath(new URL('../wasm/kernels-relaxed.wasm', import.meta.url));
  const files = (env.XLSTM_BENCH_WASM ?? here).split(',');
  const formats = (env.XLSTM_BENCH_GEMVB_DTYPES ?? 'f32,int8,q4').split(',') as Format[];
  const batches = (env.XLSTM_BENCH_GEMVB_B ?? '1,8').split(',').map(Number);
  const rounds = opts.quick ? 3 : 6;
  const shapes = modelShapes();
  const rows: BenchRow[] = [];
  const bytesOf = files.map((f) => new Uint8Array(readFileSync(f)) as Uint8Array<ArrayBuffer>);
  {
    const b = instantiate(bytesOf[0], files[0], 3 * 512 * 512 * 4 + (1 << 20));
    const g = gemmRate(b, 512, rounds + 2);
    rows.push({ topic: 'gemvbatch', name: 'f32 GEMM 512^3 (ceiling)', threads: 1, value: g, unit: 'GMAC/s per core' });
  }
  for (const f of formats) {
    for (const B of batches) {
      const builds = bytesOf.map((bytes, i) => instantiate(bytes, files[i], 0));
      const lay = builds.map((b) => layout(b, f, shapes, B));
      // best CPU us per shape (summed over its calls in one pass) and per pass
      const best = builds.map(() => new Map<string, number>());
      for (let r = 0; r < rounds + 1; r++) {
        for (let i = 0; i < builds.length; i++) {
          const ex = builds[i].ex;
          const t = new Map<string, number>();
          for (const c of lay[i].calls) {
            const c0 = cpuUs();
            ex[c.kernel](...c.args, 0, 1);
            t.set(c.shape, (t.get(c.shape) ?? 0) + cpuUs() - c0);
          }
          t.set('all', [...t.values()].reduce((a, v) => a + v, 0));
          if (r === 0) continue; // warm-up (compilation tiers, page faults)
          for (const [k, v] of t) best[i].set(k, Math.min(best[i].get(k) ?? Infinity, v));
        }
      }
      for (let i = 0; i < builds.length; i++) {
        for (const s of [...shapes, { name: 'all', N: 0, K: 0, count: 0 }]) {
          const us = best[i].get(s.name)!;
          const macs = s.name === 'all' ? shapes.reduce((a, q) => a + q.N * q.K * q.count, 0) * B : s.N * s.K * s.count * B;
          rows.push({
            topic: 'gemvbatch', name: `${f} B=${B} ${s.name}${s.name === 'all' ? '' : ` ${s.N}x${s.K}`}${files.length > 1 ? ` [${i}]` : ''}`, threads: 1,
            value: macs / us / 1e3, unit: 'GMAC/s per core', extra: { cpuUs: us, build: builds[i].label },
          });
        }
      }
    }
  }
  // B=8 / B=1 throughput per shape, from the rows above
  for (const r of rows) {
    const m = /^(\S+) B=(\d+) (.*)$/.exec(r.name);
    if (!m || m[2] === '1') continue;
    const one = rows.find((q) => q.name === `${m[1]} B=1 ${m[3]}`);
    if (one) r.extra = { ...r.extra, vsB1: r.value / one.value };
  }
  return rows;
}
