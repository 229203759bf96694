// Differentiable xLSTM cells for the tape: mLSTM (parallel and chunkwise) and sLSTM
// (through time). Forward: the wasm cell kernels on an f32 tape, the float64 forms of
// src/backend/ref/*Backward.ts on an f64 tape. Backward: the hand-written passes of
// src/backend/ref/mlstmBackward.ts and slstmBackward.ts (as the official kernels: the
// stabiliser m gets no gradient; see there for the 'official' / 'exact' normaliser modes).
// On an f32 tape the backward runs on the wasm kernels (wasmBackward.ts) from the values the
// f32 forward saved (sLSTM: every state; mLSTM: the normalisers and stabilisers; 'exact' mode
// runs the mLSTM on V' = [V, 1] so that the signed denominator comes out as a column).
import { shapeStr } from '../tensor/dtype.js';
import { Arr, Tape, Var } from './tape.js';
import { mlstmParallel as wasmMlstmParallel, mlstmChunkwise as wasmMlstmChunkwise } from '../xlstm/mlstm/mlstm.js';
import { slstmForward as wasmSlstmForward } from '../xlstm/slstm/cell.js';
import { loadSlstmParams } from '../xlstm/slstm/params.js';
import { MlstmRefDims } from '../backend/ref/mlstm.js';
import {
  MlstmGradMode, mlstmChunkwiseBackwardRef, mlstmChunkwiseFwd64, mlstmParallelBackwardRef, mlstmParallelFwd64,
} from '../backend/ref/mlstmBackward.js';
import { slstmForwardRef } from '../backend/ref/slstm.js';
import { slstmBackwardRef } from '../backend/ref/slstmBackward.js';
import { Tensor } from '../tensor/tensor.js';
import { MlstmWasmGrads, mlstmBackwardWasm, slstmBackwardWasm } from './wasmBackward.js';
import { MLSTM_EPS } from '../backend/ref/mlstm.js';

export interface MlstmVars { q: Var; k: Var; v: Var; i: Var; f: Var }

export interface MlstmCellOptions {
  /** 'official' (default): the normaliser is a constant in the backward, as mlstm_kernels; 'exact': it carries its gradient. */
  gradMode?: MlstmGradMode;
  eps?: number;
}

function mlstmDims(fn: string, x: MlstmVars): MlstmRefDims {
  if (x.q.shape.length !== 4) throw new RangeError(`${fn}: q must have shape [B, NH, S, DHQK], got ${shapeStr(x.q.shape)}`);
  const [B, NH, S, DHQK] = x.q.shape;
  const DHV = x.v.shape[3];
  const want: [string, Var, number[]][] = [['k', x.k, [B, NH, S, DHQK]], ['v', x.v, [B, NH, S, DHV]], ['i', x.i, [B, NH, S]], ['f', x.f, [B, NH, S]]];
  for (const [n, v, s] of want) if (v.shape.length !== s.length || v.shape.some((d, j) => d !== s[j])) throw new RangeError(`${fn}: ${n} must have shape ${shapeStr(s)}, got ${shapeStr(v.shape)}`);
  return { B, NH, S, DHQK, DHV };
}

function inputs(x: MlstmVars) { return { q: x.q.data, k: x.k.data, v: x.v.data, i: x.i.data, f: x.f.data }; }
function values(x: MlstmVars) { return { q: x.q.value, k: x.k.value, v: x.v.value, i: x.i.value, f: x.f.value }; }

/**
 * Chunk length for the backward of the parallel form. Given the forward's m and N, the gradient
 * is the same function whether the causal sum is taken in one S x S block or in chunks with
 * carried states (the chunk factors exp(b + m_chunk - m) recombine to exp(F_t - F_s + i_s - m));
 * chunks of <= 64 cost O(S L D + S D^2) instead of O(S^2 D).
 */
function parallelBackwardChunk(S: number): number {
  if (S <= 64) return S;
  for (let L = 64; L >= 16; L--) if (S % L === 0) return L;
  return S;
}

