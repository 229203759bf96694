// Seeded pseudo-random numbers for sampling. Two published algorithms, so a run can be
// reproduced in any language from the seed alone:
//   splitmix32: a Weyl sequence (state += 0x9E3779B9) finished with MurmurHash3's fmix32
//     (xor-shift 16, * 0x85EBCA6B, xor-shift 13, * 0xC2B2AE35, xor-shift 16); used only to
//     expand a 32-bit seed into generator state, as the xoshiro authors recommend.
//   xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c):
//     the generator itself. Uniform floats are next() / 2^32, in [0, 1).
// Each batch row of a generation gets its own stream (rowRng), so a row's tokens do not
// depend on which other rows are in the batch or when they finish.

/** Largest accepted seed + 1: seeds are unsigned 32-bit integers. */
export const SEED_LIMIT = 2 ** 32;

/** One splitmix32 step: advances `state[0]` and returns the mixed 32-bit output. */
export function splitmix32(state: Uint32Array): number {
  state[0] = (state[0] + 0x9e3779b9) >>> 0;
  let z = state[0];
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export function checkSeed(fn: string, arg: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= SEED_LIMIT) {
    throw new RangeError(`${fn}: ${arg} = ${String(seed)}, expected an integer 0 <= seed < 2^32`);
  }
  return seed;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128**: 128 bits of state, period 2^128 - 1. */
export class Xoshiro128ss {
  private readonly s: Uint32Array;

  /** Directly from four state words (not all zero); `fromSeed` is the usual entry. */
  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s = Uint32Array.of(s0, s1, s2, s3);
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) throw new RangeError('Xoshiro128ss: the state must not be all zero');
  }

  /** State = four successive splitmix32 outputs starting from `seed` (never all zero in practice; guarded anyway). */
  static fromSeed(seed: number): Xoshiro128ss {
    const st = Uint32Array.of(checkSeed('Xoshiro128ss.fromSeed', 'seed', seed));
    const w = [splitmix32(st), splitmix32(st), splitmix32(st), splitmix32(st)];
    if ((w[0] | w[1] | w[2] | w[3]) === 0) w[0] = 1;
    return new Xoshiro128ss(w[0], w[1], w[2], w[3]);
  }

  /** Next 32-bit output (unsigned). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number { return this.nextUint32() / SEED_LIMIT; }

  /** The four state words (a copy); `new Xoshiro128ss(...words)` continues the stream from here. */
  state(): [number, number, number, number] { return [this.s[0], this.s[1], this.s[2], this.s[3]]; }
}

/**
 * The stream of batch row `row` of a generation seeded with `seed`: xoshiro128** seeded
 * with splitmix32(seed) xor row, i.e. the first splitmix32 output from state `seed`,
 * xored with the row index, then expanded by fromSeed.
 */
export function rowRng(seed: number, row: number): Xoshiro128ss {
  const st = Uint32Array.of(checkSeed('rowRng', 'seed', seed));
  return Xoshiro128ss.fromSeed((splitmix32(st) ^ row) >>> 0);
}

/** A fresh seed for callers that gave none (reported back so the run can be repeated). */
export function randomSeed(): number { return Math.floor(Math.random() * SEED_LIMIT); }
