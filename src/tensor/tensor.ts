// The one tensor type: a dtype, a shape and a contiguous row-major typed array.
// A tensor's data may live in a backend's WebAssembly memory (then kernels use it
// without copying) or in ordinary JS memory; the API is the same for both.
import { DType, TypedArray, arrayClassFor, numel, shapeStr } from './dtype.js';
import { bf16ArrayToF32, f16ArrayToF32 } from './convert.js';

export class Tensor {
  /** Element type of `data`. */
  readonly dtype: DType;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Row-major elements (f16/bf16 as raw bit patterns). */
  readonly data: TypedArray;
  /** int8 storage only: one f32 scale per row (row = all dims but the last). */
  readonly scales?: Float32Array;
  private releaseFn?: () => void;

  constructor(dtype: DType, shape: readonly number[], data: TypedArray, opts: { scales?: Float32Array; release?: () => void } = {}) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`Tensor: invalid shape ${shapeStr(shape)} (dims must be integers >= 0)`);
    }
    const Cls = arrayClassFor(dtype);
    if (!(data instanceof Cls)) throw new TypeError(`Tensor: dtype ${dtype} needs a ${Cls.name}, got ${data.constructor.name}`);
    const n = numel(shape);
    if (data.length !== n) throw new RangeError(`Tensor: shape ${shapeStr(shape)} has ${n} elements but data has ${data.length}`);
    if (opts.scales && dtype !== 'i8') throw new TypeError(`Tensor: scales are only for i8 tensors, not ${dtype}`);
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
    this.scales = opts.scales;
    this.releaseFn = opts.release;
  }

  /** A zero-filled tensor in JS memory. */
  static zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const Cls = arrayClassFor(dtype);
    return new Tensor(dtype, shape, new Cls(numel(shape)));
  }

  /** An f32 tensor from numbers (copied). */
  static fromArray(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Tensor {
    return new Tensor('f32', shape, Float32Array.from(values));
  }

  get size(): number { return this.data.length; }
  get rank(): number { return this.shape.length; }

  /** Same data, other shape (element count must match). */
  reshape(shape: readonly number[]): Tensor {
    const n = numel(shape);
    if (n !== this.size) throw new RangeError(`reshape: cannot view ${shapeStr(this.shape)} (${this.size} elements) as ${shapeStr(shape)} (${n})`);
    return new Tensor(this.dtype, shape, this.data, { scales: this.scales });
  }

  /** Values as f32 (a copy for every dtype but f32, where it is the data itself). */
  toFloat32(): Float32Array {
    const d = this.data;
    switch (this.dtype) {
      case 'f32': return d as Float32Array;
      case 'bf16': return bf16ArrayToF32(d as Uint16Array);
      case 'f16': return f16ArrayToF32(d as Uint16Array);
      case 'i64': return Float32Array.from(d as BigInt64Array, (v) => Number(v));
      case 'i8': {
        const out = new Float32Array(d.length);
        const cols = this.shape.length ? this.shape[this.shape.length - 1] : 1;
        for (let i = 0; i < d.length; i++) out[i] = (d as Int8Array)[i] * (this.scales ? this.scales[Math.floor(i / cols)] : 1);
        return out;
      }
      default: return Float32Array.from(d as ArrayLike<number>);
    }
  }

  /** Values as f64 (always a copy). */
  toFloat64(): Float64Array {
    return this.dtype === 'f64' ? (this.data as Float64Array).slice() : Float64Array.from(this.toFloat32());
  }

  /** Returns backend memory early; later use of this tensor is an error of the caller. */
  dispose(): void {
    const r = this.releaseFn;
    this.releaseFn = undefined;
    r?.();
  }

  toString(): string { return `Tensor(${this.dtype}, ${shapeStr(this.shape)})`; }
}
