// The MQTT front-end against a real broker: Debian's mosquitto (.ci/run installs it) started
// here on a random loopback port. Requests on tirex/forecast/request get the official TiRex
// container's result payload {id, mean, quantiles} on tirex/forecast/result (NX-AI/tirex
// inference/app/mqtt_server.py, tests/test_mqtt.py), equal to what /forecast/mean and
// /forecast/quantiles answer; bad requests get {id, error} on tirex/forecast/error. The CLI
// takes the official container's environment variables.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connectAsync, MqttClient } from 'mqtt';
import { createServer, XlstmServer } from '../../src/serve/server.js';
import { parseMqttOptions } from '../../src/cli/commands/serve.js';
import { post, get, assertNoStack } from './helpers.js';

let broker: ChildProcess | undefined;
let brokerDir: string;
let brokerUrl: string;
let server: XlstmServer;
let url: string;
let client: MqttClient;
/** Messages on the result and error topics, by the id they carry. */
const inbox = new Map<string, { topic: string; payload: any }>();
const waiters = new Map<string, (m: { topic: string; payload: any }) => void>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

const canConnect = (port: number) => new Promise<boolean>((resolve) => {
  const s = netConnect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

async function startMosquitto(): Promise<void> {
  const which = spawnSync('sh', ['-c', 'command -v mosquitto || ls /usr/sbin/mosquitto']);
  if (which.status !== 0) throw new Error('mosquitto is not installed: this test needs a real MQTT broker (Debian: apt-get install -y mosquitto; .ci/run installs it)');
  const bin = String(which.stdout).trim().split('\n')[0];
  const port = await freePort();
  brokerDir = mkdtempSync(join(tmpdir(), 'xlstm-mosquitto-'));
  const conf = join(brokerDir, 'mosquitto.conf');
  // loopback only, no persistence: nothing outlives the test
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  broker = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  broker.stderr!.on('data', (d) => { err += String(d); });
  const exited = new Promise<never>((_, reject) => broker!.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${err}`))));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await Promise.race([canConnect(port), exited])) break;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within 10 s: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  exited.catch(() => undefined);
  brokerUrl = `mqtt://127.0.0.1:${port}`;
}

function waitFor(id: string, ms = 30_000): Promise<{ topic: string; payload: any }> {
  const m = inbox.get(id);
  if (m) return Promise.resolve(m);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { waiters.delete(id); reject(new Error(`no answer for id ${id} within ${ms} ms`)); }, ms);
    waiters.set(id, (x) => { clearTimeout(t); resolve(x); });
  });
}

async function request(payload: unknown): Promise<{ topic: string; payload: any }> {
  const id = typeof payload === 'object' && payload !== null && 'id' in payload ? String((payload as { id: unknown }).id) : 'null';
  await client.publishAsync('tirex/forecast/request', typeof payload === 'string' ? payload : JSON.stringify(payload));
  return waitFor(id);
}

before(async () => {
  await startMosquitto();
  server = await createServer({ threads: 1, batchWindowMs: 5, mqtt: { url: brokerUrl } });
  url = await server.listen({ port: 0 });
  client = await connectAsync(brokerUrl, { clientId: 'xlstm-test-client' });
  client.on('message', (topic, buf) => {
    const payload = JSON.parse(buf.toString('utf8'));
    const id = String(payload.id);
    const w = waiters.get(id);
    if (w) { waiters.delete(id); w({ topic, payload }); } else inbox.set(id, { topic, payload });
  });
  await client.subscribeAsync(['tirex/forecast/result', 'tirex/forecast/error']);
});
after(async () => {
  await client?.endAsync();
  await server?.close();
  broker?.kill('SIGTERM');
  if (brokerDir) rmSync(brokerDir, { recursive: true, force: true });
});

