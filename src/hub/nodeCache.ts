// The huggingface_hub cache on disk (Node only), read and written in Python's layout so
// either tool reuses the other's downloads:
//   <cache>/models--org--name/blobs/<etag>              the bytes, named by their checksum
//   <cache>/models--org--name/snapshots/<commit>/<file>  symlinks to ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>            the commit a branch or tag pointed to
// A download goes to blobs/<etag>.incomplete (resumed with Range after a cut), is checked
// against the ETag while it streams to disk (never held in memory), and only then renamed
// into place, so a blob or snapshot entry is always whole and verified.
import { createHash, Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, lstat, mkdir, open, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { HubError } from './errors.js';
import { isCommitHash, repoFolderName } from './modelId.js';
import type { HubProgressCallback } from './progress.js';
import { HubModelKind, SHARD_INDEX, selectFiles, shardFiles } from './selection.js';
import { FileMeta, TransportOptions, etagKind, getFrom, headFile } from './transport.js';

const PROGRESS_STEP = 1 << 20; // report every MiB: enough for a bar, cheap for 15 GB

export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, repoFolderName(repo));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

/** Writes a small file atomically (temp file + rename), so a reader never sees half of it. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** The commit a revision names: itself when it is a commit hash, else refs/<revision>. */
export async function readRef(repoDir: string, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await readFile(join(repoDir, 'refs', ...revision.split('/')), 'utf8')).trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch { return undefined; }
}

export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  // huggingface_hub writes the bare hash, no newline
  if (revision !== commit) await writeAtomic(join(repoDir, 'refs', ...revision.split('/')), commit);
}

