// Calendar effects on a real (Gregorian) calendar from a random start date:
//  - monthly: trading-day effects (each weekday has its own weight, so a month's total
//    depends on how many Mondays, ..., Sundays it has) and month-length effects (days / 30.44);
//  - daily: a weekday profile, and fixed-date holidays (1 Jan, 25-26 Dec) that pull the value
//    towards the weekend level;
//  - business-daily (Mon-Fri): a small day-of-week effect and the first trading day after a
//    weekend;
//  - hourly: a daily load profile that differs between weekdays and weekends.
// calendarFactors gives the multiplicative factors (mean about 1); calendarSeries puts them on a
// base process (ETS-like level with trend, annual seasonality and AR noise).
import { Rng } from '../../random/rng.js';
import type { FrequencyClass } from './frequency.js';
import { seasonalProfile } from './ets.js';
import { arma, stationaryAr } from './components.js';

const DAY_MS = 86_400_000;

export interface CalendarEffects {
  /** [7] weight of each weekday (0 = Sunday .. 6 = Saturday), mean 1. */
  weekday: Float64Array;
  /** Strength of the month-length effect in [0, 1] (1: proportional to the number of days). */
  monthLength: number;
  /** Holiday factor for daily series (1 = no effect). */
  holiday: number;
  /** [24] weekday and [24] weekend hourly profiles (mean about 1), hourly series only. */
  hourWeekday?: Float64Array; hourWeekend?: Float64Array;
}

/** Days in month `month` (0-based) of `year`. */
export function daysInMonth(year: number, month: number): number { return new Date(Date.UTC(year, month + 1, 0)).getUTCDate(); }

/** How many of each weekday (0 = Sunday) month `month` of `year` holds. */
export function weekdayCounts(year: number, month: number): number[] {
  const c = [0, 0, 0, 0, 0, 0, 0], first = new Date(Date.UTC(year, month, 1)).getUTCDay(), n = daysInMonth(year, month);
  for (let d = 0; d < n; d++) c[(first + d) % 7]++;
  return c;
}

/**
 * Multiplicative calendar factors for n steps from `start` (UTC ms; monthly series: the
 * first of a month; hourly: an hour). Monthly: sum over the month's days of the weekday
 * weights, divided by 30.44 and blended with 1 by (1 - monthLength) for the length part.
 */
export function calendarFactors(freq: FrequencyClass, start: number, n: number, fx: CalendarEffects): Float64Array {
  const f = new Float64Array(n);
  const d0 = new Date(start);
  if (freq === 'monthly') {
    for (let t = 0; t < n; t++) {
      const y = d0.getUTCFullYear() + Math.floor((d0.getUTCMonth() + t) / 12), mo = (d0.getUTCMonth() + t) % 12;
      const c = weekdayCounts(y, mo);
      let td = 0; for (let w = 0; w < 7; w++) td += c[w] * fx.weekday[w];
      // td / days = trading-day mix of the month; days / 30.44 = its length
      const days = daysInMonth(y, mo);
      f[t] = (td / days) * (1 - fx.monthLength + fx.monthLength * days / 30.436875);
    }
  } else if (freq === 'daily') {
    for (let t = 0; t < n; t++) {
      const d = new Date(start + t * DAY_MS), mo = d.getUTCMonth(), day = d.getUTCDate();
      const hol = (mo === 0 && day === 1) || (mo === 11 && (day === 25 || day === 26));
      f[t] = fx.weekday[d.getUTCDay()] * (hol ? fx.holiday : 1);
    }
  } else if (freq === 'bdaily') {
    // consecutive Monday-Friday days from the first weekday on or after start
    let d = new Date(start), prevDay = -1;
    for (let t = 0; t < n; t++) {
      while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d = new Date(d.getTime() + DAY_MS);
      const wd = d.getUTCDay();
      f[t] = fx.weekday[wd] * (prevDay === 5 && wd === 1 ? fx.holiday : 1);
      prevDay = wd;
      d = new Date(d.getTime() + DAY_MS);
    }
  } else if (freq === 'hourly') {
    if (!fx.hourWeekday || !fx.hourWeekend) throw new Error('calendarFactors: hourly series need hourWeekday and hourWeekend profiles');
    for (let t = 0; t < n; t++) {
      const d = new Date(start + t * 3_600_000), wd = d.getUTCDay();
      f[t] = (wd === 0 || wd === 6 ? fx.hourWeekend : fx.hourWeekday)[d.getUTCHours()] * fx.weekday[wd];
    }
  } else f.fill(1);
  return f;
}

