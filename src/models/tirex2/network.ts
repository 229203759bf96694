// The TiRex-2 network (tokens -> quantile patches), written once on the autograd tape ops.
// Inference runs it on an f32 tape with the weights as plain inputs: every op then runs the
// wasm kernels and records nothing. A trainable copy passes Parameters instead and gets the
// gradients from the same definition; an f64 tape runs the float64 references (the ground
// truth the f32 path is tested against). Parameters are looked up by their canonical official
// names (weights.ts: tirex2WeightTable), so a checkpoint, this network and a trainer share them.
//
// Layout: rows along the batch axis, x [R, L, E] (R = every variate of every series, L tokens).
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { mlstmChunkwise } from '../../autograd/cells.js';
import { flashrnn } from '../../autograd/flashrnn.js';
import { gatherRows, flip } from '../../autograd/gather.js';
import { Tensor } from '../../tensor/tensor.js';
import type { TiRex2BlockConfig, TiRex2Config } from './config.js';

/** xLSTM RMSNorm / torch RMSNorm eps of the blocks (a code constant, not in the config). */
export const TIREX2_NORM_EPS = 1e-6;
/** qk-norm: F.rms_norm with eps None = float32 machine epsilon. */
export const TIREX2_QK_NORM_EPS = 1.1920928955078125e-7;
/** mLSTM gate soft-cap: 15 tanh(x / 15). */
const GATE_SOFT_CAP = 15;
/** The official CPU mLSTM kernel is chunkwise with chunk 64, the sequence zero-padded at the end. */
export const TIREX2_MLSTM_CHUNK = 64;

/** Canonical parameter name -> Var on the tape. */
export type TiRex2ParamLookup = (name: string) => Var;

/** The row structure of one forward pass. */
export interface TiRex2RowLayout {
  /** [R] series id of each row (rows of one series attend to each other). */
  group: ArrayLike<number>;
  /** [R] 1 = target row. */
  isTarget: ArrayLike<number>;
  /** [R] 1 = known (future) covariate: gets the reverse-time pass. */
  known: ArrayLike<number>;
}

/** Called with each named intermediate (see the golden case's tensor names); copy what you keep. */
export type TiRex2Hook = (name: string, v: Var) => void;

/** ResidualBlock: W_o act(W_h u + b_h) + b_o + W_r u + b_r, act = SiLU. */
function residualBlock(t: Tape, p: TiRex2ParamLookup, prefix: string, u: Var): Var {
  const h = ag.silu(t, ag.linear(t, u, p(`${prefix}.hidden_layer.weight`), p(`${prefix}.hidden_layer.bias`)));
  return ag.add(t, ag.linear(t, h, p(`${prefix}.output_layer.weight`), p(`${prefix}.output_layer.bias`)),
    ag.linear(t, u, p(`${prefix}.residual_layer.weight`), p(`${prefix}.residual_layer.bias`)));
}

/** [B, S, NH*D] -> [B, NH, S, D] */
function toHeads(t: Tape, x: Var, NH: number): Var {
  const [B, S, W] = x.shape;
  return ag.permute(t, ag.reshape(t, x, [B, S, NH, W / NH]), [0, 2, 1, 3]);
}

