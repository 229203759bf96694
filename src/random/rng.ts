// The library's one seeded random number generator: weight init, dropout, shuffling, and the
// synthetic series. The uniform stream is xoshiro128** seeded by splitmix32 (./prng.ts,
// documented there), so any run can be regenerated from its seeds alone in any language that
// implements those two published algorithms. The variate methods are textbook algorithms,
// named at each method, so a port that consumes the uniforms in the same order gets the same
// numbers. The synthetic data generator's series depend on that order: changing how a method
// consumes uniforms changes every published (seed, index) series.
import { Xoshiro128ss, rowRng, checkSeed, SEED_LIMIT } from './prng.js';

/**
 * Everything the following draws depend on, as plain JSON: the four xoshiro128** state words
 * and the second normal of the last Box-Muller pair (null when none is pending).
 */
export interface RngState {
  s: [number, number, number, number];
  spareNormal: number | null;
}

/** A value for an error message: numbers as JS prints them (NaN stays NaN), the rest as JSON. */
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

export class Rng {
  private gen: Xoshiro128ss;
  /** Second normal of the last Box-Muller pair (consumed before drawing new uniforms). */
  private spareNormal: number | null = null;

  /** Stream from an unsigned 32-bit seed (xoshiro128** state = four splitmix32 outputs). */
  constructor(seed: number) {
    this.gen = Xoshiro128ss.fromSeed(checkSeed('Rng', 'seed', seed));
  }

  /** Independent stream number `index` of `seed` (same derivation as generation's per-row streams, rowRng). */
  static stream(seed: number, index: number): Rng {
    if (!Number.isInteger(index) || index < 0 || index >= SEED_LIMIT) throw new RangeError(`Rng.stream: index = ${index}, expected an integer 0 <= index < 2^32`);
    const r = new Rng(0);
    r.gen = rowRng(checkSeed('Rng.stream', 'seed', seed), index);
    return r;
  }

  /** A child stream seeded from this one's next output (for sub-components that must not shift the parent's sequence by a data-dependent amount). */
  fork(): Rng { return new Rng(this.gen.nextUint32()); }

  /** The state as JSON-serialisable data; setState(getState()) later replays the same draws. */
  getState(): RngState { return { s: this.gen.state(), spareNormal: this.spareNormal }; }

  /** Continues from a state returned by getState() (validated: 4 unsigned 32-bit words, not all 0; spareNormal null or finite). */
  setState(state: RngState): void {
    if (typeof state !== 'object' || state === null) throw new TypeError(`Rng.setState: state = ${String(state)}, expected {s: [4 x uint32], spareNormal: number | null}`);
    const s: unknown = state.s;
    if (!Array.isArray(s) || s.length !== 4) throw new TypeError(`Rng.setState: s = ${show(s)}, expected an array of 4 unsigned 32-bit integers (the xoshiro128** state words)`);
    for (let i = 0; i < 4; i++) {
      const w: unknown = s[i];
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w >= SEED_LIMIT) throw new RangeError(`Rng.setState: s[${i}] = ${show(w)}, expected an integer 0 <= s[${i}] < 2^32`);
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) throw new RangeError('Rng.setState: s = [0, 0, 0, 0], the xoshiro128** state must not be all zero');
    const spare: unknown = state.spareNormal;
    if (spare !== null && (typeof spare !== 'number' || !Number.isFinite(spare))) throw new TypeError(`Rng.setState: spareNormal = ${show(spare)}, expected null or a finite number`);
    this.gen = new Xoshiro128ss(s[0], s[1], s[2], s[3]);
    this.spareNormal = spare;
  }

  /** Uniform in [0, 1). */
  uniform(): number { return this.gen.nextFloat(); }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number { return lo + (hi - lo) * this.gen.nextFloat(); }

  /** log-uniform in [lo, hi) (lo > 0): for scales that span orders of magnitude. */
  logRange(lo: number, hi: number): number { return Math.exp(this.range(Math.log(lo), Math.log(hi))); }

  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number { return lo + Math.floor(this.gen.nextFloat() * (hi - lo + 1)); }

  bernoulli(p: number): boolean { return this.gen.nextFloat() < p; }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.gen.nextFloat() * items.length)];
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all 0). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) { if (!(w >= 0)) throw new Error(`Rng.weighted: weights must be >= 0, got ${w}`); total += w; }
    if (!(total > 0)) throw new Error('Rng.weighted: all weights are 0');
    let u = this.gen.nextFloat() * total;
    for (let i = 0; i < weights.length; i++) { u -= weights[i]; if (u < 0) return i; }
    return weights.length - 1;
  }

  /** Standard normal, Box-Muller (polar form not used: a fixed 2 uniforms per pair keeps ports simple). */
  normal(): number {
    if (this.spareNormal !== null) { const z = this.spareNormal; this.spareNormal = null; return z; }
    const u1 = 1 - this.gen.nextFloat(); // (0, 1]: log is finite
    const u2 = this.gen.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** n values ~ N(mean, std^2) as f32 (n successive normal() draws). */
  normalArray(n: number, std = 1, mean = 0): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Rng.normalArray: n = ${n}, expected an integer >= 0`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fisher-Yates shuffle in place (one uniform per position from the end); returns `a`. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(this.gen.nextFloat() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; }
    return a;
  }

  /** Gamma(shape, scale 1), Marsaglia & Tsang (2000); shape < 1 via the U^(1/shape) boost. */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new Error(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.gen.nextFloat(), 1 / shape);
    const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do { x = this.normal(); v = 1 + c * x; } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.gen.nextFloat();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Poisson(lambda): Knuth's product method below 30, else a rounded normal (mean and variance lambda) truncated at 0. */
  poisson(lambda: number): number {
    if (!(lambda >= 0)) throw new Error(`Rng.poisson: lambda must be >= 0, got ${lambda}`);
    if (lambda === 0) return 0;
    if (lambda < 30) {
      const l = Math.exp(-lambda);
      let k = 0, p = this.gen.nextFloat();
      while (p > l) { k++; p *= this.gen.nextFloat(); }
      return k;
    }
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
  }

  /** Negative binomial as a gamma-Poisson mixture: mean `mean`, variance mean + mean^2 / dispersion. */
  negBinomial(mean: number, dispersion: number): number {
    if (!(dispersion > 0)) throw new Error(`Rng.negBinomial: dispersion must be > 0, got ${dispersion}`);
    return this.poisson(this.gamma(dispersion) * mean / dispersion);
  }

  /** Geometric number of trials >= 1 with success probability p (mean 1/p). */
  geometric(p: number): number {
    if (!(p > 0 && p <= 1)) throw new Error(`Rng.geometric: p must be in (0, 1], got ${p}`);
    if (p === 1) return 1;
    return 1 + Math.floor(Math.log(1 - this.gen.nextFloat()) / Math.log(1 - p));
  }
}
