// Forecast accuracy: MASE, weighted quantile loss (WQL), the seasonal naive baseline and
// relative scores (geometric mean over series of model / seasonal naive), as in the
// Chronos / GIFT-Eval benchmarks. NaN in actuals or history = missing, skipped everywhere.

/** Pinball (quantile) loss of one prediction q̂ at level τ: max(τ(y-q̂), (τ-1)(y-q̂)). */
export function pinballLoss(y: number, qhat: number, level: number): number {
  const d = y - qhat;
  return d >= 0 ? level * d : (level - 1) * d;
}

/**
 * The seasonal period actually usable on a history of n values: m when there is at least one
 * pair (x_t, x_{t-m}), i.e. n > m, else 1 (the GluonTS convention for short series).
 */
export function effectiveSeasonalPeriod(n: number, m: number): number {
  if (!Number.isInteger(m) || m < 1) throw new Error(`seasonal period must be an integer >= 1, got ${m}`);
  return n > m ? m : 1;
}

/**
 * MASE denominator: mean |x_t - x_{t-m}| over the in-sample pairs with both values observed.
 * 0 for a flat (or seasonally repeating) history; NaN when there is no observed pair.
 */
export function naiveScale(history: ArrayLike<number>, m: number): number {
  let sum = 0, n = 0;
  for (let t = m; t < history.length; t++) {
    const a = history[t], b = history[t - m];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    sum += Math.abs(a - b); n++;
  }
  return n ? sum / n : NaN;
}

/**
 * Mean absolute scaled error of a point forecast: mean |y - ŷ| / naiveScale(history, m).
 * The scale being 0 makes MASE undefined: the result is NaN then (never Infinity), and
 * scoreSeries says why in `notes`.
 */
export function mase(actual: ArrayLike<number>, forecast: ArrayLike<number>, history: ArrayLike<number>, m: number): number {
  checkSameLength(actual, forecast, 'mase: forecast');
  const scale = naiveScale(history, m);
  const err = meanAbsError(actual, forecast);
  return scale > 0 ? err / scale : NaN;
}

/** Mean |y - ŷ| over the observed actuals (NaN when none). */
export function meanAbsError(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  let s = 0, n = 0;
  for (let t = 0; t < actual.length; t++) {
    if (Number.isNaN(actual[t])) continue;
    s += Math.abs(actual[t] - forecast[t]); n++;
  }
  return n ? s / n : NaN;
}

/**
 * Weighted quantile loss over one or more series (pooled):
 * WQL = mean over levels τ of [ 2 Σ_{s,t} pinball_τ(y, q̂_τ) / Σ_{s,t} |y| ].
 * `quantiles[s][t][k]` is the prediction at `levels[k]`. NaN when Σ|y| = 0.
 */
export function wql(actuals: ArrayLike<number>[], quantiles: ArrayLike<ArrayLike<number>>[], levels: readonly number[]): number {
  if (actuals.length !== quantiles.length) throw new Error(`wql: ${actuals.length} actual series but ${quantiles.length} forecasts`);
  for (const l of levels) if (!(l > 0 && l < 1)) throw new Error(`wql: quantile levels must be in (0, 1), got ${l}`);
  const loss = new Float64Array(levels.length);
  let denom = 0;
  actuals.forEach((y, s) => {
    checkSameLength(y, quantiles[s], `wql: forecast ${s}`);
    for (let t = 0; t < y.length; t++) {
      if (Number.isNaN(y[t])) continue;
      denom += Math.abs(y[t]);
      const q = quantiles[s][t];
      if (q.length !== levels.length) throw new Error(`wql: forecast ${s} step ${t} has ${q.length} quantiles, expected ${levels.length}`);
      for (let k = 0; k < levels.length; k++) loss[k] += pinballLoss(y[t], q[k], levels[k]);
    }
  });
  if (!(denom > 0)) return NaN;
  let sum = 0;
  for (let k = 0; k < levels.length; k++) sum += (2 * loss[k]) / denom;
  return sum / levels.length;
}

