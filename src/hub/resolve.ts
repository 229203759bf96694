// From a model source (a local path or a hub id) to a local folder (Node only). The model
// loaders call resolveModelSource first and then read the folder as before, so a hub model
// and a local folder go through the same loading code.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { HubError } from './errors.js';
import { isCommitHash, isValidRevision, parseModelId } from './modelId.js';
import { HubOptions, resolveEndpoint, resolveOffline } from './options.js';
import { HubModelKind, SHARD_INDEX, selectFiles, shardFiles } from './selection.js';
import { fetchRepoInfo, isNetworkFailure } from './transport.js';
import { resolveCacheDir, resolveToken } from './nodeSettings.js';
import { CachedSnapshot, FetchContext, fetchFiles, findCachedSnapshot, repoCacheDir, writeRef } from './nodeCache.js';

const DEFAULT_RETRIES = 3;

export interface HubSnapshot extends CachedSnapshot {
  repo: string;
  revision: string;
  /** true: served from the cache without downloading anything */
  fromCache: boolean;
}

function checkOptions(opts: HubOptions): void {
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`hub options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  if (opts.retries !== undefined && (!Number.isInteger(opts.retries) || opts.retries < 0)) throw new ArgumentError(`hub.retries must be an integer >= 0, got ${String(opts.retries)}`);
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new ArgumentError(`hub.onProgress must be a function, got ${typeof opts.onProgress}`);
  if (opts.revision !== undefined && !isValidRevision(opts.revision)) throw new ArgumentError(`hub.revision must be a branch, tag or commit hash, got ${JSON.stringify(opts.revision)}`);
}

function notCached(label: string, repoDir: string, why: string): HubError {
  return new HubError('not-cached', `${label} is not in the hub cache (${repoDir}) with all the files this model needs, and ${why}. Run once with network access to fill the cache, or give a local model folder`);
}

/**
 * Downloads (or finds in the cache) the files a model of `kind` needs from `repo` at
 * `revision`, and returns the snapshot folder. Offline (HF_HUB_OFFLINE=1 or hub.offline),
 * and when the hub cannot be reached, a complete cached snapshot is used; a commit-hash
 * revision with a complete snapshot makes no request at all (a commit never changes).
 */
export async function downloadModel(repo: string, kind: HubModelKind, opts: HubOptions = {}): Promise<HubSnapshot> {
  checkOptions(opts);
  const revision = opts.revision ?? 'main';
  const label = `${repo}@${revision}`;
  const cacheDir = resolveCacheDir(opts);
  const repoDir = repoCacheDir(cacheDir, repo);
  const offline = resolveOffline(opts);
  const emitCached = async (snap: CachedSnapshot): Promise<HubSnapshot> => {
    for (const file of snap.files) {
      const total = opts.onProgress ? (await stat(join(snap.dir, file))).size : 0;
      opts.onProgress?.({ status: 'initiate', name: repo, file, total, cached: true });
    }
    for (const file of snap.files) opts.onProgress?.({ status: 'done', name: repo, file });
    opts.onProgress?.({ status: 'ready', name: repo, path: snap.dir, commit: snap.commit });
    return { ...snap, repo, revision, fromCache: true };
  };
  if (offline || isCommitHash(revision)) {
    const hit = await findCachedSnapshot(repoDir, revision, kind, label);
    if (hit) return emitCached(hit);
    if (offline) throw notCached(label, repoDir, 'HF_HUB_OFFLINE=1 (or hub.offline) forbids downloading it');
  }
  const transport = { endpoint: resolveEndpoint(opts), token: await resolveToken(opts), fetch: opts.fetch };
  let info;
  try {
    info = await fetchRepoInfo(repo, revision, transport);
  } catch (e) {
    if (!isNetworkFailure(e)) throw e;
    // as huggingface_hub: no connection, but a complete snapshot in the cache -> use it
    const hit = await findCachedSnapshot(repoDir, revision, kind, label);
    if (hit) return emitCached(hit);
    throw notCached(label, repoDir, `the hub cannot be reached: ${(e as Error).message}`);
  }
  const ctx: FetchContext = { repo, label, repoDir, transport, retries: opts.retries ?? DEFAULT_RETRIES, onProgress: opts.onProgress };
  const available = info.files.map((f) => f.path);
  const files = selectFiles(kind, available, label);
  await fetchFiles(ctx, info.commit, files);
  const dir = join(repoDir, 'snapshots', info.commit);
  if (files.includes(SHARD_INDEX)) {
    // the shards are named by the index, known only now
    let index: unknown;
    try { index = JSON.parse(await readFile(join(dir, SHARD_INDEX), 'utf8')); } catch (e) { throw new HubError('missing-files', `${label}: ${SHARD_INDEX} is not valid JSON (${(e as Error).message})`); }
    const shards = shardFiles(index, label);
    const absent = shards.filter((s) => !available.includes(s));
    if (absent.length) throw new HubError('missing-files', `${label}: ${SHARD_INDEX} names shards the repository does not have: ${absent.slice(0, 5).join(', ')}`);
    await fetchFiles(ctx, info.commit, shards);
    files.push(...shards);
  }
  // the ref moves only once the snapshot is complete, so offline use never finds half a model
  await writeRef(repoDir, revision, info.commit);
  opts.onProgress?.({ status: 'ready', name: repo, path: dir, commit: info.commit });
  return { commit: info.commit, dir, files, repo, revision, fromCache: false };
}

/**
 * A local path or a hub id -> a local path. An existing file or folder always wins; else
 * `org/name[@revision]` is downloaded into (or found in) the cache and its snapshot folder
 * returned; anything else is returned unchanged for the loader to report as missing.
 */
export async function resolveModelSource(source: string, kind: HubModelKind, opts: HubOptions = {}): Promise<string> {
  if (typeof source !== 'string' || source === '') throw new ArgumentError(`model source must be a folder, a file or a hub id like NX-AI/TiRex, got ${JSON.stringify(source)}`);
  if (await stat(source).then(() => true, () => false)) return source;
  const id = parseModelId(source);
  if (!id) return source;
  if (id.revision !== undefined && opts.revision !== undefined && id.revision !== opts.revision) {
    throw new ArgumentError(`'${source}' pins revision ${id.revision} but hub.revision is ${opts.revision}; give one`);
  }
  const snap = await downloadModel(id.repo, kind, { ...opts, revision: id.revision ?? opts.revision });
  return snap.dir;
}
