// FlashRNN cells on the WebAssembly backend: `flashrnn(be, Wx, R, b, states, { cell })` with
// the official API's shapes (NX-AI/flashrnn, docs/FLASHRNN.md). One kernel call runs the whole
// sequence (src/backend/wasm/assembly/flashrnn.ts), threads split over (batch, head) pairs; the
// backward kernels serve the tape (src/autograd/flashrnn.ts). The float64 reference is
// src/backend/ref/flashrnn.ts.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { ArgumentError } from '../../errors.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { FLASHRNN_CELLS, FlashRnnCell, FlashRnnDims, FlashRnnGradMode } from '../../backend/ref/flashrnn.js';

export type { FlashRnnCell, FlashRnnDims, FlashRnnGradMode };

export interface FlashRnnOptions {
  cell: FlashRnnCell;
  /** Threads to use (default: the backend's, at most B*N, and 1 for tiny problems). */
  threads?: number;
}

export interface FlashRnnResult {
  /** [S, B, T, N, D]: every state after every step (state 0 = h). */
  states: Tensor;
  /** [S, B, 1, N, D]: the states after the last step. */
  lastStates: Tensor;
}

/** Kernel ids of the cells (the numbering of the AssemblyScript file). */
const CELL_ID: Record<FlashRnnCell, number> = { lstm: 0, gru: 1, elman: 2, slstm: 3 };
const FIRST_ALL = 1, OFFICIAL = 2;
/** Below this many multiply-adds a second thread costs more (dispatch ~25 us) than it saves. */
const MIN_FMAS_PER_EXTRA_THREAD = 1 << 20;

export function checkCell(fn: string, cell: unknown): FlashRnnCell {
  if (typeof cell !== 'string' || !Object.prototype.hasOwnProperty.call(FLASHRNN_CELLS, cell)) {
    throw new ArgumentError(`${fn}: unknown cell ${JSON.stringify(cell)}; expected one of ${Object.keys(FLASHRNN_CELLS).map((c) => `'${c}'`).join(', ')}`);
  }
  return cell as FlashRnnCell;
}

export function checkGradMode(fn: string, mode: unknown): FlashRnnGradMode {
  if (mode === undefined) return 'exact';
  if (mode !== 'exact' && mode !== 'official') throw new ArgumentError(`${fn}: gradMode must be 'exact' or 'official', got ${JSON.stringify(mode)}`);
  return mode;
}

/**
 * Validates the API shapes and returns the dims. Wx [B, T, Gw, N, D], R [Gr, N, D, D],
 * b [Gb, N, D], states [S, B, 1, N, D] or [S, B, N, D] (null: zeros).
 */
export function flashrnnDims(fn: string, cell: FlashRnnCell, wx: readonly number[], r: readonly number[], b: readonly number[], states: readonly number[] | null): FlashRnnDims {
  const s = FLASHRNN_CELLS[cell];
  if (wx.length !== 5) throw new ArgumentError(`${fn}: Wx must have shape [B, T, ${s.gatesW}, N, D] for ${cell}, got ${shapeStr(wx)}`);
  const [B, T, Gw, N, D] = wx;
  if (Gw !== s.gatesW) throw new ArgumentError(`${fn}: Wx must have ${s.gatesW} gates (axis 2) for ${cell}, got ${shapeStr(wx)}`);
  for (const [name, v] of [['B', B], ['T', T], ['N', N], ['D', D]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new ArgumentError(`${fn}: ${name} (from Wx ${shapeStr(wx)}) must be a positive integer, got ${v}`);
  }
  const same = (a: readonly number[], e: number[]) => a.length === e.length && a.every((x, i) => x === e[i]);
  if (!same(r, [s.gatesR, N, D, D])) throw new ArgumentError(`${fn}: R must have shape [${s.gatesR}, ${N}, ${D}, ${D}] ([gates, heads, D_out, D_in]) for ${cell} with Wx ${shapeStr(wx)}, got ${shapeStr(r)}`);
  if (!same(b, [s.gatesB, N, D])) throw new ArgumentError(`${fn}: b must have shape [${s.gatesB}, ${N}, ${D}] for ${cell} with Wx ${shapeStr(wx)}, got ${shapeStr(b)}`);
  if (states && !same(states, [s.states, B, 1, N, D]) && !same(states, [s.states, B, N, D])) {
    throw new ArgumentError(`${fn}: states must have shape [${s.states}, ${B}, 1, ${N}, ${D}] (${s.stateNames.join(', ')}) for ${cell} with Wx ${shapeStr(wx)}, got ${shapeStr(states)}`);
  }
  return { B, T, N, D };
}

/** R and b in the kernels' padded layouts (D rounded up to Dp = a multiple of 4 lanes). */
export interface FlashRnnPackedWeights {
  /** [N, D, Gr*Dp], rT[n, p, g*Dp + o] = R[g, n, o, p] (forward matvec) */ rT: Tensor;
  /** [N, Gr*D, Dp], rP[n, g*D + o, p] = R[g, n, o, p] (backward) or null */ rP: Tensor | null;
  /** [Gb, N, Dp] */ bP: Tensor;
  dispose(): void;
}

export function packFlashRnnWeights(be: WasmBackend, cell: FlashRnnCell, d: FlashRnnDims, R: ArrayLike<number>, b: ArrayLike<number>, withBackward: boolean): FlashRnnPackedWeights {
  const s = FLASHRNN_CELLS[cell];
  const { N, D } = d, Dp = (D + 3) & ~3, Gr = s.gatesR, W = Gr * Dp;
  const rT = be.zeros([N, D, W]), rt = rT.data as Float32Array;
  const rP = withBackward ? be.zeros([N, Gr * D, Dp]) : null, rp = rP?.data as Float32Array | undefined;
  for (let g = 0; g < Gr; g++) {
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < D; o++) {
        const src = ((g * N + n) * D + o) * D;
        for (let p = 0; p < D; p++) {
          const v = R[src + p];
          rt[(n * D + p) * W + g * Dp + o] = v;
          if (rp) rp[(n * Gr * D + g * D + o) * Dp + p] = v;
        }
      }
    }
  }
  const bP = be.zeros([s.gatesB, N, Dp]), bp = bP.data as Float32Array;
  for (let gn = 0; gn < s.gatesB * N; gn++) for (let k = 0; k < D; k++) bp[gn * Dp + k] = b[gn * D + k];
  return { rT, rP, bP, dispose: () => { rT.dispose(); rP?.dispose(); bP.dispose(); } };
}

