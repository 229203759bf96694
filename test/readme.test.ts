import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstExample } from '../examples/first.js';
import { assertClose } from './helpers/golden.js';

test('README first example runs and its forms agree', async () => {
  const { h, hNext, hRecurrent } = await firstExample(2);
  assert.deepEqual(h.shape, [1, 4, 100, 32]);
  assert.deepEqual(hNext.shape, [1, 4, 32]);
  assertClose('prefill vs recurrent', h.toFloat32(), hRecurrent.toFloat32(), 1e-5);
  assert.ok(Array.from(hNext.toFloat32()).every(Number.isFinite));
});
