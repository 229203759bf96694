// Loads golden cases (test/fixtures/<case>) and compares with their tolerances.
// Deliberately independent of src/io so a bug in our safetensors reader cannot hide
// a parity failure (the io tests check the reader against this one).
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { compare } from './goldenCompare.js';

const here = dirname(fileURLToPath(import.meta.url));
/** test/fixtures in the source tree (tests run from dist/test/...). */
export const FIXTURES = join(here, '..', '..', '..', 'test', 'fixtures');

export interface GoldenTensor { dtype: string; shape: number[]; data: Float32Array | BigInt64Array | Float64Array | Uint8Array }

export function readSafetensorsSimple(path: string): Map<string, GoldenTensor> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  const out = new Map<string, GoldenTensor>();
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = info.data_offsets;
    const bytes = buf.subarray(base + b, base + e);
    const copy = new Uint8Array(bytes); // aligned copy
    let data: GoldenTensor['data'];
    if (info.dtype === 'F32') data = new Float32Array(copy.buffer, 0, copy.length / 4);
    else if (info.dtype === 'I64') data = new BigInt64Array(copy.buffer, 0, copy.length / 8);
    // the arrow-pointing case stores its geometry in F64 and its images in U8
    else if (info.dtype === 'F64') data = new Float64Array(copy.buffer, 0, copy.length / 8);
    else if (info.dtype === 'U8') data = copy;
    else throw new Error(`golden helper: unsupported dtype ${info.dtype} for ${name} in ${path}`);
    out.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return out;
}

export interface GoldenCase {
  name: string;
  dir: string;
  config: any;
  meta: any;
  io: Map<string, GoldenTensor>;
  /** An F32 tensor of io.safetensors (throws with the name if missing). */
  f32(name: string): Float32Array;
  shape(name: string): number[];
  has(name: string): boolean;
  /** Tolerance of an expected tensor from meta.json: {atol, rtol}. */
  tol(name: string): { atol: number; rtol: number };
  model(): Map<string, GoldenTensor>;
}

export function loadCase(name: string): GoldenCase {
  const dir = join(FIXTURES, name);
  const io = readSafetensorsSimple(join(dir, 'io.safetensors'));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const get = (n: string) => {
    const t = io.get(n);
    if (!t) throw new Error(`golden ${name}: no tensor ${n} in io.safetensors`);
    return t;
  };
  return {
    name, dir, config, meta, io,
    f32: (n) => get(n).data as Float32Array,
    shape: (n) => get(n).shape,
    has: (n) => io.has(n),
    tol(n) {
      const o = meta.outputs?.[n] ?? meta.tensors?.[n];
      if (!o) throw new Error(`golden ${name}: meta.json has no tolerance for ${n}`);
      const t = o.recommended_tolerance ?? {};
      const atol = o.recommended_atol ?? t.atol;
      if (typeof atol !== 'number') throw new Error(`golden ${name}: no atol for ${n}`);
      return { atol, rtol: o.recommended_rtol ?? t.rtol ?? 0 };
    },
    model() {
      const p = join(dir, 'model.safetensors');
      if (!existsSync(p)) throw new Error(`golden ${name}: no model.safetensors`);
      return readSafetensorsSimple(p);
    },
  };
}

export { compare };

export function assertClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): number {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != expected ${expected.length}`);
  const { maxAbs, bad } = compare(actual, expected, atol, rtol);
  assert.ok(bad < 0, `${label}: index ${bad}: got ${actual[bad]}, expected ${expected[bad]} (atol ${atol}, rtol ${rtol}, max |diff| ${maxAbs})`);
  return maxAbs;
}

/** Golden comparison of io tensor `name` using its meta.json tolerance. */
export function assertGolden(c: GoldenCase, name: string, actual: ArrayLike<number>): number {
  const { atol, rtol } = c.tol(name);
  return assertClose(`${c.name}/${name}`, actual, c.f32(name), atol, rtol);
}
