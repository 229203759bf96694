// The xLSTM Large / xLSTM-7B network written once against the autograd Tape, from the shared
// blocks (src/blocks), weights looked up by their official names (xlstmLargeTable in
// ./weights.ts, either layout):
//   x = embedding(ids); per block: x += mLSTMLayer(RMSNorm(x)); x += FFN(RMSNorm(x))
//   logits = softcap(lm_head(RMSNorm(x)), output_logit_soft_cap)
// The mLSTM cell runs in the chunkwise form with the config's chunk_size, padded at the end
// (the official 'train_with_padding' mode). XLSTMLargeTrainable passes Parameters; with plain
// inputs (inputWeights) it is an f32/f64 inference forward that records nothing. XLSTMLarge
// (./model.ts) keeps its own paths for decoding (constant-memory recurrent steps, chunkwise
// prefill with carried states, bf16/int8/q4 weights split over several heaps).
import type { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { WeightLookup, need, rmsNorm, gatedFfn, linear, tokenEmbedding, LinearW } from '../../blocks/basic.js';
import { mlstmLayerLarge } from '../../blocks/mlstmLayer.js';
import type { XLSTMLargeConfig } from './config.js';

export interface XLSTMLargeNetworkOptions {
  /** Checkpoint naming of the weights (decides the embedding's name). */
  layout: 'hf' | 'native';
  /** Gradient of the mLSTM normaliser ('official': constant, as the custom-backward kernels; 'exact'). */
  mlstmGradMode: 'official' | 'exact';
  /** Names the caller in errors. */
  who?: string;
}

/** Soft-capped logits [B, S, V] of ids (i32, [B * S] row-major). */
export function xlstmLargeNetwork(t: Tape, cfg: XLSTMLargeConfig, W: WeightLookup, ids: Int32Array, B: number, S: number, o: XLSTMLargeNetworkOptions): Var {
  const embName = o.layout === 'hf' ? 'backbone.embeddings.weight' : 'embedding.weight';
  const lin = (n: string): LinearW => ({ weight: need(W, `${n}.weight`), bias: W(`${n}.bias`) });
  const norm = (x: Var, n: string) => rmsNorm(t, x, { weight: need(W, `${n}.weight`), bias: W(`${n}.bias`) }, cfg.norm_eps);
  let x = tokenEmbedding(t, ids, B, S, need(W, embName), `${o.who ?? 'xlstmLargeNetwork'}.forward`); // [B, S, E]
  for (let b = 0; b < cfg.num_blocks; b++) {
    const p = `backbone.blocks.${b}.`, m = `${p}mlstm_layer.`;
    const single = cfg.weight_mode === 'single';
    const y = mlstmLayerLarge(t, norm(x, `${p}norm_mlstm`), single
      ? { q: lin(`${m}q`), k: lin(`${m}k`), v: lin(`${m}v`), ogate: lin(`${m}ogate_preact`), igate: lin(`${m}igate_preact`), fgate: lin(`${m}fgate_preact`),
          multiheadNorm: { weight: need(W, `${m}multihead_norm.weight`), bias: W(`${m}multihead_norm.bias`) }, outProj: lin(`${m}out_proj`) }
      : { qkvo: lin(`${m}qkv_opreact`), ifgate: lin(`${m}ifgate_preact`),
          multiheadNorm: { weight: need(W, `${m}multihead_norm.weight`), bias: W(`${m}multihead_norm.bias`) }, outProj: lin(`${m}out_proj`) },
    { numHeads: cfg.num_heads, qkDim: cfg.qk_dim, vDim: cfg.v_dim, gateSoftCap: cfg.gate_soft_cap, normEps: cfg.norm_eps,
      cell: { chunkSize: cfg.chunk_size, padToChunk: true, eps: cfg.eps, gradMode: o.mlstmGradMode } });
    x = ag.add(t, x, y);
    const f = `${p}ffn.`;
    const ffn = single ? { gate: lin(`${f}proj_up_gate`), up: lin(`${f}proj_up`), down: lin(`${f}proj_down`) } : { both: lin(`${f}proj_up_gate_z`), down: lin(`${f}proj_down`) };
    x = ag.add(t, x, gatedFfn(t, norm(x, `${p}norm_ffn`), ffn, 'silu'));
  }
  if (cfg.add_out_norm) x = norm(x, 'backbone.out_norm');
  const logits = linear(t, x, { weight: cfg.tie_word_embeddings ? need(W, embName) : need(W, 'lm_head.weight') }); // [B, S, V]
  return cfg.output_logit_soft_cap === null ? logits : ag.softcap(t, logits, cfg.output_logit_soft_cap);
}
