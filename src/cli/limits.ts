// Up-front limits of the CLI's size flags, checked before a model is loaded, so a request the
// process cannot serve ends in one line (flag, value, limit; exit 1) within a second instead
// of minutes of work and an out-of-memory abort. The estimates are upper bounds per unit of
// the flag; the budgets are what this process can hold.
import { getHeapStatistics } from 'node:v8';
import { LimitError } from '../errors.js';

/**
 * JavaScript heap a command may fill with its results: half of V8's limit, because the
 * output text is built as rows and then joined (both are alive at the end).
 */
export function heapBudget(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 2);
}

/**
 * WebAssembly memory the forward pass may use: wasm32 addresses 4 GiB, and the weights and
 * the allocator's slack need part of it.
 */
export const WASM_ACTIVATION_BUDGET = 2 * 2 ** 30;

/**
 * Bytes per forecast value (one step of one level of one series): the float32 result, its
 * text in the CSV/JSON output (up to ~12 characters and a separator), and the array slack.
 */
export const BYTES_PER_FORECAST_VALUE = 24;

/**
 * WASM bytes per context-or-horizon value of one series in a TiRex forward pass: a patch of
 * 32 values becomes one token of up to 512 float32 features, with ~8 live activations of that
 * size per block (512 * 4 * 8 / 32 = 512).
 */
export const TIREX_BYTES_PER_STEP_VALUE = 512;

/** TiRex reads at most this many context values per series (its train_ctx_len). */
export const TIREX_MAX_CONTEXT = 2048;

export interface ForecastSizes {
  horizon: number;
  batchSize: number;
  /** series in the input */
  series: number;
  /** quantile levels written per step (the model's 9 by default) */
  levels: number;
  /** values of the longest series (after --context-length) */
  longest: number;
}

/**
 * Throws a LimitError for --horizon or --batch-size when the forecast would need more memory
 * than the process has: the results of all series stay in memory until written, and a batch
 * of series runs through one forward pass together.
 */
export function checkForecastLimits(s: ForecastSizes): void {
  const perStep = Math.max(1, s.series) * (s.levels + 2) * BYTES_PER_FORECAST_VALUE;
  const heap = heapBudget();
  const maxHorizonOut = Math.floor(heap / perStep);
  if (s.horizon > maxHorizonOut) {
    throw new LimitError('--horizon', s.horizon, maxHorizonOut, `${Math.max(1, s.series)} series x ${s.levels + 2} values per step would need ${gib(s.horizon * perStep)} for the results; this process has ${gib(heap)}`);
  }
  const ctx = Math.min(s.longest, TIREX_MAX_CONTEXT);
  const maxHorizonPass = Math.floor(WASM_ACTIVATION_BUDGET / TIREX_BYTES_PER_STEP_VALUE) - ctx;
  if (s.horizon > maxHorizonPass) {
    throw new LimitError('--horizon', s.horizon, Math.max(maxHorizonPass, 0), `one series' forward pass over ${ctx} context + ${s.horizon} forecast values would need ${gib((ctx + s.horizon) * TIREX_BYTES_PER_STEP_VALUE)} of the ${gib(WASM_ACTIVATION_BUDGET)} WebAssembly memory for activations`);
  }
  const perSeries = (ctx + s.horizon) * TIREX_BYTES_PER_STEP_VALUE;
  const maxBatch = Math.max(1, Math.floor(WASM_ACTIVATION_BUDGET / perSeries));
  const batch = Math.min(s.batchSize, Math.max(1, s.series));
  if (batch > maxBatch) {
    throw new LimitError('--batch-size', s.batchSize, maxBatch, `${batch} series of ${ctx} context + ${s.horizon} forecast values in one forward pass would need ${gib(batch * perSeries)} of the ${gib(WASM_ACTIVATION_BUDGET)} WebAssembly memory for activations`);
  }
}

/**
 * Bytes per generated token kept until the end: its id, the --json record (id, token text,
 * log-probability, greedy id) and its text.
 */
export const BYTES_PER_NEW_TOKEN = 256;

/** --max-new-tokens against the heap (the generated ids and records stay in memory). */
export function checkMaxNewTokens(maxNewTokens: number): void {
  const heap = heapBudget();
  const limit = Math.floor(heap / BYTES_PER_NEW_TOKEN);
  if (maxNewTokens > limit) {
    throw new LimitError('--max-new-tokens', maxNewTokens, limit, `${BYTES_PER_NEW_TOKEN} bytes per generated token would need ${gib(maxNewTokens * BYTES_PER_NEW_TOKEN)}; this process has ${gib(heap)}`);
  }
}

/**
 * --chunk-size of `score`: one forward call holds the logits of the chunk, [chunk, vocab]
 * float32, plus about as much again for the log-softmax.
 */
export function checkChunkSize(chunkSize: number, vocabSize: number): void {
  const perToken = vocabSize * 4 * 2;
  const limit = Math.max(1, Math.floor(WASM_ACTIVATION_BUDGET / perToken));
  if (chunkSize > limit) {
    throw new LimitError('--chunk-size', chunkSize, limit, `the logits of ${chunkSize} tokens x ${vocabSize} vocabulary entries would need ${gib(chunkSize * perToken)} of the ${gib(WASM_ACTIVATION_BUDGET)} WebAssembly memory`);
  }
}

function gib(bytes: number): string {
  const g = bytes / 2 ** 30;
  return g >= 1000 ? `${g.toExponential(1)} GiB` : g >= 0.1 ? `${g.toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