/**
 * f32 forward on the wasm kernels, keeping what the wasm backward needs. 'exact' mode runs the
 * cell on V' = [V, 1] (state C' = [C, n]), so the last output column is den / (N + eps): its sign
 * and size give the normaliser's gradient, and the backward kernel then runs on V', dH~' as
 * mlstmBackwardRef does (L = null: the parallel form).
 */
function mlstmF32(t: Tape, x: MlstmVars, d: MlstmRefDims, exact: boolean, eps: number | undefined, L: number | null,
  st?: { c: Var; n: Var; m: Tensor }): { out: Tensor; backward: (dy: Arr) => MlstmWasmGrads & { dn0?: Float32Array } } {
  const be = t.wasm;
  const { B, NH, S, DHQK, DHV } = d, BH = B * NH, VA = DHV + 1;
  let vAug: Tensor | null = null, cAug: Tensor | null = null;
  if (exact) {
    vAug = be.empty([B, NH, S, VA]);
    const va = vAug.data as Float32Array, v = x.v.data;
    for (let r = 0; r < BH * S; r++) { for (let e = 0; e < DHV; e++) va[r * VA + e] = v[r * DHV + e]; va[r * VA + DHV] = 1; }
    if (st) {
      cAug = be.empty([B, NH, DHQK, VA]);
      const ca = cAug.data as Float32Array, c = st.c.data, n = st.n.data;
      for (let r = 0; r < BH * DHQK; r++) { for (let e = 0; e < DHV; e++) ca[r * VA + e] = c[r * DHV + e]; ca[r * VA + DHV] = n[r]; }
    }
  }
  const xin = { ...values(x), ...(vAug ? { v: vAug } : {}) };
  const initialState = st ? { c: cAug ?? st.c.value, n: st.n.value, m: st.m.reshape([B, NH, 1]) } : undefined;
  const r = L === null ? wasmMlstmParallel(be, xin, { eps, returnVecs: true }) : wasmMlstmChunkwise(be, xin, { eps, chunkSize: L, initialState, returnVecs: true });
  const vecN = r.vecN!, vecM = r.vecM!;
  let out = r.h, denSign: Float32Array | null = null;
  if (exact) {
    // h = the first DHV columns; -sign(den) where the normaliser is |den| (else its gradient is 0)
    out = be.empty([B, NH, S, DHV]);
    const h = out.data as Float32Array, ha = r.h.data as Float32Array, N = vecN.data as Float32Array, M = vecM.data as Float32Array;
    denSign = new Float32Array(BH * S);
    const e0 = eps ?? MLSTM_EPS;
    for (let q = 0; q < BH * S; q++) {
      for (let e = 0; e < DHV; e++) h[q * DHV + e] = ha[q * VA + e];
      const den = ha[q * VA + DHV] * (N[q] + e0);
      denSign[q] = Math.abs(den) >= Math.exp(-M[q]) ? -Math.sign(den) : 0;
    }
    r.h.dispose();
  }
  const backward = (dy: Arr): MlstmWasmGrads & { dn0?: Float32Array } => {
    try {
      let dh: ArrayLike<number> = dy;
      if (exact) {
        const h = out.data as Float32Array, da = new Float32Array(BH * S * VA);
        for (let q = 0; q < BH * S; q++) {
          let dot = 0;
          for (let e = 0; e < DHV; e++) { da[q * VA + e] = dy[q * DHV + e]; dot += dy[q * DHV + e] * h[q * DHV + e]; }
          da[q * VA + DHV] = denSign![q] * dot;
        }
        dh = da;
      }
      const g = mlstmBackwardWasm(be, xin, dh, vecN, vecM, { chunkSize: L ?? parallelBackwardChunk(S), eps, initialState: st ? { c: cAug ?? st.c.value, m: st.m } : undefined });
      if (!exact) return g;
      const dv = new Float32Array(BH * S * DHV);
      const dvA = (g.dv instanceof Tensor ? g.dv.data : g.dv) as Float32Array;
      for (let q = 0; q < BH * S; q++) for (let e = 0; e < DHV; e++) dv[q * DHV + e] = dvA[q * VA + e];
      if (g.dv instanceof Tensor) g.dv.dispose();
      let dC0: Float32Array | undefined, dn0: Float32Array | undefined;
      if (g.dC0) {
        dC0 = new Float32Array(BH * DHQK * DHV); dn0 = new Float32Array(BH * DHQK);
        for (let q = 0; q < BH * DHQK; q++) { for (let e = 0; e < DHV; e++) dC0[q * DHV + e] = g.dC0[q * VA + e]; dn0[q] = g.dC0[q * VA + DHV]; }
      }
      return { ...g, dv, dC0, dn0 };
    } finally { vecN.dispose(); vecM.dispose(); vAug?.dispose(); cAug?.dispose(); } // the tape runs each backward once
  };
  return { out, backward };
}

