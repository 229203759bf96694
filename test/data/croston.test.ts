import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, simulateCroston, sampleCrostonSpec, type CrostonSpec } from '../../src/data/index.js';

const spec = (o: Partial<CrostonSpec>): CrostonSpec => ({ meanInterval: 4, meanSize: 6, dispersion: 2, counts: true, probabilityDrift: 1, ...o });

test('Croston counts: intermittency rate, mean interval and mean demand size match the spec', () => {
  const y = simulateCroston(new Rng(21), 40000, spec({}));
  const nz = Array.from(y).filter((v) => v > 0);
  assert.ok(Math.abs(nz.length / y.length - 0.25) < 0.01, `demand rate ${nz.length / y.length}`);
  const size = nz.reduce((a, b) => a + b, 0) / nz.length;
  assert.ok(Math.abs(size - 6) < 0.2, `mean size ${size}`);
  assert.ok(y.every((v) => Number.isInteger(v) && v >= 0) && nz.every((v) => v >= 1));
  // inter-demand intervals (geometric) average meanInterval
  const at = Array.from(y).flatMap((v, t) => (v > 0 ? [t] : []));
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  assert.ok(Math.abs(gaps.reduce((a, b) => a + b, 0) / gaps.length - 4) < 0.15);
});

test('Croston amounts: log-normal sizes with the given mean; obsolescence lowers the demand rate', () => {
  const y = simulateCroston(new Rng(22), 40000, spec({ counts: false, meanSize: 10, dispersion: 0.5, meanInterval: 2 }));
  const nz = Array.from(y).filter((v) => v > 0);
  assert.ok(Math.abs(nz.reduce((a, b) => a + b, 0) / nz.length - 10) < 0.3);
  assert.ok(nz.some((v) => !Number.isInteger(v)));
  const n = 20000, drift = Math.exp(Math.log(0.1) / n);
  const d = simulateCroston(new Rng(23), n, spec({ meanInterval: 2, probabilityDrift: drift }));
  const rate = (a: number, b: number) => Array.from(d.subarray(a, b)).filter((v) => v > 0).length / (b - a);
  assert.ok(Math.abs(rate(0, 1000) - 0.5 * Math.exp(Math.log(0.1) * 500 / n)) < 0.05 && rate(n - 1000, n) < 0.08, `${rate(0, 1000)} ${rate(n - 1000, n)}`);
  assert.throws(() => simulateCroston(new Rng(1), 5, spec({ meanInterval: 0.5 })), /meanInterval/);
});

test('sampleCrostonSpec: intervals 1.1-20, sizes positive, a quarter drift', () => {
  const rng = new Rng(24);
  let drifting = 0;
  for (let i = 0; i < 400; i++) {
    const s = sampleCrostonSpec(rng, 500);
    assert.ok(s.meanInterval >= 1.1 && s.meanInterval <= 20 && s.meanSize > 0);
    if (s.probabilityDrift !== 1) drifting++;
  }
  assert.ok(drifting > 60 && drifting < 140, `${drifting}`);
});
