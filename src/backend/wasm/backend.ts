// The WebAssembly backend: one shared memory (heap.ts), the kernels compiled from
// ./assembly, and a thread pool (pool.ts). Everything above calls kernels by name
// through `run`, with byte offsets of tensors that live on the heap.
import { compileKernels, defaultThreadCount, threadSupport } from './platform.node.js';
import { Heap } from './heap.js';
import { ThreadPool } from './pool.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType, DTYPE_SIZE, arrayClassFor, numel } from '../../tensor/dtype.js';

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
  ) {}

  static async create(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    const support = threadSupport();
    const { module, relaxedSimd: useRelaxed } = await compileKernels({ relaxedSimd: opts.relaxedSimd !== false, wasmBaseUrl: opts.wasmBaseUrl });
    const wanted = Math.max(1, Math.floor(opts.threads ?? (await defaultThreadCount())));
    const threads = Math.min(wanted, support.maxThreads);
    const heap = new Heap(opts.initialMemoryBytes);
    const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory, abort: () => { throw new Error('wasm abort'); } } });
    const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    const pool = await ThreadPool.create(heap.memory, module, instance, names, threads);
    const index = new Map(names.map((n, i) => [n, i]));
    const features: WasmFeatures = { simd: true, relaxedSimd: useRelaxed, threads };
    if (threads < wanted && support.reason) features.singleThreadReason = support.reason;
    return new WasmBackend(heap, pool, features, index, instance.exports as any);
  }

  get threads(): number { return this.features.threads; }

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
