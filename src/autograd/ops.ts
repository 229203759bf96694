// Differentiable tensor ops for the tape (tape.ts). Forward: the wasm ops of src/ops on an
// f32 tape, the float64 references of src/backend/ref on an f64 tape. Backward: matmul
// products reuse the forward GEMM (with transposes); activations, softmax, cross-entropy,
// norms, conv and embedding run the wasm backward kernels on an f32 tape (wasmBackward.ts)
// and the float64 loops of src/backend/ref/opsBackward.ts on an f64 tape; the remaining
// small ops (broadcast binaries, reductions, shape ops) are TypeScript loops on both.
import { Tensor } from '../tensor/tensor.js';
import { numel, shapeStr } from '../tensor/dtype.js';
import { Tape, Var, Arr } from './tape.js';
import * as ew from '../ops/elementwise.js';
import { matmul as wasmMatmul } from '../ops/matmul.js';
import { softmax as wasmSoftmax, logSoftmax as wasmLogSoftmax } from '../ops/softmax.js';
import { rmsNorm as wasmRmsNorm, layerNorm as wasmLayerNorm, groupNorm as wasmGroupNorm } from '../ops/norm.js';
import { causalConv1d as wasmConv } from '../ops/conv.js';
import { embedding as wasmEmbedding } from '../ops/embedding.js';
import { ACTIVATION_REFS, binaryRef, mapRef } from '../backend/ref/elementwise.js';
import { refGemm } from '../backend/ref/matmul.js';
import { softmaxRef } from '../backend/ref/softmax.js';
import { normRef } from '../backend/ref/norm.js';
import { causalConv1dRef } from '../backend/ref/conv.js';
import { embeddingRef } from '../backend/ref/embedding.js';
import {
  activationBackwardRef, causalConv1dBackwardRef, crossEntropyRef, embeddingBackwardRef, normBackwardRef, softmaxBackwardRef,
} from '../backend/ref/opsBackward.js';
import {
  activationBackwardWasm, broadcastSumWasm, causalConv1dBackwardWasm, crossEntropyWasm, embeddingBackwardWasm, normBackwardWasm, softmaxBackwardWasm,
} from './wasmBackward.js';

function f64(t: Tape): boolean { return t.dtype === 'f64'; }

// ---- elementwise ----

export type BinaryName = 'add' | 'sub' | 'mul';

function binary(t: Tape, op: BinaryName, a: Var, b: Var | number): Var {
  const bv = typeof b === 'number' ? t.tensor([], [b]) : b.value;
  const kind = typeof b === 'number' ? 'scalar' : ew.broadcastKind(op, a.value, bv);
  const m = kind === 'same' ? a.size : bv.size;
  const out = f64(t) ? t.tensor(a.shape, binaryRef(op, a.data, bv.data as Arr)) : ew[op](t.wasm, a.value, typeof b === 'number' ? b : bv);
  const ins = typeof b === 'number' ? [a] : [a, b];
  return t.record(out, ins, (dy) => {
    const ad = a.data, bd = bv.data as Arr;
    if (a.requiresGrad) {
      if (op === 'mul') { const g = t.zeros(a.size); mulRows(g, dy, bd, m); t.accumulate(a, g); }
      else t.accumulate(a, dy);
    }
    if (typeof b !== 'number' && b.requiresGrad && !f64(t) && op !== 'mul' && m < dy.length && dy.length >= 1 << 14) {
      // a broadcast bias: column sums of dy on the wasm kernel
      const g = broadcastSumWasm(t.wasm, dy, dy.length / m, m);
      if (op === 'sub') for (let j = 0; j < m; j++) g[j] = -g[j];
      t.accumulateOwned(b, g);
    } else if (typeof b !== 'number' && b.requiresGrad) {
      const g = t.zeros(m);
      if (op === 'mul') sumRowsOfProduct(g, dy, ad);
      else { sumRows(g, dy); if (op === 'sub') for (let j = 0; j < m; j++) g[j] = -g[j]; }
      t.accumulate(b, g);
    }
  }, op);
}

