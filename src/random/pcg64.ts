// NumPy's default generator, bit for bit: `numpy.random.default_rng(seed)` = PCG64 seeded
// through SeedSequence. Datasets defined by official Python code (the arrow-pointing dataset of
// the pLSTM paper) draw their geometry from it, so the same (seed, index) must give the same
// numbers here. Only what those definitions use is provided: random() (53-bit doubles),
// uniform(low, high) and integers(high) for a 64-bit range (Lemire's bounded method, as NumPy).
//
// Algorithms (NumPy 1.17+, unchanged since):
// - SeedSequence: the integer seed is split into 32-bit words (little-endian); a 4-word pool is
//   filled by `hashmix` and cross-mixed (M. O'Neill's seed_seq_fe design); generate_state(n)
//   hashes the pool cyclically into n 32-bit words; two words form a little-endian uint64.
// - PCG64 (XSL-RR 128/64): state = state * M + inc (mod 2^128); output = rotr64(hi ^ lo, state >> 122)
//   of the stepped state. Seeding: s = (w0 << 64 | w1), i = (w2 << 64 | w3) from 4 uint64 words;
//   state = 0, inc = (i << 1) | 1, step, state += s, step.
// 128-bit arithmetic runs on BigInt; a draw costs about a microsecond, which is plenty for
// per-sample generators.
import { ArgumentError } from '../errors.js';

const MASK32 = 0xffffffffn;
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULT = (2549297995355413924n << 64n) + 4865540595714422341n;

const INIT_A = 0x43b0d7e5, MULT_A = 0x931e8875, INIT_B = 0x8b51f9dd, MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd, MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

/** The 32-bit words of a non-negative integer seed, least significant first (0 -> [0]). */
function seedWords(seed: bigint): number[] {
  if (seed < 0n) throw new ArgumentError(`SeedSequence: seed ${seed} must be non-negative`);
  const w: number[] = [];
  let s = seed;
  do { w.push(Number(s & MASK32)); s >>= 32n; } while (s > 0n);
  return w;
}

/** numpy.random.SeedSequence(seed).generate_state(nWords, uint32). */
export function seedSequenceState(seed: bigint | number, nWords: number): Uint32Array {
  const entropy = seedWords(BigInt(seed));
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    value = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const pool = new Uint32Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  const out = new Uint32Array(nWords);
  let hb = INIT_B;
  for (let i = 0; i < nWords; i++) {
    let v = (pool[i % POOL_SIZE] ^ hb) >>> 0;
    hb = Math.imul(hb, MULT_B) >>> 0;
    v = Math.imul(v, hb) >>> 0;
    out[i] = (v ^ (v >>> 16)) >>> 0;
  }
  return out;
}

/** numpy.random.Generator(PCG64(seed)) = numpy.random.default_rng(seed), for the draws listed above. */
export class NumpyRng {
  private state = 0n;
  private inc = 0n;

  constructor(seed: bigint | number) {
    if (typeof seed === 'number' && (!Number.isSafeInteger(seed) || seed < 0)) throw new ArgumentError(`NumpyRng: seed ${seed} must be a non-negative safe integer (or a bigint)`);
    const w = seedSequenceState(seed, 8);
    const u64 = (k: number): bigint => (BigInt(w[2 * k + 1]) << 32n) | BigInt(w[2 * k]);
    const s = (u64(0) << 64n) | u64(1);
    const i = (u64(2) << 64n) | u64(3);
    this.inc = ((i << 1n) | 1n) & MASK128;
    this.step();
    this.state = (this.state + s) & MASK128;
    this.step();
  }

  private step(): void { this.state = (this.state * PCG_MULT + this.inc) & MASK128; }

  /** The next raw 64-bit output. */
  nextUint64(): bigint {
    this.step();
    const hi = this.state >> 64n, lo = this.state & MASK64;
    const x = hi ^ lo;
    const rot = this.state >> 122n;
    return ((x >> rot) | (x << ((64n - rot) & 63n))) & MASK64;
  }

  /** Generator.random(): (next64 >> 11) * 2^-53, in [0, 1). */
  random(): number { return Number(this.nextUint64() >> 11n) * 2 ** -53; }

  /** Generator.uniform(low, high) = low + (high - low) * random(). */
  uniform(low: number, high: number): number { return low + (high - low) * this.random(); }

  /** Generator.integers(high) for 2^32 <= high <= 2^64 (int64 range [0, high)), Lemire's method as NumPy. */
  integers(high: bigint): bigint {
    if (high <= MASK32 + 1n || high > MASK64 + 1n) throw new ArgumentError(`NumpyRng.integers: high ${high} must be in (2^32, 2^64] (the 64-bit bounded path)`);
    if (high === MASK64 + 1n) return this.nextUint64();
    let m = this.nextUint64() * high;
    let leftover = m & MASK64;
    if (leftover < high) {
      const threshold = ((MASK64 + 1n) - high) % high;
      while (leftover < threshold) { m = this.nextUint64() * high; leftover = m & MASK64; }
    }
    return m >> 64n;
  }
}
