// generate / streamGenerate on the xLSTM Large golden model: greedy tokens and G-NLL
// against the official run, prefill-then-step, seeded sampling, stop criteria, streaming,
// ragged batches, continuing from a returned state, aborts and input errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import type { XLSTMLarge } from '../../src/models/xlstmLarge/index.js';
import type { LanguageModel } from '../../src/models/languageModel.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { generate, streamGenerate, disposeState, TokenEvent, GenerateResult } from '../../src/generation/index.js';
import { loadCase, assertClose, GoldenCase } from '../helpers/golden.js';
import { loadModel, goldenIds, toyTokenizer, logprobF64 } from './helpers.js';

let be: WasmBackend, raw: XLSTMLarge, model: LanguageModel, c: GoldenCase, V: number;
before(async () => {
  ({ be, raw, model } = await loadModel('xlstm_large'));
  c = loadCase('xlstm_large');
  V = c.config.vocab_size;
});
after(() => { raw?.dispose(); be?.dispose(); });

test('prefill of a prefix with logits "last", then steps, equals the full-sequence logits', () => {
  const input = goldenIds(c, 'input_ids');
  const S = input[0].length, P = Math.max(1, S - 6);
  const full = c.f32('logits'); // [B, S, V] official prefill
  const { atol } = c.tol('logits');
  for (let b = 0; b < input.length; b++) {
    const pre = model.forward([input[b].slice(0, P)], { logits: 'last' });
    const L = pre.logits.shape[1];
    assertClose(`prefill last b${b}`, (pre.logits.data as Float32Array).subarray((L - 1) * V, L * V), full.subarray((b * S + P - 1) * V, (b * S + P) * V), atol);
    for (let t = P; t < S; t++) {
      const r = model.step([input[b][t]], pre.state);
      assertClose(`step t${t} b${b}`, r.logits.data as Float32Array, full.subarray((b * S + t) * V, (b * S + t + 1) * V), atol);
    }
    disposeState(pre.state);
  }
});

test('greedy generate: the official tokens, and G-NLL = sum of -log p from the official logits in float64', () => {
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const want = goldenIds(c, 'gen_tokens');
  const n = want[0].length;
  const r = generate(model, prompts, { maxNewTokens: n, logprobs: true, topLogprobs: 3 });
  assert.equal(r.mode, 'greedy');
  const logits = c.f32('gen_step_logits'); // [B, n, V]
  const { atol } = c.tol('gen_step_logits');
  r.sequences.forEach((s, b) => {
    assert.deepEqual(s.tokens, want[b], `row ${b}`);
    assert.equal(s.finishReason, 'length');
    let nll = 0;
    s.tokens.forEach((t, j) => {
      const lp = logprobF64(logits.subarray((b * n + j) * V, (b * n + j + 1) * V), t);
      nll -= lp;
      assert.ok(Math.abs(s.logprobs![j].logprob - lp) <= 2 * atol, `row ${b} token ${j}: ${s.logprobs![j].logprob} vs ${lp}`);
      assert.equal(s.logprobs![j].token, t);
      assert.equal(s.logprobs![j].topLogprobs![0].token, t); // greedy: the chosen one is the most likely
      assert.ok(s.logprobs![j].topLogprobs![1].logprob <= s.logprobs![j].topLogprobs![0].logprob);
    });
    assert.equal(s.gNll, s.nll);
    assert.ok(Math.abs(s.gNll! - nll) <= 2 * atol * n, `row ${b} G-NLL ${s.gNll} vs ${nll}`);
    // and exactly the float64 sum of its own per-token log-probs
    assert.equal(s.nll, s.logprobs!.reduce((a, l) => a - l.logprob, 0));
  });
  // the model's own greedy generate agrees token for token
  assert.deepEqual(r.sequences.map((s) => s.tokens), raw.generate(prompts, { maxLength: n }).tokens);
});

test('xlstm_large_hf: greedy generate gives the official tokens', async () => {
  const h = loadCase('xlstm_large_hf');
  const m = await loadModel('xlstm_large_hf');
  try {
    const want = goldenIds(h, 'gen_tokens');
    assert.deepEqual(generate(m.model, goldenIds(h, 'gen_prompt_ids'), { maxNewTokens: want[0].length }).sequences.map((s) => s.tokens), want);
  } finally { m.raw.dispose(); m.be.dispose(); }
});

