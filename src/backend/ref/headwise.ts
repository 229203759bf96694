// Float64 reference for the head-wise (block-diagonal) linear map of src/ops/headwise.ts.

/**
 * out[r, (g*NH + h)*DO + o] = sum_i x[r, h*DI + i] w[g, h, o, i] in float64; x [rows, NH*DI],
 * w [G, NH, DO, DI]; returns [rows, G*NH*DO].
 */
export function refHeadwiseMatmul(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, G: number, NH: number, DO: number, DI: number): Float64Array {
  const out = new Float64Array(rows * G * NH * DO);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < G; g++) {
      for (let h = 0; h < NH; h++) {
        for (let o = 0; o < DO; o++) {
          let s = 0;
          const wo = ((g * NH + h) * DO + o) * DI;
          for (let i = 0; i < DI; i++) s += x[r * NH * DI + h * DI + i] * w[wo + i];
          out[r * G * NH * DO + (g * NH + h) * DO + o] = s;
        }
      }
    }
  }
  return out;
}
