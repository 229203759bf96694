// Public entry of xLSTM Large / xLSTM-7B.
export * from './config.js';
export * from './weights.js';
export { xlstmLargeNetwork } from './network.js';
export * from './model.js';
export { XLSTMLargeStepPlan } from './stepPlan.js';
export type { XLSTMLargeStepPath } from './stepPlan.js';
