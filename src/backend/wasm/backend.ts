// The WebAssembly backend: one shared memory (heap.ts), the kernels compiled from
// ./assembly, and a thread pool (pool.ts). Everything above calls kernels by name
// through `run`, with byte offsets of tensors that live on the heap.
import { compileKernels, defaultThreadCount, threadSupport } from './platform.node.js';
import { Heap } from './heap.js';
import { kernelImports } from './imports.js';
import { ThreadPool } from './pool.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType, DTYPE_SIZE, arrayClassFor, numel } from '../../tensor/dtype.js';
import { ArgumentError, LimitError } from '../../errors.js';

export interface WasmBackendOptions {
  /** Compute threads including the caller (default: the machine's cores). */
  threads?: number;
  /** Use the relaxed-SIMD (fused multiply-add) kernels when the engine supports them (default true). */
  relaxedSimd?: boolean;
  /** Initial heap size in bytes (it grows on demand up to 4 GiB). */
  initialMemoryBytes?: number;
  /**
   * Browser bundle only: the folder (URL, absolute or relative to the page) holding
   * kernels-simd.wasm and kernels-relaxed.wasm. Default: the folder of xlstm.js. Node
   * ignores it (its kernels are embedded).
   */
  wasmBaseUrl?: string | URL;
  /**
   * The most checks a thread of a fused kernel program (the decode step) makes at a barrier
   * before it sleeps; each thread adapts its own count below this, down to 1000. Default 20000
   * (~20-40 us, about one futex wake-up): on cores of its own a decode step then never sleeps
   * at its ~50 barriers (q4 decode 1.05-1.4x faster than with 1000). Where other busy processes
   * share the cores, a spinning thread takes the core its descheduled partner needs: 1000 is
   * the better choice there. 0: always sleep at once; -1: never sleep.
   */
  barrierSpins?: number;
}

/**
 * Most compute threads a backend may start: 4 per core, at least 16, at most 256. Each thread
 * is an OS thread with its own wasm instance; far beyond the cores they only add contention,
 * and tens of thousands fail deep inside Node (EAGAIN) or exhaust memory.
 */
export async function maxThreadCount(): Promise<number> {
  return Math.min(256, Math.max(16, 4 * (await defaultThreadCount())));
}

/** The 4 GiB of wasm32 memory. */
const MAX_MEMORY_BYTES = 2 ** 32;

/** Checks the options of WasmBackend.create before anything is compiled or spawned. */
async function checkBackendOptions(opts: unknown): Promise<WasmBackendOptions> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new ArgumentError(`WasmBackend.create: options must be an object, got ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`);
  const o = opts as WasmBackendOptions;
  if (o.threads !== undefined) {
    if (typeof o.threads !== 'number' || !Number.isInteger(o.threads) || o.threads < 1) {
      throw new ArgumentError(`WasmBackend.create: threads must be a positive integer, got ${typeof o.threads === 'number' ? o.threads : JSON.stringify(o.threads)}`);
    }
    const max = await maxThreadCount();
    if (o.threads > max) throw new LimitError('threads', o.threads, max, `4 per core, at most 256; this machine has ${await defaultThreadCount()} cores`);
  }
  if (o.relaxedSimd !== undefined && typeof o.relaxedSimd !== 'boolean') throw new ArgumentError(`WasmBackend.create: relaxedSimd must be a boolean, got ${JSON.stringify(o.relaxedSimd)}`);
  if (o.initialMemoryBytes !== undefined) {
    const b = o.initialMemoryBytes;
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0) throw new ArgumentError(`WasmBackend.create: initialMemoryBytes must be a non-negative integer, got ${typeof b === 'number' ? b : JSON.stringify(b)}`);
    if (b > MAX_MEMORY_BYTES) throw new LimitError('initialMemoryBytes', b, MAX_MEMORY_BYTES, 'the wasm32 memory limit of 4 GiB');
  }
  if (o.barrierSpins !== undefined) {
    const n = o.barrierSpins;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > 2 ** 31 - 1) throw new ArgumentError(`WasmBackend.create: barrierSpins must be an integer from -1 (never sleep) to 2^31 - 1, got ${typeof n === 'number' ? n : JSON.stringify(n)}`);
  }
  return o;
}

