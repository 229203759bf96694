// LinearHeadwiseExpand (components/linear_headwise.py): a block-diagonal projection. The
// last dim of x is split into NH heads of D; head h maps to O outputs with its own [O, D]
// matrix: y[.., h*O + o] = sum_d x[.., h*D + d] * w[h, o, d] (+ bias[h*O + o]).
// The blocks are small (4x4 for mLSTM q/k/v, DH x DH for the sLSTM gates), so a direct
// loop beats a GEMM on a dense block-diagonal matrix that would be mostly zeros.
import type { HeadwiseWeight } from './weights.js';

/**
 * Applies `hw` to every row of x (rows = x.size / (NH*D)) and writes row r's NH*O outputs
 * to out[r * outStride + outOffset ...], so several projections can fill one buffer.
 */
export function headwiseLinear(x: Float32Array, hw: HeadwiseWeight, out: Float32Array, outStride: number, outOffset: number): void {
  const [NH, O, D] = hw.w.shape;
  const w = hw.w.data as Float32Array;
  const b = hw.bias ? (hw.bias.data as Float32Array) : undefined;
  const In = NH * D;
  const R = x.length / In;
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

