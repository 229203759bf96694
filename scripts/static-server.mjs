// A small static file server on 127.0.0.1 for the demo pages (scripts/demo.mjs) and the
// browser tests (test/browser/server.ts). Only the mounted folders are reachable. With
// `isolate`, every response carries the COOP/COEP headers that make a page cross-origin
// isolated, which the WebAssembly backend needs for threads on Web Workers.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const TYPES = {
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.json': 'application/json', '.wasm': 'application/wasm', '.html': 'text/html; charset=utf-8', '.csv': 'text/csv; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.md': 'text/markdown; charset=utf-8',
};

/**
 * @param {{ root: string, mounts: Array<[string, string]>, pages?: Record<string, string>,
 *   redirects?: Record<string, string>, isolate: boolean, port?: number }} opts
 *   mounts: [url prefix ending in '/', folder relative to root]; pages: inline HTML by path.
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startStaticServer(opts) {
  const pages = opts.pages ?? {};
  const redirects = opts.redirects ?? {};
  for (const [prefix] of opts.mounts) if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new Error(`static server: mount '${prefix}' must start and end with /`);
  const server = createServer(async (req, res) => {
    const headers = { 'cache-control': 'no-store' };
    if (opts.isolate) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, { ...headers, ...extra, 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed');
    let path;
    try { path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname); } catch { return send(400, 'text/plain', 'bad path'); }
    if (Object.hasOwn(pages, path)) return send(200, TYPES['.html'], pages[path]);
    if (Object.hasOwn(redirects, path)) return send(302, 'text/plain', '', { location: redirects[path] });
    if (path === '/favicon.ico') return send(204, 'image/x-icon', ''); // keeps 404s out of the page's console
    for (const [prefix, dir] of opts.mounts) {
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
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(opts.port ?? 0, '127.0.0.1', ok); });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
