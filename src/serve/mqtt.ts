// MQTT front-end, as the official TiRex inference container does it (NX-AI/tirex,
// inference/app/mqtt_server.py, config.py and tests/test_mqtt.py):
//
//   request  tirex/forecast/request  {"id": ..., "context": [[...], ...], "prediction_length": n}
//   result   tirex/forecast/result   {"id": ..., "mean": [[...]], "quantiles": [[[9 levels]]]}
//   error    tirex/forecast/error    {"id": ..., "error": "message"}
//
// `mean` is the 0.5 quantile (the official client takes index 4 of the 9 levels) and
// `quantiles` is what /forecast/quantiles answers. The official client forwards each message
// to its own HTTP server; here a message goes straight to the forecast batcher through the
// same function as /forecast/quantiles (forecastOfficial), so MQTT requests share forward
// passes with HTTP ones. Messages are handled concurrently, each answered on its own.
import type { MqttClient } from 'mqtt';
import { ArgumentError } from '../errors.js';
import type { ServeContext } from './context.js';
import { describeError, HttpError } from './httpErrors.js';
import { forecastOfficial, officialJson } from './forecastRoutes.js';

export interface MqttOptions {
  /** Broker URL: mqtt://host:1883, mqtts://..., ws://...; user:password@ in it works too. */
  url: string;
  /** Topic of requests (default tirex/forecast/request; `$share/group/...` spreads them over replicas). */
  requestTopic?: string;
  /** Topic of results (default tirex/forecast/result). */
  resultTopic?: string;
  /** Topic of errors (default tirex/forecast/error). */
  errorTopic?: string;
  username?: string;
  password?: string;
  /** Default: xlstm-serve-<random>. */
  clientId?: string;
  /** QoS of the subscription and of results and errors (default 0, as the official client). */
  qos?: 0 | 1 | 2;
  /** How long to wait for the broker at start-up before failing (ms, default 10000). */
  connectTimeoutMs?: number;
  /** Bugs of ours while handling a message (the error topic gets a generic message). */
  onInternalError?: (e: unknown) => void;
}

export const MQTT_DEFAULT_TOPICS = Object.freeze({
  request: 'tirex/forecast/request',
  result: 'tirex/forecast/result',
  error: 'tirex/forecast/error',
});

export interface MqttFrontEnd {
  readonly requestTopic: string;
  readonly resultTopic: string;
  readonly errorTopic: string;
  /** Stops taking requests, answers those in flight, disconnects. */
  close(): Promise<void>;
}

/** The message's id (echoed in the answer) and its official request, or why it is bad. */
export function parseMqttRequest(payload: Buffer, maxBytes: number): { id: unknown; body?: { context: (number | null)[][]; prediction_length: number }; error?: string } {
  if (payload.length > maxBytes) return { id: null, error: `request of ${payload.length} bytes is larger than the server accepts (${maxBytes}; see --max-body-bytes)` };
  let msg: unknown;
  try { msg = JSON.parse(payload.toString('utf8')); } catch (e) { return { id: null, error: `request is not valid JSON: ${(e as Error).message}` }; }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return { id: null, error: 'request must be a JSON object {"id", "context", "prediction_length"}' };
  const m = msg as Record<string, unknown>;
  const id = m.id ?? null;
  if (typeof id !== 'string' && typeof id !== 'number') return { id, error: 'id is required (a string or number the result echoes)' };
  const ctx = m.context;
  if (!Array.isArray(ctx)) return { id, error: 'context is required: a list of series, each a list of numbers (null for missing)' };
  for (let i = 0; i < ctx.length; i++) {
    const s = ctx[i];
    if (!Array.isArray(s)) return { id, error: `context[${i}] must be a list of numbers` };
    for (let j = 0; j < s.length; j++) {
      if (s[j] !== null && typeof s[j] !== 'number') return { id, error: `context[${i}][${j}] must be a number or null, got ${JSON.stringify(s[j])}` };
    }
  }
  const h = m.prediction_length;
  if (h === undefined) return { id, error: 'prediction_length is required (a positive integer)' };
  if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 1) return { id, error: `prediction_length must be a positive integer, got ${JSON.stringify(h)}` };
  return { id, body: { context: ctx as (number | null)[][], prediction_length: h } };
}

