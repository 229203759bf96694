// The TiRex-2 network (tokens -> quantile patches), written once on the autograd tape from
// the shared blocks (src/blocks). Inference runs it on an f32 tape with the weights as plain
// inputs: every op then runs the wasm kernels and records nothing. The trainable passes
// Parameters instead and gets the gradients from the same definition; an f64 tape runs the
// float64 references (the ground truth the f32 path is tested against). Parameters are looked
// up by their canonical official names (weights.ts: tirex2Table), so a checkpoint, this
// network and a trainer share them.
//
// Layout: rows along the batch axis, x [R, L, E] (R = every variate of every series, L tokens).
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { flashrnn } from '../../autograd/flashrnn.js';
import { gatherRows, flip } from '../../autograd/gather.js';
import { Tensor } from '../../tensor/tensor.js';
import { WeightLookup, LinearW, need, linear, rmsNorm, gatedFfn, mlp, residualMlp } from '../../blocks/basic.js';
import { mlstmLayerLarge } from '../../blocks/mlstmLayer.js';
import { headwiseGates } from '../../blocks/slstmLayer.js';
import type { TiRex2BlockConfig, TiRex2Config } from './config.js';

/** xLSTM RMSNorm / torch RMSNorm eps of the blocks (a code constant, not in the config). */
export const TIREX2_NORM_EPS = 1e-6;
/** qk-norm: F.rms_norm with eps None = float32 machine epsilon. */
export const TIREX2_QK_NORM_EPS = 1.1920928955078125e-7;
/** mLSTM gate soft-cap: 15 tanh(x / 15). */
const GATE_SOFT_CAP = 15;
/** The official CPU mLSTM kernel is chunkwise with chunk 64, the sequence zero-padded at the end. */
export const TIREX2_MLSTM_CHUNK = 64;

/** Canonical parameter name -> Var on the tape (the blocks' WeightLookup). */
export type TiRex2ParamLookup = WeightLookup;

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

/** The linear layer `prefix` without a bias (most of TiRex-2's), and with one (lookups may throw on names the table lacks, so none is probed). */
const lin = (p: WeightLookup, prefix: string): LinearW => ({ weight: need(p, `${prefix}.weight`) });
const linB = (p: WeightLookup, prefix: string): LinearW => ({ weight: need(p, `${prefix}.weight`), bias: need(p, `${prefix}.bias`) });

/** ResidualBlock (TiRex's, with SiLU): W_o silu(W_h u + b_h) + b_o + W_r u + b_r. */
function residualBlock(t: Tape, p: WeightLookup, prefix: string, u: Var): Var {
  return residualMlp(t, u, { hidden: linB(p, `${prefix}.hidden_layer`), output: linB(p, `${prefix}.output_layer`), residual: linB(p, `${prefix}.residual_layer`) }, 'silu');
}

/**
 * The bi-mlstm cell on xn [B, S, E] (forward time only; the reverse pass calls it on flipped rows):
 * xLSTM Large's mLSTMLayer (TiRex-2 builds on it): q, k [E/2], v, o [E] without bias; gates
 * 15 tanh(./15) per head; the chunkwise kernel (chunk 64, end-padded) from a zero state;
 * per-head norm times multihead_norm.weight, times sigmoid(o), out_proj.
 */
export function mlstmCell(t: Tape, p: WeightLookup, prefix: string, xn: Var, NH: number): Var {
  const E = xn.shape[2];
  const w = (n: string) => lin(p, `${prefix}.${n}`);
  return mlstmLayerLarge(t, xn, {
    q: w('q'), k: w('k'), v: w('v'), ogate: w('ogate_preact'),
    igate: linB(p, `${prefix}.igate_preact`), fgate: linB(p, `${prefix}.fgate_preact`),
    multiheadNorm: { weight: need(p, `${prefix}.multihead_norm.weight`) }, outProj: w('out_proj'),
  }, {
    numHeads: NH, qkDim: E / 2, vDim: E, gateSoftCap: GATE_SOFT_CAP, normEps: TIREX2_NORM_EPS,
    cell: { chunkSize: TIREX2_MLSTM_CHUNK, padToChunk: true, gradMode: 'official' },
  });
}

/**
 * The bi-slstm cell on xn [B, S, E]: head-wise gate inputs (module fgate feeds the input-gate
 * slot, igate the forget-gate slot, as in blocks/slstmLayer), FlashRNN's vanilla sLSTM from
 * zeros, per-head norm times group_norm.weight, no output projection. Not blocks/slstmLayer:
 * the cell is FlashRNN's (normaliser clamped to max(f n + i, 1); the xLSTM cell of slstmLayer
 * has no clamp), the gate pre-activations go in as [B, S, 4, NH, DH] with R [4, NH, DH, DH],
 * and the group norm applies its weight as w, where the xLSTM sLSTM layer applies 1 + w.
 */
export function slstmCell(t: Tape, p: WeightLookup, prefix: string, xn: Var, NH: number): Var {
  const [B, S, E] = xn.shape, DH = E / NH;
  const g = headwiseGates(t, xn, ['fgate', 'igate', 'zgate', 'ogate'].map((n) => need(p, `${prefix}.${n}.weight`)), NH); // [NH, B*S, 4DH]
  const wx = ag.permute(t, ag.reshape(t, g, [NH, B, S, 4, DH]), [1, 2, 3, 0, 4]); // [B, S, 4, NH, DH]
  // official [NH, DH_in, 4, DH_out] -> FlashRNN R[g, n, out, in]; bias [NH, 4, DH] -> [4, NH, DH]
  const R = ag.permute(t, need(p, `${prefix}._recurrent_kernel_`), [2, 0, 3, 1]);
  const b = ag.permute(t, need(p, `${prefix}._bias_`), [1, 0, 2]);
  const { states } = flashrnn(t, wx, R, b, null, { cell: 'slstm' });
  const y = ag.reshape(t, ag.slice(t, states, 0, 0, 1), [B, S, E]);
  return ag.groupNorm(t, y, NH, { eps: TIREX2_NORM_EPS, weight: need(p, `${prefix}.group_norm.weight`) });
}

