// pLSTM-specific differentiable ops with hand-written backward passes (float64 arithmetic, stored in
// the tape's precision): head-wise projections, the depthwise 2D convolution, the exponential
// orthogonalisation of the transition matrices, their combination, row scaling, and the two scans.
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { numel, shapeStr } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { ArgumentError } from '../../errors.js';
import { Scan1dDims, Scan1dInputs, scan1dBackward, scan1dChunkwise, scan1dChunkwiseBackward, scan1dRecurrent } from '../../backend/ref/plstm1d.js';
import { Scan2dDims, Scan2dInputs, Scan2dOrientation, scan2dBackward, scan2dParallel, scan2dParallelBackward, scan2dRecurrent } from '../../backend/ref/plstm.js';
import { scan2dBackwardWasm, scan2dForwardWasm, uploadInputs, wasm2dSupported } from './wasm2d.js';

function expectShape(what: string, v: Var, shape: readonly number[]): void {
  if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) throw new ArgumentError(`${what}: expected shape ${shapeStr(shape)}, got ${shapeStr(v.shape)}`);
}

/** Weight layout of a head-wise projection: 'nPsx' = Query/Key/Value [n, P.., s, x]; 'nsPx' = gates/transition [n, s, P.., x]. */
export type HeadProjLayout = 'nPsx' | 'nsPx';

/**
 * y[r, n*S + s, p] = sum_x W[n, s, p, x] (layout order) in[r, s*Din + x]: in [R, S*Din] -> [R, N*S, P].
 * With S = 1 every head sees the whole input; with S = heads head h sees its own slice.
 */
export function headProj(t: Tape, input: Var, w: Var, o: { heads: number; subHeads: number; outPerHead: number; layout: HeadProjLayout }): Var {
  const { subHeads: S, outPerHead: P, layout } = o;
  const Nn = o.heads / S;
  const Dfull = input.shape[input.shape.length - 1];
  const Din = Dfull / S, R = input.size / Dfull;
  if (!Number.isInteger(Nn) || !Number.isInteger(Din)) throw new ArgumentError(`headProj: heads ${o.heads} and input dim ${Dfull} must be multiples of subHeads ${S}`);
  if (w.size !== Nn * S * P * Din) throw new ArgumentError(`headProj: weight ${shapeStr(w.shape)} has ${w.size} values, expected ${Nn}*${S}*${P}*${Din}`);
  if (S === 1 || Nn === 1) return headProjMatmul(t, input, w, Nn, S, P, Din, layout);
  const widx = layout === 'nPsx' ? (n: number, s: number, p: number) => ((n * P + p) * S + s) * Din : (n: number, s: number, p: number) => ((n * S + s) * P + p) * Din;
  const HH = Nn * S;
  const X = input.data, W = w.data;
  const y = t.zeros(R * HH * P);
  for (let r = 0; r < R; r++) for (let n = 0; n < Nn; n++) for (let s = 0; s < S; s++) for (let p = 0; p < P; p++) {
    const wb = widx(n, s, p), xb = r * Dfull + s * Din;
    let acc = 0;
    for (let i = 0; i < Din; i++) acc += W[wb + i] * X[xb + i];
    y[(r * HH + n * S + s) * P + p] = acc;
  }
  return t.record(t.tensor([...input.shape.slice(0, -1), HH, P], y), [input, w], (dy) => {
    const gx = input.requiresGrad ? new Float64Array(input.size) : null, gw = w.requiresGrad ? new Float64Array(w.size) : null;
    for (let r = 0; r < R; r++) for (let n = 0; n < Nn; n++) for (let s = 0; s < S; s++) for (let p = 0; p < P; p++) {
      const g = dy[(r * HH + n * S + s) * P + p];
      if (g === 0) continue;
      const wb = widx(n, s, p), xb = r * Dfull + s * Din;
      if (gx) for (let i = 0; i < Din; i++) gx[xb + i] += g * W[wb + i];
      if (gw) for (let i = 0; i < Din; i++) gw[wb + i] += g * X[xb + i];
    }
    if (gx) t.accumulate(input, gx);
    if (gw) t.accumulate(w, gw);
  }, 'plstm.headProj');
}

