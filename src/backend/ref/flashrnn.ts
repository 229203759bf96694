// Float64 reference of the FlashRNN cells (NX-AI/flashrnn, `vanilla` backend): LSTM, GRU, Elman
// and FlashRNN's sLSTM with head-wise (block-diagonal) recurrence, forward and backward through
// time. The wasm kernels (src/backend/wasm/assembly/flashrnn.ts) are the float32 form of this
// file and are tested against it; the golden case flashrnn_cells pins it to the official code.
//
// Layouts are the official API's (docs/FLASHRNN.md):
//   Wx [B, T, Gw, N, D]  gate pre-activations from the input (no bias)
//   R  [Gr, N, D, D]     R[g, n, o, p]: o = output unit, p = previous-hidden unit
//   b  [Gb, N, D]
//   states0 [S, B, N, D] (the API's [S, B, 1, N, D] without the T axis); states [S, B, T, N, D]
// State 0 is always the hidden state y that feeds the recurrence.

import { ArgumentError } from '../../errors.js';

export type FlashRnnCell = 'lstm' | 'gru' | 'elman' | 'slstm';

/**
 * 'exact' (default): the true derivative of the forward, including through the sLSTM stabiliser
 * m' = max(i~, m + logsigmoid(f~)) and the normaliser clamp max(f n + i, 1) (torch autograd
 * through the vanilla backend; at exact ties each argument of a max gets half, as torch.maximum).
 * 'official': the sLSTM manual backward of FlashRNN's `vanilla_fwbw` backend, which the CUDA and
 * Triton kernels implement: m is a constant (no gradient through it, dL/dm0 = 0, dL/dm ignored)
 * and the clamp passes the gradient straight through. The other cells have one backward.
 */
export type FlashRnnGradMode = 'exact' | 'official';

export interface FlashRnnCellSpec {
  /** Gates of R (recurrent), of Wx (input) and of b (bias), and the number of states. */
  gatesR: number; gatesW: number; gatesB: number; states: number;
  /** Names of the states in order (state 0 feeds the recurrence). */
  stateNames: readonly string[];
}

/** Per cell: gate and state counts of the official code (gru: b has a 4th, input-only candidate bias). */
export const FLASHRNN_CELLS: Readonly<Record<FlashRnnCell, FlashRnnCellSpec>> = {
  lstm: { gatesR: 4, gatesW: 4, gatesB: 4, states: 2, stateNames: ['h', 'c'] },
  gru: { gatesR: 3, gatesW: 3, gatesB: 4, states: 1, stateNames: ['h'] },
  elman: { gatesR: 1, gatesW: 1, gatesB: 1, states: 1, stateNames: ['h'] },
  slstm: { gatesR: 4, gatesW: 4, gatesB: 4, states: 4, stateNames: ['h', 'c', 'n', 'm'] },
};

export interface FlashRnnDims { B: number; T: number; N: number; D: number }

