// What the WebAssembly backend needs from its host, so that one backend serves Node
// (platform.node.ts: embedded kernels, worker_threads) and browsers (platform.browser.ts:
// kernels fetched by URL, Web Workers). backend.ts, pool.ts and worker.ts import
// platform.node.js; scripts/build-browser.mjs swaps in platform.browser.ts for the browser
// bundle, so neither build carries the other's code and Node's path stays as it was.

/** A compute thread of the pool, as the pool drives it. */
export interface PoolWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
  onMessage(cb: (m: any) => void): void;
  /** Node only: the thread could not start (EAGAIN, out of memory). Browsers report it as a fatal message. */
  onError?(cb: (e: Error) => void): void;
  /** Node only: whether this worker keeps the process alive (Web Workers never do). */
  ref?(): void;
  unref?(): void;
}

export interface CompileKernelsOptions {
  /** Use the relaxed-SIMD build where the engine takes it. */
  relaxedSimd: boolean;
  /** Where the .wasm files are (browser only; default: beside the bundle). */
  wasmBaseUrl?: string | URL;
}

export interface CompiledKernels { module: WebAssembly.Module; relaxedSimd: boolean }

/** What threading the host allows: how many threads at most, and why if only one. */
export interface ThreadSupport { maxThreads: number; reason?: string }