/**
 * headProj as GEMMs on the tape's matmul (the wasm GEMM on an f32 tape): one linear for S = 1,
 * a batched product over the sub-heads for Nn = 1 (the official q/k/v default, sub_heads = heads).
 */
function headProjMatmul(t: Tape, input: Var, w: Var, Nn: number, S: number, P: number, Din: number, layout: HeadProjLayout): Var {
  const lead = input.shape.slice(0, -1), R = input.size / (S * Din);
  if (S === 1) {
    // both layouts are [Nn, P, Din] rows for S = 1
    const y = ag.linear(t, ag.reshape(t, input, [R, Din]), ag.reshape(t, w, [Nn * P, Din]));
    return ag.reshape(t, y, [...lead, Nn, P]);
  }
  // Nn = 1: per sub-head s a [Din -> P] map; weights as [S, P, Din]
  const ws = layout === 'nPsx' ? ag.permute(t, ag.reshape(t, w, [P, S, Din]), [1, 0, 2]) : ag.reshape(t, w, [S, P, Din]);
  const xs = ag.permute(t, ag.reshape(t, input, [R, S, Din]), [1, 0, 2]); // [S, R, Din]
  const y = ag.matmul(t, xs, ws, { transB: true }); // [S, R, P]
  return ag.reshape(t, ag.permute(t, y, [1, 0, 2]), [...lead, S, P]);
}

/**
 * Depthwise 2D convolution (official Convolution2DLayer): x [B, X, Y, C], w [C, 1, kx, ky], bias [C]
 * -> [B, X, Y, C]; output (x, y) sees inputs x-kx+1..x, y-ky+1..y (zero outside).
 */
export function conv2dDepthwise(t: Tape, x: Var, w: Var, bias: Var | null): Var {
  if (x.shape.length !== 4) throw new ArgumentError(`conv2dDepthwise: x must be [B, X, Y, C], got ${shapeStr(x.shape)}`);
  const [B, X, Y, C] = x.shape;
  if (w.shape.length !== 4 || w.shape[0] !== C || w.shape[1] !== 1) throw new ArgumentError(`conv2dDepthwise: weight must be [${C}, 1, kx, ky], got ${shapeStr(w.shape)}`);
  if (bias) expectShape('conv2dDepthwise: bias', bias, [C]);
  const kx = w.shape[2], ky = w.shape[3];
  const xd = x.data, wd = w.data, bd = bias?.data;
  const y = t.zeros(x.size);
  for (let b = 0; b < B; b++) for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) {
    const yo = ((b * X + i) * Y + j) * C;
    for (let c = 0; c < C; c++) {
      let acc = bd ? bd[c] : 0;
      for (let a = 0; a < kx; a++) {
        const xi = i - kx + 1 + a;
        if (xi < 0) continue;
        for (let e = 0; e < ky; e++) {
          const yj = j - ky + 1 + e;
          if (yj < 0) continue;
          acc += wd[(c * kx + a) * ky + e] * xd[((b * X + xi) * Y + yj) * C + c];
        }
      }
      y[yo + c] = acc;
    }
  }
  return t.record(t.tensor(x.shape, y), bias ? [x, w, bias] : [x, w], (dy) => {
    const gx = x.requiresGrad ? new Float64Array(x.size) : null, gw = w.requiresGrad ? new Float64Array(w.size) : null;
    const gb = bias?.requiresGrad ? new Float64Array(C) : null;
    for (let b = 0; b < B; b++) for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) {
      const yo = ((b * X + i) * Y + j) * C;
      for (let c = 0; c < C; c++) {
        const g = dy[yo + c];
        if (gb) gb[c] += g;
        for (let a = 0; a < kx; a++) {
          const xi = i - kx + 1 + a;
          if (xi < 0) continue;
          for (let e = 0; e < ky; e++) {
            const yj = j - ky + 1 + e;
            if (yj < 0) continue;
            const xo = ((b * X + xi) * Y + yj) * C + c, wo = (c * kx + a) * ky + e;
            if (gx) gx[xo] += g * wd[wo];
            if (gw) gw[wo] += g * xd[xo];
          }
        }
      }
    }
    if (gx) t.accumulate(x, gx);
    if (gw) t.accumulate(w, gw);
    if (gb) t.accumulate(bias!, gb);
  }, 'plstm.conv2d');
}

