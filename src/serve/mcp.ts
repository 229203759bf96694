// MCP (Model Context Protocol) at /mcp, over the Streamable HTTP transport of
// @modelcontextprotocol/sdk, mounted in the fastify app so API keys, limits, shutdown and the
// body parser apply as to every other route.
//
// Tools:
// - `forecast`: the /v1/forecast request (series, horizon, quantile levels, ...) -> its
//   response (median and quantiles per series, per-series errors); the official TiRex
//   container's MCP tool takes one series, this one takes any number.
// - `generate` (when a language model is loaded): prompt, max_tokens, temperature, ... -> the
//   /v1/completions text with its NLL and G-NLL.
// Both call the same functions as the HTTP routes (forecastV1, completeText), so a tool call
// goes through the forecast batcher and the LM queue and returns the same numbers.
//
// Stateless: every POST gets a fresh McpServer and transport (no MCP session to keep on one
// replica), and answers with plain JSON rather than an SSE stream since no tool sends
// progress. GET (server-initiated stream) and DELETE (session end) have nothing to do here.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ServeContext } from './context.js';
import { describeError } from './httpErrors.js';
import { forecastV1 } from './forecastRoutes.js';
import { completeText } from './lmRoutes.js';

export interface McpRouteOptions {
  /** Server name and version in the MCP initialize reply. */
  name?: string;
  version?: string;
  /** Errors that are bugs of ours (the client sees only a generic message). */
  onInternalError?: (e: unknown) => void;
  /**
   * Host names (without port) that /mcp answers besides the loopback names, for a server
   * reached under a name (behind a proxy, on 0.0.0.0). See `mcpRequestAllowed`.
   */
  allowedHosts?: readonly string[];
  /** With API keys a foreign page cannot authenticate, so the Host/Origin check is not needed. */
  requiresApiKey?: boolean;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** 'example.com:8000' -> 'example.com', '[::1]:8000' -> '[::1]'; undefined when absent or malformed. */
function hostName(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d+)?$/i.exec(hostHeader.trim());
  return m ? m[1].toLowerCase() : undefined;
}

/**
 * DNS-rebinding protection as the MCP specification asks of local servers: a page on
 * evil.example whose name is re-pointed at 127.0.0.1 reaches this server with
 * `Host: evil.example` (and its own Origin). Without API keys, /mcp answers only requests
 * whose Host is a loopback name or an allowed host, and whose Origin (browsers send one;
 * other clients need not) has such a host too. Returns why a request is refused, or undefined.
 */
export function mcpRequestAllowed(headers: { host?: string; origin?: string }, opts: McpRouteOptions): string | undefined {
  if (opts.requiresApiKey) return undefined;
  const allowed = (h: string | undefined) => h !== undefined && (LOOPBACK_NAMES.has(h) || (opts.allowedHosts ?? []).some((a) => a.toLowerCase() === h));
  const host = hostName(headers.host);
  if (!allowed(host)) return `Host '${headers.host ?? ''}' is not allowed for /mcp (DNS-rebinding protection): use a loopback address, give the name with --mcp-allowed-host, or require an API key`;
  if (headers.origin !== undefined && headers.origin !== 'null') {
    let originHost: string | undefined;
    try { originHost = hostName(new URL(headers.origin).host); } catch { originHost = undefined; }
    if (!allowed(originHost)) return `Origin '${headers.origin}' is not allowed for /mcp (DNS-rebinding protection): give its host with --mcp-allowed-host, or require an API key`;
  } else if (headers.origin === 'null') {
    return "Origin 'null' is not allowed for /mcp (DNS-rebinding protection)";
  }
  return undefined;
}

const seriesShape = z.strictObject({
  id: z.union([z.string(), z.number()]).optional().describe('series id (default: its index)'),
  values: z.array(z.number().nullable()).describe('observations, oldest first; null for a missing value'),
  timestamps: z.array(z.string()).optional().describe('ISO-8601 timestamps of the values (then the forecast has future timestamps)'),
  frequency: z.string().optional().describe('expected pandas-style frequency alias of the timestamps, e.g. "h", "D"'),
});

