// (kernels of this topic are added here)
export const ops_placeholder_: i32 = 0;
