import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rng, SyntheticSeriesGenerator, sampleGp, kernelMatrix, kernelFeatures, periodicWeights, scaledBesselI,
  arma, stationaryAr, addMissingRuns, intermittent, type Kernel,
} from '../../src/data/index.js';

function acf(y: ArrayLike<number>, lag: number): number {
  const n = y.length;
  let m = 0; for (let t = 0; t < n; t++) m += y[t] / n;
  let c0 = 0, c = 0;
  for (let t = 0; t < n; t++) c0 += (y[t] - m) ** 2;
  for (let t = lag; t < n; t++) c += (y[t] - m) * (y[t - lag] - m);
  return c / c0;
}

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test('same seed gives bit-identical series (NaN positions included), different seeds differ', () => {
  const opts = { seed: 1234, length: 300, missing: { probability: 0.5 } };
  const a = new SyntheticSeriesGenerator(opts).batch(24);
  const b = new SyntheticSeriesGenerator(opts).batch(24);
  a.forEach((s, i) => { assert.equal(s.kind, b[i].kind); assert.equal(s.description, b[i].description); assert.ok(sameBits(s.values, b[i].values), `series ${i} differs`); });
  assert.ok(a.some((s) => s.missing > 0), 'some series should have missing values at probability 0.5');
  const c = new SyntheticSeriesGenerator({ ...opts, seed: 1235 }).batch(24);
  const differing = a.filter((s, i) => !sameBits(s.values, c[i].values)).length;
  assert.equal(differing, 24);
  // all kinds show up with the default mix
  assert.deepEqual(new Set(a.concat(c).map((s) => s.kind)), new Set(['kernelSynth', 'composite', 'arma', 'intermittent']));
});

test('series i does not depend on batching or call order (at(i) == i-th next())', () => {
  const g = new SyntheticSeriesGenerator({ seed: 7, length: 128 });
  const seq = [...g.batch(3), ...g.batch(2), g.next()];
  const g2 = new SyntheticSeriesGenerator({ seed: 7, length: 128 });
  for (const i of [5, 0, 3]) assert.ok(sameBits(g2.at(i).values, seq[i].values), `at(${i})`);
  assert.deepEqual(seq.map((s) => s.index), [0, 1, 2, 3, 4, 5]);
});

test('mix weights select kinds; bad options are rejected with the argument named', () => {
  const g = new SyntheticSeriesGenerator({ seed: 3, length: 64, mix: { kernelSynth: 0, composite: 0, arma: 0, intermittent: 1 } });
  for (const s of g.batch(10)) {
    assert.equal(s.kind, 'intermittent');
    for (const v of s.values) if (!Number.isNaN(v)) assert.ok(Number.isInteger(v) && v >= 0, `count ${v}`);
  }
  assert.throws(() => new SyntheticSeriesGenerator({ seed: -1, length: 64 }), /seed = -1/);
  assert.throws(() => new SyntheticSeriesGenerator({ seed: 1, length: 4 }), /length = 4/);
  assert.throws(() => new SyntheticSeriesGenerator({ seed: 1, length: 64, mix: { kernelSynth: 0, composite: 0, arma: 0, intermittent: 0 } }), /not all 0/);
  assert.throws(() => new SyntheticSeriesGenerator({ seed: 1, length: 64, mix: { foo: 1 } as never }), /unknown mix kind 'foo'/);
});

test('periodic-kernel GP samples peak in autocorrelation at the period (exact and feature paths)', () => {
  const k: Kernel = { kind: 'periodic', period: 24, lengthScale: 1, variance: 1 };
  for (const method of ['exact', 'features'] as const) {
    const rng = new Rng(11);
    let at24 = 0, at12 = 0;
    const reps = 6;
    for (let r = 0; r < reps; r++) {
      const y = sampleGp({ kind: 'sum', a: k, b: { kind: 'white', variance: 0.01 } }, 240, rng, { method });
      at24 += acf(y, 24) / reps; at12 += acf(y, 12) / reps;
    }
    assert.ok(at24 > 0.8, `${method}: acf(24) = ${at24}`);
    assert.ok(at24 > at12 + 0.3, `${method}: acf(24) = ${at24} vs acf(12) = ${at12}`);
  }
});

