// How errors become HTTP responses. A user's mistake (any XlstmError, or an HttpError raised
// by the server itself) is answered with its message; anything else is a bug of ours and gets
// a generic 500, so no stack trace or internal detail ever reaches a client.
import { LimitError, XlstmError } from '../errors.js';

/** An error with a chosen status (401, 404, 409, 413, 429, 503, ...). */
export class HttpError extends XlstmError {
  constructor(readonly statusCode: number, message: string, readonly headers: Readonly<Record<string, string>> = {}, readonly type = 'invalid_request_error') {
    super(message);
  }
}

/** Refused for load: the client should come back after `retryAfterS` seconds. */
export function overloaded(statusCode: 429 | 503, message: string, retryAfterS = 1): HttpError {
  return new HttpError(statusCode, message, { 'retry-after': String(retryAfterS) }, statusCode === 429 ? 'rate_limit_error' : 'server_error');
}

export interface ErrorReply {
  statusCode: number;
  message: string;
  type: string;
  headers: Record<string, string>;
}

interface FastifyLikeError { statusCode?: number; code?: string; message?: string; validation?: unknown }

/** The status, client-facing message and headers for any thrown value. */
export function describeError(e: unknown): ErrorReply {
  if (e instanceof HttpError) return { statusCode: e.statusCode, message: e.message, type: e.type, headers: { ...e.headers } };
  if (e instanceof LimitError) return { statusCode: 413, message: e.message, type: 'invalid_request_error', headers: {} };
  if (e instanceof XlstmError) return { statusCode: 400, message: e.message, type: 'invalid_request_error', headers: {} };
  const f = (e ?? {}) as FastifyLikeError;
  // fastify's own client errors (bad JSON, body too large, schema validation, wrong
  // content type) carry a 4xx status and a message meant for the client
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500 && typeof f.message === 'string') {
    const message = f.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is larger than the server accepts (see --max-body-bytes)'
      : f.validation ? `invalid request: ${f.message}` : f.message;
    return { statusCode: f.statusCode, message, type: 'invalid_request_error', headers: {} };
  }
  return { statusCode: 500, message: 'internal server error', type: 'server_error', headers: {} };
}
