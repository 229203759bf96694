// Text generation on top of any recurrent LanguageModel: prefill each prompt alone, then
// one recurrent step per generated token for all unfinished rows together.
//
// Ragged batches: every prompt is prefilled on its own (B = 1) and the final states are
// stacked into one batch, so no padding ever enters the recurrence and each row gets the
// tokens it would get alone (the official xLSTM generate pads and lets the pad tokens
// update the state). Rows that stop are dropped from the batch (their state rows are
// selected out), so finished rows cost nothing.
//
// Scores: every token's log-probability is taken under the model's raw distribution
// (log-softmax of the logits as returned: no temperature / top-k / top-p), in float64.
// `nll` of a sequence is the sum of -log p of its generated tokens (stop token included).
// G-NLL (Aichberger et al., "Rethinking Uncertainty Estimation in Natural Language
// Generation": the NLL of the greedy output as the uncertainty measure) is that same sum
// for the greedy sequence: with greedy decoding gNll = nll for free; with sampling the
// sampled sequence's nll is reported and gNll only when `gNll: true` asks for the extra
// greedy decode of the same prompts (same maxNewTokens and stop criteria).
import { ArgumentError, LimitError } from '../errors.js';
import type { LanguageModel, ModelState } from '../models/languageModel.js';
import type { Tensor } from '../tensor/tensor.js';
import { SamplingOptions, SamplingConfig, resolveSampling, sampleToken } from './sampling.js';
import { Xoshiro128ss, checkSeed, randomSeed, rowRng } from './prng.js';
import { TokenLogprob, logSumExp, topLogprobs } from './logprobs.js';
import { GenerationTokenizer, TextStream } from './textStream.js';
import { checkStateMatches, disposeState, selectRows, stackStates, stateBatchSize } from './state.js';
import { checkCount, checkTokenRows, vocabSizeOf } from './validate.js';

export type { GenerationTokenizer } from './textStream.js';

/** Why a row stopped. */
export type FinishReason = 'length' | 'stop_token' | 'stop_string' | 'abort';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate per prompt at most (integer >= 0). */
  maxNewTokens: number;
  /** Seed of the sampling streams (0 <= seed < 2^32); default a random one, reported in the result. Unused when greedy. */
  seed?: number;
  /** Token ids that end a row; the stop token is kept in `tokens` (and in nll) but not in `text`. */
  stopTokens?: readonly number[];
  /** Strings that end a row (needs `tokenizer`); `text` ends before the stop string. */
  stopStrings?: readonly string[];
  /** Enables `text` and streamed text deltas, string prompts and stop strings. */
  tokenizer?: GenerationTokenizer;
  /** Return each generated token's log-probability (raw distribution) in `logprobs`. */
  logprobs?: boolean;
  /** Also return this many most likely alternatives per position (implies logprobs). */
  topLogprobs?: number;
  /** With sampling: also compute G-NLL by an extra greedy decode (greedy runs always report it). */
  gNll?: boolean;
  /** Continue from this state (batch = number of prompts; not modified). Default: the empty state. */
  state?: ModelState;
  /** Return the final state (rows in prompt order): after the prompt and every generated token but the last, which is not fed (as the official generate). */
  returnState?: boolean;
  /** Called for every generated token, in order (rows ascending within a step). */
  onToken?: (event: TokenEvent) => void;
  /** Stops all rows before the next token once aborted (finishReason 'abort'). */
  signal?: AbortSignal;
}

/** One generated token, as streamed. */
export interface TokenEvent {
  /** Batch row (index of the prompt). */ row: number;
  /** Position among the row's generated tokens (0-based). */ index: number;
  token: number;
  /** log p(token) under the model's raw distribution (float64). */ logprob: number;
  /** Text that became final with this token (tokenizer given; may be ''). */ text?: string;
  /** Most likely alternatives at this position (when topLogprobs > 0). */ topLogprobs?: TokenLogprob[];
  /** Set on the row's last token. */ finishReason?: FinishReason;
}

/** One generated token with its scores (in `logprobs` of the result). */
export interface GeneratedTokenLogprob extends TokenLogprob {
  topLogprobs?: TokenLogprob[];
}

