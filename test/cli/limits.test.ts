// The CLI's up-front size limits (src/cli/limits.ts): the numbers they allow and the one-line
// LimitError they throw (flag, value, limit, reason).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LimitError, XlstmError } from '../../src/errors.js';
import {
  BYTES_PER_FORECAST_VALUE, TIREX_BYTES_PER_STEP_VALUE, TIREX_MAX_CONTEXT, WASM_ACTIVATION_BUDGET, checkChunkSize, checkForecastLimits, checkMaxNewTokens, heapBudget,
} from '../../src/cli/limits.js';

const limitOf = (f: () => void): LimitError => {
  try { f(); } catch (e) { assert.ok(e instanceof LimitError && e instanceof XlstmError, String(e)); return e; }
  assert.fail('no LimitError');
};

test('--batch-size: the most series whose forward pass fits the WebAssembly budget; only the effective batch counts', () => {
  const base = { horizon: 64, series: 5000, levels: 9, longest: 100_000 };
  const perSeries = (TIREX_MAX_CONTEXT + 64) * TIREX_BYTES_PER_STEP_VALUE;
  const max = Math.floor(WASM_ACTIVATION_BUDGET / perSeries);
  assert.equal(max, 1985);
  const e = limitOf(() => checkForecastLimits({ ...base, batchSize: max + 1 }));
  assert.deepEqual([e.option, e.value, e.limit], ['--batch-size', max + 1, max]);
  assert.match(e.message, /^--batch-size 1986 is above the limit 1985 \(1986 series of 2048 context \+ 64 forecast values in one forward pass would need 2\.0 GiB of the 2\.0 GiB WebAssembly memory for activations\)$/);
  checkForecastLimits({ ...base, batchSize: max });
  // a huge --batch-size with few series runs them in one pass of those few
  checkForecastLimits({ ...base, series: 10, batchSize: 1e9 });
});

test('--horizon: bounded by the results kept in the heap and by one series\' forward pass', () => {
  const perStep = 3 * 11 * BYTES_PER_FORECAST_VALUE;
  const maxOut = Math.floor(heapBudget() / perStep);
  const e = limitOf(() => checkForecastLimits({ horizon: maxOut + 1, batchSize: 1, series: 3, levels: 9, longest: 10 }));
  assert.equal(e.option, '--horizon');
  assert.equal(e.limit, Math.min(maxOut, Math.floor(WASM_ACTIVATION_BUDGET / TIREX_BYTES_PER_STEP_VALUE) - 10));
  checkForecastLimits({ horizon: 10_000, batchSize: 64, series: 3, levels: 9, longest: 10 });
  const pass = limitOf(() => checkForecastLimits({ horizon: 5_000_000, batchSize: 1, series: 1, levels: 1, longest: 2048 }));
  assert.deepEqual([pass.option, pass.limit], ['--horizon', WASM_ACTIVATION_BUDGET / TIREX_BYTES_PER_STEP_VALUE - 2048]);
});

test('--max-new-tokens and --chunk-size', () => {
  const m = limitOf(() => checkMaxNewTokens(1e12));
  assert.deepEqual([m.option, m.limit], ['--max-new-tokens', Math.floor(heapBudget() / 256)]);
  checkMaxNewTokens(100_000);
  const c = limitOf(() => checkChunkSize(1_000_000, 50_304));
  assert.deepEqual([c.option, c.value, c.limit], ['--chunk-size', 1_000_000, Math.floor(WASM_ACTIVATION_BUDGET / (50_304 * 8))]);
  checkChunkSize(512, 50_304);
});
