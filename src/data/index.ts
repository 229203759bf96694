// Synthetic training data (browser-safe) for the time-series models.
// Rng lives in src/random (shared with optim and train); re-exported because the data API takes it.
export { Rng } from '../random/rng.js';
export {
  type Kernel, type GpSampleOptions, type KernelFeatures, SEASONAL_PERIODS, kernelValue, kernelMatrix, describeKernel,
  sampleBaseKernel, sampleKernel, sampleGp, kernelFeatures, choleskyInPlace, periodicWeights, scaledBesselI,
} from './synthetic/kernels.js';
export {
  type SeasonalityInfo, type MissingOptions, piecewiseTrend, logisticTrend, multiSeasonal, stationaryAr, arma, volatility,
  levelShifts, addSpikes, intermittent, addMissingRuns,
} from './synthetic/components.js';
export {
  type SyntheticKind, type SyntheticMix, type SyntheticOptions, type SyntheticSeries, SYNTHETIC_KINDS, DEFAULT_MIX,
  SyntheticSeriesGenerator,
} from './synthetic/generator.js';
export { type EvalManifestEntry, type EvalTask, evalFileOf, parseEvalManifest, buildEvalTasks } from './evalSet.js';
export {
  type PromotionTaskOptions, type PromotionSeries, PROMOTION_DEFAULTS, PromotionTaskGenerator, expectedPromotionShare,
} from './synthetic/promotion.js';
