// (kernels of this topic are added here)
export const mlstm_placeholder_: i32 = 0;
