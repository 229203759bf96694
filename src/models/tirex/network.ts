// The TiRex network written once against the autograd Tape, from the shared blocks
// (src/blocks): residual-MLP patch embedding of [values | mask] tokens, sLSTM blocks
// (RMSNorm, head-wise gates, sLSTM cell with f~ clamped at 15, group norm), SwiGLU FFN,
// out_norm, residual-MLP head to Q quantiles x P steps. Weights are looked up by their
// official names (tirexTable in ./weights.ts).
//
// This is the training model (TiRexTrainable.forward passes Parameters) and an inference
// forward (inputWeights: plain inputs, nothing recorded) with the plain f32 sLSTM recurrence.
// The TiRex class (./model.ts) keeps its own fast paths for what this form does not do:
// the bf16 recurrence of the official torch path, batched multi-threaded gate projections
// with carried states for streaming, the masked-patch rollout and its prefix cache.
import type { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { WeightLookup, need, residualMlp, rmsNorm, gatedFfn, ResidualMlpW } from '../../blocks/basic.js';
import { slstmLayer } from '../../blocks/slstmLayer.js';
import { TiRexConfig, TIREX_RMS_EPS, TIREX_GROUP_NORM_EPS, TIREX_FORGET_CLAMP } from './config.js';

function residualW(W: WeightLookup, p: string): ResidualMlpW {
  const lin = (n: string) => ({ weight: need(W, `${p}.${n}.weight`), bias: need(W, `${p}.${n}.bias`) });
  return { hidden: lin('hidden_layer'), output: lin('output_layer'), residual: lin('residual_layer') };
}

/** One TiRex block: h + slstm(norm(h)), then + ffn(norm(.)). h [B, T, E]. */
export function tirexBlock(t: Tape, cfg: TiRexConfig, W: WeightLookup, b: number, h: Var): Var {
  const p = `blocks.${b}`;
  const g = (n: string) => need(W, `${p}.slstm_layer.${n}.weight`);
  const n1 = rmsNorm(t, h, { weight: need(W, `${p}.norm_slstm.weight`) }, TIREX_RMS_EPS);
  // 'fgate' feeds the cell's input-gate slot and 'igate' its forget-gate slot (official naming swap)
  const y = slstmLayer(t, n1, {
    gates: { i: g('fgate'), f: g('igate'), z: g('zgate'), o: g('ogate') },
    recurrentKernel: need(W, `${p}.slstm_layer.slstm_cell._recurrent_kernel_`),
    bias: need(W, `${p}.slstm_layer.slstm_cell._bias_`),
    groupNorm: need(W, `${p}.slstm_layer.group_norm.weight`),
  }, { numHeads: cfg.numHeads, normEps: TIREX_GROUP_NORM_EPS, forgetClamp: TIREX_FORGET_CLAMP });
  const h1 = ag.add(t, h, y);
  const n2 = rmsNorm(t, h1, { weight: need(W, `${p}.norm_ffn.weight`) }, TIREX_RMS_EPS);
  const f = (n: string) => ({ weight: need(W, `${p}.ffn.${n}.weight`) });
  return ag.add(t, h1, gatedFfn(t, n2, { gate: f('proj_up_gate'), up: f('proj_up'), down: f('proj_down') }, 'silu'));
}

/** Token features [B, T, 2P] (scaled values, NaN replaced | mask bits) -> quantile patches [B, T, Q*P] (quantile-major, scaled space). */
export function tirexNetwork(t: Tape, cfg: TiRexConfig, W: WeightLookup, tokens: Var): Var {
  let h = residualMlp(t, tokens, residualW(W, 'input_patch_embedding')); // [B, T, E]
  for (let b = 0; b < cfg.numBlocks; b++) h = tirexBlock(t, cfg, W, b, h);
  const hn = rmsNorm(t, h, { weight: need(W, 'out_norm.weight') }, TIREX_RMS_EPS);
  return residualMlp(t, hn, residualW(W, 'output_patch_embedding'));
}
