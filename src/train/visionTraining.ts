// Training and evaluating the vision classifiers (the pLSTM vision model, the ViT baseline) on
// arrow-pointing images with the generic Trainer: Parameters made from the model's weight
// table (official names, so checkpoints are loadable state_dicts), the model's one tape
// definition as the loss, and accuracy at several image sizes (the extrapolation test).
import { Parameter, Tape, Var } from '../autograd/tape.js';
import * as ag from '../autograd/ops.js';
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Trainer, withHeapReclaim } from './trainer.js';
import type { TrainerOptions } from './trainer.js';
import type { VisionClassifier } from '../models/plstmVision/classifier.js';
import { ArrowPointingStream, arrowPointingImages, ImageBatch } from '../data/arrowPointingBatches.js';
import { ArrowPointingConfig, arrowPointingBaseSeed } from '../data/arrowPointing.js';
import { inputWeights } from '../blocks/basic.js';
import { rocAuc } from './rocAuc.js';

/** Parameters named by the weight table; weight decay only on the >= 2-D '...weight' matrices (as the official recipes). */
export function visionParameters(m: VisionClassifier, weights: ReadonlyMap<string, Tensor>): Parameter[] {
  return m.table.specs.map(({ name }) => {
    const t = weights.get(name);
    if (!t) throw new Error(`vision model: no initial value for '${name}'`);
    const copy = new Tensor('f32', t.shape, Float32Array.from(t.toFloat32()));
    return new Parameter(copy, name, name.endsWith('weight') && t.shape.length >= 2);
  });
}

export type VisionTrainerOptions = Omit<TrainerOptions<ImageBatch>, 'params' | 'loss' | 'data' | 'backend'>;

export function createVisionTrainer(be: WasmBackend, m: VisionClassifier, params: readonly Parameter[], data: ArrowPointingStream, o: VisionTrainerOptions): Trainer<ImageBatch> {
  return new Trainer<ImageBatch>({
    ...o, params, data, backend: be, reclaimHeap: true,
    loss: (t: Tape, b: ImageBatch) => {
      const w = new Map<string, Var>(params.map((p) => [p.name!, p]));
      const logits = m.forward(t, w, t.input(new Tensor('f32', b.shape, b.pixels)));
      return { loss: ag.crossEntropy(t, logits, b.labels), tokens: b.shape[0] };
    },
  });
}

export interface VisionEvalResult {
  accuracy: number;
  loss: number;
  count: number;
  /** Two classes only (else NaN): fraction of images predicted class 1, and the ROC AUC of logit1 - logit0. */
  positiveRate: number;
  auc: number;
}

/**
 * Accuracy and mean cross-entropy on `count` images (dataset indices 0..count-1 of `cfg`, whose
 * image size may differ from the training size), without recording a graph.
 */
export function evaluateVision(be: WasmBackend, m: VisionClassifier, weights: ReadonlyMap<string, Tensor>, cfg: ArrowPointingConfig, count: number, batchSize = 32): VisionEvalResult {
  const base = arrowPointingBaseSeed(cfg.seed);
  let correct = 0, lossSum = 0, predictedPositive = 0;
  const margins: number[] = [], labels: number[] = [];
  for (let s = 0; s < count; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, count - s) }, (_, i) => s + i);
    const b = arrowPointingImages(cfg, idx, m.numChannels, base);
    const r = withHeapReclaim(be, () => {
      const t = new Tape(be, 'f32');
      const logits = m.forward(t, inputWeights(t, weights), t.input(new Tensor('f32', b.shape, b.pixels)));
      const l = ag.crossEntropy(t, logits, b.labels).data[0] * idx.length;
      const d = logits.data, C = m.numClasses;
      let ok = 0;
      for (let i = 0; i < idx.length; i++) {
        let best = 0;
        for (let k = 1; k < C; k++) if (d[i * C + k] > d[i * C + best]) best = k;
        if (best === b.labels[i]) ok++;
        if (C === 2) { margins.push(d[i * C + 1] - d[i * C]); labels.push(b.labels[i]); if (best === 1) predictedPositive++; }
      }
      return { l, ok };
    });
    lossSum += r.l; correct += r.ok;
  }
  const two = m.numClasses === 2;
  return { accuracy: correct / count, loss: lossSum / count, count, positiveRate: two ? predictedPositive / count : NaN, auc: two ? rocAuc(margins, labels) : NaN };
}
