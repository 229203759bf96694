// The Node.js host of the WebAssembly backend (see platform.ts). The kernels are embedded
// as base64 (binaries.js, written by scripts/emit-wasm-module.mjs), so loading needs no
// file lookup next to the package. The browser bundle replaces this module with
// platform.browser.ts.
import type { CompileKernelsOptions, CompiledKernels, PoolWorker, ThreadSupport } from './platform.js';

function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const G = globalThis as any;
  if (typeof G.Buffer === "function") return Uint8Array.from(G.Buffer.from(b64, "base64") as Uint8Array);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function defaultThreadCount(): Promise<number> {
  const G = globalThis as any;
  if (G.navigator?.hardwareConcurrency) return G.navigator.hardwareConcurrency;
  try {
    const os = await import('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch { return 1; }
}

/** Node always shares memory between worker_threads. */
export function threadSupport(): ThreadSupport {
  if (typeof WebAssembly !== 'object' || typeof SharedArrayBuffer !== 'function') {
    throw new Error('xlstm-ts wasm backend: needs WebAssembly with SharedArrayBuffer (in browsers: a cross-origin isolated page)');
  }
  return { maxThreads: Infinity };
}

/**
 * Does the engine take the relaxed-SIMD build? Node 20 (V8 11.3) ships relaxed
 * SIMD behind --experimental-wasm-relaxed-simd; V8 reads the flag at validation
 * and compile time, so setting it at run time (before our first compile) turns it
 * on without a command-line flag. Only in Node: browsers either have it or not.
 */
async function relaxedSimdValidates(bytes: Uint8Array<ArrayBuffer>): Promise<boolean> {
  if (WebAssembly.validate(bytes)) return true;
  const G = globalThis as any;
  if (!G.process?.versions?.node || G.process.versions.bun || G.process.versions.deno) return false;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch { return false; }
  return WebAssembly.validate(bytes);
}

export async function compileKernels(opts: CompileKernelsOptions): Promise<CompiledKernels> {
  // Loaded here, not at the top: the workers import this module too and need no kernels bytes.
  const { simd: simdB64, relaxed: relaxedB64 } = await import('./binaries.js');
  const simdBytes = fromBase64(simdB64);
  if (!WebAssembly.validate(simdBytes)) throw new Error('xlstm-ts wasm backend: this engine lacks WebAssembly SIMD/threads');
  const relaxedBytes = fromBase64(relaxedB64);
  const useRelaxed = opts.relaxedSimd && await relaxedSimdValidates(relaxedBytes);
  const module = await WebAssembly.compile(useRelaxed ? relaxedBytes : simdBytes);
  return { module, relaxedSimd: useRelaxed };
}

export async function spawnWorker(): Promise<PoolWorker> {
  const url = new URL('./worker.js', import.meta.url);
  const G = globalThis as any;
  if (typeof G.Worker === 'function' && typeof G.window !== 'undefined' || typeof G.WorkerGlobalScope !== 'undefined') {
    const w = new G.Worker(url, { type: 'module' });
    return { postMessage: (m) => w.postMessage(m), terminate: () => w.terminate(), onMessage: (cb) => w.addEventListener('message', (e: MessageEvent) => cb(e.data)) };
  }
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(url);
  // unref'd by the pool once ready (an idle pool must not keep a Node process alive); not
  // here, because a 'message' listener added after unref() refs the worker again (Node 20)
  return {
    postMessage: (m) => w.postMessage(m), terminate: () => w.terminate(), onMessage: (cb) => w.on('message', cb),
    onError: (cb) => w.on('error', cb),
    ref: () => w.ref(), unref: () => w.unref(),
  };
}

/** In a worker: hands the pool's first message (the WorkerInit) to `cb`, with a reply function. */
export async function onWorkerInit(cb: (init: any, reply: (m: unknown) => void) => void): Promise<void> {
  const isNode = typeof process !== 'undefined' && !!(process as any).versions?.node;
  if (isNode) {
    const { parentPort } = await import('node:worker_threads');
    parentPort!.once('message', (init) => cb(init, (m) => parentPort!.postMessage(m)));
  } else {
    const self_ = globalThis as any;
    self_.addEventListener('message', (e: MessageEvent) => cb(e.data, (m) => self_.postMessage(m)), { once: true });
  }
}
