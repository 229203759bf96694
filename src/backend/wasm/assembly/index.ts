// All kernels of the WebAssembly backend. A kernel takes byte offsets and dims,
// allocates nothing, and takes its thread range (tid, nt) last.
export * from './elementwise';
export * from './ops';
export * from './gemm';
export * from './fmaPeak';
export * from './gemv';
export * from './gemvQ8';
export * from './mlstm';
export * from './slstm';
export * from './headwise';
export * from './heads';
export * from './gemmChunked';
export { tileGemmF32, tileGemmScratchBytes } from './tileGemm';
export * from './backwardSlstm';
export * from './backwardMlstm';
export * from './backwardOps';
export * from './flashrnn';
export * from './plstm';
export * from './program';
export * from './quantize';

/** 1 in the relaxed-SIMD build (fused multiply-add), else 0. */
export function hasRelaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