/** Weekday weights with mean 1: a working-week pattern (weekend low or high) with a random depth. */
export function sampleWeekdayWeights(rng: Rng, depth: number): Float64Array {
  const w = new Float64Array(7);
  const weekendHigh = rng.bernoulli(0.25);
  for (let i = 0; i < 7; i++) {
    const weekend = i === 0 || i === 6;
    w[i] = 1 + (weekend ? (weekendHigh ? 1 : -1) : 0) * depth + 0.15 * depth * rng.normal();
  }
  let m = 0; for (const v of w) m += v / 7;
  for (let i = 0; i < 7; i++) w[i] = Math.max(0.05, w[i] / m);
  return w;
}

/** Random calendar effects of a series of class `freq`. */
export function sampleCalendarEffects(rng: Rng, freq: FrequencyClass): CalendarEffects {
  const weekday = sampleWeekdayWeights(rng, freq === 'bdaily' ? rng.range(0, 0.05) : rng.range(0.05, 0.6));
  const fx: CalendarEffects = { weekday, monthLength: rng.bernoulli(0.7) ? rng.range(0.5, 1) : 0, holiday: rng.range(0.3, 1.1) };
  if (freq === 'hourly') {
    const base = seasonalProfile(rng, 24), amp = rng.range(0.1, 0.5);
    fx.hourWeekday = Float64Array.from(base, (v) => 1 + amp * v);
    const flatten = rng.range(0.3, 1);
    fx.hourWeekend = Float64Array.from(base, (v) => 1 + flatten * amp * v + 0.05 * rng.normal());
  }
  return fx;
}

/** A random start: a month start for monthly series, a midnight otherwise, between 1950 and 2020. */
export function sampleStart(rng: Rng, freq: FrequencyClass): number {
  const year = rng.int(1950, 2020), month = rng.int(0, 11);
  return freq === 'monthly' ? Date.UTC(year, month, 1) : Date.UTC(year, month, 1) + rng.int(0, 27) * DAY_MS;
}

/**
 * A series with calendar effects: base = positive level (random walk with drift, or a local
 * trend) times an annual seasonal factor, times the calendar factors, times AR(1) noise.
 */
export function calendarSeries(rng: Rng, n: number, freq: FrequencyClass): { values: Float64Array; description: string } {
  const start = sampleStart(rng, freq);
  const fx = sampleCalendarEffects(rng, freq);
  const cal = calendarFactors(freq, start, n, fx);
  const stepsPerYear = freq === 'monthly' ? 12 : freq === 'daily' ? 365.25 : freq === 'bdaily' ? 261 : freq === 'hourly' ? 8766 : 1;
  const annual = stepsPerYear > 1 && stepsPerYear * 1.5 <= n * 4 && rng.bernoulli(0.7);
  const annualAmp = annual ? rng.logRange(0.03, 0.4) : 0;
  const ph = rng.range(0, 2 * Math.PI), h2 = rng.normal() * 0.4;
  const noise = arma(rng, n, stationaryAr(rng, 1, 0.9), [], rng.logRange(0.005, 0.08));
  const drift = rng.normal() * rng.logRange(1e-4, 5e-3), rwSd = rng.bernoulli(0.5) ? rng.logRange(1e-4, 0.01) : 0;
  const y = new Float64Array(n);
  let logLevel = 0;
  for (let t = 0; t < n; t++) {
    logLevel += drift + rwSd * rng.normal();
    const th = 2 * Math.PI * t / stepsPerYear + ph;
    const season = 1 + annualAmp * (Math.sin(th) + h2 * Math.sin(2 * th));
    y[t] = Math.exp(logLevel) * Math.max(0.05, season) * cal[t] * Math.exp(noise[t]);
  }
  const parts = [`calendar ${freq} from ${new Date(start).toISOString().slice(0, 10)}`, `weekday [${Array.from(fx.weekday, (v) => v.toFixed(2)).join(',')}]`];
  if (freq === 'monthly') parts.push(`month-length ${fx.monthLength.toFixed(2)}`);
  if (annual) parts.push(`annual ${annualAmp.toFixed(2)}`);
  return { values: y, description: parts.join(', ') };
}