export interface FlashRnnGrads {
  /** [B, T, Gw, N, D] */ dWx: Float64Array;
  /** [Gr, N, D, D] */ dR: Float64Array;
  /** [Gb, N, D] */ db: Float64Array;
  /** [S, B, N, D] */ dStates0: Float64Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const logSigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

function checkLengths(fn: string, cell: FlashRnnCell, d: FlashRnnDims, Wx: ArrayLike<number>, R: ArrayLike<number>, b: ArrayLike<number>, states0: ArrayLike<number> | null): void {
  if (!Object.prototype.hasOwnProperty.call(FLASHRNN_CELLS, cell)) throw new ArgumentError(`${fn}: unknown cell '${cell}' (expected one of ${Object.keys(FLASHRNN_CELLS).join(', ')})`);
  const s = FLASHRNN_CELLS[cell];
  const { B, T, N, D } = d, ND = N * D;
  const want: [string, ArrayLike<number> | null, number][] = [
    ['Wx', Wx, B * T * s.gatesW * ND], ['R', R, s.gatesR * ND * D], ['b', b, s.gatesB * ND], ['states0', states0, s.states * B * ND],
  ];
  for (const [n, a, len] of want) if (a && a.length !== len) throw new ArgumentError(`${fn}: ${n} has ${a.length} values, ${cell} with B=${B} T=${T} N=${N} D=${D} needs ${len}`);
}

/** Whether every n entry of a [4, B, N, D] sLSTM state is exactly 0 (the official whole-tensor test). */
function allNZero(st: ArrayLike<number>, off: number, count: number): boolean {
  for (let i = 0; i < count; i++) if (st[off + i] !== 0) return false;
  return true;
}

/** Recurrent pre-activations Ry[g, o] = sum_p R[g, n, o, p] y[p] of one (batch, head). */
function recurrent(R: ArrayLike<number>, Gr: number, N: number, D: number, n: number, y: ArrayLike<number>, yOff: number, ry: Float64Array): void {
  for (let g = 0; g < Gr; g++) {
    for (let o = 0; o < D; o++) {
      const r0 = ((g * N + n) * D + o) * D;
      let s = 0;
      for (let p = 0; p < D; p++) s += R[r0 + p] * y[yOff + p];
      ry[g * D + o] = s;
    }
  }
}

/**
 * Every state after every step, [S, B, T, N, D] (float64). states0 null = zeros (`states=None`).
 */
export function flashrnnForwardRef(cell: FlashRnnCell, d: FlashRnnDims, Wx: ArrayLike<number>, R: ArrayLike<number>, b: ArrayLike<number>, states0: ArrayLike<number> | null): Float64Array {
  checkLengths('flashrnnForwardRef', cell, d, Wx, R, b, states0);
  const s = FLASHRNN_CELLS[cell];
  const { B, T, N, D } = d, ND = N * D, S = s.states;
  const out = new Float64Array(S * B * T * ND);
  // prev: the states of step t-1 as [S, B, N, D]
  let prev = states0 ? Float64Array.from(states0) : new Float64Array(S * B * ND);
  const ry = new Float64Array(s.gatesR * D);
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(S * B * ND);
    // Evaluated per step as the official code does; after step 0 n >= 1 holds everywhere.
    const firstAll = cell === 'slstm' && allNZero(prev, 2 * B * ND, B * ND);
    for (let bi = 0; bi < B; bi++) {
      for (let n = 0; n < N; n++) {
        const u0 = bi * ND + n * D; // offset of this (batch, head) in one state component
        recurrent(R, s.gatesR, N, D, n, prev, u0, ry);
        const wx = (g: number, k: number) => Wx[((bi * T + t) * s.gatesW + g) * ND + n * D + k];
        const bb = (g: number, k: number) => b[(g * N + n) * D + k];
        const st = (sI: number, k: number) => prev[sI * B * ND + u0 + k];
        const put = (sI: number, k: number, v: number) => { next[sI * B * ND + u0 + k] = v; };
        for (let k = 0; k < D; k++) {
          if (cell === 'elman') {
            put(0, k, Math.tanh(wx(0, k) + ry[k] + bb(0, k)));
          } else if (cell === 'gru') {
            const gg = ry[k] + bb(0, k);
            const r = sigmoid(wx(0, k) + ry[D + k] + bb(1, k));
            const z = sigmoid(wx(1, k) + ry[2 * D + k] + bb(2, k));
            const cand = Math.tanh(wx(2, k) + bb(3, k) + r * gg);
            put(0, k, z * st(0, k) + (1 - z) * cand);
          } else {
            const raw = (g: number) => wx(g, k) + ry[g * D + k] + bb(g, k);
            const iR = raw(0), fR = raw(1), zR = raw(2), oR = raw(3);
            if (cell === 'lstm') {
              const c = sigmoid(fR) * st(1, k) + sigmoid(iR) * Math.tanh(zR);
              put(0, k, sigmoid(oR) * Math.tanh(c)); put(1, k, c);
            } else {
              const lfm = st(3, k) + logSigmoid(fR);
              const m = firstAll ? iR : Math.max(iR, lfm);
              const ig = Math.exp(iR - m), fg = Math.exp(lfm - m);
              const c = fg * st(1, k) + ig * Math.tanh(zR);
              const nn = Math.max(fg * st(2, k) + ig, 1);
              put(0, k, sigmoid(oR) * (c / nn)); put(1, k, c); put(2, k, nn); put(3, k, m);
            }
          }
        }
      }
    }
    for (let sI = 0; sI < S; sI++) for (let bi = 0; bi < B; bi++) for (let i = 0; i < ND; i++) out[((sI * B + bi) * T + t) * ND + i] = next[(sI * B + bi) * ND + i];
    prev = next;
  }
  return out;
}