const forecastInput = {
  series: z.array(seriesShape).min(1).describe('the series to forecast'),
  horizon: z.number().int().min(1).describe('steps to forecast'),
  quantile_levels: z.array(z.number().gt(0).lt(1)).min(1).optional().describe('quantile levels in (0, 1) (default: the model\'s 0.1..0.9)'),
  frequency: z.string().optional().describe('expected frequency of every series'),
  context_length: z.number().int().min(1).optional().describe('read at most this many last values of each series'),
  session_id: z.string().optional().describe('keep the series in this session; the next call sends only new values'),
};

const generateInput = {
  prompt: z.string().min(1).describe('text to continue'),
  max_tokens: z.number().int().min(0).optional().describe('most tokens to generate (default 16)'),
  temperature: z.number().min(0).optional().describe('sampling temperature; 0: greedy'),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().min(0).max(4294967295).optional().describe('random seed for sampling'),
  stop: z.array(z.string().min(1)).max(4).optional().describe('stop strings'),
  session_id: z.string().optional().describe('continue (and keep) this conversation\'s recurrent state'),
};

function toolError(e: unknown, opts: McpRouteOptions): CallToolResult {
  const d = describeError(e);
  if (d.statusCode >= 500 && d.type === 'server_error' && d.message === 'internal server error') opts.onInternalError?.(e);
  // the HTTP status is kept in the text: 413 (a limit) and 429 (retry later) matter to an agent
  return { isError: true, content: [{ type: 'text', text: `${d.message} (status ${d.statusCode})` }] };
}

function result(obj: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(obj) }], structuredContent: obj };
}

/** An MCP server with this context's tools (one per request: see the file comment). */
export function buildMcpServer(ctx: ServeContext, opts: McpRouteOptions = {}): McpServer {
  const server = new McpServer({ name: opts.name ?? 'xlstm-serve', version: opts.version ?? '0.1.0' });
  if (ctx.forecaster) {
    server.registerTool('forecast', {
      title: 'Forecast time series',
      description: `Probabilistic forecast with ${ctx.forecaster.name} (TiRex): median ("mean") and quantiles per series for the next \`horizon\` steps. Series that cannot be forecast are listed in \`errors\`; the others are still answered.`,
      inputSchema: forecastInput,
    }, async (args) => {
      try { return result(await forecastV1(ctx, args)); } catch (e) { return toolError(e, opts); }
    });
  }
  if (ctx.lm) {
    const name = ctx.lm.name;
    server.registerTool('generate', {
      title: 'Generate text',
      description: `Continue a prompt with the language model ${name}. Returns the text, the finish reason, and the sequence NLL and G-NLL (NLL of the greedy reply: an uncertainty measure; higher is less certain).`,
      inputSchema: generateInput,
    }, async (args) => {
      try {
        const r = await completeText(ctx, { ...args, gnll: true });
        const c = r.choices[0];
        return result({
          model: r.model, text: c.text, finish_reason: c.finish_reason, nll: r.xlstm.nll, gnll: r.xlstm.gnll ?? null,
          token_ids: r.xlstm.token_ids, usage: r.usage, ...(r.xlstm.session_id !== undefined ? { session_id: r.xlstm.session_id } : {}),
        });
      } catch (e) { return toolError(e, opts); }
    });
  }
  return server;
}

const notAllowed = { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; send JSON-RPC requests with POST' }, id: null };

export function registerMcpRoutes(app: FastifyInstance, ctx: ServeContext, opts: McpRouteOptions = {}): void {
  app.post('/mcp', async (req, reply) => {
    const refused = mcpRequestAllowed({ host: req.headers.host, origin: req.headers.origin }, opts);
    if (refused !== undefined) return reply.code(403).send({ jsonrpc: '2.0', error: { code: -32000, message: refused }, id: null });
    const server = buildMcpServer(ctx, opts);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // the transport writes the response itself
    reply.hijack();
    const res = reply.raw;
    res.on('close', () => { void transport.close(); void server.close(); });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, res, req.body);
    } catch (e) {
      opts.onInternalError?.(e);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal server error' }, id: null }));
      } else res.end();
    }
  });
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({ method, url: '/mcp', handler: async (_req, reply) => reply.code(405).header('allow', 'POST').send(notAllowed) });
  }
}
