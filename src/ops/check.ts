// Shared argument checks and dispatch helpers for the op declarations in this folder.
// Every error names the op, the argument, and expected vs actual shape/dtype/value.
import { Tensor } from '../tensor/tensor.js';
import { DType, numel, shapeStr } from '../tensor/dtype.js';
import type { WasmBackend } from '../backend/wasm/backend.js';

export function checkTensor(op: string, arg: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${arg} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
}

export function checkDType(op: string, arg: string, t: Tensor, allowed: readonly DType[]): void {
  checkTensor(op, arg, t);
  if (!allowed.includes(t.dtype)) throw new TypeError(`${op}: ${arg} must have dtype ${allowed.join(' or ')}, got ${t.dtype} (shape ${shapeStr(t.shape)})`);
}

/** rank >= minRank; returns the last dim (1 for a scalar when minRank is 0). */
export function checkRank(op: string, arg: string, t: Tensor, minRank: number, maxRank = Infinity): number {
  if (t.rank < minRank || t.rank > maxRank) {
    const want = maxRank === minRank ? `rank ${minRank}` : maxRank === Infinity ? `rank >= ${minRank}` : `rank ${minRank}..${maxRank}`;
    throw new RangeError(`${op}: ${arg} must have ${want}, got shape ${shapeStr(t.shape)}`);
  }
  return t.rank ? t.shape[t.rank - 1] : 1;
}

export function checkShape(op: string, arg: string, t: Tensor, want: readonly number[]): void {
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new RangeError(`${op}: ${arg} must have shape ${shapeStr(want)}, got ${shapeStr(t.shape)}`);
  }
}

export function checkFinite(op: string, arg: string, v: unknown, opts: { positive?: boolean; nonNegative?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${op}: ${arg} must be a finite number, got ${String(v)}`);
  if (opts.positive && !(v > 0)) throw new RangeError(`${op}: ${arg} must be > 0, got ${v}`);
  if (opts.nonNegative && !(v >= 0)) throw new RangeError(`${op}: ${arg} must be >= 0, got ${v}`);
  return v;
}

/** An f32 output on the heap: `out` if given (checked), else a new one. */
export function outputF32(be: WasmBackend, op: string, shape: readonly number[], out?: Tensor): Tensor {
  if (out === undefined) return be.empty(shape, 'f32');
  checkDType(op, 'out', out, ['f32']);
  checkShape(op, 'out', out, shape);
  if (!be.heap.owns(out.data)) throw new TypeError(`${op}: out must live on the backend heap (create it with backend.empty)`);
  return out;
}

/**
 * Heap copies made for inputs that live in JS memory; `done()` frees them.
 * Kernels only see heap offsets.
 */
export class Staging {
  private temps: Tensor[] = [];
  constructor(private be: WasmBackend) {}
  put(t: Tensor): Tensor {
    const h = this.be.upload(t);
    if (h !== t) this.temps.push(h);
    return h;
  }
  ptr(t: Tensor): number { return this.be.ptr(this.put(t)); }
  /** A temporary made elsewhere that is freed with the staged inputs. */
  adopt(t: Tensor): void { this.temps.push(t); }
  /** Scratch that is freed with the staged inputs. */
  scratch(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.be.empty(shape, dtype);
    this.temps.push(t);
    return t;
  }
  done(): void { for (const t of this.temps) t.dispose(); this.temps.length = 0; }
}

/**
 * Jobs of fewer element-operations than this run on the calling thread. A 2-thread dispatch
 * costs ~20 us (the worker's wake-up and the closing barrier; more when another process holds
 * the worker's core), and 2^18 operations take ~50 us on one thread (layerNorm 64 x 512, cost 3:
 * 20 us; relu 64 x 2048: 26 us; swiglu 64 x 1408, cost 10: 180 us), so only jobs that save more
 * than the dispatch by halving go to the pool.
 */
const POOL_MIN_OPS = 1 << 18;

/**
 * Threads for a job of `elems * costPerElem` element-operations (see POOL_MIN_OPS).
 * `costPerElem` ~1 for add/mul, ~10 for exp/log. `parts`: how many independent pieces
 * the kernel splits (rows).
 */
export function threadsFor(be: WasmBackend, elems: number, costPerElem = 1, parts = Infinity): number {
  return elems * costPerElem >= POOL_MIN_OPS ? Math.max(1, Math.min(be.threads, parts)) : 1;
}

export { numel, shapeStr };
