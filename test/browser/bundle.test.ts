// The browser build's guarantees (scripts/build-browser.mjs), without a browser: the
// bundle has no Node built-in, its Node-only paths reject with a clear message, a static
// Node import fails the build, and the kernels beside the bundle are the built ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const build: {
  findNodeImport(js: string): string | undefined;
  bundleForBrowser(o: { entryPoints: Record<string, string>; outdir: string }): Promise<unknown>;
} = await import(pathToFileURL(join(ROOT, 'scripts', 'build-browser.mjs')).href);
const tmp = mkdtempSync(join(tmpdir(), 'xlstm-bundle-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('dist/browser: xlstm.js and worker.js import no Node built-in; the kernels are the built ones', () => {
  for (const f of ['xlstm.js', 'worker.js']) {
    const js = readFileSync(join(ROOT, 'dist', 'browser', f), 'utf8');
    assert.equal(build.findNodeImport(js), undefined, f);
    assert.ok(!js.includes('src/backend/wasm/platform.node.ts'), `${f} carries the Node host`);
  }
  const bundle = readFileSync(join(ROOT, 'dist', 'browser', 'xlstm.js'), 'utf8');
  assert.ok(bundle.includes('// src/backend/wasm/platform.browser.ts'), 'the browser host is in the bundle');
  assert.ok(bundle.includes('new URL("./worker.js", import.meta.url)'), 'the pool starts worker.js beside the bundle');
  for (const k of ['kernels-simd.wasm', 'kernels-relaxed.wasm']) {
    assert.deepEqual(readFileSync(join(ROOT, 'dist', 'browser', k)), readFileSync(join(ROOT, 'dist', 'wasm', k)), k);
  }
});

test('findNodeImport: static, dynamic, require and bare built-ins; not strings in messages', () => {
  assert.equal(build.findNodeImport('import { readFile } from "node:fs/promises";'), 'node:fs/promises');
  assert.equal(build.findNodeImport('const os = await import( "node:os");'), 'node:os');
  assert.equal(build.findNodeImport("export * from 'path';"), 'path');
  assert.equal(build.findNodeImport('const w = require("worker_threads");'), 'worker_threads');
  assert.equal(build.findNodeImport('import "node:v8";'), 'node:v8');
  assert.equal(build.findNodeImport('throw new Error("this needs Node.js (node:fs/promises)");'), undefined);
  assert.equal(build.findNodeImport('import { x } from "./pathology.js";'), undefined);
});

test('a static import of a Node built-in fails the browser build', async () => {
  const entry = join(tmp, 'static.ts');
  writeFileSync(entry, "import { readFileSync } from 'node:fs';\nexport const read = (p: string) => readFileSync(p);\n");
  await assert.rejects(build.bundleForBrowser({ entryPoints: { out: entry }, outdir: join(tmp, 'static') }),
    /imports the Node built-in "node:fs" statically; the browser bundle cannot contain it/);
});

test('a dynamic import of a Node built-in bundles to a rejection that says Node.js is needed', async () => {
  const entry = join(tmp, 'dynamic.ts');
  writeFileSync(entry, "export async function size(p: string) { const { stat } = await import('node:fs/promises'); return (await stat(p)).size; }\n");
  await build.bundleForBrowser({ entryPoints: { out: entry }, outdir: join(tmp, 'dynamic') });
  const out = join(tmp, 'dynamic', 'out.js');
  assert.ok(existsSync(out));
  assert.equal(build.findNodeImport(readFileSync(out, 'utf8')), undefined);
  const mod = await import(pathToFileURL(out).href);
  // Even under Node the bundled function cannot reach node:fs: the import was replaced.
  await assert.rejects(mod.size(entry), /xlstm-ts: this function needs Node\.js \(node:fs\/promises\)/);
});
