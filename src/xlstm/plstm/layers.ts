// The pLSTM layers on the tape: pLSTM1DLayer, pLSTM2DLayer (P/D) and pLSTM2DLayerFused (P/D).
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { shapeStr } from '../../tensor/dtype.js';
import { ArgumentError } from '../../errors.js';
import type { PLstm1dConfig, PLstm2dConfig, PLstmCommonConfig } from './config.js';
import type { PLstmParams } from './params.js';
import { gate, multiHeadRmsNorm, orientationGate, param, projection, transition } from './sublayers.js';
import { Plstm1dForm, Plstm2dForm, conv2dDepthwise, scaleRows, scan1d, scan2d } from './tapeOps.js';
import type { Scan2dOrientation } from '../../backend/ref/plstm.js';

export interface Plstm1dOptions {
  /** 'recurrent' (default: the reference form, fastest on a CPU) or 'chunkwise' (the parallel form). Same values and gradients. */
  form?: Plstm1dForm;
  /** Positions per chunk of the chunkwise form (default 64). */
  chunkSize?: number;
  /** Initial state C0 [B*H, DK, DV, JT] (row b*H + h), official `initial_state`. */
  initialState?: Var | null;
}

/** Which input feeds a part: the convolution output when its letter is in convolutionInputs (official substring test). */
function partInput(cfg: PLstmCommonConfig, x: Var, c: Var | null, part: string): Var {
  return c && cfg.convolutionInputs.includes(part) ? c : x;
}

function checkInput(what: string, x: Var, rank: number, D: number, layout: string): void {
  if (x.shape.length !== rank || x.shape[rank - 1] !== D || x.shape.some((d) => !Number.isInteger(d) || d < 1)) throw new ArgumentError(`${what}: x must have shape ${layout} with D = ${D}, got ${shapeStr(x.shape)}`);
}

/**
 * pLSTM1DLayer: x [B, S, D] -> y [B, S, D] and the last state [B*H, DK, DV, JT]. Any S (the official
 * layer only works for powers of two; for those the results agree).
 */
export function plstm1d(t: Tape, x: Var, p: PLstmParams, cfg: PLstm1dConfig, o: Plstm1dOptions = {}): { y: Var; state: Var } {
  checkInput('plstm1d', x, 3, cfg.inputDim, '[B, S, D]');
  const [B, S, D] = x.shape;
  const { numHeads: H, DK, DV, JK, JQ, JV, JT, JO } = cfg;
  const R = B * S;
  const c = cfg.convolution ? ag.causalConv1d(t, x, param(p, 'conv._conv.weight'), cfg.convolution.bias ? param(p, 'conv._conv.bias') : undefined) : null;
  const rows = (part: string) => ag.reshape(t, partInput(cfg, x, c, part), [R, D]);
  const q = projection(t, rows('Q'), p, 'query', cfg.query, DK, JQ);
  const k = cfg.tieQueryKey ? q : projection(t, rows('K'), p, 'key', cfg.key, DK, JK);
  const v = projection(t, rows('V'), p, 'value_', cfg.value, DV, JV);
  const s = gate(t, rows('S'), p, 'source', cfg.source, JT * JK * JV);
  const tr = transition(t, rows('T'), p, 'transition', cfg.transition);
  const m = gate(t, rows('M'), p, 'mark', cfg.mark, JO * JQ * JT);
  const d = gate(t, rows('D'), p, 'direct', cfg.direct, JO * JQ * JK * JV);
  const sh = (v: Var, ...inner: number[]) => ag.reshape(t, v, [B, S, H, ...inner]);
  const scan = scan1d(t, {
    q: sh(q, DK, JQ), k: sh(k, DK, JK), v: sh(v, DV, JV), s: sh(s, JT, JK, JV), t: sh(tr, JT, JT), m: sh(m, JO, JQ, JT), d: sh(d, JO, JQ, JK, JV),
    c0: o.initialState ?? null,
  }, { form: o.form, chunkSize: o.chunkSize });
  let y = ag.reshape(t, scan.y, [R, H, DV * JO]);
  if (cfg.mhnorm) y = multiHeadRmsNorm(t, y, p, cfg.mhnorm);
  y = ag.reshape(t, y, [B, S, H * DV * JO]);
  if (cfg.outprojection) y = ag.linear(t, y, param(p, 'outprojection.weight'), cfg.outprojectionBias ? param(p, 'outprojection.bias') : undefined);
  if (cfg.passthrough) y = ag.add(t, y, ag.mul(t, partInput(cfg, x, c, 'P'), param(p, 'passthrough.scale')));
  return { y, state: scan.last };
}

export interface Plstm2dOptions {
  /** 'recurrent' (default, the reference form, cell by cell) or 'parallel' (the gating-matrix form). Same values and gradients. */
  form?: Plstm2dForm;
}

/** Scan directions of the non-fused layer (official flips: x if o is odd, y if (o >> 2) is odd). */
export function orientationFlips(o: number): { flipX: boolean; flipY: boolean } {
  return { flipX: o % 2 === 1, flipY: (o >> 2) % 2 === 1 };
}

/**
 * pLSTM2DLayer (cfg.fused false) or pLSTM2DLayerFused (cfg.fused true), mode P or D:
 * x [B, X, Y, D] -> y [B, X, Y, D]. Any X, Y >= 1 (the official fused layer fails when padding makes
 * more than one block, e.g. X=6, Y=8; padded cells never change the kept outputs, so none is needed here).
 */
