// Float64 reference for src/ops/norm.ts. x: [rows, D] flattened, D = groups * DG.

export interface NormRefOptions {
  eps: number;
  weight?: ArrayLike<number>; // [D]
  bias?: ArrayLike<number>; // [D]
  weightOffset?: boolean; // scale by (1 + w)
  /** RMSNorm: no mean subtraction, x * rsqrt(mean(x^2) + eps). */
  rms?: boolean;
}

/** Group norm over the last dim D split in `groups`; LayerNorm is groups = 1. */
export function normRef(x: ArrayLike<number>, D: number, groups: number, o: NormRefOptions): Float64Array {
  const out = new Float64Array(x.length);
  const DG = D / groups;
  for (let q = 0; q < x.length / DG; q++) {
    const g = q % groups;
    let mean = 0;
    if (!o.rms) { for (let i = 0; i < DG; i++) mean += x[q * DG + i]; mean /= DG; }
    let v = 0;
    for (let i = 0; i < DG; i++) { const d = x[q * DG + i] - mean; v += d * d; }
    const rstd = 1 / Math.sqrt(v / DG + o.eps);
    for (let i = 0; i < DG; i++) {
      const k = g * DG + i;
      let y = (x[q * DG + i] - mean) * rstd;
      if (o.weight) y *= (o.weightOffset ? 1 : 0) + o.weight[k];
      if (o.bias) y += o.bias[k];
      out[q * DG + i] = y;
    }
  }
  return out;
}