export interface GeneratedSequence {
  /** Generated ids (stop token included when a stop token ended the row). */ tokens: number[];
  /** Decoded generated text (tokenizer given), without stop tokens and stop strings. */ text?: string;
  finishReason: FinishReason;
  /** Sum over `tokens` of -log p (raw distribution, float64). */ nll: number;
  /** G-NLL: nll of the greedy sequence (= nll when decoding greedily; with sampling only if `gNll: true`). */ gNll?: number;
  /** Greedy tokens behind gNll when they were decoded separately (sampling with `gNll: true`). */ greedyTokens?: number[];
  /** Per-token log-probabilities (when `logprobs` or `topLogprobs` asked for them). */ logprobs?: GeneratedTokenLogprob[];
}

export interface GenerateResult {
  /** One per prompt, in order. */ sequences: GeneratedSequence[];
  /** 'greedy' or 'sample'. */ mode: SamplingConfig['mode'];
  /** Seed actually used (sampling only). */ seed?: number;
  /** Final state (when returnState). */ state?: ModelState;
}

/** A prompt: token ids, or text when a tokenizer is given. */
export type Prompt = readonly number[] | string;

interface Tick { tick: true }

/** Runs a check of another module (src/random) so its RangeError comes out as this API's ArgumentError. */
function argument<T>(check: () => T): T {
  try { return check(); } catch (e) { throw e instanceof RangeError ? new ArgumentError(e.message) : e; }
}

/** Generated tokens of one call, all rows together: 2^27 ids (a GiB of arrays with their scores) is far beyond any model's useful output. */
export const MAX_GENERATED_TOKENS = 2 ** 27;

/**
 * Generates for every prompt (a ragged batch is fine) and returns all sequences.
 * Synchronous: the model computes synchronously; use streamGenerate to interleave.
 */
