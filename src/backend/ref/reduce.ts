// Float64 reference for src/ops/reduce.ts. x: [rows, n] flattened; results per row.

export type ReduceName = 'sum' | 'mean' | 'max';

export function reduceRef(op: ReduceName, x: ArrayLike<number>, n: number): Float64Array {
  const rows = n === 0 ? 0 : x.length / n;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = op === 'max' ? -Infinity : 0;
    for (let i = 0; i < n; i++) {
      const v = x[r * n + i];
      acc = op === 'max' ? (Number.isNaN(v) || v > acc ? v : acc) : acc + v;
      if (Number.isNaN(acc)) break;
    }
    out[r] = op === 'mean' ? acc / n : acc;
  }
  return out;
}

/** First index of the row maximum; the first NaN counts as the maximum. */
export function argmaxRef(x: ArrayLike<number>, n: number): Int32Array {
  const rows = x.length / n;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = -Infinity, idx = 0;
    for (let i = 0; i < n; i++) {
      const v = x[r * n + i];
      if (Number.isNaN(v)) { idx = i; break; }
      if (v > best || i === 0) { best = v; idx = i; }
    }
    out[r] = idx;
  }
  return out;
}

/** Inclusive cumulative sum per row. */
export function cumsumRef(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let acc = 0;
    for (let i = 0; i < n; i++) { acc += x[r * n + i]; out[r * n + i] = acc; }
  }
  return out;
}
