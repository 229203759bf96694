// The browser host of the WebAssembly backend (see platform.ts); scripts/build-browser.mjs
// puts it in place of platform.node.ts in dist/browser/xlstm.js. The kernels are fetched
// by URL (default: beside the bundle) and compiled while they stream in; threads are Web
// Workers, which can share the heap only in a cross-origin isolated page.
import type { CompileKernelsOptions, CompiledKernels, PoolWorker, ThreadSupport } from './platform.js';

export async function defaultThreadCount(): Promise<number> {
  return (globalThis as any).navigator?.hardwareConcurrency || 1;
}

/**
 * Web Workers can receive a shared WebAssembly.Memory only when the page (or worker) is
 * cross-origin isolated; without COOP/COEP headers the backend runs on the calling
 * thread alone, which still needs a shared memory object (the kernels import one).
 */
export function threadSupport(): ThreadSupport {
  if (typeof WebAssembly !== 'object') throw new Error('xlstm-ts wasm backend: this browser has no WebAssembly');
  const G = globalThis as any;
  if (G.crossOriginIsolated === true && typeof G.SharedArrayBuffer === 'function') return { maxThreads: Infinity };
  try { new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }); } catch {
    throw new Error('xlstm-ts wasm backend: this browser allows shared WebAssembly memory only in a cross-origin isolated page; '
      + 'serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp');
  }
  return { maxThreads: 1, reason: 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp for threads)' };
}

function kernelUrl(name: string, base: string | URL | undefined): URL {
  // A relative base is taken relative to the page, as a script src would be.
  const root = base === undefined ? new URL('./', import.meta.url) : new URL(String(base), (globalThis as any).location?.href);
  const dir = root.href.endsWith('/') ? root : new URL(root.href + '/');
  return new URL(name, dir);
}

async function compileUrl(url: URL): Promise<WebAssembly.Module> {
  let res: Response;
  try { res = await fetch(url); } catch (e) {
    throw new Error(`xlstm-ts wasm backend: could not fetch ${url.href} (${(e as Error).message}); set options.wasmBaseUrl to the folder holding the .wasm files`);
  }
  if (!res.ok) throw new Error(`xlstm-ts wasm backend: ${url.href}: HTTP ${res.status}; set options.wasmBaseUrl to the folder holding the .wasm files`);
  // compileStreaming needs the application/wasm type; a server that sends another
  // type still gets the kernels, only without compiling during the download.
  if ((res.headers.get('content-type') ?? '').split(';')[0].trim() === 'application/wasm') return WebAssembly.compileStreaming(res);
  return WebAssembly.compile(await res.arrayBuffer());
}

export async function compileKernels(opts: CompileKernelsOptions): Promise<CompiledKernels> {
  if (opts.relaxedSimd) {
    try {
      return { module: await compileUrl(kernelUrl('kernels-relaxed.wasm', opts.wasmBaseUrl)), relaxedSimd: true };
    } catch (e) {
      // Only an engine without relaxed SIMD falls back; a missing file is the caller's to fix.
      if (!(e instanceof WebAssembly.CompileError)) throw e;
    }
  }
  try {
    return { module: await compileUrl(kernelUrl('kernels-simd.wasm', opts.wasmBaseUrl)), relaxedSimd: false };
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) throw new Error(`xlstm-ts wasm backend: this browser lacks WebAssembly SIMD/threads (${e.message})`);
    throw e;
  }
}

export async function spawnWorker(): Promise<PoolWorker> {
  // worker.js is built beside xlstm.js (scripts/build-browser.mjs).
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return {
    postMessage: (m) => w.postMessage(m),
    terminate: () => w.terminate(),
    onMessage: (cb) => {
      w.addEventListener('message', (e: MessageEvent) => cb(e.data));
      // A worker that cannot load never answers; surface its error to the waiting pool.
      w.addEventListener('error', (e) => cb({ error: e.message || 'worker.js could not be loaded', fatal: true }));
    },
  };
}

/** In a worker: hands the pool's first message (the WorkerInit) to `cb`, with a reply function. */
export async function onWorkerInit(cb: (init: any, reply: (m: unknown) => void) => void): Promise<void> {
  const self_ = globalThis as any;
  self_.addEventListener('message', (e: MessageEvent) => cb(e.data, (m) => self_.postMessage(m)), { once: true });
}
