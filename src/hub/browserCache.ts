// Hub files for the browser: fetch + the Cache API instead of a cache folder. Browser-safe;
// `caches` is passed in (or taken from globalThis), so Node tests can hand it a stand-in and a
// page without Cache API (or an opaque origin) still works, only without a cache.
// The browser cannot read the headers of a redirect (fetch hides the 302), so the file
// list and checksums come from the API (?blobs=true: lfs.sha256, blobId), whose answer is
// cached too: offline, it says which commit and files the revision had.
import { HubError } from './errors.js';
import { isCommitHash } from './modelId.js';
import { HubOptions, resolveEndpoint, resolveOffline, envToken } from './options.js';
import { HubModelKind, SHARD_INDEX, selectFiles, shardFiles } from './selection.js';
import { RepoFile, RepoInfo, TransportOptions, fetchRepoInfo, getFrom, isNetworkFailure, resolveUrl } from './transport.js';

/** The parts of the Cache API used here (window.caches and CacheStorage satisfy it). */
export interface CacheStorageLike {
  open(name: string): Promise<{
    match(key: string): Promise<Response | undefined>;
    put(key: string, response: Response): Promise<void>;
  }>;
}

/** HubOptions without the Node cache folder: `caches` and `cacheName` choose the Cache API. */
export type BrowserHubOptions = Omit<HubOptions, 'cacheDir'>;

export interface BrowserSnapshot {
  repo: string;
  commit: string;
  files: string[];
  /** The bytes of one of `files` (from the cache, or from memory when there is no cache). */
  read(file: string): Promise<Uint8Array>;
}

const DEFAULT_CACHE = 'xlstm-hub';

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function digestOf(f: RepoFile, data: Uint8Array<ArrayBuffer>): Promise<[string, string] | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  if (f.sha256) return [f.sha256, hex(await subtle.digest('SHA-256', data))];
  if (f.blobId) {
    const head = new TextEncoder().encode(`blob ${data.length}\0`);
    const all = new Uint8Array(head.length + data.length);
    all.set(head);
    all.set(data, head.length);
    return [f.blobId, hex(await subtle.digest('SHA-1', all))];
  }
  return undefined;
}

/**
 * Fetches (or takes from the Cache API) the files a model of `kind` needs and returns a
 * reader over them. Each file is held in memory once while it is verified and stored: the
 * browser path suits models that fit in a tab, not 15 GB checkpoints.
 */
export async function fetchModelFilesBrowser(repo: string, kind: HubModelKind, opts: BrowserHubOptions = {}): Promise<BrowserSnapshot> {
  const revision = opts.revision ?? 'main';
  const label = `${repo}@${revision}`;
  const endpoint = resolveEndpoint(opts);
  const t: TransportOptions = { endpoint, token: envToken(opts), fetch: opts.fetch };
  const storage = opts.caches === undefined ? (globalThis as { caches?: CacheStorageLike }).caches : opts.caches ?? undefined;
  const cache = storage ? await storage.open(opts.cacheName ?? DEFAULT_CACHE) : undefined;
  const memory = new Map<string, Uint8Array>();
  const infoKey = (rev: string) => `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(rev)}`;
  const cachedInfo = async (): Promise<RepoInfo | undefined> => {
    const r = await cache?.match(infoKey(revision));
    return r ? (await r.json()) as RepoInfo : undefined;
  };
  let info: RepoInfo | undefined;
  if (resolveOffline(opts) || isCommitHash(revision)) info = await cachedInfo();
  if (!info) {
    if (resolveOffline(opts)) throw new HubError('not-cached', `${label} is not in the browser cache '${opts.cacheName ?? DEFAULT_CACHE}' and offline mode forbids downloading it`);
    try {
      info = await fetchRepoInfo(repo, revision, t);
      const body = JSON.stringify(info);
      await cache?.put(infoKey(revision), new Response(body, { headers: { 'content-type': 'application/json' } }));
      await cache?.put(infoKey(info.commit), new Response(body, { headers: { 'content-type': 'application/json' } }));
    } catch (e) {
      if (!isNetworkFailure(e)) throw e;
      info = await cachedInfo();
      if (!info) throw e;
    }
  }
  const known = info;
  const commit = known.commit;
  const offline = resolveOffline(opts);
  const key = (file: string) => resolveUrl(endpoint, repo, commit, file);
  const get = async (file: string): Promise<Uint8Array> => {
    const hit = memory.get(file) ?? (await cache?.match(key(file)).then((r) => r && r.arrayBuffer().then((b) => new Uint8Array(b))));
    if (hit) return hit;
    if (offline) throw new HubError('not-cached', `${label}: ${file} is not in the browser cache and offline mode forbids downloading it`);
    const meta = known.files.find((f) => f.path === file)!;
    const total = meta.size ?? 0;
    opts.onProgress?.({ status: 'download', name: repo, file, total, resumeFrom: 0 });
    const res = await getFrom(key(file), 0, repo, `${label}: ${file}`, t);
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    // a reader, not `for await`: async iteration of response bodies is recent in browsers
    const reader = res.body?.getReader();
    for (;;) {
      const r = reader ? await reader.read() : { done: true as const, value: undefined };
      if (r.done) break;
      chunks.push(r.value);
      loaded += r.value.length;
      opts.onProgress?.({ status: 'progress', name: repo, file, loaded, total: total || loaded, progress: total ? (100 * loaded) / total : 0 });
    }
    const data = new Uint8Array(loaded);
    let off = 0;
    for (const c of chunks) { data.set(c, off); off += c.length; }
    if (meta.size !== undefined && loaded !== meta.size) throw new HubError('network', `${label}: ${file}: got ${loaded} of ${meta.size} bytes`);
    const d = await digestOf(meta, data as Uint8Array<ArrayBuffer>);
    if (d && d[0] !== d[1]) throw new HubError('checksum', `${label}: ${file}: the downloaded bytes do not match the hub's checksum (expected ${d[0]}, got ${d[1]}); nothing was cached`);
    if (cache) await cache.put(key(file), new Response(data, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(loaded) } }));
    else memory.set(file, data);
    return data;
  };
  const load = async (files: string[]) => {
    const present = await Promise.all(files.map(async (f) => Boolean(memory.get(f) ?? (await cache?.match(key(f))))));
    files.forEach((file, i) => opts.onProgress?.({ status: 'initiate', name: repo, file, total: known.files.find((f) => f.path === file)?.size ?? 0, cached: present[i] }));
    for (const file of files) { await get(file); opts.onProgress?.({ status: 'done', name: repo, file }); }
  };
  const available = known.files.map((f) => f.path);
  const files = selectFiles(kind, available, label);
  await load(files);
  if (files.includes(SHARD_INDEX)) {
    const shards = shardFiles(JSON.parse(new TextDecoder().decode(await get(SHARD_INDEX))), label);
    const absent = shards.filter((s) => !available.includes(s));
    if (absent.length) throw new HubError('missing-files', `${label}: ${SHARD_INDEX} names shards the repository does not have: ${absent.slice(0, 5).join(', ')}`);
    await load(shards);
    files.push(...shards);
  }
  opts.onProgress?.({ status: 'ready', name: repo, path: `${endpoint}/${repo}/resolve/${commit}/`, commit });
  return {
    repo, commit, files,
    read: async (file) => {
      if (!files.includes(file)) throw new HubError('missing-files', `${label}: ${file} is not one of the model's files (${files.join(', ')})`);
      return get(file);
    },
  };
}
