// Shared helpers of the mLSTM tests (deterministic random inputs, slicing along S).
/** [BH, S, D] -> [BH, len, D] starting at t0. */
export function sliceS(a: ArrayLike<number>, BH: number, S: number, D: number, t0: number, len: number): Float64Array {
  const out = new Float64Array(BH * len * D);
  for (let bh = 0; bh < BH; bh++) for (let t = 0; t < len; t++) for (let x = 0; x < D; x++) out[(bh * len + t) * D + x] = a[(bh * S + t0 + t) * D + x];
  return out;
}
export function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