// Row loops of the broadcast binaries' backward: x is [n/m, m] against a [m] operand (m = n
// when the shapes are equal). Nested loops instead of an index modulo per element.
/** g[r, j] = dy[r, j] * b[j] */
function mulRows(g: Arr, dy: Arr, b: Arr, m: number): void {
  for (let r = 0; r < g.length; r += m) for (let j = 0; j < m; j++) g[r + j] = dy[r + j] * b[j];
}
/** g[j] += sum over rows of dy[r, j] */
function sumRows(g: Arr, dy: Arr): void {
  const m = g.length;
  for (let r = 0; r < dy.length; r += m) for (let j = 0; j < m; j++) g[j] += dy[r + j];
}
/** g[j] += sum over rows of dy[r, j] * a[r, j] */
function sumRowsOfProduct(g: Arr, dy: Arr, a: Arr): void {
  const m = g.length;
  for (let r = 0; r < dy.length; r += m) for (let j = 0; j < m; j++) g[j] += dy[r + j] * a[r + j];
}

/** a + b; b: a's shape, a's trailing dims, a one-element tensor, or a number. */
export const add = (t: Tape, a: Var, b: Var | number): Var => binary(t, 'add', a, b);
/** a - b (broadcasting as add). */
export const sub = (t: Tape, a: Var, b: Var | number): Var => binary(t, 'sub', a, b);
/** a * b (broadcasting as add). */
export const mul = (t: Tape, a: Var, b: Var | number): Var => binary(t, 'mul', a, b);
/** x * s. */
export const scale = (t: Tape, x: Var, s: number): Var => binary(t, 'mul', x, s);

export type ActivationName = 'exp' | 'log' | 'sigmoid' | 'logsigmoid' | 'tanh' | 'silu' | 'gelu' | 'softplus' | 'relu';

/** y = f(x) elementwise (gelu is the exact erf form). */
export function activation(t: Tape, fn: ActivationName, x: Var): Var {
  if (!Object.prototype.hasOwnProperty.call(ew.ACTIVATIONS, fn)) throw new RangeError(`activation: unknown function ${String(fn)}`);
  const out = f64(t) ? t.tensor(x.shape, mapRef(x.data, ACTIVATION_REFS[fn])) : ew.activation(t.wasm, fn, x.value);
  return t.record(out, [x], (dy) => {
    if (!f64(t)) { t.accumulateOwned(x, activationBackwardWasm(t.wasm, fn, x.value, out, dy)); return; }
    const g = t.zeros(x.size);
    activationBackwardRef(fn, x.data, out.data as Arr, dy, g);
    t.accumulate(x, g);
  }, fn);
}
export const exp = (t: Tape, x: Var): Var => activation(t, 'exp', x);
export const log = (t: Tape, x: Var): Var => activation(t, 'log', x);
export const sigmoid = (t: Tape, x: Var): Var => activation(t, 'sigmoid', x);
export const logsigmoid = (t: Tape, x: Var): Var => activation(t, 'logsigmoid', x);
export const tanh = (t: Tape, x: Var): Var => activation(t, 'tanh', x);
export const silu = (t: Tape, x: Var): Var => activation(t, 'silu', x);
export const gelu = (t: Tape, x: Var): Var => activation(t, 'gelu', x);
export const softplus = (t: Tape, x: Var): Var => activation(t, 'softplus', x);
export const relu = (t: Tape, x: Var): Var => activation(t, 'relu', x);
/** cap * tanh(x / cap) (xLSTM-7B gate and logit soft-cap). */
export const softcap = (t: Tape, x: Var, cap: number): Var => scale(t, tanh(t, scale(t, x, 1 / cap)), cap);

// ---- matrix products ----

