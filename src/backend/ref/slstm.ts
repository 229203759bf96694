// Float64 reference of the sLSTM cell (xLSTM paper, eqs. 8-17; official code
// xlstm/blocks/slstm/src/vanilla/slstm.py) plus an emulation of TiRex's bf16 torch path.
// Slow and simple on purpose: the fast wasm kernel is tested against it and the golden files.
//
// Shapes (H = NH*DH, gate order i, f, z, o everywhere):
//   x       [B, S, 4H]   Wx pre-activations without bias, index g*H + h*DH + d
//   state   [4, B, H]    (y, c, n, m); y is the hidden output fed back through R
//   R_ext   [NH, DH_in, 4, DH_out]   (== the cuda checkpoint layout [NH, DH, 4DH])
//   bias    [NH, 4, DH]  head-major
import { roundBf16 } from '../../tensor/convert.js';

/** How the first step (n_{t-1} == 0) is detected. */
export type SlstmFirstStepRule =
  /** Official vanilla backend (and TiRex's torch path): m_t = i~ for every unit when the WHOLE n tensor (all batch elements and units) is exactly 0. */
  | 'wholeTensor'
  /** The official CUDA kernel: m_t = i~ for each unit whose own n_{t-1} is exactly 0. */
  | 'perElement';

export interface SlstmRefWeights {
  numHeads: number;
  headDim: number;
  /** [NH, DH_in, 4, DH_out] */
  recurrentExt: ArrayLike<number>;
  /** [NH, 4, DH] */
  biasExt: ArrayLike<number>;
}

export interface SlstmRefOptions {
  /** [4, B, H]; zeros when omitted. */
  initialState?: ArrayLike<number>;
  firstStepRule?: SlstmFirstStepRule;
  /** Clamp f~ at this value before logsigmoid (TiRex: 15). Default: no clamp (or 15 when bf16 = 'tirex'). */
  forgetClamp?: number | null;
  /** 'tirex': emulate TiRex's torch path (f32 pointwise, bf16 rounding points); default: plain float64. */
  bf16?: 'tirex' | false;
}

export interface SlstmRefResult {
  /** [B, S, H] */
  y: Float64Array;
  /** [4, B, H] */
  state: Float64Array;
  /** [4, S+1, B, H]; [:, 0] = initial state */
  statesAll: Float64Array;
}

const f = Math.fround;

