// Building TiRex-2 models without a checkpoint: the official config kwargs from a few sizes,
// random weights following the official initialisation facts (for tests, benches and the
// start of training), and writing config.json + model.safetensors in the official Hugging
// Face layout (each alias group under its alphabetically first name), which
// TiRex2.fromPretrained and the official load_model both read.
import { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../random/rng.js';
import { ArgumentError } from '../../errors.js';
import type { TiRex2Config, TiRex2ConfigJson } from './config.js';
import { tirex2SafetensorsNames, tirex2Table } from './weights.js';

export interface TiRex2Sizes {
  embeddingDim: number;
  /** Time-mixer (mLSTM and sLSTM) and attention heads (default 4). */
  numHeads?: number;
  /** sLSTM heads (default numHeads). */
  numSlstmHeads?: number;
  /** Attention heads (default numHeads). */
  attentionHeads?: number;
  /** Block kinds in order (default alternating bi-mlstm, bi-slstm, numBlocks of them). */
  recipe?: ('bi-mlstm' | 'bi-slstm')[];
  numBlocks?: number;
  patchSize?: number;
  contextLength?: number;
  futureLength?: number;
  inputFfDim?: number;
  hExpand?: number;
  quantiles?: number[];
}

export const TIREX2_DEFAULT_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * The official TiRex2 kwargs for these sizes. Defaults are the official test configuration
 * (conftest.py): 4 heads, patch 32, context 2048, future 320, input_ff_dim 2048, h_expand 4,
 * stack_out_norm eps 1e-7, arcsinh + binary-aware scaler.
 */
export function tirex2ConfigJson(s: TiRex2Sizes): TiRex2ConfigJson {
  const E = s.embeddingDim, NH = s.numHeads ?? 4, P = s.patchSize ?? 32;
  const recipe: ('bi-mlstm' | 'bi-slstm')[] = s.recipe ?? Array.from({ length: s.numBlocks ?? 12 }, (_, i) => (i % 2 === 0 ? 'bi-mlstm' : 'bi-slstm'));
  const names = { 'bi-mlstm': 'mlstm_attn', 'bi-slstm': 'slstm_attn' } as const;
  const templates: TiRex2ConfigJson['stack_config']['templates'] = {};
  for (const kind of new Set(recipe)) {
    templates[names[kind]] = {
      time_mixer: { model_type: kind, embedding_dim: E, num_heads: NH, num_slstm_heads: s.numSlstmHeads ?? NH, device: 'cpu' },
      variate_mixer: { embedding_dim: E, num_heads: s.attentionHeads ?? NH },
      dropout: 0.1, eps: 1e-7,
    };
  }
  return {
    stack_config: { templates, recipe: recipe.map((k) => names[k]) },
    num_blocks: recipe.length, embedding_dim: E, input_patch_size: P, output_patch_size: P,
    quantiles: [...(s.quantiles ?? TIREX2_DEFAULT_QUANTILES)],
    tokenizer_cfg: { output_patch_size: P, input_patch_size: P, input_patch_stride: P },
    scaler_cfg: { use_arcsinh: true, binaryaware: true },
    h_expand: s.hExpand ?? 4, context_len: s.contextLength ?? 2048, future_len: s.futureLength ?? 10 * P,
    input_ff_dim: s.inputFfDim ?? 2048, act_func: 'SiLU', dropout: 0.1, tta_diff: true,
    stack_out_norm_config: { eps: 1e-7 }, device: 'cpu',
  };
}

/**
 * Random weights (canonical names, f32) by the official init facts: linear weights
 * N(0, 1/fan_in), biases 0, norm weights 1; mLSTM forget-gate bias linspace(3, 6) per head,
 * input-gate bias N(0, 0.1); sLSTM recurrent kernel 0 and bias 0 except the forget slot
 * 5 - 12 (d/(DH-1))^(0.3 + 1.3 block/(num_blocks-1)). `perturb` > 0 adds N(0, perturb^2) to
 * everything (so that zero-initialised paths carry signal in tests).
 */
export function randomTiRex2Weights(cfg: TiRex2Config, seed: number, perturb = 0): Map<string, Tensor> {
  if (!Number.isInteger(seed)) throw new ArgumentError(`randomTiRex2Weights: seed must be an integer, got ${seed}`);
  const rng = new Rng(seed);
  const out = new Map<string, Tensor>();
  const nb = cfg.blocks.length;
  for (const spec of tirex2Table(cfg).specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    const block = /^stack\.(\d+)\./.exec(spec.name);
    const bi = block ? Number(block[1]) : 0;
    switch (spec.role) {
      case 'norm': d.fill(1); break;
      case 'fgateBias': { const NH = n; for (let h = 0; h < NH; h++) d[h] = NH > 1 ? 3 + (3 * h) / (NH - 1) : 3; break; }
      case 'igateBias': for (let j = 0; j < n; j++) d[j] = 0.1 * rng.normal(); break;
      case 'gateWeight': case 'recurrentKernel': case 'bias': break; // zeros
      case 'slstmBias': {
        const [NH, , DH] = spec.shape;
        const power = 0.3 + 1.3 * (nb > 1 ? bi / (nb - 1) : 0);
        for (let h = 0; h < NH; h++) for (let k = 0; k < DH; k++) d[(h * 4 + 1) * DH + k] = 5 - 12 * (DH > 1 ? k / (DH - 1) : 0) ** power;
        break;
      }
      case 'linear': case 'downProj': case 'headwiseGate': {
        const std = 1 / Math.sqrt(spec.fanIn!);
        for (let j = 0; j < n; j++) d[j] = std * rng.normal();
        break;
      }
      default: throw new Error(`randomTiRex2Weights: no init rule for role ${spec.role} (${spec.name})`);
    }
    if (perturb > 0) for (let j = 0; j < n; j++) d[j] += perturb * rng.normal();
    out.set(spec.name, new Tensor('f32', [...spec.shape], d));
  }
  return out;
}

/**
 * Node: writes `dir`/config.json (the kwargs as given) and `dir`/model.safetensors with every
 * tensor under its official stored name (alias groups once, alphabetically first name).
 */
export async function saveTiRex2Checkpoint(dir: string, configJson: unknown, cfg: TiRex2Config, weights: ReadonlyMap<string, Tensor>): Promise<void> {
  const [{ mkdir, writeFile }, { join }, { writeSafetensorsFile }] = await Promise.all([
    import('node:fs/promises'), import('node:path'), import('../../io/safetensorsWrite.js'),
  ]);
  const names = tirex2SafetensorsNames(cfg);
  const tensors: Record<string, Tensor> = {};
  for (const [canon, stored] of names) {
    const t = weights.get(canon);
    if (!t) throw new ArgumentError(`saveTiRex2Checkpoint: no tensor '${canon}'`);
    tensors[stored] = t.dtype === 'f32' ? t : new Tensor('f32', t.shape, t.toFloat32());
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
  await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
}
