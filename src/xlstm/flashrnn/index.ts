// FlashRNN cells (LSTM, GRU, Elman, sLSTM) with head-wise recurrence: the wasm forward and the float64 reference.
export { flashrnn, packFlashRnnWeights } from './flashrnn.js';
export type { FlashRnnOptions, FlashRnnResult, FlashRnnPackedWeights, FlashRnnCell, FlashRnnDims, FlashRnnGradMode } from './flashrnn.js';
export { FLASHRNN_CELLS, flashrnnForwardRef, flashrnnBackwardRef } from '../../backend/ref/flashrnn.js';
export type { FlashRnnCellSpec, FlashRnnGrads, FlashRnnBackwardRefOptions } from '../../backend/ref/flashrnn.js';
