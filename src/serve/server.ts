// `xlstm serve` without the command line: builds a fastify app around a forecaster (TiRex,
// by default the one shipped in models/default-forecaster) and/or a language model, with
// sessions, dynamic batching, limits, API keys, health/readiness and Prometheus metrics.
// The other protocol front-ends reuse the ServeContext (batcher, LM engine, sessions) and the
// routes' functions rather than the HTTP routes: MCP at /mcp (mcp.ts) and MQTT (mqtt.ts).
import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { basename } from 'node:path';
import { ArgumentError } from '../errors.js';
import { ForecastBatcher, ServeForecaster } from './batcher.js';
import { DEFAULT_LIMITS, ServeContext, ServeLimits } from './context.js';
import { HttpError, describeError, overloaded } from './httpErrors.js';
import { LmEngine } from './lm.js';
import { createMetrics } from './metrics.js';
import { MemorySessionStore, RedisSessionStore, SessionStore } from './sessions.js';
import { registerForecastRoutes } from './forecastRoutes.js';
import { registerLmRoutes } from './lmRoutes.js';
import { registerMcpRoutes } from './mcp.js';
import type { MqttFrontEnd, MqttOptions } from './mqtt.js';

export interface ServeOptions {
  /** TiRex or TiRex-2 folder (or TiRex checkpoint); undefined: the shipped default forecaster; false: none. */
  forecaster?: string | false;
  /** Language-model folder (config, weights, tokenizer.json); none when absent. */
  lm?: string;
  /** Compute threads of each model's backend (default: all cores). */
  threads?: number;
  /** Accepted API keys; none: no authentication. */
  apiKeys?: readonly string[];
  limits?: Partial<ServeLimits>;
  /** Session lifetime after the last use (ms, default 1 hour). */
  sessionTtlMs?: number;
  /** Redis for sessions (default: memory). */
  redisUrl?: string;
  /** Dynamic batching window (ms, default 2). */
  batchWindowMs?: number;
  /** Most series gathered into one forecast call (default 256). */
  maxBatchSeries?: number;
  /** Names in /v1/models and the `model` field (default: the folder names). */
  forecasterName?: string;
  lmName?: string;
  /** Called for errors that become a 500 (the client sees only a generic message). */
  onInternalError?: (e: unknown) => void;
  /** Host names /mcp answers besides the loopback names when no API key is required (mcp.ts: DNS-rebinding protection). */
  mcpAllowedHosts?: readonly string[];
  /** Answer forecast requests from an MQTT broker as the official TiRex container does (mqtt.ts). */
  mqtt?: MqttOptions;
}

export interface XlstmServer {
  app: FastifyInstance;
  context: ServeContext;
  /** The MQTT front-end, when ServeOptions.mqtt was given. */
  mqtt?: MqttFrontEnd;
  /** Starts listening; returns the base URL (port 0 picks a free port). */
  listen(opts: { port: number; host?: string }): Promise<string>;
  /** Stops accepting, finishes in-flight requests, releases the models and the store. */
  close(): Promise<void>;
}

/** Routes that answer without an API key (probes and scrapers). */
const OPEN_ROUTES = new Set(['/health', '/ready', '/metrics']);

function keyMatches(given: string, keys: readonly Buffer[]): boolean {
  const g = Buffer.from(given);
  let ok = false;
  // compare against every key in constant time, so timing tells nothing about any of them
  for (const k of keys) if (k.length === g.length && timingSafeEqual(k, g)) ok = true;
  return ok;
}

function checkLimits(l: Partial<ServeLimits> | undefined): ServeLimits {
  const out = { ...DEFAULT_LIMITS, ...(l ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentError(`serve: limits.${k} must be a positive integer, got ${String(v)}`);
  }
  return out;
}

async function chatTemplateOf(dir: string, config: Record<string, unknown>): Promise<string | undefined> {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const d = t.find((x) => x && typeof x === 'object' && (x as { name?: unknown }).name === 'default') ?? t[0];
    const s = (d as { template?: unknown } | undefined)?.template;
    if (typeof s === 'string') return s;
  }
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  try { return await readFile(join(dir, 'chat_template.jinja'), 'utf8'); } catch { return undefined; }
}