/** Zero-pads axis 2 of x at the end to `to` entries. */
function padAxis2(t: Tape, x: Var, to: number): Var {
  const S = x.shape[2];
  if (S === to) return x;
  const shape = [...x.shape]; shape[2] = to - S;
  const z = t.input(new Tensor('f32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1))));
  return ag.concat(t, [x, z], 2);
}

/**
 * The bi-mlstm cell on xn [B, S, E] (forward time only; the reverse pass calls it on flipped rows).
 * q, k [E/2], v, o [E] without bias; gates 15 tanh(./15) per head; the chunkwise kernel from a
 * zero state; per-head LayerNorm times multihead_norm.weight, times sigmoid(o), out_proj.
 */
export function mlstmCell(t: Tape, p: TiRex2ParamLookup, prefix: string, xn: Var, NH: number): Var {
  const [B, S, E] = xn.shape;
  const cap = (v: Var) => ag.scale(t, ag.tanh(t, ag.scale(t, v, 1 / GATE_SOFT_CAP)), GATE_SOFT_CAP);
  const Sp = Math.ceil(S / TIREX2_MLSTM_CHUNK) * TIREX2_MLSTM_CHUNK;
  const heads = (name: string) => padAxis2(t, toHeads(t, ag.linear(t, xn, p(`${prefix}.${name}.weight`)), NH), Sp);
  const gate = (name: string) => {
    const g = cap(ag.linear(t, xn, p(`${prefix}.${name}.weight`), p(`${prefix}.${name}.bias`))); // [B, S, NH]
    return ag.reshape(t, padAxis2(t, ag.reshape(t, ag.permute(t, g, [0, 2, 1]), [B, NH, S, 1]), Sp), [B, NH, Sp]);
  };
  const h = mlstmChunkwise(t, { q: heads('q'), k: heads('k'), v: heads('v'), i: gate('igate_preact'), f: gate('fgate_preact') }, { chunkSize: TIREX2_MLSTM_CHUNK });
  const hs = ag.reshape(t, ag.permute(t, ag.slice(t, h, 2, 0, S), [0, 2, 1, 3]), [B, S, E]);
  const normed = ag.groupNorm(t, hs, NH, { eps: TIREX2_NORM_EPS, weight: p(`${prefix}.multihead_norm.weight`) });
  const o = ag.sigmoid(t, ag.linear(t, xn, p(`${prefix}.ogate_preact.weight`)));
  return ag.linear(t, ag.mul(t, normed, o), p(`${prefix}.out_proj.weight`));
}

/**
 * The bi-slstm cell on xn [B, S, E]: head-wise gate inputs (module fgate feeds the input-gate
 * slot, igate the forget-gate slot), FlashRNN's vanilla sLSTM (normaliser max(f n + i, 1)) from
 * zeros, per-head LayerNorm times group_norm.weight, no output projection.
 */
export function slstmCell(t: Tape, p: TiRex2ParamLookup, prefix: string, xn: Var, NH: number): Var {
  const [B, S, E] = xn.shape, DH = E / NH;
  const xh = ag.permute(t, ag.reshape(t, xn, [B * S, NH, DH]), [1, 0, 2]); // [NH, B*S, DH]
  const w = ag.concat(t, ['fgate', 'igate', 'zgate', 'ogate'].map((g) => p(`${prefix}.${g}.weight`)), 1); // [NH, 4DH, DH]
  const g = ag.matmul(t, xh, w, { transB: true }); // [NH, B*S, 4DH]
  const wx = ag.permute(t, ag.reshape(t, g, [NH, B, S, 4, DH]), [1, 2, 3, 0, 4]); // [B, S, 4, NH, DH]
  // official [NH, DH_in, 4, DH_out] -> FlashRNN R[g, n, out, in]; bias [NH, 4, DH] -> [4, NH, DH]
  const R = ag.permute(t, p(`${prefix}._recurrent_kernel_`), [2, 0, 3, 1]);
  const b = ag.permute(t, p(`${prefix}._bias_`), [1, 0, 2]);
  const { states } = flashrnn(t, wx, R, b, null, { cell: 'slstm' });
  const y = ag.reshape(t, ag.slice(t, states, 0, 0, 1), [B, S, E]);
  return ag.groupNorm(t, y, NH, { eps: TIREX2_NORM_EPS, weight: p(`${prefix}.group_norm.weight`) });
}

function cell(t: Tape, p: TiRex2ParamLookup, b: TiRex2BlockConfig, prefix: string, xn: Var): Var {
  return b.timeMixer === 'bi-mlstm' ? mlstmCell(t, p, prefix, xn, b.numHeads) : slstmCell(t, p, prefix, xn, b.numSlstmHeads);
}

/** x + proj_down(silu(proj_up_gate(n)) * proj_up(n)), n = RMSNorm(x). */
function xlstmFfn(t: Tape, p: TiRex2ParamLookup, prefix: string, x: Var): Var {
  const n = ag.rmsNorm(t, x, { eps: TIREX2_NORM_EPS, weight: p(`${prefix}.norm_ffn.weight`) });
  const u = ag.mul(t, ag.silu(t, ag.linear(t, n, p(`${prefix}.ffn.proj_up_gate.weight`))), ag.linear(t, n, p(`${prefix}.ffn.proj_up.weight`)));
  return ag.add(t, x, ag.linear(t, u, p(`${prefix}.ffn.proj_down.weight`)));
}

/**
 * BiXLSTM time mixer on x [R, L, E]: the forward cell on every row; the known-covariate rows
 * also run the SAME cell on their time-reversed input, and their output is
 * W_comb [forward | reverse]; then the residual and the SwiGLU FFN.
 */
export function timeMixer(t: Tape, p: TiRex2ParamLookup, b: TiRex2BlockConfig, i: number, x: Var, known: ArrayLike<number>, hook?: TiRex2Hook): Var {
  const prefix = `stack.${i}.time_mixer`;
  const R = x.shape[0];
  const xn = ag.rmsNorm(t, x, { eps: TIREX2_NORM_EPS, weight: p(`${prefix}.norm_lstm.weight`) });
  const f = cell(t, p, b, `${prefix}.fwd_cell`, xn);
  hook?.(`block${i}_cell_fwd_out`, f);
  const K: number[] = [];
  for (let r = 0; r < R; r++) if (known[r]) K.push(r);
  let out = f;
  if (K.length) {
    const revIn = flip(t, gatherRows(t, xn, K), 1);
    hook?.(`block${i}_cell_rev_in`, revIn);
    const revOut = cell(t, p, b, `${prefix}.fwd_cell`, revIn); // rev_cell is fwd_cell
    hook?.(`block${i}_cell_rev_out`, revOut);
    const both = ag.concat(t, [gatherRows(t, f, K), flip(t, revOut, 1)], 2);
    const comb = ag.linear(t, both, p(`${prefix}.combination.weight`));
    const route = Array.from({ length: R }, (_, r) => r);
    K.forEach((r, k) => { route[r] = R + k; });
    out = gatherRows(t, [f, comb], route);
  }
  const y = xlstmFfn(t, p, prefix, ag.add(t, x, out));
  hook?.(`block${i}_time_mixer_out`, y);
  return y;
}

/** The padded attention groups of a layout: series with more than one row. */
export interface TiRex2AttentionPlan {
  /** [NG * G] row of each padded slot (-1 = padding). */
  slots: Int32Array;
  /** [NG, G, G] additive mask: 0 = may attend, -Infinity = may not. */
  mask: Float32Array;
  numGroups: number;
  groupSize: number;
}

/**
 * Groups rows by series and keeps those with several rows (a single-row series skips the
 * variate mixer). Row q may attend to row k of its series unless q is a covariate and k a
 * target: targets see every row, covariates only covariates.
 */
export function attentionPlan(layout: TiRex2RowLayout, R: number): TiRex2AttentionPlan | null {
  const byGroup = new Map<number, number[]>();
  for (let r = 0; r < R; r++) {
    const g = layout.group[r];
    let a = byGroup.get(g);
    if (!a) { a = []; byGroup.set(g, a); }
    a.push(r);
  }
  const groups = [...byGroup.values()].filter((a) => a.length > 1);
  if (!groups.length) return null;
  const G = Math.max(...groups.map((a) => a.length)), NG = groups.length;
  const slots = new Int32Array(NG * G).fill(-1);
  const mask = new Float32Array(NG * G * G);
  groups.forEach((rows, gi) => {
    rows.forEach((r, j) => { slots[gi * G + j] = r; });
    for (let q = 0; q < rows.length; q++) {
      for (let k = 0; k < G; k++) {
        const ok = k < rows.length && !(!layout.isTarget[rows[q]] && layout.isTarget[rows[k]]);
        mask[(gi * G + q) * G + k] = ok ? 0 : -Infinity;
      }
    }
    // padded query slots attend to everything (finite softmax; their outputs are dropped)
  });
  return { slots, mask, numGroups: NG, groupSize: G };
}

/**
 * Variate mixer on x [R, L, E]: at every token, attention over the rows of the same series
 * (pre-RMSNorm, qk-norm, the mask of attentionPlan), then a SiLU MLP of width 4E; rows of
 * single-row series pass unchanged.
 */
export function variateMixer(t: Tape, p: TiRex2ParamLookup, cfg: TiRex2Config, b: TiRex2BlockConfig, i: number, x: Var, plan: TiRex2AttentionPlan | null): Var {
  if (!plan) return x;
  const prefix = `stack.${i}.variate_mixer`;
  const [R, L, E] = x.shape;
  const NH = b.attentionHeads, Dh = E / NH, NG = plan.numGroups, G = plan.groupSize;
  const xs = gatherRows(t, x, plan.slots); // [NG*G, L, E]
  const a = ag.rmsNorm(t, xs, { eps: TIREX2_NORM_EPS, weight: p(`${prefix}.norm_attn.weight`) });
  // [NG*G, L, E] -> [L*NH*NG, G, Dh]: one small attention per (token, head, series)
  const split = (v: Var) => ag.reshape(t, ag.permute(t, ag.reshape(t, v, [NG, G, L, NH, Dh]), [2, 3, 0, 1, 4]), [L * NH * NG, G, Dh]);
  let q = split(ag.linear(t, a, p(`${prefix}.attn.WQ.weight`)));
  let k = split(ag.linear(t, a, p(`${prefix}.attn.WK.weight`)));
  const v = split(ag.linear(t, a, p(`${prefix}.attn.WV.weight`)));
  if (cfg.useQkNorm) { q = ag.rmsNorm(t, q, { eps: TIREX2_QK_NORM_EPS }); k = ag.rmsNorm(t, k, { eps: TIREX2_QK_NORM_EPS }); }
  const s = ag.scale(t, ag.matmul(t, q, k, { transB: true }), 1 / Math.sqrt(Dh)); // [L*NH*NG, G, G]
  const masked = ag.add(t, ag.reshape(t, s, [L * NH, NG * G * G]), t.input(new Tensor('f32', [NG * G * G], plan.mask)));
  const att = ag.reshape(t, ag.softmax(t, ag.reshape(t, masked, [L * NH * NG * G, G])), [L * NH * NG, G, G]);
  const ctx = ag.matmul(t, att, v); // [L*NH*NG, G, Dh]
  const merged = ag.reshape(t, ag.permute(t, ag.reshape(t, ctx, [L, NH, NG, G, Dh]), [2, 3, 0, 1, 4]), [NG * G, L, E]);
  const y1 = ag.add(t, xs, ag.linear(t, merged, p(`${prefix}.attn.WO.weight`)));
  const n = ag.rmsNorm(t, y1, { eps: TIREX2_NORM_EPS, weight: p(`${prefix}.norm_ffn.weight`) });
  const y2 = ag.add(t, y1, ag.linear(t, ag.silu(t, ag.linear(t, n, p(`${prefix}.ffn.wi.weight`))), p(`${prefix}.ffn.wo.weight`)));
  const route = Array.from({ length: R }, (_, r) => r);
  plan.slots.forEach((r, j) => { if (r >= 0) route[r] = R + j; });
  return gatherRows(t, [x, y2], route);
}

export interface TiRex2NetworkOptions {
  /**
   * Called with the embedding and every block's output; its result continues. Inference uses
   * it to copy the activations out and free the block's wasm heap tensors (a forward-only tape
   * records nothing, so nothing else refers to them); a training tape leaves it out.
   */
  betweenBlocks?: (x: Var) => Var;
}

/**
 * tokens [R, L, 2P] (scaled values with NaN -> 0, then the 0/1 observed mask) -> head output
 * [R, L, Q*P] in the scaled space (index q*P + p; token j forecasts patch j + 1).
 */
export function tirex2Network(t: Tape, cfg: TiRex2Config, p: TiRex2ParamLookup, tokens: Var, layout: TiRex2RowLayout, hook?: TiRex2Hook,
  opts: TiRex2NetworkOptions = {}): Var {
  const R = tokens.shape[0];
  const between = opts.betweenBlocks ?? ((v: Var) => v);
  let x = between(residualBlock(t, p, 'input_patch_embedding', tokens));
  hook?.('input_embedding', x);
  const plan = attentionPlan(layout, R);
  cfg.blocks.forEach((b, i) => {
    x = timeMixer(t, p, b, i, x, layout.known, hook);
    x = variateMixer(t, p, cfg, b, i, x, plan);
    x = between(x);
    hook?.(`block${i}_out`, x);
  });
  if (cfg.stackOutNormEps !== null) x = ag.rmsNorm(t, x, { eps: cfg.stackOutNormEps, weight: p('stack_out_norm.weight') });
  hook?.('stack_out', x);
  const out = residualBlock(t, p, 'output_patch_embedding', x);
  hook?.('head_out', out);
  return out;
}
