// The browser tests' static server: scripts/static-server.mjs (shared with `npm run demo`)
// with the folders the tests need: the bundle (dist/browser), the compiled test helpers
// (dist/test/browser), the golden fixtures (test/fixtures), the package's models/ folder
// (where the bundle's loadDefaultForecaster looks: ../../models/ from dist/browser/) and
// the demo pages (examples/web).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface StaticServerOptions {
  /** The repository root (dist/, test/fixtures/, models/ and scripts/ are under it). */
  root: string;
  /** Send Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp. */
  isolate: boolean;
  /** HTML pages by path ('/' is the test page). */
  pages: Readonly<Record<string, string>>;
}

export interface StaticServer { url: string; close(): Promise<void> }

export const TEST_MOUNTS: ReadonlyArray<[string, string]> = [
  ['/dist/browser/', 'dist/browser'],
  ['/dist/test/browser/', 'dist/test/browser'],
  ['/dist/test/helpers/', 'dist/test/helpers'],
  ['/fixtures/', 'test/fixtures'],
  ['/models/', 'models'],
  ['/examples/web/', 'examples/web'],
];

export async function startStaticServer(opts: StaticServerOptions): Promise<StaticServer> {
  const mod = await import(pathToFileURL(join(opts.root, 'scripts', 'static-server.mjs')).href);
  return mod.startStaticServer({ root: opts.root, isolate: opts.isolate, pages: opts.pages, mounts: TEST_MOUNTS });
}
