// A local stand-in for the Hugging Face Hub: two node:http servers on 127.0.0.1 (random
// ports), the hub itself and a "CDN" on another origin. It speaks the parts of the hub
// protocol the loaders use: GET /api/models/{repo}/revision/{rev}?blobs=true, HEAD/GET
// /{repo}/resolve/{rev}/{file} (small files answered directly with their git-sha1 ETag,
// LFS files 302'd to the CDN with X-Repo-Commit / X-Linked-Etag / X-Linked-Size), ranged
// GETs on the CDN, gated repositories (401 without a token, 403 with a wrong one), and two
// faults on demand: a connection cut mid-file and corrupted bytes. With `cors`, both servers
// answer as the hub does for web pages (Access-Control-Allow-Origin: *, preflights, the
// headers a page may read), so the browser tests can fetch from it across origins.
import { createHash } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockRepo {
  files: Record<string, Uint8Array>;
  /** 40-hex commit of 'main' (default: derived from the repo name) */
  commit?: string;
  /** the token a gated repository accepts */
  gatedToken?: string;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  range?: string;
  auth?: string;
}

interface StoredFile { bytes: Uint8Array; lfs: boolean; sha256: string; gitSha1: string }

export const gitSha1 = (b: Uint8Array): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function isLfs(path: string, b: Uint8Array): boolean {
  return /\.(safetensors|ckpt)$/.test(path) || b.length > 100_000;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export class MockHub {
  readonly requests: LoggedRequest[] = [];
  /** sha256 of LFS files whose next full GET is cut after half the bytes */
  readonly cutOnce = new Set<string>();
  /** sha256 of LFS files served with one byte changed */
  readonly corrupt = new Set<string>();
  /** the next this-many resolve requests get a 503, as an overloaded hub answers */
  unavailable = 0;
  /** a hostile or broken server: these replace the commit in API answers and the ETags of resolve answers */
  tamper: { sha?: string; etag?: string } = {};
  /** old name -> new name: requests under the old name get a relative 307 to the new one, as after a rename on the hub */
  readonly renamed = new Map<string, string>();
  private readonly repos = new Map<string, { commit: string; gatedToken?: string; files: Map<string, StoredFile> }>();
  private readonly blobs = new Map<string, Uint8Array>();

  private constructor(private readonly hub: Server, private readonly cdn: Server, readonly url: string, readonly cdnUrl: string, private readonly cors: boolean) {}

  /**
   * `cdnHost`: the host name the redirects name (another name than the hub's makes it another host for any client).
   * `cors`: answer pages of any origin (see corsHeaders).
   */
  static async start(repos: Record<string, MockRepo>, opts: { cdnHost?: string; cors?: boolean } = {}): Promise<MockHub> {
    const hub = createServer();
    const cdn = createServer();
    const cdnUrl = await listen(cdn);
    const m = new MockHub(hub, cdn, await listen(hub), opts.cdnHost ? cdnUrl.replace('127.0.0.1', opts.cdnHost) : cdnUrl, opts.cors ?? false);
    for (const [name, r] of Object.entries(repos)) m.addRepo(name, r);
    hub.on('request', (req, res) => m.onHub(req, res));
    cdn.on('request', (req, res) => m.onCdn(req, res));
    return m;
  }

  addRepo(name: string, r: MockRepo): void {
    const files = new Map<string, StoredFile>();
    for (const [path, bytes] of Object.entries(r.files)) {
      const f = { bytes, lfs: isLfs(path, bytes), sha256: sha256(bytes), gitSha1: gitSha1(bytes) };
      files.set(path, f);
      if (f.lfs) this.blobs.set(f.sha256, bytes);
    }
    const commit = r.commit ?? createHash('sha1').update(`commit of ${name}`).digest('hex');
    this.repos.set(name, { commit, gatedToken: r.gatedToken, files });
  }

  commitOf(name: string): string { return this.repos.get(name)!.commit; }

  /** Requests whose path contains `part`. */
  saw(part: string): LoggedRequest[] { return this.requests.filter((q) => q.path.includes(part)); }

  async close(): Promise<void> {
    this.hub.closeAllConnections();
    this.cdn.closeAllConnections();
    await Promise.all([new Promise((r) => this.hub.close(r)), new Promise((r) => this.cdn.close(r))]);
  }

  private log(server: 'hub' | 'cdn', req: IncomingMessage): void {
    this.requests.push({ server, method: req.method ?? '', path: req.url ?? '', range: req.headers.range, auth: req.headers.authorization });
  }

  /**
   * CORS as huggingface.co sends it, on every answer (errors and redirects too: a browser
   * hides a response without it, and follows a redirect only when it has it). Of the exposed
   * headers the browser loader reads only X-Error-Code (for the message of a 401/403); the
   * others are exposed as the hub does. no-store keeps Chromium's HTTP cache out of the
   * tests, so a request that does not reach this server was answered by the Cache API.
   * Returns true when the request was a preflight, now answered.
   */
  private corsHeaders(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.cors) return false;
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, X-Error-Code, Content-Range, Accept-Ranges, Content-Length');
    res.setHeader('cache-control', 'no-store');
    if (req.method !== 'OPTIONS') return false;
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, HEAD',
      'access-control-allow-headers': 'authorization, range, accept, accept-encoding',
      'access-control-max-age': '0',
    }).end();
    return true;
  }

  private fail(res: ServerResponse, status: number, code: string): void {
    res.writeHead(status, { 'x-error-code': code, 'content-type': 'text/plain' }).end(`${code}\n`);
  }

  private onHub(req: IncomingMessage, res: ServerResponse): void {
    this.log('hub', req);
    if (this.corsHeaders(req, res)) return;
    const url = new URL(req.url ?? '/', this.url);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const m = api ?? resolve;
    if (!m) return this.fail(res, 404, 'NotFound');
    if (resolve && this.unavailable > 0) { this.unavailable--; return this.fail(res, 503, 'ServiceUnavailable'); }
    const moved = this.renamed.get(decodeURIComponent(m[1]));
    if (moved) {
      res.writeHead(307, { location: (req.url ?? '').replace(m[1], moved) }).end();
      return;
    }
    const repo = this.repos.get(decodeURIComponent(m[1]));
    if (!repo) return this.fail(res, 401, 'RepoNotFound'); // as the real hub: no hint whether it exists
    if (repo.gatedToken !== undefined) {
      const auth = req.headers.authorization;
      if (!auth) return this.fail(res, 401, 'GatedRepo');
      if (auth !== `Bearer ${repo.gatedToken}`) return this.fail(res, 403, 'GatedRepo');
    }
    const rev = decodeURIComponent(m[2]);
    if (rev !== 'main' && rev !== repo.commit) return this.fail(res, 404, 'RevisionNotFound');
    if (api) {
      const siblings = [...repo.files].map(([path, f]) => ({
        rfilename: path, size: f.bytes.length, blobId: f.gitSha1, ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.bytes.length } } : {}),
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: m[1], sha: this.tamper.sha ?? repo.commit, siblings }));
      return;
    }
    const path = decodeURIComponent(resolve![3]);
    const f = repo.files.get(path);
    if (!f) return this.fail(res, 404, 'EntryNotFound');
    if (f.lfs) {
      res.writeHead(302, {
        location: `${this.cdnUrl}/cdn/${f.sha256}?signature=abc`,
        'x-repo-commit': repo.commit,
        'x-linked-etag': `"${this.tamper.etag ?? f.sha256}"`,
        'x-linked-size': String(f.bytes.length),
        etag: `"${f.gitSha1}"`, // the pointer file's id: X-Linked-Etag must win
        'content-length': '0',
      }).end();
      return;
    }
    res.writeHead(200, { etag: `"${this.tamper.etag ?? f.gitSha1}"`, 'x-repo-commit': repo.commit, 'content-length': String(f.bytes.length), 'content-type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : f.bytes);
  }

  private onCdn(req: IncomingMessage, res: ServerResponse): void {
    this.log('cdn', req);
    if (this.corsHeaders(req, res)) return;
    const m = /^\/cdn\/([0-9a-f]{64})$/.exec(new URL(req.url ?? '/', this.cdnUrl).pathname);
    let bytes = m ? this.blobs.get(m[1]) : undefined;
    if (!m || !bytes) return this.fail(res, 404, 'NoSuchKey');
    if (this.corrupt.has(m[1])) { bytes = Uint8Array.from(bytes); bytes[bytes.length >> 1] ^= 0xff; }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= bytes.length && bytes.length > 0) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    const body = bytes.subarray(start);
    const headers: Record<string, string> = { 'content-length': String(body.length), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (range) headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') { res.end(); return; }
    if (!range && this.cutOnce.delete(m[1])) {
      // half the body, then the connection drops (as a flaky network would)
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
