// Thread pool over shared WebAssembly memory. The calling thread is tid 0 and
// works too; workers 1..T-1 wait on the control block. Calls are synchronous: the
// caller blocks until every thread of the job is done (Atomics.wait; in a browser
// main thread, where waiting is not allowed, it spins - run xlstm-ts in a worker).
import { ARGS_BYTE, DONE, GEN, KERNEL, MAX_ARGS, NARGS, NT, STOP, WorkerInit } from './protocol.js';

export interface WorkerLike { postMessage(m: unknown): void; terminate(): unknown; unref?(): void }

interface Spawned { w: WorkerLike; onMessage: (cb: (m: any) => void) => void; onError: (cb: (e: Error) => void) => void }

async function spawnWorker(): Promise<Spawned> {
  const url = new URL('./worker.js', import.meta.url);
  const G = globalThis as any;
  if (typeof G.Worker === 'function' && typeof G.window !== 'undefined' || typeof G.WorkerGlobalScope !== 'undefined') {
    const w = new G.Worker(url, { type: 'module' });
    return {
      w, onMessage: (cb) => w.addEventListener('message', (e: MessageEvent) => cb(e.data)),
      onError: (cb) => w.addEventListener('error', (e: ErrorEvent) => cb(e.error instanceof Error ? e.error : new Error(e.message))),
    };
  }
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(url);
  return { w, onMessage: (cb) => w.on('message', cb), onError: (cb) => w.on('error', cb) };
}

export class ThreadPool {
  private ctl: Int32Array;
  private args: Float64Array;
  private canWait: boolean;
  private constructor(
    private memory: WebAssembly.Memory,
    private fns: Function[],
    private workers: WorkerLike[],
    readonly threads: number,
  ) {
    this.ctl = new Int32Array(memory.buffer);
    this.args = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
    this.canWait = probeAtomicsWait(this.ctl);
  }

  static async create(memory: WebAssembly.Memory, module: WebAssembly.Module, instance: WebAssembly.Instance, kernelNames: string[], threads: number): Promise<ThreadPool> {
    const fns = kernelNames.map((n) => instance.exports[n] as Function);
    const workers: WorkerLike[] = [];
    const ready: Promise<void>[] = [];
    try {
      for (let tid = 1; tid < threads; tid++) {
        const { w, onMessage, onError } = await spawnWorker();
        workers.push(w);
        ready.push(new Promise((resolve, reject) => {
          onMessage((m) => { if (m?.ready) resolve(); else if (m?.error) console.error(`xlstm-ts worker ${tid}: ${m.error}`); });
          // a thread the system cannot start (EAGAIN, out of memory) fails the creation, not the process
          onError((e) => reject(new Error(`xlstm-ts wasm backend: compute thread ${tid} of ${threads} failed to start: ${e.message}`, { cause: e })));
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

  /**
   * Runs kernel `k` with `args` (then tid, nt) on `nt` threads (default all) and
   * returns when all are done. Small jobs should pass nt = 1.
   */
  run(k: number, args: ArrayLike<number>, nt = this.threads): void {
    nt = Math.max(1, Math.min(nt, this.threads));
    if (nt === 1) { (this.fns[k] as any)(...Array.from(args), 0, 1); return; }
    const ctl = this.ctl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    Atomics.store(ctl, KERNEL, k);
    Atomics.store(ctl, NARGS, args.length);
    Atomics.store(ctl, NT, nt);
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    (this.fns[k] as any)(...Array.from(args), 0, nt);
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
