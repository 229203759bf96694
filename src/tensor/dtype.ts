// Element types. Compute is always f32 (or f64 on the reference path); the other
// types are storage formats that kernels widen on the fly.

/** Storage dtypes a Tensor can hold. */
export type DType = 'f64' | 'f32' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i8' | 'u8' | 'bool';

export type TypedArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array;

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = Object.freeze({
  f64: 8, f32: 4, f16: 2, bf16: 2, i64: 8, i32: 4, i8: 1, u8: 1, bool: 1,
});

/** The typed array class that stores each dtype (f16/bf16 as raw 16-bit patterns). */
export function arrayClassFor(dtype: DType) {
  switch (dtype) {
    case 'f64': return Float64Array;
    case 'f32': return Float32Array;
    case 'f16': case 'bf16': return Uint16Array;
    case 'i64': return BigInt64Array;
    case 'i32': return Int32Array;
    case 'i8': return Int8Array;
    case 'u8': case 'bool': return Uint8Array;
  }
}

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

/** Number of elements of a shape ([] is a scalar: 1 element). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
