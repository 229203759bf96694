// The xLSTMLMModel network (NX-AI/xlstm xlstm_lm_model.py) written once against the autograd
// Tape, from the shared blocks (src/blocks), weights looked up by their official names
// (xlstmLmTable in ./weights.ts):
//   x = token_embedding(ids); per block: x += layer(LN(x)); [sLSTM blocks: x += ffn(LN(x))]
//   logits = lm_head(post_blocks_norm(x))
// Dropout sits where the official modules place it (embedding when add_embedding_dropout,
// mLSTM layer output, sLSTM cell output before the group norm, FFN output) and is on only
// when an RNG is given (training mode). XLSTMLMTrainable passes Parameters; with plain inputs
// (inputWeights) it is an inference forward that records nothing. XLSTMLMModel (./model.ts)
// keeps its own paths for recurrent decoding with carried states.
import type { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import type { Rng } from '../../random/rng.js';
import { WeightLookup, need, layerNormOffset, gatedFfn, linear, dropout, tokenEmbedding, LinearW } from '../../blocks/basic.js';
import { mlstmLayer } from '../../blocks/mlstmLayer.js';
import { slstmLayer } from '../../blocks/slstmLayer.js';
import type { XLSTMLMConfig } from './config.js';

/** eps of every LayerNorm / MultiHeadLayerNorm of the library, and of the mLSTM cell. */
export const XLSTM_LM_LN_EPS = 1e-5, XLSTM_LM_MLSTM_EPS = 1e-6;

export interface XLSTMLMNetworkOptions {
  /** Switches dropout on (training mode). */
  rng?: Rng;
  /** Chunkwise mLSTM form with this chunk length (must divide S); default the official parallel form. */
  mlstmChunkSize?: number;
  /** Names the caller in errors. */
  who?: string;
}

/** Logits [B, S, V] of ids (i32, [B * S] row-major). */
export function xlstmLmNetwork(t: Tape, cfg: XLSTMLMConfig, W: WeightLookup, ids: Int32Array, B: number, S: number, o: XLSTMLMNetworkOptions = {}): Var {
  const who = o.who ?? 'xlstmLmNetwork';
  const drop = (v: Var, p: number) => dropout(t, v, p, o.rng);
  const lin = (n: string): LinearW => ({ weight: need(W, `${n}.weight`), bias: W(`${n}.bias`) });
  let x = tokenEmbedding(t, ids, B, S, need(W, 'token_embedding.weight'), `${who}.forward`); // [B, S, E]
  if (cfg.add_embedding_dropout) x = drop(x, cfg.dropout);
  for (const b of cfg.blocks) {
    const pre = `xlstm_block_stack.blocks.${b.blockIdx}.`, l = `${pre}xlstm.`;
    const xn = layerNormOffset(t, x, need(W, `${pre}xlstm_norm.weight`), XLSTM_LM_LN_EPS);
    if (b.kind === 'mlstm') {
      const L = o.mlstmChunkSize;
      if (L !== undefined && S % L !== 0) throw new RangeError(`${who}: mlstmChunkSize ${L} must divide the sequence length ${S}`);
      const y = mlstmLayer(t, xn, {
        projUp: lin(`${l}proj_up`), q: lin(`${l}q_proj`), k: lin(`${l}k_proj`), v: lin(`${l}v_proj`),
        conv: W(`${l}conv1d.conv.weight`), convBias: W(`${l}conv1d.conv.bias`),
        skip: need(W, `${l}learnable_skip`), igate: lin(`${l}mlstm_cell.igate`), fgate: lin(`${l}mlstm_cell.fgate`),
        outNorm: need(W, `${l}mlstm_cell.outnorm.weight`), projDown: lin(`${l}proj_down`),
      }, { numHeads: b.mlstm.num_heads, normEps: XLSTM_LM_LN_EPS, cell: { chunkSize: L, eps: XLSTM_LM_MLSTM_EPS, gradMode: 'exact' } });
      x = ag.add(t, x, drop(y, b.mlstm.dropout));
    } else {
      // official wiring: the cell's input gate from the module named fgate, its forget gate from igate
      x = ag.add(t, x, slstmLayer(t, xn, {
        conv: W(`${l}conv1d.conv.weight`), convBias: W(`${l}conv1d.conv.bias`),
        gates: { i: need(W, `${l}fgate.weight`), f: need(W, `${l}igate.weight`), z: need(W, `${l}zgate.weight`), o: need(W, `${l}ogate.weight`) },
        recurrentKernel: need(W, `${l}slstm_cell._recurrent_kernel_`), bias: need(W, `${l}slstm_cell._bias_`),
        groupNorm: W(`${l}group_norm.weight`),
      }, { numHeads: b.slstm.num_heads, normEps: XLSTM_LM_LN_EPS, layout: b.slstm.backend === 'vanilla' ? 'vanilla' : 'cuda', dropout: (v) => drop(v, b.slstm.dropout) }));
      if (b.feedforward) {
        const fn = layerNormOffset(t, x, need(W, `${pre}ffn_norm.weight`), XLSTM_LM_LN_EPS);
        x = ag.add(t, x, drop(gatedFfn(t, fn, { both: lin(`${pre}ffn.proj_up`), down: lin(`${pre}ffn.proj_down`) }, b.feedforward.act_fn), b.feedforward.dropout));
      }
    }
  }
  if (cfg.add_post_blocks_norm) x = layerNormOffset(t, x, need(W, 'xlstm_block_stack.post_blocks_norm.weight'), XLSTM_LM_LN_EPS);
  return linear(t, x, { weight: cfg.tie_weights ? need(W, 'token_embedding.weight') : need(W, 'lm_head.weight') }); // [B, S, V]
}