test('seeded sampling is reproducible, seeds differ; top-k 1 and tiny top-p are greedy', () => {
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const n = 12;
  const greedy = generate(model, prompts, { maxNewTokens: n }).sequences.map((s) => s.tokens);
  const a = generate(model, prompts, { maxNewTokens: n, temperature: 1.3, seed: 5 });
  const b = generate(model, prompts, { maxNewTokens: n, temperature: 1.3, seed: 5 });
  const d = generate(model, prompts, { maxNewTokens: n, temperature: 1.3, seed: 6 });
  assert.equal(a.mode, 'sample');
  assert.equal(a.seed, 5);
  assert.deepEqual(a.sequences, b.sequences);
  assert.notDeepEqual(a.sequences.map((s) => s.tokens), d.sequences.map((s) => s.tokens));
  assert.notDeepEqual(a.sequences.map((s) => s.tokens), greedy);
  assert.equal(a.sequences[0].gNll, undefined); // sampling: G-NLL only on request
  // without a seed one is drawn and reported; running again with it repeats the tokens
  const e = generate(model, prompts, { maxNewTokens: n, topK: 20 });
  assert.equal(typeof e.seed, 'number');
  assert.deepEqual(generate(model, prompts, { maxNewTokens: n, topK: 20, seed: e.seed }).sequences, e.sequences);
  assert.deepEqual(generate(model, prompts, { maxNewTokens: n, topK: 1, temperature: 2, seed: 9 }).sequences.map((s) => s.tokens), greedy);
  assert.deepEqual(generate(model, prompts, { maxNewTokens: n, topP: 1e-9, temperature: 2, seed: 9 }).sequences.map((s) => s.tokens), greedy);
  // gNll on request: the greedy decode's nll, next to the sampled sequence's own nll
  const g = generate(model, prompts, { maxNewTokens: n, temperature: 1.3, seed: 5, gNll: true });
  const gr = generate(model, prompts, { maxNewTokens: n });
  g.sequences.forEach((s, i) => {
    assert.deepEqual(s.tokens, a.sequences[i].tokens);
    assert.equal(s.nll, a.sequences[i].nll);
    assert.deepEqual(s.greedyTokens, greedy[i]);
    assert.equal(s.gNll, gr.sequences[i].nll);
  });
});

test('stop tokens and stop strings end a row; text excludes them', () => {
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const n = 16;
  const tok = toyTokenizer(V);
  const full = generate(model, prompts, { maxNewTokens: n, tokenizer: tok, logprobs: true }).sequences;
  full.forEach((s) => assert.equal(s.text, tok.decode(s.tokens)));
  // stop token: the row's 5th token
  const stopTok = full[0].tokens[4];
  const r = generate(model, prompts, { maxNewTokens: n, stopTokens: [stopTok], tokenizer: tok, logprobs: true }).sequences;
  r.forEach((s, b) => {
    const k = full[b].tokens.indexOf(stopTok);
    if (k < 0) { assert.deepEqual(s.tokens, full[b].tokens); assert.equal(s.finishReason, 'length'); return; }
    assert.deepEqual(s.tokens, full[b].tokens.slice(0, k + 1), `row ${b}`);
    assert.equal(s.finishReason, 'stop_token');
    assert.equal(s.text, tok.decode(s.tokens.slice(0, -1)));
    assert.equal(s.nll, full[b].logprobs!.slice(0, k + 1).reduce((a, l) => a - l.logprob, 0));
  });
  // stop string: two characters from the middle of row 0's text (they may span tokens)
  const t0 = full[0].text!;
  const stop = t0.slice(6, 8);
  const at = t0.indexOf(stop);
  const st = generate(model, prompts, { maxNewTokens: n, stopStrings: ['never-there', stop], tokenizer: tok }).sequences[0];
  assert.equal(st.finishReason, 'stop_string');
  assert.equal(st.text, t0.slice(0, at));
  // tokens up to the one that completed the stop string
  let k = 0;
  while (!tok.decode(full[0].tokens.slice(0, k)).includes(stop)) k++;
  assert.deepEqual(st.tokens, full[0].tokens.slice(0, k));
  assert.throws(() => generate(model, prompts, { maxNewTokens: 2, stopStrings: ['x'] }), /stopStrings need a tokenizer/);
});

