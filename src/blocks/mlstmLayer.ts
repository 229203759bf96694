// The two mLSTM layers of the family, on the tape.
//
// mlstmLayer: the xLSTM library's mLSTMLayer (xLSTMLMModel; pre-up-projection block):
//   (x_m, z) = split(proj_up(x)); xc = silu(conv(x_m)); q, k = headwise(xc), v = headwise(x_m);
//   i, f = Linear(cat(q, k, v)); h = outnorm(mLSTM(q, k, v, i, f)) + skip * xc;
//   y = proj_down(h * silu(z)).
// mlstmLayerLarge: xLSTM Large / xLSTM-7B's mLSTMLayer:
//   q, k, v, o = W x; i, f = softcap(W x + b, gate_soft_cap); h = mLSTM per head;
//   y = out_proj(sigmoid(o) * MultiHeadLayerNorm(h)).
// The cell runs in the parallel or the chunkwise form (autograd/cells.ts); the chunkwise form
// pads a sequence that is not a multiple of the chunk at the end with zeros (the official
// 'train_with_padding' mode; causal, so the real positions are unchanged).
import type { Tape, Var } from '../autograd/tape.js';
import * as ag from '../autograd/ops.js';
import { mlstmParallel, mlstmChunkwise } from '../autograd/cells.js';
import { headwise } from './headwise.js';
import { LinearW, NormW, linear } from './basic.js';

/** Cell form and gradient mode of the mLSTM (see autograd/cells.ts). */
export interface MlstmCellForm {
  /** Chunk length of the chunkwise form; undefined: the parallel form. */
  chunkSize?: number;
  /** Pad S up to a multiple of chunkSize (else chunkSize must divide S). */
  padToChunk?: boolean;
  /** eps of the cell's normaliser (default: the kernels' MLSTM_EPS, 1e-6). */
  eps?: number;
  /** 'exact' differentiates the normaliser max(|q n|, exp(-m)); 'official' treats it as a constant. */
  gradMode: 'official' | 'exact';
}

/** q, k [B, S, NH*DQK], v [B, S, NH*DV], i, f [B, S, NH] -> h [B, S, NH*DV] (heads concatenated). */
export function mlstmHeads(t: Tape, q: Var, k: Var, v: Var, ig: Var, fg: Var, NH: number, form: MlstmCellForm, who: string): Var {
  const B = q.shape[0], S = q.shape[1], DQK = q.shape[2] / NH, DV = v.shape[2] / NH;
  const L = form.chunkSize;
  if (L !== undefined && !form.padToChunk && S % L !== 0) throw new RangeError(`${who}: mlstmChunkSize ${L} must divide the sequence length ${S}`);
  const Sp = L === undefined ? S : Math.ceil(S / L) * L;
  // [B, S, NH*D] -> [B, NH, S, D] (reshape(B, S, NH, -1).transpose(1, 2)), zero-padded to Sp
  const heads = (a: Var, D: number) => padSeq(t, ag.permute(t, ag.reshape(t, a, [B, S, NH, D]), [0, 2, 1, 3]), Sp);
  const gate = (a: Var) => padSeq(t, ag.permute(t, a, [0, 2, 1]), Sp); // [B, NH, Sp]
  const cellIn = { q: heads(q, DQK), k: heads(k, DQK), v: heads(v, DV), i: gate(ig), f: gate(fg) };
  let h = L === undefined
    ? mlstmParallel(t, cellIn, { eps: form.eps, gradMode: form.gradMode })
    : mlstmChunkwise(t, cellIn, { eps: form.eps, gradMode: form.gradMode, chunkSize: L }); // [B, NH, Sp, DV]
  if (Sp !== S) h = ag.slice(t, h, 2, 0, S);
  return ag.reshape(t, ag.permute(t, h, [0, 2, 1, 3]), [B, S, NH * DV]);
}

/** a [..., S, (D)] with axis 2 zero-padded to Sp (padding after the sequence: causal, so harmless). */
function padSeq(t: Tape, a: Var, Sp: number): Var {
  const S = a.shape[2];
  if (Sp === S) return a;
  const shape = [...a.shape];
  shape[2] = Sp - S;
  const zeros = t.input(t.tensor(shape, t.zeros(shape.reduce((x, d) => x * d, 1))));
  return ag.concat(t, [a, zeros], 2);
}