/** op(a) op(b) on the tape's precision: 2-D, batched 3-D, or 3-D a with a shared 2-D b (same rules as src/ops/matmul). */
function mm(t: Tape, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  if (!f64(t)) return wasmMatmul(t.wasm, a, b, { transA, transB });
  const Bt = a.rank === 3 ? a.shape[0] : 1;
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac, N = transB ? br : bc;
  if ((transB ? bc : br) !== K) throw new RangeError(`matmul: inner dims differ: op(a) is [${M}, ${K}] (a ${shapeStr(a.shape)}), op(b) is [${transB ? bc : br}, ${N}] (b ${shapeStr(b.shape)})`);
  if (b.rank === 3 && b.shape[0] !== Bt) throw new RangeError(`matmul: batch of b (${b.shape[0]}) differs from a's (${Bt})`);
  const out = new Float64Array(Bt * M * N);
  const A = a.data as Float64Array, B = b.data as Float64Array;
  for (let i = 0; i < Bt; i++) {
    const bo = b.rank === 3 ? i * K * N : 0;
    out.set(refGemm({ transA, transB, M, N, K, A: A.subarray(i * M * K, (i + 1) * M * K), B: B.subarray(bo, bo + K * N) }), i * M * N);
  }
  return t.tensor(a.rank === 3 ? [Bt, M, N] : [M, N], out);
}

export interface MatmulOpts { transA?: boolean; transB?: boolean }

/** op(a) op(b): a [M,K] or [Bt,M,K] (transA: stored [..,K,M]); b [K,N], [Bt,K,N] or shared [K,N] (transB: [..,N,K]). */
export function matmul(t: Tape, a: Var, b: Var, o: MatmulOpts = {}): Var {
  const transA = !!o.transA, transB = !!o.transB;
  if (a.value.rank === 3 && b.value.rank === 2) {
    if (transA) throw new RangeError(`matmul: a batched a (${shapeStr(a.shape)}) with a shared 2-D b needs transA = false`);
    const [Bt, M, K] = a.shape;
    const y = matmul(t, reshape(t, a, [Bt * M, K]), b, { transB });
    return reshape(t, y, [Bt, M, y.shape[1]]);
  }
  if (a.value.rank !== b.value.rank || a.value.rank < 2 || a.value.rank > 3) throw new RangeError(`matmul: a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} must both be 2-D or 3-D (or a 3-D with b 2-D)`);
  const out = mm(t, a.value, b.value, transA, transB);
  return t.record(out, [a, b], (dy) => {
    const dC = t.tensor(out.shape, dy);
    // the products are heap tensors on an f32 tape: handed over (kept as an intermediate's gradient, else copied and freed)
    if (a.requiresGrad) t.accumulateOwned(a, !transA ? mm(t, dC, b.value, false, !transB) : mm(t, b.value, dC, transB, true));
    if (b.requiresGrad) t.accumulateOwned(b, !transB ? mm(t, a.value, dC, !transA, false) : mm(t, dC, a.value, true, transA));
  }, 'matmul');
}

/** torch Linear: x [..., K], w [N, K], bias [N] -> [..., N]. */
export function linear(t: Tape, x: Var, w: Var, bias?: Var): Var {
  const K = x.shape[x.shape.length - 1];
  if (w.value.rank !== 2 || w.shape[1] !== K) throw new RangeError(`linear: w must have shape [N, ${K}] for x ${shapeStr(x.shape)}, got ${shapeStr(w.shape)}`);
  const N = w.shape[0];
  if (bias && (bias.value.rank !== 1 || bias.shape[0] !== N)) throw new RangeError(`linear: bias must have shape [${N}], got ${shapeStr(bias.shape)}`);
  const R = x.size / K;
  let y = matmul(t, reshape(t, x, [R, K]), w, { transB: true });
  if (bias) y = add(t, y, bias);
  return reshape(t, y, [...x.shape.slice(0, -1), N]);
}

// ---- reductions ----

/** Sum of all elements -> scalar []. */
export function sumAll(t: Tape, x: Var): Var {
  let s = 0;
  const d = x.data;
  for (let i = 0; i < d.length; i++) s += d[i];
  return t.record(t.tensor([], [s]), [x], (dy) => { const g = t.zeros(x.size); g.fill(dy[0]); t.accumulate(x, g); }, 'sumAll');
}

