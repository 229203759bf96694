// Normalisations over the last dim: RMSNorm, LayerNorm, and group norm / multi-head
// layer norm (each head of DH normalised on its own). Weights may be applied plainly
// (x̂ * w) or as an offset (x̂ * (1 + w)), the official xLSTM LayerNorm convention.
// Float64 reference: src/backend/ref/norm.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkFinite, checkRank, checkShape, outputF32, threadsFor } from './check.js';

export interface NormOptions {
  /** Added to the variance (or mean square) before the rsqrt. No default: xLSTM uses 1e-5 and 1e-6. */
  eps: number;
  /** [D] scale; omitted = 1 (or 1 + 0 with weightOffset). */
  weight?: Tensor;
  /** [D] shift (LayerNorm / group norm only). */
  bias?: Tensor;
  /** Apply the weight as (1 + w): official xLSTM LayerNorm / MultiHeadLayerNorm. Default false. */
  weightOffset?: boolean;
}

function norm(be: WasmBackend, op: string, x: Tensor, groups: number, rms: boolean, o: NormOptions, out?: Tensor): Tensor {
  checkDType(op, 'x', x, ['f32']);
  const D = checkRank(op, 'x', x, 1);
  if (o === null || typeof o !== 'object') throw new TypeError(`${op}: options { eps, weight?, bias?, weightOffset? } are required, got ${String(o)}`);
  checkFinite(op, 'eps', o.eps, { nonNegative: true });
  if (D % groups !== 0) throw new RangeError(`${op}: last dim of x (${D}, shape [${x.shape.join(', ')}]) must be divisible by numHeads ${groups}`);
  if (o.weight !== undefined) { checkDType(op, 'weight', o.weight, ['f32']); checkShape(op, 'weight', o.weight, [D]); }
  if (o.bias !== undefined) {
    if (rms) throw new TypeError(`${op}: bias is not supported (RMSNorm has none)`);
    checkDType(op, 'bias', o.bias, ['f32']); checkShape(op, 'bias', o.bias, [D]);
  }
  const y = outputF32(be, op, x.shape, out);
  if (x.size === 0) return y;
  const st = new Staging(be);
  try {
    const pw = o.weight ? st.ptr(o.weight) : 0;
    const pb = o.bias ? st.ptr(o.bias) : 0;
    const rows = x.size / D;
    be.run('normF32', [be.ptr(y), st.ptr(x), pw, pb, rows, groups, D / groups, o.eps, o.weightOffset ? 1 : 0, rms ? 1 : 0], threadsFor(be, x.size, 3, rows * groups));
    return y;
  } finally { st.done(); }
}

/** RMSNorm: x * rsqrt(mean(x^2) + eps) * w over the last dim. [..., D] -> [..., D]. */
export function rmsNorm(be: WasmBackend, x: Tensor, opts: Omit<NormOptions, 'bias'>, out?: Tensor): Tensor {
  return norm(be, 'rmsNorm', x, 1, true, opts, out);
}

/** LayerNorm over the last dim: (x - mean) * rsqrt(var + eps) * w + b (biased variance, as torch). */
export function layerNorm(be: WasmBackend, x: Tensor, opts: NormOptions, out?: Tensor): Tensor {
  return norm(be, 'layerNorm', x, 1, false, opts, out);
}

/**
 * Group norm / multi-head layer norm: the last dim (NH * DH) is split into numHeads
 * groups, each normalised over its DH values; weight and bias span all NH * DH.
 * Callers with [B, S, NH, DH] reshape to [B, S, NH * DH] (same memory).
 */
export function groupNorm(be: WasmBackend, x: Tensor, numHeads: number, opts: NormOptions, out?: Tensor): Tensor {
  if (!Number.isInteger(numHeads) || numHeads < 1) throw new RangeError(`groupNorm: numHeads must be an integer >= 1, got ${String(numHeads)}`);
  return norm(be, 'groupNorm', x, numHeads, false, opts, out);
}

/** The xLSTM name for groupNorm. */
export const multiHeadLayerNorm = groupNorm;
