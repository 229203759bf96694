// The control block shared by the main thread and the workers, inside the heap's
// reserved first MiB. Int32 slots (index into an Int32Array over the memory):
export const CTL = 1024 / 4;       // base index
export const GEN = CTL + 0;        // job generation, bumped by the main thread per job
export const DONE = CTL + 1;       // workers that finished the current job
export const KERNEL = CTL + 2;     // index of the kernel (into the export name list)
export const NARGS = CTL + 3;      // number of f64 arguments
export const NT = CTL + 4;         // threads taking part in this job (tid 0 = main thread)
export const STOP = CTL + 5;       // 1 = workers exit
export const ARGS_BYTE = 2048;     // f64 arguments start here
export const MAX_ARGS = 32;

/** Message that starts a worker. */
export interface WorkerInit {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  tid: number;
  kernelNames: string[];
}
