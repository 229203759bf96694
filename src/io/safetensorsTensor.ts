// Between header entries and Tensors: the read options every reader accepts
// (expected dtype/shape, conversion to f32), the checks on caller-provided
// destinations, and the f32 -> bf16/f16 casts used when writing. Pure (browser-safe).
import { DType, TypedArray, DTYPE_SIZE, arrayClassFor, numel, shapeStr } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../tensor/convert.js';
import { SafetensorsError, TensorInfo } from './safetensorsHeader.js';
import { ArgumentError } from '../errors.js';

export interface ReadOptions {
  /** Convert to this dtype after reading. Only 'f32' (from any stored dtype) or the stored dtype itself. */
  dtype?: DType;
  /** Fail unless the stored dtype is this one (checked before any conversion). */
  expectDtype?: DType;
  /** Fail unless the stored shape is exactly this. */
  expectShape?: readonly number[];
}

/** Validates the caller's expectations and requested conversion before any data is read. */
export function checkReadOptions(info: TensorInfo, opts: ReadOptions, source: string, name: string): void {
  if (opts.expectDtype !== undefined && opts.expectDtype !== info.dtype) {
    throw new SafetensorsError(source, `expected dtype ${opts.expectDtype} but the file stores ${info.dtype}`, name);
  }
  if (opts.expectShape !== undefined) {
    const e = opts.expectShape;
    if (e.length !== info.shape.length || e.some((d, i) => d !== info.shape[i])) {
      throw new SafetensorsError(source, `expected shape ${shapeStr(e)} but the file stores ${shapeStr(info.shape)}`, name);
    }
  }
  if (opts.dtype !== undefined && opts.dtype !== 'f32' && opts.dtype !== info.dtype) {
    throw new SafetensorsError(source, `cannot convert ${info.dtype} to ${opts.dtype} on read (only to f32)`, name);
  }
}

/**
 * A fresh, zeroed array of the stored dtype that the raw bytes are read into. The size is
 * bounded by the file, but a multi-GiB tensor can still exceed what the engine allocates
 * in one array: that is reported naming the tensor (readInto a preallocated heap avoids it).
 */
export function allocateStored(info: TensorInfo, source: string, name: string): TypedArray {
  const Cls = arrayClassFor(info.dtype);
  try {
    return new Cls(numel(info.shape));
  } catch (e) {
    if (e instanceof RangeError) throw new SafetensorsError(source, `cannot allocate ${info.byteLength} bytes for this tensor (${e.message}); readInto() a preallocated destination instead`, name);
    throw e;
  }
}

/** Raw bytes of any typed array (no copy). */
export function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Wraps freshly read stored data as a Tensor, converting to f32 when asked. */
export function finishTensor(info: TensorInfo, stored: TypedArray, opts: ReadOptions): Tensor {
  const t = new Tensor(info.dtype, info.shape, stored);
  if (opts.dtype === 'f32' && info.dtype !== 'f32') return new Tensor('f32', info.shape, t.toFloat32());
  return t;
}

/**
 * How readInto fills `dest`: 'raw' copies the stored bytes (dest must be a byte
 * view or the stored dtype's array class, with exactly byteLength bytes);
 * 'toF32' reads the stored values and widens them into a Float32Array.
 */
export function planReadInto(info: TensorInfo, dest: TypedArray, opts: ReadOptions, source: string, name: string): 'raw' | 'toF32' {
  checkReadOptions(info, opts, source, name);
  const n = numel(info.shape);
  if (opts.dtype === 'f32' && info.dtype !== 'f32') {
    if (!(dest instanceof Float32Array)) throw new SafetensorsError(source, `readInto with dtype f32 needs a Float32Array destination, got ${dest.constructor.name}`, name);
    if (dest.length !== n) throw new SafetensorsError(source, `destination has ${dest.length} elements but shape ${shapeStr(info.shape)} has ${n}`, name);
    return 'toF32';
  }
  const Stored = arrayClassFor(info.dtype);
  // Byte views are allowed so callers can fill a slice of a raw heap; any other
  // class must match, or the caller would silently see reinterpreted bits.
  if (!(dest instanceof Uint8Array || dest instanceof Stored)) {
    throw new SafetensorsError(source, `destination is a ${dest.constructor.name} but the file stores ${info.dtype} (needs ${Stored.name} or Uint8Array, or pass {dtype: 'f32'})`, name);
  }
  if (dest.byteLength !== info.byteLength) {
    throw new SafetensorsError(source, `destination has ${dest.byteLength} bytes but the tensor (${info.dtype} ${shapeStr(info.shape)}) has ${info.byteLength}`, name);
  }
  return 'raw';
}

/** Widens stored elements (given as raw little-endian bytes) into f32. */
export function widenToF32(dtype: DType, raw: Uint8Array, dest: Float32Array): void {
  // `raw` may be unaligned (inside a bigger buffer), so copy into an aligned array first:
  // new Uint8Array copies into a fresh buffer, while slice() on a Node Buffer is an unaligned view.
  const Cls = arrayClassFor(dtype);
  const aligned = raw.byteOffset % DTYPE_SIZE[dtype] === 0 ? raw : new Uint8Array(raw);
  const src = new Cls(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / DTYPE_SIZE[dtype]);
  // convert.ts types its outputs as plain-ArrayBuffer arrays; a wasm heap view is shared-memory backed.
  const out = dest as Float32Array<ArrayBuffer>;
  if (dtype === 'bf16') bf16ArrayToF32(src as Uint16Array, out);
  else if (dtype === 'f16') f16ArrayToF32(src as Uint16Array, out);
  else if (dtype === 'i64') for (let i = 0; i < dest.length; i++) dest[i] = Number((src as BigInt64Array)[i]);
  else dest.set(src as ArrayLike<number>);
}

/**
 * An f32 tensor rounded (nearest-even) to bf16 or f16 for storage; tensors already
 * in the target dtype pass through. Others are refused so no data is silently narrowed.
 */
export function castForStorage(t: Tensor, to: 'bf16' | 'f16', name = 'tensor'): Tensor {
  if (t.dtype === to) return t;
  if (t.dtype !== 'f32') throw new ArgumentError(`castForStorage: '${name}' is ${t.dtype}; only f32 tensors can be stored as ${to}`);
  const bits = to === 'bf16' ? f32ArrayToBf16(t.data as Float32Array) : f32ArrayToF16(t.data as Float32Array);
  return new Tensor(to, t.shape, bits);
}

/** Storage conversion option shared by the writers. */
export interface WriteOptions {
  /** Store every f32 tensor as this type (round-to-nearest-even); other dtypes are written as they are. */
  storeF32As?: 'bf16' | 'f16';
}

/** The tensor as it will be stored, and a check that it can be stored at all. */
export function storedForm(name: string, t: Tensor, opts: WriteOptions): Tensor {
  storedDType(name, t, opts);
  return opts.storeF32As && t.dtype === 'f32' ? castForStorage(t, opts.storeF32As, name) : t;
}

/**
 * The dtype a tensor will be stored as (what the header needs before any data is
 * converted), after checking it can be stored at all.
 */
export function storedDType(name: string, t: Tensor, opts: WriteOptions): DType {
  if (!(t instanceof Tensor)) throw new ArgumentError(`safetensors writer: '${name}' is not a Tensor`);
  if (t.scales) {
    throw new ArgumentError(`safetensors writer: '${name}' is i8 with per-row scales, which safetensors cannot store; write the scales as their own f32 tensor`);
  }
  return opts.storeF32As && t.dtype === 'f32' ? opts.storeF32As : t.dtype;
}
