// Head-wise (block-diagonal) linear maps: G groups (the sLSTM's gates) of NH per-head
// [DO, DI] matrices, each applied to its head's slice of x. A dense [G*NH*DO, NH*DI]
// product would spend NH times the multiply-adds, most on zeros. Kernel:
// assembly/headwise.ts (one dispatch for all G*NH products); float64 reference:
// src/backend/ref/headwise.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, outputF32, shapeStr } from './check.js';
import { GEMM_MT_MIN, claimedGemmScratch } from './matmul.js';

/**
 * out[.., (g*NH + h)*DO + o] = sum_i x[.., h*DI + i] w[g, h, o, i] for w [G, NH, DO, DI] and
 * x [.., NH*DI]; out [.., G*NH*DO] (the sLSTM gate layout gate*H + head*DH + d when DO = DI).
 * Each output element is computed as the single GEMM of its (g, h) block would compute it.
 */
export function headwiseMatmul(be: WasmBackend, x: Tensor, w: Tensor, out?: Tensor): Tensor {
  const op = 'headwiseMatmul';
  checkDType(op, 'x', x, ['f32']);
  checkDType(op, 'w', w, ['f32']);
  if (w.rank !== 4) throw new RangeError(`${op}: w must be 4-D [groups, heads, out, in], got shape ${shapeStr(w.shape)}`);
  const [G, NH, DO, DI] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== NH * DI) {
    throw new RangeError(`${op}: x must have shape [.., ${NH * DI}] (heads ${NH} x in ${DI} of w ${shapeStr(w.shape)}), got ${shapeStr(x.shape)}`);
  }
  const y = outputF32(be, op, [...x.shape.slice(0, -1), G * NH * DO], out);
  const rows = x.size / (NH * DI || 1);
  if (y.size === 0) return y;
  if (DI === 0) { (y.data as Float32Array).fill(0); return y; }
  const items = G * NH;
  const nt = rows * DO * DI * items >= GEMM_MT_MIN ? Math.min(be.threads, items) : 1;
  const st = new Staging(be);
  try {
    const { counter, scratch } = claimedGemmScratch(be, st, nt);
    be.run('headwiseGemmF32', [rows, G, NH, DO, DI, st.ptr(x), NH * DI, st.ptr(w), be.ptr(y), G * NH * DO, scratch, counter], nt);
    return y;
  } finally { st.done(); }
}
