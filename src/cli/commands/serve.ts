// `xlstm serve`: the HTTP service of src/serve (forecasting drop-in for the official TiRex
// server, OpenAI-compatible language models, sessions). SIGTERM and SIGINT stop accepting
// connections, finish the requests in flight, then exit (docs/SERVE.md).
import type { Command } from 'commander';
import { parsePositiveInt } from './forecast.js';
import { EXIT_SIGINT, EXIT_SIGTERM } from '../exitCodes.js';
import type { ServeLimits } from '../../serve/context.js';
import type { ServeOptions, XlstmServer } from '../../serve/server.js';
import type { MqttOptions } from '../../serve/mqtt.js';

export interface ServeCommandOptions {
  forecaster?: string;
  /** commander's --no-forecaster */
  noForecaster?: boolean;
  lm?: string;
  port?: string | number;
  host?: string;
  apiKey?: string[];
  mcpAllowedHost?: string[];
  threads?: string | number;
  sessionTtl?: string | number;
  batchWindowMs?: string | number;
  maxBodyBytes?: string | number;
  maxSeries?: string | number;
  maxHorizon?: string | number;
  maxPromptTokens?: string | number;
  maxNewTokens?: string | number;
  maxQueue?: string | number;
  /** MQTT broker URL (also MQTT_URL, or the official container's MQTT_ENABLED=1 + MQTT_BROKER_HOST/PORT). */
  mqttUrl?: string;
}

/**
 * The MQTT front-end's options from --mqtt-url and the environment. The official TiRex
 * container's variables (inference/app/config.py) work unchanged, so its deployments can swap
 * the image: MQTT_ENABLED, MQTT_BROKER_HOST/PORT/USERNAME/PASSWORD, MQTT_TOPIC_FORECAST(_RESULT,
 * _ERROR).
 */
export function parseMqttOptions(url: string | undefined, env: NodeJS.ProcessEnv = process.env): MqttOptions | undefined {
  let u = url ?? (env.MQTT_URL || undefined);
  if (u === undefined && env.MQTT_ENABLED !== undefined && env.MQTT_ENABLED !== '0' && env.MQTT_ENABLED !== '') {
    if (!env.MQTT_BROKER_HOST) throw new Error('MQTT_ENABLED is set but MQTT_BROKER_HOST is not (or give --mqtt-url)');
    const port = env.MQTT_BROKER_PORT ? parsePositiveInt('MQTT_BROKER_PORT', env.MQTT_BROKER_PORT) : 1883;
    u = `mqtt://${env.MQTT_BROKER_HOST}:${port}`;
  }
  if (u === undefined) return undefined;
  if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(u)) throw new Error(`--mqtt-url must start with mqtt://, mqtts://, ws:// or wss://, got '${u}'`);
  return {
    url: u,
    requestTopic: env.MQTT_TOPIC_FORECAST || undefined,
    resultTopic: env.MQTT_TOPIC_FORECAST_RESULT || undefined,
    errorTopic: env.MQTT_TOPIC_FORECAST_ERROR || undefined,
    username: env.MQTT_BROKER_USERNAME || undefined,
    password: env.MQTT_BROKER_PASSWORD || undefined,
  };
}

/** The command's options as ServeOptions; API keys also from XLSTM_API_KEYS (comma-separated). */
export function parseServeOptions(o: ServeCommandOptions, env: NodeJS.ProcessEnv = process.env): { serve: ServeOptions; port: number; host: string } {
  const int = (name: string, v: unknown) => (v === undefined ? undefined : parsePositiveInt(name, v));
  const port = o.port === undefined ? 8000 : String(o.port).trim() === '0' ? 0 : parsePositiveInt('--port', o.port);
  if (port > 65535) throw new Error(`--port must be at most 65535, got '${String(o.port)}'`);
  const keys = [...(o.apiKey ?? []), ...(env.XLSTM_API_KEYS ?? '').split(',')].map((k) => k.trim()).filter((k) => k !== '');
  const limits: Partial<ServeLimits> = {};
  const set = (k: keyof ServeLimits, flag: string, v: unknown) => { const n = int(flag, v); if (n !== undefined) limits[k] = n; };
  set('maxBodyBytes', '--max-body-bytes', o.maxBodyBytes);
  set('maxSeries', '--max-series', o.maxSeries);
  set('maxHorizon', '--max-horizon', o.maxHorizon);
  set('maxPromptTokens', '--max-prompt-tokens', o.maxPromptTokens);
  set('maxNewTokens', '--max-new-tokens', o.maxNewTokens);
  const q = int('--max-queue', o.maxQueue);
  if (q !== undefined) { limits.maxQueuedSeries = q; limits.maxQueuedCompletions = q; }
  const ttl = int('--session-ttl', o.sessionTtl);
  const win = o.batchWindowMs === undefined ? undefined : String(o.batchWindowMs).trim() === '0' ? 0 : parsePositiveInt('--batch-window-ms', o.batchWindowMs);
  return {
    port,
    host: o.host ?? '127.0.0.1',
    serve: {
      forecaster: o.noForecaster ? false : o.forecaster,
      lm: o.lm,
      threads: int('--threads', o.threads),
      apiKeys: keys,
      mcpAllowedHosts: o.mcpAllowedHost,
      limits,
      sessionTtlMs: ttl === undefined ? undefined : ttl * 1000,
      redisUrl: env.REDIS_URL || undefined,
      batchWindowMs: win,
      mqtt: parseMqttOptions(o.mqttUrl, env),
      onInternalError: (e) => { process.stderr.write(`xlstm serve: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`); },
    },
  };
}