export interface MlstmLayerW {
  /** [2*inner, E]: rows x_m | z. */ projUp: LinearW;
  q: LinearW; k: LinearW; v: LinearW; // headwise [NHp, inner/NHp, inner/NHp]
  conv?: Var; convBias?: Var;
  /** [inner] */ skip: Var;
  /** [NH, 3*inner] + [NH] each. */ igate: LinearW; fgate: LinearW;
  /** [inner] MultiHeadLayerNorm weight (1 + w). */ outNorm: Var;
  /** [E, inner] */ projDown: LinearW;
}

/** xLSTMLMModel mLSTMLayer: x [B, S, E] -> [B, S, E]. */
export function mlstmLayer(t: Tape, x: Var, w: MlstmLayerW, o: { numHeads: number; normEps: number; cell: MlstmCellForm }): Var {
  const NH = o.numHeads, inner = w.skip.size;
  const up = linear(t, x, w.projUp); // [B, S, 2*inner]
  const xm = ag.slice(t, up, 2, 0, inner), z = ag.slice(t, up, 2, inner, 2 * inner);
  const xc = w.conv ? ag.silu(t, ag.causalConv1d(t, xm, w.conv, w.convBias)) : xm;
  const q = headwise(t, xc, w.q.weight, w.q.bias);
  const k = headwise(t, xc, w.k.weight, w.k.bias);
  const v = headwise(t, xm, w.v.weight, w.v.bias);
  const qkv = ag.concat(t, [q, k, v], 2); // [B, S, 3*inner]
  const h = mlstmHeads(t, q, k, v, linear(t, qkv, w.igate), linear(t, qkv, w.fgate), NH, o.cell, 'mlstmLayer');
  const hn = ag.groupNorm(t, h, NH, { eps: o.normEps, weight: w.outNorm, weightOffset: true });
  const out = ag.mul(t, ag.add(t, hn, ag.mul(t, xc, w.skip)), ag.silu(t, z));
  return linear(t, out, w.projDown);
}

export interface MlstmLayerLargeW {
  /** Separate projections ("single" weights) ... */
  q?: LinearW; k?: LinearW; v?: LinearW; ogate?: LinearW; igate?: LinearW; fgate?: LinearW;
  /** ... or the fused ones: [2QK + 2DV, E] rows q | k | v | o, and [2NH, E] rows i | f. */
  qkvo?: LinearW; ifgate?: LinearW;
  multiheadNorm: NormW;
  outProj: LinearW;
}

export interface MlstmLayerLargeOptions {
  numHeads: number; qkDim: number; vDim: number;
  gateSoftCap: number | null;
  normEps: number;
  cell: MlstmCellForm;
}

/** xLSTM Large mLSTMLayer: x [B, S, E] -> [B, S, E]. */
export function mlstmLayerLarge(t: Tape, x: Var, w: MlstmLayerLargeW, o: MlstmLayerLargeOptions): Var {
  const NH = o.numHeads, QK = o.qkDim, DV = o.vDim;
  const cap = (v: Var) => (o.gateSoftCap === null ? v : ag.softcap(t, v, o.gateSoftCap));
  let q: Var, k: Var, v: Var, og: Var, ig: Var, fg: Var;
  if (w.qkvo && w.ifgate) {
    const all = linear(t, x, w.qkvo); // [B, S, 2QK + 2DV]
    q = ag.slice(t, all, 2, 0, QK); k = ag.slice(t, all, 2, QK, 2 * QK);
    v = ag.slice(t, all, 2, 2 * QK, 2 * QK + DV); og = ag.slice(t, all, 2, 2 * QK + DV, 2 * QK + 2 * DV);
    const g = cap(linear(t, x, w.ifgate)); // [B, S, 2NH]
    ig = ag.slice(t, g, 2, 0, NH); fg = ag.slice(t, g, 2, NH, 2 * NH);
  } else {
    if (!w.q || !w.k || !w.v || !w.ogate || !w.igate || !w.fgate) throw new RangeError('mlstmLayerLarge: weights need q, k, v, ogate, igate, fgate (or qkvo and ifgate)');
    q = linear(t, x, w.q); k = linear(t, x, w.k); v = linear(t, x, w.v); og = linear(t, x, w.ogate);
    ig = cap(linear(t, x, w.igate)); fg = cap(linear(t, x, w.fgate)); // [B, S, NH]
  }
  const h = mlstmHeads(t, q, k, v, ig, fg, NH, o.cell, 'mlstmLayerLarge');
  const hn = ag.groupNorm(t, h, NH, { eps: o.normEps, weight: w.multiheadNorm.weight, bias: w.multiheadNorm.bias });
  return linear(t, ag.mul(t, ag.sigmoid(t, og), hn), w.outProj);
}
