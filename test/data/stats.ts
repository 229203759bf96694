// Small statistics helpers shared by the synthetic-generator tests.
export function mean(y: ArrayLike<number>): number { let s = 0; for (let t = 0; t < y.length; t++) s += y[t]; return s / y.length; }

export function acf(y: ArrayLike<number>, lag: number): number {
  const n = y.length, m = mean(y);
  let c0 = 0, c = 0;
  for (let t = 0; t < n; t++) c0 += (y[t] - m) ** 2;
  for (let t = lag; t < n; t++) c += (y[t] - m) * (y[t - lag] - m);
  return c / c0;
}

export function diff(y: ArrayLike<number>, lag = 1): Float64Array {
  return Float64Array.from({ length: y.length - lag }, (_, t) => y[t + lag] - y[t]);
}