/**
 * Official 'exponential_orthogonalization': K = factor (A - A^T), E = sum_{k < order} K^k / k!
 * (the official code evaluates the same series with K scaled by max(||K||, 1) and the powers of the
 * norm folded back in, which is the same function). A [..., J, J] -> [..., J, J].
 */
export function expSkew(t: Tape, a: Var, factor: number, order: number): Var {
  const J = a.shape[a.shape.length - 1];
  if (a.shape[a.shape.length - 2] !== J) throw new ArgumentError(`expSkew: expected square matrices, got ${shapeStr(a.shape)}`);
  const R = a.size / (J * J), A = a.data;
  const JJ = J * J;
  const y = t.zeros(a.size);
  // powers P_k = K^k / k! kept for the backward pass
  const Ks = new Float64Array(R * JJ), Ps = new Float64Array(R * order * JJ);
  for (let r = 0; r < R; r++) {
    const K = Ks.subarray(r * JJ, (r + 1) * JJ);
    for (let i = 0; i < J; i++) for (let j = 0; j < J; j++) K[i * J + j] = factor * (A[r * JJ + i * J + j] - A[r * JJ + j * J + i]);
    const P = Ps.subarray(r * order * JJ, (r + 1) * order * JJ);
    for (let i = 0; i < J; i++) P[i * J + i] = 1;
    for (let k = 1; k < order; k++) for (let i = 0; i < J; i++) for (let j = 0; j < J; j++) {
      let acc = 0;
      for (let m = 0; m < J; m++) acc += P[(k - 1) * JJ + i * J + m] * K[m * J + j];
      P[k * JJ + i * J + j] = acc / k;
    }
    for (let k = 0; k < order; k++) for (let i = 0; i < JJ; i++) y[r * JJ + i] += P[k * JJ + i];
  }
  return t.record(t.tensor(a.shape, y), [a], (dy) => {
    const g = new Float64Array(a.size);
    const dP = new Float64Array(JJ), dPn = new Float64Array(JJ), dK = new Float64Array(JJ);
    for (let r = 0; r < R; r++) {
      const K = Ks.subarray(r * JJ, (r + 1) * JJ), P = Ps.subarray(r * order * JJ, (r + 1) * order * JJ);
      dK.fill(0);
      // dP_{order-1} = G; going down: dP_{k-1} = G + dP_k K^T / k, dK += P_{k-1}^T dP_k / k
      for (let i = 0; i < JJ; i++) dP[i] = dy[r * JJ + i];
      for (let k = order - 1; k >= 1; k--) {
        for (let i = 0; i < J; i++) for (let j = 0; j < J; j++) {
          let acc = 0, acc2 = 0;
          for (let m = 0; m < J; m++) { acc += dP[i * J + m] * K[j * J + m]; acc2 += P[(k - 1) * JJ + m * J + i] * dP[m * J + j]; }
          dPn[i * J + j] = dy[r * JJ + i * J + j] + acc / k;
          dK[i * J + j] += acc2 / k;
        }
        dP.set(dPn);
      }
      for (let i = 0; i < J; i++) for (let j = 0; j < J; j++) g[r * JJ + i * J + j] = factor * (dK[i * J + j] - dK[j * J + i]);
    }
    t.accumulate(a, g);
  }, 'plstm.expSkew');
}

