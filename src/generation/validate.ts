// Input checks shared by generate and score: token ids are validated here, before any
// model work, so errors name the argument, the row and the position.
import { ArgumentError } from '../errors.js';
import type { LanguageModel } from '../models/languageModel.js';

/** Checks a batch of token sequences (each non-empty, integer ids in [0, vocabSize)). */
export function checkTokenRows(fn: string, arg: string, rows: unknown, vocabSize: number): number[][] {
  if (!Array.isArray(rows) || rows.length === 0) throw new ArgumentError(`${fn}: ${arg} must be a non-empty array of token-id arrays (number[][])`);
  rows.forEach((r, b) => {
    if (!Array.isArray(r)) throw new ArgumentError(`${fn}: ${arg}[${b}] is ${typeof r}, expected an array of token ids`);
    if (r.length === 0) throw new ArgumentError(`${fn}: ${arg}[${b}] is empty, expected at least one token`);
    for (let s = 0; s < r.length; s++) {
      const t = r[s];
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new ArgumentError(`${fn}: ${arg}[${b}][${s}] = ${String(t)} is not a token id (expected an integer 0 <= id < vocabSize ${vocabSize})`);
      }
    }
  });
  return rows as number[][];
}

/** The model's vocabulary size, checked (so a half-built model fails with a clear message). */
export function vocabSizeOf(fn: string, model: LanguageModel): number {
  if (!model || typeof model.forward !== 'function' || typeof model.step !== 'function' || typeof model.emptyState !== 'function') {
    throw new ArgumentError(`${fn}: model must implement LanguageModel (emptyState, forward, step)`);
  }
  const V = model.vocabSize;
  if (!Number.isInteger(V) || V < 1) throw new ArgumentError(`${fn}: model.vocabSize = ${String(V)}, expected a positive integer`);
  return V;
}

/** Checks a non-negative integer option. */
export function checkCount(fn: string, arg: string, n: unknown, min = 0): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) throw new ArgumentError(`${fn}: ${arg} = ${String(n)}, expected an integer >= ${min}`);
  return n;
}
