// A compute thread: instantiates the kernels on the shared memory, then runs jobs
// announced through the control block (protocol.ts) until told to stop.
import { ARGS_BYTE, DONE, GEN, KERNEL, NARGS, NT, STOP, WorkerInit } from './protocol.js';
import { onWorkerInit } from './platform.node.js';
import { kernelImports } from './imports.js';

function run(init: WorkerInit, reply: (m: unknown) => void): void {
  const inst = new WebAssembly.Instance(init.module, kernelImports(init.memory));
  const fns = init.kernelNames.map((n) => inst.exports[n] as Function);
  const ctl = new Int32Array(init.memory.buffer);
  const args = new Float64Array(init.memory.buffer, ARGS_BYTE, 32);
  // Read the generation BEFORE saying ready: the caller may post the first job as
  // soon as it hears from us, and a later read would skip that job (a hang).
  let gen = Atomics.load(ctl, GEN);
  reply({ ready: true });
  for (;;) {
    Atomics.wait(ctl, GEN, gen);
    gen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, STOP)) return;
    const nt = Atomics.load(ctl, NT);
    if (init.tid < nt) {
      const fn = fns[Atomics.load(ctl, KERNEL)];
      const n = Atomics.load(ctl, NARGS);
      const a: number[] = [];
      for (let i = 0; i < n; i++) a.push(args[i]);
      try { fn(...a, init.tid, nt); } catch (e) { reply({ error: String(e) }); }
    }
    // Every worker acknowledges every job, taking part or not, so no worker can
    // lag behind into the next job's arguments.
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

// Node (worker_threads) or a browser Web Worker: the platform module knows which.
await onWorkerInit(run);
export {};
