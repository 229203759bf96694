// FlashRNN cells on the tape. f32 tape: the wasm forward and backward kernels
// (src/xlstm/flashrnn/flashrnn.ts); f64 tape: the float64 reference (src/backend/ref/flashrnn.ts).
// The backward passes are hand-written; for the sLSTM `gradMode` picks the true derivative
// ('exact', default) or FlashRNN's manual backward with the stabiliser as a constant ('official'),
// as the mLSTM cells' gradMode does for their normaliser.
import { Tape, Var } from './tape.js';
import { slice } from './ops.js';
import { Tensor } from '../tensor/tensor.js';
import { ArgumentError } from '../errors.js';
import { FLASHRNN_CELLS, FlashRnnCell, FlashRnnGradMode, flashrnnBackwardRef, flashrnnForwardRef } from '../backend/ref/flashrnn.js';
import { checkCell, checkGradMode, flashrnnBackwardWasm, flashrnnDims, flashrnnForwardWasm, packFlashRnnWeights } from '../xlstm/flashrnn/flashrnn.js';

export interface FlashRnnCellOptions {
  cell: FlashRnnCell;
  /** sLSTM backward: 'exact' (default, true gradient) or 'official' (FlashRNN's manual backward, m constant). Other cells: one backward. */
  gradMode?: FlashRnnGradMode;
  /** Threads of the wasm kernels (f32 tape). */
  threads?: number;
}

/**
 * FlashRNN over a sequence: Wx [B, T, Gw, N, D], R [Gr, N, D, D], b [Gb, N, D], initial states
 * [S, B, 1, N, D] or [S, B, N, D] (null = zeros, no gradient) -> states [S, B, T, N, D] and
 * lastStates [S, B, 1, N, D], both differentiable (w.r.t. Wx, R, b and the initial states).
 */
export function flashrnn(t: Tape, Wx: Var, R: Var, b: Var, states0: Var | null, o: FlashRnnCellOptions): { states: Var; lastStates: Var } {
  if (!o || typeof o !== 'object') throw new ArgumentError(`flashrnn: options { cell: 'lstm' | 'gru' | 'elman' | 'slstm' } are required`);
  const cell = checkCell('flashrnn', o.cell);
  const mode = checkGradMode('flashrnn', o.gradMode);
  const d = flashrnnDims('flashrnn', cell, Wx.shape, R.shape, b.shape, states0 ? states0.shape : null);
  const { B, T, N, D } = d, S = FLASHRNN_CELLS[cell].states;
  const ins = [Wx, R, b, ...(states0 ? [states0] : [])];
  let out: Tensor;
  let backward: (dy: ArrayLike<number>) => { dWx: ArrayLike<number>; dR: ArrayLike<number>; db: ArrayLike<number>; dStates0: ArrayLike<number> };
  if (t.dtype === 'f64') {
    const st0 = states0 ? states0.data : null;
    const all = flashrnnForwardRef(cell, d, Wx.data, R.data, b.data, st0);
    out = t.tensor([S, B, T, N, D], all);
    backward = (dy) => flashrnnBackwardRef(cell, d, Wx.data, R.data, b.data, st0, dy, { states: all, gradMode: mode });
  } else {
    const be = t.wasm;
    const wx = be.upload(Wx.value);
    const st0 = be.zeros([S, B, N, D]);
    if (states0) (st0.data as Float32Array).set(states0.data);
    const w = packFlashRnnWeights(be, cell, d, R.data, b.data, ins.some((v) => v.requiresGrad));
    const needsGrad = ins.some((v) => v.requiresGrad);
    const fw = flashrnnForwardWasm(be, cell, d, wx, w, st0, o.threads, needsGrad);
    out = fw.states;
    if (!needsGrad) { w.dispose(); st0.dispose(); if (wx !== Wx.value) wx.dispose(); } // no backward will come
    const all = out, ry = fw.ry!;
    backward = (dy) => {
      try { return flashrnnBackwardWasm(be, cell, d, wx, w, st0, all, ry, dy, mode, o.threads); } finally {
        // the tape runs each backward once
        w.dispose(); st0.dispose(); ry.dispose();
        if (wx !== Wx.value) wx.dispose();
      }
    };
  }
  const states = t.record(out, ins, (dy) => {
    const g = backward(dy);
    t.accumulate(Wx, g.dWx); t.accumulate(R, g.dR); t.accumulate(b, g.db);
    if (states0) t.accumulate(states0, g.dStates0);
  }, `flashrnn:${cell}`);
  // last_states = states[:, :, T-1:]: its gradient joins that of states (one backward pass)
  const lastStates = slice(t, states, 2, T - 1, T);
  return { states, lastStates };
}