/** Mean of all elements -> scalar []. */
export function meanAll(t: Tape, x: Var): Var {
  if (x.size === 0) throw new RangeError('meanAll: x is empty');
  return scale(t, sumAll(t, x), 1 / x.size);
}

/** Sum over the last dim: [..., N] -> [...]. */
export function sumLast(t: Tape, x: Var): Var {
  const n = x.shape[x.shape.length - 1];
  const rows = x.size / n, d = x.data;
  const y = t.zeros(rows);
  for (let r = 0; r < rows; r++) { let s = 0; for (let i = 0; i < n; i++) s += d[r * n + i]; y[r] = s; }
  return t.record(t.tensor(x.shape.slice(0, -1), y), [x], (dy) => {
    const g = t.zeros(x.size);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) g[r * n + i] = dy[r];
    t.accumulate(x, g);
  }, 'sumLast');
}

// ---- softmax and losses ----

function softmaxOp(t: Tape, x: Var, isLog: boolean): Var {
  const n = x.shape[x.shape.length - 1];
  const out = f64(t) ? t.tensor(x.shape, softmaxRef(x.data, n, isLog)) : (isLog ? wasmLogSoftmax : wasmSoftmax)(t.wasm, x.value);
  return t.record(out, [x], (dy) => {
    if (!f64(t)) { t.accumulateOwned(x, softmaxBackwardWasm(t.wasm, out, dy, n, isLog)); return; }
    const g = t.zeros(x.size);
    softmaxBackwardRef(out.data as Arr, dy, n, isLog, g);
    t.accumulate(x, g);
  }, isLog ? 'logSoftmax' : 'softmax');
}
/** softmax over the last dim. */
export const softmax = (t: Tape, x: Var): Var => softmaxOp(t, x, false);
/** log-softmax over the last dim. */
export const logSoftmax = (t: Tape, x: Var): Var => softmaxOp(t, x, true);

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (torch default -100). */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy of logits [..., V] against integer targets (one per row, any int array),
 * over the rows whose target is not ignoreIndex -> scalar []. Softmax is fused (f64 inside).
 */
export function crossEntropy(t: Tape, logits: Var, targets: ArrayLike<number>, o: CrossEntropyOptions = {}): Var {
  const V = logits.shape[logits.shape.length - 1];
  const N = logits.size / V;
  const ign = o.ignoreIndex ?? -100;
  if (targets.length !== N) throw new RangeError(`crossEntropy: targets has ${targets.length} entries, logits ${shapeStr(logits.shape)} has ${N} rows`);
  for (let r = 0; r < N; r++) {
    const v = targets[r];
    if (v !== ign && !(Number.isInteger(v) && v >= 0 && v < V)) throw new RangeError(`crossEntropy: targets[${r}] = ${v} is out of range for ${V} classes (ignoreIndex ${ign})`);
  }
  const fw = f64(t) ? null : crossEntropyWasm(t.wasm, logits.value, targets, V, ign);
  const loss = fw ? fw.loss : crossEntropyRef(logits.data, targets, V, ign).loss;
  return t.record(t.tensor([], [loss]), [logits], (dy) => {
    if (fw) { t.accumulateOwned(logits, crossEntropyWasm(t.wasm, logits.value, targets, V, ign, dy[0], fw.rowLse).grad!); return; }
    const g = t.zeros(logits.size);
    crossEntropyRef(logits.data, targets, V, ign, g, dy[0]);
    t.accumulate(logits, g);
  }, 'crossEntropy');
}

// ---- norms ----

export interface NormOpts {
  eps: number;
  /** [D] */ weight?: Var;
  /** [D] (LayerNorm / group norm) */ bias?: Var;
  /** Scale by (1 + w) (official xLSTM LayerNorm / MultiHeadLayerNorm). */ weightOffset?: boolean;
}

