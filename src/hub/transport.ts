// Hub HTTP: the file list of a revision, file metadata (commit, ETag, size, where the bytes
// are) and ranged downloads, over fetch only, so the browser build can import it.
// The hub answers a resolve URL of a large (LFS) file with a 302 to a CDN; the 302 itself
// carries X-Repo-Commit, X-Linked-Etag (the sha256) and X-Linked-Size, so metadata comes
// from a HEAD that does not follow redirects, as huggingface_hub does.
import { HubError } from './errors.js';

export interface TransportOptions {
  endpoint: string;
  token?: string;
  fetch?: typeof fetch;
}

export interface RepoFile {
  path: string;
  size?: number;
  /** sha256 hex of an LFS file (the API's lfs.sha256) */
  sha256?: string;
  /** git blob sha1 (the API's blobId) */
  blobId?: string;
}

export interface RepoInfo {
  /** the commit the revision points to */
  commit: string;
  files: RepoFile[];
}

export interface FileMeta {
  /** commit of the revision (X-Repo-Commit), null when the server did not say */
  commit: string | null;
  /** normalised ETag: the sha256 hex of an LFS file, the git blob sha1 of a small one */
  etag: string;
  size: number;
  /** where to GET the bytes (the CDN address after a redirect) */
  url: string;
}

const MAX_HUB_REDIRECTS = 5;

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** Authorization goes to the hub only, never to a CDN or another host a redirect names. */
export function authHeaders(url: string, t: TransportOptions): Record<string, string> {
  if (!t.token) return {};
  return new URL(url).origin === new URL(t.endpoint).origin ? { authorization: `Bearer ${t.token}` } : {};
}

function fetchOf(t: TransportOptions): typeof fetch {
  const f = t.fetch ?? globalThis.fetch;
  if (typeof f !== 'function') throw new HubError('network', 'no fetch available to reach the hub (Node >= 20 and browsers have one; pass hub.fetch otherwise)');
  return f;
}

/** A request that failed before any HTTP status (DNS, refused, reset): retryable, and a reason to try the cache. */
export function isNetworkFailure(e: unknown): boolean {
  return e instanceof HubError ? e.code === 'network' : e instanceof TypeError;
}

async function request(url: string, init: RequestInit, t: TransportOptions, what: string): Promise<Response> {
  try {
    return await fetchOf(t)(url, { ...init, headers: { ...authHeaders(url, t), ...(init.headers as Record<string, string> | undefined) } });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubError('network', `${what}: cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (e as Error).message}); check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache`, { cause: e });
  }
}

/** The error for a non-2xx answer, saying what to do about it. */
export function httpError(res: Response, what: string, repo: string, t: TransportOptions): HubError {
  const code = res.headers.get('x-error-code') ?? '';
  const page = `${t.endpoint}/${repo}`;
  if (res.status === 401 || res.status === 403) {
    const gated = code === 'GatedRepo' || res.status === 403;
    const msg = t.token
      ? `${what}: the hub refused the token (HTTP ${res.status}${code ? `, ${code}` : ''}). ${gated ? `Accept the model's license on ${page} with the account of this token, or use a token with read access to ${repo}.` : `Check that ${repo} exists and that the token can read it.`}`
      : `${what}: ${repo} needs authentication (HTTP ${res.status}${code ? `, ${code}` : ''}): it is gated, private or does not exist. If it is gated, accept its license on ${page}, create a read token at ${t.endpoint}/settings/tokens and set HF_TOKEN (or run \`huggingface-cli login\`).`;
    return new HubError('unauthorized', msg);
  }
  if (res.status === 404) {
    const which = code === 'RevisionNotFound' ? 'no such revision' : code === 'EntryNotFound' ? 'no such file' : code === 'RepoNotFound' ? 'no such repository' : 'not found';
    return new HubError('not-found', `${what}: ${which} on ${t.endpoint} (HTTP 404${code ? `, ${code}` : ''}); check the model id and revision`);
  }
  return new HubError('network', `${what}: the hub answered HTTP ${res.status} ${res.statusText}`.trim());
}

