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
export { type FrequencyClass, type FrequencyInfo, FREQUENCIES, FREQUENCY_MIX, sampleFrequency } from './synthetic/frequency.js';
export { type EtsSpec, type EtsError, type EtsTrend, type EtsSeason, simulateEts, sampleEtsSpec, seasonalProfile, describeEts } from './synthetic/ets.js';
export { type SarimaSpec, simulateSarima, sampleSarimaSpec, describeSarima, multiplyLagPolynomials } from './synthetic/sarima.js';
export {
  type CalendarEffects, calendarFactors, calendarSeries, daysInMonth, weekdayCounts, sampleCalendarEffects, sampleWeekdayWeights, sampleStart,
} from './synthetic/calendar.js';
export { type MarkovSwitching, simulateMarkovSwitching, structuralBreaks, switchingVolatilityWalk, regimeSeries } from './synthetic/regime.js';
export { type CrostonSpec, simulateCroston, sampleCrostonSpec, describeCroston } from './synthetic/croston.js';
