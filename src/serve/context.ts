// What the route modules share: limits, the loaded models, the session store and metrics.
// Each server instance builds its own context (no module-level state), so tests can run
// several servers in one process.
import type { ForecastBatcher } from './batcher.js';
import type { SessionStore } from './sessions.js';
import type { ServeMetrics } from './metrics.js';
import type { LmEngine } from './lm.js';

/** Limits checked before any work starts (docs/SERVE.md#limits). */
export interface ServeLimits {
  /** Request body bytes (413 above; default 32 MiB). */
  maxBodyBytes: number;
  /** Series in one forecast request (default 1024). */
  maxSeries: number;
  /** prediction_length / horizon (default 1024). */
  maxHorizon: number;
  /** Values of one series (default 100000; TiRex reads only the last 1024 or so anyway). */
  maxSeriesLength: number;
  /** Prompt tokens of one completion request, session history not counted (default 8192). */
  maxPromptTokens: number;
  /** max_tokens of one completion request (default 1024). */
  maxNewTokens: number;
  /** Series waiting for a forward pass before 429 (default 4096). */
  maxQueuedSeries: number;
  /** Language-model requests waiting (running one included) before 429 (default 32). */
  maxQueuedCompletions: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = Object.freeze({
  maxBodyBytes: 32 * 2 ** 20,
  maxSeries: 1024,
  maxHorizon: 1024,
  maxSeriesLength: 100_000,
  maxPromptTokens: 8192,
  maxNewTokens: 1024,
  maxQueuedSeries: 4096,
  maxQueuedCompletions: 32,
});

export interface ServeContext {
  limits: ServeLimits;
  /** Session records expire this long after their last use (ms). */
  sessionTtlMs: number;
  sessions: SessionStore;
  metrics: ServeMetrics;
  forecaster?: {
    name: string; batcher: ForecastBatcher; trainCtxLen: number; quantiles: readonly number[];
    /** TiRex-2: /v1/forecast takes several targets and past/future covariates. */
    covariates?: boolean;
    /** TiRex-2: the longest horizon (future_len). */
    futureLength?: number;
  };
  lm?: LmEngine;
  /** Unix seconds the server started (the OpenAI `created` of /v1/models). */
  startedAt: number;
  /** Set once shutdown begins: new requests get 503, /ready fails. */
  closing?: boolean;
}
