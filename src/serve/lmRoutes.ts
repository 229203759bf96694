// OpenAI-compatible language-model endpoints: /v1/models, /v1/completions and
// /v1/chat/completions (the latter when the tokenizer has a chat template), with
// server-sent-event streaming, logprobs, and extensions the OpenAI API does not have:
// `session_id` (continue a conversation from its stored recurrent state) and an `xlstm`
// field in the response with the sequence NLL and G-NLL (the NLL of the greedy reply, an
// uncertainty measure; see src/generation/generate.ts).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { LimitError } from '../errors.js';
import { streamGenerate } from '../generation/index.js';
import type { GenerateOptions, GenerateResult, GeneratedSequence, TokenEvent, FinishReason } from '../generation/index.js';
import type { ModelState } from '../models/languageModel.js';
import { HttpError, describeError } from './httpErrors.js';
import type { ServeContext } from './context.js';
import type { ChatMessage, LmEngine } from './lm.js';
import { checkSessionId } from './sessions.js';

const common = {
  model: { type: 'string' },
  max_tokens: { type: ['integer', 'null'], minimum: 0 },
  max_completion_tokens: { type: ['integer', 'null'], minimum: 0 },
  temperature: { type: ['number', 'null'], minimum: 0 },
  top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
  top_k: { type: ['integer', 'null'], minimum: 1 },
  min_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  n: { type: ['integer', 'null'], minimum: 1 },
  stream: { type: ['boolean', 'null'] },
  stream_options: { type: ['object', 'null'], properties: { include_usage: { type: 'boolean' } } },
  stop: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', maxItems: 4, items: { type: 'string', minLength: 1 } }, { type: 'null' }] },
  seed: { type: ['integer', 'null'], minimum: 0, maximum: 4294967295 },
  session_id: { type: 'string' },
  gnll: { type: 'boolean' },
} as const;

const completionSchema = {
  body: {
    type: 'object',
    required: ['prompt'],
    properties: {
      ...common,
      prompt: {
        anyOf: [
          { type: 'string' },
          { type: 'array', minItems: 1, items: { type: 'string' } },
          { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
          { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } },
        ],
      },
      logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
      echo: { type: ['boolean', 'null'] },
    },
  },
} as const;

const chatSchema = {
  body: {
    type: 'object',
    required: ['messages'],
    properties: {
      ...common,
      messages: {
        type: 'array', minItems: 1,
        items: { type: 'object', required: ['role', 'content'], properties: { role: { type: 'string' }, content: { type: 'string' } } },
      },
      logprobs: { type: ['boolean', 'null'] },
      top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
    },
  },
} as const;

export interface CommonBody {
  model?: string;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  stop?: string | string[] | null;
  seed?: number | null;
  session_id?: string;
  gnll?: boolean;
}
export interface CompletionBody extends CommonBody { prompt: string | string[] | number[] | number[][]; logprobs?: number | null; echo?: boolean | null }
interface ChatBody extends CommonBody { messages: ChatMessage[]; logprobs?: boolean | null; top_logprobs?: number | null }

type Kind = 'text' | 'chat';

/** One request, parsed and checked, ready to run. */
interface Plan {
  kind: Kind;
  engine: LmEngine;
  /** Texts or token ids; one entry per choice. */
  prompts: (string | number[])[];
  gen: Omit<GenerateOptions, 'state' | 'returnState' | 'onToken' | 'signal'>;
  topLogprobs: number;
  wantLogprobs: boolean;
  stream: boolean;
  includeUsage: boolean;
  sessionId?: string;
  /** Chat requests: the messages, rendered again without the BOS when they continue a session. */
  chatMessages?: ChatMessage[];
}

const finish = (r: FinishReason): string => (r === 'length' ? 'length' : 'stop');

