// LinearHeadwiseExpand (components/linear_headwise.py): a block-diagonal projection. The
// last dim of x is split into NH heads of D; head h maps to O outputs with its own [O, D]
// matrix: y[.., h*O + o] = sum_d x[.., h*D + d] * w[h, o, d] (+ bias[h*O + o]).
// Small blocks (4x4 for mLSTM q/k/v) run as a direct loop; large ones (sLSTM gates with
// DH >= 32) over many rows as one batched GEMM per head, never as a dense block-diagonal
// matrix that would be mostly zeros.
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { matmul } from '../../ops/matmul.js';
import type { HeadwiseWeight } from './weights.js';

/** Head size and row count from which the batched GEMM beats the loop. */
const GEMM_MIN_D = 32, GEMM_MIN_ROWS = 8;

/**
 * Applies `hw` to every row of x (rows = x.size / (NH*D)) and writes row r's NH*O outputs
 * to out[r * outStride + outOffset ...], so several projections can fill one buffer.
 */
export function headwiseLinear(x: Float32Array, hw: HeadwiseWeight, out: Float32Array, outStride: number, outOffset: number, be?: WasmBackend): void {
  const [NH, O, D] = hw.w.shape;
  const w = hw.w.data as Float32Array;
  const b = hw.bias ? (hw.bias.data as Float32Array) : undefined;
  const In = NH * D;
  const R = x.length / In;
  if (be && D >= GEMM_MIN_D && R >= GEMM_MIN_ROWS) { headwiseGemm(be, x, hw, out, outStride, outOffset, R); return; }
  for (let r = 0; r < R; r++) {
    const xo = r * In, yo = r * outStride + outOffset;
    for (let h = 0; h < NH; h++) {
      const xh = xo + h * D;
      for (let o = 0; o < O; o++) {
        const wo = (h * O + o) * D;
        let acc = 0;
        for (let d = 0; d < D; d++) acc += x[xh + d] * w[wo + d];
        out[yo + h * O + o] = b ? acc + b[h * O + o] : acc;
      }
    }
  }
}

/** Output width NH*O of a headwise weight. */
export function headwiseOut(hw: HeadwiseWeight): number { return hw.w.shape[0] * hw.w.shape[1]; }


function headwiseGemm(be: WasmBackend, x: Float32Array, hw: HeadwiseWeight, out: Float32Array, outStride: number, outOffset: number, R: number): void {
  const [NH, O, D] = hw.w.shape;
  const xt = be.empty([NH, R, D]); // [NH, R, D]
  let y;
  try {
    const xd = xt.data as Float32Array;
    for (let r = 0; r < R; r++) for (let h = 0; h < NH; h++) xd.set(x.subarray((r * NH + h) * D, (r * NH + h + 1) * D), (h * R + r) * D);
    y = matmul(be, xt, hw.w, { transB: true }); // [NH, R, O]
    const yd = y.data as Float32Array;
    const bias = hw.bias ? (hw.bias.data as Float32Array) : undefined;
    for (let h = 0; h < NH; h++) {
      for (let r = 0; r < R; r++) {
        const src = (h * R + r) * O, dst = r * outStride + outOffset + h * O;
        if (bias) for (let o = 0; o < O; o++) out[dst + o] = yd[src + o] + bias[h * O + o];
        else out.set(yd.subarray(src, src + O), dst);
      }
    }
  } finally { xt.dispose(); y?.dispose(); }
}
