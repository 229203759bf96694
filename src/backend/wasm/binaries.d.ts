// Generated at build time (scripts/emit-wasm-module.mjs): base64 WebAssembly kernels.
/** Baseline build: SIMD128 + threads. */
export declare const simd: string;
/** Relaxed-SIMD build (fused multiply-add), used when the engine validates it. */
export declare const relaxed: string;
