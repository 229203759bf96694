// rocAuc against the definition (pairs counted one by one, ties one half), on hand cases and
// random scores with ties; bad input is refused with the argument named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rocAuc } from '../../src/train/rocAuc.js';
import { ArgumentError } from '../../src/errors.js';

function pairwise(scores: number[], labels: number[]): number {
  let sum = 0, n = 0;
  for (let i = 0; i < scores.length; i++) for (let j = 0; j < scores.length; j++) {
    if (labels[i] !== 1 || labels[j] !== 0) continue;
    sum += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    n++;
  }
  return sum / n;
}

test('rocAuc: perfect, inverted, constant and hand-counted cases', () => {
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(rocAuc([3, 3, 3, 3, 3], [0, 1, 0, 1, 1]), 0.5);
  // positives 2 and 5, negatives 1, 2, 6: pairs (2>1) 1, (2=2) .5, (2<6) 0, (5>1) 1, (5>2) 1, (5<6) 0 -> 3.5/6
  assert.equal(rocAuc([1, 2, 6, 2, 5], [0, 0, 0, 1, 1]), 3.5 / 6);
  assert.ok(Number.isNaN(rocAuc([1, 2], [1, 1])));
});

test('rocAuc equals the pairwise count on random scores with many ties', () => {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 20; trial++) {
    const n = 5 + Math.floor(rnd() * 60);
    const labels = Array.from({ length: n }, () => (rnd() < 0.4 ? 1 : 0));
    labels[0] = 0; labels[1] = 1;
    const scores = labels.map((l) => Math.round((rnd() + 0.3 * l) * 8) / 8);
    assert.ok(Math.abs(rocAuc(scores, labels) - pairwise(scores, labels)) < 1e-12, `trial ${trial}`);
  }
});

test('rocAuc refuses mismatched lengths and non-binary labels', () => {
  assert.throws(() => rocAuc([1, 2, 3], [0, 1]), (e: Error) => e instanceof ArgumentError && /scores has 3 entries, labels 2/.test(e.message));
  assert.throws(() => rocAuc([1, 2, 3], [0, 2, 1]), (e: Error) => e instanceof ArgumentError && /labels must be 0 or 1, got 2/.test(e.message));
});
