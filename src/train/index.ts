// Training: the generic Trainer, text data, the trainable xLSTMLMModel and the one-call LM setup.
export { Trainer, CHECKPOINT_FILES, loadWeightsInto, withHeapReclaim } from './trainer.js';
export type { TrainData, LossFn, LossContext, TrainerOptions, TrainerProgress, StepResult, CheckpointFiles, Json } from './trainer.js';
export { TextDataset, encodeBytes, encodeWithTokenizer, byteLevelTokenizerJson } from './textData.js';
export type { TokenBatch, TextDatasetOptions } from './textData.js';
export { XLSTMLMTrainable, evaluateLmLoss, xlstmLmDecays } from './xlstmLmTrainable.js';
export type { XLSTMLMTrainableOptions, XLSTMLMInitOptions } from './xlstmLmTrainable.js';
export { createLmTraining, xlstmLmConfigJson } from './lmTraining.js';
export type { LmTrainingOptions, LmTraining } from './lmTraining.js';
// Forecaster training: trainable TiRex, pinball loss, contiguous patch masking, data and evaluation.
export { TiRexTrainable, tirexHyperParameters, TARGET_CLIP, DEFAULT_QUANTILES as TIREX_TRAIN_QUANTILES, nanScaler } from './tirexTrainable.js';
export type { TiRexSizes, PreparedForecastBatch, TiRexInitOptions } from './tirexTrainable.js';
export { contiguousPatchMask, ForecastBatchSampler } from './forecastData.js';
export type { CpmOptions, ForecastBatch, ForecastSamplerOptions } from './forecastData.js';
export { pinball, quantileLoss } from './forecastLoss.js';
export type { QuantileLossResult } from './forecastLoss.js';
export { ForecastDataWorkers } from './forecastDataWorkers.js';
export type { ForecastDataWorkersOptions } from './forecastDataWorkers.js';
export { ForecastTrainData, createTiRexTrainer, syntheticEvalSet, evaluateTiRex } from './forecastTrain.js';
export type { TiRexTrainerOptions, ForecastEvalItem, SyntheticEvalOptions, ForecastEvalResult } from './forecastTrain.js';
export { finetuneTiRex, finetuneSplit, FinetuneWindowData } from './finetune.js';
export type { FinetuneSeries, FinetuneOptions, FinetuneEval, FinetuneResult, FinetuneWindowOptions } from './finetune.js';
// Trainable xLSTM Large (xLSTM-7B architecture) for pre-training and fine-tuning.
export { XLSTMLargeTrainable, xlstmLargeParamSpecs, xlstmLargeConfigJson } from './xlstmLargeTrainable.js';
export type { XLSTMLargeTrainableOptions, XLSTMLargeInitOptions, XLSTMLargeLayout, XLSTMLargeParamSpec } from './xlstmLargeTrainable.js';
// TiRex-2 training (the network of src/models/tirex2 with Parameters) on the promotion covariate task.
export { TiRex2Trainable } from './tirex2Trainable.js';
export type { TiRex2TrainBatch, PreparedTiRex2Batch, TiRex2InitOptions, TiRex2LossOptions } from './tirex2Trainable.js';
export { PromotionTrainData, createTiRex2Trainer, promotionEvalSet, evaluateTiRex2Covariates } from './tirex2Train.js';
export type { PromotionDataOptions, TiRex2TrainerOptions, PromotionEvalItem, CovariateEvidence } from './tirex2Train.js';
