// Sampling primitives on synthetic logits: the PRNG against the reference C code's
// outputs, greedy / top-k / top-p / min-p / temperature behaviour, log-probabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Xoshiro128ss, splitmix32, rowRng, resolveSampling, sampleToken, argmax, logSumExp, topLogprobs } from '../../src/generation/index.js';

test('xoshiro128** and splitmix32 match the reference C implementations', () => {
  // xoshiro128starstar.c with s = {1, 2, 3, 4}; splitmix32 (Weyl 0x9E3779B9 + fmix32) from 0 and 42 (outputs of gcc builds of both)
  const x = new Xoshiro128ss(1, 2, 3, 4);
  assert.deepEqual(Array.from({ length: 8 }, () => x.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  const s0 = Uint32Array.of(0), s42 = Uint32Array.of(42);
  assert.deepEqual(Array.from({ length: 4 }, () => splitmix32(s0)), [2462723854, 1020716019, 454327756, 1275600319]);
  assert.deepEqual(Array.from({ length: 4 }, () => splitmix32(s42)), [939911724, 3948730756, 321366731, 3317318717]);
  // fromSeed = four splitmix32 outputs as the state
  const a = Xoshiro128ss.fromSeed(42), b = new Xoshiro128ss(939911724, 3948730756, 321366731, 3317318717);
  for (let i = 0; i < 5; i++) assert.equal(a.nextUint32(), b.nextUint32());
  const r0 = rowRng(7, 0), r0b = rowRng(7, 0), r1 = rowRng(7, 1);
  const f0 = Array.from({ length: 5 }, () => r0.nextFloat());
  assert.deepEqual(f0, Array.from({ length: 5 }, () => r0b.nextFloat()));
  assert.notDeepEqual(f0, Array.from({ length: 5 }, () => r1.nextFloat()));
  for (const f of f0) assert.ok(f >= 0 && f < 1);
  assert.throws(() => Xoshiro128ss.fromSeed(-1), /seed = -1, expected an integer 0 <= seed < 2\^32/);
  assert.throws(() => Xoshiro128ss.fromSeed(1.5), /seed = 1.5/);
  assert.throws(() => new Xoshiro128ss(0, 0, 0, 0), /all zero/);
});

test('resolveSampling: greedy by default, sampling once an option is set, errors name the option', () => {
  assert.deepEqual(resolveSampling('f'), { mode: 'greedy' });
  assert.deepEqual(resolveSampling('f', { temperature: 0, topK: 5 }), { mode: 'greedy' });
  assert.deepEqual(resolveSampling('f', { topK: 5 }), { mode: 'sample', temperature: 1, topK: 5, topP: 1, minP: 0 });
  assert.throws(() => resolveSampling('f', { temperature: -1 }), /f: temperature = -1, expected a finite number >= 0/);
  assert.throws(() => resolveSampling('f', { topK: 0 }), /topK = 0, expected an integer >= 1/);
  assert.throws(() => resolveSampling('f', { topP: 0 }), /topP = 0, expected 0 < topP <= 1/);
  assert.throws(() => resolveSampling('f', { topP: 1.5 }), /topP = 1.5/);
  assert.throws(() => resolveSampling('f', { minP: 2 }), /minP = 2, expected 0 <= minP <= 1/);
});

test('argmax takes the first maximum and rejects NaN', () => {
  assert.equal(argmax(Float32Array.of(1, 3, 3, 2), 0, 4), 1);
  assert.equal(argmax(Float32Array.of(9, 1, 3, 3, 2), 1, 4), 1);
  assert.throws(() => argmax(Float32Array.of(1, NaN), 0, 2, 'row 0'), /row 0: logit of token 1 is NaN/);
});

test('sampling frequencies follow softmax(logits / T) and the filters cut the tail', () => {
  const lg = Float32Array.from([0, Math.log(2), Math.log(3), Math.log(4)]); // p = 1, 2, 3, 4 / 10
  const freq = (cfg: Parameters<typeof resolveSampling>[1], n = 40000, seed = 3) => {
    const c = resolveSampling('t', cfg), rng = Xoshiro128ss.fromSeed(seed), f = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) f[sampleToken(lg, 0, 4, c, rng)]++;
    return f.map((x) => x / n);
  };
  freq({ temperature: 1 }).forEach((f, i) => assert.ok(Math.abs(f - (i + 1) / 10) < 0.01, `T=1 token ${i}: ${f}`));
  // T = 0.5 squares the odds: 1, 4, 9, 16 / 30
  freq({ temperature: 0.5 }).forEach((f, i) => assert.ok(Math.abs(f - (i + 1) ** 2 / 30) < 0.01, `T=0.5 token ${i}: ${f}`));
  // top-k 2 keeps tokens 3 and 2 with 4:3
  const k2 = freq({ topK: 2 });
  assert.equal(k2[0] + k2[1], 0);
  assert.ok(Math.abs(k2[3] - 4 / 7) < 0.01);
  // top-p 0.65: 0.4 + 0.3 >= 0.65 keeps two tokens; 0.7 + 0.2 >= 0.75 keeps three
  assert.equal(freq({ topP: 0.65 }, 5000).slice(0, 2).reduce((a, b) => a + b), 0);
  const p75 = freq({ topP: 0.75 }, 20000);
  assert.equal(p75[0], 0);
  assert.ok(Math.abs(p75[1] - 2 / 9) < 0.015);
  // min-p 0.45: p >= 0.18 keeps tokens 1..3
  const mp = freq({ minP: 0.45 }, 5000);
  assert.equal(mp[0], 0);
  assert.ok(mp[1] > 0);
  // top-k 1 and a tiny top-p are greedy whatever the temperature
  assert.deepEqual(freq({ topK: 1, temperature: 3 }, 200), [0, 0, 0, 1]);
  assert.deepEqual(freq({ topP: 1e-9, temperature: 3 }, 200), [0, 0, 0, 1]);
  // same seed, same draws; another seed, other draws
  const draws = (seed: number) => { const c = resolveSampling('t', { temperature: 1 }), r = Xoshiro128ss.fromSeed(seed); return Array.from({ length: 64 }, () => sampleToken(lg, 0, 4, c, r)); };
  assert.deepEqual(draws(11), draws(11));
  assert.notDeepEqual(draws(11), draws(12));
});

test('logSumExp and topLogprobs in float64', () => {
  const lg = Float32Array.from([1, 5, -2, 5, 0.5]);
  const want = Math.log([1, 5, -2, 5, 0.5].reduce((a, x) => a + Math.exp(x), 0));
  assert.ok(Math.abs(logSumExp(lg, 0, 5) - want) < 1e-12);
  const top = topLogprobs(lg, 0, 5, 3, want);
  assert.deepEqual(top.map((t) => t.token), [1, 3, 0]);
  assert.ok(Math.abs(top[2].logprob - (1 - want)) < 1e-12);
  assert.deepEqual(topLogprobs(lg, 0, 5, 9, want).map((t) => t.token), [1, 3, 0, 4, 2]);
  assert.throws(() => logSumExp(Float32Array.of(0, NaN), 0, 2, 'x'), /x: logit of token 1 is NaN/);
});