function normOp(t: Tape, name: string, x: Var, groups: number, rms: boolean, o: NormOpts): Var {
  const D = x.shape[x.shape.length - 1];
  if (rms && o.bias) throw new TypeError(`${name}: bias is not supported`);
  let out: Tensor;
  if (f64(t)) {
    out = t.tensor(x.shape, normRef(x.data, D, groups, { eps: o.eps, weight: o.weight?.data, bias: o.bias?.data, weightOffset: o.weightOffset, rms }));
  } else {
    const oo = { eps: o.eps, weight: o.weight?.value, bias: o.bias?.value, weightOffset: o.weightOffset };
    out = rms ? wasmRmsNorm(t.wasm, x.value, oo) : groups === 1 ? wasmLayerNorm(t.wasm, x.value, oo) : wasmGroupNorm(t.wasm, x.value, groups, oo);
  }
  const ins = [x, ...(o.weight ? [o.weight] : []), ...(o.bias ? [o.bias] : [])];
  return t.record(out, ins, (dy) => {
    if (!f64(t)) {
      const g = normBackwardWasm(t.wasm, x.value, dy, D, groups, { eps: o.eps, weight: o.weight?.value, weightOffset: o.weightOffset, rms },
        { dx: x.requiresGrad, dw: !!o.weight?.requiresGrad, db: !!o.bias?.requiresGrad });
      if (g.dx) t.accumulateOwned(x, g.dx);
      if (g.dw) t.accumulateOwned(o.weight!, g.dw);
      if (g.db) t.accumulateOwned(o.bias!, g.db);
      return;
    }
    const dx = x.requiresGrad ? t.zeros(x.size) : null;
    const dw = o.weight?.requiresGrad ? t.zeros(D) : null;
    const db = o.bias?.requiresGrad ? t.zeros(D) : null;
    normBackwardRef(x.data, dy, D, groups, { eps: o.eps, weight: o.weight?.data, weightOffset: o.weightOffset, rms }, dx, dw, db);
    if (dx) t.accumulate(x, dx);
    if (dw) t.accumulate(o.weight!, dw);
    if (db) t.accumulate(o.bias!, db);
  }, name);
}
/** RMSNorm over the last dim: x * rsqrt(mean(x^2) + eps) * w. */
export const rmsNorm = (t: Tape, x: Var, o: Omit<NormOpts, 'bias'>): Var => normOp(t, 'rmsNorm', x, 1, true, o);
/** LayerNorm over the last dim (biased variance). */
export const layerNorm = (t: Tape, x: Var, o: NormOpts): Var => normOp(t, 'layerNorm', x, 1, false, o);
/** Group norm / MultiHeadLayerNorm: the last dim split into numHeads groups. */
export function groupNorm(t: Tape, x: Var, numHeads: number, o: NormOpts): Var {
  const D = x.shape[x.shape.length - 1];
  if (!Number.isInteger(numHeads) || numHeads < 1 || D % numHeads !== 0) throw new RangeError(`groupNorm: numHeads ${numHeads} must divide the last dim ${D}`);
  return normOp(t, 'groupNorm', x, numHeads, false, o);
}

// ---- conv, embedding ----

