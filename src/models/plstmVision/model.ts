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
import type { PlstmVisionConfig, PostUpBlockConfig, RmsNormConfig } from './config.js';
import { plstm2dLayer } from './layer2d.js';
import type { Plstm2dForm } from '../../xlstm/plstm/index.js';
import { patchEmbed, addPosEmbed, pool } from './parts.js';
import { plstmVisionTable } from './weights.js';
import { WeightLookup, WeightSource, weightLookup, need, linear, rmsNorm, mlp, inputWeights } from '../../blocks/basic.js';
import type { WeightTable } from '../weightTable.js';
import { withHeapReclaim } from '../../backend/wasm/heapScope.js';

export interface VisionForwardOptions {
  /** Filled with intermediates: patches, pos_embed (the embedding used), blocks.<i>.block0 / block1, norm_out, pooled. */
  collect?: Map<string, Var>;
  /** Form of the 2D scans: 'recurrent' (the layer's default) or 'parallel'; same values and gradients. */
  form?: Plstm2dForm;
}

/** The official RMSNorm `p` (its scale and bias as the config has them). */
const norm = (t: Tape, W: WeightLookup, c: RmsNormConfig, p: string, x: Var): Var =>
  rmsNorm(t, x, { weight: c.scale ? need(W, `${p}.scale`) : undefined, bias: c.bias ? need(W, `${p}.bias`) : undefined }, c.eps);

/** The linear layer `p` (with its bias when `bias`). */
const lin = (W: WeightLookup, p: string, bias: boolean) => ({ weight: need(W, `${p}.weight`), bias: bias ? need(W, `${p}.bias`) : undefined });

/** PostUpProjectionBlock: x2 = x + layer(norm(x)); y = x2 + downproj(gelu(upproj(norm2(x2)))). */
function postUpBlock(t: Tape, c: PostUpBlockConfig, W: WeightLookup, p: string, x: Var, form?: Plstm2dForm): Var {
  const h = plstm2dLayer(t, norm(t, W, c.norm, `${p}.norm`, x), W, `${p}.interaction_module.`, c.interactionModule, form);
  const x2 = c.skip ? ag.add(t, x, h) : h;
  const down = mlp(t, norm(t, W, c.norm, `${p}.norm2`, x2), { up: lin(W, `${p}.upproj`, c.bias), down: lin(W, `${p}.downproj`, c.bias) }, 'gelu');
  return c.skip ? ag.add(t, x2, down) : down;
}

/** Patch embedding + position embedding: pixels -> [B, h, w, dim] (collects patches, pos_embed). */
export function visionEmbed(t: Tape, cfg: PlstmVisionConfig, w: WeightSource, pixels: Var, col?: Map<string, Var>): Var {
  const W = weightLookup(w);
  let x = patchEmbed(t, pixels, need(W, 'patch_embed.proj.weight'), need(W, 'patch_embed.proj.bias'), cfg);
  if (cfg.usePosEmbed) {
    const r = addPosEmbed(t, x, need(W, 'pos_embed.embed'), cfg.allowInterpolation);
    x = r.out;
    col?.set('pos_embed', r.used);
  }
  col?.set('patches', x);
  return x;
}

/** Final RMSNorm -> pooling -> head (-> soft cap): [B, h, w, dim] -> logits [B, classes] (collects norm_out, pooled). */
export function visionTail(t: Tape, cfg: PlstmVisionConfig, w: WeightSource, x: Var, col?: Map<string, Var>): Var {
  const W = weightLookup(w);
  const n = norm(t, W, cfg.norm, 'norm', x);
  col?.set('norm_out', n);
  const pooled = pool(t, n, cfg.pooling, cfg.seqlens);
  col?.set('pooled', pooled);
  const logits = linear(t, pooled, lin(W, 'head', true));
  return cfg.logitSoftcap === null ? logits : ag.softcap(t, logits, cfg.logitSoftcap);
}