/** Files of a snapshot (following the symlinks; dangling ones do not count), '/'-separated. */
export async function snapshotFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string) => {
    let names: string[];
    try { names = await readdir(d); } catch { return; }
    for (const n of names) {
      if (n.endsWith('.tmp')) continue;
      const p = join(d, n);
      const st = await stat(p).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) await walk(p, `${prefix}${n}/`);
      else out.push(`${prefix}${n}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

/** The files of `kind` in a cached snapshot, or undefined when any is missing. */
export async function completeSnapshotFiles(dir: string, kind: HubModelKind, label: string): Promise<string[] | undefined> {
  const present = await snapshotFiles(dir);
  let want: string[];
  try { want = selectFiles(kind, present, label); } catch { return undefined; }
  if (want.includes(SHARD_INDEX)) {
    let shards: string[];
    try { shards = shardFiles(JSON.parse(await readFile(join(dir, SHARD_INDEX), 'utf8')), label); } catch { return undefined; }
    if (!shards.every((s) => present.includes(s))) return undefined;
    want = [...want, ...shards];
  }
  return want;
}

export interface CachedSnapshot { commit: string; dir: string; files: string[] }

/** A complete snapshot of `revision` for `kind` in the cache, without any request. */
export async function findCachedSnapshot(repoDir: string, revision: string, kind: HubModelKind, label: string): Promise<CachedSnapshot | undefined> {
  const commit = await readRef(repoDir, revision);
  if (commit === undefined) return undefined;
  const dir = join(repoDir, 'snapshots', commit);
  const files = await completeSnapshotFiles(dir, kind, label);
  return files && { commit, dir, files };
}

export interface FetchContext {
  repo: string;
  label: string;
  repoDir: string;
  transport: TransportOptions;
  retries: number;
  onProgress?: HubProgressCallback;
}

function newHash(etag: string, size: number): Hash | undefined {
  const kind = etagKind(etag);
  if (kind === 'sha256') return createHash('sha256');
  // git's blob id: sha1 over a "blob <size>\0" header and the bytes
  if (kind === 'git-sha1') return createHash('sha1').update(`blob ${size}\0`);
  return undefined; // an ETag of another form (some mirrors): the size is all we can check
}

async function hashPrefix(path: string, bytes: number, hash: Hash | undefined): Promise<void> {
  if (!hash || bytes === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
}

function retryable(e: unknown): boolean {
  if (e instanceof HubError) return e.code === 'network';
  // undici: a body cut mid-stream surfaces as TypeError('terminated')
  return e instanceof TypeError || ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET'].includes((e as { code?: string })?.code ?? '');
}

/** One GET into the partial file from where it stops; resolves to the digest once all bytes are there. */
async function fetchInto(ctx: FetchContext, file: string, meta: FileMeta, part: string): Promise<string | undefined> {
  const what = `${ctx.label}: ${file}`;
  let have = await sizeOf(part);
  if (have > meta.size) { await rm(part, { force: true }); have = 0; }
  const res = await getFrom(meta.url, have, ctx.repo, what, ctx.transport);
  let start = have;
  if (res.status === 416) {
    await res.body?.cancel();
    if (have !== meta.size) { await rm(part, { force: true }); throw new HubError('network', `${what}: the server refused to resume at byte ${have}; starting over`); }
    const hash = newHash(meta.etag, meta.size);
    await hashPrefix(part, have, hash);
    return hash?.digest('hex');
  }
  if (res.status === 206) {
    const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      await res.body?.cancel();
      await rm(part, { force: true });
      throw new HubError('network', `${what}: the server resumed at the wrong byte (${res.headers.get('content-range')} for ${have}-); starting over`);
    }
  } else start = 0; // 200: the server ignored Range, the body is the whole file
  if (start > 0) ctx.onProgress?.({ status: 'progress', name: ctx.repo, file, loaded: start, total: meta.size, progress: meta.size ? (100 * start) / meta.size : 100 });
  const hash = newHash(meta.etag, meta.size);
  await hashPrefix(part, start, hash);
  const fh = await open(part, start === 0 ? 'w' : 'a');
  let loaded = start;
  let reported = start;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (loaded + chunk.length > meta.size) {
          throw new HubError('checksum', `${what}: the server sent more than the ${meta.size} bytes the hub announced`);
        }
        for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        hash?.update(chunk);
        loaded += chunk.length;
        if (loaded - reported >= PROGRESS_STEP || loaded === meta.size) {
          reported = loaded;
          ctx.onProgress?.({ status: 'progress', name: ctx.repo, file, loaded, total: meta.size, progress: meta.size ? (100 * loaded) / meta.size : 100 });
        }
      }
    }
  } finally { await fh.close(); }
  if (loaded !== meta.size) throw new HubError('network', `${what}: the connection closed after ${loaded} of ${meta.size} bytes`);
  if (meta.size === 0) ctx.onProgress?.({ status: 'progress', name: ctx.repo, file, loaded: 0, total: 0, progress: 100 });
  return hash?.digest('hex');
}

const hasBlob = async (blob: string, size: number) => (await stat(blob).catch(() => null))?.size === size;

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Runs `fn` holding <cache>/.locks/models--org--name/<etag>.xlstm-lock (huggingface_hub's
 * lock folder, our own file name), so two processes fetching the same file do not append to
 * one .incomplete: the second waits and then finds the blob. A lock whose process is gone
 * is taken over. Python's locks are flock-based and not seen here; the checksum still
 * refuses what a collision with Python would produce.
 */
async function withBlobLock<T>(ctx: FetchContext, etag: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(dirname(ctx.repoDir), '.locks', basename(ctx.repoDir));
  await mkdir(dir, { recursive: true });
  const lock = join(dir, `${etag}.xlstm-lock`);
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const [text, st] = await Promise.all([readFile(lock, 'utf8').catch(() => ''), stat(lock).catch(() => null)]);
    const pid = Number(text);
    // an empty file is a lock being written: stale only when old
    const stale = Number.isInteger(pid) && pid > 0 ? !alive(pid) : st !== null && Date.now() - st.mtimeMs > 10_000;
    if (stale) { await rm(lock, { force: true }); continue; }
    await new Promise((r) => setTimeout(r, 200));
  }
  try { return await fn(); } finally { await rm(lock, { force: true }); }
}

/** Makes sure blobs/<etag> holds the verified bytes of `file`; returns its path. */
export async function ensureBlob(ctx: FetchContext, file: string, meta: FileMeta): Promise<string> {
  const blob = join(ctx.repoDir, 'blobs', meta.etag);
  if (await hasBlob(blob, meta.size)) return blob;
  await mkdir(dirname(blob), { recursive: true });
  return withBlobLock(ctx, meta.etag, async () => (await hasBlob(blob, meta.size)) ? blob : downloadBlob(ctx, file, meta, blob));
}

async function downloadBlob(ctx: FetchContext, file: string, meta: FileMeta, blob: string): Promise<string> {
  const part = `${blob}.incomplete`;
  ctx.onProgress?.({ status: 'download', name: ctx.repo, file, total: meta.size, resumeFrom: Math.min(await sizeOf(part), meta.size) });
  let digest: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      digest = await fetchInto(ctx, file, meta, part);
      break;
    } catch (e) {
      if (e instanceof HubError && e.code === 'checksum') { await rm(part, { force: true }); throw e; }
      // the partial file stays: the next attempt (or the next run) resumes from it
      if (!retryable(e) || attempt >= ctx.retries) {
        if (e instanceof HubError) throw e;
        throw new HubError('network', `${ctx.label}: ${file}: download failed (${(e as Error).message}); ${await sizeOf(part)} of ${meta.size} bytes are kept in ${part} and the next try resumes from there`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
    }
  }
  if (digest !== undefined && digest !== meta.etag) {
    await rm(part, { force: true });
    throw new HubError('checksum', `${ctx.label}: ${file}: the downloaded bytes do not match the hub's checksum (${etagKind(meta.etag)} ${meta.etag}, got ${digest}); the download was discarded. Try again; if it happens again, a proxy or mirror (HF_ENDPOINT=${ctx.transport.endpoint}) is changing the file`);
  }
  await rename(part, blob);
  return blob;
}