test('streamGenerate yields what generate returns; text deltas add up; onToken sees every token', async () => {
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const tok = toyTokenizer(V);
  const opts = { maxNewTokens: 10, temperature: 0.9, seed: 77, tokenizer: tok, stopStrings: [tok.decode([3, 4])], logprobs: true };
  const seen: TokenEvent[] = [];
  const ref = generate(model, prompts, { ...opts, onToken: (e) => seen.push(e) });
  const events: TokenEvent[] = [];
  const it = streamGenerate(model, prompts, opts);
  let done: GenerateResult | undefined;
  for (;;) {
    const r = await it.next();
    if (r.done) { done = r.value; break; }
    events.push(r.value);
  }
  assert.deepEqual(events, seen);
  assert.deepEqual(done!.sequences, ref.sequences);
  ref.sequences.forEach((s, b) => {
    const mine = events.filter((e) => e.row === b);
    assert.deepEqual(mine.map((e) => e.token), s.tokens);
    assert.deepEqual(mine.map((e) => e.index), s.tokens.map((_, j) => j));
    assert.deepEqual(mine.map((e) => e.logprob), s.logprobs!.map((l) => l.logprob));
    assert.equal(mine.map((e) => e.text).join(''), s.text);
    assert.equal(mine.at(-1)!.finishReason, s.finishReason);
    assert.ok(mine.slice(0, -1).every((e) => e.finishReason === undefined));
  });
  // for await works too
  const toks: number[] = [];
  for await (const e of streamGenerate(model, prompts.slice(0, 1), { maxNewTokens: 4 })) toks.push(e.token);
  assert.deepEqual(toks, ref.sequences.length ? generate(model, prompts.slice(0, 1), { maxNewTokens: 4 }).sequences[0].tokens : []);
});

test('ragged batch: each row gets the tokens and log-probs it gets alone (no padding in the recurrence)', () => {
  const input = goldenIds(c, 'input_ids');
  const prompts = [input[0].slice(0, 3), input[1].slice(0, 11), input[0].slice(2, 9), [input[1][5]]];
  const n = 9;
  const tok = toyTokenizer(V);
  const stopTokens = [generate(model, [prompts[1]], { maxNewTokens: 4 }).sequences[0].tokens[3]]; // row 1 stops early
  const batch = generate(model, prompts, { maxNewTokens: n, logprobs: true, stopTokens, tokenizer: tok });
  assert.equal(batch.sequences[1].finishReason, 'stop_token');
  prompts.forEach((p, b) => {
    const alone = generate(model, [p], { maxNewTokens: n, logprobs: true, stopTokens, tokenizer: tok }).sequences[0];
    const s = batch.sequences[b];
    assert.deepEqual(s.tokens, alone.tokens, `row ${b} tokens`);
    assert.equal(s.text, alone.text);
    assertClose(`row ${b} logprobs`, Float64Array.from(s.logprobs!, (l) => l.logprob), Float64Array.from(alone.logprobs!, (l) => l.logprob), 1e-4);
  });
  // sampling: a row's stream does not depend on the rest of the batch
  const sb = generate(model, prompts, { maxNewTokens: n, temperature: 1, seed: 3 });
  const first = generate(model, [prompts[0]], { maxNewTokens: n, temperature: 1, seed: 3 });
  assert.deepEqual(sb.sequences[0].tokens, first.sequences[0].tokens);
});

test('returnState: continuing from it with the last token reproduces a longer run', () => {
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const long = generate(model, prompts, { maxNewTokens: 12 }).sequences;
  const head = generate(model, prompts, { maxNewTokens: 5, returnState: true });
  const tail = generate(model, head.sequences.map((s) => [s.tokens.at(-1)!]), { maxNewTokens: 7, state: head.state });
  prompts.forEach((_, b) => assert.deepEqual([...head.sequences[b].tokens, ...tail.sequences[b].tokens], long[b].tokens, `row ${b}`));
  disposeState(head.state!);
  // maxNewTokens 0: nothing generated, state after the prompt
  const z = generate(model, prompts, { maxNewTokens: 0, returnState: true });
  assert.deepEqual(z.sequences.map((s) => s.tokens), [[], []]);
  const zt = generate(model, prompts.map((p) => [p.at(-1)!]), { maxNewTokens: 3, state: generate(model, prompts.map((p) => p.slice(0, -1)), { maxNewTokens: 0, returnState: true }).state });
  assert.deepEqual(zt.sequences.map((s) => s.tokens), long.map((s) => s.tokens.slice(0, 3)));
  disposeState(z.state!);
});

