// Options of hub loading, and how the environment fills them in. Browser-safe: the
// environment is read through globalThis.process when there is one (Node), never imported.
import type { HubProgressCallback } from './progress.js';
import type { CacheStorageLike } from './browserCache.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** What every hub entry point accepts (`fromPretrained(id, { hub: {...} })`). */
export interface HubOptions {
  /** Branch, tag or commit (default 'main'; `org/name@rev` in the id wins when both agree, and they must). */
  revision?: string;
  /** Hub address (default: HF_ENDPOINT, else https://huggingface.co). Mirrors and the tests' mock hub go here. */
  endpoint?: string;
  /** Access token for gated and private repositories (default: HF_TOKEN, else the huggingface_hub token file). */
  token?: string;
  /** Cache folder in the huggingface_hub layout (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). Node only. */
  cacheDir?: string;
  /** Use the cache only, no requests (default: HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Download progress events. */
  onProgress?: HubProgressCallback;
  /** Attempts after a dropped connection or a 5xx before giving up (default 3); each resumes where the last stopped. */
  retries?: number;
  /** fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Browser only: the Cache API that holds the files (default: globalThis.caches; null: keep them in memory for this call). */
  caches?: CacheStorageLike | null;
  /** Browser only: the Cache API cache name (default 'xlstm-hub'). */
  cacheName?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The process environment in Node, an empty one elsewhere. */
export function processEnv(): Env {
  const p = (globalThis as { process?: { env?: Env } }).process;
  return p?.env ?? {};
}

/** huggingface_hub's reading of boolean variables (HF_HUB_OFFLINE=1 / ON / YES / TRUE). */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

export function resolveEndpoint(opts: HubOptions, env: Env = processEnv()): string {
  const e = opts.endpoint ?? env.HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  let url: URL;
  try { url = new URL(e); } catch { throw new TypeError(`hub endpoint '${e}' is not a URL (set HF_ENDPOINT or hub.endpoint to e.g. https://huggingface.co)`); }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`hub endpoint '${e}' must be an http(s) URL`);
  return e.replace(/\/+$/, '');
}

export function resolveOffline(opts: HubOptions, env: Env = processEnv()): boolean {
  return opts.offline ?? envFlag(env.HF_HUB_OFFLINE);
}

/** Token from the options or HF_TOKEN; the token file is read by the Node side (nodeSettings.ts). */
export function envToken(opts: HubOptions, env: Env = processEnv()): string | undefined {
  const t = opts.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  return t !== undefined && t.trim() !== '' ? t.trim() : undefined;
}
