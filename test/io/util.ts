// Shared helpers for the io tests: sample tensors of every dtype and temp folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import type { TypedArray } from '../../src/tensor/dtype.js';

/** One tensor per dtype with awkward values (extremes, NaN payloads, -0), plus a 0-d and an empty one. */
export function sampleTensors(): Record<string, Tensor> {
  return {
    f64: new Tensor('f64', [2, 2], new Float64Array([1.5, -0, Number.MAX_VALUE, NaN])),
    f32: new Tensor('f32', [3], new Float32Array([0.1, -Infinity, 1e-45])),
    f16: new Tensor('f16', [4], new Uint16Array([0x3c00, 0x7e01, 0x8000, 0x0001])),
    bf16: new Tensor('bf16', [2, 1], new Uint16Array([0x3f80, 0xff81])),
    i64: new Tensor('i64', [3], new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 42n])),
    i32: new Tensor('i32', [2], new Int32Array([-2147483648, 2147483647])),
    i8: new Tensor('i8', [3], new Int8Array([-128, 0, 127])),
    u8: new Tensor('u8', [1, 3], new Uint8Array([0, 128, 255])),
    bool: new Tensor('bool', [4], new Uint8Array([1, 0, 0, 1])),
    scalar: new Tensor('f32', [], new Float32Array([3.25])),
    empty: new Tensor('i32', [0, 3], new Int32Array(0)),
    emptyHalf: new Tensor('bf16', [2, 0], new Uint16Array(0)),
  };
}

function bytes(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Same dtype, shape and bit-identical data (so NaN payloads and -0 count). */
export function assertSameTensor(label: string, actual: Tensor, expected: Tensor): void {
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${label}: shape`);
  assert.deepEqual(bytes(actual.data), bytes(expected.data), `${label}: data bits`);
}

/** A fresh temp folder and a function that deletes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Raw safetensors bytes from a header object and a data section (for hand-built bad files). */
export function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