function logSigmoid(x: number): number {
  // min(x,0) - log1p(exp(-|x|)): no overflow for either sign
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * Runs the sLSTM recurrence over S steps. Float64 throughout, except with bf16 = 'tirex':
 * then every operation is rounded to f32 and the bf16 rounding points of TiRex's torch path
 * (github.com/NX-AI/tirex, src/tirex/models/slstm/cell.py: sLSTMCell._impl_torch casts input, state
 * and R to bf16 but the bias to float32; sLSTMCellTorch.slstm_forward does Ry = y.bmm(R) in bf16 and
 * slstm_forward_pointwise(x.float(), Ry.float(), b, ...) computes raw = Wx + Ry + b in f32, clamps
 * f~ at 15, and the four new states are cast back to bf16) apply:
 * Wx, R, the initial state -> bf16; bias stays f32; Ry = bf16(sum_f32(y_bf16 * R_bf16));
 * raw = (Wx + Ry) + b in f32; pointwise math in f32; y, c, n, m -> bf16 after every step.
 * The whole-tensor first-step test is evaluated at every step (as the vanilla backend does);
 * TiRex evaluates it at step 0 of each call only, which differs only if n returns to exactly 0.
 */
export function slstmForwardRef(w: SlstmRefWeights, x: ArrayLike<number>, B: number, S: number, opts: SlstmRefOptions = {}): SlstmRefResult {
  const NH = w.numHeads, DH = w.headDim, H = NH * DH;
  if (x.length !== B * S * 4 * H) throw new Error(`slstmForwardRef: x has ${x.length} elements, expected [B=${B}, S=${S}, 4H=${4 * H}]`);
  const bf = opts.bf16 === 'tirex';
  const clamp = opts.forgetClamp !== undefined ? opts.forgetClamp : (bf ? 15 : null);
  const rule = opts.firstStepRule ?? 'wholeTensor';
  const r = bf ? (v: number) => roundBf16(v) : (v: number) => v;
  const q = bf ? f : (v: number) => v; // f32 arithmetic in the bf16 mode
  const st = new Float64Array(4 * B * H); // [4, B, H]
  if (opts.initialState) {
    if (opts.initialState.length !== 4 * B * H) throw new Error(`slstmForwardRef: initialState has ${opts.initialState.length} elements, expected [4, B=${B}, H=${H}]`);
    for (let i = 0; i < st.length; i++) st[i] = r(opts.initialState[i]);
  }
  const R = Float64Array.from(w.recurrentExt, (v) => r(v));
  const bias = Float64Array.from(w.biasExt, (v) => q(v));
  const y = new Float64Array(B * S * H);
  const all = new Float64Array(4 * (S + 1) * B * H);
  const saveAll = (t: number) => {
    for (let k = 0; k < 4; k++) all.set(st.subarray(k * B * H, (k + 1) * B * H), (k * (S + 1) + t) * B * H);
  };
  saveAll(0);
  const Y = 0, C = B * H, N = 2 * B * H, M = 3 * B * H;
  const ry = new Float64Array(4 * H);
  const raw = new Float64Array(4 * H);
  for (let t = 0; t < S; t++) {
    let nAllZero = true;
    for (let i = 0; i < B * H; i++) if (st[N + i] !== 0) { nAllZero = false; break; }
    for (let b = 0; b < B; b++) {
      // Ry[g*H + h*DH + o] = sum_i y[h*DH+i] R_ext[h,i,g,o]
      ry.fill(0);
      for (let h = 0; h < NH; h++) {
        for (let i = 0; i < DH; i++) {
          const yi = st[Y + b * H + h * DH + i];
          const rb = ((h * DH + i) * 4) * DH;
          for (let g = 0; g < 4; g++) {
            for (let o = 0; o < DH; o++) {
              const k = g * H + h * DH + o;
              ry[k] = q(ry[k] + q(yi * R[rb + g * DH + o]));
            }
          }
        }
      }
      for (let g = 0; g < 4; g++) {
        for (let h = 0; h < NH; h++) {
          for (let o = 0; o < DH; o++) {
            const k = g * H + h * DH + o;
            raw[k] = q(q(r(x[(b * S + t) * 4 * H + k]) + r(ry[k])) + bias[(h * 4 + g) * DH + o]);
          }
        }
      }
      for (let u = 0; u < H; u++) {
        const iRaw = raw[u], zRaw = raw[2 * H + u], oRaw = raw[3 * H + u];
        let fRaw = raw[H + u];
        if (clamp !== null) fRaw = Math.min(fRaw, clamp);
        const s = b * H + u;
        const c0 = st[C + s], n0 = st[N + s], m0 = st[M + s];
        const logfPlusM = q(m0 + q(logSigmoid(fRaw)));
        const first = rule === 'wholeTensor' ? nAllZero : n0 === 0;
        const m1 = first ? iRaw : Math.max(iRaw, logfPlusM);
        const ig = Math.min(q(Math.exp(q(iRaw - m1))), 1);
        const fg = Math.min(q(Math.exp(q(logfPlusM - m1))), 1);
        const og = q(1 / (1 + Math.exp(-oRaw)));
        const zg = q(Math.tanh(zRaw));
        const c1 = q(q(fg * c0) + q(ig * zg));
        const n1 = q(q(fg * n0) + ig);
        const y1 = q(q(og * c1) / n1);
        st[Y + s] = r(y1); st[C + s] = r(c1); st[N + s] = r(n1); st[M + s] = r(m1);
        y[(b * S + t) * H + u] = r(y1);
      }
    }
    saveAll(t + 1);
  }
  return { y, state: st, statesAll: all };
}
