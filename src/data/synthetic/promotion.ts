// A synthetic forecasting task whose target is driven by a KNOWN FUTURE covariate: demand with
// a level, one seasonality and AR(1) noise, lifted by a promotion flag (0/1) that switches on
// in random runs. The runs cannot be predicted from the past, so a forecaster can only place
// the lifts in the horizon if it reads the flag's future values: the gap between the error
// with the flag and without it measures whether a model uses future covariates.
//   target_t = level (1 + amplitude sin(2 pi t / period + phase)) + lift level promo_t + noise_t
//   noise_t  = phi noise_{t-1} + N(0, (noise level)^2 (1 - phi^2))   (stationary sd = noise level)
// Series i is a pure function of (options, seed, i) through Rng.stream(seed, i), as the main
// synthetic generator.
import { Rng } from '../../random/rng.js';
import { ArgumentError } from '../../errors.js';

export interface PromotionTaskOptions {
  /** Unsigned 32-bit seed. */
  seed: number;
  /** Steps per series (history + horizon). */
  length: number;
  /** Probability that a promotion starts at a step outside a promotion (default 0.05). */
  startProbability?: number;
  /** Inclusive range of a promotion's length in steps (default [2, 6]). */
  durationRange?: [number, number];
  /** Range of the lift as a fraction of the level (default [0.5, 1.5]). */
  liftRange?: [number, number];
  /** Seasonal periods to draw from (default [7, 12, 24]). */
  periods?: readonly number[];
  /** Range of the seasonal amplitude as a fraction of the level (default [0.1, 0.4]). */
  amplitudeRange?: [number, number];
  /** Stationary noise sd as a fraction of the level (default 0.05). */
  noise?: number;
  /** AR(1) coefficient of the noise (default 0.5). */
  noiseAr?: number;
  /** Log-uniform range of the level (default [10, 1000]). */
  levelRange?: [number, number];
}

export interface PromotionSeries {
  index: number;
  /** [length] demand */
  target: Float64Array;
  /** [length] 1 during a promotion, else 0 (the future-known covariate) */
  promotion: Float64Array;
  level: number;
  /** absolute lift (level x the drawn fraction) */
  lift: number;
  period: number;
  amplitude: number;
  phase: number;
  /** stationary noise sd (absolute) */
  noiseSd: number;
}

export const PROMOTION_DEFAULTS = {
  startProbability: 0.05, durationRange: [2, 6] as [number, number], liftRange: [0.5, 1.5] as [number, number],
  periods: [7, 12, 24] as readonly number[], amplitudeRange: [0.1, 0.4] as [number, number], noise: 0.05, noiseAr: 0.5,
  levelRange: [10, 1000] as [number, number],
};

/** Expected share of promotion steps: mean run d over the mean cycle ((1 - p)/p steps off, then d on). */
export function expectedPromotionShare(startProbability: number, durationRange: [number, number]): number {
  const d = (durationRange[0] + durationRange[1]) / 2, p = startProbability;
  return d / ((1 - p) / p + d);
}

function checkRange(name: string, r: unknown, o: { min: number; int?: boolean }): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= o.min && (!o.int || Number.isInteger(v))) || r[0] > r[1]) {
    throw new ArgumentError(`PromotionTaskGenerator: ${name} must be [lo, hi] with ${o.min} <= lo <= hi${o.int ? ' (integers)' : ''}, got ${JSON.stringify(r)}`);
  }
  return [r[0], r[1]];
}

export class PromotionTaskGenerator {
  readonly options: Readonly<Required<PromotionTaskOptions>>;

  constructor(options: PromotionTaskOptions) {
    const { seed, length } = options;
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new ArgumentError(`PromotionTaskGenerator: seed = ${seed}, expected an integer 0 <= seed < 2^32`);
    if (!Number.isInteger(length) || length < 8) throw new ArgumentError(`PromotionTaskGenerator: length = ${length}, expected an integer >= 8`);
    const o = { ...PROMOTION_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<PromotionTaskOptions>;
    if (!(o.startProbability > 0 && o.startProbability <= 1)) throw new ArgumentError(`PromotionTaskGenerator: startProbability must be in (0, 1], got ${o.startProbability}`);
    checkRange('durationRange', o.durationRange, { min: 1, int: true });
    checkRange('liftRange', o.liftRange, { min: 0 });
    checkRange('amplitudeRange', o.amplitudeRange, { min: 0 });
    const lv = checkRange('levelRange', o.levelRange, { min: 0 });
    if (!(lv[0] > 0)) throw new ArgumentError(`PromotionTaskGenerator: levelRange must be positive, got ${JSON.stringify(o.levelRange)}`);
    if (!Array.isArray(o.periods) || o.periods.length === 0 || !o.periods.every((p) => typeof p === 'number' && p >= 2)) throw new ArgumentError(`PromotionTaskGenerator: periods must be a non-empty list of numbers >= 2, got ${JSON.stringify(o.periods)}`);
    if (!(o.noise >= 0)) throw new ArgumentError(`PromotionTaskGenerator: noise must be >= 0, got ${o.noise}`);
    if (!(Math.abs(o.noiseAr) < 1)) throw new ArgumentError(`PromotionTaskGenerator: noiseAr must be in (-1, 1), got ${o.noiseAr}`);
    this.options = Object.freeze({ ...o, seed, length });
  }

  /** Series `index` of the stream. */
  at(index: number): PromotionSeries {
    if (!Number.isInteger(index) || index < 0) throw new ArgumentError(`PromotionTaskGenerator.at: index = ${index}, expected an integer >= 0`);
    const o = this.options, n = o.length;
    const rng = Rng.stream(o.seed, index);
    const level = rng.logRange(o.levelRange[0], o.levelRange[1]);
    const lift = level * rng.range(o.liftRange[0], o.liftRange[1]);
    const period = o.periods[rng.int(0, o.periods.length - 1)];
    const amplitude = rng.range(o.amplitudeRange[0], o.amplitudeRange[1]);
    const phase = rng.range(0, 2 * Math.PI);
    const noiseSd = o.noise * level;
    const promotion = new Float64Array(n);
    for (let t = 0; t < n;) {
      if (rng.bernoulli(o.startProbability)) {
        const d = rng.int(o.durationRange[0], o.durationRange[1]);
        promotion.fill(1, t, Math.min(n, t + d));
        t += d;
      } else t++;
    }
    const target = new Float64Array(n);
    const innov = noiseSd * Math.sqrt(1 - o.noiseAr * o.noiseAr);
    let e = noiseSd * rng.normal();
    for (let t = 0; t < n; t++) {
      if (t > 0) e = o.noiseAr * e + innov * rng.normal();
      target[t] = level * (1 + amplitude * Math.sin((2 * Math.PI * t) / period + phase)) + lift * promotion[t] + e;
    }
    return { index, target, promotion, level, lift, period, amplitude, phase, noiseSd };
  }

  /** Series start .. start + count - 1. */
  range(start: number, count: number): PromotionSeries[] {
    return Array.from({ length: count }, (_, i) => this.at(start + i));
  }
}