/** Parallel stabilised mLSTM (no state): h [B,NH,S,DHV]. */
export function mlstmParallel(t: Tape, x: MlstmVars, o: MlstmCellOptions = {}): Var {
  const d = mlstmDims('mlstmParallel', x);
  const exact = (o.gradMode ?? 'official') === 'exact';
  const f32 = t.dtype === 'f32' ? mlstmF32(t, x, d, exact, o.eps, null) : null;
  const out = f32 ? f32.out : t.tensor([d.B, d.NH, d.S, d.DHV], mlstmParallelFwd64(d, inputs(x), { eps: o.eps }).h);
  return t.record(out, [x.q, x.k, x.v, x.i, x.f], (dy) => {
    if (f32) {
      const g = f32.backward(dy);
      t.accumulateOwned(x.q, g.dq); t.accumulateOwned(x.k, g.dk); t.accumulateOwned(x.v, g.dv); t.accumulateOwned(x.i, g.di); t.accumulateOwned(x.f, g.df);
      return;
    }
    const xin = inputs(x);
    const fw = mlstmParallelFwd64(d, xin, { eps: o.eps });
    const g = mlstmParallelBackwardRef(d, xin, dy, fw, { mode: o.gradMode, eps: o.eps });
    t.accumulate(x.q, g.dq); t.accumulate(x.k, g.dk); t.accumulate(x.v, g.dv); t.accumulate(x.i, g.di); t.accumulate(x.f, g.df);
  }, 'mlstmParallel');
}

export interface MlstmChunkwiseCellOptions extends MlstmCellOptions {
  /** Chunk length; must divide S (default 64, or S when S < 64). */
  chunkSize?: number;
  /** Initial state: c [B,NH,DHQK,DHV] and n [B,NH,DHQK] (differentiable), m [B,NH] (a constant). */
  initialState?: { c: Var; n: Var; m: Tensor };
}

/** Chunkwise mLSTM from zeros (m = 0) or an initial state: h [B,NH,S,DHV]. */
export function mlstmChunkwise(t: Tape, x: MlstmVars, o: MlstmChunkwiseCellOptions = {}): Var {
  const d = mlstmDims('mlstmChunkwise', x);
  const L = o.chunkSize ?? Math.min(64, d.S);
  if (!Number.isInteger(L) || L < 1 || d.S % L !== 0) throw new RangeError(`mlstmChunkwise: chunkSize ${L} must be a positive integer dividing S=${d.S}`);
  const st = o.initialState;
  const init = st ? { c: st.c.data, n: st.n.data, m: st.m.toFloat64() } : undefined;
  const exact = (o.gradMode ?? 'official') === 'exact';
  const f32 = t.dtype === 'f32' ? mlstmF32(t, x, d, exact, o.eps, L, st) : null;
  const out = f32 ? f32.out : t.tensor([d.B, d.NH, d.S, d.DHV], mlstmChunkwiseFwd64(d, inputs(x), { chunkSize: L, eps: o.eps, initialState: init }).h);
  const ins = [x.q, x.k, x.v, x.i, x.f, ...(st ? [st.c, st.n] : [])];
  return t.record(out, ins, (dy) => {
    if (f32) {
      const g = f32.backward(dy);
      t.accumulateOwned(x.q, g.dq); t.accumulateOwned(x.k, g.dk); t.accumulateOwned(x.v, g.dv); t.accumulateOwned(x.i, g.di); t.accumulateOwned(x.f, g.df);
      // 'official' mode: n gets no gradient (as the kernels)
      if (st) { t.accumulateOwned(st.c, g.dC0!); if (g.dn0) t.accumulateOwned(st.n, g.dn0); }
      return;
    }
    const xin = inputs(x);
    const fw = mlstmChunkwiseFwd64(d, xin, { chunkSize: L, eps: o.eps, initialState: init });
    const g = mlstmChunkwiseBackwardRef(d, xin, dy, fw, { mode: o.gradMode, eps: o.eps });
    t.accumulate(x.q, g.dq); t.accumulate(x.k, g.dk); t.accumulate(x.v, g.dv); t.accumulate(x.i, g.di); t.accumulate(x.f, g.df);
    if (st) { t.accumulate(st.c, g.dC0!); t.accumulate(st.n, g.dn0!); }
  }, 'mlstmChunkwise');
}

