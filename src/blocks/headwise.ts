// LinearHeadwiseExpand (xlstm components/linear_headwise.py) on the tape: the last dim of x
// is split into NH heads of D, and head h maps to O outputs with its own [O, D] matrix:
// y[.., h*O + o] = sum_d x[.., h*D + d] w[h, o, d] (+ bias). Used by the mLSTM q/k/v
// projections (blocks of 4) and the sLSTM gate projections (DH per head).
import type { Tape, Var } from '../autograd/tape.js';
import * as ag from '../autograd/ops.js';

/** Head size from which a headwise projection runs as one batched GEMM instead of the direct loops. */
const HEADWISE_GEMM_MIN_D = 32;

/**
 * x [..., NH*D], w [NH, O, D] -> [..., NH*O]. Small blocks as direct loops (f64 accumulation)
 * recorded as one tape op; large ones as one batched GEMM over the heads. Never a dense
 * block-diagonal matrix (mostly zeros).
 */
export function headwise(t: Tape, x: Var, w: Var, bias?: Var): Var {
  const [NHb, O, D] = w.shape;
  const lead = x.shape.slice(0, -1), In = NHb * D, R = x.size / In;
  if (x.shape[x.shape.length - 1] !== In) throw new RangeError(`headwise: x's last dim ${x.shape[x.shape.length - 1]} must be NH*D = ${In} for w [${w.shape.join(', ')}]`);
  let out: Var;
  if (D >= HEADWISE_GEMM_MIN_D) {
    const xt = ag.permute(t, ag.reshape(t, x, [R, NHb, D]), [1, 0, 2]); // [NHb, R, D]
    const y = ag.permute(t, ag.matmul(t, xt, w, { transB: true }), [1, 0, 2]); // [R, NHb, O]
    out = ag.reshape(t, y, [...lead, NHb * O]);
  } else {
    const xd = x.data, wd = w.data, Out = NHb * O;
    const y = t.zeros(R * Out);
    for (let r = 0; r < R; r++) {
      for (let h = 0; h < NHb; h++) {
        const xo = r * In + h * D;
        for (let o = 0; o < O; o++) {
          const wo = (h * O + o) * D;
          let acc = 0;
          for (let d = 0; d < D; d++) acc += xd[xo + d] * wd[wo + d];
          y[r * Out + h * O + o] = acc;
        }
      }
    }
    out = t.record(t.tensor([...lead, Out], y), [x, w], (dy) => {
      // one pass for both gradients: gx[r, h, d] += g w[h, o, d], gw[h, o, d] += g x[r, h, d]
      const gx = t.zeros(x.size), gw = new Float64Array(w.size);
      for (let r = 0; r < R; r++) {
        for (let h = 0; h < NHb; h++) {
          const xo = r * In + h * D, yo = r * Out + h * O;
          for (let o = 0; o < O; o++) {
            const g = dy[yo + o];
            if (g === 0) continue;
            const wo = (h * O + o) * D;
            for (let d = 0; d < D; d++) { gx[xo + d] += g * wd[wo + d]; gw[wo + d] += g * xd[xo + d]; }
          }
        }
      }
      t.accumulate(x, gx);
      t.accumulate(w, gw);
    }, 'headwise');
  }
  return bias ? ag.add(t, out, bias) : out;
}
