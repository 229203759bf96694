// A kernel program: a fixed sequence of kernel calls (name, arguments, threads) built once
// and run many times, e.g. one decode step of a language model with every buffer
// preallocated. Two ways to run it, with the same bits out:
//   'calls': one pool dispatch per call, the argument lists prebuilt (no checks, no
//            allocation between calls);
//   'fused': the whole list is written into the heap and run by one dispatch of the
//            runProgram kernel (assembly/program.ts): all threads walk the list and meet at
//            barriers only where a call's threads differ from the next one's, so a step that
//            made ~60 two-thread dispatches wakes the worker threads once.
// Arguments can be changed between runs (setArg), e.g. a pointer that moves per step.
import type { WasmBackend } from './backend.js';
import { Tensor } from '../../tensor/tensor.js';

/**
 * Kernels runProgram can call, in its opcode order (assembly/program.ts `call`): the list
 * and the switch there must change together (checked against programOpCount at build).
 */
export const PROGRAM_KERNELS = [
  'embeddingF32', 'normF32', 'addF32', 'mulF32', 'addRowsF32', 'sigmoidF32', 'siluF32', 'softcapF32',
  'gemvF32', 'gemvBf16', 'gemvF16', 'gemvI8', 'gemvQ4', 'mlstmRecurrentF32', 'copyRowsF32',
  'gemvQ4Q8', 'gemvF32Batch',
] as const;

/** One kernel call of a program: kernel name, its arguments (without tid, nt) and its thread count. */
export interface KernelCall {
  kernel: string;
  args: number[];
  nt: number;
}

export type ProgramMode = 'calls' | 'fused';

interface Compiled {
  /** Calls [from, to) of the list run as one runProgram job, or one plain call (fused = false). */
  from: number; to: number; fused: boolean;
  /** Heap f64 program (fused only) and the offset (in f64) of each call's first argument. */
  prog?: Tensor; argAt?: number[]; threads: number;
  /** Barriers one run of the program passes (fused only). */
  barriers: number;
}

/**
 * Times a thread waiting at a barrier of a fused program checks it before sleeping (~1-3 us).
 * A futex wake costs ~19 us, but a spinning thread takes a core from whoever else wants it:
 * on the loaded 2-core machine (load 15) the decode step of a small 12-block model ran ~2x
 * slower with 20000 spins than with 0-2000, ~10x with 200000 (docs/PERFORMANCE.md).
 */
export const DEFAULT_SPINS = 1000;

/** Where each call's arguments start in the heap program (for setArg). */
const HEADER = 4;

export class KernelProgram {
  private readonly calls: { k: number; args: Float64Array; nt: number; kernel: string }[] = [];
  private segments: Compiled[] = [];
  private bar?: Tensor;
  private runArgs: number[] = [0, 0, 0, 0, 0];
  private disposed = false;

  /**
   * `calls` in order; mode 'fused' puts every run of consecutive calls that runProgram knows into
   * one job (a call it does not know runs as its own dispatch between the jobs).
   */
  constructor(readonly be: WasmBackend, calls: readonly KernelCall[], readonly mode: ProgramMode, readonly spins = DEFAULT_SPINS) {
    for (const c of calls) {
      const k = be.kernelIndexOf(c.kernel);
      const nt = Math.max(1, Math.min(c.nt, be.threads));
      this.calls.push({ k, args: Float64Array.from(c.args), nt, kernel: c.kernel });
    }
    if (mode === 'fused') {
      const count = (be.exports.programOpCount as () => number)();
      if (count !== PROGRAM_KERNELS.length) throw new Error(`KernelProgram: the wasm runProgram knows ${count} kernels, PROGRAM_KERNELS lists ${PROGRAM_KERNELS.length} (rebuild the kernels)`);
      this.bar = be.zeros([16], 'i32');
    }
    this.compile();
  }

  get length(): number { return this.calls.length; }

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

  /** Sets argument j of call i for the following runs. */
  setArg(i: number, j: number, v: number): void {
    const c = this.calls[i];
    if (!c) throw new RangeError(`KernelProgram.setArg: call ${i} is not in the program of ${this.calls.length} calls`);
    if (!(j >= 0 && j < c.args.length)) throw new RangeError(`KernelProgram.setArg: ${c.kernel} (call ${i}) has ${c.args.length} arguments, got index ${j}`);
    c.args[j] = v;
    const s = this.segmentOf(i);
    if (s.prog) (s.prog.data as Float64Array)[s.argAt![i - s.from] + j] = v;
  }

  run(): void {
    if (this.disposed) throw new Error('KernelProgram: run after dispose');
    const pool = this.be.pool;
    for (const s of this.segments) {
      if (!s.fused) {
        const c = this.calls[s.from];
        pool.run(c.k, c.args, c.nt);
        continue;
      }
      const a = this.runArgs;
      a[0] = s.prog!.data.byteOffset; a[1] = s.to - s.from; a[2] = this.bar!.data.byteOffset; a[3] = this.spins; a[4] = pool.canBlock ? 1 : 0;
      pool.run(this.be.kernelIndexOf('runProgram'), a, s.threads);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.segments) s.prog?.dispose();
    this.bar?.dispose();
    this.segments = [];
  }

  private segmentOf(i: number): Compiled {
    for (const s of this.segments) if (i >= s.from && i < s.to) return s;
    throw new RangeError(`KernelProgram.setArg: call ${i} is not in the program of ${this.calls.length} calls`); // disposed
  }

  private compile(): void {
    const known = new Set<string>(PROGRAM_KERNELS);
    const n = this.calls.length;
    let i = 0;
    while (i < n) {
      if (this.mode === 'calls' || !known.has(this.calls[i].kernel)) {
        this.segments.push({ from: i, to: i + 1, fused: false, threads: this.calls[i].nt, barriers: 0 });
        i++;
        continue;
      }
      let j = i;
      while (j < n && known.has(this.calls[j].kernel)) j++;
      this.segments.push(this.writeProgram(i, j));
      i = j;
    }
  }

  private writeProgram(from: number, to: number): Compiled {
    let threads = 1, words = 0;
    for (let i = from; i < to; i++) { threads = Math.max(threads, this.calls[i].nt); words += HEADER + this.calls[i].args.length; }
    const prog = this.be.empty([words], 'f64');
    const d = prog.data as Float64Array;
    const argAt: number[] = [];
    let p = 0, barriers = 0;
    for (let i = from; i < to; i++) {
      const c = this.calls[i];
      // A barrier wherever another thread may read what this one wrote: before a call that
      // runs on several threads (they read thread 0's earlier results) and after one (thread 0
      // reads theirs). Calls on thread 0 alone follow each other without one.
      const sync = threads > 1 && i > from && (c.nt > 1 || this.calls[i - 1].nt > 1) ? 1 : 0;
      d[p] = PROGRAM_KERNELS.indexOf(c.kernel as typeof PROGRAM_KERNELS[number]);
      d[p + 1] = c.nt; d[p + 2] = sync; d[p + 3] = c.args.length;
      barriers += sync;
      argAt.push(p + HEADER);
      d.set(c.args, p + HEADER);
      p += HEADER + c.args.length;
    }
    return { from, to, fused: true, prog, argAt, threads, barriers };
  }
}