/** Starts the server; resolves with it and its URL once listening. */
export async function runServe(o: ServeCommandOptions, log: (s: string) => void = (s) => process.stderr.write(s)): Promise<{ server: XlstmServer; url: string }> {
  const { serve, port, host } = parseServeOptions(o);
  const { createServer } = await import('../../serve/server.js');
  const server = await createServer(serve);
  const url = await server.listen({ port, host });
  const c = server.context;
  log(`xlstm serve: listening on ${url} (forecaster: ${c.forecaster?.name ?? 'none'}, lm: ${c.lm?.name ?? 'none'}, sessions: ${c.sessions.kind}${server.mqtt ? `, MQTT: ${server.mqtt.requestTopic}` : ''}${serve.apiKeys?.length ? ', API keys required' : ''}; MCP at ${url}/mcp)\n`);
  return { server, url };
}

export function register(program: Command): void {
  program.command('serve')
    .description('HTTP service: TiRex forecasts (official /forecast/* API and /v1/forecast) and OpenAI-compatible language models, with sessions (docs/SERVE.md)')
    .option('--forecaster <dir>', 'TiRex folder or checkpoint (default: the shipped default forecaster)')
    .option('--no-forecaster', 'serve no forecaster (with --lm)')
    .option('--lm <dir>', 'language-model folder (config, weights, tokenizer.json) for /v1/completions and /v1/chat/completions')
    .option('--port <n>', 'port (0: any free port)', '8000')
    .option('--host <addr>', 'address to bind (0.0.0.0 to accept connections from other machines)', '127.0.0.1')
    .option('--api-key <key>', 'require this API key (repeatable; also XLSTM_API_KEYS=k1,k2)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--mcp-allowed-host <name>', 'host name /mcp answers besides localhost when no API key is required (DNS-rebinding protection; repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--threads <n>', 'compute threads per model (default: all cores)')
    .option('--session-ttl <s>', 'seconds a session lives after its last use (default 3600); REDIS_URL stores sessions in Redis')
    .option('--batch-window-ms <ms>', 'how long a forecast request waits for others to share its forward pass (default 2)')
    .option('--max-body-bytes <n>', 'largest request body (default 33554432)')
    .option('--max-series <n>', 'series per forecast request (default 1024)')
    .option('--max-horizon <n>', 'largest prediction_length (default 1024)')
    .option('--max-prompt-tokens <n>', 'prompt tokens per completion request (default 8192)')
    .option('--max-new-tokens <n>', 'largest max_tokens (default 1024)')
    .option('--max-queue <n>', 'waiting series / completion requests before 429 (default 4096 / 32)')
    .option('--mqtt-url <url>', 'also answer forecast requests from this MQTT broker (tirex/forecast/request -> result/error topics, as the official TiRex container; also MQTT_URL)')
    .action(async (opts: Record<string, unknown>) => {
      const o = { ...opts, noForecaster: opts.forecaster === false, forecaster: typeof opts.forecaster === 'string' ? opts.forecaster : undefined } as ServeCommandOptions;
      const { server } = await runServe(o);
      await new Promise<void>((resolve) => {
        const stop = (sig: NodeJS.Signals) => {
          process.stderr.write(`xlstm serve: ${sig}, finishing requests in flight\n`);
          server.close().then(() => { process.exitCode = sig === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT; resolve(); }, (e) => { process.stderr.write(`xlstm serve: ${(e as Error).message}\n`); process.exitCode = 1; resolve(); });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