function cell(t: Tape, p: WeightLookup, b: TiRex2BlockConfig, prefix: string, xn: Var): Var {
  return b.timeMixer === 'bi-mlstm' ? mlstmCell(t, p, prefix, xn, b.numHeads) : slstmCell(t, p, prefix, xn, b.numSlstmHeads);
}

/** x + proj_down(silu(proj_up_gate(n)) * proj_up(n)), n = RMSNorm(x). */
function xlstmFfn(t: Tape, p: WeightLookup, prefix: string, x: Var): Var {
  const n = rmsNorm(t, x, { weight: need(p, `${prefix}.norm_ffn.weight`) }, TIREX2_NORM_EPS);
  return ag.add(t, x, gatedFfn(t, n, { gate: lin(p, `${prefix}.ffn.proj_up_gate`), up: lin(p, `${prefix}.ffn.proj_up`), down: lin(p, `${prefix}.ffn.proj_down`) }, 'silu'));
}

/**
 * BiXLSTM time mixer on x [R, L, E]: the forward cell on every row; the known-covariate rows
 * also run the SAME cell on their time-reversed input, and their output is
 * W_comb [forward | reverse]; then the residual and the SwiGLU FFN.
 */
export function timeMixer(t: Tape, p: WeightLookup, b: TiRex2BlockConfig, i: number, x: Var, known: ArrayLike<number>, hook?: TiRex2Hook): Var {
  const prefix = `stack.${i}.time_mixer`;
  const R = x.shape[0];
  const xn = rmsNorm(t, x, { weight: need(p, `${prefix}.norm_lstm.weight`) }, TIREX2_NORM_EPS);
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
    const comb = linear(t, both, lin(p, `${prefix}.combination`));
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
export function variateMixer(t: Tape, p: WeightLookup, cfg: TiRex2Config, b: TiRex2BlockConfig, i: number, x: Var, plan: TiRex2AttentionPlan | null): Var {
  if (!plan) return x;
  const prefix = `stack.${i}.variate_mixer`;
  const [R, L, E] = x.shape;
  const NH = b.attentionHeads, Dh = E / NH, NG = plan.numGroups, G = plan.groupSize;
  const xs = gatherRows(t, x, plan.slots); // [NG*G, L, E]
  const a = rmsNorm(t, xs, { weight: need(p, `${prefix}.norm_attn.weight`) }, TIREX2_NORM_EPS);
  // [NG*G, L, E] -> [L*NH*NG, G, Dh]: one small attention per (token, head, series)
  const split = (v: Var) => ag.reshape(t, ag.permute(t, ag.reshape(t, v, [NG, G, L, NH, Dh]), [2, 3, 0, 1, 4]), [L * NH * NG, G, Dh]);
  let q = split(linear(t, a, lin(p, `${prefix}.attn.WQ`)));
  let k = split(linear(t, a, lin(p, `${prefix}.attn.WK`)));
  const v = split(linear(t, a, lin(p, `${prefix}.attn.WV`)));
  if (cfg.useQkNorm) { q = rmsNorm(t, q, {}, TIREX2_QK_NORM_EPS); k = rmsNorm(t, k, {}, TIREX2_QK_NORM_EPS); }
  const s = ag.scale(t, ag.matmul(t, q, k, { transB: true }), 1 / Math.sqrt(Dh)); // [L*NH*NG, G, G]
  const masked = ag.add(t, ag.reshape(t, s, [L * NH, NG * G * G]), t.input(new Tensor('f32', [NG * G * G], plan.mask)));
  const att = ag.reshape(t, ag.softmax(t, ag.reshape(t, masked, [L * NH * NG * G, G])), [L * NH * NG, G, G]);
  const ctx = ag.matmul(t, att, v); // [L*NH*NG, G, Dh]
  const merged = ag.reshape(t, ag.permute(t, ag.reshape(t, ctx, [L, NH, NG, G, Dh]), [2, 3, 0, 1, 4]), [NG * G, L, E]);
  const y1 = ag.add(t, xs, linear(t, merged, lin(p, `${prefix}.attn.WO`)));
  const n = rmsNorm(t, y1, { weight: need(p, `${prefix}.norm_ffn.weight`) }, TIREX2_NORM_EPS);
  const y2 = ag.add(t, y1, mlp(t, n, { up: lin(p, `${prefix}.ffn.wi`), down: lin(p, `${prefix}.ffn.wo`) }, 'silu'));
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
export function tirex2Network(t: Tape, cfg: TiRex2Config, p: WeightLookup, tokens: Var, layout: TiRex2RowLayout, hook?: TiRex2Hook,
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
  if (cfg.stackOutNormEps !== null) x = rmsNorm(t, x, { weight: need(p, 'stack_out_norm.weight') }, cfg.stackOutNormEps);
  hook?.('stack_out', x);
  const out = residualBlock(t, p, 'output_patch_embedding', x);
  hook?.('head_out', out);
  return out;
}
