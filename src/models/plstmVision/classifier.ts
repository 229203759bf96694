// One interface over the two vision classifiers (the pLSTM vision model and the ViT baseline),
// so training, evaluation and the classify-image command treat them alike: the config JSON
// decides which one it is (official pLSTMVisionModelConfig, or `model_type: 'vit-vision'`).
import type { Tape, Var } from '../../autograd/tape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { plstmVisionConfigFromJson } from './config.js';
import { plstmVisionTable } from './weights.js';
import { plstmVisionForward, runNoGrad } from './model.js';
import type { Plstm2dForm } from '../../xlstm/plstm/index.js';
import { vitConfigFromJson, vitConfigToJson, vitTable, vitVisionForward } from './vit.js';
import type { WeightTable } from '../weightTable.js';
import { WeightSource, inputWeights } from '../../blocks/basic.js';

export type VisionModelKind = 'plstm-vision' | 'vit-vision';

export interface VisionClassifier {
  kind: VisionModelKind;
  numChannels: number;
  numClasses: number;
  patchSize: number;
  /** Resolution the model was built for (others work when divisible by the patch size). */
  resolution: [number, number];
  /** The weight table (official names, shapes, roles). */
  table: WeightTable;
  /** logits [B, numClasses] of pixels [B, C, H, W] on the tape; weights by official name. */
  forward(t: Tape, w: WeightSource, pixels: Var): Var;
  /** The config.json to save. */
  configJson: Record<string, unknown>;
}

/** The classifier a config.json describes. */
export function visionClassifierFromJson(json: Record<string, unknown>, source = 'config.json', o: { form?: Plstm2dForm } = {}): VisionClassifier {
  if (json.model_type === 'vit-vision') {
    const c = vitConfigFromJson(json, source);
    return {
      kind: 'vit-vision', numChannels: c.numChannels, numClasses: c.numClasses, patchSize: c.patchSize, resolution: c.resolution,
      table: vitTable(c), forward: (t, w, px) => vitVisionForward(t, c, w, px), configJson: vitConfigToJson(c),
    };
  }
  const c = plstmVisionConfigFromJson(json, source);
  return {
    kind: 'plstm-vision', numChannels: c.numChannels, numClasses: c.numClasses, patchSize: c.patchSize, resolution: c.resolution,
    table: plstmVisionTable(c), forward: (t, w, px) => plstmVisionForward(t, c, w, px, { form: o.form ?? 'recurrent' }), configJson: c.official,
  };
}

/** Softmax probabilities [B, numClasses] of pixels [B, C, H, W] (inference: nothing recorded, heap freed). */
export function classifyPixels(be: WasmBackend, m: VisionClassifier, weights: ReadonlyMap<string, Tensor>, pixels: Tensor): Float32Array {
  return runNoGrad(be, (t) => softmaxRows(m.forward(t, inputWeights(t, weights), t.input(pixels)).data, m.numClasses));
}

function softmaxRows(x: ArrayLike<number>, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += n) {
    let mx = -Infinity;
    for (let i = 0; i < n; i++) mx = Math.max(mx, x[r + i]);
    let s = 0;
    for (let i = 0; i < n; i++) { out[r + i] = Math.exp(x[r + i] - mx); s += out[r + i]; }
    for (let i = 0; i < n; i++) out[r + i] /= s;
  }
  return out;
}