test('feature maps reproduce the kernel: periodic exactly, RBF/products within Monte Carlo error', () => {
  const n = 60;
  const check = (k: Kernel, tol: number, D: number) => {
    const K = kernelMatrix(k, n);
    const f = kernelFeatures(k, n, new Rng(5), D);
    let maxErr = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? f.noise[i] : 0;
      for (const p of f.phi) s += p[i] * p[j];
      maxErr = Math.max(maxErr, Math.abs(s - K[i * n + j]));
    }
    assert.ok(maxErr < tol, `${k.kind}: max |K - PhiPhi^T| = ${maxErr}`);
  };
  check({ kind: 'periodic', period: 7, lengthScale: 0.7, variance: 2 }, 1e-5, 256);
  check({ kind: 'product', a: { kind: 'periodic', period: 12, lengthScale: 1, variance: 1 }, b: { kind: 'linear', offset: 10, variance: 1 } }, 1e-5, 256);
  check({ kind: 'sum', a: { kind: 'white', variance: 0.3 }, b: { kind: 'constant', variance: 0.5 } }, 1e-12, 16);
  check({ kind: 'rbf', lengthScale: 10, variance: 1 }, 0.25, 4096);
  // diag of a product with white noise is exact
  check({ kind: 'product', a: { kind: 'sum', a: { kind: 'white', variance: 0.5 }, b: { kind: 'constant', variance: 1 } }, b: { kind: 'constant', variance: 2 } }, 1e-12, 16);
});

test('scaled Bessel weights of the periodic kernel sum to 1 and match known I_k values', () => {
  // I_0(1) = 1.2660658777520082, I_1(2) = 1.5906368546373291
  assert.ok(Math.abs(scaledBesselI(0, 1) * Math.E - 1.2660658777520082) < 1e-12);
  assert.ok(Math.abs(scaledBesselI(1, 2) * Math.exp(2) - 1.5906368546373291) < 1e-12);
  for (const x of [0.25, 1, 4, 16]) {
    const s = periodicWeights(x).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 2e-6, `x=${x}: sum ${s}`);
  }
});

test('AR(1) coefficient is recovered from a long sample; AR coefficients from PACF are stationary', () => {
  const y = arma(new Rng(99), 20000, [0.7]);
  const r1 = acf(y, 1);
  assert.ok(Math.abs(r1 - 0.7) < 0.03, `lag-1 autocorrelation ${r1}`);
  const rng = new Rng(2);
  for (let i = 0; i < 20; i++) {
    const phi = stationaryAr(rng, 3);
    const x = arma(rng, 3000, phi);
    const sd = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
    assert.ok(Number.isFinite(sd) && sd < 1e3, `AR ${Array.from(phi)} exploded: sd ${sd}`);
  }
});

test('missing runs stay within the requested fraction and keep the endpoints', () => {
  const rng = new Rng(8);
  let runsLongerThanOne = 0;
  for (let i = 0; i < 30; i++) {
    const y = new Float64Array(500).fill(1);
    const m = addMissingRuns(rng, y, { maxFraction: 0.15, meanRunLength: 6 });
    const nan = y.filter(Number.isNaN).length;
    assert.equal(nan, m);
    assert.ok(nan <= 0.15 * 500 && nan >= 1, `missing ${nan}`);
    assert.ok(!Number.isNaN(y[0]) && !Number.isNaN(y[499]));
    for (let t = 1; t < 500; t++) if (Number.isNaN(y[t]) && Number.isNaN(y[t - 1])) { runsLongerThanOne++; break; }
  }
  assert.ok(runsLongerThanOne > 20, 'missing values come in runs');
  const g = new SyntheticSeriesGenerator({ seed: 21, length: 400, missing: { probability: 1, maxFraction: 0.1 } });
  for (const s of g.batch(10)) {
    const f = s.values.filter(Number.isNaN).length / 400;
    assert.ok(f > 0 && f <= 0.1, `series ${s.index}: missing fraction ${f}`);
  }
});

