// Helpers of the pLSTM tests: float64 golden tensors (the golden helper reads F32/I64 only),
// tolerances of gradients from meta.json, and the model tensors of a case as Tensors.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { GoldenCase, readSafetensorsSimple } from '../helpers/golden.js';
import { Tensor } from '../../src/tensor/tensor.js';

export function readF64(path: string): Map<string, Float64Array> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = new Map<string, Float64Array>();
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__' || info.dtype !== 'F64') continue;
    const [b, e] = info.data_offsets;
    const copy = new Uint8Array(buf.subarray(8 + n + b, 8 + n + e));
    out.set(name, new Float64Array(copy.buffer, 0, copy.length / 8));
  }
  return out;
}

export interface Golden64 { io: Map<string, Float64Array>; grads: Map<string, Float64Array> }

export function golden64(c: GoldenCase): Golden64 {
  const g = join(c.dir, 'grads_f64.safetensors');
  return { io: readF64(join(c.dir, 'io_f64.safetensors')), grads: existsSync(g) ? readF64(g) : new Map() };
}

/** f32 model tensors of a case by name. */
export function modelTensors(c: GoldenCase): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of c.model()) out.set(k, new Tensor('f32', v.shape, v.data as Float32Array));
  return out;
}

/** f32 gradients (grads.safetensors) by name. */
export function gradTensors(c: GoldenCase): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of readSafetensorsSimple(join(c.dir, 'grads.safetensors'))) out.set(k, v.data as Float32Array);
  return out;
}

/** {atol, rtol} of a gradient tensor from meta.json's grads section. */
export function gradTol(c: GoldenCase, name: string): { atol: number; rtol: number; atol64: number } {
  const g = c.meta.grads;
  const atol = g?.recommended_atol?.[name];
  if (typeof atol !== 'number') throw new Error(`${c.name}: meta.json has no gradient tolerance for ${name}`);
  return { atol, rtol: g.recommended_rtol?.[name] ?? 0, atol64: g.recommended_atol_f64?.[name] ?? atol };
}

/** atol_f64 of an io tensor. */
export function atol64(c: GoldenCase, name: string): number {
  const a = c.meta.outputs?.[name]?.recommended_atol_f64;
  if (typeof a !== 'number') throw new Error(`${c.name}: meta.json has no recommended_atol_f64 for ${name}`);
  return a;
}