export interface FlashRnnBackwardRefOptions {
  /** [S, B, T, N, D] the forward's states (recomputed when omitted). */
  states?: ArrayLike<number>;
  /** [S, B, N, D] gradient of the last states (added to the gradient of states[:, :, T-1]). */
  dLast?: ArrayLike<number> | null;
  gradMode?: FlashRnnGradMode;
}

/** Weight of the gradient that max(a, c) passes to a: 1, 0, or 1/2 at a tie (torch.maximum). */
const maxShare = (a: number, c: number): number => (a > c ? 1 : a === c ? 0.5 : 0);

/**
 * Backward through time of L with dL/dstates = dStates [S, B, T, N, D] (and dL/dlast_states =
 * dLast): gradients of Wx, R, b and the initial states (float64).
 */
export function flashrnnBackwardRef(cell: FlashRnnCell, d: FlashRnnDims, Wx: ArrayLike<number>, R: ArrayLike<number>, b: ArrayLike<number>,
  states0: ArrayLike<number> | null, dStates: ArrayLike<number>, o: FlashRnnBackwardRefOptions = {}): FlashRnnGrads {
  checkLengths('flashrnnBackwardRef', cell, d, Wx, R, b, states0);
  const s = FLASHRNN_CELLS[cell];
  const { B, T, N, D } = d, ND = N * D, S = s.states, Gr = s.gatesR, Gw = s.gatesW;
  if (dStates.length !== S * B * T * ND) throw new ArgumentError(`flashrnnBackwardRef: dStates has ${dStates.length} values, expected [${S}, ${B}, ${T}, ${N}, ${D}]`);
  if (o.dLast && o.dLast.length !== S * B * ND) throw new ArgumentError(`flashrnnBackwardRef: dLast has ${o.dLast.length} values, expected [${S}, ${B}, ${N}, ${D}]`);
  const official = cell === 'slstm' && (o.gradMode ?? 'exact') === 'official';
  const st0 = states0 ?? new Float64Array(S * B * ND);
  const all = o.states ?? flashrnnForwardRef(cell, d, Wx, R, b, states0);
  const g: FlashRnnGrads = { dWx: new Float64Array(B * T * Gw * ND), dR: new Float64Array(R.length), db: new Float64Array(s.gatesB * ND), dStates0: new Float64Array(S * B * ND) };
  // carried gradient of the states of step t, [S, B, N, D]
  let carry = new Float64Array(S * B * ND);
  if (o.dLast) carry.set(o.dLast);
  const prevAt = (t: number, sI: number, u: number) => (t === 0 ? st0[sI * B * ND + u] : all[((sI * B + Math.floor(u / ND)) * T + t - 1) * ND + (u % ND)]);
  const curAt = (t: number, sI: number, u: number) => all[((sI * B + Math.floor(u / ND)) * T + t) * ND + (u % ND)];
  const ry = new Float64Array(Gr * D), yPrev = new Float64Array(D);
  const gRy = new Float64Array(Gr * D);
  for (let t = T - 1; t >= 0; t--) {
    const prevCarry = new Float64Array(S * B * ND);
    let firstAll = false;
    if (cell === 'slstm') { firstAll = true; for (let u = 0; u < B * ND && firstAll; u++) if (prevAt(t, 2, u) !== 0) firstAll = false; }
    for (let bi = 0; bi < B; bi++) {
      for (let n = 0; n < N; n++) {
        const u0 = bi * ND + n * D;
        for (let k = 0; k < D; k++) yPrev[k] = prevAt(t, 0, u0 + k);
        recurrent(R, Gr, N, D, n, yPrev, 0, ry);
        const wxI = (gI: number, k: number) => ((bi * T + t) * Gw + gI) * ND + n * D + k;
        const bb = (gI: number, k: number) => b[(gI * N + n) * D + k];
        const dOut = (sI: number, k: number) => carry[sI * B * ND + u0 + k] + dStates[((sI * B + bi) * T + t) * ND + n * D + k];
        const addPrev = (sI: number, k: number, v: number) => { prevCarry[sI * B * ND + u0 + k] += v; };
        const addB = (gI: number, k: number, v: number) => { g.db[(gI * N + n) * D + k] += v; };
        for (let k = 0; k < D; k++) {
          const gh = dOut(0, k);
          if (cell === 'elman') {
            const h = curAt(t, 0, u0 + k);
            const ga = gh * (1 - h * h);
            g.dWx[wxI(0, k)] = ga; gRy[k] = ga; addB(0, k, ga);
          } else if (cell === 'gru') {
            const gg = ry[k] + bb(0, k);
            const r = sigmoid(Wx[wxI(0, k)] + ry[D + k] + bb(1, k));
            const z = sigmoid(Wx[wxI(1, k)] + ry[2 * D + k] + bb(2, k));
            const cand = Math.tanh(Wx[wxI(2, k)] + bb(3, k) + r * gg);
            const ga = gh * (1 - z) * (1 - cand * cand);
            const gz = gh * (yPrev[k] - cand) * z * (1 - z);
            const gr = ga * gg * r * (1 - r);
            const ggate = ga * r;
            g.dWx[wxI(0, k)] = gr; g.dWx[wxI(1, k)] = gz; g.dWx[wxI(2, k)] = ga;
            gRy[k] = ggate; gRy[D + k] = gr; gRy[2 * D + k] = gz;
            addB(0, k, ggate); addB(1, k, gr); addB(2, k, gz); addB(3, k, ga);
            addPrev(0, k, gh * z);
          } else {
            const raw = (gI: number) => Wx[wxI(gI, k)] + ry[gI * D + k] + bb(gI, k);
            const iR = raw(0), fR = raw(1), zR = raw(2), oR = raw(3);
            const zg = Math.tanh(zR), og = sigmoid(oR);
            const c0 = prevAt(t, 1, u0 + k), c1 = curAt(t, 1, u0 + k);
            let gi: number, gf: number, gz: number, go: number;
            if (cell === 'lstm') {
              const ig = sigmoid(iR), fg = sigmoid(fR), tc = Math.tanh(c1);
              const gc = dOut(1, k) + gh * og * (1 - tc * tc);
              go = gh * tc * og * (1 - og);
              gi = gc * zg * ig * (1 - ig);
              gf = gc * c0 * fg * (1 - fg);
              gz = gc * ig * (1 - zg * zg);
              addPrev(1, k, gc * fg);
            } else {
              const n0 = prevAt(t, 2, u0 + k), m0 = prevAt(t, 3, u0 + k);
              const n1 = curAt(t, 2, u0 + k), m1 = curAt(t, 3, u0 + k);
              const lfm = m0 + logSigmoid(fR);
              const ig = Math.exp(iR - m1), fg = Math.exp(lfm - m1);
              const gc = dOut(1, k) + gh * og / n1;
              const gn = dOut(2, k) - gh * og * c1 / (n1 * n1);
              go = gh * (c1 / n1) * og * (1 - og);
              gz = gc * ig * (1 - zg * zg);
              const dfs = 1 - sigmoid(fR); // d logsigmoid(f~) / d f~
              addPrev(1, k, gc * fg);
              if (official) {
                gi = (gc * zg + gn) * ig;
                gf = (gc * c0 + gn * n0) * fg * dfs;
                addPrev(2, k, gn * fg);
              } else {
                const gu = gn * maxShare(fg * n0 + ig, 1);
                const dI = gc * zg + gu, dF = gc * c0 + gu * n0; // dL/d(i gate), dL/d(f gate)
                const gm = dOut(3, k) - dI * ig - dF * fg;       // total dL/dm'
                const aI = firstAll ? 1 : maxShare(iR, lfm);
                const gLfm = dF * fg + gm * (1 - aI);
                gi = dI * ig + gm * aI;
                gf = gLfm * dfs;
                addPrev(2, k, gu * fg);
                addPrev(3, k, gLfm);
              }
            }
            const gs = [gi, gf, gz, go];
            for (let gI = 0; gI < 4; gI++) { g.dWx[wxI(gI, k)] = gs[gI]; gRy[gI * D + k] = gs[gI]; addB(gI, k, gs[gI]); }
          }
        }
        // through the recurrence: dy_{t-1}[p] += sum R[g,n,o,p] gRy[g,o]; dR += gRy y_{t-1}^T
        for (let gI = 0; gI < Gr; gI++) {
          for (let oU = 0; oU < D; oU++) {
            const r0 = ((gI * N + n) * D + oU) * D, gv = gRy[gI * D + oU];
            for (let p = 0; p < D; p++) { prevCarry[u0 + p] += R[r0 + p] * gv; g.dR[r0 + p] += gv * yPrev[p]; }
          }
        }
      }
    }
    carry = prevCarry;
  }
  g.dStates0.set(carry);
  return g;
}
