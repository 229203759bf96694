// The pLSTM vision model (ml-jku/plstm plstm.torch.vision_model.pLSTMVisionModel), written once
// on the autograd tape: `plstmVisionForward` serves inference (weights as non-grad inputs, so
// nothing is recorded) and training (weights as Parameters; src/train/plstmVisionTraining.ts).
//
// pixels [B, C, H, W] -> patch embedding [B, h, w, dim] -> + position embedding (bicubically
// resampled for other grids) -> blocks (each: a P-mode then a D-mode PostUpProjectionBlock
// around the pLSTM 2D layer) -> RMSNorm -> pooling -> Linear head -> logits [B, classes].
// Any H, W divisible by the patch size work: the layer pads the grid itself.
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { Rng } from '../../random/rng.js';
import type { PlstmVisionConfig, PostUpBlockConfig } from './config.js';
import { plstm2dLayer } from './layer2d.js';
import type { Plstm2dForm } from '../../xlstm/plstm/index.js';
import { WeightVars, weight, patchEmbed, addPosEmbed, pool, rmsNormVar } from './parts.js';
import { plstmVisionWeightTable } from './weights.js';

export interface VisionForwardOptions {
  /** Filled with intermediates: patches, pos_embed (the embedding used), blocks.<i>.block0 / block1, norm_out, pooled. */
  collect?: Map<string, Var>;
  /** Form of the 2D scans: 'recurrent' (the layer's default) or 'parallel'; same values and gradients. */
  form?: Plstm2dForm;
}

const opt = (w: WeightVars, n: string): Var | undefined => w.get(n);

/** PostUpProjectionBlock: x2 = x + layer(norm(x)); y = x2 + downproj(gelu(upproj(norm2(x2)))). */
function postUpBlock(t: Tape, c: PostUpBlockConfig, w: WeightVars, p: string, x: Var, form?: Plstm2dForm): Var {
  const sub = new Map<string, Var>();
  const pre = `${p}.interaction_module.`;
  for (const [k, v] of w) if (k.startsWith(pre)) sub.set(k.slice(pre.length), v);
  const h = plstm2dLayer(t, rmsNormVar(t, x, c.norm.eps, opt(w, `${p}.norm.scale`), opt(w, `${p}.norm.bias`)), sub, c.interactionModule, form);
  const x2 = c.skip ? ag.add(t, x, h) : h;
  const n2 = rmsNormVar(t, x2, c.norm.eps, opt(w, `${p}.norm2.scale`), opt(w, `${p}.norm2.bias`));
  const up = ag.gelu(t, ag.linear(t, n2, weight(w, `${p}.upproj.weight`), opt(w, `${p}.upproj.bias`)));
  const down = ag.linear(t, up, weight(w, `${p}.downproj.weight`), opt(w, `${p}.downproj.bias`));
  return c.skip ? ag.add(t, x2, down) : down;
}

/** Patch embedding + position embedding: pixels -> [B, h, w, dim] (collects patches, pos_embed). */
export function visionEmbed(t: Tape, cfg: PlstmVisionConfig, w: WeightVars, pixels: Var, col?: Map<string, Var>): Var {
  let x = patchEmbed(t, pixels, weight(w, 'patch_embed.proj.weight'), weight(w, 'patch_embed.proj.bias'), cfg);
  if (cfg.usePosEmbed) {
    const r = addPosEmbed(t, x, weight(w, 'pos_embed.embed'), cfg.allowInterpolation);
    x = r.out;
    col?.set('pos_embed', r.used);
  }
  col?.set('patches', x);
  return x;
}

/** Final RMSNorm -> pooling -> head (-> soft cap): [B, h, w, dim] -> logits [B, classes] (collects norm_out, pooled). */
export function visionTail(t: Tape, cfg: PlstmVisionConfig, w: WeightVars, x: Var, col?: Map<string, Var>): Var {
  const n = rmsNormVar(t, x, cfg.norm.eps, opt(w, 'norm.scale'), opt(w, 'norm.bias'));
  col?.set('norm_out', n);
  const pooled = pool(t, n, cfg.pooling, cfg.seqlens);
  col?.set('pooled', pooled);
  const logits = ag.linear(t, pooled, weight(w, 'head.weight'), weight(w, 'head.bias'));
  return cfg.logitSoftcap === null ? logits : ag.scale(t, ag.tanh(t, ag.scale(t, logits, 1 / cfg.logitSoftcap)), cfg.logitSoftcap);
}

