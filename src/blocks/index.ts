// The block layer: building blocks shared by the model families (xLSTMLMModel, xLSTM Large,
// TiRex, and the next ones), each written once against the autograd Tape so one definition
// serves training (Parameters) and inference (plain inputs: the tape records nothing).
// See docs/ARCHITECTURE.md.
export * from './basic.js';
export { headwise } from './headwise.js';
export { slstmLayer, headwiseGates } from './slstmLayer.js';
export type { SlstmLayerW, SlstmLayerOptions } from './slstmLayer.js';
export { mlstmLayer, mlstmLayerLarge, mlstmHeads } from './mlstmLayer.js';
export type { MlstmCellForm, MlstmLayerW, MlstmLayerLargeW, MlstmLayerLargeOptions } from './mlstmLayer.js';
