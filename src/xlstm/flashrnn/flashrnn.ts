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
  /**
   * R and b already packed by packFlashRnnWeights (for repeated calls with the same weights;
   * R and b are then only checked for their shapes). Default: packed per call.
   */
  packed?: FlashRnnPackedWeights;
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

/** R and b in the kernels' padded, blocked layouts (made once, reusable across calls with the same R and b). */
export interface FlashRnnPackedWeights {
  readonly cell: FlashRnnCell;
  readonly numHeads: number;
  readonly headDim: number;
  /** [N, Wp/16, D, 16]: column g*Dp + o of row p = R[g, n, o, p] (forward matvec; Dp = D rounded up to 4, Wp = Gr*Dp rounded up to 16) */ rT: Tensor;
  /** [N, Dq/16, Gr*D, 16]: R[g, n, o, p] at [n, p/16, g*D + o, p%16] (backward; Dq = D rounded up to 16), or null */ rP: Tensor | null;
  /** [Gb, N, Dp] */ bP: Tensor;
  dispose(): void;
}

/** Packs R [Gr, N, D, D] and b [Gb, N, D] for the kernels (withBackward: also the backward's layout of R). */
export function packFlashRnnWeights(be: WasmBackend, cell: FlashRnnCell, d: Pick<FlashRnnDims, 'N' | 'D'>, R: ArrayLike<number>, b: ArrayLike<number>, withBackward = false): FlashRnnPackedWeights {
  const s = FLASHRNN_CELLS[cell];
  const { N, D } = d, Dp = (D + 3) & ~3, Gr = s.gatesR, Wp = (Gr * Dp + 15) & ~15, Dq = (D + 15) & ~15, GD = Gr * D;
  if (R.length !== Gr * N * D * D || b.length !== s.gatesB * N * D) throw new ArgumentError(`packFlashRnnWeights: ${cell} with N=${N} D=${D} needs R [${Gr}, ${N}, ${D}, ${D}] and b [${s.gatesB}, ${N}, ${D}], got ${R.length} and ${b.length} values`);
  const rT = be.zeros([N, Wp / 16, D, 16]), rt = rT.data as Float32Array;
  const rP = withBackward ? be.zeros([N, Dq / 16, GD, 16]) : null, rp = rP?.data as Float32Array | undefined;
  for (let g = 0; g < Gr; g++) {
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < D; o++) {
        const src = ((g * N + n) * D + o) * D, col = g * Dp + o;
        const tBase = (n * (Wp >> 4) + (col >> 4)) * D * 16 + (col & 15);
        const j = g * D + o;
        for (let p = 0; p < D; p++) {
          const v = R[src + p];
          rt[tBase + p * 16] = v;
          if (rp) rp[((n * (Dq >> 4) + (p >> 4)) * GD + j) * 16 + (p & 15)] = v;
        }
      }
    }
  }
  const bP = be.zeros([s.gatesB, N, Dp]), bp = bP.data as Float32Array;
  for (let gn = 0; gn < s.gatesB * N; gn++) for (let k = 0; k < D; k++) bp[gn * Dp + k] = b[gn * D + k];
  return { cell, numHeads: N, headDim: D, rT, rP, bP, dispose: () => { rT.dispose(); rP?.dispose(); bP.dispose(); } };
}

/** Floats per scratch section of the kernels (4*Dp + 32, see flashrnn.ts in assembly/). */
const section = (D: number): number => 4 * ((D + 3) & ~3) + 32;

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

/**
 * Forward kernel: states [S, B, T, N, D] from heap f32 Wx and initial states [S, B, N, D]; with
 * keepRy also R y_{t-1} of every step, [B, T, Gr, N, D] (what flashrnnBackwardWasm needs).
 */
