// TiRex zero-shot forecaster (sLSTM over patches, 9 quantiles).
export { TiRex, interpolateQuantiles, windowScaler } from './model.js';
export type { TiRexOptions, TiRexFromPretrainedOptions, TiRexForecastOptions, TiRexForecast, TiRexStepIntermediates, TiRexProgress, TiRexSeriesError, TiRexContext } from './model.js';
export { resolveTiRexConfig, DEFAULT_FFN_PROJ_FACTOR } from './config.js';
export type { TiRexConfig, TiRexHyperParametersJson, TiRexModelConfigJson } from './config.js';
export { tirexTable, tirexWeightTable, readTiRexTensors, tirexWeightsFromTensors, loadTiRexWeights, loadTiRexCheckpoint, tensorMapSource, LEGACY_PREFIX } from './weights.js';
export { tirexNetwork, tirexBlock } from './network.js';
export type { TiRexWeights, TiRexBlockWeights, TiRexResidualBlockWeights, TiRexTensorSource, LoadedTiRexCheckpoint, LoadTiRexCheckpointOptions } from './weights.js';
export { convertTiRexCheckpoint } from './convert.js';
export type { ConvertTiRexOptions, ConvertTiRexResult } from './convert.js';
export { defaultForecasterUrl, defaultForecasterPath, loadDefaultForecaster } from './defaultForecaster.js';
export { embedContext, embedSamples, tirexStatsFeatures, normalizeTirexStats } from './embed.js';
export type { TiRexEmbedContextOptions, TiRexEmbedOptions, TiRexEmbedInput, TiRexEmbedding, TiRexHiddenStates } from './embed.js';
export { TiRexLinearHead, TiRexLinearClassifier, TiRexLinearRegressor, softmaxRows, argmaxRows } from './heads.js';
export type { TiRexHeadTask, TiRexHeadTrainOptions, TiRexHeadHistory, TiRexHeadFile, EmbeddingMatrix } from './heads.js';
export { TiRexStream } from './stream.js';
export type { TiRexStreamOptions, TiRexStreamForecastOptions, TiRexStreamValues, TiRexStreamAlignment } from './stream.js';
