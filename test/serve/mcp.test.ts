// MCP at /mcp with the SDK's own client (Client + StreamableHTTPClientTransport) against the
// in-process server on 127.0.0.1: tools/list, `forecast` and `generate` return the numbers
// the HTTP endpoints return for the same arguments, bad arguments and limits give MCP tool
// errors, API keys guard /mcp like every other route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { makeLmDir, post, get, assertNoStack } from './helpers.js';

let server: XlstmServer;
let url: string;
let dir: string;
let client: Client;

const series = (n: number, f: number) => Array.from({ length: n }, (_, i) => Math.round((Math.sin(i * f) * 10 + i * 0.05 + 20) * 1000) / 1000);

async function connect(base: string, headers?: Record<string, string>): Promise<Client> {
  const c = new Client({ name: 'xlstm-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), headers ? { requestInit: { headers } } : undefined));
  return c;
}

type ToolReply = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: Record<string, any> };
const call = async (c: Client, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as ToolReply;

before(async () => {
  dir = makeLmDir('tiny-lm');
  server = await createServer({ lm: dir, threads: 1, limits: { maxNewTokens: 64 } });
  url = await server.listen({ port: 0 });
  client = await connect(url);
});
after(async () => {
  await client?.close();
  await server?.close();
  if (dir) rmSync(dirname(dir), { recursive: true, force: true });
});

test('tools/list: forecast and generate with their input schemas', async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['forecast', 'generate']);
  const f = tools.find((t) => t.name === 'forecast')!;
  assert.deepEqual([...(f.inputSchema.required ?? [])].sort(), ['horizon', 'series']);
  assert.ok(f.inputSchema.properties && 'quantile_levels' in f.inputSchema.properties);
  const g = tools.find((t) => t.name === 'generate')!;
  assert.deepEqual(g.inputSchema.required, ['prompt']);
  assert.ok(g.inputSchema.properties && 'temperature' in g.inputSchema.properties && 'max_tokens' in g.inputSchema.properties);
});

test('forecast tool: the same quantiles and median as POST /v1/forecast, per-series errors kept', async () => {
  const args = {
    series: [{ id: 'a', values: series(120, 0.2) }, { id: 'b', values: series(60, 0.5) }, { id: 'empty', values: [null, null] }],
    horizon: 6, quantile_levels: [0.1, 0.5, 0.95],
  };
  const r = await call(client, 'forecast', args);
  assert.notEqual(r.isError, true, r.content[0]?.text);
  const http = await post(`${url}/v1/forecast`, args);
  assert.equal(http.status, 200, http.text);
  const s = r.structuredContent!;
  // each forecast runs alone in its batch, so the two agree bit for bit
  assert.deepEqual(s.series, http.body.series);
  assert.deepEqual(s.quantile_levels, [0.1, 0.5, 0.95]);
  assert.equal(s.horizon, 6);
  assert.equal(s.series[0].mean.length, 6);
  assert.deepEqual(Object.keys(s.series[1].quantiles), ['0.1', '0.5', '0.95']);
  assert.deepEqual(s.errors.map((e: { id: string }) => e.id), ['empty']);
  assert.match(s.errors[0].message, /no observed value/);
  // the text content carries the same object for clients that read only text
  assert.deepEqual(JSON.parse(r.content[0].text), s);
});

test('generate tool: the /v1/completions text, tokens, NLL and G-NLL', async () => {
  const r = await call(client, 'generate', { prompt: 'hello world', max_tokens: 6, temperature: 0 });
  assert.notEqual(r.isError, true, r.content[0]?.text);
  const http = await post(`${url}/v1/completions`, { prompt: 'hello world', max_tokens: 6, temperature: 0, gnll: true });
  assert.equal(http.status, 200, http.text);
  const s = r.structuredContent!;
  assert.equal(s.text, http.body.choices[0].text);
  assert.deepEqual(s.token_ids, http.body.xlstm.token_ids);
  assert.equal(s.token_ids.length, 6);
  assert.equal(s.nll, http.body.xlstm.nll);
  assert.equal(typeof s.gnll, 'number');
  assert.equal(s.gnll, http.body.xlstm.gnll);
  assert.equal(s.finish_reason, http.body.choices[0].finish_reason);
  assert.deepEqual(s.usage, http.body.usage);
  // sampling with a seed is reproducible across the two front-ends too
  const a = await call(client, 'generate', { prompt: 'the cat', max_tokens: 5, temperature: 0.9, seed: 7 });
  const b = await post(`${url}/v1/completions`, { prompt: 'the cat', max_tokens: 5, temperature: 0.9, seed: 7 });
  assert.deepEqual(a.structuredContent!.token_ids, b.body.xlstm.token_ids);
});