test('official request -> result topic: {id, mean, quantiles} equal to /forecast/mean and /forecast/quantiles', async () => {
  // the official tests/test_mqtt.py message: a uuid id, context and prediction_length
  const id = randomUUID();
  const context = [[0, 1, 2, 3], [5, 4, 6, 5, 7, 6, 8, 7, 9]];
  const r = await request({ id, context, prediction_length: 4 });
  assert.equal(r.topic, 'tirex/forecast/result');
  assert.deepEqual(Object.keys(r.payload).sort(), ['id', 'mean', 'quantiles']);
  assert.equal(r.payload.id, id);
  const mean = await post(`${url}/forecast/mean`, { context, prediction_length: 4 });
  const q = await post(`${url}/forecast/quantiles`, { context, prediction_length: 4 });
  assert.deepEqual(r.payload.mean, mean.body);
  assert.deepEqual(r.payload.quantiles, q.body);
  assert.deepEqual([r.payload.quantiles.length, r.payload.quantiles[0].length, r.payload.quantiles[0][0].length], [2, 4, 9]);
  // the official client takes the 0.5 quantile (index 4 of 9) as the mean
  assert.deepEqual(r.payload.mean, r.payload.quantiles.map((s: number[][]) => s.map((l) => l[4])));
});

test('concurrent requests are each answered under their own id (numeric ids echoed as numbers)', async () => {
  const reqs = [7, 8, 9].map((id) => ({ id, context: [Array.from({ length: 50 + id }, (_, t) => Math.sin(t * 0.3 * id))], prediction_length: 3 }));
  const answers = await Promise.all(reqs.map((r) => request(r)));
  for (let i = 0; i < reqs.length; i++) {
    assert.equal(answers[i].topic, 'tirex/forecast/result');
    assert.equal(answers[i].payload.id, reqs[i].id);
    const alone = await post(`${url}/forecast/mean`, { context: reqs[i].context, prediction_length: 3 });
    // gathered into one forward pass, equal to the request alone up to float32 rounding
    answers[i].payload.mean[0].forEach((v: number, t: number) => assert.ok(Math.abs(v - alone.body[0][t]) <= 1e-5 * (1 + Math.abs(v)), `${v} vs ${alone.body[0][t]}`));
  }
});

test('bad requests -> error topic {id, error} with a clear message; the server keeps answering', async () => {
  const cases: [unknown, unknown, RegExp][] = [
    ['{"id": "j", "context": [[1, 2]', null, /not valid JSON/],
    [{ id: 'e1', context: [[1, 2, 3]] }, 'e1', /prediction_length is required/],
    [{ id: 'e2', context: [[1, 'a']], prediction_length: 2 }, 'e2', /context\[0\]\[1\] must be a number or null/],
    [{ id: 'e3', context: [[1, 2, 3]], prediction_length: 5000 }, 'e3', /prediction_length 5000 is above the limit 1024/],
    [{ id: 'e4', context: [[null, null]], prediction_length: 2 }, 'e4', /no observed value/],
    [{ id: 'e5', context: [], prediction_length: 2 }, 'e5', /at least one/],
    [{ id: 'e6', context: [[1, 2]], prediction_length: 1.5 }, 'e6', /prediction_length must be a positive integer/],
    [{ context: [[1, 2]], prediction_length: 2 }, null, /id is required/],
  ];
  for (const [payload, id, re] of cases) {
    // answers without an id come back with id null: one at a time so they cannot mix
    inbox.delete('null');
    const r = await request(payload);
    assert.equal(r.topic, 'tirex/forecast/error', JSON.stringify(payload));
    assert.deepEqual(Object.keys(r.payload).sort(), ['error', 'id']);
    assert.equal(r.payload.id, id);
    assert.match(r.payload.error, re);
    assertNoStack(r.payload.error);
  }
  const ok = await request({ id: 'after', context: [[1, 2, 3, 4]], prediction_length: 2 });
  assert.equal(ok.topic, 'tirex/forecast/result');
  const m = await get(`${url}/metrics`);
  assert.match(m.text, /xlstm_mqtt_requests_total\{result="bad_request"\} 8/);
  assert.match(m.text, /xlstm_mqtt_requests_total\{result="ok"\} \d+/);
});