export interface SlstmCellOptions {
  /** [4, B, H] initial (y, c, n, m); zeros when omitted. Its gradient flows to y, c, n. */
  initialState?: Var;
  /** f~ = min(f~, forgetClamp) before logsigmoid (gradient 0 above it). Default none. */
  forgetClamp?: number | null;
}

/**
 * sLSTM over a sequence: x [B,S,4H] (Wx without bias, gates i,f,z,o), R [NH, DH, 4*DH]
 * (cuda layout == R_ext [NH, DH_in, 4, DH_out]), bias [NH*4*DH] head-major -> y [B,S,H].
 */
export function slstm(t: Tape, x: Var, R: Var, bias: Var, numHeads: number, o: SlstmCellOptions = {}): Var {
  if (x.shape.length !== 3) throw new RangeError(`slstm: x must have shape [B, S, 4H], got ${shapeStr(x.shape)}`);
  const [B, S, H4] = x.shape;
  const H = H4 / 4, NH = numHeads, DH = H / NH;
  if (!Number.isInteger(DH) || DH < 1) throw new RangeError(`slstm: x's last dim ${H4} must be 4 * numHeads(${NH}) * DH`);
  if (R.size !== NH * DH * 4 * DH) throw new RangeError(`slstm: R must have shape [${NH}, ${DH}, ${4 * DH}], got ${shapeStr(R.shape)}`);
  if (bias.size !== 4 * H) throw new RangeError(`slstm: bias must have ${4 * H} elements ([NH, 4, DH]), got ${shapeStr(bias.shape)}`);
  if (o.initialState && o.initialState.size !== 4 * B * H) throw new RangeError(`slstm: initialState must have shape [4, ${B}, ${H}], got ${shapeStr(o.initialState.shape)}`);
  const clamp = o.forgetClamp ?? null;
  const w = () => ({ numHeads: NH, headDim: DH, recurrentExt: R.data, biasExt: bias.data });
  let out: Tensor, statesAll: Tensor | undefined;
  if (t.dtype === 'f64') out = t.tensor([B, S, H], slstmForwardRef(w(), x.data, B, S, { initialState: o.initialState?.data, forgetClamp: clamp }).y);
  else {
    const params = loadSlstmParams({ recurrentKernel: R.value.reshape([NH, DH, 4 * DH]), bias: bias.value.reshape([4 * H]), numHeads: NH, layout: 'cuda' });
    const r = wasmSlstmForward(t.wasm, x.value, params, { initialState: o.initialState?.value, forgetClamp: clamp, outputLayout: 'BSH', returnAllStates: true });
    out = r.y; statesAll = r.statesAll; r.state.dispose();
  }
  const ins = [x, R, bias, ...(o.initialState ? [o.initialState] : [])];
  return t.record(out, ins, (dy) => {
    const g = statesAll
      ? slstmBackwardWasm(t.wasm, x.value, R.value, bias.value, statesAll, dy, B, S, NH, DH, clamp)
      : slstmBackwardRef(w(), x.data, dy, B, S, { initialState: o.initialState?.data, forgetClamp: clamp });
    statesAll?.dispose(); // the tape runs each backward once
    // fresh arrays of the tape's dtype from either path
    t.accumulateOwned(x, g.dx); t.accumulateOwned(R, g.dR); t.accumulateOwned(bias, g.dBias);
    if (o.initialState) t.accumulateOwned(o.initialState, g.dState0);
  }, 'slstm');
}
