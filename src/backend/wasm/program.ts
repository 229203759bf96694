// A kernel program: a fixed sequence of kernel calls (name, arguments, threads) built once
// and run many times, e.g. one decode step of a language model with every buffer
// preallocated. Two ways to run it, with the same bits out:
//   'calls': one pool dispatch per call, the argument lists prebuilt (no checks, no
//            allocation between calls);
//   'fused': the whole list is written into the heap and run by one dispatch of the
//            runProgram kernel (assembly/program.ts): all threads walk the list and meet at
//            barriers, so a step that made ~60 two-thread dispatches wakes the worker threads
//            once. Where the calls say what memory they read and write (KernelCall.reads /
//            writes), a barrier goes only where a thread may touch what another thread wrote
//            (or write what another read) since the last one; otherwise before and after every
//            call on more than one thread. Calls marked `each` run on every thread (as thread
//            0 of 1) into per-thread copies of their outputs, so small serial ops between two
//            GEMVs need no meeting at all. A GEMV with `claimTail` leaves the last part
//            of each thread's rows to whichever thread gets to it first: a thread that is late
//            or slow does fewer rows, and the others wait less for it at the next barrier.
// Arguments can be changed between runs (setArg), e.g. a pointer that moves per step.
import type { WasmBackend } from './backend.js';
import { Tensor } from '../../tensor/tensor.js';
import { ArgumentError } from '../../errors.js';

/**
 * Kernels runProgram can call, in its opcode order (assembly/program.ts `call`): the list
 * and the switch there must change together (checked against programOpCount at build).
 */
export const PROGRAM_KERNELS = [
  'embeddingF32', 'normF32', 'addF32', 'mulF32', 'addRowsF32', 'sigmoidF32', 'siluF32', 'softcapF32',
  'gemvF32', 'gemvBf16', 'gemvF16', 'gemvI8', 'gemvQ4', 'mlstmRecurrentF32', 'copyRowsF32',
  'gemvQ4Q8', 'gemvF32Batch',
] as const;

/**
 * Argument indices of each PROGRAM_KERNELS entry that are pointers (the `P(a, i)` of
 * assembly/program.ts `call`): only these are moved to a thread's own buffer copy.
 */
const POINTER_ARGS: Record<typeof PROGRAM_KERNELS[number], readonly number[]> = {
  embeddingF32: [0, 1, 2], normF32: [0, 1, 2, 3], addF32: [0, 1, 2], mulF32: [0, 1, 2], addRowsF32: [0, 1, 2],
  sigmoidF32: [0, 1], siluF32: [0, 1], softcapF32: [0, 1], gemvF32: [0, 1, 2, 3], gemvBf16: [0, 1, 2, 3, 7],
  gemvF16: [0, 1, 2, 3], gemvI8: [0, 1, 2, 3, 4, 8], gemvQ4: [0, 1, 2, 3, 4, 8],
  mlstmRecurrentF32: [0, 1, 2, 3, 4, 5, 6, 7, 8], copyRowsF32: [0, 1], gemvQ4Q8: [0, 1, 2, 3, 4, 8], gemvF32Batch: [0, 1, 2, 3, 7],
};

/** Most arguments a strided call may have (runProgram's per-thread argument area is 1 KiB). */
const MAX_STRIDED_ARGS = 128;

/**
 * A byte range a call reads or writes. `stride`: the buffer has one copy per thread, thread t's
 * at ptr + t * stride (it touches no other copy); pointer arguments into it are moved to the
 * running thread's copy, unless `split` says the kernel itself indexes it by its tid (a GEMV's
 * per-thread scratch).
 */
export interface MemRange { ptr: number; bytes: number; stride?: number; split?: boolean }