/** The revision's commit and file list (GET /api/models/{repo}/revision/{revision}). */
export async function fetchRepoInfo(repo: string, revision: string, t: TransportOptions): Promise<RepoInfo> {
  const url = `${t.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const what = `${repo}@${revision}`;
  const res = await request(url, { headers: { accept: 'application/json' } }, t, what);
  if (!res.ok) throw httpError(res, what, repo, t);
  let doc: { sha?: unknown; siblings?: unknown };
  try { doc = await res.json() as typeof doc; } catch (e) { throw new HubError('network', `${what}: the hub's file list is not JSON (${(e as Error).message})`); }
  if (typeof doc.sha !== 'string' || !Array.isArray(doc.siblings)) throw new HubError('network', `${what}: the hub's answer has no commit (sha) or file list (siblings)`);
  // the commit names a cache folder: it must be a plain hash, whatever the server sends
  if (!/^[0-9a-f]{40}$/.test(doc.sha)) throw new HubError('network', `${what}: the hub's commit ${JSON.stringify(doc.sha)} is not a 40-hex git hash`);
  type Sibling = { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown } };
  const files = (doc.siblings as Sibling[])
    .filter((s) => typeof s?.rfilename === 'string')
    .map((s) => {
      const f: RepoFile = { path: s.rfilename as string };
      if (typeof s.size === 'number') f.size = s.size;
      if (typeof s.lfs?.sha256 === 'string') f.sha256 = s.lfs.sha256;
      if (typeof s.blobId === 'string') f.blobId = s.blobId;
      return f;
    });
  return { commit: doc.sha, files };
}

function normaliseEtag(e: string | null): string | null {
  if (!e) return null;
  return e.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** HEAD of a resolve URL: commit, ETag, size and the download address. */
export async function headFile(repo: string, revision: string, file: string, t: TransportOptions): Promise<FileMeta> {
  let url = resolveUrl(t.endpoint, repo, revision, file);
  const what = `${repo}@${revision}: ${file}`;
  for (let hop = 0; ; hop++) {
    // identity: the size must be of the bytes, not of a compressed transfer
    const res = await request(url, { method: 'HEAD', redirect: 'manual', headers: { 'accept-encoding': 'identity' } }, t, what);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url).href;
      // a redirect that stays on the hub (a renamed repository): ask again there; one to
      // another host (the CDN) carries the metadata itself, and the token must not follow it
      if (new URL(next).origin === new URL(t.endpoint).origin && hop < MAX_HUB_REDIRECTS) { url = next; continue; }
      return metaFrom(res, next, what);
    }
    if (!res.ok) throw httpError(res, what, repo, t);
    return metaFrom(res, url, what);
  }
}

function metaFrom(res: Response, url: string, what: string): FileMeta {
  const h = res.headers;
  const etag = normaliseEtag(h.get('x-linked-etag') ?? h.get('etag'));
  const sizeText = h.get('x-linked-size') ?? h.get('content-length');
  const size = sizeText === null ? NaN : Number(sizeText);
  if (!etag) throw new HubError('network', `${what}: the hub sent no ETag, so the file cannot be cached or verified (is HF_ENDPOINT a hub?)`);
  // the ETag names the blob file: nothing that could leave blobs/
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(etag) || etag.startsWith('.')) throw new HubError('network', `${what}: the hub's ETag ${JSON.stringify(etag)} cannot name a cache file`);
  if (!Number.isSafeInteger(size) || size < 0) throw new HubError('network', `${what}: the hub sent no file size (X-Linked-Size / Content-Length)`);
  return { commit: h.get('x-repo-commit'), etag, size, url };
}

/** GET from byte `start` (a Range request when start > 0). The caller checks 200 vs 206. */
export async function getFrom(url: string, start: number, repo: string, what: string, t: TransportOptions, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (start > 0) headers.range = `bytes=${start}-`;
  const res = await request(url, { headers, signal }, t, what);
  if (!res.ok && res.status !== 416) throw httpError(res, what, repo, t);
  return res;
}

/** What kind of checksum an ETag is: sha256 hex (LFS files), git blob sha1 (small files), or neither (cannot verify). */
export function etagKind(etag: string): 'sha256' | 'git-sha1' | 'opaque' {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return 'opaque';
}