function engineOf(ctx: ServeContext, model: string | undefined): LmEngine {
  const e = ctx.lm;
  if (!e) throw new HttpError(404, 'this server has no language model (start it with --lm <folder>)', {}, 'not_found_error');
  if (model !== undefined && model !== e.name) throw new HttpError(404, `model '${model}' does not exist; this server has '${e.name}' (see /v1/models)`, {}, 'not_found_error');
  return e;
}

function planOf(ctx: ServeContext, kind: Kind, b: CompletionBody | ChatBody): Plan {
  const engine = engineOf(ctx, b.model);
  const L = ctx.limits;
  if ((b.n ?? 1) !== 1) throw new HttpError(400, `n = ${b.n}: this server returns one choice per prompt (n = 1)`);
  if (kind === 'text' && (b as CompletionBody).echo) throw new HttpError(400, 'echo is not supported');
  const defaultMax = kind === 'chat' ? Math.min(L.maxNewTokens, engine.defaults.maxNewTokens ?? 256) : 16;
  const maxNew = b.max_tokens ?? b.max_completion_tokens ?? defaultMax;
  if (maxNew > L.maxNewTokens) throw new LimitError('max_tokens', maxNew, L.maxNewTokens, 'the server\'s --max-new-tokens');
  let prompts: (string | number[])[];
  if (kind === 'chat') prompts = [engine.renderChat((b as ChatBody).messages)];
  else {
    const p = (b as CompletionBody).prompt;
    if (typeof p === 'string') prompts = [p];
    else if (typeof p[0] === 'number') prompts = [p as number[]];
    else prompts = p as (string | number[])[];
  }
  const V = engine.model.vocabSize;
  for (const p of prompts) {
    if (typeof p !== 'string') {
      const bad = p.find((t) => t >= V);
      if (bad !== undefined) throw new HttpError(400, `prompt token id ${bad} is not below the model's vocabulary size ${V}`);
    }
  }
  const stream = b.stream === true;
  const sessionId = b.session_id === undefined ? undefined : checkSessionId(b.session_id);
  if (prompts.length > 1 && (stream || sessionId !== undefined)) throw new HttpError(400, 'several prompts in one request work only without stream and session_id');
  const d = engine.defaults;
  const samplingGiven = b.temperature != null || b.top_p != null || b.top_k != null || b.min_p != null;
  // the request's sampling options win; without any, the model folder's generation config decides
  const sampling = samplingGiven
    ? { temperature: b.temperature ?? undefined, topP: b.top_p ?? undefined, topK: b.top_k ?? undefined, minP: b.min_p ?? undefined }
    : d.doSample ? { temperature: d.temperature ?? 1, topP: d.topP, topK: d.topK } : {};
  const stopTokens = [...new Set([...d.eosTokenIds, ...(engine.tokenizer.eosTokenId !== null ? [engine.tokenizer.eosTokenId] : [])])].filter((t) => t < V);
  const stop = b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
  const topLogprobs = kind === 'chat' ? ((b as ChatBody).top_logprobs ?? 0) : ((b as CompletionBody).logprobs ?? 0);
  const wantLogprobs = kind === 'chat' ? (b as ChatBody).logprobs === true : (b as CompletionBody).logprobs != null;
  if (kind === 'chat' && topLogprobs > 0 && !wantLogprobs) throw new HttpError(400, 'top_logprobs needs logprobs: true');
  return {
    kind, engine, prompts, stream, sessionId, topLogprobs, wantLogprobs,
    ...(kind === 'chat' ? { chatMessages: (b as ChatBody).messages } : {}),
    includeUsage: b.stream_options?.include_usage === true,
    gen: {
      maxNewTokens: maxNew, ...sampling, seed: b.seed ?? undefined, stopTokens, stopStrings: stop, tokenizer: engine.tokenizer,
      logprobs: wantLogprobs, ...(topLogprobs > 0 ? { topLogprobs } : {}), gNll: b.gnll === true,
    },
  };
}

interface Prepared { ids: number[][]; state?: ModelState; historyTokens: number }

