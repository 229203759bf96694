// Float64 reference of the sLSTM backward pass through time (vanilla recurrence of
// src/backend/ref/slstm.ts, plain float64 mode). The stabiliser m is a constant (no
// gradient), as in the official CUDA kernels: y = o c / n is invariant to m (c and n carry
// the same factor exp(-m)), so this is the exact gradient of the outputs y; only gradients
// of the raw final c, n (which do depend on m) would differ, and those are taken in the
// stabilised scale of the saved m. The initial m is an input of its own and does get its
// gradient (through the first forget gate).
//
// Shapes as the forward: x [B,S,4H] (Wx without bias, index g*H + h*DH + d, gates i,f,z,o),
// R_ext [NH, DH_in, 4, DH_out], bias [NH, 4, DH], state [4, B, H] = (y, c, n, m).
import { SlstmRefWeights, slstmForwardRef } from './slstm.js';
import { sigmoidRef } from './elementwise.js';

export interface SlstmGrads {
  /** [B,S,4H] gradient of the gate pre-activations Wx. */ dx: Float64Array;
  /** [NH, DH_in, 4, DH_out] */ dR: Float64Array;
  /** [NH, 4, DH] */ dBias: Float64Array;
  /** [4,B,H] gradient of the initial (y, c, n, m). */ dState0: Float64Array;
}

export interface SlstmBackwardOptions {
  /** [4,B,H] initial state (zeros when omitted), as given to the forward. */
  initialState?: ArrayLike<number>;
  /** Clamp of f~ used in the forward (its gradient is 0 above it). */
  forgetClamp?: number | null;
  /** [4,S+1,B,H] the forward's statesAll (recomputed when omitted). */
  statesAll?: ArrayLike<number>;
  /** [4,B,H] gradient of the final state (y, c, n; m ignored). */
  dStateLast?: ArrayLike<number>;
}

function logSigmoid(x: number): number { return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))); }

/** dy [B,S,H] (gradient of the outputs y) -> gradients of x, R, bias and the initial state. */
export function slstmBackwardRef(w: SlstmRefWeights, x: ArrayLike<number>, dy: ArrayLike<number>, B: number, S: number, o: SlstmBackwardOptions = {}): SlstmGrads {
  const NH = w.numHeads, DH = w.headDim, H = NH * DH;
  if (x.length !== B * S * 4 * H) throw new Error(`slstmBackwardRef: x has ${x.length} elements, expected [B=${B}, S=${S}, 4H=${4 * H}]`);
  if (dy.length !== B * S * H) throw new Error(`slstmBackwardRef: dy has ${dy.length} elements, expected [B=${B}, S=${S}, H=${H}]`);
  const clamp = o.forgetClamp ?? null;
  const all = o.statesAll ?? slstmForwardRef(w, x, B, S, { initialState: o.initialState, forgetClamp: clamp }).statesAll;
  const st = (k: number, t: number, i: number) => all[(k * (S + 1) + t) * B * H + i];
  const R = w.recurrentExt, bias = w.biasExt;
  const g: SlstmGrads = { dx: new Float64Array(x.length), dR: new Float64Array(R.length), dBias: new Float64Array(bias.length), dState0: new Float64Array(4 * B * H) };
  // Carried gradients of y_t, c_t, n_t (from later steps), [B, H] each.
  const dY = new Float64Array(B * H), dC = new Float64Array(B * H), dN = new Float64Array(B * H);
  if (o.dStateLast) for (let i = 0; i < B * H; i++) { dY[i] = o.dStateLast[i]; dC[i] = o.dStateLast[B * H + i]; dN[i] = o.dStateLast[2 * B * H + i]; }
  const raw = new Float64Array(4 * H), dRaw = new Float64Array(4 * H);
  for (let t = S - 1; t >= 0; t--) {
    const dYprev = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      // raw = Wx + R y_{t-1} + bias
      for (let gg = 0; gg < 4; gg++) for (let h = 0; h < NH; h++) for (let d = 0; d < DH; d++) {
        const k = gg * H + h * DH + d;
        let s = x[(b * S + t) * 4 * H + k] + bias[(h * 4 + gg) * DH + d];
        for (let i = 0; i < DH; i++) s += st(0, t, b * H + h * DH + i) * R[((h * DH + i) * 4 + gg) * DH + d];
        raw[k] = s;
      }
      for (let u = 0; u < H; u++) {
        const s = b * H + u;
        const iR = raw[u], zR = raw[2 * H + u], oR = raw[3 * H + u];
        const fR0 = raw[H + u], fR = clamp !== null ? Math.min(fR0, clamp) : fR0;
        const c0 = st(1, t, s), n0 = st(2, t, s), m0 = st(3, t, s);
        const c1 = st(1, t + 1, s), n1 = st(2, t + 1, s), m1 = st(3, t + 1, s);
        const ig = Math.exp(iR - m1), fg = Math.exp(m0 + logSigmoid(fR) - m1);
        const zg = Math.tanh(zR), og = sigmoidRef(oR);
        const dy1 = dy[(b * S + t) * H + u] + dY[s];
        const dog = dy1 * c1 / n1;
        const dc = dC[s] + dy1 * og / n1;
        const dn = dN[s] - dy1 * og * c1 / (n1 * n1);
        const dfg = dc * c0 + dn * n0, dig = dc * zg + dn, dzg = dc * ig;
        dC[s] = dc * fg; dN[s] = dn * fg;
        // The initial m is an input (not a max of earlier values): it scales f' directly. Moving
        // m_1 with it only rescales (c_1, n_1), which y ignores, so this is its full gradient.
        if (t === 0) g.dState0[3 * B * H + s] = dfg * fg;
        dRaw[u] = dig * ig;
        dRaw[H + u] = clamp !== null && fR0 > clamp ? 0 : dfg * fg * sigmoidRef(-fR);
        dRaw[2 * H + u] = dzg * (1 - zg * zg);
        dRaw[3 * H + u] = dog * og * (1 - og);
      }
      for (let gg = 0; gg < 4; gg++) for (let h = 0; h < NH; h++) for (let d = 0; d < DH; d++) {
        const k = gg * H + h * DH + d, dr = dRaw[k];
        g.dx[(b * S + t) * 4 * H + k] = dr;
        g.dBias[(h * 4 + gg) * DH + d] += dr;
        for (let i = 0; i < DH; i++) {
          const ri = ((h * DH + i) * 4 + gg) * DH + d;
          g.dR[ri] += st(0, t, b * H + h * DH + i) * dr;
          dYprev[b * H + h * DH + i] += R[ri] * dr;
        }
      }
    }
    dY.set(dYprev);
  }
  for (let i = 0; i < B * H; i++) { g.dState0[i] = dY[i]; g.dState0[B * H + i] = dC[i]; g.dState0[2 * B * H + i] = dN[i]; }
  return g;
}
