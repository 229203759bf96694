// score on the xLSTM Large golden model: log-probs equal the official prefill logits'
// log-softmax (float64), chunked equals unchunked, totals and perplexity, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import type { XLSTMLarge } from '../../src/models/xlstmLarge/index.js';
import type { LanguageModel } from '../../src/models/languageModel.js';
import { score, generate, disposeState } from '../../src/generation/index.js';
import { loadCase, assertClose, GoldenCase } from '../helpers/golden.js';
import { loadModel, goldenIds, logprobF64 } from './helpers.js';

let be: WasmBackend, raw: XLSTMLarge, model: LanguageModel, c: GoldenCase, V: number;
before(async () => {
  ({ be, raw, model } = await loadModel('xlstm_large'));
  c = loadCase('xlstm_large');
  V = c.config.vocab_size;
});
after(() => { raw?.dispose(); be?.dispose(); });

test('score: per-token log-probs are the log-softmax of the official logits; chunked == unchunked', () => {
  const input = goldenIds(c, 'input_ids');
  const S = input[0].length;
  const logits = c.f32('logits');
  const { atol } = c.tol('logits');
  const whole = score(model, input, { chunkSize: 1000 });
  assert.equal(whole.length, input.length);
  whole.forEach((r, b) => {
    assert.equal(r.tokens, S - 1);
    const want = Float64Array.from({ length: S - 1 }, (_, t) => logprobF64(logits.subarray((b * S + t) * V, (b * S + t + 1) * V), input[b][t + 1]));
    assertClose(`b${b} logprobs`, r.logprobs, want, 2 * atol);
    assert.equal(r.nll, r.logprobs.reduce((a, x) => a - x, 0));
    assert.ok(Math.abs(r.meanNll - r.nll / (S - 1)) < 1e-12);
    assert.ok(Math.abs(r.perplexity - Math.exp(r.nll / (S - 1))) < 1e-9 * r.perplexity);
  });
  for (const chunkSize of [1, 5, 16, S - 2]) {
    const ch = score(model, input, { chunkSize });
    ch.forEach((r, b) => assertClose(`chunk ${chunkSize} b${b}`, r.logprobs, whole[b].logprobs, 2 * atol));
  }
  // one sequence in, one result out; a sequence of one token scores nothing
  const one = score(model, input[1].slice(0, 9), { chunkSize: 4 });
  assertClose('single', one.logprobs, whole[1].logprobs.subarray(0, 8), 2 * atol);
  const empty = score(model, [input[0][0]]);
  assert.equal(empty.tokens, 0);
  assert.equal(empty.nll, 0);
  assert.ok(Number.isNaN(empty.meanNll));
});

test('score from a state equals scoring the whole sequence; greedy G-NLL = score of the greedy sequence', () => {
  const input = goldenIds(c, 'input_ids');
  const P = 7;
  const full = score(model, input);
  const ctx = generate(model, input.map((r) => r.slice(0, P - 1)), { maxNewTokens: 0, returnState: true }).state!; // context without its last token
  const rest = score(model, input.map((r) => r.slice(P - 1)), { state: ctx, chunkSize: 6 });
  rest.forEach((r, b) => assertClose(`b${b}`, r.logprobs, full[b].logprobs.subarray(P - 1), 2e-3));
  disposeState(ctx);
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const g = generate(model, prompts, { maxNewTokens: 10 });
  g.sequences.forEach((s, b) => {
    const sc = score(model, [...prompts[b], ...s.tokens]);
    const tail = sc.logprobs.subarray(prompts[b].length - 1).reduce((a, x) => a - x, 0);
    assert.ok(Math.abs(tail - s.gNll!) < 1e-2, `row ${b}: ${tail} vs ${s.gNll}`);
  });
});

test('score: bad input names the argument', () => {
  assert.throws(() => score(model, [[1, 2], []]), /score: ids\[1\] is empty/);
  assert.throws(() => score(model, [1, V]), new RegExp(`ids\\[0\\]\\[1\\] = ${V} is not a token id`));
  assert.throws(() => score(model, [1, 2], { chunkSize: 0 }), /chunkSize = 0, expected an integer >= 1/);
  const st = model.emptyState(2);
  assert.throws(() => score(model, [[1, 2, 3]], { state: st }), /options.state has batch 2, expected 1/);
  disposeState(st);
});
