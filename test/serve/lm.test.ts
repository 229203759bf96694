// `xlstm serve` language-model endpoints on the tiny xLSTM Large fixture with the test
// tokenizer: OpenAI-shaped completions equal to the library's generate(), SSE streaming,
// sessions that continue exactly as if the whole history were resent, chat templates,
// states of another model refused, limits and overload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { generate } from '../../src/generation/index.js';
import { makeLmDir, post, get, sseData, assertNoStack } from './helpers.js';

let server: XlstmServer;
let url: string;
let dir: string;
const TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

before(async () => {
  dir = makeLmDir('tiny-lm', { chatTemplate: TEMPLATE });
  server = await createServer({ forecaster: false, lm: dir, threads: 1, limits: { maxNewTokens: 64, maxPromptTokens: 3000 } });
  url = await server.listen({ port: 0 });
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dirname(dir), { recursive: true, force: true });
});

const lm = () => server.context.lm!;

test('/v1/models lists the language model', async () => {
  const r = await get(`${url}/v1/models`);
  assert.equal(r.status, 200);
  assert.equal(r.body.object, 'list');
  assert.deepEqual(r.body.data.map((m: { id: string }) => m.id), ['tiny-lm']);
  assert.equal(r.body.data[0].xlstm.chat, true);
  assert.equal(r.body.data[0].xlstm.state_fingerprint, lm().fingerprint);
});

test('/v1/completions: the library\'s greedy tokens, text, logprobs and G-NLL', async () => {
  const r = await post(`${url}/v1/completions`, { model: 'tiny-lm', prompt: 'hello world', max_tokens: 6, temperature: 0, logprobs: 2 });
  assert.equal(r.status, 200, r.text);
  const want = generate(lm().model, ['hello world'], { maxNewTokens: 6, tokenizer: lm().tokenizer, logprobs: true, topLogprobs: 2, stopTokens: [2] }).sequences[0];
  const c = r.body.choices[0];
  assert.equal(r.body.object, 'text_completion');
  assert.equal(c.text, want.text);
  assert.deepEqual(r.body.xlstm.token_ids, want.tokens);
  assert.deepEqual(c.logprobs.token_logprobs, want.logprobs!.map((l) => l.logprob));
  assert.equal(c.logprobs.tokens.length, want.tokens.length);
  assert.equal(Object.keys(c.logprobs.top_logprobs[0]).length, 2);
  assert.equal(c.finish_reason, want.finishReason === 'length' ? 'length' : 'stop');
  assert.ok(Math.abs(r.body.xlstm.gnll - want.gNll!) < 1e-12);
  assert.deepEqual(r.body.usage, { prompt_tokens: lm().tokenizer.encode('hello world').length, completion_tokens: want.tokens.length, total_tokens: lm().tokenizer.encode('hello world').length + want.tokens.length });
});