/** T = A_out diag(e) A_in per row: out [R, J, J], e [R, J], in [R, J, J] -> [R, J, J]. */
export function transitionCombine(t: Tape, aOut: Var, e: Var, aIn: Var): Var {
  const J = e.shape[e.shape.length - 1], R = e.size / J, JJ = J * J;
  if (aOut.size !== R * JJ || aIn.size !== R * JJ) throw new ArgumentError(`transitionCombine: matrices ${shapeStr(aOut.shape)} / ${shapeStr(aIn.shape)} do not match eigenvalues ${shapeStr(e.shape)}`);
  const O = aOut.data, E = e.data, I = aIn.data;
  const y = t.zeros(R * JJ);
  for (let r = 0; r < R; r++) for (let a = 0; a < J; a++) for (let c = 0; c < J; c++) {
    let acc = 0;
    for (let b = 0; b < J; b++) acc += O[r * JJ + a * J + b] * E[r * J + b] * I[r * JJ + b * J + c];
    y[r * JJ + a * J + c] = acc;
  }
  return t.record(t.tensor(aOut.shape, y), [aOut, e, aIn], (dy) => {
    const gO = new Float64Array(R * JJ), gE = new Float64Array(R * J), gI = new Float64Array(R * JJ);
    for (let r = 0; r < R; r++) for (let a = 0; a < J; a++) for (let c = 0; c < J; c++) {
      const g = dy[r * JJ + a * J + c];
      if (g === 0) continue;
      for (let b = 0; b < J; b++) {
        const o = O[r * JJ + a * J + b], ev = E[r * J + b], iv = I[r * JJ + b * J + c];
        gO[r * JJ + a * J + b] += g * ev * iv;
        gE[r * J + b] += g * o * iv;
        gI[r * JJ + b * J + c] += g * o * ev;
      }
    }
    t.accumulate(aOut, gO); t.accumulate(e, gE); t.accumulate(aIn, gI);
  }, 'plstm.transitionCombine');
}

/** y[r, p] = s[r] * x[r, p]: s [R] (any shape with R values), x [R, P..] (any shape with R*P values). */
export function scaleRows(t: Tape, s: Var, x: Var): Var {
  const R = s.size, P = x.size / R;
  if (!Number.isInteger(P)) throw new ArgumentError(`scaleRows: ${shapeStr(x.shape)} is not a multiple of ${shapeStr(s.shape)}`);
  const sd = s.data, xd = x.data;
  const y = t.zeros(x.size);
  for (let r = 0; r < R; r++) for (let p = 0; p < P; p++) y[r * P + p] = sd[r] * xd[r * P + p];
  return t.record(t.tensor(x.shape, y), [s, x], (dy) => {
    if (s.requiresGrad) {
      const g = new Float64Array(R);
      for (let r = 0; r < R; r++) { let a = 0; for (let p = 0; p < P; p++) a += dy[r * P + p] * xd[r * P + p]; g[r] = a; }
      t.accumulate(s, g);
    }
    if (x.requiresGrad) {
      const g = new Float64Array(x.size);
      for (let r = 0; r < R; r++) for (let p = 0; p < P; p++) g[r * P + p] = dy[r * P + p] * sd[r];
      t.accumulate(x, g);
    }
  }, 'plstm.scaleRows');
}

/** Flips a [B, X, Y, ...] tensor along x and/or y (a copy). */
export function flip2d(t: Tape, x: Var, flipX: boolean, flipY: boolean): Var {
  if (!flipX && !flipY) return x;
  const [B, X, Y] = x.shape;
  const inner = x.size / (B * X * Y), d = x.data;
  const idx = (b: number, i: number, j: number) => ((b * X + (flipX ? X - 1 - i : i)) * Y + (flipY ? Y - 1 - j : j)) * inner;
  const y = t.zeros(x.size);
  for (let b = 0; b < B; b++) for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) {
    const o = ((b * X + i) * Y + j) * inner, s = idx(b, i, j);
    for (let e = 0; e < inner; e++) y[o + e] = d[s + e];
  }
  return t.record(t.tensor(x.shape, y), [x], (dy) => {
    const g = new Float64Array(x.size);
    for (let b = 0; b < B; b++) for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) {
      const o = ((b * X + i) * Y + j) * inner, s = idx(b, i, j);
      for (let e = 0; e < inner; e++) g[s + e] = dy[o + e];
    }
    t.accumulate(x, g);
  }, 'plstm.flip2d');
}

// ---- the scans ----

