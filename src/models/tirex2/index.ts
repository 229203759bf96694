// TiRex-2 zero-shot forecaster with past and future-known covariates (NX-AI/tirex-2).
export { TiRex2 } from './model.js';
export type {
  TiRex2Options, TiRex2FromPretrainedOptions, TiRex2Series, TiRex2Values, TiRex2ForecastOptions, TiRex2Forecast, TiRex2SeriesForecast,
  TiRex2SeriesError, TiRex2PassDetails,
} from './model.js';
export { resolveTiRex2Config, tirex2NumParameters, tirex2ParameterCount, TIREX2_FFN_PROJ_FACTOR, TIREX2_SCALER_EPS } from './config.js';
export type { TiRex2Config, TiRex2ConfigJson, TiRex2BlockConfig, TiRex2TemplateJson, TiRex2TimeMixerJson, TiRex2VariateMixerJson, TiRex2TimeMixerType } from './config.js';
export { tirex2Table, tirex2WeightTable, loadTiRex2Weights, loadTiRex2Checkpoint, tirex2TensorMapSource, tirex2SafetensorsNames } from './weights.js';
export type { TiRex2WeightEntry, TiRex2TensorSource, LoadedTiRex2Checkpoint, LoadTiRex2CheckpointOptions } from './weights.js';
export { tirex2Network, timeMixer as tirex2TimeMixer, variateMixer as tirex2VariateMixer, attentionPlan as tirex2AttentionPlan, mlstmCell as tirex2MlstmCell, slstmCell as tirex2SlstmCell } from './network.js';
export type { TiRex2ParamLookup, TiRex2RowLayout, TiRex2Hook, TiRex2AttentionPlan } from './network.js';
export { prepareRows as tirex2PrepareRows, scaleRows as tirex2ScaleRows, tokenize as tirex2Tokenize, descale as tirex2Descale, horizonSlice as tirex2HorizonSlice, postprocessRow as tirex2PostprocessRow, trendTest as tirex2TrendTest } from './pipeline.js';
export type { TiRex2SeriesRows, TiRex2Batch, TiRex2Scaled } from './pipeline.js';
export { tirex2ConfigJson, randomTiRex2Weights, saveTiRex2Checkpoint, TIREX2_DEFAULT_QUANTILES } from './init.js';
export type { TiRex2Sizes } from './init.js';
