// sLSTM cell: parameters (both checkpoint layouts) and the wasm forward/step.
export { loadSlstmParams, recurrentExt, SLSTM_CHUNK } from './params.js';
export type { SlstmParams, SlstmParamLayout, LoadSlstmParamsOptions } from './params.js';
export { slstmForward, slstmStep } from './cell.js';
export type { SlstmForwardOptions, SlstmForwardResult, SlstmFirstStepRule } from './cell.js';
export { slstmForwardRef } from '../../backend/ref/slstm.js';
export type { SlstmRefOptions, SlstmRefResult, SlstmRefWeights } from '../../backend/ref/slstm.js';