export type Plstm1dForm = 'recurrent' | 'chunkwise';

export interface Scan1dVars { q: Var; k: Var; v: Var; s: Var; t: Var; m: Var; d: Var; c0?: Var | null }

/**
 * The 1D kernel on the tape: q [B,S,H,DK,JQ], k [B,S,H,DK,JK], v [B,S,H,DV,JV], s [B,S,H,JT,JK,JV],
 * t [B,S,H,JT,JT], m [B,S,H,JO,JQ,JT], d [B,S,H,JO,JQ,JK,JV], c0 [B*H,DK,DV,JT] ->
 * y [B,S,H,DV,JO] and last [B*H,DK,DV,JT]. The gradient is the recurrent adjoint for both forms.
 */
export function scan1d(tp: Tape, x: Scan1dVars, o: { form?: Plstm1dForm; chunkSize?: number } = {}): { y: Var; last: Var } {
  const [B, S, H, DK, JQ] = x.q.shape;
  const DV = x.v.shape[3], JV = x.v.shape[4], JK = x.k.shape[4], JT = x.t.shape[3], JO = x.m.shape[3];
  const n: Scan1dDims = { B, S, H, DK, DV, JK, JQ, JV, JT, JO };
  expectShape('scan1d: q', x.q, [B, S, H, DK, JQ]);
  expectShape('scan1d: k', x.k, [B, S, H, DK, JK]);
  expectShape('scan1d: v', x.v, [B, S, H, DV, JV]);
  expectShape('scan1d: s', x.s, [B, S, H, JT, JK, JV]);
  expectShape('scan1d: t', x.t, [B, S, H, JT, JT]);
  expectShape('scan1d: m', x.m, [B, S, H, JO, JQ, JT]);
  expectShape('scan1d: d', x.d, [B, S, H, JO, JQ, JK, JV]);
  if (x.c0) expectShape('scan1d: initial state', x.c0, [B * H, DK, DV, JT]);
  const form = o.form ?? 'recurrent';
  if (form !== 'recurrent' && form !== 'chunkwise') throw new ArgumentError(`scan1d: form must be 'recurrent' or 'chunkwise', got ${JSON.stringify(form)}`);
  const ins: Scan1dInputs = { q: x.q.data, k: x.k.data, v: x.v.data, s: x.s.data, t: x.t.data, m: x.m.data, d: x.d.data, c0: x.c0 ? x.c0.data : null };
  const vars = [x.q, x.k, x.v, x.s, x.t, x.m, x.d, ...(x.c0 ? [x.c0] : [])];
  const needs = vars.some((v) => v.requiresGrad);
  let yArr: Float64Array, last: Float64Array, states: Float64Array | null = null;
  const chunk = o.chunkSize ?? 64;
  if (!Number.isInteger(chunk) || chunk < 1) throw new ArgumentError(`scan1d: chunkSize must be a positive integer, got ${chunk}`);
  if (form === 'recurrent') ({ y: yArr, last, states } = scan1dRecurrent(n, ins, needs));
  else ({ y: yArr, last } = scan1dChunkwise(n, ins, chunk));
  // y and last share one backward (one adjoint pass): a packed output, split by two slices
  const packed = tp.zeros(yArr.length + last.length);
  packed.set(yArr); packed.set(last, yArr.length);
  const all = tp.record(tp.tensor([packed.length], packed), vars, (dAll) => {
    // each form differentiates itself: the recurrent adjoint, or the chunkwise form's own backward
    const dY = dAll.subarray(0, yArr.length), dL = dAll.subarray(yArr.length);
    const g = form === 'recurrent' ? scan1dBackward(n, ins, states!, dY, dL) : scan1dChunkwiseBackward(n, ins, chunk, dY, dL);
    tp.accumulate(x.q, g.q); tp.accumulate(x.k, g.k); tp.accumulate(x.v, g.v); tp.accumulate(x.s, g.s);
    tp.accumulate(x.t, g.t); tp.accumulate(x.m, g.m); tp.accumulate(x.d, g.d);
    if (x.c0) tp.accumulate(x.c0, g.c0);
  }, `plstm.scan1d:${form}`);
  return { y: unpack(tp, all, 0, [B, S, H, DV, JO]), last: unpack(tp, all, yArr.length, [B * H, DK, DV, JT]) };
}

