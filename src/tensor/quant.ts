// Weight quantisation for the GEMV kernels: symmetric per-row int8 and a 4-bit
// block format in the ggml Q4_0 layout (32 weights per f32 scale). Scalar JS
// reference code: quantising is done once when weights are loaded.
import { Tensor } from './tensor.js';
import { shapeStr } from './dtype.js';
import { ArgumentError } from '../errors.js';

/** Elements per Q4 block (one scale each). */
export const Q4_BLOCK = 32;

/**
 * How the Q4 GEMV rounds x: 8 = int8 per 32-value block (ggml's Q8_0, its default for
 * Q4_0 weights: relaxed-SIMD 8-bit dot products, 1.1-1.35x less CPU per GEMV), 16 = int16
 * with one scale per row (error 1/65534 of max|x|, the earlier kernel). Measurements
 * behind the default: docs/PERFORMANCE.md, "Q4 with 8-bit activations".
 */
export type Q4ActivationBits = 8 | 16;
/** The default of Q4ActivationBits. */
export const Q4_DEFAULT_ACTIVATION_BITS: Q4ActivationBits = 8;

export interface Q4Options {
  /** Rounding of x in the GEMV (see Q4ActivationBits); default Q4_DEFAULT_ACTIVATION_BITS. */
  activationBits?: Q4ActivationBits;
}

function checkActivationBits(fn: string, bits: unknown): Q4ActivationBits {
  if (bits === undefined) return Q4_DEFAULT_ACTIVATION_BITS;
  if (bits !== 8 && bits !== 16) throw new ArgumentError(`${fn}: activationBits must be 8 or 16, got ${JSON.stringify(bits)}`);
  return bits;
}

/**
 * 4-bit block-quantised [N, K] weights. Block j of row n holds elements
 * n*K + 32j .. +31: byte i of its 16 bytes has element i in the low nibble and
 * element i + 16 in the high nibble; value = (nibble - 8) * scale.
 */
export class Q4Weight {
  readonly kind = 'q4_0';
  /** x rounding of the GEMV (see Q4ActivationBits). */
  readonly activationBits: Q4ActivationBits;
  constructor(
    /** [N, K] of the dequantised matrix. */
    readonly shape: readonly [number, number],
    /** u8 [N, K/2] nibble pairs. */
    readonly packed: Tensor,
    /** f32 [N, K/32] block scales. */
    readonly scales: Tensor,
    opts: Q4Options = {},
  ) {
    this.activationBits = checkActivationBits('Q4Weight', opts.activationBits);
    const [n, k] = shape;
    if (k % Q4_BLOCK !== 0) throw new RangeError(`Q4Weight: K must be a multiple of ${Q4_BLOCK}, got shape ${shapeStr(shape)}`);
    if (packed.dtype !== 'u8' || packed.size !== (n * k) / 2) throw new TypeError(`Q4Weight: packed must be u8 [${n}, ${k / 2}], got ${packed.dtype} ${shapeStr(packed.shape)}`);
    if (scales.dtype !== 'f32' || scales.size !== (n * k) / Q4_BLOCK) throw new TypeError(`Q4Weight: scales must be f32 [${n}, ${k / Q4_BLOCK}], got ${scales.dtype} ${shapeStr(scales.shape)}`);
  }
  dispose(): void { this.packed.dispose(); this.scales.dispose(); }
  /** The same weights (shared tensors, not copies) with another x rounding in the GEMV. */
  withActivationBits(bits: Q4ActivationBits): Q4Weight {
    return new Q4Weight(this.shape, this.packed, this.scales, { activationBits: checkActivationBits('Q4Weight.withActivationBits', bits) });
  }
}

function rows2d(w: Tensor, fn: string): [number, number] {
  if (w.rank !== 2) throw new RangeError(`${fn}: w must be 2-D [N, K], got ${shapeStr(w.shape)}`);
  return [w.shape[0], w.shape[1]];
}

/** Rounds half away from zero (C roundf, as ggml does). */
function roundAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/**
 * Symmetric per-row int8: scale[n] = max|w[n,:]| / 127, q = round(w / scale)
 * (half away from zero) in [-127, 127]; an all-zero row gets scale 0.
 */
export function quantizeInt8(w: Tensor): Tensor {
  const [n, k] = rows2d(w, 'quantizeInt8');
  const src = w.toFloat32();
  const q = new Int8Array(n * k);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let amax = 0;
    for (let i = 0; i < k; i++) amax = Math.max(amax, Math.abs(src[r * k + i]));
    const scale = Math.fround(amax / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let i = 0; i < k; i++) q[r * k + i] = Math.max(-127, Math.min(127, roundAway(src[r * k + i] / scale)));
  }
  return new Tensor('i8', [n, k], q, { scales });
}

/** f32 values of an int8 tensor with per-row scales. */
export function dequantizeInt8(q: Tensor): Float32Array {
  if (q.dtype !== 'i8' || !q.scales) throw new TypeError(`dequantizeInt8: needs an i8 tensor with per-row scales, got ${q.dtype}${q.scales ? '' : ' without scales'}`);
  return q.toFloat32();
}

/**
 * ggml Q4_0 quantisation of [N, K] (K % 32 == 0): per block, d = m / -8 where m
 * is the element of largest magnitude (sign kept, so it maps exactly to -8),
 * nibble = min(15, floor(w / d + 8.5)) - round to nearest.
 */
export function quantizeQ4(w: Tensor, opts: Q4Options = {}): Q4Weight {
  const [n, k] = rows2d(w, 'quantizeQ4');
  if (k % Q4_BLOCK !== 0) throw new RangeError(`quantizeQ4: K (last dim of w) must be a multiple of ${Q4_BLOCK}, got shape ${shapeStr(w.shape)}`);
  const src = w.toFloat32();
  const nb = k / Q4_BLOCK;
  const packed = new Uint8Array((n * k) / 2);
  const scales = new Float32Array(n * nb);
  const q = new Uint8Array(Q4_BLOCK);
  for (let b = 0; b < n * nb; b++) {
    const o = b * Q4_BLOCK;
    let amax = 0, m = 0;
    for (let i = 0; i < Q4_BLOCK; i++) {
      const v = src[o + i];
      if (Math.abs(v) > amax) { amax = Math.abs(v); m = v; }
    }
    const d = Math.fround(m / -8);
    const id = d ? 1 / d : 0;
    scales[b] = d;
    for (let i = 0; i < Q4_BLOCK; i++) q[i] = Math.min(15, Math.max(0, Math.floor(src[o + i] * id + 8.5)));
    for (let i = 0; i < 16; i++) packed[b * 16 + i] = q[i] | (q[i + 16] << 4);
  }
  return new Q4Weight([n, k], new Tensor('u8', [n, k / 2], packed), new Tensor('f32', [n, nb], scales), opts);
}

/** f32 [N*K] values of Q4 weights. */
export function dequantizeQ4(w: Q4Weight): Float32Array {
  const [n, k] = w.shape;
  const p = w.packed.data as Uint8Array;
  const s = w.scales.data as Float32Array;
  const out = new Float32Array(n * k);
  for (let b = 0; b < (n * k) / Q4_BLOCK; b++) {
    const d = s[b];
    for (let i = 0; i < 16; i++) {
      const byte = p[b * 16 + i];
      out[b * Q4_BLOCK + i] = ((byte & 15) - 8) * d;
      out[b * Q4_BLOCK + i + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}