function threadCount(be: WasmBackend, cell: FlashRnnCell, d: FlashRnnDims, threads: number | undefined): number {
  const work = d.B * d.T * d.N * FLASHRNN_CELLS[cell].gatesR * d.D * d.D;
  let nt = Math.min(threads ?? be.threads, be.threads, d.B * d.N);
  if (threads === undefined) nt = Math.min(nt, Math.floor(work / MIN_FMAS_PER_EXTRA_THREAD));
  return Math.max(1, Math.floor(nt));
}

/** Whether the whole initial n tensor is 0, which makes the official sLSTM take m = i~ at its first step. */
function firstAllFlag(cell: FlashRnnCell, d: FlashRnnDims, st0: Float32Array): number {
  if (cell !== 'slstm') return 0;
  const ND = d.B * d.N * d.D;
  for (let i = 2 * ND; i < 3 * ND; i++) if (st0[i] !== 0) return 0;
  return FIRST_ALL;
}

/** f32 heap copy of a tensor (the tensor itself when it already is one). */
function heapF32(be: WasmBackend, t: Tensor): Tensor {
  return t.dtype === 'f32' ? be.upload(t) : be.upload(new Tensor('f32', t.shape, t.toFloat32()));
}

/** Forward kernel: states [S, B, T, N, D] from heap f32 Wx and initial states [S, B, N, D]. */
export function flashrnnForwardWasm(be: WasmBackend, cell: FlashRnnCell, d: FlashRnnDims, wx: Tensor, w: FlashRnnPackedWeights, st0: Tensor, threads?: number): Tensor {
  const { B, T, N, D } = d, S = FLASHRNN_CELLS[cell].states, Dp = (D + 3) & ~3;
  const out = be.empty([S, B, T, N, D]);
  const nt = threadCount(be, cell, d, threads);
  const scratch = be.empty([nt * 16 * Dp]);
  try {
    be.run('flashrnnForward', [CELL_ID[cell], be.ptr(wx), be.ptr(w.rT), be.ptr(w.bP), be.ptr(st0), be.ptr(out), be.ptr(scratch),
      B, T, N, D, firstAllFlag(cell, d, st0.data as Float32Array)], nt);
  } finally { scratch.dispose(); }
  return out;
}

/**
 * FlashRNN forward: Wx [B, T, Gw, N, D], R [Gr, N, D, D], b [Gb, N, D], states [S, B, 1, N, D]
 * (or [S, B, N, D]; null/undefined = zeros) -> every state [S, B, T, N, D] and the last [S, B, 1, N, D].
 */