/** Loads the models and builds the app (not listening yet). */
export async function createServer(opts: ServeOptions = {}): Promise<XlstmServer> {
  const limits = checkLimits(opts.limits);
  const ttl = opts.sessionTtlMs ?? 3_600_000;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new ArgumentError(`serve: sessionTtlMs must be a positive number, got ${String(ttl)}`);
  if (opts.forecaster === false && opts.lm === undefined) throw new ArgumentError('serve: nothing to serve (no forecaster and no language model)');
  if (opts.mqtt && opts.forecaster === false) throw new ArgumentError('serve: MQTT answers forecast requests, but this server has no forecaster');
  const keys = (opts.apiKeys ?? []).filter((k) => k !== '').map((k) => Buffer.from(k));
  const closers: (() => void | Promise<void>)[] = [];
  const closeAll = async () => { for (const c of closers.reverse()) await c(); };
  try {
    const sessions: SessionStore = opts.redisUrl ? await RedisSessionStore.connect({ url: opts.redisUrl }) : new MemorySessionStore();
    closers.push(() => sessions.close());
    let batcher: ForecastBatcher | undefined;
    const metrics = await createMetrics({ forecastQueue: () => batcher?.queuedSeries ?? 0 });
    const context: ServeContext = { limits, sessionTtlMs: ttl, sessions, metrics, startedAt: Math.floor(Date.now() / 1000) };
    if (opts.forecaster !== false) {
      const { loadForecaster, resolveModelPath } = await import('../cli/commands/forecast.js');
      const path = await resolveModelPath(opts.forecaster);
      const loaded = await loadForecaster(path, { threads: opts.threads });
      closers.push(() => loaded.close());
      // a TiRex-2 folder loads behind the univariate CLI contract; the server takes its covariates too
      const { TiRex2AsForecaster } = await import('../cli/commands/covariates.js');
      const model: ServeForecaster = loaded.model instanceof TiRex2AsForecaster
        ? new (await import('./tirex2Forecaster.js')).TiRex2ServeForecaster(loaded.model.model)
        : loaded.model as unknown as ServeForecaster;
      batcher = new ForecastBatcher(model, {
        windowMs: opts.batchWindowMs, maxBatchSeries: opts.maxBatchSeries, maxQueuedSeries: limits.maxQueuedSeries,
        onBatch: (b) => { metrics.forecastBatchSeries.observe(b.series); metrics.forecastBatchRequests.observe(b.requests); },
      });
      const fname = opts.forecasterName ?? (opts.forecaster === undefined ? 'default-forecaster' : basename(path.replace(/\/+$/, '')));
      context.forecaster = {
        name: fname, batcher, trainCtxLen: model.config.trainCtxLen, quantiles: model.config.quantiles,
        covariates: model.covariates === true, ...(model.config.futureLength !== undefined ? { futureLength: model.config.futureLength } : {}),
      };
    }
    if (opts.lm !== undefined) {
      const { loadTextModel } = await import('../cli/commands/generate.js');
      const quiet = { stdout: { write: () => true }, stderr: { write: () => true } };
      const t = await loadTextModel({ model: opts.lm, threads: opts.threads }, quiet);
      closers.push(() => t.close());
      context.lm = await LmEngine.create({
        name: opts.lmName ?? basename(opts.lm.replace(/\/+$/, '')), model: t.model, tokenizer: t.tokenizer, defaults: t.defaults,
        chatTemplate: await chatTemplateOf(opts.lm, t.tokenizer.config), maxQueued: limits.maxQueuedCompletions,
      });
    }
    const app = await buildApp(context, keys, opts);
    let mqtt: MqttFrontEnd | undefined;
    if (opts.mqtt) {
      const { startMqtt } = await import('./mqtt.js');
      try { mqtt = await startMqtt(context, { onInternalError: opts.onInternalError, ...opts.mqtt }); } catch (e) { await app.close(); throw e; }
    }
    let closing = false;
    return {
      app, context, mqtt,
      async listen({ port, host }) {
        await app.listen({ port, host: host ?? '127.0.0.1' });
        const a = app.server.address();
        if (a === null || typeof a === 'string') return String(a);
        return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      },
      async close() {
        if (closing) return;
        closing = true;
        context.closing = true;
        // both front-ends stop taking requests and answer the ones in flight
        await Promise.all([app.close(), mqtt?.close()]);
        await batcher?.drain();
        await closeAll();
      },
    };
  } catch (e) { await closeAll(); throw e; }
}

