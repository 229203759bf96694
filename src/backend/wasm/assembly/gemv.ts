// (kernels of this topic are added here)
export const gemv_placeholder_: i32 = 0;