/** Token ids of every prompt, after the session's pending token when continuing one. */
async function prepare(ctx: ServeContext, plan: Plan): Promise<Prepared> {
  const { engine } = plan;
  const tok = engine.tokenizer;
  const chat = plan.kind === 'chat';
  let session: Awaited<ReturnType<LmEngine['loadSession']>>;
  if (plan.sessionId !== undefined) {
    session = await engine.loadSession(ctx.sessions, plan.sessionId);
    ctx.metrics.sessionOps.inc({ op: 'get', result: session ? 'hit' : 'miss' });
  }
  try {
    // a chat template writes its own special tokens; a continued session already has its BOS
    const enc = (p: string | number[]) => (typeof p !== 'string' ? [...p] : tok.encode(p, { addBos: session || chat ? false : undefined, addSpecialTokens: !chat }));
    // a continued chat appends only its new messages, without the template's bos_token a second time
    const prompts = session && plan.chatMessages ? [plan.engine.renderChat(plan.chatMessages, { continuing: true })] : plan.prompts;
    const ids = prompts.map((p) => [...(session?.header.pending ?? []), ...enc(p)]);
    for (const row of ids) {
      if (row.length === 0) throw new HttpError(400, 'the prompt is empty (no tokens) and there is nothing pending in the session');
      if (row.length > ctx.limits.maxPromptTokens) throw new LimitError('prompt tokens', row.length, ctx.limits.maxPromptTokens, 'the server\'s --max-prompt-tokens; a session sends only the new text');
    }
    return { ids, state: session?.state, historyTokens: session?.header.tokens ?? 0 };
  } catch (e) { engine.dispose(session?.state); throw e; }
}

/** Stores the state after the request (see src/serve/lm.ts for what is pending). */
async function saveAfter(ctx: ServeContext, plan: Plan, p: Prepared, seq: GeneratedSequence, state: ModelState | undefined): Promise<void> {
  if (plan.sessionId === undefined || state === undefined) return;
  const pending = seq.tokens.length > 0 ? [seq.tokens[seq.tokens.length - 1]] : [];
  const read = p.historyTokens + p.ids[0].length + Math.max(0, seq.tokens.length - 1);
  await plan.engine.saveSession(ctx.sessions, plan.sessionId, state, pending, read, ctx.sessionTtlMs);
  ctx.metrics.sessionOps.inc({ op: 'set', result: 'ok' });
}

function tokenText(engine: LmEngine, id: number): string { return engine.tokenizer.decode([id]); }

function completionLogprobs(engine: LmEngine, seq: { token: number; logprob: number; topLogprobs?: { token: number; logprob: number }[] }[], startOffset: number) {
  let off = startOffset;
  const tokens: string[] = [], offsets: number[] = [];
  for (const t of seq) { const s = tokenText(engine, t.token); tokens.push(s); offsets.push(off); off += s.length; }
  return {
    tokens,
    token_logprobs: seq.map((t) => t.logprob),
    top_logprobs: seq.map((t) => (t.topLogprobs ? Object.fromEntries(t.topLogprobs.map((a) => [tokenText(engine, a.token), a.logprob])) : null)),
    text_offset: offsets,
  };
}

function chatLogprobs(engine: LmEngine, seq: { token: number; logprob: number; topLogprobs?: { token: number; logprob: number }[] }[]) {
  const entry = (id: number, logprob: number) => { const token = tokenText(engine, id); return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] }; };
  return { content: seq.map((t) => ({ ...entry(t.token, t.logprob), top_logprobs: (t.topLogprobs ?? []).map((a) => entry(a.token, a.logprob)) })) };
}

function extension(plan: Plan, seq: GeneratedSequence, p: Prepared, i: number) {
  return {
    nll: seq.nll,
    ...(seq.gNll !== undefined ? { gnll: seq.gNll } : {}),
    token_ids: seq.tokens,
    prompt_tokens: p.ids[i].length,
    ...(plan.sessionId !== undefined ? { session_id: plan.sessionId, session_tokens: p.historyTokens + p.ids[i].length + Math.max(0, seq.tokens.length - 1) } : {}),
  };
}

