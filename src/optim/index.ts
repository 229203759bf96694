export { AdamW, paramGroups, globalGradNorm, clipGradNorm, warmupCosineLr, accumulateGradients, Rng } from './optim.js';
export type { AdamWOptions, ParamGroup, WarmupCosineOptions, AdamWState, AdamWMoments, RngState } from './optim.js';
