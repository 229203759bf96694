// A small static server for the browser tests, on 127.0.0.1 only: the browser bundle
// (dist/browser), the compiled test helpers (dist/test/browser), the golden fixtures
// (test/fixtures), the package's models/ folder and one test page. With `isolate` every response carries the
// COOP/COEP headers that make the page cross-origin isolated.
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface StaticServerOptions {
  /** The repository root (dist/ and test/fixtures/ are under it). */
  root: string;
  /** Send Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp. */
  isolate: boolean;
  /** HTML pages by path ('/' is the test page). */
  pages: Readonly<Record<string, string>>;
}

export interface StaticServer { url: string; close(): Promise<void> }

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.json': 'application/json', '.wasm': 'application/wasm', '.html': 'text/html; charset=utf-8', '.csv': 'text/csv',
};

/** URL prefix -> folder under the root; nothing else on disk is reachable. */
const MOUNTS: ReadonlyArray<readonly [string, string]> = [
  ['/dist/browser/', 'dist/browser'],
  ['/dist/test/browser/', 'dist/test/browser'],
  ['/fixtures/', 'test/fixtures'],
  // the package's models/ folder, where the bundle's loadDefaultForecaster looks (../../models/ from dist/browser/)
  ['/models/', 'models'],
];

export async function startStaticServer(opts: StaticServerOptions): Promise<StaticServer> {
  const server: Server = createServer(async (req, res) => {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (opts.isolate) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { ...headers, 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (Object.hasOwn(opts.pages, path)) return send(200, TYPES['.html'], opts.pages[path]);
    if (path === '/favicon.ico') return send(204, 'image/x-icon', ''); // keeps 404s out of the page's console
    for (const [prefix, dir] of MOUNTS) {
      if (!path.startsWith(prefix)) continue;
      const base = resolve(opts.root, dir);
      const file = resolve(base, '.' + path.slice(prefix.length - 1));
      if (!file.startsWith(base + sep)) return send(403, 'text/plain', 'outside the served folder');
      try {
        if (!(await stat(file)).isFile()) return send(404, 'text/plain', 'not a file');
        return send(200, TYPES[extname(file)] ?? 'application/octet-stream', await readFile(file));
      } catch { return send(404, 'text/plain', `not found: ${path}`); }
    }
    return send(404, 'text/plain', `not found: ${path}`);
  });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(0, '127.0.0.1', ok); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