export function flashrnnForwardWasm(be: WasmBackend, cell: FlashRnnCell, d: FlashRnnDims, wx: Tensor, w: FlashRnnPackedWeights, st0: Tensor, threads?: number, keepRy = false): { states: Tensor; ry: Tensor | null } {
  const { B, T, N, D } = d, S = FLASHRNN_CELLS[cell].states;
  const out = be.empty([S, B, T, N, D]);
  const ry = keepRy ? be.empty([B, T, FLASHRNN_CELLS[cell].gatesR, N, D]) : null;
  const nt = threadCount(be, cell, d, threads);
  const scratch = be.empty([nt * 3 * section(D)]);
  try {
    be.run('flashrnnForward', [CELL_ID[cell], be.ptr(wx), be.ptr(w.rT), be.ptr(w.bP), be.ptr(st0), be.ptr(out), ry ? be.ptr(ry) : 0, be.ptr(scratch),
      B, T, N, D, firstAllFlag(cell, d, st0.data as Float32Array)], nt);
  } finally { scratch.dispose(); }
  return { states: out, ry };
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
  const pk = opts.packed;
  if (pk && (pk.cell !== cell || pk.numHeads !== N || pk.headDim !== D)) throw new ArgumentError(`flashrnn: packed weights are for ${pk.cell} N=${pk.numHeads} D=${pk.headDim}, the call is ${cell} N=${N} D=${D}`);
  const w = pk ?? packFlashRnnWeights(be, cell, d, R.toFloat32(), b.toFloat32(), false);
  try {
    const all = flashrnnForwardWasm(be, cell, d, wx, w, st0, opts.threads).states;
    const lastStates = be.empty([S, B, 1, N, D]);
    const a = all.data as Float32Array, l = lastStates.data as Float32Array, ND = N * D;
    for (let sb = 0; sb < S * B; sb++) l.set(a.subarray((sb * T + T - 1) * ND, (sb * T + T) * ND), sb * ND);
    return { states: all, lastStates };
  } finally {
    if (!pk) w.dispose();
    st0.dispose();
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
 * heap tensors (Wx, packed weights with rP, initial states, every state, R y of every step).
 */
export function flashrnnBackwardWasm(be: WasmBackend, cell: FlashRnnCell, d: FlashRnnDims, wx: Tensor, w: FlashRnnPackedWeights, st0: Tensor, states: Tensor, ry: Tensor,
  dStates: ArrayLike<number>, gradMode: FlashRnnGradMode, threads?: number): FlashRnnWasmGrads {
  if (!w.rP) throw new Error('flashrnnBackwardWasm: the packed weights were made without the backward layout');
  const s = FLASHRNN_CELLS[cell];
  const { B, T, N, D } = d, S = s.states, ND = N * D, Gr = s.gatesR, Gw = s.gatesW;
  const nt = threadCount(be, cell, d, threads);
  // an f32 tape hands over heap gradients: used in place, else copied onto the heap
  const inPlace = dStates instanceof Float32Array && be.heap.owns(dStates) && dStates.length === S * B * T * ND;
  const dS = inPlace ? null : be.empty([S, B, T, N, D]);
  if (dS) (dS.data as Float32Array).set(dStates);
  const dWx = be.empty([B, T, Gw, N, D]);
  const dRy = cell === 'gru' ? be.empty([B, T, Gr, N, D]) : null;
  const dSt0 = be.empty([S, B, N, D]);
  const dR = be.empty([Gr, N, D, D]);
  const scratch = be.empty([nt * 9 * section(D)]);
  try {
    const flags = firstAllFlag(cell, d, st0.data as Float32Array) | (cell === 'slstm' && gradMode === 'official' ? OFFICIAL : 0);
    be.run('flashrnnBackward', [CELL_ID[cell], be.ptr(wx), be.ptr(ry), be.ptr(w.rP), be.ptr(w.bP), be.ptr(st0), be.ptr(states), dS ? be.ptr(dS) : be.ptr(dStates as Float32Array),
      be.ptr(dWx), dRy ? be.ptr(dRy) : 0, be.ptr(dSt0), be.ptr(scratch), B, T, N, D, flags], nt);
    const ryGrad = dRy ?? dWx;
    const rows = Gr * ND;
    let ntW = Math.min(threads ?? be.threads, be.threads, rows);
    if (threads === undefined) ntW = Math.min(ntW, Math.floor((B * T * rows * D) / MIN_FMAS_PER_EXTRA_THREAD));
    ntW = Math.max(1, ntW);
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
