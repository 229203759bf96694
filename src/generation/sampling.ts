// Choosing the next token from one row of logits: greedy (first maximum, as the official
// xLSTM generate) or sampling with temperature, top-k, top-p (nucleus) and min-p, in that
// order (the Hugging Face logits-processor order), all in float64.
import { ArgumentError } from '../errors.js';
import type { Xoshiro128ss } from './prng.js';

/** How to pick tokens. Greedy unless one of temperature (> 0), topK, topP or minP is given. */
export interface SamplingOptions {
  /** Divides the logits before softmax; 0 means greedy; default 1 once any other sampling option is set. */
  temperature?: number;
  /** Keep only the k most likely tokens (integer >= 1; 1 is greedy). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability sums to >= topP (0 < topP <= 1). */
  topP?: number;
  /** Keep tokens whose probability is >= minP * the largest probability (0 <= minP <= 1). */
  minP?: number;
}

export type SamplingConfig =
  | { mode: 'greedy' }
  | { mode: 'sample'; temperature: number; topK: number; topP: number; minP: number };

/** Validates sampling options; errors name the option and the accepted range. */
export function resolveSampling(fn: string, o: SamplingOptions = {}): SamplingConfig {
  const { temperature, topK, topP, minP } = o;
  if (temperature !== undefined && (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)) {
    throw new ArgumentError(`${fn}: temperature = ${String(temperature)}, expected a finite number >= 0 (0 = greedy)`);
  }
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new ArgumentError(`${fn}: topK = ${String(topK)}, expected an integer >= 1`);
  if (topP !== undefined && (typeof topP !== 'number' || !(topP > 0 && topP <= 1))) throw new ArgumentError(`${fn}: topP = ${String(topP)}, expected 0 < topP <= 1`);
  if (minP !== undefined && (typeof minP !== 'number' || !(minP >= 0 && minP <= 1))) throw new ArgumentError(`${fn}: minP = ${String(minP)}, expected 0 <= minP <= 1`);
  const any = temperature !== undefined || topK !== undefined || topP !== undefined || minP !== undefined;
  if (!any || temperature === 0) return { mode: 'greedy' };
  return { mode: 'sample', temperature: temperature ?? 1, topK: topK ?? Infinity, topP: topP ?? 1, minP: minP ?? 0 };
}

/** Index of the first maximum of logits[off .. off+V) (ties go to the lower id); throws on NaN. */
export function argmax(logits: Float32Array, off: number, V: number, where = 'logits'): number {
  let best = 0;
  for (let v = 0; v < V; v++) {
    const x = logits[off + v];
    if (Number.isNaN(x)) throw new RangeError(`${where}: logit of token ${v} is NaN`);
    if (x > logits[off + best]) best = v;
  }
  return best;
}

/**
 * Draws one token. Candidates are ordered by logit (descending, ties by ascending id),
 * cut by top-k, then top-p on the renormalised tempered distribution (at least one token
 * always survives), then min-p; one uniform u from `rng` picks the first candidate whose
 * cumulative probability exceeds u * (kept mass). Exactly one rng draw per token, so the
 * stream stays aligned across runs with the same seed.
 */
export function sampleToken(logits: Float32Array, off: number, V: number, cfg: SamplingConfig, rng: Xoshiro128ss, where = 'logits'): number {
  if (cfg.mode === 'greedy') return argmax(logits, off, V, where);
  const u = rng.nextFloat();
  const max = logits[off + argmax(logits, off, V, where)];
  const order = Array.from({ length: V }, (_, v) => v);
  order.sort((a, b) => logits[off + b] - logits[off + a] || a - b);
  const n = Math.min(V, cfg.topK);
  const p = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) { p[i] = Math.exp((logits[off + order[i]] - max) / cfg.temperature); total += p[i]; }
  let kept = n;
  if (cfg.topP < 1) {
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += p[i] / total;
      if (cum >= cfg.topP) { kept = i + 1; break; }
    }
  }
  if (cfg.minP > 0) {
    const cut = cfg.minP * p[0]; // p[0] is the largest
    let i = 1;
    while (i < kept && p[i] >= cut) i++;
    kept = i;
  }
  let mass = 0;
  for (let i = 0; i < kept; i++) mass += p[i];
  const target = u * mass;
  let cum = 0;
  for (let i = 0; i < kept; i++) {
    cum += p[i];
    if (cum > target) return order[i];
  }
  return order[kept - 1];
}