/** Connects to the broker and answers forecast requests until closed. */
export async function startMqtt(ctx: ServeContext, opts: MqttOptions): Promise<MqttFrontEnd> {
  if (!ctx.forecaster) throw new ArgumentError('serve: MQTT answers forecast requests, but this server has no forecaster');
  if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(opts.url)) throw new ArgumentError(`serve: MQTT URL must start with mqtt://, mqtts://, ws:// or wss://, got '${opts.url}'`);
  const requestTopic = opts.requestTopic ?? MQTT_DEFAULT_TOPICS.request;
  const resultTopic = opts.resultTopic ?? MQTT_DEFAULT_TOPICS.result;
  const errorTopic = opts.errorTopic ?? MQTT_DEFAULT_TOPICS.error;
  const qos = opts.qos ?? 0;
  const timeout = opts.connectTimeoutMs ?? 10_000;
  const { connect } = await import('mqtt');
  const client: MqttClient = connect(opts.url, {
    clientId: opts.clientId ?? `xlstm-serve-${Math.random().toString(16).slice(2, 10)}`,
    username: opts.username, password: opts.password,
    connectTimeout: timeout,
    // after a broker restart mqtt.js reconnects and subscribes again by itself
    reconnectPeriod: 1000,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      // a refused connection is an 'error', but a host that never answers only makes mqtt.js
      // retry quietly, so the wait is bounded here
      const t = setTimeout(() => reject(new Error(`serve: cannot reach the MQTT broker at ${redact(opts.url)} within ${timeout} ms`)), timeout);
      client.once('connect', () => { clearTimeout(t); resolve(); });
      client.once('error', (e) => { clearTimeout(t); reject(new Error(`serve: cannot reach the MQTT broker at ${redact(opts.url)}: ${e.message}`)); });
    });
    const granted = await client.subscribeAsync(requestTopic, { qos });
    if (granted.some((g) => g.qos === 128)) throw new Error(`serve: the MQTT broker refused the subscription to '${requestTopic}'`);
  } catch (e) {
    await client.endAsync(true);
    throw e;
  }
  // keep running through later broker errors: mqtt.js reconnects; an 'error' without a
  // listener would end the process
  client.on('error', () => undefined);

  const inFlight = new Set<Promise<void>>();
  let closing = false;
  const publish = (topic: string, obj: unknown) => client.publishAsync(topic, JSON.stringify(obj), { qos }).then(() => undefined, () => undefined);

  const handle = async (payload: Buffer): Promise<void> => {
    const req = parseMqttRequest(payload, ctx.limits.maxBodyBytes);
    if (!req.body) {
      ctx.metrics.mqttMessages.inc({ result: 'bad_request' });
      return publish(errorTopic, { id: req.id, error: req.error });
    }
    try {
      if (closing || ctx.closing) throw new HttpError(503, 'server is shutting down');
      const r = await forecastOfficial(ctx, req.body);
      ctx.metrics.mqttMessages.inc({ result: 'ok' });
      await publish(resultTopic, { id: req.id, mean: officialJson.mean(r), quantiles: officialJson.quantiles(r) });
    } catch (e) {
      const d = describeError(e);
      if (d.statusCode >= 500 && d.message === 'internal server error') opts.onInternalError?.(e);
      ctx.metrics.mqttMessages.inc({ result: d.statusCode === 429 || d.statusCode === 503 ? 'overload' : d.statusCode >= 500 ? 'internal_error' : 'bad_request' });
      await publish(errorTopic, { id: req.id, error: d.message });
    }
  };

  client.on('message', (_topic, payload) => {
    if (closing) return;
    const p = handle(payload).finally(() => inFlight.delete(p));
    inFlight.add(p);
  });

  return {
    requestTopic, resultTopic, errorTopic,
    async close() {
      if (closing) return;
      closing = true;
      // a broker that is down would hold these up forever; the answers are lost then anyway
      await bounded(client.unsubscribeAsync(requestTopic), 2000);
      await Promise.all([...inFlight]);
      if (!(await bounded(client.endAsync(), 2000))) await client.endAsync(true);
    },
  };
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function bounded(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<boolean>((r) => { t = setTimeout(() => r(false), ms); });
  return Promise.race([p.then(() => true, () => true), timer]).finally(() => clearTimeout(t));
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch { return url; }
}
