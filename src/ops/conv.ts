// Causal depthwise conv1d (the official xlstm CausalConv1d: torch Conv1d with
// groups = C, weight [C, 1, K], left padding K - 1), over sequences and as a
// decoding step that keeps the last K inputs as state:
//   y[b, t, c] = bias[c] + sum_j w[c, 0, j] * x[b, t - K + 1 + j, c]
// Float64 reference: src/backend/ref/conv.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkRank, checkShape, threadsFor } from './check.js';

export interface CausalConv1dOptions {
  /** [C] */
  bias?: Tensor;
  /** [B, K, C]: the K inputs before t = 0, newest last (from a previous call or step); default zeros. */
  state?: Tensor;
}

export interface CausalConv1dResult {
  /** [B, S, C] (sequence form) or [B, C] (step) */
  y: Tensor;
  /** [B, K, C]: the last K inputs, newest last; pass it to the next call or step. */
  state: Tensor;
}

/**
 * A conv weight prepared at load time: the torch [C, 1, K] weight transposed to
 * [K, C] on the heap, so channels are contiguous for SIMD and no step pays for it.
 */
export class CausalConv1dWeight {
  /** [K, C] on the backend heap */
  readonly wT: Tensor;
  private constructor(wT: Tensor, readonly C: number, readonly K: number) { this.wT = wT; }

  /** weight: torch layout [C, 1, K] (or [C, K]), f32. */
  static prepare(be: WasmBackend, weight: Tensor): CausalConv1dWeight {
    const op = 'CausalConv1dWeight.prepare';
    checkDType(op, 'weight', weight, ['f32']);
    checkRank(op, 'weight', weight, 2, 3);
    const C = weight.shape[0];
    const K = weight.shape[weight.rank - 1];
    if ((weight.rank === 3 && weight.shape[1] !== 1) || K < 1) {
      throw new RangeError(`${op}: weight must have shape [C, 1, K] (or [C, K]) with K >= 1, got [${weight.shape.join(', ')}]`);
    }
    const w = weight.toFloat32();
    const wT = be.empty([K, C]); // [K, C]
    const d = wT.data as Float32Array;
    for (let c = 0; c < C; c++) for (let j = 0; j < K; j++) d[j * C + c] = w[c * K + j];
    return new CausalConv1dWeight(wT, C, K);
  }

  dispose(): void { this.wT.dispose(); }
}

/** A prepared weight as is (checked against C), or a raw [C, 1, K] tensor prepared now (temporary). */
function resolveWeight(be: WasmBackend, op: string, weight: Tensor | CausalConv1dWeight, C: number, st: Staging): CausalConv1dWeight {
  if (weight instanceof CausalConv1dWeight) {
    if (weight.C !== C) throw new RangeError(`${op}: weight is prepared for ${weight.C} channels, x has ${C}`);
    return weight;
  }
  checkDType(op, 'weight', weight, ['f32']);
  checkRank(op, 'weight', weight, 2, 3);
  const K = weight.shape[weight.rank - 1];
  if (weight.shape[0] !== C || (weight.rank === 3 && weight.shape[1] !== 1) || K < 1) {
    throw new RangeError(`${op}: weight must have shape [${C}, 1, K] (or [${C}, K]) with K >= 1 for C = ${C} channels, got [${weight.shape.join(', ')}]`);
  }
  const p = CausalConv1dWeight.prepare(be, weight);
  st.adopt(p.wT);
  return p;
}

function checkBias(op: string, bias: Tensor | undefined, C: number): void {
  if (bias === undefined) return;
  checkDType(op, 'bias', bias, ['f32']);
  checkShape(op, 'bias', bias, [C]);
}

/** Sequence form: x [B, S, C] -> { y [B, S, C], state [B, K, C] }. */
export function causalConv1d(be: WasmBackend, x: Tensor, weight: Tensor | CausalConv1dWeight, opts: CausalConv1dOptions = {}): CausalConv1dResult {
  const op = 'causalConv1d';
  checkDType(op, 'x', x, ['f32']);
  checkRank(op, 'x', x, 3, 3);
  const [B, S, C] = x.shape;
  const st = new Staging(be);
  try {
    const w = resolveWeight(be, op, weight, C, st);
    const K = w.K;
    checkBias(op, opts.bias, C);
    if (opts.state !== undefined) { checkDType(op, 'state', opts.state, ['f32']); checkShape(op, 'state', opts.state, [B, K, C]); }
    const y = be.empty([B, S, C]); // [B, S, C]
    const state = be.empty([B, K, C]); // [B, K, C]
    // New state: inputs at t = S-K .. S-1; those before 0 come from the old state (or are 0).
    const xs = x.data as Float32Array;
    const old = opts.state?.toFloat32();
    const sd = state.data as Float32Array;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < K; k++) {
        const t = S - K + k;
        const dst = (b * K + k) * C;
        if (t >= 0) sd.set(xs.subarray((b * S + t) * C, (b * S + t + 1) * C), dst);
        else if (old) sd.set(old.subarray((b * K + K + t) * C, (b * K + K + t + 1) * C), dst);
        else sd.fill(0, dst, dst + C);
      }
    }
    if (y.size === 0) return { y, state };
    const pb = opts.bias ? st.ptr(opts.bias) : 0;
    const ps = opts.state ? st.ptr(opts.state) : 0;
    be.run('causalConv1dF32', [be.ptr(y), st.ptr(x), be.ptr(w.wT), pb, ps, B, S, C, K], threadsFor(be, x.size, 2 * K, B * S));
    return { y, state };
  } finally { st.done(); }
}

/**
 * One decoding step: x [B, C], state [B, K, C] (heap tensor, updated IN PLACE: it
 * shifts by one and x becomes its newest entry) -> { y [B, C], state (the same tensor) }.
 * A zero state starts a sequence: steps from zeros equal the sequence form.
 * Pass a CausalConv1dWeight (prepared once at load) to keep the weight transpose out of every step.
 */
export function causalConv1dStep(be: WasmBackend, x: Tensor, state: Tensor, weight: Tensor | CausalConv1dWeight, opts: { bias?: Tensor } = {}): CausalConv1dResult {
  const op = 'causalConv1dStep';
  checkDType(op, 'x', x, ['f32']);
  checkRank(op, 'x', x, 2, 2);
  const [B, C] = x.shape;
  const st = new Staging(be);
  try {
    const w = resolveWeight(be, op, weight, C, st);
    const K = w.K;
    checkBias(op, opts.bias, C);
    checkDType(op, 'state', state, ['f32']);
    checkShape(op, 'state', state, [B, K, C]);
    if (!be.heap.owns(state.data)) throw new TypeError(`${op}: state must live on the backend heap (it is updated in place; use backend.upload once)`);
    const y = be.empty([B, C]); // [B, C]
    if (y.size === 0) return { y, state };
    const pb = opts.bias ? st.ptr(opts.bias) : 0;
    be.run('causalConv1dStepF32', [be.ptr(y), st.ptr(x), be.ptr(w.wT), pb, be.ptr(state), B, C, K], threadsFor(be, B * C, 2 * K, B));
    return { y, state };
  } finally { st.done(); }
}
