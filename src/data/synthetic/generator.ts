// A deterministic stream of diverse synthetic series for training forecasters: KernelSynth GP
// samples, composite series (trend + several seasonalities + ARMA noise with level shifts and
// heteroscedasticity), pure ARMA/ARIMA processes and intermittent counts, then spikes,
// missing runs and a random scale/offset. Series i is a pure function of (options, seed, i):
// it comes from its own stream Rng.stream(seed, i), so batch sizes and call order do not
// change any series, and `at(i)` gives random access.
import { Rng } from '../../random/rng.js';
import { sampleKernel, sampleGp, describeKernel, type GpSampleOptions } from './kernels.js';
import {
  piecewiseTrend, logisticTrend, multiSeasonal, stationaryAr, arma, volatility, levelShifts,
  addSpikes, intermittent, addMissingRuns, type MissingOptions,
} from './components.js';
import { sampleFrequency, type FrequencyClass } from './frequency.js';
import { sampleEtsSpec, simulateEts, describeEts, seasonalProfile } from './ets.js';
import { sampleSarimaSpec, simulateSarima, describeSarima } from './sarima.js';
import { calendarSeries } from './calendar.js';
import { regimeSeries } from './regime.js';
import { sampleCrostonSpec, simulateCroston, describeCroston } from './croston.js';

export type SyntheticKind = 'kernelSynth' | 'composite' | 'arma' | 'intermittent' | 'ets' | 'sarima' | 'calendar' | 'regime' | 'croston';
// new kinds go at the end with weight 0 in DEFAULT_MIX, so a mix that leaves them out draws the same series as before
export const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['kernelSynth', 'composite', 'arma', 'intermittent', 'ets', 'sarima', 'calendar', 'regime', 'croston'];

/** Relative weights of the kinds (need not sum to 1; 0 turns a kind off). */
export type SyntheticMix = Partial<Record<SyntheticKind, number>>;
export const DEFAULT_MIX: Readonly<Record<SyntheticKind, number>> = { kernelSynth: 0.4, composite: 0.3, arma: 0.15, intermittent: 0.15, ets: 0, sarima: 0, calendar: 0, regime: 0, croston: 0 };

export interface SyntheticOptions {
  /** Unsigned 32-bit seed. */
  seed: number;
  /** Steps per series. */
  length: number;
  mix?: SyntheticMix;
  /** Most base kernels combined in one KernelSynth kernel (default 5). */
  maxKernels?: number;
  gp?: GpSampleOptions;
  missing?: MissingOptions;
  /** Probability of spikes/outliers in a (non-intermittent) series (default 0.2). */
  spikeProbability?: number;
  /** Random positive scale in [lo, hi] (log-uniform) and offset applied to non-count series (default [0.1, 1000]; null keeps the raw scale). */
  scaleRange?: [number, number] | null;
}

export interface SyntheticSeries {
  /** Position in the stream (series i of the seed). */
  index: number;
  kind: SyntheticKind;
  /** [length], NaN = missing */
  values: Float64Array;
  /** Human-readable recipe (kernel expression, components) for debugging and plots. */
  description: string;
  missing: number;
  /** Frequency class the series was simulated for (ets, sarima and calendar kinds; undefined for the others). */
  frequency?: FrequencyClass;
}

export class SyntheticSeriesGenerator {
  readonly options: Readonly<SyntheticOptions>;
  private readonly weights: number[];
  private cursor = 0;

