// The golden comparison rule, free of Node imports so the browser replay
// (test/browser/goldenReplay.ts, loaded by the test page) uses the same one as Node.

/**
 * max |a-e| and the first index violating |a-e| <= atol + rtol|e| (NaN expected = NaN
 * required); a length mismatch is reported at the first index past the shorter one.
 */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): { maxAbs: number; bad: number } {
  let maxAbs = 0;
  let bad = actual.length === expected.length ? -1 : Math.min(actual.length, expected.length);
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (Number.isNaN(e)) { if (!Number.isNaN(a) && bad < 0) bad = i; continue; }
    const d = Math.abs(a - e);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    if (!(d <= atol + rtol * Math.abs(e)) && bad < 0) bad = i;
  }
  return { maxAbs, bad };
}