async function buildApp(ctx: ServeContext, keys: Buffer[], opts: ServeOptions): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.limits.maxBodyBytes,
    // idle keep-alive connections must not hold up a graceful shutdown
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // no type coercion: "3" is not a number and [1] is not 1, as the official pydantic models see it
    ajv: { customOptions: { allowUnionTypes: true, coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false } },
  });

  app.addHook('onRequest', async (req) => {
    if (ctx.closing) throw overloaded(503, 'server is shutting down', 5);
    if (keys.length === 0) return;
    const path = req.url.split('?')[0];
    if (OPEN_ROUTES.has(path)) return;
    const auth = req.headers.authorization;
    const given = typeof auth === 'string' && /^Bearer /i.test(auth) ? auth.slice(7).trim() : typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined;
    if (given === undefined || !keyMatches(given, keys)) {
      ctx.metrics.rejected.inc({ reason: 'auth' });
      throw new HttpError(401, given === undefined ? 'an API key is required (Authorization: Bearer <key>, or x-api-key)' : 'invalid API key', { 'www-authenticate': 'Bearer' }, 'authentication_error');
    }
  });

  // a keep-alive connection that was busy when shutdown began would otherwise stay open
  // until its idle timeout and hold the close up
  app.addHook('onSend', async (_req, reply) => { if (ctx.closing) reply.header('connection', 'close'); });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    ctx.metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    const d = describeError(err);
    if (d.statusCode >= 500 && !(err instanceof HttpError)) opts.onInternalError?.(err);
    if (d.statusCode === 429 || d.statusCode === 413) ctx.metrics.rejected.inc({ reason: d.statusCode === 429 ? 'overload' : 'limit' });
    reply.code(d.statusCode).headers(d.headers);
    const style = (req.routeOptions.config as { errorStyle?: string } | undefined)?.errorStyle;
    // the official TiRex server's exception handler writes {error_code, error_message}
    if (style === 'tirex') return reply.send({ error_code: d.statusCode, error_message: d.message });
    return reply.send({ error: { message: d.message, type: d.type, code: d.statusCode } });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { message: `no route ${req.method} ${req.url.split('?')[0]}`, type: 'not_found_error', code: 404 } });
  });

  app.get('/health', async () => ({ message: 'OK' }));
  app.get('/ready', async (_req, reply) => {
    if (ctx.closing) return reply.code(503).header('retry-after', '5').send({ status: 'shutting down' });
    try { await ctx.sessions.ping(); } catch (e) {
      return reply.code(503).header('retry-after', '1').send({ status: 'session store unavailable', store: ctx.sessions.kind, message: (e as Error).message });
    }
    return { status: 'ready', forecaster: ctx.forecaster?.name ?? null, lm: ctx.lm?.name ?? null, sessions: ctx.sessions.kind };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  registerForecastRoutes(app, ctx);
  registerLmRoutes(app, ctx);
  registerMcpRoutes(app, ctx, { onInternalError: opts.onInternalError, allowedHosts: opts.mcpAllowedHosts, requiresApiKey: keys.length > 0 });
  await app.ready();
  return app;
}
