// Public entry of xLSTMLMModel (the NeurIPS-paper xLSTM library's language model).
export * from './config.js';
export * from './weights.js';
export { xlstmLmNetwork, XLSTM_LM_LN_EPS, XLSTM_LM_MLSTM_EPS } from './network.js';
export * from './model.js';
export { toOfficialState, fromOfficialState } from './state.js';
export { nextTokenCrossEntropy } from './loss.js';
export { headwiseLinear } from './headwise.js';
export { feedForward, xlstmLayerNorm, XLSTM_LN_EPS } from './ffn.js';