/** Causal depthwise conv1d: x [B,S,C], w [C,K] (or [C,1,K]), bias [C] -> [B,S,C] (no carried state). */
export function causalConv1d(t: Tape, x: Var, w: Var, bias?: Var): Var {
  if (x.value.rank !== 3) throw new RangeError(`causalConv1d: x must have shape [B, S, C], got ${shapeStr(x.shape)}`);
  const [B, S, C] = x.shape;
  const K = w.shape[w.shape.length - 1];
  if (w.shape[0] !== C || w.size !== C * K) throw new RangeError(`causalConv1d: w must have shape [${C}, K] or [${C}, 1, K], got ${shapeStr(w.shape)}`);
  if (bias && bias.size !== C) throw new RangeError(`causalConv1d: bias must have shape [${C}], got ${shapeStr(bias.shape)}`);
  const out = f64(t)
    ? t.tensor(x.shape, causalConv1dRef(x.data, w.data, bias?.data, undefined, B, S, C, K).y)
    : wasmConv(t.wasm, x.value, w.value, bias ? { bias: bias.value } : {}).y;
  return t.record(out, bias ? [x, w, bias] : [x, w], (dy) => {
    if (!f64(t)) {
      const g = causalConv1dBackwardWasm(t.wasm, x.value, w.value, dy, B, S, C, K, { dx: x.requiresGrad, dw: w.requiresGrad, db: !!bias?.requiresGrad });
      if (g.dx) t.accumulateOwned(x, g.dx);
      if (g.dw) t.accumulateOwned(w, g.dw);
      if (g.db) t.accumulateOwned(bias!, g.db);
      return;
    }
    const dx = x.requiresGrad ? t.zeros(x.size) : null;
    const dw = w.requiresGrad ? t.zeros(w.size) : null;
    const db = bias?.requiresGrad ? t.zeros(C) : null;
    causalConv1dBackwardRef(x.data, w.data, dy, B, S, C, K, dx, dw, db);
    if (dx) t.accumulate(x, dx);
    if (dw) t.accumulate(w, dw);
    if (db) t.accumulate(bias!, db);
  }, 'causalConv1d');
}

/** Rows of table [V, E] at ids (i32/i64 tensor [...]) -> [..., E]; the gradient scatter-adds into the table. */
export function embedding(t: Tape, ids: Tensor, table: Var): Var {
  if (table.value.rank !== 2) throw new RangeError(`embedding: table must have shape [V, E], got ${shapeStr(table.shape)}`);
  const [V, E] = table.shape;
  const out = f64(t) ? t.tensor([...ids.shape, E], embeddingRef(ids.data as ArrayLike<number>, table.data, V, E)) : wasmEmbedding(t.wasm, ids, table.value);
  return t.record(out, [table], (dy) => {
    if (!f64(t)) { t.accumulateOwned(table, embeddingBackwardWasm(t.wasm, ids.data as ArrayLike<number>, dy, V, E)); return; }
    const g = t.zeros(table.size);
    embeddingBackwardRef(ids.data as ArrayLike<number>, dy, E, g);
    t.accumulate(table, g);
  }, 'embedding');
}

// ---- shape ops ----

/** Same data, new shape. */
export function reshape(t: Tape, x: Var, shape: readonly number[]): Var {
  if (numel(shape) !== x.size) throw new RangeError(`reshape: cannot view ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)}`);
  return t.record(x.value.reshape(shape), [x], (dy) => t.accumulate(x, dy), 'reshape');
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let a = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = a; a *= shape[i]; }
  return s;
}

/** Copies src (shape `shape`) permuted by `perm` into dst: dst[idx] = src[idx permuted]. `inverse` scatters instead. */
function permuteCopy(src: ArrayLike<number>, dst: Arr, shape: readonly number[], perm: readonly number[], inverse: boolean): void {
  const outShape = perm.map((p) => shape[p]);
  const inStr = strides(shape);
  const os = perm.map((p) => inStr[p]); // input stride for each output axis
  const rank = outShape.length, n = dst.length;
  // the last axis kept in place (e.g. [B,T,NH,D] <-> [B,NH,T,D]): move whole rows of it
  const run = rank > 0 && perm[rank - 1] === rank - 1 ? outShape[rank - 1] : 1;
  const outer = rank - (run > 1 ? 1 : 0);
  const idx = new Array<number>(outer).fill(0);
  let src0 = 0;
  for (let o = 0; o < n; o += run) {
    if (inverse) for (let j = 0; j < run; j++) dst[src0 + j] += src[o + j];
    else for (let j = 0; j < run; j++) dst[o + j] = src[src0 + j];
    for (let ax = outer - 1; ax >= 0; ax--) {
      idx[ax]++; src0 += os[ax];
      if (idx[ax] < outShape[ax]) break;
      src0 -= os[ax] * outShape[ax]; idx[ax] = 0;
    }
  }
}

