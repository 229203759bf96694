// The generator moved to src/random (the lowest layer, shared with optim, data and train);
// generation keeps importing it from here.
export { SEED_LIMIT, splitmix32, checkSeed, Xoshiro128ss, rowRng, randomSeed } from '../random/prng.js';