/** One kernel call of a program: kernel name, its arguments (without tid, nt) and its thread count. */
export interface KernelCall {
  kernel: string;
  args: number[];
  nt: number;
  /**
   * Run on every thread of a fused program as thread 0 of 1 (the same result on each, written to
   * per-thread copies: its written ranges need a stride); once, on thread 0, otherwise.
   */
  each?: boolean;
  /**
   * Fused programs only (ignored by 'calls' and 'fused-serial', and on one thread; CLAIMABLE
   * kernels; same bits as the static split): the last claimTail (0 < claimTail < 1) of each
   * thread's static rows, from a multiple of 4 rows, is computed by whichever thread claims it
   * first (each thread tries its own tail first, then the others'). Any thread may then write
   * those rows, so `writes` must declare the output whole: only the GEMV's per-thread scratch
   * may be `split`.
   */
  claimTail?: number;
  /** Memory read and written (weights and other never-written data may be left out). Give both on every call of a program or on none. */
  reads?: readonly MemRange[];
  writes?: readonly MemRange[];
}

/**
 * 'fused-serial': fused, but with the earlier rule (calls marked `each` run on thread 0 alone,
 * a barrier before and after every call on several threads), kept to measure the difference.
 */
export type ProgramMode = 'calls' | 'fused' | 'fused-serial';

interface Compiled {
  /** Calls [from, to) of the list run as one runProgram job, or one plain call (fused = false). */
  from: number; to: number; fused: boolean;
  /** Heap f64 program (fused only) and the offset (in f64) of each call's first argument. */
  prog?: Tensor; argAt?: number[]; threads: number;
  /** Barriers one run of the program passes (fused only). */
  barriers: number;
}

/**
 * The most times a thread waiting at a barrier of a fused program checks it before sleeping
 * (20000: ~20-40 us, longer than a futex wake-up, ~19 us). Each thread adapts its own count
 * below this (assembly/program.ts `nextSpins`): it stays near the top while its partner arrives
 * within it (quiet machine) and falls towards 1000 where the partner is often descheduled and
 * spinning would take the core it needs (docs/PERFORMANCE.md, "Barriers that spin as long as a
 * wake-up"). 0: always sleep; -1: never sleep. WasmBackendOptions.barrierSpins sets it per backend.
 */
export const DEFAULT_SPINS = 20000;

/** Where each call's arguments start in the heap program (for setArg). */
const HEADER = 7;

/**
 * Kernels a fused program can run with claimable tails (KernelCall.claimTail): row-split GEMVs
 * whose rows come out the same bits whatever range holds them, given ranges that start on
 * multiples of 4 rows (gemvF32 sums rows in groups of 4 from the range start), with the index of
 * their per-thread scratch argument (-1: none).
 */
const CLAIMABLE = new Map<string, number>([['gemvF32', -1], ['gemvI8', 8], ['gemvQ4Q8', 8]]);

/** Whether KernelCall.claimTail is allowed on this kernel. */
export function claimable(kernel: string): boolean { return CLAIMABLE.has(kernel); }

/** Bytes between two tail flags (one cache line each: a thread's own flag stays in its cache). */
const FLAG_BYTES = 64;

/** Index of the run number among the barrier block's i32 (assembly/program.ts runProgram: byte 48). */
const RUN = 12;

export class KernelProgram {
  private readonly calls: { k: number; args: Float64Array; nt: number; kernel: string; each: boolean; tail: number; strides?: Float64Array; reads?: readonly MemRange[]; writes?: readonly MemRange[] }[] = [];
  /**
   * Per call with a claimable tail, one flag per thread (FLAG_BYTES apart): the number of the
   * run that last claimed that thread's tail (bar's i32 12, counted up by run()).
   */
  private flags?: Tensor;
  /** runProgram's per-thread argument area (strided calls). */
  private tmp?: Tensor;
  private segments: Compiled[] = [];
  private bar?: Tensor;
  private runArgs: number[] = [0, 0, 0, 0, 0, 0];
  private disposed = false;

