// Seeded randomness (lowest layer, no imports above it): the xoshiro128** generator and the Rng built on it.
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { Xoshiro128ss, splitmix32, rowRng, checkSeed, randomSeed, SEED_LIMIT } from './prng.js';
