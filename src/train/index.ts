// Training: the generic Trainer, text data, the trainable xLSTMLMModel and the one-call LM setup.
export { Trainer, CHECKPOINT_FILES, loadWeightsInto, rngState, setRngState, withHeapReclaim } from './trainer.js';
export type { TrainData, LossFn, LossContext, TrainerOptions, TrainerProgress, StepResult, CheckpointFiles, Json } from './trainer.js';
export { TextDataset, encodeBytes, encodeWithTokenizer } from './textData.js';
export type { TokenBatch, TextDatasetOptions } from './textData.js';
export { XLSTMLMTrainable, evaluateLmLoss, xlstmLmDecays } from './xlstmLmTrainable.js';
export type { XLSTMLMTrainableOptions, XLSTMLMInitOptions } from './xlstmLmTrainable.js';
export { createLmTraining, xlstmLmConfigJson } from './lmTraining.js';
export type { LmTrainingOptions, LmTraining } from './lmTraining.js';