export function generate(model: LanguageModel, prompts: readonly Prompt[], opts: GenerateOptions): GenerateResult {
  const it = run('generate', model, prompts, opts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Streams tokens as they are generated: yields a TokenEvent per token (rows ascending
 * within a step) and returns the GenerateResult as the iterator's return value (what
 * `generate` returns). Gives the event loop a turn before every model call, so an
 * AbortSignal fired by a timer or a UI is seen between tokens.
 */
export async function* streamGenerate(model: LanguageModel, prompts: readonly Prompt[], opts: GenerateOptions): AsyncGenerator<TokenEvent, GenerateResult, void> {
  const it = run('streamGenerate', model, prompts, opts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    if ('tick' in r.value) await yieldToEventLoop();
    else yield r.value;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** The last row of logits [.., S, V] of batch row b, copied out of the model's memory. */
function lastRow(logits: Tensor, b: number, V: number): Float32Array {
  const d = logits.data as Float32Array;
  const S = logits.rank === 3 ? logits.shape[1] : 1;
  const off = (b * S + S - 1) * V;
  return d.slice(off, off + V);
}

interface Row {
  tokens: number[];
  nll: number;
  logprobs?: GeneratedTokenLogprob[];
  text?: TextStream;
  finish?: FinishReason;
  rng?: Xoshiro128ss;
  state?: ModelState;
}

function* run(fn: string, model: LanguageModel, prompts: readonly Prompt[], opts: GenerateOptions): Generator<TokenEvent | Tick, GenerateResult, void> {
  const V = vocabSizeOf(fn, model);
  if (!opts || typeof opts !== 'object') throw new ArgumentError(`${fn}: options are required ({ maxNewTokens, ... })`);
  const maxNew = checkCount(fn, 'maxNewTokens', opts.maxNewTokens);
  const cfg = resolveSampling(fn, opts);
  const tok = opts.tokenizer;
  if (tok !== undefined && (typeof tok.encode !== 'function' || typeof tok.decode !== 'function')) throw new ArgumentError(`${fn}: tokenizer must have encode(text) and decode(ids)`);
  if (opts.stopTokens !== undefined && !Array.isArray(opts.stopTokens)) throw new ArgumentError(`${fn}: stopTokens must be an array of token ids`);
  if (opts.stopStrings !== undefined && !Array.isArray(opts.stopStrings)) throw new ArgumentError(`${fn}: stopStrings must be an array of strings`);
  const stopTokens = new Set<number>();
  for (const [i, t] of (opts.stopTokens ?? []).entries()) {
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new ArgumentError(`${fn}: stopTokens[${i}] = ${String(t)} is not a token id (expected an integer 0 <= id < vocabSize ${V})`);
    stopTokens.add(t);
  }
  const stopStrings = [...(opts.stopStrings ?? [])];
  stopStrings.forEach((s, i) => { if (typeof s !== 'string' || s.length === 0) throw new ArgumentError(`${fn}: stopStrings[${i}] must be a non-empty string`); });
  if (stopStrings.length && !tok) throw new ArgumentError(`${fn}: stopStrings need a tokenizer (options.tokenizer) to decode the generated text`);
  const nTop = opts.topLogprobs === undefined ? 0 : checkCount(fn, 'topLogprobs', opts.topLogprobs);
  if (nTop > V) throw new ArgumentError(`${fn}: topLogprobs = ${nTop}, expected at most the vocabulary size ${V}`);
  for (const k of ['logprobs', 'gNll', 'returnState'] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new ArgumentError(`${fn}: ${k} = ${JSON.stringify(opts[k])}, expected true or false`);
  }
  if (opts.onToken !== undefined && typeof opts.onToken !== 'function') throw new ArgumentError(`${fn}: onToken must be a function (event) => void, got ${typeof opts.onToken}`);
  if (opts.signal !== undefined && !(typeof AbortSignal !== 'undefined' && opts.signal instanceof AbortSignal)) throw new ArgumentError(`${fn}: signal must be an AbortSignal`);
  const wantLogprobs = opts.logprobs === true || nTop > 0;
  if (!Array.isArray(prompts) || prompts.length === 0) throw new ArgumentError(`${fn}: prompts must be a non-empty array of token-id arrays (or strings with a tokenizer)`);
  const ids = checkTokenRows(fn, 'prompts', prompts.map((p, b) => {
    if (typeof p !== 'string') return p;
    if (!tok) throw new ArgumentError(`${fn}: prompts[${b}] is a string, which needs options.tokenizer`);
    return tok.encode(p);
  }), V);
  const B = ids.length;
  // every row keeps its generated ids (and scores): refuse what cannot be held before the prefill
  const maxTokens = Math.floor(MAX_GENERATED_TOKENS / B);
  if (maxNew > maxTokens) throw new LimitError('maxNewTokens', maxNew, maxTokens, `${B} prompt(s) x maxNewTokens generated ids are kept in memory; at most ${MAX_GENERATED_TOKENS} in all`);
  if (opts.state !== undefined) {
    assertModelState(fn, model, opts.state);
    const sb = stateBatchSize(opts.state, fn, 'options.state');
    if (sb !== B) throw new ArgumentError(`${fn}: options.state has batch ${sb}, expected ${B} (one row per prompt)`);
  }
  const seed = cfg.mode === 'sample' ? (opts.seed === undefined ? randomSeed() : argument(() => checkSeed(fn, 'seed', opts.seed))) : undefined;
  const rows: Row[] = ids.map((_, b) => ({
    tokens: [], nll: 0,
    ...(wantLogprobs ? { logprobs: [] } : {}),
    ...(tok ? { text: new TextStream(tok, stopStrings) } : {}),
    ...(seed !== undefined ? { rng: rowRng(seed, b) } : {}),
  }));
  const result = (state?: ModelState): GenerateResult => ({
    sequences: rows.map((r) => ({
      tokens: r.tokens,
      ...(r.text ? { text: r.text.value } : {}),
      finishReason: r.finish ?? 'length',
      nll: r.nll,
      ...(cfg.mode === 'greedy' ? { gNll: r.nll } : {}),
      ...(r.logprobs ? { logprobs: r.logprobs } : {}),
    })),
    mode: cfg.mode,
    ...(seed !== undefined ? { seed } : {}),
    ...(state ? { state } : {}),
  });

  if (maxNew === 0) {
    const res = result(opts.returnState ? prefillAll(fn, model, ids, opts.state, V).state : undefined);
    return res;
  }
  if (opts.signal?.aborted) { rows.forEach((r) => { r.finish = 'abort'; }); return result(); }

  yield { tick: true };
  const pre = prefillAll(fn, model, ids, opts.state, V);
  let state = pre.state;
  let active = ids.map((_, b) => b); // original row of each batch row of `state`
  let logits = pre.logits; // per batch row of `state`: [V]
  try {
    for (let j = 0; ; j++) {
      const next: number[] = [];
      for (let i = 0; i < active.length; i++) {
        const b = active[i], r = rows[b], lg = logits[i];
        const where = `${fn}: logits of prompts[${b}] at generated token ${j}`;
        const t = sampleToken(lg, 0, V, cfg, r.rng!, where);
        const lse = logSumExp(lg, 0, V, where);
        const lp = lg[t] - lse;
        const top = nTop > 0 ? topLogprobs(lg, 0, V, nTop, lse) : undefined;
        r.tokens.push(t);
        r.nll -= lp;
        r.logprobs?.push({ token: t, logprob: lp, ...(top ? { topLogprobs: top } : {}) });
        let delta: string | undefined;
        if (stopTokens.has(t)) { r.finish = 'stop_token'; delta = r.text?.flush(); } else if (r.text) {
          delta = r.text.push(t);
          if (r.text.stopped) r.finish = 'stop_string';
        }
        if (!r.finish && r.tokens.length >= maxNew) r.finish = 'length';
        if (r.finish && r.text && r.finish !== 'stop_string') delta = (delta ?? '') + r.text.flush();
        const ev: TokenEvent = { row: b, index: j, token: t, logprob: lp, ...(delta !== undefined ? { text: delta } : {}), ...(top ? { topLogprobs: top } : {}), ...(r.finish ? { finishReason: r.finish } : {}) };
        opts.onToken?.(ev);
        yield ev;
        next.push(t);
      }
      const keep = active.map((b, i) => (rows[b].finish ? -1 : i)).filter((i) => i >= 0);
      if (keep.length < active.length && opts.returnState) {
        for (let i = 0; i < active.length; i++) if (rows[active[i]].finish) rows[active[i]].state = selectRows(model, state, [i]);
      }
      if (keep.length === 0) break;
      yield { tick: true };
      if (opts.signal?.aborted) {
        for (const i of keep) { rows[active[i]].finish = 'abort'; if (opts.returnState) rows[active[i]].state = selectRows(model, state, [i]); }
        break;
      }
      if (keep.length < active.length) {
        const sub = selectRows(model, state, keep);
        disposeState(state);
        state = sub;
        active = keep.map((i) => active[i]);
      }
      const r = model.step(keep.map((i) => next[i]), state);
      logits = active.map((_, i) => lastRow(r.logits, i, V));
      r.logits.dispose();
    }
  } finally {
    disposeState(state);
  }
  let finalState: ModelState | undefined;
  if (opts.returnState) {
    const parts = rows.map((r) => r.state!);
    finalState = parts.length === 1 ? parts[0] : stackStates(model, parts);
    if (parts.length > 1) parts.forEach(disposeState);
  }
  const res = result(finalState);
  if (cfg.mode === 'sample' && opts.gNll) {
    const g = generate(model, ids, { maxNewTokens: maxNew, stopTokens: [...stopTokens], stopStrings, tokenizer: tok, state: opts.state, signal: opts.signal });
    res.sequences.forEach((s, b) => { s.gNll = g.sequences[b].nll; s.greedyTokens = g.sequences[b].tokens; });
  }
  return res;
}

/**
 * Prefills each prompt alone (B = 1) from its row of `init` and stacks the states. A
 * one-token prompt is a step from the start state, as the official inference mode does
 * for S = 1.
 */
function prefillAll(fn: string, model: LanguageModel, ids: number[][], init: ModelState | undefined, V: number): { state: ModelState; logits: Float32Array[] } {
  const states: ModelState[] = [];
  const logits: Float32Array[] = [];
  try {
    for (let b = 0; b < ids.length; b++) {
      const start = init === undefined ? undefined : selectRows(model, init, [b]);
      let lg: Tensor;
      if (ids[b].length === 1) {
        const st = start ?? model.emptyState(1);
        states.push(st); // stepped in place, so it is the row's state from here on
        lg = model.step(ids[b], st).logits;
      } else {
        try {
          const r = model.forward([ids[b]], { state: start, logits: 'last' });
          states.push(r.state);
          lg = r.logits;
        } finally { if (start) disposeState(start); }
      }
      const got = lg.shape;
      const ok = got.length === 3 ? got[0] === 1 && got[2] === V : got.length === 2 && got[0] === 1 && got[1] === V;
      if (!ok) { lg.dispose(); throw new RangeError(`${fn}: the model returned logits [${got.join(', ')}], expected [1, S or 1, ${V}] (forward) or [1, ${V}] (step)`); }
      logits.push(lastRow(lg, 0, V));
      lg.dispose();
    }
    if (states.length === 1) return { state: states[0], logits };
    const state = stackStates(model, states);
    states.forEach(disposeState);
    return { state, logits };
  } catch (e) {
    states.forEach(disposeState);
    throw e;
  }
}

/** Throws unless `state` is a state of `model` (same leaves and shapes apart from the batch). */
export function assertModelState(fn: string, model: LanguageModel, state: ModelState, arg = 'options.state'): void {
  const tmpl = model.emptyState(1);
  try { checkStateMatches(fn, arg, tmpl, state); } finally { disposeState(tmpl); }
}
