// Sessions in Redis: a real redis-server (Debian package; .ci/run installs it) on a random
// loopback port, two server instances sharing it. A conversation started on one continues on
// the other exactly as if the whole history had been resent; Redis going away makes /ready
// and session requests answer 503 instead of failing obscurely, and once Redis is back the
// service recovers on its own (ioredis reconnects), without a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { makeLmDir, post, get } from './helpers.js';
import { startRedis, TestRedis } from '../helpers/redis.js';

let redis: TestRedis | undefined;
let redisUrl: string;
let dir: string;
let a: XlstmServer, b: XlstmServer;
let ua: string, ub: string;

before(async () => {
  redis = await startRedis();
  redisUrl = redis.url;
  dir = makeLmDir('tiny-lm');
  a = await createServer({ forecaster: false, lm: dir, threads: 1, redisUrl });
  b = await createServer({ forecaster: false, lm: dir, threads: 1, redisUrl, sessionTtlMs: 60_000 });
  ua = await a.listen({ port: 0 });
  ub = await b.listen({ port: 0 });
});
after(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
  if (dir) rmSync(dirname(dir), { recursive: true, force: true });
});

test('a session started on one server continues on another through Redis', async () => {
  assert.equal((await get(`${ua}/ready`)).body.sessions, 'redis');
  const tok = a.context.lm!.tokenizer;
  const first = await post(`${ua}/v1/completions`, { prompt: 'the quick brown fox', max_tokens: 6, temperature: 0, session_id: 'shared-1' });
  assert.equal(first.status, 200, first.text);
  const next = await post(`${ub}/v1/completions`, { prompt: ' jumps', max_tokens: 6, temperature: 0, session_id: 'shared-1' });
  assert.equal(next.status, 200, next.text);
  const history = [...tok.encode('the quick brown fox'), ...first.body.xlstm.token_ids, ...tok.encode(' jumps', { addBos: false })];
  const full = await post(`${ua}/v1/completions`, { prompt: history, max_tokens: 6, temperature: 0 });
  assert.deepEqual(next.body.xlstm.token_ids, full.body.xlstm.token_ids);
  assert.equal(next.body.xlstm.session_tokens, history.length + 5);
  // the record in Redis expires: the TTL of server b (60 s) was set by its write
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl);
  try {
    const ttl = await r.pttl('xlstm:session:lm:shared-1');
    assert.ok(ttl > 0 && ttl <= 60_000, `pttl ${ttl}`);
  } finally { r.disconnect(); }
});

test('Redis away: /ready and session requests answer 503 with Retry-After; requests without a session still work', async () => {
  await redis!.stop();
  // give ioredis a moment to notice the closed connection
  await new Promise((r) => setTimeout(r, 200));
  const ready = await get(`${ua}/ready`);
  assert.equal(ready.status, 503);
  assert.equal(ready.headers.get('retry-after'), '1');
  const s = await post(`${ua}/v1/completions`, { prompt: 'x', max_tokens: 2, session_id: 'shared-1' });
  assert.equal(s.status, 503, s.text);
  assert.match(s.body.error.message, /session store \(Redis\) unavailable/);
  const plain = await post(`${ua}/v1/completions`, { prompt: 'x', max_tokens: 2 });
  assert.equal(plain.status, 200);
});

test('Redis restarted: the service reports ready again and sessions work without restarting the server', async () => {
  // the previous test stopped Redis; start it again on the same port (an empty Redis, as after a crash without persistence)
  redis = await startRedis(redis!.port);
  // each replica reconnects on its own schedule (ioredis backoff): both must report ready
  for (const u of [ua, ub]) {
    const deadline = Date.now() + 30_000;
    let ready = await get(`${u}/ready`);
    while (ready.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      ready = await get(`${u}/ready`);
    }
    assert.equal(ready.status, 200, `${u} still not ready 30 s after Redis came back: ${ready.text}`);
    assert.equal(ready.body.sessions, 'redis');
  }
  // the session written before the restart is gone with the old Redis; a new one starts and continues on the other replica
  const first = await post(`${ua}/v1/completions`, { prompt: 'after the restart', max_tokens: 3, temperature: 0, session_id: 'after-restart' });
  assert.equal(first.status, 200, first.text);
  const next = await post(`${ub}/v1/completions`, { prompt: ' again', max_tokens: 3, temperature: 0, session_id: 'after-restart' });
  assert.equal(next.status, 200, next.text);
  const tok = a.context.lm!.tokenizer;
  assert.equal(next.body.xlstm.session_tokens, tok.encode('after the restart').length + 3 + tok.encode(' again', { addBos: false }).length + 2);
});