test('rng variates have the right moments; intermittent series are sparse counts', () => {
  const rng = new Rng(42);
  const N = 20000;
  const mv = (f: () => number) => { let s = 0, s2 = 0; for (let i = 0; i < N; i++) { const v = f(); s += v; s2 += v * v; } const m = s / N; return [m, s2 / N - m * m]; };
  const [nm, nv] = mv(() => rng.normal());
  assert.ok(Math.abs(nm) < 0.03 && Math.abs(nv - 1) < 0.05, `normal ${nm} ${nv}`);
  const [gm, gv] = mv(() => rng.gamma(2.5));
  assert.ok(Math.abs(gm - 2.5) < 0.07 && Math.abs(gv - 2.5) < 0.2, `gamma ${gm} ${gv}`);
  const [pm, pv] = mv(() => rng.poisson(4));
  assert.ok(Math.abs(pm - 4) < 0.07 && Math.abs(pv - 4) < 0.2, `poisson ${pm} ${pv}`);
  const [bm] = mv(() => rng.gamma(0.4));
  assert.ok(Math.abs(bm - 0.4) < 0.03, `gamma(0.4) mean ${bm}`);
  const r = intermittent(new Rng(3), 2000);
  const zeros = r.values.filter((v) => v === 0).length / 2000;
  assert.ok(zeros > 0.3, `zero fraction ${zeros} with pDemand ${r.pDemand}`);
});

test('the v1 mix draws the same series as before the new kinds were added (checksum of the pre-v2 generator)', () => {
  // 505649.30516854936 / 610 NaN: the same loop over SyntheticSeriesGenerator at commit 60a9ba1
  const g = new SyntheticSeriesGenerator({ seed: 1234, length: 300, missing: { probability: 0.5 } });
  let s = 0, nan = 0;
  for (let i = 0; i < 40; i++) g.at(i).values.forEach((x, t) => { if (Number.isNaN(x)) nan++; else s += x * ((t % 7) + 1) / (1 + i); });
  assert.equal(nan, 610);
  assert.equal(s, 505649.30516854936);
});

test('new kinds: ets/sarima/calendar carry their frequency class; counts stay counts; multiplicative and walk series stay positive', () => {
  const mix = { kernelSynth: 0, composite: 0, arma: 0, intermittent: 0, ets: 1, sarima: 1, calendar: 1, regime: 1, croston: 1 };
  const g = new SyntheticSeriesGenerator({ seed: 77, length: 400, mix, missing: { probability: 0 } });
  const kinds = new Set<string>();
  for (const s of g.batch(150)) {
    kinds.add(s.kind);
    assert.ok(s.values.every(Number.isFinite), `${s.kind}: ${s.description}`);
    if (s.kind === 'ets' || s.kind === 'sarima' || s.kind === 'calendar') assert.ok(s.frequency && s.description.includes(s.frequency), s.description);
    else assert.equal(s.frequency, undefined);
    // (spikes, added to any non-count series, may dip below 0)
    const spiky = s.description.includes('spikes');
    if (!spiky && (s.kind === 'calendar' || s.description.startsWith('log random walk'))) assert.ok(s.values.every((v) => v > 0), s.description);
    if (s.kind === 'croston' && s.description.includes('counts')) assert.ok(s.values.every((v) => Number.isInteger(v) && v >= 0));
    if (!spiky && s.kind === 'ets' && /ETS\(M,M/.test(s.description) && !/,A[,)]/.test(s.description.split(' ')[1])) assert.ok(s.values.every((v) => v > 0), s.description);
  }
  assert.deepEqual(kinds, new Set(['ets', 'sarima', 'calendar', 'regime', 'croston']));
  // the default mix never draws the new kinds
  assert.ok(new SyntheticSeriesGenerator({ seed: 5, length: 64 }).batch(60).every((s) => ['kernelSynth', 'composite', 'arma', 'intermittent'].includes(s.kind)));
});
