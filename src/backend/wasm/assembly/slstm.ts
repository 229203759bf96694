// (kernels of this topic are added here)
export const slstm_placeholder_: i32 = 0;
