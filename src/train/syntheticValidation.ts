// The validation protocol of the default forecaster: held-out synthetic problems shaped like
// real forecasting tasks, so models and checkpoints are compared without touching data/eval.
// Problem i comes from series i of a SyntheticSeriesGenerator with the validation seed (no
// training run uses it) and the given mix: a history of log-uniform length in
// [minHistory, maxHistory] (most real series are short) followed by the horizon of its
// frequency class (M4 horizons: yearly 6, quarterly 8, monthly 18, weekly 13, daily and
// business-daily 14, hourly 48) and that class's seasonal period for MASE / seasonal naive.
// Kinds without a frequency class get a horizon drawn from those and m = 1.
// By default a problem is the tail of a series of maxHistory + 48 values (as training windows
// are tails of context + patch values); `wholeSeries` makes each problem a whole series of
// history + horizon values instead, so structure that the generators scale with the length
// (KernelSynth length scales, trend slopes) matches the problem's length, as for a short real
// series. A model trained on longer series than another is favoured by the tail form; the
// whole form is the same shift for every model.
import { Rng } from '../random/rng.js';
import { SyntheticSeriesGenerator, type SyntheticKind, type SyntheticMix } from '../data/synthetic/generator.js';
import { FREQUENCIES, type FrequencyClass } from '../data/synthetic/frequency.js';
import type { ForecastEvalItem } from './forecastTrain.js';

export const CLASS_HORIZONS: Readonly<Record<FrequencyClass, number>> = { yearly: 6, quarterly: 8, monthly: 18, weekly: 13, daily: 14, bdaily: 14, hourly: 48 };

export interface SyntheticValidationOptions {
  seed: number;
  count: number;
  mix?: SyntheticMix;
  /** Shortest / longest history (defaults 24 / 1024). */
  minHistory?: number; maxHistory?: number;
  /** Each problem a whole series of history + horizon values (default false: tails of one length). */
  wholeSeries?: boolean;
}

export interface ValidationItem extends ForecastEvalItem { kind: SyntheticKind; frequency: FrequencyClass | null }

const SALT = 0x7a11_d8e1;

export function syntheticValidationSet(o: SyntheticValidationOptions): ValidationItem[] {
  const minH = o.minHistory ?? 24, maxH = o.maxHistory ?? 1024;
  if (!Number.isInteger(o.count) || o.count < 1) throw new RangeError(`syntheticValidationSet: count must be an integer >= 1, got ${o.count}`);
  if (!Number.isInteger(minH) || minH < 2 || !Number.isInteger(maxH) || maxH < minH) throw new RangeError(`syntheticValidationSet: need integers 2 <= minHistory <= maxHistory, got ${minH}, ${maxH}`);
  const longestH = Math.max(...Object.values(CLASS_HORIZONS));
  const gen = new SyntheticSeriesGenerator({ seed: o.seed, length: maxH + longestH, mix: o.mix });
  const horizons = Object.values(CLASS_HORIZONS);
  const out: ValidationItem[] = [];
  for (let i = 0; i < o.count; i++) {
    let s = gen.at(i);
    const rng = Rng.stream((o.seed ^ SALT) >>> 0, i);
    const H = s.frequency ? CLASS_HORIZONS[s.frequency] : rng.pick(horizons);
    const L = Math.min(maxH, Math.floor(Math.exp(rng.range(Math.log(minH), Math.log(maxH + 1)))));
    // the same stream index at the problem's own length: same kind and frequency class (the first draws), own length
    if (o.wholeSeries) s = new SyntheticSeriesGenerator({ seed: o.seed, length: Math.max(8, L + H), mix: o.mix }).at(i);
    const end = s.values.length;
    const history = s.values.slice(end - H - L, end - H), actual = s.values.slice(end - H);
    if (actual.every(Number.isNaN) || history.every(Number.isNaN)) continue;
    out.push({ id: `validation-${o.seed}-${i}`, history, actual, m: s.frequency ? FREQUENCIES[s.frequency].period : 1, kind: s.kind, frequency: s.frequency ?? null });
  }
  return out;
}