/** snapshots/<commit>/<file> -> the blob, as a relative symlink (a copy where symlinks are not allowed). */
export async function linkSnapshot(repoDir: string, commit: string, file: string, blob: string): Promise<string> {
  const pointer = join(repoDir, 'snapshots', commit, ...file.split('/'));
  await mkdir(dirname(pointer), { recursive: true });
  const target = relative(dirname(pointer), blob);
  if (await readlink(pointer).then((t) => t === target, () => false)) return pointer;
  const tmp = `${pointer}.${process.pid}.${Date.now()}.tmp`;
  try {
    await symlink(target, tmp);
  } catch {
    // Windows without developer mode cannot make symlinks; huggingface_hub copies then too
    await copyFile(blob, tmp);
  }
  // a regular file left by a copy-mode cache is replaced as well; a folder in the way is an error
  if ((await lstat(pointer).catch(() => null))?.isDirectory()) throw new HubError('missing-files', `${pointer} is a folder where the file ${file} belongs`);
  await rename(tmp, pointer);
  return pointer;
}

/** A hub call again after a 5xx, 429 or dropped connection (not after 401/403/404). */
async function withRetries<T>(ctx: FetchContext, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try { return await fn(); } catch (e) {
      if (!retryable(e) || attempt >= ctx.retries) throw e;
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
    }
  }
}

/** HEADs every file first (sizes for the progress events), then downloads and links each. */
export async function fetchFiles(ctx: FetchContext, commit: string, files: readonly string[]): Promise<void> {
  const metas: FileMeta[] = [];
  for (const f of files) metas.push(await withRetries(ctx, () => headFile(ctx.repo, commit, f, ctx.transport)));
  const blobs = metas.map((m) => join(ctx.repoDir, 'blobs', m.etag));
  for (let i = 0; i < files.length; i++) {
    const cached = (await stat(blobs[i]).catch(() => null))?.size === metas[i].size;
    ctx.onProgress?.({ status: 'initiate', name: ctx.repo, file: files[i], total: metas[i].size, cached });
  }
  for (let i = 0; i < files.length; i++) {
    const blob = await ensureBlob(ctx, files[i], metas[i]);
    await linkSnapshot(ctx.repoDir, commit, files[i], blob);
    ctx.onProgress?.({ status: 'done', name: ctx.repo, file: files[i] });
  }
}

export { exists as pathExists };