export interface WasmFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  threads: number;
  /** Why threads is 1 although more were asked for (a browser page that is not cross-origin isolated). */
  singleThreadReason?: string;
}

export { defaultThreadCount };

export class WasmBackend {
  readonly name = 'wasm';
  private finalizer = new FinalizationRegistry<number>((ptr) => this.heap.release(ptr));
  private constructor(
    readonly heap: Heap,
    readonly pool: ThreadPool,
    readonly features: WasmFeatures,
    private kernelIndex: Map<string, number>,
    readonly exports: Record<string, Function>,
    /** WasmBackendOptions.barrierSpins (undefined: KernelProgram's default). */
    readonly barrierSpins?: number,
  ) {}

  static async create(options?: WasmBackendOptions): Promise<WasmBackend> {
    const opts = await checkBackendOptions(options);
    const support = threadSupport();
    const { module, relaxedSimd: useRelaxed } = await compileKernels({ relaxedSimd: opts.relaxedSimd !== false, wasmBaseUrl: opts.wasmBaseUrl });
    const wanted = opts.threads ?? Math.min(await defaultThreadCount(), await maxThreadCount());
    const threads = Math.min(wanted, support.maxThreads);
    const heap = new Heap(opts.initialMemoryBytes);
    const instance = await WebAssembly.instantiate(module, kernelImports(heap.memory));
    const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    const pool = await ThreadPool.create(heap.memory, module, instance, names, threads);
    const index = new Map(names.map((n, i) => [n, i]));
    const features: WasmFeatures = { simd: true, relaxedSimd: useRelaxed, threads };
    if (threads < wanted && support.reason) features.singleThreadReason = support.reason;
    return new WasmBackend(heap, pool, features, index, instance.exports as any, opts.barrierSpins);
  }

  get threads(): number { return this.features.threads; }

  /** The pool's index of kernel `name` (for callers that dispatch through `pool.run` directly). */
  kernelIndexOf(name: string): number {
    const k = this.kernelIndex.get(name);
    if (k === undefined) throw new Error(`wasm backend: no kernel named ${name}`);
    return k;
  }

  /** Runs kernel `name` on `nt` threads (default all). */
  run(name: string, args: ArrayLike<number>, nt?: number): void {
    const k = this.kernelIndex.get(name);
    if (k === undefined) throw new Error(`wasm backend: no kernel named ${name}`);
    this.pool.run(k, args, nt);
  }

  /** An uninitialised tensor on the heap; its memory returns when it is disposed or collected. */
  empty(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const n = numel(shape);
    const ptr = this.heap.alloc(n * DTYPE_SIZE[dtype]);
    const Cls = arrayClassFor(dtype) as any;
    const data = new Cls(this.heap.buffer, ptr, n);
    let released = false;
    const token = {};
    const t = new Tensor(dtype, shape, data, {
      release: () => { if (!released) { released = true; this.finalizer.unregister(token); this.heap.release(ptr); } },
    });
    // Tied to the typed array, not the Tensor: reshaped views share `data`, so the
    // memory lives as long as any tensor (or caller) still holds the array.
    this.finalizer.register(data, ptr, token);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.empty(shape, dtype);
    (t.data as any).fill(dtype === 'i64' ? 0n : 0);
    return t;
  }

  /** The tensor itself if it is on the heap, else a heap copy. */
  upload(t: Tensor): Tensor {
    if (this.heap.owns(t.data)) return t;
    const c = this.empty(t.shape, t.dtype);
    (c.data as any).set(t.data as any);
    if (t.scales) return new Tensor(c.dtype, c.shape, c.data, { scales: t.scales, release: () => c.dispose() });
    return c;
  }

  /** Byte offset of a heap tensor (throws for tensors in JS memory). */
  ptr(t: Tensor | ArrayBufferView): number {
    const d = t instanceof Tensor ? t.data : t;
    if (!this.heap.owns(d)) throw new Error('wasm backend: tensor is not on the heap (use backend.upload)');
    return d.byteOffset;
  }

  dispose(): void { this.pool.dispose(); }
}
