// Claimable tails in a fused KernelProgram (KernelCall.claimTail, assembly/program.ts `claimed`):
// the last part of each thread's rows of a GEMV goes to whichever thread claims it first. The
// result must be the bits of the same kernel run with the static split (and on one thread), for
// gemvF32, gemvI8 and gemvQ4Q8; tails from a few rows to nearly all, row counts whose split is
// uneven; 1, 2 and 3 threads and the baseline SIMD build; two such calls in a row (a barrier
// between); many runs of one program (each run number frees the tails again), also across the
// run number's wrap-around;
// barriers that always sleep, never sleep, and a main thread that may not block (a browser's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { KernelCall, KernelProgram, MemRange } from '../../src/backend/wasm/program.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { quantizeInt8, quantizeQ4 } from '../../src/tensor/quant.js';
import { ArgumentError } from '../../src/errors.js';

let bes: WasmBackend[] = [];
before(async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  bes = [
    await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 }),
    await WasmBackend.create({ threads: 3 }), await WasmBackend.create({ threads: 2, relaxedSimd: false }),
  ];
});
after(() => { for (const b of bes) b.dispose(); });

const label = (be: WasmBackend) => `threads=${be.threads} ${be.features.relaxedSimd ? 'relaxed' : 'baseline'}`;

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return 2 * (s / 2 ** 32) - 1; });
}

type Format = 'gemvF32' | 'gemvI8' | 'gemvQ4Q8';

/** A weight [N, K] of the format on the heap, and the GEMV's arguments but x, y, scratch. */
class Gemv {
  readonly owned: Tensor[] = [];
  readonly w: number; readonly scales: number; readonly scratchPer: number;
  constructor(readonly be: WasmBackend, readonly kernel: Format, readonly N: number, readonly K: number, readonly B: number, seed: number) {
    const f = new Tensor('f32', [N, K], rand(N * K, seed));
    const up = (t: Tensor) => { const h = be.upload(t); this.owned.push(h); return h.data.byteOffset; };
    if (kernel === 'gemvF32') { this.w = up(f); this.scales = 0; this.scratchPer = 0; }
    else if (kernel === 'gemvI8') {
      const q = quantizeInt8(f);
      this.w = up(q); this.scales = up(new Tensor('f32', [N], q.scales!));
      this.scratchPer = (be.exports.gemvQuantScratchBytes as (k: number, b: number) => number)(K, B);
    } else {
      const q = quantizeQ4(f);
      this.w = up(q.packed); this.scales = up(q.scales);
      this.scratchPer = (be.exports.gemvQ8ScratchBytes as (k: number, b: number) => number)(K, B);
    }
  }
  /** The call y[B, N] = x[B, K] W^T, with its declarations, with a claimable tail (or static). */
  call(x: number, y: number, scratch: number, claimTail?: number): KernelCall {
    const { be, N, K, B } = this;
    const args = this.kernel === 'gemvF32' ? [this.w, x, y, 0, N, K, B] : [this.w, this.scales, x, y, 0, N, K, B, scratch];
    const writes: MemRange[] = [{ ptr: y, bytes: 4 * B * N }];
    if (this.scratchPer) writes.push(be.threads > 1 ? { ptr: scratch, bytes: this.scratchPer, stride: this.scratchPer, split: true } : { ptr: scratch, bytes: this.scratchPer });
    return { kernel: this.kernel, args, nt: be.threads, reads: [{ ptr: x, bytes: 4 * B * K }], writes, claimTail };
  }
  dispose(): void { this.owned.forEach((t) => t.dispose()); }
}

const bitsOf = (t: Tensor) => new Uint32Array(t.data.buffer, t.data.byteOffset, t.size).slice();

function assertBits(what: string, got: Tensor, want: Uint32Array): void {
  const g = new Uint32Array(got.data.buffer, got.data.byteOffset, got.size);
  for (let i = 0; i < want.length; i++) if (g[i] !== want[i]) assert.fail(`${what}: y[${i}] = ${(got.data as Float32Array)[i]}, expected the bits of ${new Float32Array(want.buffer)[i]}`);
}

/** A main thread that may not block, as a browser's: its barriers spin only. */
function withoutBlocking<T>(be: WasmBackend, f: () => T): T {
  Object.defineProperty(be.pool, 'canBlock', { get: () => false, configurable: true });
  try { return f(); } finally { delete (be.pool as { canBlock?: boolean }).canBlock; }
}