export function flashrnn(be: WasmBackend, Wx: Tensor, R: Tensor, b: Tensor, states: Tensor | null | undefined, opts: FlashRnnOptions): FlashRnnResult {
  if (!opts || typeof opts !== 'object') throw new ArgumentError(`flashrnn: options { cell: 'lstm' | 'gru' | 'elman' | 'slstm' } are required`);
  const cell = checkCell('flashrnn', opts.cell);
  const d = flashrnnDims('flashrnn', cell, Wx.shape, R.shape, b.shape, states ? states.shape : null);
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new ArgumentError(`flashrnn: threads must be a positive integer, got ${opts.threads}`);
  const { B, T, N, D } = d, S = FLASHRNN_CELLS[cell].states;
  const wx = heapF32(be, Wx);
  const st0 = be.zeros([S, B, N, D]);
  if (states) (st0.data as Float32Array).set(states.toFloat32());
  const w = packFlashRnnWeights(be, cell, d, R.toFloat32(), b.toFloat32(), false);
  try {
    const all = flashrnnForwardWasm(be, cell, d, wx, w, st0, opts.threads);
    const lastStates = be.empty([S, B, 1, N, D]);
    const a = all.data as Float32Array, l = lastStates.data as Float32Array, ND = N * D;
    for (let sb = 0; sb < S * B; sb++) l.set(a.subarray((sb * T + T - 1) * ND, (sb * T + T) * ND), sb * ND);
    return { states: all, lastStates };
  } finally {
    w.dispose(); st0.dispose();
    if (wx !== Wx) wx.dispose();
  }
}

export interface FlashRnnWasmGrads {
  /** [B, T, Gw, N, D] */ dWx: Float32Array;
  /** [Gr, N, D, D] */ dR: Float32Array;
  /** [Gb, N, D] */ db: Float32Array;
  /** [S, B, N, D] */ dStates0: Float32Array;
}

/**
 * Backward kernels: gradients of Wx, R, b and the initial states from dStates = dL/dstates
 * [S, B, T, N, D] (the last states' gradient already added at t = T-1), given the forward's
 * heap tensors (Wx, packed weights with rP, initial states, every state).
 */
export function flashrnnBackwardWasm(be: WasmBackend, cell: FlashRnnCell, d: FlashRnnDims, wx: Tensor, w: FlashRnnPackedWeights, st0: Tensor, states: Tensor,
  dStates: ArrayLike<number>, gradMode: FlashRnnGradMode, threads?: number): FlashRnnWasmGrads {
  if (!w.rP) throw new Error('flashrnnBackwardWasm: the packed weights were made without the backward layout');
  const s = FLASHRNN_CELLS[cell];
  const { B, T, N, D } = d, S = s.states, Dp = (D + 3) & ~3, ND = N * D, Gr = s.gatesR, Gw = s.gatesW;
  const nt = threadCount(be, cell, d, threads);
  const dS = be.empty([S, B, T, N, D]);
  (dS.data as Float32Array).set(dStates);
  const dWx = be.empty([B, T, Gw, N, D]);
  const dRy = cell === 'gru' ? be.empty([B, T, Gr, N, D]) : null;
  const dSt0 = be.empty([S, B, N, D]);
  const dR = be.empty([Gr, N, D, D]);
  const scratch = be.empty([nt * 32 * Dp]);
  try {
    const flags = firstAllFlag(cell, d, st0.data as Float32Array) | (cell === 'slstm' && gradMode === 'official' ? OFFICIAL : 0);
    be.run('flashrnnBackward', [CELL_ID[cell], be.ptr(wx), be.ptr(w.rT), be.ptr(w.rP), be.ptr(w.bP), be.ptr(st0), be.ptr(states), be.ptr(dS),
      be.ptr(dWx), dRy ? be.ptr(dRy) : 0, be.ptr(dSt0), be.ptr(scratch), B, T, N, D, flags], nt);
    const ryGrad = dRy ?? dWx;
    const rows = Gr * ND;
    const ntW = Math.max(1, Math.min(threads ?? be.threads, be.threads, rows, Math.floor((B * T * rows * D) / MIN_FMAS_PER_EXTRA_THREAD) || 1));
    be.run('flashrnnWeightGrad', [be.ptr(ryGrad), be.ptr(states), be.ptr(st0), be.ptr(dR), B, T, N, D, Gr], ntW);
    // db: sums over (batch, time) of the gate gradients; the GRU's b = (g, r, z, n) takes g
    // from R y's gradient and r, z, n from Wx's
    const gw = dWx.data as Float32Array, gr = ryGrad.data as Float32Array;
    const db = new Float32Array(s.gatesB * ND), acc = new Float64Array(ND);
    for (let g = 0; g < s.gatesB; g++) {
      const [src, gs, G] = cell === 'gru' ? (g === 0 ? [gr, 0, Gr] : [gw, g - 1, Gw]) : [gw, g, Gw];
      acc.fill(0);
      for (let bt = 0; bt < B * T; bt++) { const o = (bt * G + gs) * ND; for (let i = 0; i < ND; i++) acc[i] += src[o + i]; }
      for (let i = 0; i < ND; i++) db[g * ND + i] = acc[i];
    }
    return { dWx: (dWx.data as Float32Array).slice(), dR: (dR.data as Float32Array).slice(), db, dStates0: (dSt0.data as Float32Array).slice() };
  } finally {
    for (const x of [dS, dWx, dRy, dSt0, dR, scratch]) x?.dispose();
  }
}