  constructor(options: SyntheticOptions) {
    const { seed, length } = options;
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`SyntheticSeriesGenerator: seed = ${seed}, expected an integer 0 <= seed < 2^32`);
    if (!Number.isInteger(length) || length < 8) throw new RangeError(`SyntheticSeriesGenerator: length = ${length}, expected an integer >= 8`);
    const mix = { ...DEFAULT_MIX, ...(options.mix ?? {}) };
    for (const k of Object.keys(mix)) if (!SYNTHETIC_KINDS.includes(k as SyntheticKind)) throw new Error(`SyntheticSeriesGenerator: unknown mix kind '${k}', expected one of ${SYNTHETIC_KINDS.join(', ')}`);
    this.weights = SYNTHETIC_KINDS.map((k) => mix[k]);
    if (this.weights.some((w) => !(w >= 0)) || !this.weights.some((w) => w > 0)) throw new Error(`SyntheticSeriesGenerator: mix weights must be >= 0 and not all 0, got ${JSON.stringify(mix)}`);
    if (options.scaleRange && !(options.scaleRange[0] > 0 && options.scaleRange[1] >= options.scaleRange[0])) throw new Error(`SyntheticSeriesGenerator: scaleRange must be [lo, hi] with 0 < lo <= hi, got ${JSON.stringify(options.scaleRange)}`);
    this.options = { ...options };
  }

  /** The next series of the stream. */
  next(): SyntheticSeries { return this.at(this.cursor++); }

  /** The next n series. */
  batch(n: number): SyntheticSeries[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`batch: n = ${n}, expected an integer >= 0`);
    return Array.from({ length: n }, () => this.next());
  }

  /** Series `index` of the stream (does not move the cursor). */
  at(index: number): SyntheticSeries {
    const o = this.options, n = o.length;
    const rng = Rng.stream(o.seed, index);
    const kind = SYNTHETIC_KINDS[rng.weighted(this.weights)];
    let values: Float64Array, description: string;
    // positive: a series whose sign matters (multiplicative models, prices, counts): scaled, never offset
    let positive = false;
    let frequency: FrequencyClass | undefined;
    const counts = kind === 'intermittent' || kind === 'croston';
    switch (kind) {
      case 'kernelSynth': {
        const k = sampleKernel(rng, n, o.maxKernels ?? 5);
        values = sampleGp(k, n, rng, o.gp);
        description = `GP ${describeKernel(k)}`;
        break;
      }
      case 'composite': ({ values, description } = composite(rng, n)); break;
      case 'arma': ({ values, description } = armaSeries(rng, n)); break;
      case 'intermittent': {
        const r = intermittent(rng, n);
        values = r.values;
        description = `intermittent p=${r.pDemand.toFixed(2)} size=${r.meanSize.toFixed(1)}`;
        break;
      }
      case 'ets': ({ values, description, positive, frequency } = etsSeries(rng, n)); break;
      case 'sarima': {
        const f = sampleFrequency(rng), spec = sampleSarimaSpec(rng, f.period);
        values = simulateSarima(rng, n, spec);
        description = `${f.name} ${describeSarima(spec)}`;
        frequency = f.name;
        break;
      }
      case 'calendar': {
        const f = (['monthly', 'daily', 'bdaily', 'hourly'] as const)[rng.weighted([0.45, 0.2, 0.15, 0.2])];
        ({ values, description } = calendarSeries(rng, n, f));
        positive = true;
        frequency = f;
        break;
      }
      case 'regime': ({ values, description } = regimeSeries(rng, n)); positive = description.startsWith('log random walk'); break;
      case 'croston': {
        const spec = sampleCrostonSpec(rng, n);
        values = simulateCroston(rng, n, spec);
        description = describeCroston(spec);
        break;
      }
    }
    if (!counts && rng.bernoulli(o.spikeProbability ?? 0.2)) {
      const sd = robustScale(values);
      const at = addSpikes(rng, values, sd, rng.logRange(0.002, 0.02));
      if (at.length) description += ` + ${at.length} spikes`;
    }
    const scaleRange = o.scaleRange === undefined ? [0.1, 1000] : o.scaleRange;
    if (!counts && scaleRange) {
      const scale = rng.logRange(scaleRange[0], scaleRange[1] * (1 + 1e-12));
      // offset up to a few standard deviations so that some series are positive, some cross 0
      const offset = positive ? 0 : rng.normal() * 3 * scale * robustScale(values);
      for (let t = 0; t < n; t++) values[t] = offset + scale * values[t];
    }
    let missing = 0;
    if (rng.bernoulli(o.missing?.probability ?? 0.1)) {
      missing = addMissingRuns(rng, values, o.missing);
      if (missing) description += ` + ${missing} missing`;
    }
    return { index, kind, values, description, missing, ...(frequency ? { frequency } : {}) };
  }
}