/** Empirical quantile with linear interpolation between order statistics (numpy's default). */
export function empiricalQuantile(sorted: ArrayLike<number>, level: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = level * (n - 1);
  const lo = Math.floor(pos), hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export interface QuantileForecastResult {
  levels: number[];
  /** [H] point forecast */
  median: Float64Array;
  /** [H][levels] */
  quantiles: Float64Array[];
}

/**
 * Seasonal naive forecast: ŷ_{n+h} = the last observed value in the same season (m steps
 * back, further back over missing values; the last observed value if the season never was).
 * Quantiles: ŷ + √k · (e_τ - e_0.5), with e_τ the empirical τ-quantile of the in-sample
 * seasonal differences x_t - x_{t-m} and k = ceil(h/m) the number of seasons ahead (errors of
 * a seasonal random walk add up); the 0.5 level is ŷ itself. No observed difference: zero width.
 */
export function seasonalNaive(history: ArrayLike<number>, horizon: number, m: number, levels: readonly number[]): QuantileForecastResult {
  if (!Number.isInteger(horizon) || horizon < 1) throw new Error(`seasonalNaive: horizon must be an integer >= 1, got ${horizon}`);
  const n = history.length;
  let lastObserved = NaN;
  for (let t = n - 1; t >= 0; t--) if (!Number.isNaN(history[t])) { lastObserved = history[t]; break; }
  if (Number.isNaN(lastObserved)) throw new Error('seasonalNaive: the history has no observed value');
  const mm = effectiveSeasonalPeriod(n, m);
  const diffs: number[] = [];
  for (let t = mm; t < n; t++) {
    const d = history[t] - history[t - mm];
    if (!Number.isNaN(d)) diffs.push(d);
  }
  diffs.sort((a, b) => a - b);
  const e50 = empiricalQuantile(diffs, 0.5);
  const offsets = levels.map((l) => (diffs.length ? empiricalQuantile(diffs, l) - e50 : 0));
  const median = new Float64Array(horizon);
  const quantiles: Float64Array[] = [];
  for (let h = 1; h <= horizon; h++) {
    // same phase as step h in the last full season of the history
    let t = n - mm + ((h - 1) % mm);
    while (t >= 0 && Number.isNaN(history[t])) t -= mm;
    const point = t >= 0 ? history[t] : lastObserved;
    median[h - 1] = point;
    const k = Math.ceil(h / mm);
    quantiles.push(Float64Array.from(offsets, (o) => point + Math.sqrt(k) * o));
  }
  return { levels: [...levels], median, quantiles };
}

export interface GeometricMean { value: number; /** ratios used */ count: number; /** ratios left out (not finite or <= 0) */ skipped: number }

/** exp(mean(log r)) over the finite positive ratios; NaN when there is none. */
export function geometricMean(ratios: readonly number[]): GeometricMean {
  let s = 0, count = 0;
  for (const r of ratios) if (Number.isFinite(r) && r > 0) { s += Math.log(r); count++; }
  return { value: count ? Math.exp(s / count) : NaN, count, skipped: ratios.length - count };
}

export interface SeriesScore {
  id: string;
  /** seasonal period used (after the short-history fallback) */
  m: number;
  mase: number;
  wql: number;
  naiveMase: number;
  naiveWql: number;
  /** mase / naiveMase, wql / naiveWql */
  relMase: number;
  relWql: number;
  notes: string[];
}

export interface SeriesToScore {
  id: string;
  history: ArrayLike<number>;
  actual: ArrayLike<number>;
  /** [H] point forecast (the median) */
  median: ArrayLike<number>;
  /** [H][levels] */
  quantiles: ArrayLike<ArrayLike<number>>;
  /** seasonal period from the frequency */
  m: number;
}

/** Scores one series' forecast and the seasonal naive baseline on the same history. */
export function scoreSeries(item: SeriesToScore, levels: readonly number[]): SeriesScore {
  const m = effectiveSeasonalPeriod(item.history.length, item.m);
  const notes: string[] = [];
  if (m !== item.m) notes.push(`history of ${item.history.length} is too short for seasonal period ${item.m}: m = 1 used`);
  const naive = seasonalNaive(item.history, item.actual.length, m, levels);
  const scale = naiveScale(item.history, m);
  if (scale === 0) notes.push('MASE undefined: the in-sample seasonal naive error is 0 (flat or exactly repeating history)');
  else if (Number.isNaN(scale)) notes.push('MASE undefined: no pair of observed values m steps apart in the history');
  const maseV = mase(item.actual, item.median, item.history, m);
  const naiveMaseV = mase(item.actual, naive.median, item.history, m);
  const wqlV = wql([item.actual], [item.quantiles], levels);
  const naiveWqlV = wql([item.actual], [naive.quantiles], levels);
  if (Number.isNaN(wqlV)) notes.push('WQL undefined: the actuals are all 0 or missing');
  return {
    id: item.id, m, mase: maseV, wql: wqlV, naiveMase: naiveMaseV, naiveWql: naiveWqlV,
    relMase: maseV / naiveMaseV, relWql: wqlV / naiveWqlV, notes,
  };
}

export interface AggregateScore {
  series: number;
  /** mean of the defined per-series MASE */
  mase: number;
  naiveMase: number;
  /** pooled WQL over all series */
  wql: number;
  naiveWql: number;
  /** geometric means over series of the per-series ratios to seasonal naive */
  relMase: GeometricMean;
  relWql: GeometricMean;
}

/** Aggregate scores of several series (see AggregateScore). */
export function aggregateScores(items: readonly SeriesToScore[], scores: readonly SeriesScore[], levels: readonly number[]): AggregateScore {
  const mean = (v: number[]) => { const f = v.filter(Number.isFinite); return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN; };
  const naiveQ = items.map((it, i) => seasonalNaive(it.history, it.actual.length, scores[i].m, levels).quantiles);
  return {
    series: items.length,
    mase: mean(scores.map((s) => s.mase)),
    naiveMase: mean(scores.map((s) => s.naiveMase)),
    wql: wql(items.map((i) => i.actual), items.map((i) => i.quantiles), levels),
    naiveWql: wql(items.map((i) => i.actual), naiveQ, levels),
    relMase: geometricMean(scores.map((s) => s.relMase)),
    relWql: geometricMean(scores.map((s) => s.relWql)),
  };
}

function checkSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what} has ${b.length} steps, the actuals have ${a.length}`);
}