  /**
   * `calls` in order; mode 'fused' puts every run of consecutive calls that runProgram knows into
   * one job (a call it does not know runs as its own dispatch between the jobs).
   */
  constructor(readonly be: WasmBackend, calls: readonly KernelCall[], readonly mode: ProgramMode, readonly spins: number = be.barrierSpins ?? DEFAULT_SPINS) {
    const declared = calls.filter((c) => c.reads && c.writes).length;
    if (declared !== 0 && declared !== calls.length) throw new ArgumentError(`KernelProgram: ${declared} of ${calls.length} calls declare reads and writes; barriers need them on all calls or none`);
    for (const [i, c] of calls.entries()) {
      const k = be.kernelIndexOf(c.kernel);
      const each = !!c.each && mode !== 'fused-serial';
      const nt = each ? 1 : Math.max(1, Math.min(c.nt, be.threads));
      if (each && !declared) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) runs on each thread but the calls do not declare reads and writes`);
      if (each) for (const r of c.writes!) if (!r.stride || r.split) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) runs on each thread, so every range it writes needs a per-thread stride (got ${JSON.stringify(r)})`);
      if (!each && nt > 1) for (const r of c.writes ?? []) if (r.stride && !r.split) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) is split over ${nt} threads but writes a per-thread buffer copy (${JSON.stringify(r)}); only calls on each thread may`);
      const tail = claimTailOf(c, i, mode, nt);
      this.calls.push({ k, args: Float64Array.from(c.args), nt, kernel: c.kernel, each, tail, strides: mode === 'fused-serial' ? undefined : stridesOf(c), reads: c.reads, writes: c.writes });
    }
    if (mode !== 'calls') {
      const count = (be.exports.programOpCount as () => number)();
      if (count !== PROGRAM_KERNELS.length) throw new Error(`KernelProgram: the wasm runProgram knows ${count} kernels, PROGRAM_KERNELS lists ${PROGRAM_KERNELS.length} (rebuild the kernels)`);
      // 64 bytes of barrier and run number, then each thread's spin budget (kept from run to run)
      this.bar = be.zeros([16 + be.threads], 'i32');
      this.tmp = be.empty([be.threads * 128], 'f64');
      const claimed = this.claimedCalls;
      if (claimed) this.flags = be.zeros([claimed * be.threads * (FLAG_BYTES / 4)], 'i32');
    }
    this.compile();
  }

  get length(): number { return this.calls.length; }

  /**
   * Each thread's current spin budget at this program's barriers (assembly/program.ts
   * `nextSpins`; the cap `spins` before the first run), for tests and profiles. 'calls': none.
   */
  spinBudgets(): number[] {
    if (!this.bar) return [];
    const slots = Array.from((this.bar.data as Int32Array).subarray(16));
    return slots.map((b) => (b > 0 && b <= this.spins ? b : Math.max(0, this.spins)));
  }

  /** Pool dispatches one run makes (runProgram jobs on more than one thread count as one each). */
  get dispatches(): number {
    let n = 0;
    for (const s of this.segments) if (s.threads > 1) n++;
    return n;
  }

  /** Barriers the threads meet at in one run (0 for 'calls' and single-thread programs). */
  get barriers(): number {
    let n = 0;
    for (const s of this.segments) n += s.barriers;
    return n;
  }

  /** Calls with claimable tails (0 for 'calls', 'fused-serial' and single-thread programs). */
  get claimedCalls(): number {
    return this.calls.filter((c) => c.tail > 0).length;
  }

  /** Sets argument j of call i for the following runs. */
  setArg(i: number, j: number, v: number): void {
    const c = this.calls[i];
    if (!c) throw new RangeError(`KernelProgram.setArg: call ${i} is not in the program of ${this.calls.length} calls`);
    if (!(j >= 0 && j < c.args.length)) throw new RangeError(`KernelProgram.setArg: ${c.kernel} (call ${i}) has ${c.args.length} arguments, got index ${j}`);
    if (c.strides?.[j]) throw new ArgumentError(`KernelProgram.setArg: argument ${j} of ${c.kernel} (call ${i}) points at a per-thread buffer; it cannot be moved`);
    c.args[j] = v;
    const s = this.segmentOf(i);
    if (s.prog) (s.prog.data as Float64Array)[s.argAt![i - s.from] + j] = v;
  }

  run(): void {
    if (this.disposed) throw new Error('KernelProgram: run after dispose');
    const pool = this.be.pool;
    // a new run number: every claimable tail is free again (never 0, the flags' initial value)
    if (this.bar) { const b = this.bar.data as Int32Array; b[RUN] = (b[RUN] + 1) | 0 || 1; }
    for (const s of this.segments) {
      if (!s.fused) {
        const c = this.calls[s.from];
        pool.run(c.k, c.args, c.nt);
        continue;
      }
      const a = this.runArgs;
      a[0] = s.prog!.data.byteOffset; a[1] = s.to - s.from; a[2] = this.bar!.data.byteOffset; a[3] = this.spins; a[4] = pool.canBlock ? 1 : 0; a[5] = this.tmp!.data.byteOffset;
      pool.run(this.be.kernelIndexOf('runProgram'), a, s.threads);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.segments) s.prog?.dispose();
    this.bar?.dispose();
    this.tmp?.dispose();
    this.flags?.dispose();
    this.segments = [];
  }

  private segmentOf(i: number): Compiled {
    for (const s of this.segments) if (i >= s.from && i < s.to) return s;
    throw new RangeError(`KernelProgram.setArg: call ${i} is not in the program of ${this.calls.length} calls`); // disposed
  }

  private compile(): void {
    const known = new Set<string>(PROGRAM_KERNELS);
    const n = this.calls.length;
    // Per-thread copies written in one job must exist for every thread of the later ones:
    // with per-thread calls, all jobs run on the most threads any call uses.
    const anyEach = this.calls.some((c) => c.each);
    const minThreads = anyEach ? Math.max(1, ...this.calls.map((c) => (c.each ? 1 : c.nt))) : 1;
    let i = 0;
    while (i < n) {
      if (this.mode === 'calls' || !known.has(this.calls[i].kernel)) {
        this.segments.push({ from: i, to: i + 1, fused: false, threads: this.calls[i].nt, barriers: 0 });
        i++;
        continue;
      }
      let j = i;
      while (j < n && known.has(this.calls[j].kernel)) j++;
      this.segments.push(this.writeProgram(i, j, minThreads));
      i = j;
    }
  }

  private writeProgram(from: number, to: number, minThreads: number): Compiled {
    let threads = minThreads, words = 0;
    for (let i = from; i < to; i++) {
      const c = this.calls[i];
      if (!c.each) threads = Math.max(threads, c.nt);
      words += HEADER + c.args.length * (c.strides ? 2 : 1);
    }
    const prog = this.be.empty([words], 'f64');
    const d = prog.data as Float64Array;
    const argAt: number[] = [];
    const sync = this.calls[from].reads && this.mode === 'fused' ? this.syncByAccess(from, to, threads) : this.syncByThreads(from, to, threads);
    let p = 0, barriers = 0;
    let claimed = this.calls.slice(0, from).filter((c) => c.tail > 0).length;
    for (let i = from; i < to; i++) {
      const c = this.calls[i];
      d[p] = PROGRAM_KERNELS.indexOf(c.kernel as typeof PROGRAM_KERNELS[number]);
      d[p + 1] = c.each ? -1 : c.nt; d[p + 2] = sync[i - from]; d[p + 3] = c.args.length;
      d[p + 4] = c.strides ? 1 : 0;
      d[p + 5] = c.tail;
      d[p + 6] = c.tail ? this.flags!.data.byteOffset + FLAG_BYTES * this.be.threads * claimed++ : 0;
      barriers += sync[i - from];
      argAt.push(p + HEADER);
      d.set(c.args, p + HEADER);
      if (c.strides) d.set(c.strides, p + HEADER + c.args.length);
      p += HEADER + c.args.length * (c.strides ? 2 : 1);
    }
    return { from, to, fused: true, prog, argAt, threads, barriers };
  }

  /**
   * Without memory declarations: a barrier wherever another thread may read what this one
   * wrote: before a call that runs on several threads (they read thread 0's earlier results)
   * and after one (thread 0 reads theirs). Calls on thread 0 alone follow each other without one.
   */
  private syncByThreads(from: number, to: number, threads: number): number[] {
    const sync: number[] = [];
    for (let i = from; i < to; i++) sync.push(threads > 1 && i > from && (this.calls[i].nt > 1 || this.calls[i - 1].nt > 1) ? 1 : 0);
    return sync;
  }

  /**
   * With them: a barrier before a call exactly when, since the last barrier, a call touched
   * (on one thread) memory this one touches (on another), one of the two writing it.
   */
  private syncByAccess(from: number, to: number, threads: number): number[] {
    const sync: number[] = [];
    let window: number[] = [];
    for (let i = from; i < to; i++) {
      const hazard = threads > 1 && window.some((j) => this.conflict(j, i, threads));
      sync.push(hazard ? 1 : 0);
      if (hazard) window = [];
      window.push(i);
    }
    return sync;
  }

  /** Do calls j and i touch the same bytes on two different threads, at least one writing? */
  private conflict(j: number, i: number, threads: number): boolean {
    const a = this.calls[j], b = this.calls[i];
    const ta = a.each ? threads : a.nt, tb = b.each ? threads : b.nt;
    const pairs: [readonly MemRange[], readonly MemRange[]][] = [[a.writes!, b.reads!], [a.writes!, b.writes!], [a.reads!, b.writes!]];
    for (const [ra, rb] of pairs) {
      for (const x of ra) for (const y of rb) {
        for (let s = 0; s < ta; s++) for (let t = 0; t < tb; t++) {
          if (s === t) continue;
          const xs = x.ptr + (x.stride ? s * x.stride : 0), yt = y.ptr + (y.stride ? t * y.stride : 0);
          if (xs < yt + y.bytes && yt < xs + x.bytes) return true;
        }
      }
    }
    return false;
  }
}

/** Per argument, the stride of the per-thread buffer it points into (0: none); undefined when no argument does. */
function stridesOf(c: KernelCall): Float64Array | undefined {
  const own = [...(c.reads ?? []), ...(c.writes ?? [])].filter((r) => r.stride && !r.split);
  if (!own.length) return undefined;
  const ptrArgs = POINTER_ARGS[c.kernel as typeof PROGRAM_KERNELS[number]];
  if (!ptrArgs) throw new ArgumentError(`KernelProgram: ${c.kernel} is not a program kernel, it cannot use per-thread buffers`);
  if (c.args.length > MAX_STRIDED_ARGS) throw new ArgumentError(`KernelProgram: ${c.kernel} has ${c.args.length} arguments, at most ${MAX_STRIDED_ARGS} with per-thread buffers`);
  const st = new Float64Array(c.args.length);
  for (const j of ptrArgs) {
    const r = own.find((o) => c.args[j] >= o.ptr && c.args[j] < o.ptr + o.bytes);
    if (r) st[j] = r.stride!;
  }
  return st;
}

/**
 * The claimable tail of a call (0: static split), or an error naming what is wrong with its
 * claimTail. It applies to fused programs with the call on more than one thread.
 */
function claimTailOf(c: KernelCall, i: number, mode: ProgramMode, nt: number): number {
  if (c.claimTail === undefined) return 0;
  const tail = c.claimTail;
  if (!(tail > 0 && tail < 1)) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) claimTail = ${tail}, expected a number in (0, 1) (the fraction of each thread's rows that any thread may claim)`);
  const scratchArg = CLAIMABLE.get(c.kernel);
  if (scratchArg === undefined) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) cannot have a claimable tail; only ${[...CLAIMABLE.keys()].join(', ')} can`);
  if (c.each) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) runs on each thread; it cannot also have a claimable tail`);
  for (const r of c.writes ?? []) {
    const scratch = scratchArg >= 0 ? c.args[scratchArg] : NaN;
    if (r.split && !(scratch >= r.ptr && scratch < r.ptr + (r.stride ?? r.bytes))) throw new ArgumentError(`KernelProgram: call ${i} (${c.kernel}) has a claimable tail, so any thread may write its last rows, but it declares a per-thread split output (${JSON.stringify(r)}); declare the output whole`);
  }
  return mode === 'fused' && nt > 1 ? tail : 0;
}