async function respond(ctx: ServeContext, plan: Plan, reply: FastifyReply | undefined): Promise<unknown> {
  if (plan.stream && reply === undefined) throw new HttpError(400, 'streaming needs an HTTP reply (use /v1/completions with stream: true)');
  const id = `${plan.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = plan.engine.name;
  return plan.engine.exclusive(async () => {
    const p = await prepare(ctx, plan);
    const wantState = plan.sessionId !== undefined;
    let result: GenerateResult | undefined;
    try {
      if (!plan.stream) {
        // token by token with a turn of the event loop between: probes, forecasts and new
        // requests (queued or refused) are answered while a long reply is generated
        const it = streamGenerate(plan.engine.model, p.ids, { ...plan.gen, state: p.state, returnState: wantState });
        for (;;) { const r = await it.next(); if (r.done) { result = r.value; break; } }
      } else {
        result = await streamTo(plan, p, reply!, { id, created, model });
      }
    } finally { plan.engine.dispose(p.state); }
    // a stream that failed after its headers has already told the client
    if (!result) return undefined;
    try {
      const usage = (i?: number) => {
        const pt = i === undefined ? p.ids.reduce((s, r) => s + r.length, 0) : p.ids[i].length;
        const ct = i === undefined ? result!.sequences.reduce((s, q) => s + q.tokens.length, 0) : result!.sequences[i].tokens.length;
        return { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
      };
      const u = usage();
      ctx.metrics.lmTokens.inc({ kind: 'prompt' }, u.prompt_tokens);
      ctx.metrics.lmTokens.inc({ kind: 'completion' }, u.completion_tokens);
      await saveAfter(ctx, plan, p, result.sequences[0], result.state);
      if (plan.stream) return undefined;
      const seqs = result.sequences;
      if (plan.kind === 'chat') {
        const s = seqs[0];
        return {
          id, object: 'chat.completion', created, model,
          choices: [{ index: 0, message: { role: 'assistant', content: s.text ?? '' }, logprobs: plan.wantLogprobs ? chatLogprobs(plan.engine, s.logprobs ?? []) : null, finish_reason: finish(s.finishReason) }],
          usage: u, xlstm: extension(plan, s, p, 0),
        };
      }
      return {
        id, object: 'text_completion', created, model,
        choices: seqs.map((s, i) => ({ index: i, text: s.text ?? '', logprobs: plan.wantLogprobs ? completionLogprobs(plan.engine, s.logprobs ?? [], 0) : null, finish_reason: finish(s.finishReason) })),
        usage: u,
        xlstm: seqs.length === 1 ? extension(plan, seqs[0], p, 0) : { choices: seqs.map((s, i) => extension(plan, s, p, i)) },
      };
    } finally { plan.engine.dispose(result?.state); }
  });
}

/** Streams one prompt's tokens as server-sent events; returns the generation result. */
async function streamTo(plan: Plan, p: Prepared, reply: FastifyReply, meta: { id: string; created: number; model: string }): Promise<GenerateResult | undefined> {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const abort = new AbortController();
  // a client that hangs up stops the generation between tokens
  const onClose = () => { if (!raw.writableEnded) abort.abort(); };
  raw.on('close', onClose);
  const send = (obj: unknown) => { if (!raw.destroyed) raw.write(`data: ${JSON.stringify(obj)}\n\n`); };
  const done = () => {
    raw.off('close', onClose);
    if (!raw.destroyed) { raw.write('data: [DONE]\n\n'); raw.end(); }
  };
  const chat = plan.kind === 'chat';
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  const base = { id: meta.id, object, created: meta.created, model: meta.model };
  if (chat) send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
  let offset = 0;
  let result: GenerateResult;
  try {
    const it = streamGenerate(plan.engine.model, p.ids, { ...plan.gen, state: p.state, returnState: plan.sessionId !== undefined, signal: abort.signal });
    for (;;) {
      const r = await it.next();
      if (r.done) { result = r.value; break; }
      const ev: TokenEvent = r.value;
      const text = ev.text ?? '';
      const lp = plan.wantLogprobs ? [{ token: ev.token, logprob: ev.logprob, topLogprobs: ev.topLogprobs }] : undefined;
      if (chat) send({ ...base, choices: [{ index: 0, delta: { content: text }, logprobs: lp ? chatLogprobs(plan.engine, lp) : null, finish_reason: null }] });
      else send({ ...base, choices: [{ index: 0, text, logprobs: lp ? completionLogprobs(plan.engine, lp, offset) : null, finish_reason: null }] });
      offset += text.length;
    }
  } catch (e) {
    // headers are gone: the error travels as an event, in the shape of an error response
    const d = describeError(e);
    send({ error: { message: d.message, type: d.type, code: d.statusCode } });
    done();
    return undefined;
  }
  const s = result.sequences[0];
  const usage = { prompt_tokens: p.ids[0].length, completion_tokens: s.tokens.length, total_tokens: p.ids[0].length + s.tokens.length };
  const last = chat ? { index: 0, delta: {}, logprobs: null, finish_reason: finish(s.finishReason) } : { index: 0, text: '', logprobs: null, finish_reason: finish(s.finishReason) };
  send({ ...base, choices: [last], xlstm: extension(plan, s, p, 0) });
  if (plan.includeUsage) send({ ...base, choices: [], usage });
  done();
  return result;
}

/** What /v1/completions answers for one prompt, without streaming (the `xlstm` field included). */
export interface TextCompletion {
  id: string;
  model: string;
  choices: { index: number; text: string; finish_reason: string; logprobs: unknown }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  xlstm: { nll: number; gnll?: number; token_ids: number[]; prompt_tokens: number; session_id?: string; session_tokens?: number };
}

/**
 * /v1/completions without HTTP (the MCP `generate` tool): the same plan, queue, limits and
 * sessions, so a tool call and an HTTP request with the same arguments return the same text.
 */
export async function completeText(ctx: ServeContext, body: CompletionBody): Promise<TextCompletion> {
  if (body.stream === true) throw new HttpError(400, 'stream is not available here');
  if (typeof body.prompt !== 'string' && typeof body.prompt[0] !== 'number') throw new HttpError(400, 'one prompt (a string or token ids) per call');
  const plan = planOf(ctx, 'text', body);
  return (await respond(ctx, plan, undefined)) as TextCompletion;
}

export function registerLmRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/v1/models', async () => {
    const data = [];
    if (ctx.lm) data.push({ id: ctx.lm.name, object: 'model', created: ctx.startedAt, owned_by: 'xlstm-ts', xlstm: { kind: 'language-model', model_type: ctx.lm.model.modelType, chat: ctx.lm.hasChatTemplate, state_fingerprint: ctx.lm.fingerprint } });
    if (ctx.forecaster) data.push({ id: ctx.forecaster.name, object: 'model', created: ctx.startedAt, owned_by: 'xlstm-ts', xlstm: { kind: 'forecaster', quantile_levels: ctx.forecaster.quantiles, context_length: ctx.forecaster.trainCtxLen, ...(ctx.forecaster.covariates ? { covariates: true, future_length: ctx.forecaster.futureLength } : {}) } });
    return { object: 'list', data };
  });

  app.post<{ Body: CompletionBody }>('/v1/completions', { schema: completionSchema }, async (req, reply) => {
    const plan = planOf(ctx, 'text', req.body);
    return respond(ctx, plan, reply);
  });

  app.post<{ Body: ChatBody }>('/v1/chat/completions', { schema: chatSchema }, async (req, reply) => {
    const plan = planOf(ctx, 'chat', req.body);
    return respond(ctx, plan, reply);
  });
}
