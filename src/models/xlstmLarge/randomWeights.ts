// Random-weight xLSTM Large checkpoints for benchmarks and big-model tests: the tensor
// list of a config in the Hugging Face layout (weight_mode "single", the names the
// xLSTM-7B hub checkpoint uses), and a SafetensorsSource that generates each tensor on
// demand from its name, so a model of any size can be loaded (or written to disk one
// tensor at a time) without ever holding the whole checkpoint. Browser-safe.
import { Tensor } from '../../tensor/tensor.js';
import { TypedArray, arrayClassFor, numel, shapeStr } from '../../tensor/dtype.js';
import type { SafetensorsSource, SafetensorsTensorInfo } from '../../io/safetensors.js';
import type { ReadOptions } from '../../io/safetensorsTensor.js';
import type { XLSTMLargeConfig } from './config.js';
import { xlstmLargeTable } from './weights.js';

export interface RandomTensorSpec {
  name: string;
  shape: number[];
  /** 'matrix': uniform with std 1/sqrt(in_features); 'ones': norm weights; 'zeros': biases; 'igate'/'fgate': gate biases. */
  init: 'matrix' | 'ones' | 'zeros' | 'igate' | 'fgate';
}

const RANDOM_INIT: Record<string, RandomTensorSpec['init']> = {
  embedding: 'matrix', linear: 'matrix', bias: 'zeros', ones: 'ones', zeros: 'zeros', igateBias: 'igate', fgateBias: 'fgate',
};

/** Every tensor of `cfg` in the HF single-weight layout (what HF xLSTMForCausalLM saves): the weight table's entries. */
export function xlstmLargeTensorSpecs(cfg: XLSTMLargeConfig): RandomTensorSpec[] {
  if (cfg.weight_mode !== 'single') throw new Error(`xlstmLargeTensorSpecs: weight_mode = "${cfg.weight_mode}" (only "single" is generated)`);
  return xlstmLargeTable(cfg, 'hf').specs.map((s) => ({ name: s.name, shape: [...s.shape], init: RANDOM_INIT[s.role!] }));
}