function composite(rng: Rng, n: number): { values: Float64Array; description: string } {
  const parts: string[] = [];
  const y = new Float64Array(n);
  const add = (x: Float64Array, w: number) => { for (let t = 0; t < n; t++) y[t] += w * x[t]; };
  if (rng.bernoulli(0.7)) {
    const logistic = rng.bernoulli(0.2);
    add(logistic ? logisticTrend(rng, n, 3) : piecewiseTrend(rng, n, 3), rng.range(0.2, 1.5));
    parts.push(logistic ? 'logistic trend' : 'piecewise trend');
  }
  if (rng.bernoulli(0.85)) {
    const s = multiSeasonal(rng, n);
    add(s.values, 1);
    if (s.components.length) parts.push(`seasonal[${s.components.map((c) => +c.period.toFixed(2)).join(',')}]`);
  }
  const p = rng.int(0, 2), q = rng.int(0, 1);
  const vol = rng.bernoulli(0.3) ? volatility(rng, n) : undefined;
  const theta = Array.from({ length: q }, () => rng.range(-0.8, 0.8));
  add(arma(rng, n, stationaryAr(rng, p, 0.9), theta, rng.logRange(0.05, 0.6), vol), 1);
  parts.push(`ARMA(${p},${q}) noise${vol ? ' heteroscedastic' : ''}`);
  if (rng.bernoulli(0.2)) { add(levelShifts(rng, n, 1.5), 1); parts.push('level shifts'); }
  if (rng.bernoulli(0.25)) {
    // multiplicative structure (seasonal amplitude growing with the level): exponentiate
    const sd = robustScale(y) || 1, k = rng.range(0.2, 0.8) / sd;
    for (let t = 0; t < n; t++) y[t] = Math.exp(k * y[t]);
    parts.push('multiplicative');
  }
  return { values: y, description: parts.join(' + ') };
}

/**
 * An ETS simulation at the seasonal period of a random frequency class; for classes with a
 * second, longer period (daily 365.25, hourly 168, business-daily 261) a third of the series
 * get a slowly drifting Fourier pattern of that period on top (multiple seasonality).
 */
function etsSeries(rng: Rng, n: number): { values: Float64Array; description: string; positive: boolean; frequency: FrequencyClass } {
  const f = sampleFrequency(rng);
  const spec = sampleEtsSpec(rng, f.period);
  const y = simulateEts(rng, n, spec);
  let description = `${f.name} ${describeEts(spec)}`;
  const multiplicative = spec.error === 'M' || spec.season === 'M' || spec.trend === 'M' || spec.trend === 'Md';
  if (f.extraPeriods.length && rng.bernoulli(0.35)) {
    const P = rng.pick(f.extraPeriods), amp = rng.logRange(0.03, 0.3);
    // the profile on a grid of 64 points per cycle, linearly interpolated at non-integer phases
    const G = 64, prof = seasonalProfile(rng, G), drift = rng.range(-0.5, 0.5);
    for (let t = 0; t < n; t++) {
      const x = ((t % P) / P) * G, i = Math.floor(x), w = x - i;
      const v = amp * (1 + drift * (t / n - 0.5)) * ((1 - w) * prof[i % G] + w * prof[(i + 1) % G]);
      y[t] = multiplicative ? y[t] * (1 + v) : y[t] + v * spec.level0;
    }
    description += ` + seasonal ${P} (${amp.toFixed(2)})`;
  }
  return { values: y, description, positive: multiplicative, frequency: f.name };
}

function armaSeries(rng: Rng, n: number): { values: Float64Array; description: string } {
  const p = rng.int(0, 3), q = rng.int(0, 2), d = rng.bernoulli(0.3) ? 1 : 0;
  const phi = stationaryAr(rng, p, 0.95);
  const theta = Array.from({ length: q }, () => rng.range(-0.9, 0.9));
  const vol = rng.bernoulli(0.25) ? volatility(rng, n) : undefined;
  let x = arma(rng, n, phi, theta, 1, vol);
  if (d) { const c = new Float64Array(n); let s = 0; for (let t = 0; t < n; t++) { s += x[t]; c[t] = s; } x = c; }
  return { values: x, description: `ARIMA(${p},${d},${q}) phi=[${Array.from(phi, (v) => v.toFixed(2))}]${vol ? ' heteroscedastic' : ''}` };
}

/** Standard deviation of the finite values (0 for fewer than 2). */
function robustScale(y: Float64Array): number {
  let s = 0, s2 = 0, c = 0;
  for (const v of y) if (Number.isFinite(v)) { s += v; s2 += v * v; c++; }
  if (c < 2) return 0;
  const m = s / c;
  return Math.sqrt(Math.max(0, s2 / c - m * m));
}