test('abort: an aborted signal stops every row before its next token', async () => {
  const prompts = goldenIds(c, 'gen_prompt_ids');
  const ac = new AbortController();
  let count = 0;
  const r = generate(model, prompts, { maxNewTokens: 10, signal: ac.signal, onToken: () => { if (++count === 6) ac.abort(); } });
  r.sequences.forEach((s) => { assert.equal(s.tokens.length, 3); assert.equal(s.finishReason, 'abort'); });
  const ac2 = new AbortController();
  const got: number[] = [];
  for await (const e of streamGenerate(model, prompts, { maxNewTokens: 10, signal: ac2.signal })) { got.push(e.token); if (got.length === 2) ac2.abort(); }
  assert.equal(got.length, 2);
  ac2.abort();
  assert.deepEqual(generate(model, prompts, { maxNewTokens: 4, signal: ac2.signal }).sequences.map((s) => [s.tokens.length, s.finishReason]), [[0, 'abort'], [0, 'abort']]);
});

test('bad input gives errors that name the argument', () => {
  const ok = [[1, 2, 3]];
  assert.throws(() => generate(model, [[]], { maxNewTokens: 2 }), /generate: prompts\[0\] is empty, expected at least one token/);
  assert.throws(() => generate(model, [], { maxNewTokens: 2 }), /prompts must be a non-empty array/);
  assert.throws(() => generate(model, [[1, V]], { maxNewTokens: 2 }), new RegExp(`prompts\\[0\\]\\[1\\] = ${V} is not a token id \\(expected an integer 0 <= id < vocabSize ${V}\\)`));
  assert.throws(() => generate(model, [[1, -1]], { maxNewTokens: 2 }), /prompts\[0\]\[1\] = -1 is not a token id/);
  assert.throws(() => generate(model, [[1.5]], { maxNewTokens: 2 }), /prompts\[0\]\[0\] = 1.5 is not a token id/);
  assert.throws(() => generate(model, ok, { maxNewTokens: -1 }), /maxNewTokens = -1, expected an integer >= 0/);
  assert.throws(() => generate(model, ok, { maxNewTokens: 2.5 }), /maxNewTokens = 2.5/);
  assert.throws(() => generate(model, ok, {} as never), /maxNewTokens = undefined/);
  assert.throws(() => generate(model, ok, { maxNewTokens: 2, temperature: 1, seed: -3 }), /seed = -3, expected an integer 0 <= seed < 2\^32/);
  assert.throws(() => generate(model, ok, { maxNewTokens: 2, stopTokens: [V + 4] }), new RegExp(`stopTokens\\[0\\] = ${V + 4} is not a token id`));
  assert.throws(() => generate(model, ['abc'], { maxNewTokens: 2 }), /prompts\[0\] is a string, which needs options.tokenizer/);
  // a state of another model (other head sizes) and a state with the wrong batch
  const foreign = [0, 1].map(() => ({ c: Tensor.zeros([1, 2, 8, 8]), n: Tensor.zeros([1, 2, 8]), m: Tensor.zeros([1, 2, 1]) }));
  assert.throws(() => generate(model, ok, { maxNewTokens: 2, state: foreign }), /generate: options.state leaf '0.c' is f32 \[1, 2, 8, 8\], expected f32 \[B, 4, 16, 32\]: is it a state of another model\?/);
  assert.throws(() => generate(model, ok, { maxNewTokens: 2, state: { h: Tensor.zeros([1, 4]) } }), /options.state has no leaf '0.c'/);
  const two = model.emptyState(2);
  assert.throws(() => generate(model, ok, { maxNewTokens: 2, state: two }), /options.state has batch 2, expected 1 \(one row per prompt\)/);
  disposeState(two);
  assert.throws(() => generate({ ...model, vocabSize: 0 } as LanguageModel, ok, { maxNewTokens: 1 }), /model.vocabSize = 0/);
});
