// Head split and merge for multi-head cells: a projection's output [B, S, W] holds NH
// heads of D columns side by side (reshape(B, S, NH, D).transpose(1, 2) in torch); the
// mLSTM kernels read and write the head-major layout [B, NH, S, D]. Kernel:
// assembly/heads.ts (plain copies on the pool's threads, so the same bits as any copy).
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, outputF32, shapeStr, threadsFor } from './check.js';

/**
 * threadsFor's cost per copied value: a copy moves ~4 values per ns, so a second thread pays
 * for its dispatch only from ~256K values (a 256-token prompt's q, k, v stay on one thread).
 */
const COPY_COST = 0.25;

function checkCount(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${op}: ${name} must be an integer >= 0, got ${String(v)}`);
}

/**
 * out [B, heads, S, headDim] = columns offset .. offset + heads * headDim of x [B, S, W],
 * head h from columns offset + h * headDim.
 */
export function splitHeads(be: WasmBackend, x: Tensor, offset: number, heads: number, headDim: number, out?: Tensor): Tensor {
  const op = 'splitHeads';
  checkDType(op, 'x', x, ['f32']);
  if (x.rank !== 3) throw new RangeError(`${op}: x must be 3-D [B, S, W], got shape ${shapeStr(x.shape)}`);
  checkCount(op, 'offset', offset); checkCount(op, 'heads', heads); checkCount(op, 'headDim', headDim);
  const [B, S, W] = x.shape;
  if (offset + heads * headDim > W) {
    throw new RangeError(`${op}: columns ${offset} .. ${offset + heads * headDim} (offset + heads ${heads} x headDim ${headDim}) exceed x's last dim ${W} (shape ${shapeStr(x.shape)})`);
  }
  const y = outputF32(be, op, [B, heads, S, headDim], out);
  if (y.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run('headsF32', [be.ptr(y), st.ptr(x), B, S, heads, headDim, W, offset, 1], threadsFor(be, y.size, COPY_COST, B * S));
    return y;
  } finally { st.done(); }
}

/** out [B, S, NH * D] with head h in columns h * D .. (h + 1) * D: the inverse of splitHeads for h [B, NH, S, D]. */
export function mergeHeads(be: WasmBackend, h: Tensor, out?: Tensor): Tensor {
  const op = 'mergeHeads';
  checkDType(op, 'h', h, ['f32']);
  if (h.rank !== 4) throw new RangeError(`${op}: h must be 4-D [B, NH, S, D], got shape ${shapeStr(h.shape)}`);
  const [B, NH, S, D] = h.shape;
  const y = outputF32(be, op, [B, S, NH * D], out);
  if (y.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run('headsF32', [be.ptr(y), st.ptr(h), B, S, NH, D, NH * D, 0, 0], threadsFor(be, y.size, COPY_COST, B * S));
    return y;
  } finally { st.done(); }
}