/** FNV-1a of the name mixed with the seed: each tensor has its own reproducible stream. */
function seedOf(name: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

const CHUNK = 1 << 16;

/**
 * Writes elements [from, from + out.length) of tensor `spec` as f32 into `out`.
 * Deterministic in (seed, name, element index), so chunked and whole reads agree.
 */
export function fillRandomF32(spec: RandomTensorSpec, seed: number, out: Float32Array, from = 0): void {
  const n = out.length;
  if (spec.init === 'ones') { out.fill(1); return; }
  if (spec.init === 'zeros') { out.fill(0); return; }
  if (spec.init === 'igate') { out.fill(-10); return; }
  if (spec.init === 'fgate') { for (let i = 0; i < n; i++) out[i] = 3 + (3 * (from + i)) / Math.max(1, spec.shape[0] - 1); return; }
  const K = spec.shape[spec.shape.length - 1];
  const a = Math.sqrt(3 / K) * 2; // uniform(-a/2, a/2): std 1/sqrt(K)
  const base = seedOf(spec.name, seed);
  // Each block of CHUNK elements restarts its generator from its index, so any range can be produced alone.
  for (let i = 0; i < n;) {
    const g = from + i;
    const blk = Math.floor(g / CHUNK);
    let s = (Math.imul(base ^ blk, 0x9e3779b1) + blk) >>> 0 || 1;
    for (let j = g - blk * CHUNK; j > 0; j--) s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const end = Math.min(n, (blk + 1) * CHUNK - from);
    for (; i < end; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = (s / 4294967296 - 0.5) * a;
    }
  }
}

/** bf16 bits (truncated: fine for random data) of fillRandomF32. */
export function fillRandomBf16(spec: RandomTensorSpec, seed: number, out: Uint16Array, from = 0, scratch?: Float32Array): void {
  const f = scratch && scratch.length >= out.length ? scratch.subarray(0, out.length) : new Float32Array(out.length);
  fillRandomF32(spec, seed, f, from);
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  for (let i = 0; i < out.length; i++) out[i] = u[i] >>> 16;
}

export interface RandomSourceOptions {
  /** Stored dtype of every tensor (as a checkpoint saved from a bf16 or f32 model). */
  dtype?: 'f32' | 'bf16';
  seed?: number;
}

/** A SafetensorsSource whose tensors are generated from their names (nothing is stored). */
export class RandomXLSTMLargeSource implements SafetensorsSource {
  readonly metadata: Readonly<Record<string, unknown>> = { format: 'pt', generator: 'xlstm-ts random weights' };
  readonly specs: readonly RandomTensorSpec[];
  readonly dtype: 'f32' | 'bf16';
  private readonly seed: number;
  private readonly byName: Map<string, RandomTensorSpec>;

  constructor(cfg: XLSTMLargeConfig, opts: RandomSourceOptions = {}) {
    this.specs = xlstmLargeTensorSpecs(cfg);
    this.dtype = opts.dtype ?? 'f32';
    this.seed = opts.seed ?? 0;
    this.byName = new Map(this.specs.map((s) => [s.name, s]));
  }

  /** Total bytes of all tensors in the stored dtype. */
  get totalBytes(): number { return this.specs.reduce((a, s) => a + numel(s.shape) * (this.dtype === 'f32' ? 4 : 2), 0); }

  names(): string[] { return this.specs.map((s) => s.name); }
  has(name: string): boolean { return this.byName.has(name); }

  info(name: string): SafetensorsTensorInfo {
    const s = this.spec(name);
    return { dtype: this.dtype, shape: [...s.shape], byteLength: numel(s.shape) * (this.dtype === 'f32' ? 4 : 2) };
  }

  read(name: string, opts: ReadOptions = {}): Tensor {
    const s = this.spec(name);
    const n = numel(s.shape);
    if (this.dtype === 'f32' || opts.dtype === 'f32') {
      const d = new Float32Array(n);
      fillRandomF32(s, this.seed, d);
      if (this.dtype === 'bf16') { const u = new Uint32Array(d.buffer); for (let i = 0; i < n; i++) u[i] &= 0xffff0000; }
      return new Tensor('f32', s.shape, d);
    }
    const d = new Uint16Array(n);
    fillRandomBf16(s, this.seed, d);
    return new Tensor('bf16', s.shape, d);
  }

  readInto(name: string, dest: TypedArray, opts: ReadOptions = {}): void {
    const s = this.spec(name);
    const n = numel(s.shape);
    const want = opts.dtype === 'f32' ? 'f32' : this.dtype;
    const Cls = arrayClassFor(want);
    if (!(dest instanceof Cls) || dest.length !== n) {
      throw new TypeError(`RandomXLSTMLargeSource.readInto('${name}'): needs a ${Cls.name} of ${n} elements (${want} ${shapeStr(s.shape)}), got ${dest.constructor.name}(${dest.length})`);
    }
    const scratch = new Float32Array(Math.min(n, 1 << 20));
    for (let o = 0; o < n; o += scratch.length) {
      const m = Math.min(scratch.length, n - o);
      if (want === 'f32') {
        const out = (dest as Float32Array).subarray(o, o + m);
        fillRandomF32(s, this.seed, out, o);
        if (this.dtype === 'bf16') { const u = new Uint32Array(out.buffer, out.byteOffset, m); for (let i = 0; i < m; i++) u[i] &= 0xffff0000; }
      } else fillRandomBf16(s, this.seed, (dest as Uint16Array).subarray(o, o + m), o, scratch);
    }
  }

  /** Stored bytes [byteOffset, byteOffset + dest.length) of tensor `name` (whole elements, dest aligned to them). */
  readRangeInto(name: string, byteOffset: number, dest: Uint8Array): void {
    const s = this.spec(name);
    const size = this.dtype === 'f32' ? 4 : 2;
    const total = numel(s.shape) * size;
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % size !== 0 || dest.length % size !== 0 || dest.byteOffset % size !== 0 || byteOffset + dest.length > total) {
      throw new RangeError(`RandomXLSTMLargeSource.readRangeInto('${name}'): byte range [${byteOffset}, ${byteOffset + dest.length}) (destination at byte ${dest.byteOffset}) must lie in the tensor's ${total} bytes on whole ${size}-byte elements`);
    }
    const from = byteOffset / size, n = dest.length / size;
    if (this.dtype === 'f32') { fillRandomF32(s, this.seed, new Float32Array(dest.buffer, dest.byteOffset, n), from); return; }
    const out = new Uint16Array(dest.buffer, dest.byteOffset, n);
    const scratch = new Float32Array(Math.min(n, 1 << 20));
    for (let o = 0; o < n; o += scratch.length) {
      const m = Math.min(scratch.length, n - o);
      fillRandomBf16(s, this.seed, out.subarray(o, o + m), from + o, scratch);
    }
  }

  close(): void { /* nothing held */ }

  private spec(name: string): RandomTensorSpec {
    const s = this.byName.get(name);
    if (!s) throw new Error(`RandomXLSTMLargeSource: no tensor named '${name}' (has ${this.specs.length}, e.g. ${this.specs[0]?.name})`);
    return s;
  }
}
