import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/random/rng.js';
import type { RngState } from '../../src/random/rng.js';
import { Xoshiro128ss, rowRng } from '../../src/random/prng.js';
import { Rng as OptimRng } from '../../src/optim/index.js';
import { Rng as DataRng } from '../../src/data/index.js';

test('one Rng: optim and data re-export the same class, and its uniforms are the xoshiro128** stream', () => {
  assert.equal(OptimRng, Rng);
  assert.equal(DataRng, Rng);
  const r = new Rng(12345), x = Xoshiro128ss.fromSeed(12345);
  for (let i = 0; i < 8; i++) assert.equal(r.uniform(), x.nextFloat());
  const s = Rng.stream(99, 7), y = rowRng(99, 7);
  for (let i = 0; i < 8; i++) assert.equal(s.uniform(), y.nextFloat());
  // fork = a stream seeded with the parent's next 32-bit output
  const p = new Rng(5), q = Xoshiro128ss.fromSeed(5);
  const child = p.fork(), ref = Xoshiro128ss.fromSeed(q.nextUint32());
  assert.equal(child.uniform(), ref.nextFloat());
  assert.equal(p.uniform(), q.nextFloat());
});

test('Rng: bad seeds and stream indices are rejected with the argument named', () => {
  assert.throws(() => new Rng(-1), /Rng: seed = -1, expected an integer 0 <= seed < 2\^32/);
  assert.throws(() => new Rng(1.5), /seed = 1.5/);
  assert.throws(() => new Rng(2 ** 32), /seed = 4294967296/);
  assert.throws(() => Rng.stream(1, -2), /index = -2/);
});

test('Rng.normalArray / shuffle: scaled normals, a seeded permutation', () => {
  const a = new Rng(3).normalArray(20000, 2, 5);
  let m = 0, v = 0;
  for (const z of a) m += z;
  m /= a.length;
  for (const z of a) v += (z - m) ** 2;
  v /= a.length;
  assert.ok(Math.abs(m - 5) < 0.06 && Math.abs(v - 4) < 0.2, `mean ${m}, var ${v}`);
  // normalArray is n successive normal() draws (as f32)
  const r1 = new Rng(8), r2 = new Rng(8);
  assert.deepEqual([...r1.normalArray(5)], [...Float32Array.from({ length: 5 }, () => r2.normal())]);
  const s = new Rng(7).shuffle([...Array(30).keys()]);
  assert.deepEqual([...s].sort((p, q) => p - q), [...Array(30).keys()]);
  assert.notDeepEqual(s, [...Array(30).keys()]);
  assert.deepEqual(s, new Rng(7).shuffle([...Array(30).keys()]));
});

/** A mix of every kind of draw, so a restored state must reproduce the uniforms and the spare normal. */
function draws(r: Rng): number[] {
  const out = [r.normal(), r.uniform(), r.normal(), r.normal(), r.gamma(0.7), r.int(0, 100), r.poisson(3), r.range(-1, 1)];
  out.push(...r.shuffle([0, 1, 2, 3, 4, 5]), ...r.normalArray(3));
  return out;
}

test('Rng state round-trip: save with a pending spare normal, draw, restore, same draws', () => {
  const r = new Rng(2024);
  r.uniform(); r.uniform();
  r.normal(); // leaves the pair's second value pending
  const saved = r.getState();
  assert.equal(typeof saved.spareNormal, 'number', 'a spare normal must be pending for this test');
  assert.equal(saved.s.length, 4);
  const json = JSON.parse(JSON.stringify(saved)) as RngState; // plain JSON survives a file
  const first = draws(r);
  const after = r.getState();
  r.setState(json);
  assert.deepEqual(draws(r), first);
  assert.deepEqual(r.getState(), after);
  // another instance continues the same way from the same state
  const other = new Rng(1);
  other.setState(json);
  assert.deepEqual(draws(other), first);
  // the spare normal is part of the state: the next normal() is exactly it
  const again = new Rng(1);
  again.setState(json);
  assert.equal(again.normal(), saved.spareNormal);
  // getState returns a copy
  saved.s[0] = (saved.s[0] + 1) >>> 0;
  assert.deepEqual(other.getState(), after);
});

test('Rng.setState: bad input names the field and leaves the Rng unchanged', () => {
  const r = new Rng(9);
  r.normal();
  const before = r.getState();
  const bad = (st: unknown, re: RegExp) => { assert.throws(() => r.setState(st as RngState), re); assert.deepEqual(r.getState(), before); };
  bad(null, /Rng.setState: state = null/);
  bad({ s: 123, spare: null }, /Rng.setState: s = 123, expected an array of 4 unsigned 32-bit integers/);
  bad({ s: [1, 2, 3], spareNormal: null }, /s = \[1,2,3\]/);
  bad({ s: [1, 2, -3, 4], spareNormal: null }, /s\[2\] = -3, expected an integer 0 <= s\[2\] < 2\^32/);
  bad({ s: [1, 2.5, 3, 4], spareNormal: null }, /s\[1\] = 2.5/);
  bad({ s: [1, 2, 3, '4'], spareNormal: null }, /s\[3\] = "4"/);
  bad({ s: [0, 0, 0, 0], spareNormal: null }, /must not be all zero/);
  bad({ s: [1, 2, 3, 4], spareNormal: 'x' }, /spareNormal = "x", expected null or a finite number/);
  bad({ s: [1, 2, 3, 4], spareNormal: Number.NaN }, /spareNormal = NaN/);
  bad({ s: [1, 2, 3, 4] }, /spareNormal = undefined/);
});