export function plstm2d(t: Tape, x: Var, p: PLstmParams, cfg: PLstm2dConfig, o: Plstm2dOptions = {}): Var {
  checkInput('plstm2d', x, 4, cfg.inputDim, '[B, X, Y, D]');
  const [B, X, Y, D] = x.shape;
  const { numHeads: H, DK, DV, JK, JQ, JV, JT, JO } = cfg;
  const R = B * X * Y;
  const nO = cfg.fused ? 4 : cfg.orientationCombinations.length;
  const G = nO * H;
  const c = cfg.convolution ? conv2dDepthwise(t, x, param(p, 'convolution._conv.weight'), cfg.convolution.bias ? param(p, 'convolution._conv.bias') : null) : null;
  const rows = (part: string) => ag.reshape(t, partInput(cfg, x, c, part), [R, D]);
  const q = projection(t, rows('Q'), p, 'query', cfg.query, DK, JQ);
  const k = cfg.tieQueryKey ? q : projection(t, rows('K'), p, 'key', cfg.key, DK, JK);
  const v = projection(t, rows('V'), p, 'value_', cfg.value, DV, JV);
  const d = gate(t, rows('D'), p, 'direct', cfg.direct, JO * JQ * JK * JV);
  const SP = JT * JK * JV, MP = JO * JQ * JT, TP = JT * JT;
  let sR: Var, sD: Var, tRL: Var, tDU: Var, tDL: Var | null, tRU: Var | null, mL: Var, mU: Var;
  if (cfg.mode === 'P') {
    const or = orientationGate(t, rows('O'), p, nO, H, cfg.pmodeOrientationScale); // [R, G]
    sR = scaleRows(t, or, gate(t, rows('S'), p, 'source', cfg.source, SP));
    sD = ag.add(t, ag.scale(t, sR, -1), 1);
    tRL = scaleRows(t, or, transition(t, rows('T'), p, 'transition', cfg.transition));
    tRU = tRL;
    tDU = ag.add(t, ag.scale(t, tRL, -1), 1);
    tDL = tDU;
    mL = gate(t, rows('M'), p, 'mark', cfg.mark, MP);
    mU = mL;
  } else {
    sR = gate(t, rows('S'), p, 'source_r', cfg.source, SP);
    sD = gate(t, rows('S'), p, 'source_d', cfg.source, SP);
    tRL = transition(t, rows('T'), p, 'transition_r', cfg.transition);
    tDU = transition(t, rows('T'), p, 'transition_d', cfg.transition);
    const tRD = transition(t, rows('T'), p, 'transition_rd', cfg.transition);
    tRU = cfg.chirality === 'R' ? null : tRD;
    tDL = cfg.chirality === 'L' ? null : tRD;
    mL = gate(t, rows('M'), p, 'mark_l', cfg.mark, MP);
    mU = gate(t, rows('M'), p, 'mark_u', cfg.mark, MP);
  }
  const sh = (v: Var, heads: number, ...inner: number[]) => ag.reshape(t, v, [B, X, Y, heads, ...inner]);
  const vars = {
    q: sh(q, H, DK, JQ), k: sh(k, H, DK, JK), v: sh(v, H, DV, JV),
    sR: sh(sR, G, JT, JK, JV), sD: sh(sD, G, JT, JK, JV), tRL: sh(tRL, G, JT, JT), tDU: sh(tDU, G, JT, JT),
    tDL: tDL ? sh(tDL, G, JT, JT) : null, tRU: tRU ? sh(tRU, G, JT, JT) : null,
    mL: sh(mL, G, JO, JQ, JT), mU: sh(mU, G, JO, JQ, JT), d: sh(d, H, JO, JQ, JK, JV),
  };
  const norm = (y: Var) => {
    const yr = ag.reshape(t, y, [R, H, DV * JO]);
    return cfg.mhnorm ? multiHeadRmsNorm(t, yr, p, cfg.mhnorm) : yr;
  };
  let y: Var;
  if (cfg.fused) {
    // gate head j drives q/k/v head j >> 2 in orientation j % 4 (official reshape of the 4H gate heads)
    const orients: Scan2dOrientation[] = [0, 1, 2, 3].map((oo) => ({ gateOffset: oo, gateStride: 4, flipX: oo === 1 || oo === 3, flipY: oo === 2 || oo === 3 }));
    y = norm(scan2d(t, vars, orients, { form: o.form }));
  } else {
    let sum: Var | null = null;
    for (const [idx, oc] of cfg.orientationCombinations.entries()) {
      const yo = norm(scan2d(t, vars, [{ gateOffset: idx * H, gateStride: 1, ...orientationFlips(oc) }], { form: o.form }));
      sum = sum ? ag.add(t, sum, yo) : yo;
    }
    y = ag.scale(t, sum!, 1 / nO);
  }
  y = ag.reshape(t, y, [B, X, Y, H * DV * JO]);
  if (cfg.outprojection) y = ag.linear(t, y, param(p, 'outprojection.weight'), cfg.outprojectionBias ? param(p, 'outprojection.bias') : undefined);
  if (cfg.passthrough) y = ag.add(t, y, ag.mul(t, x, param(p, 'passthrough.scale')));
  return y;
}
