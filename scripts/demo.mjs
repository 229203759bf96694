// `npm run demo`: serves the demo pages (examples/web) with the browser bundle
// (dist/browser) and the shipped forecaster (models/) on 127.0.0.1, cross-origin isolated
// so the model runs on several threads, and prints the URL. Build first (npm run build).
// Options: --port N (default 8080; 0 = any free port).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startStaticServer } from './static-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

export const DEMO_MOUNTS = [
  ['/examples/web/', 'examples/web'],
  ['/dist/browser/', 'dist/browser'],
  ['/models/', 'models'],
];

/** The demo server; `port` 0 picks a free one. */
export async function startDemoServer({ port = 0 } = {}) {
  if (!existsSync(join(root, 'dist', 'browser', 'xlstm.js'))) throw new Error('dist/browser/xlstm.js is missing: run npm run build first');
  return startStaticServer({ root, mounts: DEMO_MOUNTS, isolate: true, port, redirects: { '/': '/examples/web/forecast.html' } });
}

function parsePort(argv) {
  const i = argv.indexOf('--port');
  if (i < 0) return 8080;
  const p = Number(argv[i + 1]);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port must be an integer 0..65535, got '${argv[i + 1]}'`);
  return p;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const s = await startDemoServer({ port: parsePort(process.argv.slice(2)) });
    console.log(`xlstm-ts demo: ${s.url}examples/web/forecast.html (forecasting; Ctrl-C stops)`);
  } catch (e) {
    console.error(`demo: ${e.message}`);
    process.exit(1);
  }
}