function unpack(tp: Tape, all: Var, off: number, shape: number[]): Var {
  const n = numel(shape), d = all.data;
  const y = tp.zeros(n);
  for (let i = 0; i < n; i++) y[i] = d[off + i];
  return tp.record(tp.tensor(shape, y), [all], (dy) => {
    const g = new Float64Array(all.size);
    for (let i = 0; i < n; i++) g[off + i] = dy[i];
    tp.accumulate(all, g);
  }, 'plstm.unpack');
}

export type Plstm2dForm = 'recurrent' | 'parallel';

export interface Scan2dVars {
  q: Var; k: Var; v: Var; sR: Var; sD: Var; tRL: Var; tDU: Var; tDL: Var | null; tRU: Var | null; mL: Var; mU: Var; d: Var | null;
}

/**
 * The 2D kernel on the tape: q [B,X,Y,H,DK,JQ], k [B,X,Y,H,DK,JK], v [B,X,Y,H,DV,JV], gates with G
 * gate heads: sR/sD [B,X,Y,G,JT,JK,JV], tRL/tDU/tDL/tRU [B,X,Y,G,JT,JT], mL/mU [B,X,Y,G,JO,JQ,JT],
 * d [B,X,Y,H,JO,JQ,JK,JV] -> y [B,X,Y,H,DV,JO] = sum over `orients` (+ the direct term once).
 * On an f32 tape the recurrent form runs the wasm SIMD kernels where they apply (all J dims 1,
 * DV a multiple of 4); `reference: true` forces the float64 reference instead.
 */
export function scan2d(tp: Tape, x: Scan2dVars, orients: readonly Scan2dOrientation[], o: { form?: Plstm2dForm; reference?: boolean } = {}): Var {
  const [B, X, Y, H, DK, JQ] = x.q.shape;
  const JK = x.k.shape[5], DV = x.v.shape[4], JV = x.v.shape[5];
  const G = x.sR.shape[3], JT = x.tRL.shape[4], JO = x.mL.shape[4];
  const n: Scan2dDims = { B, X, Y, H, G, DK, DV, JK, JQ, JV, JT, JO };
  expectShape('scan2d: k', x.k, [B, X, Y, H, DK, JK]);
  expectShape('scan2d: v', x.v, [B, X, Y, H, DV, JV]);
  for (const [nm, v] of [['sR', x.sR], ['sD', x.sD]] as const) expectShape(`scan2d: ${nm}`, v, [B, X, Y, G, JT, JK, JV]);
  for (const [nm, v] of [['tRL', x.tRL], ['tDU', x.tDU], ['tDL', x.tDL], ['tRU', x.tRU]] as const) if (v) expectShape(`scan2d: ${nm}`, v, [B, X, Y, G, JT, JT]);
  for (const [nm, v] of [['mL', x.mL], ['mU', x.mU]] as const) expectShape(`scan2d: ${nm}`, v, [B, X, Y, G, JO, JQ, JT]);
  if (x.d) expectShape('scan2d: d', x.d, [B, X, Y, H, JO, JQ, JK, JV]);
  for (const or of orients) {
    const hi = or.gateOffset + or.gateStride * (H - 1);
    if (or.gateOffset < 0 || hi >= G || hi < 0) throw new ArgumentError(`scan2d: orientation gate heads ${or.gateOffset}..${hi} out of range for ${G} gate heads`);
  }
  const form = o.form ?? 'recurrent';
  if (form !== 'recurrent' && form !== 'parallel') throw new ArgumentError(`scan2d: form must be 'recurrent' or 'parallel', got ${JSON.stringify(form)}`);
  if (tp.dtype === 'f32' && form === 'recurrent' && !o.reference && wasm2dSupported(n, orients)) return scan2dWasm(tp, n, x, orients);
  const ins: Scan2dInputs = {
    q: x.q.data, k: x.k.data, v: x.v.data, sR: x.sR.data, sD: x.sD.data, tRL: x.tRL.data, tDU: x.tDU.data,
    tDL: x.tDL ? x.tDL.data : null, tRU: x.tRU ? x.tRU.data : null, mL: x.mL.data, mU: x.mU.data, d: x.d ? x.d.data : null,
  };
  const vars = [x.q, x.k, x.v, x.sR, x.sD, x.tRL, x.tDU, x.mL, x.mU, ...(x.tDL ? [x.tDL] : []), ...(x.tRU ? [x.tRU] : []), ...(x.d ? [x.d] : [])];
  const needs = vars.some((v) => v.requiresGrad);
  let yArr: Float64Array, states: { R: Float64Array; U: Float64Array }[] | null = null;
  if (form === 'recurrent') ({ y: yArr, states } = scan2dRecurrent(n, ins, orients, needs));
  else yArr = scan2dParallel(n, ins, orients);
  return tp.record(tp.tensor([B, X, Y, H, DV, JO], yArr), vars, (dy) => {
    // each form differentiates itself: the recurrent adjoint, or the parallel form's own backward
    const g = form === 'recurrent' ? scan2dBackward(n, ins, orients, states!, dy) : scan2dParallelBackward(n, ins, orients, dy);
    tp.accumulate(x.q, g.q); tp.accumulate(x.k, g.k); tp.accumulate(x.v, g.v);
    tp.accumulate(x.sR, g.sR); tp.accumulate(x.sD, g.sD); tp.accumulate(x.tRL, g.tRL); tp.accumulate(x.tDU, g.tDU);
    if (x.tDL) tp.accumulate(x.tDL, g.tDL!);
    if (x.tRU) tp.accumulate(x.tRU, g.tRU!);
    tp.accumulate(x.mL, g.mL); tp.accumulate(x.mU, g.mU);
    if (x.d) tp.accumulate(x.d, g.d!);
  }, `plstm.scan2d:${form}`);
}