/** logits [B, numClasses] of pixels [B, C, H, W] (channels_first) or [B, H, W, C]; weights by official name. */
export function plstmVisionForward(t: Tape, cfg: PlstmVisionConfig, w: WeightSource, pixels: Var, o: VisionForwardOptions = {}): Var {
  const col = o.collect, W = weightLookup(w);
  let x = visionEmbed(t, cfg, W, pixels, col);
  cfg.blocks.forEach((b, i) => {
    const p = `block_stack.blocks.${i}`;
    const y0 = postUpBlock(t, b.block0, W, `${p}.block0`, x, o.form);
    col?.set(`blocks.${i}.block0`, y0);
    const y1 = postUpBlock(t, b.block1, W, `${p}.block1`, y0, o.form);
    col?.set(`blocks.${i}.block1`, y1);
    // pLSTMVisionBlock1 returns x + 1 * (y - x) (its drop path of ones), not y itself
    x = ag.add(t, x, ag.sub(t, y1, x));
  });
  return visionTail(t, cfg, W, x, col);
}

/**
 * Fresh weights of a vision table (pLSTM or ViT) with the official initialisers, keyed on the
 * roles: SmallInit (normal, std sqrt(2 / (5 fan_in))) for projections ('linear', and the
 * layer's 'transitionBias' and 'passthrough') and the position embedding; gate biases -5
 * (Source/Mark/Direct), transition eigenvalue bias 1, P-mode orientation bias linspace(-2, 2)
 * over the heads, zero orientation / eigenvalue weights; norms 1; biases 0; head ~0 (trunc
 * normal 2e-5, here 0).
 */
export function initWeightsFromTable(table: WeightTable, seed: number): Map<string, Tensor> {
  const rng = new Rng(seed);
  const out = new Map<string, Tensor>();
  for (const spec of table.specs) {
    const shape = spec.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    const last = shape[shape.length - 1];
    switch (spec.role) {
      case 'norm': d.fill(1); break;
      case 'gateBias': d.fill(-5); break;
      case 'eigenvalueBias': d.fill(1); break;
      case 'orientationBias': for (let i = 0; i < n; i++) { const j = i % last; d[i] = last === 1 ? 0 : -2 + (4 * j) / (last - 1); } break;
      case 'eigenvalueWeight': case 'orientationWeight': case 'bias': case 'head': break; // zeros
      case 'linear': case 'posEmbed': case 'transitionBias': case 'passthrough': {
        const std = Math.sqrt(2 / (5 * spec.fanIn!));
        for (let i = 0; i < n; i++) d[i] = rng.normal() * std;
        break;
      }
      default: throw new Error(`vision initialiser: no rule for role ${spec.role} (${spec.name})`);
    }
    out.set(spec.name, new Tensor('f32', [...shape], d));
  }
  return out;
}

/** Inference wrapper: a config, its f32 weights and a backend; forward runs the tape without recording. */
export class PlstmVisionModel {
  readonly table: WeightTable;
  constructor(readonly config: PlstmVisionConfig, readonly weights: ReadonlyMap<string, Tensor>, readonly backend: WasmBackend) {
    this.table = plstmVisionTable(config);
  }

  /** logits [B, numClasses] as a flat Float32Array (heap memory of the pass is freed). */
  forward(pixels: Tensor): Float32Array {
    return runNoGrad(this.backend, (t) => Float32Array.from(plstmVisionForward(t, this.config, inputWeights(t, this.weights), t.input(pixels)).data));
  }
}

/**
 * Runs fn on a fresh f32 tape whose inputs need no gradient (so nothing is recorded) and frees
 * every wasm-heap tensor allocated meanwhile (fn must return plain JS data).
 */
export function runNoGrad<T>(be: WasmBackend, fn: (t: Tape) => T): T {
  return withHeapReclaim(be, () => fn(new Tape(be, 'f32')));
}
