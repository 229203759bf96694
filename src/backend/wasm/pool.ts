// Thread pool over shared WebAssembly memory. The calling thread is tid 0 and
// works too; workers 1..T-1 wait on the control block. Calls are synchronous: the
// caller blocks until every thread of the job is done (Atomics.wait; in a browser
// main thread, where waiting is not allowed, it spins - run xlstm-ts in a worker).
import { ARGS_BYTE, DONE, GEN, KERNEL, MAX_ARGS, NARGS, NT, STOP, WorkerInit } from './protocol.js';

import { spawnWorker } from './platform.node.js';
import type { PoolWorker } from './platform.js';

export class ThreadPool {
  private ctl: Int32Array;
  private args: Float64Array;
  private canWait: boolean;
  private callArgs: number[] = [];
  private constructor(
    private memory: WebAssembly.Memory,
    private fns: Function[],
    private workers: PoolWorker[],
    readonly threads: number,
  ) {
    this.ctl = new Int32Array(memory.buffer);
    this.args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
    this.canWait = probeAtomicsWait(this.ctl);
  }

  static async create(memory: WebAssembly.Memory, module: WebAssembly.Module, instance: WebAssembly.Instance, kernelNames: string[], threads: number): Promise<ThreadPool> {
    const fns = kernelNames.map((n) => instance.exports[n] as Function);
    const workers: PoolWorker[] = [];
    const ready: Promise<void>[] = [];
    try {
      for (let tid = 1; tid < threads; tid++) {
        const w = await spawnWorker();
        workers.push(w);
        ready.push(new Promise((resolve, reject) => {
          w.onMessage((m) => {
            if (m?.ready) resolve();
            else if (m?.fatal) reject(new Error(`xlstm-ts worker ${tid}: ${m.error}`));
            else if (m?.error) console.error(`xlstm-ts worker ${tid}: ${m.error}`);
          });
          // a thread the system cannot start (EAGAIN, out of memory) fails the creation, not the process
          w.onError?.((e) => reject(new Error(`xlstm-ts wasm backend: compute thread ${tid} of ${threads} failed to start: ${e.message}`, { cause: e })));
        }));
        const init: WorkerInit = { memory, module, tid, kernelNames };
        w.postMessage(init);
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    // A pool the caller forgot to dispose must not keep a Node process alive. Only now: a
    // 'message' listener added after unref() refs the worker again (Node 20), and before the
    // workers are ready the pending creation is what should keep the process running.
    for (const w of workers) w.unref?.();
    return new ThreadPool(memory, fns, workers, threads);
  }

  /** May the calling thread block (Atomics.wait)? Not on a browser's main thread. */
  get canBlock(): boolean { return this.canWait; }

  /**
   * Runs kernel `k` with `args` (then tid, nt) on `nt` threads (default all) and
   * returns when all are done. Small jobs should pass nt = 1.
   */
  run(k: number, args: ArrayLike<number>, nt = this.threads): void {
    nt = Math.max(1, Math.min(nt, this.threads));
    // One reused argument list (calls are synchronous): a decode step makes ~200 calls.
    const call = this.callArgs;
    call.length = 0;
    for (let i = 0; i < args.length; i++) call.push(args[i]);
    call.push(0, nt);
    if (nt === 1) { this.fns[k].apply(undefined, call); return; }
    const ctl = this.ctl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    Atomics.store(ctl, KERNEL, k);
    Atomics.store(ctl, NARGS, args.length);
    Atomics.store(ctl, NT, nt);
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    this.fns[k].apply(undefined, call);
    const want = this.threads - 1;
    let spins = 0;
    for (;;) {
      const d = Atomics.load(ctl, DONE);
      if (d >= want) break;
      if (this.canWait && ++spins > 2000) Atomics.wait(ctl, DONE, d, 50);
    }
  }

  /** Stops the workers. The pool cannot be used afterwards. */
  dispose(): void {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}

function probeAtomicsWait(ctl: Int32Array): boolean {
  try { Atomics.wait(ctl, STOP, 12345, 0); return true; } catch { return false; }
}
