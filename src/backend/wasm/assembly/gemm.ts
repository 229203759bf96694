// (kernels of this topic are added here)
export const gemm_placeholder_: i32 = 0;