for (const kernel of ['gemvF32', 'gemvI8', 'gemvQ4Q8'] as Format[]) {
  test(`claimable tails, ${kernel}: the static split's bits for any tail, threads, build; every run; two such calls in a row`, () => {
    for (const be of bes) {
      // [150, 160] then [150, 160] again on its output's first 160 ... as two layers: A: [160, K1], B: [150, 160]
      for (const { K1, B } of [{ K1: 96, B: 1 }, { K1: 1056, B: 1 }, { K1: 96, B: 3 }]) {
        const A = new Gemv(be, kernel, 160, K1, B, 11), Bw = new Gemv(be, kernel, 150, 160, B, 12);
        const x = be.upload(new Tensor('f32', [B, K1], rand(B * K1, 13)));
        const [y1, y2, r1, r2] = [be.empty([B, 160]), be.empty([B, 150]), be.empty([B, 160]), be.empty([B, 150])];
        const sA = be.empty([Math.max(1, (A.scratchPer * be.threads) / 4)]), sB = be.empty([Math.max(1, (Bw.scratchPer * be.threads) / 4)]);
        try {
          // reference: each kernel with the static split on all threads, and on one thread
          const refCalls = [A.call(x.data.byteOffset, r1.data.byteOffset, sA.data.byteOffset), Bw.call(r1.data.byteOffset, r2.data.byteOffset, sB.data.byteOffset)];
          for (const c of refCalls) be.run(c.kernel, c.args, 1);
          const want1 = bitsOf(r1), want2 = bitsOf(r2);
          assert.ok((r2.data as Float32Array).every(Number.isFinite) && (r2.data as Float32Array).some((v) => v !== (r2.data as Float32Array)[0]));
          for (const c of refCalls) be.run(c.kernel, c.args, c.nt);
          assertBits(`${label(be)} static ${kernel}`, r2, want2);
          // 160 rows = 40 groups of 4; 150 rows = 38 groups (the last of 2 rows), split unevenly
          // over 3 threads; tails of a few rows (0.05: none on 3 threads' short shares), a tenth,
          // half, nearly all of a thread's rows
          for (const tail of [0.05, 0.1, 0.5, 0.99]) {
            const per = `tail ${tail}`;
            const calls = [A.call(x.data.byteOffset, y1.data.byteOffset, sA.data.byteOffset, tail), Bw.call(y1.data.byteOffset, y2.data.byteOffset, sB.data.byteOffset, tail)];
            for (const [mode, spins, browser] of [['fused', undefined, false], ['fused', 0, false], ['fused', -1, false], ['fused', undefined, true], ['calls', undefined, false]] as const) {
              const run = () => {
                const p = new KernelProgram(be, calls, mode, spins);
                try {
                  assert.equal(p.claimedCalls, mode === 'fused' && be.threads > 1 ? 2 : 0);
                  // B reads what A's threads wrote, wherever they claimed it: one barrier
                  if (mode === 'fused') assert.equal(p.barriers, be.threads > 1 ? 1 : 0);
                  for (let r = 0; r < 25; r++) {
                    (y1.data as Float32Array).fill(NaN); (y2.data as Float32Array).fill(NaN);
                    p.run();
                    const what = `${label(be)} K1=${K1} B=${B} ${per} ${mode} spins ${spins}${browser ? ' main thread spin-only' : ''} run ${r}`;
                    assertBits(`${what} first`, y1, want1);
                    assertBits(`${what} second`, y2, want2);
                  }
                } finally { p.dispose(); }
              };
              if (browser) withoutBlocking(be, run); else run();
            }
          }
        } finally { for (const t of [x, y1, y2, r1, r2, sA, sB]) t.dispose(); A.dispose(); Bw.dispose(); }
      }
    }
  });
}

test('claimable tails: misuse is reported; fused-serial and calls run them statically', () => {
  const be = bes[1];
  const g = new Gemv(be, 'gemvQ4Q8', 64, 64, 1, 5);
  const x = be.zeros([64]), y = be.zeros([64]), s = be.empty([(2 * g.scratchPer) / 4]);
  try {
    const ok = g.call(x.data.byteOffset, y.data.byteOffset, s.data.byteOffset, 0.25);
    for (const mode of ['calls', 'fused-serial'] as const) {
      const p = new KernelProgram(be, [ok], mode);
      assert.equal(p.claimedCalls, 0);
      p.dispose();
    }
    for (const bad of [0, 1, -0.1, NaN]) {
      assert.throws(() => new KernelProgram(be, [{ ...ok, claimTail: bad }], 'fused'), /claimTail = .*, expected a number in \(0, 1\)/);
    }
    const add: KernelCall = { kernel: 'addF32', args: [y.data.byteOffset, x.data.byteOffset, x.data.byteOffset, 64], nt: 2, reads: [{ ptr: x.data.byteOffset, bytes: 256 }], writes: [{ ptr: y.data.byteOffset, bytes: 256 }], claimTail: 0.25 };
    assert.throws(() => new KernelProgram(be, [add], 'fused'), ArgumentError);
    assert.throws(() => new KernelProgram(be, [add], 'fused'), /addF32\) cannot have a claimable tail; only gemvF32, gemvI8, gemvQ4Q8 can/);
    // rows go to whichever thread claims them: a per-thread split output is a mistake
    const split = { ...ok, writes: [{ ptr: y.data.byteOffset, bytes: 128, stride: 128, split: true }, ok.writes![1]] };
    assert.throws(() => new KernelProgram(be, [split], 'fused'), /has a claimable tail, so any thread may write its last rows, but it declares a per-thread split output/);
    const eachClaimed = { ...ok, each: true, writes: [{ ptr: y.data.byteOffset, bytes: 256, stride: 256 }] };
    assert.throws(() => new KernelProgram(be, [eachClaimed], 'fused'), /runs on each thread; it cannot also have a claimable tail/);
    // the run number wraps around (0 is skipped: the flags start at 0) and every tail is computed
    for (let i = 0; i < 64; i++) (x.data as Float32Array)[i] = Math.cos(i);
    be.run(ok.kernel, ok.args, 2);
    const want = bitsOf(y);
    const p = new KernelProgram(be, [ok], 'fused');
    try {
      const runNumber = (p as unknown as { bar: Tensor }).bar.data as Int32Array;
      runNumber[12] = 2 ** 31 - 3;
      for (let r = 0; r < 6; r++) {
        (y.data as Float32Array).fill(NaN);
        p.run();
        assertBits(`run number ${runNumber[12]}`, y, want);
      }
      runNumber[12] = -3;
      for (let r = 0; r < 6; r++) {
        (y.data as Float32Array).fill(NaN);
        p.run();
        assert.notEqual(runNumber[12], 0);
        assertBits(`run number ${runNumber[12]}`, y, want);
      }
    } finally { p.dispose(); }
  } finally { for (const t of [x, y, s]) t.dispose(); g.dispose(); }
});