test('/v1/completions stream: SSE chunks add up to the non-streamed reply, then [DONE]', async () => {
  const body = { prompt: 'the cat', max_tokens: 8, temperature: 0 };
  const whole = await post(`${url}/v1/completions`, body);
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events = sseData(await res.text());
  assert.equal(events[events.length - 1], '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  const text = chunks.flatMap((c) => c.choices.map((x: { text: string }) => x.text)).join('');
  assert.equal(text, whole.body.choices[0].text);
  const fin = chunks.find((c) => c.choices[0]?.finish_reason);
  assert.equal(fin.choices[0].finish_reason, whole.body.choices[0].finish_reason);
  assert.deepEqual(fin.xlstm.token_ids, whole.body.xlstm.token_ids);
  assert.deepEqual(chunks[chunks.length - 1].usage, whole.body.usage);
});

test('sessions: the next request sends only new text and continues as if the history were resent', async () => {
  const tok = lm().tokenizer;
  const a = await post(`${url}/v1/completions`, { prompt: 'once upon a time', max_tokens: 5, temperature: 0, session_id: 'conv-1' });
  assert.equal(a.status, 200, a.text);
  const b = await post(`${url}/v1/completions`, { prompt: ' and then', max_tokens: 7, temperature: 0, logprobs: 0, session_id: 'conv-1' });
  assert.equal(b.status, 200, b.text);
  // the same conversation sent whole, as token ids, without a session
  const history = [...tok.encode('once upon a time'), ...a.body.xlstm.token_ids, ...tok.encode(' and then', { addBos: false })];
  const full = await post(`${url}/v1/completions`, { prompt: history, max_tokens: 7, temperature: 0, logprobs: 0 });
  assert.equal(full.status, 200, full.text);
  assert.deepEqual(b.body.xlstm.token_ids, full.body.xlstm.token_ids);
  assert.equal(b.body.choices[0].text, full.body.choices[0].text);
  b.body.choices[0].logprobs.token_logprobs.forEach((lp: number, i: number) => {
    assert.ok(Math.abs(lp - full.body.choices[0].logprobs.token_logprobs[i]) < 1e-4, `token ${i}: ${lp} vs ${full.body.choices[0].logprobs.token_logprobs[i]}`);
  });
  // only the new text (and the pending last token of the previous reply) was read
  assert.equal(b.body.usage.prompt_tokens, 1 + tok.encode(' and then', { addBos: false }).length);
  assert.equal(b.body.xlstm.session_tokens, history.length + 6);
  // a streamed request continues the session too
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: ' more', max_tokens: 3, temperature: 0, stream: true, session_id: 'conv-1' }) });
  const fin = sseData(await res.text()).slice(0, -1).map((e) => JSON.parse(e)).find((c) => c.choices[0]?.finish_reason);
  const full2 = await post(`${url}/v1/completions`, { prompt: [...history, ...b.body.xlstm.token_ids, ...tok.encode(' more', { addBos: false })], max_tokens: 3, temperature: 0 });
  assert.deepEqual(fin.xlstm.token_ids, full2.body.xlstm.token_ids);
});

test('a session holding another model\'s state is refused with 409', async () => {
  const other = makeLmDir('other-lm');
  // same architecture, different config: another fingerprint
  const { readFileSync, writeFileSync } = await import('node:fs');
  const cfg = JSON.parse(readFileSync(`${other}/config.json`, 'utf8'));
  cfg.chunk_size = (cfg.chunk_size ?? 64) * 2;
  writeFileSync(`${other}/config.json`, JSON.stringify(cfg));
  const s2 = await createServer({ forecaster: false, lm: other, threads: 1 });
  const u2 = await s2.listen({ port: 0 });
  try {
    assert.equal((await post(`${u2}/v1/completions`, { prompt: 'hi', max_tokens: 2, temperature: 0, session_id: 'x' })).status, 200);
    // hand the record to the first server's store, as a shared Redis would
    await server.context.sessions.set('lm:x', (await s2.context.sessions.get('lm:x'))!, 60_000);
    const r = await post(`${url}/v1/completions`, { prompt: 'hi', max_tokens: 2, session_id: 'x' });
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.error.message, /session 'x' holds the state of another model .*fingerprint/);
    assertNoStack(r.text);
  } finally {
    await s2.close();
    rmSync(dirname(other), { recursive: true, force: true });
  }
});

test('/v1/chat/completions renders the chat template; a tokenizer without one gets 400', async () => {
  const messages = [{ role: 'user', content: 'hi there' }];
  const r = await post(`${url}/v1/chat/completions`, { model: 'tiny-lm', messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.object, 'chat.completion');
  const prompt = lm().tokenizer.encode('<user>hi there\n<assistant>', { addBos: false, addSpecialTokens: false });
  const want = generate(lm().model, [prompt], { maxNewTokens: 5, tokenizer: lm().tokenizer, stopTokens: [2] }).sequences[0];
  assert.equal(r.body.choices[0].message.role, 'assistant');
  assert.equal(r.body.choices[0].message.content, want.text);
  assert.equal(r.body.choices[0].logprobs.content.length, want.tokens.length);
  assert.equal(r.body.choices[0].logprobs.content[0].top_logprobs.length, 1);
  // streamed: a role delta, content deltas that add up to the reply, a finish chunk, [DONE]
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages, max_tokens: 5, temperature: 0, stream: true }) });
  const events = sseData(await res.text());
  assert.equal(events[events.length - 1], '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), want.text);
  assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, r.body.choices[0].finish_reason);
  const plain = makeLmDir('plain-lm');
  const s2 = await createServer({ forecaster: false, lm: plain, threads: 1 });
  const u2 = await s2.listen({ port: 0 });
  try {
    const n = await post(`${u2}/v1/chat/completions`, { messages, max_tokens: 2 });
    assert.equal(n.status, 400);
    assert.match(n.body.error.message, /has no chat template/);
  } finally {
    await s2.close();
    rmSync(dirname(plain), { recursive: true, force: true });
  }
});