/** logits [B, numClasses] of pixels [B, C, H, W] (channels_first) or [B, H, W, C]. */
export function plstmVisionForward(t: Tape, cfg: PlstmVisionConfig, w: WeightVars, pixels: Var, o: VisionForwardOptions = {}): Var {
  const col = o.collect;
  let x = visionEmbed(t, cfg, w, pixels, col);
  cfg.blocks.forEach((b, i) => {
    const p = `block_stack.blocks.${i}`;
    const y0 = postUpBlock(t, b.block0, w, `${p}.block0`, x, o.form);
    col?.set(`blocks.${i}.block0`, y0);
    const y1 = postUpBlock(t, b.block1, w, `${p}.block1`, y0, o.form);
    col?.set(`blocks.${i}.block1`, y1);
    // pLSTMVisionBlock1 returns x + 1 * (y - x) (its drop path of ones), not y itself
    x = ag.add(t, x, ag.sub(t, y1, x));
  });
  return visionTail(t, cfg, w, x, col);
}

/**
 * Fresh weights with the official initialisers: SmallInit (normal, std sqrt(2 / (5 fan_in)))
 * for projections and the position embedding; gate biases -5 (Source/Mark/Direct), transition
 * eigenvalue bias 1, P-mode orientation bias linspace(-2, 2) over the heads, zero orientation /
 * eigenvalue weights; norms 1; head ~0 (trunc normal 2e-5, here 0).
 */
export function initWeightsFromTable(table: ReadonlyMap<string, readonly number[]>, seed: number): Map<string, Tensor> {
  const rng = new Rng(seed);
  const out = new Map<string, Tensor>();
  for (const [name, shape] of table) {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    const last = shape[shape.length - 1];
    const small = (fanIn: number) => { const std = Math.sqrt(2 / (5 * fanIn)); for (let i = 0; i < n; i++) d[i] = rng.normal() * std; };
    if (/(^|\.)(norm\d?|mhnorm)\.scale$/.test(name) || name === 'norm.scale') d.fill(1);
    else if (/\.(source|source_r|source_d|mark|mark_l|mark_u|direct)\.bias$/.test(name)) d.fill(-5);
    else if (/eigenvalues_bias$/.test(name)) d.fill(1);
    else if (/orientation_bias$/.test(name)) { for (let i = 0; i < n; i++) { const j = i % last; d[i] = last === 1 ? 0 : -2 + (4 * j) / (last - 1); } }
    else if (/(eigenvalues_weight|orientation_weight)$/.test(name) || /\.bias$/.test(name) || name.startsWith('head.')) { /* zeros */ }
    else if (name === 'patch_embed.proj.weight') small(shape.slice(1).reduce((a, b) => a * b, 1));
    else small(last);
    out.set(name, new Tensor('f32', [...shape], d));
  }
  return out;
}

/** Inference wrapper: a config, its f32 weights and a backend; forward runs the tape without recording. */
export class PlstmVisionModel {
  readonly table: Map<string, number[]>;
  constructor(readonly config: PlstmVisionConfig, readonly weights: ReadonlyMap<string, Tensor>, readonly backend: WasmBackend) {
    this.table = plstmVisionWeightTable(config);
  }

  /** logits [B, numClasses] as a flat Float32Array (heap memory of the pass is freed). */
  forward(pixels: Tensor): Float32Array {
    return runNoGrad(this.backend, (t) => {
      const w = new Map<string, Var>();
      for (const [k, v] of this.weights) w.set(k, t.input(v));
      return Float32Array.from(plstmVisionForward(t, this.config, w, t.input(pixels)).data);
    });
  }
}

/**
 * Runs fn on a fresh f32 tape whose inputs need no gradient (so nothing is recorded) and frees
 * every wasm-heap tensor allocated meanwhile (fn must return plain JS data).
 */
export function runNoGrad<T>(be: WasmBackend, fn: (t: Tape) => T): T {
  const orig = be.empty;
  const live: Tensor[] = [];
  const bound = orig.bind(be);
  be.empty = (shape, dtype) => { const x = bound(shape, dtype); live.push(x); return x; };
  try { return fn(new Tape(be, 'f32')); } finally {
    be.empty = orig;
    for (const x of live) x.dispose();
  }
}