/** Axes permuted: out.shape[i] = x.shape[perm[i]] (a copy). */
export function permute(t: Tape, x: Var, perm: readonly number[]): Var {
  const r = x.shape.length;
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw new RangeError(`permute: perm [${perm.join(', ')}] is not a permutation of ${r} axes (x ${shapeStr(x.shape)})`);
  const y = t.zeros(x.size);
  permuteCopy(x.data, y, x.shape, perm, false);
  return t.record(t.tensor(perm.map((p) => x.shape[p]), y), [x], (dy) => {
    const g = t.zeros(x.size);
    permuteCopy(dy, g, x.shape, perm, true);
    t.accumulate(x, g);
  }, 'permute');
}

/** Swaps two axes (a copy). */
export function transpose(t: Tape, x: Var, a: number, b: number): Var {
  const perm = x.shape.map((_, i) => i);
  perm[a] = b; perm[b] = a;
  return permute(t, x, perm);
}

/** dst[dstOff, dstOff + len) = src[srcOff, srcOff + len): one typed-array copy per contiguous run (a per-element loop is ~10x slower). */
function copyRun(dst: Arr, dstOff: number, src: Arr, srcOff: number, len: number): void {
  dst.set(src.subarray(srcOff, srcOff + len), dstOff);
}

/** x[..., start:end, ...] along `axis` (a copy). */
export function slice(t: Tape, x: Var, axis: number, start: number, end: number): Var {
  const sh = x.shape;
  if (!(axis >= 0 && axis < sh.length) || !(0 <= start && start <= end && end <= sh[axis])) throw new RangeError(`slice: axis ${axis} [${start}, ${end}) is out of range for x ${shapeStr(sh)}`);
  const outer = numel(sh.slice(0, axis)), inner = numel(sh.slice(axis + 1)), n = sh[axis], w = end - start;
  const y = t.zeros(outer * w * inner), d = x.data;
  for (let o = 0; o < outer; o++) copyRun(y, o * w * inner, d, (o * n + start) * inner, w * inner);
  const shape = [...sh]; shape[axis] = w;
  return t.record(t.tensor(shape, y), [x], (dy) => {
    const g = t.zeros(x.size);
    for (let o = 0; o < outer; o++) copyRun(g, (o * n + start) * inner, dy, o * w * inner, w * inner);
    t.accumulate(x, g);
  }, 'slice');
}

/** Concatenation along `axis` (all other dims equal). */
export function concat(t: Tape, xs: readonly Var[], axis: number): Var {
  if (xs.length === 0) throw new RangeError('concat: no inputs');
  const sh0 = xs[0].shape;
  for (const [k, x] of xs.entries()) {
    if (x.shape.length !== sh0.length || x.shape.some((d, i) => i !== axis && d !== sh0[i])) throw new RangeError(`concat: input ${k} has shape ${shapeStr(x.shape)}, incompatible with ${shapeStr(sh0)} along axis ${axis}`);
  }
  const outer = numel(sh0.slice(0, axis)), inner = numel(sh0.slice(axis + 1));
  const total = xs.reduce((s, x) => s + x.shape[axis], 0);
  const y = t.zeros(outer * total * inner);
  let off = 0;
  const offs: number[] = [];
  for (const x of xs) {
    const w = x.shape[axis], d = x.data;
    offs.push(off);
    for (let o = 0; o < outer; o++) copyRun(y, (o * total + off) * inner, d, o * w * inner, w * inner);
    off += w;
  }
  const shape = [...sh0]; shape[axis] = total;
  return t.record(t.tensor(shape, y), xs, (dy) => {
    xs.forEach((x, k) => {
      if (!x.requiresGrad) return;
      const w = x.shape[axis], g = t.zeros(x.size);
      for (let o = 0; o < outer; o++) copyRun(g, o * w * inner, dy, (o * total + offs[k]) * inner, w * inner);
      t.accumulate(x, g);
    });
  }, 'concat');
}