test('bad arguments and limits: MCP tool errors with clear messages, no stack traces', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['forecast', { series: [{ values: [1, 2, 3] }], horizon: 'x' }, /Input validation error[\s\S]*horizon/],
    ['forecast', { series: [], horizon: 3 }, /Input validation error[\s\S]*series/],
    ['forecast', { series: [{ values: [1, 'a'] }], horizon: 3 }, /Input validation error[\s\S]*values/],
    ['forecast', { series: [{ values: [1, 2], colour: 'red' }], horizon: 3 }, /Input validation error[\s\S]*colour/],
    ['forecast', { series: [{ values: [1, 2, 3] }], horizon: 5000 }, /prediction_length 5000 is above the limit 1024.*status 413/],
    ['forecast', { series: [{ id: 'x', values: [1] }, { id: 'x', values: [2] }], horizon: 2 }, /series id 'x' is given twice.*status 400/],
    ['generate', { prompt: 'hi', max_tokens: 500 }, /max_tokens 500 is above the limit 64/],
    ['generate', { prompt: '' }, /Input validation error[\s\S]*prompt/],
    ['generate', { prompt: 'hi', temperature: -1 }, /Input validation error[\s\S]*temperature/],
    ['nope', {}, /Tool nope not found/],
  ];
  for (const [name, args, re] of cases) {
    const r = await call(client, name, args);
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} should fail`);
    assert.match(r.content[0].text, re);
    assertNoStack(r.content[0].text);
  }
});

test('/mcp: GET and DELETE answer 405 (stateless endpoint); API keys are required when set', async () => {
  const g = await get(`${url}/mcp`);
  assert.equal(g.status, 405);
  assert.equal(g.body.jsonrpc, '2.0');
  const keyed = await createServer({ forecaster: false, lm: dir, threads: 1, apiKeys: ['sekrit'] });
  const u = await keyed.listen({ port: 0 });
  try {
    await assert.rejects(connect(u), /401|API key/);
    const c = await connect(u, { authorization: 'Bearer sekrit' });
    const { tools } = await c.listTools();
    // without a forecaster there is no forecast tool
    assert.deepEqual(tools.map((t) => t.name), ['generate']);
    await c.close();
  } finally { await keyed.close(); }
});

/** A raw POST /mcp with chosen Host and Origin headers (fetch may not set Host). */
function rawMcpPost(base: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const u = new URL(`${base}/mcp`);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += String(d); });
      res.on('end', () => { try { resolve({ status: res.statusCode!, body: JSON.parse(text) }); } catch { resolve({ status: res.statusCode!, body: text }); } });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('/mcp DNS-rebinding protection: foreign Host or Origin refused without API keys; loopback, allowed hosts and keyed servers answer', async () => {
  const port = new URL(url).port;
  const evilHost = await rawMcpPost(url, { host: `evil.example:${port}` });
  assert.equal(evilHost.status, 403);
  assert.match(evilHost.body.error.message, /Host 'evil\.example:\d+' is not allowed for \/mcp \(DNS-rebinding protection\)/);
  const evilOrigin = await rawMcpPost(url, { host: `127.0.0.1:${port}`, origin: 'http://evil.example' });
  assert.equal(evilOrigin.status, 403);
  assert.match(evilOrigin.body.error.message, /Origin 'http:\/\/evil\.example' is not allowed/);
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
    const ok = await rawMcpPost(url, { host, origin: `http://${host}` });
    assert.equal(ok.status, 200, `${host}: ${JSON.stringify(ok.body)}`);
    assert.ok(ok.body.result.tools.some((t: { name: string }) => t.name === 'forecast'));
  }
  const named = await createServer({ forecaster: false, lm: dir, threads: 1, mcpAllowedHosts: ['mcp.example'] });
  const keyed = await createServer({ forecaster: false, lm: dir, threads: 1, apiKeys: ['sekrit'] });
  try {
    const un = await named.listen({ port: 0 });
    assert.equal((await rawMcpPost(un, { host: `mcp.example:${new URL(un).port}` })).status, 200);
    assert.equal((await rawMcpPost(un, { host: `other.example:${new URL(un).port}` })).status, 403);
    // with API keys a foreign page cannot authenticate: the key decides, not the Host
    const uk = await keyed.listen({ port: 0 });
    assert.equal((await rawMcpPost(uk, { host: `evil.example:${new URL(uk).port}`, authorization: 'Bearer sekrit' })).status, 200);
    assert.equal((await rawMcpPost(uk, { host: `evil.example:${new URL(uk).port}` })).status, 401);
  } finally { await named.close(); await keyed.close(); }
});
