// The tensor ops of this folder in one place (matmul.ts is re-exported by the lead's index).
export { add, sub, mul, scale, activation, exp, log, sigmoid, logsigmoid, tanh, silu, gelu, softplus, relu, erf, softcap, swiglu, broadcastKind, ACTIVATIONS } from './elementwise.js';
export { headwiseMatmul } from './headwise.js';
export { splitHeads, mergeHeads } from './heads.js';
export type { Activation, BinaryOp } from './elementwise.js';
export { softmax, logSoftmax } from './softmax.js';
export { sum, mean, max, argmax, cumsum } from './reduce.js';
export { rmsNorm, layerNorm, groupNorm, multiHeadLayerNorm } from './norm.js';
export type { NormOptions } from './norm.js';
export { causalConv1d, causalConv1dStep, CausalConv1dWeight } from './conv.js';
export type { CausalConv1dOptions, CausalConv1dResult } from './conv.js';
export { embedding } from './embedding.js';
export { quantizeInt8OnHeap, quantizeQ4OnHeap, quantizeRowsInt8Into, quantizeRowsQ4Into } from './quantize.js';
export type { QuantSource } from './quantize.js';