/** The recurrent 2D scan on the wasm kernels (f32 tape). */
function scan2dWasm(tp: Tape, n: Scan2dDims, x: Scan2dVars, orients: readonly Scan2dOrientation[]): Var {
  const be = tp.wasm;
  const vars = [x.q, x.k, x.v, x.sR, x.sD, x.tRL, x.tDU, x.mL, x.mU, ...(x.tDL ? [x.tDL] : []), ...(x.tRU ? [x.tRU] : []), ...(x.d ? [x.d] : [])];
  const up = uploadInputs(be, {
    q: x.q.value, k: x.k.value, v: x.v.value, sR: x.sR.value, sD: x.sD.value, tRL: x.tRL.value, tDU: x.tDU.value,
    tDL: x.tDL ? x.tDL.value : null, tRU: x.tRU ? x.tRU.value : null, mL: x.mL.value, mU: x.mU.value, d: x.d ? x.d.value : null,
  });
  const needs = vars.some((v) => v.requiresGrad);
  let fw: ReturnType<typeof scan2dForwardWasm>;
  try { fw = scan2dForwardWasm(be, n, up.ins, orients, needs); } catch (e) { up.release(); throw e; }
  const done = () => { up.release(); fw.stR.dispose(); fw.stU.dispose(); fw.zero.dispose(); };
  if (!needs) done(); // no backward will come
  return tp.record(fw.y, vars, (dy) => {
    try {
      const g = scan2dBackwardWasm(be, n, up.ins, orients, fw, dy as Float32Array);
      const give = (v: Var | null, t: Tensor | null) => { if (v && t) tp.accumulateOwned(v, t); else t?.dispose(); };
      give(x.q, g.q); give(x.k, g.k); give(x.v, g.v); give(x.sR, g.sR); give(x.sD, g.sD); give(x.tRL, g.tRL); give(x.tDU, g.tDU);
      give(x.tDL, g.tDL); give(x.tRU, g.tRU); give(x.mL, g.mL); give(x.mU, g.mU); give(x.d, g.d);
    } finally { done(); }
  }, 'plstm.scan2d:wasm');
}