test('start-up: an unreachable broker fails clearly; MQTT without a forecaster is refused', async () => {
  const port = await freePort();
  await assert.rejects(createServer({ threads: 1, mqtt: { url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 500 } }), /cannot reach the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+\/?: connect ECONNREFUSED/);
  await assert.rejects(createServer({ forecaster: false, lm: 'test/fixtures/xlstm_large_hf', mqtt: { url: brokerUrl } }), /no forecaster/);
});

test('CLI options: --mqtt-url, MQTT_URL and the official container\'s variables', () => {
  assert.equal(parseMqttOptions(undefined, {}), undefined);
  assert.equal(parseMqttOptions('mqtt://b:1884', {})!.url, 'mqtt://b:1884');
  assert.equal(parseMqttOptions(undefined, { MQTT_URL: 'mqtts://b' })!.url, 'mqtts://b');
  const o = parseMqttOptions(undefined, {
    MQTT_ENABLED: '1', MQTT_BROKER_HOST: 'broker', MQTT_BROKER_PORT: '1999', MQTT_BROKER_USERNAME: 'u', MQTT_BROKER_PASSWORD: 'p',
    MQTT_TOPIC_FORECAST: 'in', MQTT_TOPIC_FORECAST_RESULT: 'out', MQTT_TOPIC_FORECAST_ERROR: 'err',
  })!;
  assert.deepEqual(o, { url: 'mqtt://broker:1999', requestTopic: 'in', resultTopic: 'out', errorTopic: 'err', username: 'u', password: 'p' });
  assert.equal(parseMqttOptions(undefined, { MQTT_ENABLED: '0', MQTT_BROKER_HOST: 'broker' }), undefined);
  assert.throws(() => parseMqttOptions(undefined, { MQTT_ENABLED: '1' }), /MQTT_BROKER_HOST/);
  assert.throws(() => parseMqttOptions('http://b', {}), /must start with mqtt:\/\//);
});

test('xlstm serve with the official container\'s MQTT variables: own topics, answered, SIGTERM exits', async () => {
  const port = new URL(brokerUrl).port;
  const env = {
    ...process.env, MQTT_ENABLED: '1', MQTT_BROKER_HOST: '127.0.0.1', MQTT_BROKER_PORT: port,
    MQTT_TOPIC_FORECAST: 'cli/forecast/request', MQTT_TOPIC_FORECAST_RESULT: 'cli/forecast/result', MQTT_TOPIC_FORECAST_ERROR: 'cli/forecast/error',
  };
  const child = spawn(process.execPath, ['dist/src/cli/bin.js', 'serve', '--port', '0', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`xlstm serve did not start within 30 s: ${err}`)), 30_000);
      child.stderr!.on('data', (d) => { err += String(d); if (/listening on/.test(err)) { clearTimeout(t); resolve(); } });
      void exited.then((code) => { clearTimeout(t); reject(new Error(`xlstm serve exited with ${code}: ${err}`)); });
    });
    assert.match(err, /MQTT: cli\/forecast\/request/);
    await client.subscribeAsync(['cli/forecast/result', 'cli/forecast/error']);
    await client.publishAsync('cli/forecast/request', JSON.stringify({ id: 'cli-1', context: [[0, 1, 2, 3]], prediction_length: 4 }));
    const r = await waitFor('cli-1');
    assert.equal(r.topic, 'cli/forecast/result');
    const want = await post(`${url}/forecast/mean`, { context: [[0, 1, 2, 3]], prediction_length: 4 });
    assert.deepEqual(r.payload.mean, want.body);
    await client.publishAsync('cli/forecast/request', JSON.stringify({ id: 'cli-2', context: 'nope', prediction_length: 4 }));
    const e = await waitFor('cli-2');
    assert.equal(e.topic, 'cli/forecast/error');
    assert.match(e.payload.error, /context is required/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.notEqual(await exited, null);
});
