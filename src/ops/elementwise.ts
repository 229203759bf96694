// Elementwise ops on f32 tensors: add/sub/mul with broadcasting of a trailing
// vector or a scalar, scale, and the activations the xLSTM family uses.
// Float64 reference: src/backend/ref/elementwise.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkFinite, checkTensor, outputF32, shapeStr, threadsFor } from './check.js';

export type BinaryOp = 'add' | 'sub' | 'mul';

/**
 * How `b` broadcasts into `a` (the output has a's shape):
 * 'same' (equal shapes), 'rows' (b's shape, leading 1s dropped, equals a's trailing dims),
 * or 'scalar' (b has one element).
 */
export function broadcastKind(op: string, a: Tensor, b: Tensor): 'same' | 'rows' | 'scalar' {
  if (b.size === 1 && a.size !== 1) return 'scalar';
  if (b.rank === a.rank && b.shape.every((d, i) => d === a.shape[i])) return 'same';
  let bs = [...b.shape];
  while (bs.length && bs[0] === 1) bs = bs.slice(1);
  const tail = a.shape.slice(a.rank - bs.length);
  if (b.size === 1 || (bs.length <= a.rank && bs.every((d, i) => d === tail[i]))) return b.size === a.size ? 'same' : 'rows';
  throw new RangeError(`${op}: b of shape ${shapeStr(b.shape)} does not broadcast to a of shape ${shapeStr(a.shape)} (b must equal a's shape, its trailing dims, or be a scalar)`);
}

function binary(be: WasmBackend, op: BinaryOp, a: Tensor, b: Tensor | number, out?: Tensor): Tensor {
  checkDType(op, 'a', a, ['f32']);
  if (typeof b === 'number') checkFinite(op, 'b', b);
  else checkDType(op, 'b', b, ['f32']);
  const kind = typeof b === 'number' ? 'scalar' : broadcastKind(op, a, b);
  const y = outputF32(be, op, a.shape, out);
  const n = a.size;
  if (n === 0) return y;
  const st = new Staging(be);
  try {
    const pa = st.ptr(a);
    if (typeof b === 'number') be.run(`${op}ScalarF32`, [be.ptr(y), pa, b, n], threadsFor(be, n));
    else if (kind === 'scalar') be.run(`${op}ScalarF32`, [be.ptr(y), pa, b.toFloat32()[0], n], threadsFor(be, n));
    else if (kind === 'same') be.run(`${op}F32`, [be.ptr(y), pa, st.ptr(b), n], threadsFor(be, n));
    else be.run(`${op}RowsF32`, [be.ptr(y), pa, st.ptr(b), n / b.size, b.size], threadsFor(be, n, 1, n / b.size));
    return y;
  } finally { st.done(); }
}

/** a + b; b: same shape as a, a's trailing dims, or a scalar. [..] -> a.shape. */
export function add(be: WasmBackend, a: Tensor, b: Tensor | number, out?: Tensor): Tensor { return binary(be, 'add', a, b, out); }
/** a - b (broadcasting as add). */
export function sub(be: WasmBackend, a: Tensor, b: Tensor | number, out?: Tensor): Tensor { return binary(be, 'sub', a, b, out); }
/** a * b (broadcasting as add). */
export function mul(be: WasmBackend, a: Tensor, b: Tensor | number, out?: Tensor): Tensor { return binary(be, 'mul', a, b, out); }
/** x * s for a number s. */
export function scale(be: WasmBackend, x: Tensor, s: number, out?: Tensor): Tensor {
  checkTensor('scale', 'x', x);
  checkFinite('scale', 's', s);
  return binary(be, 'mul', x, s, out);
}

/** Activation names and their relative cost (for the threading decision). */
export const ACTIVATIONS = {
  exp: 8, log: 8, sigmoid: 10, logsigmoid: 16, tanh: 10, silu: 10, gelu: 20, softplus: 16, relu: 1, erf: 20,
} as const;
export type Activation = keyof typeof ACTIVATIONS;

/** y = f(x) elementwise for one of ACTIVATIONS; `out` may be x itself (in place). */
export function activation(be: WasmBackend, fn: Activation, x: Tensor, out?: Tensor): Tensor {
  if (!Object.prototype.hasOwnProperty.call(ACTIVATIONS, fn)) throw new RangeError(`activation: unknown function ${String(fn)} (expected one of ${Object.keys(ACTIVATIONS).join(', ')})`);
  checkDType(fn, 'x', x, ['f32']);
  const y = outputF32(be, fn, x.shape, out);
  if (x.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run(`${fn}F32`, [be.ptr(y), st.ptr(x), x.size], threadsFor(be, x.size, ACTIVATIONS[fn]));
    return y;
  } finally { st.done(); }
}

export const exp = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'exp', x, out);
export const log = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'log', x, out);
export const sigmoid = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'sigmoid', x, out);
/** log(sigmoid(x)), stable: finite for every finite x, -inf at -inf. */
export const logsigmoid = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'logsigmoid', x, out);
export const tanh = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'tanh', x, out);
/** x * sigmoid(x). */
export const silu = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'silu', x, out);
/** Exact gelu: x * 0.5 * (1 + erf(x / sqrt(2))) (torch's approximate='none'). */
export const gelu = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'gelu', x, out);
/** log(1 + exp(x)), stable. */
export const softplus = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'softplus', x, out);
export const relu = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'relu', x, out);
export const erf = (be: WasmBackend, x: Tensor, out?: Tensor): Tensor => activation(be, 'erf', x, out);

/**
 * SwiGLU of a fused up projection: x [.., 2n] -> [.., n], out[.., j] = silu(x[.., j]) * x[.., n + j]
 * (the gate half first, as a [gate; up] weight concatenation produces). Same bits as silu of
 * the first half followed by mul with the second: one pass, no intermediate tensor.
 */
export function swiglu(be: WasmBackend, x: Tensor, out?: Tensor): Tensor {
  checkDType('swiglu', 'x', x, ['f32']);
  const last = x.rank ? x.shape[x.rank - 1] : 0;
  if (x.rank < 1 || last % 2 !== 0) throw new RangeError(`swiglu: x must have an even last dim [.., 2n] (gate | up), got shape ${shapeStr(x.shape)}`);
  const n = last / 2;
  const y = outputF32(be, 'swiglu', [...x.shape.slice(0, -1), n], out);
  if (y.size === 0) return y;
  const rows = y.size / n;
  const st = new Staging(be);
  try {
    be.run('swigluF32', [be.ptr(y), st.ptr(x), rows, n], threadsFor(be, y.size, ACTIVATIONS.silu, rows));
    return y;
  } finally { st.done(); }
}

/** cap * tanh(x / cap), cap > 0 (xLSTM-7B: gates at 15, logits at 30). */
export function softcap(be: WasmBackend, x: Tensor, cap: number, out?: Tensor): Tensor {
  checkDType('softcap', 'x', x, ['f32']);
  checkFinite('softcap', 'cap', cap, { positive: true });
  const y = outputF32(be, 'softcap', x.shape, out);
  if (x.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run('softcapF32', [be.ptr(y), st.ptr(x), x.size, cap], threadsFor(be, x.size, 10));
    return y;
  } finally { st.done(); }
}

