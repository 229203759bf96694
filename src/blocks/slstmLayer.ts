// The sLSTM layer of the xLSTM library (sLSTMLayer) and of TiRex (its slstm_layer), on the
// tape: xc = silu(conv(x)) when there is a causal conv, else x; head-wise gate projections
// (i, f from xc; z, o from x); the sLSTM cell; a per-head group norm (weight applied as 1 + w).
//
// Official wiring: the module named `fgate` makes the cell's input gate and `igate` its forget
// gate, so callers pass { i: fgate, f: igate } (TiRex and xLSTMLMModel both do).
// The cell takes R in the cuda layout [NH, DH, 4DH] and the bias head-major (h, g, d); vanilla
// checkpoints ([NH, 4DH, DH], bias gate-major) are permuted on the tape, so their gradients
// come back in the file layout.
import type { Tape, Var } from '../autograd/tape.js';
import * as ag from '../autograd/ops.js';
import { slstm as agSlstm } from '../autograd/cells.js';
import { headwise } from './headwise.js';

export interface SlstmLayerW {
  /** Causal conv [C, 1, K] and its bias, when conv1d_kernel_size > 0. */
  conv?: Var; convBias?: Var;
  /** Head-wise gate projections [NH, DH, DH] by the cell's gate (see the file comment for the naming swap). */
  gates: { i: Var; f: Var; z: Var; o: Var };
  /** Recurrent kernel: [NH, DH, 4DH] (cuda) or [NH, 4DH, DH] (vanilla). */
  recurrentKernel: Var;
  /** [4H]: head-major (cuda) or gate-major (vanilla). */
  bias: Var;
  /** [H] group norm weight (1 + w); absent: no affine part. */
  groupNorm?: Var;
}

export interface SlstmLayerOptions {
  numHeads: number;
  /** eps of the group norm (1e-5 in both libraries). */
  normEps: number;
  /** Layout of recurrentKernel and bias (default 'cuda'). */
  layout?: 'cuda' | 'vanilla';
  /** f~ = min(f~, forgetClamp) before logsigmoid (TiRex: 15). */
  forgetClamp?: number;
  /** Applied to the cell output before the group norm (the official dropout position). */
  dropout?: (v: Var) => Var;
}

/**
 * Head-wise gate projections of x [B, S, NH*DH] that all read x: one batched GEMM over the
 * heads, [NH, B*S, DH] x [NH, G*DH, DH]^T -> [NH, B*S, G*DH] (gate g of head h at g*DH..).
 * gates: G matrices [NH, DH, DH], in the cell's slot order.
 */
export function headwiseGates(t: Tape, x: Var, gates: readonly Var[], NH: number): Var {
  const [B, S, H] = x.shape, DH = H / NH;
  const xh = ag.permute(t, ag.reshape(t, x, [B * S, NH, DH]), [1, 0, 2]);
  const wg = ag.concat(t, [...gates], 1);
  return ag.matmul(t, xh, wg, { transB: true });
}

/** x [B, S, H] -> [B, S, H]. */
export function slstmLayer(t: Tape, x: Var, w: SlstmLayerW, o: SlstmLayerOptions): Var {
  const NH = o.numHeads, H = x.shape[2], DH = H / NH, B = x.shape[0], S = x.shape[1];
  let gates: Var; // [B, S, 4H], index gate*H + h*DH + d
  if (w.conv) {
    const xc = ag.silu(t, ag.causalConv1d(t, x, w.conv, w.convBias));
    gates = ag.concat(t, [headwise(t, xc, w.gates.i), headwise(t, xc, w.gates.f), headwise(t, x, w.gates.z), headwise(t, x, w.gates.o)], 2);
  } else {
    const g4 = headwiseGates(t, x, [w.gates.i, w.gates.f, w.gates.z, w.gates.o], NH); // [NH, R, 4*DH]
    gates = ag.reshape(t, ag.permute(t, ag.reshape(t, g4, [NH, B * S, 4, DH]), [1, 2, 0, 3]), [B, S, 4 * H]);
  }
  let R = w.recurrentKernel, bias = w.bias;
  if (o.layout === 'vanilla') {
    R = ag.permute(t, R, [0, 2, 1]); // [NH, 4DH, DH] -> [NH, DH, 4DH]
    bias = ag.reshape(t, ag.permute(t, ag.reshape(t, bias, [4, NH, DH]), [1, 0, 2]), [4 * H]); // (g, h, d) -> (h, g, d)
  }
  let y = agSlstm(t, gates, R, bias, NH, o.forgetClamp !== undefined ? { forgetClamp: o.forgetClamp } : {}); // [B, S, H]
  if (o.dropout) y = o.dropout(y);
  return ag.groupNorm(t, y, NH, w.groupNorm ? { eps: o.normEps, weight: w.groupNorm, weightOffset: true } : { eps: o.normEps });
}