test('bad requests: 400/404/413 with a message and no stack trace', async () => {
  const cases: [unknown, number, RegExp][] = [
    ['{"prompt": ', 400, /JSON/],
    [{ prompt: 'x', max_tokens: 65 }, 413, /max_tokens 65 is above the limit 64/],
    [{ prompt: Array.from({ length: 3001 }, () => 5) }, 413, /prompt tokens 3001 is above the limit 3000/],
    [{ prompt: [5, 1000] }, 400, /token id 1000 is not below the model's vocabulary size/],
    [{ prompt: 'x', n: 2 }, 400, /n = 2/],
    [{ prompt: 'x', temperature: -1 }, 400, /temperature must be >= 0/],
    [{ prompt: 'x', model: 'gpt-4' }, 404, /model 'gpt-4' does not exist/],
    [{ prompt: 'x', session_id: 'bad id!' }, 400, /session_id must be/],
    [{ max_tokens: 3 }, 400, /must have required property 'prompt'/],
  ];
  for (const [body, status, re] of cases) {
    const r = await post(`${url}/v1/completions`, body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${r.text}`);
    assert.match(r.body.error.message, re);
    assertNoStack(r.text);
  }
  const fc = await post(`${url}/forecast/mean`, { context: [[1, 2]] });
  assert.equal(fc.status, 404);
  assert.match(fc.body.error_message, /no forecaster/);
});

test('overload: completions beyond the wait list get 429 with Retry-After', async () => {
  const s2 = await createServer({ forecaster: false, lm: dir, threads: 1, limits: { maxQueuedCompletions: 1 } });
  const u2 = await s2.listen({ port: 0 });
  try {
    const replies = await Promise.all(Array.from({ length: 4 }, () => post(`${u2}/v1/completions`, { prompt: 'hello', max_tokens: 30, temperature: 0 })));
    const codes = replies.map((r) => r.status).sort();
    assert.equal(codes[0], 200, codes.join());
    const busy = replies.filter((r) => r.status === 429);
    assert.ok(busy.length >= 1, codes.join());
    assert.equal(busy[0].headers.get('retry-after'), '1');
    assert.match(busy[0].body.error.message, /language model is busy/);
  } finally { await s2.close(); }
});

test('a chat continuing a session appends its new messages without the template\'s bos_token a second time', async () => {
  const bosTemplate = '{{ bos_token }}' + TEMPLATE;
  const d = makeLmDir('tiny-lm-bos', { chatTemplate: bosTemplate });
  const s2 = await createServer({ forecaster: false, lm: d, threads: 1, limits: { maxNewTokens: 64 } });
  try {
    const u = await s2.listen({ port: 0 });
    const tok = s2.context.lm!.tokenizer;
    assert.notEqual(tok.bosTokenId, null, 'the fixture tokenizer has a BOS token');
    const first = await post(`${u}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hello' }], max_tokens: 3, temperature: 0, session_id: 'chat-bos' });
    assert.equal(first.status, 200, first.text);
    // the first request renders the BOS
    assert.equal(first.body.usage.prompt_tokens, tok.encode(s2.context.lm!.renderChat([{ role: 'user', content: 'hello' }]), { addBos: false, addSpecialTokens: false }).length);
    const next = await post(`${u}/v1/chat/completions`, { messages: [{ role: 'user', content: 'more' }], max_tokens: 3, temperature: 0, session_id: 'chat-bos' });
    assert.equal(next.status, 200, next.text);
    // the continuation: the pending token, then '<user>more\n<assistant>' with no BOS
    const appended = tok.encode('<user>more\n<assistant>', { addBos: false, addSpecialTokens: false });
    assert.equal(next.body.usage.prompt_tokens, 1 + appended.length);
  } finally {
    await s2.close();
    rmSync(dirname(d), { recursive: true, force: true });
  }
});
