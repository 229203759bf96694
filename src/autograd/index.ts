// Reverse-mode autodiff: the tape, differentiable ops and cells, gradient checking.
export { Tape, Var, Parameter } from './tape.js';
export type { TapeDType, Arr } from './tape.js';
export * as ag from './ops.js';
export type { NormOpts, MatmulOpts, CrossEntropyOptions, ActivationName, BinaryName } from './ops.js';
export { mlstmParallel as agMlstmParallel, mlstmChunkwise as agMlstmChunkwise, slstm as agSlstm } from './cells.js';
export type { MlstmVars, MlstmCellOptions, MlstmChunkwiseCellOptions, SlstmCellOptions } from './cells.js';
export { flashrnn as agFlashrnn } from './flashrnn.js';
export type { FlashRnnCellOptions } from './flashrnn.js';
export { gradCheck } from './gradcheck.js';
export type { GradCheckResult, GradCheckOptions } from './gradcheck.js';
export { gatherRows as agGatherRows, flip as agFlip } from './gather.js';
