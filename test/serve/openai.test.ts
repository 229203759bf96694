// The `openai` npm package pointed at the in-process server (baseURL on 127.0.0.1, an API
// key the server requires): completions, streamed completions and chat (streamed and not)
// return what the plain HTTP requests return; errors arrive as the package's typed errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import OpenAI from 'openai';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { makeLmDir, post } from './helpers.js';

let server: XlstmServer;
let url: string;
let dir: string;
let openai: OpenAI;
const KEY = 'test-key-123';
const auth = { authorization: `Bearer ${KEY}` };
const TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

before(async () => {
  dir = makeLmDir('tiny-lm', { chatTemplate: TEMPLATE });
  server = await createServer({ forecaster: false, lm: dir, threads: 1, apiKeys: [KEY], limits: { maxNewTokens: 64 } });
  url = await server.listen({ port: 0 });
  // no retries: a test must see the first answer
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dirname(dir), { recursive: true, force: true });
});

test('models.list: the language model', async () => {
  const ids: string[] = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['tiny-lm']);
});

test('completions.create: the HTTP reply, xlstm extension and logprobs included', async () => {
  const body = { model: 'tiny-lm', prompt: 'hello world', max_tokens: 6, temperature: 0, logprobs: 1 };
  const c = await openai.completions.create(body);
  const http = await post(`${url}/v1/completions`, body, auth);
  assert.equal(http.status, 200, http.text);
  assert.equal(c.object, 'text_completion');
  assert.equal(c.choices[0].text, http.body.choices[0].text);
  assert.equal(c.choices[0].finish_reason, http.body.choices[0].finish_reason);
  assert.deepEqual(c.choices[0].logprobs?.token_logprobs, http.body.choices[0].logprobs.token_logprobs);
  assert.deepEqual(c.usage, http.body.usage);
  assert.equal(c.usage!.completion_tokens, 6);
  // fields the OpenAI API does not have pass through the client untouched
  const x = (c as unknown as { xlstm: { token_ids: number[]; gnll: number } }).xlstm;
  assert.deepEqual(x.token_ids, http.body.xlstm.token_ids);
  assert.equal(x.gnll, http.body.xlstm.gnll);
});

test('completions.create stream: the chunks add up to the non-streamed text, usage last', async () => {
  const body = { model: 'tiny-lm', prompt: 'the cat', max_tokens: 8, temperature: 0 };
  const whole = await post(`${url}/v1/completions`, body, auth);
  const stream = await openai.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: unknown;
  let chunks = 0;
  for await (const ch of stream) {
    chunks++;
    for (const c of ch.choices) { text += c.text; if (c.finish_reason) finish = c.finish_reason; }
    if (ch.usage) usage = ch.usage;
  }
  assert.ok(chunks >= 8, `${chunks} chunks`);
  assert.equal(text, whole.body.choices[0].text);
  assert.equal(finish, whole.body.choices[0].finish_reason);
  assert.deepEqual(usage, whole.body.usage);
});

test('chat.completions.create, streamed and not: the template\'s reply as over HTTP', async () => {
  const messages = [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: 'hi there' }];
  const body = { model: 'tiny-lm', messages, max_tokens: 5, temperature: 0 };
  const c = await openai.chat.completions.create(body);
  const http = await post(`${url}/v1/chat/completions`, body, auth);
  assert.equal(http.status, 200, http.text);
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.equal(c.choices[0].message.content, http.body.choices[0].message.content);
  assert.deepEqual(c.usage, http.body.usage);
  const stream = await openai.chat.completions.create({ ...body, stream: true });
  let text = '';
  let role: string | undefined;
  for await (const ch of stream) {
    const d = ch.choices[0]?.delta;
    if (d?.role) role = d.role;
    text += d?.content ?? '';
  }
  assert.equal(role, 'assistant');
  assert.equal(text, c.choices[0].message.content);
});

test('errors: typed OpenAI errors with the server\'s status and message', async () => {
  await assert.rejects(openai.completions.create({ model: 'no-such-model', prompt: 'x' }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.match(e.message, /model 'no-such-model' does not exist/);
    return true;
  });
  await assert.rejects(openai.completions.create({ model: 'tiny-lm', prompt: 'x', max_tokens: 500 }), (e: unknown) => {
    assert.ok(e instanceof OpenAI.APIError);
    assert.equal(e.status, 413);
    assert.match(e.message, /max_tokens 500 is above the limit 64/);
    return true;
  });
  const wrongKey = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(wrongKey.completions.create({ model: 'tiny-lm', prompt: 'x' }), (e: unknown) => e instanceof OpenAI.AuthenticationError);
});
