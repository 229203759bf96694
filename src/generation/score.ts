// Scoring token sequences: log p(ids[t] | ids[<t]) for every t >= 1 under the model's raw
// distribution, in float64, plus total / mean NLL and perplexity. Long inputs go through
// the model in chunks of `chunkSize` tokens with the recurrent state carried between
// them, so memory stays bounded by one chunk's logits [1, chunkSize, V] whatever the
// length. Sequences of a batch are scored one at a time (no padding in the recurrence).
import { ArgumentError } from '../errors.js';
import type { LanguageModel, ModelState } from '../models/languageModel.js';
import type { Tensor } from '../tensor/tensor.js';
import { logSumExp } from './logprobs.js';
import { disposeState, selectRows, stateBatchSize } from './state.js';
import { assertModelState } from './generate.js';
import { checkCount, checkTokenRows, vocabSizeOf } from './validate.js';

export interface ScoreOptions {
  /** Tokens per forward call (integer >= 1); default 512. Results do not depend on it beyond float32 rounding. */
  chunkSize?: number;
  /**
   * State of the context before ids (batch = number of sequences; not modified); default
   * the empty state. A state holds the past but not the prediction of the next token, so
   * ids[0] is context either way: start ids with the last context token to score all new ones.
   */
  state?: ModelState;
}

export interface SequenceScore {
  /** log p(ids[t] | ids[<t]) for t = 1 .. S-1 (float64). */ logprobs: Float64Array;
  /** Number of scored tokens (S - 1). */ tokens: number;
  /** Sum of -logprobs. */ nll: number;
  /** nll / tokens (NaN when nothing was scored). */ meanNll: number;
  /** exp(meanNll). */ perplexity: number;
}

/** Scores one sequence (ids: number[]) or several (ids: number[][]; each scored alone). */
export function score(model: LanguageModel, ids: readonly number[], opts?: ScoreOptions): SequenceScore;
export function score(model: LanguageModel, ids: readonly (readonly number[])[], opts?: ScoreOptions): SequenceScore[];
export function score(model: LanguageModel, ids: readonly number[] | readonly (readonly number[])[], opts: ScoreOptions = {}): SequenceScore | SequenceScore[] {
  const fn = 'score';
  const V = vocabSizeOf(fn, model);
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  const single = Array.isArray(ids) && ids.length > 0 && !Array.isArray(ids[0]);
  const rows = checkTokenRows(fn, 'ids', single ? [ids] : ids, V);
  const chunk = opts.chunkSize === undefined ? 512 : checkCount(fn, 'chunkSize', opts.chunkSize, 1);
  if (opts.state !== undefined) {
    assertModelState(fn, model, opts.state);
    const sb = stateBatchSize(opts.state, fn, 'options.state');
    if (sb !== rows.length) throw new ArgumentError(`${fn}: options.state has batch ${sb}, expected ${rows.length} (one row per sequence)`);
  }
  const out = rows.map((seq, b) => scoreOne(model, seq, chunk, V, opts.state === undefined ? undefined : selectRows(model, opts.state, [b]), b));
  return single ? out[0] : out;
}

function scoreOne(model: LanguageModel, seq: number[], chunk: number, V: number, init: ModelState | undefined, b: number): SequenceScore {
  const S = seq.length;
  const lp = new Float64Array(S - 1);
  let state = init;
  try {
    for (let s0 = 0; s0 < S - 1; s0 += chunk) {
      // positions s0 .. s1-1 are fed; their logits predict tokens s0+1 .. s1
      const s1 = Math.min(S - 1, s0 + chunk);
      const n = s1 - s0;
      let r: { logits: Tensor; state: ModelState };
      if (n === 1) {
        // one token is a step (the official inference path for S = 1); the state is ours to update
        state ??= model.emptyState(1);
        const o = model.step([seq[s0]], state);
        r = { logits: o.logits, state }; // [1, V]
      } else {
        r = model.forward([seq.slice(s0, s1)], { state, logits: 'all' });
        if (state) disposeState(state);
      }
      state = r.state;
      const d = r.logits.data as Float32Array;
      if (r.logits.shape.join() !== (n === 1 && r.logits.rank === 2 ? [1, V] : [1, n, V]).join()) {
        r.logits.dispose();
        throw new RangeError(`score: model.forward returned logits [${r.logits.shape.join(', ')}], expected [1, ${n}, ${V}]`);
      }
      for (let t = 0; t < n; t++) {
        const lse = logSumExp(d, t * V, V, `score: logits of ids[${b}] at position ${s0 + t}`);
        lp[s0 + t] = d[t * V + seq[s0 + t + 1]] - lse;
      }
      r.logits.dispose();
    }
  } finally { if (state) disposeState(state); }
  let nll = 0;
  for (let i = 0; i < lp.length; i++) nll -= lp[i];
  const meanNll = lp.length ? nll / lp.length : NaN;
  return { logprobs: lp, tokens: lp.length, nll, meanNll, perplexity: Math.exp(meanNll) };
}
