// The browser side of the hub (ids, transport, Cache API loader) must bundle for the browser
// without Node built-ins: the Node cache lives in separate files for that reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('src/hub/index.ts bundles for the browser with no node: imports', async () => {
  const r = await build({ entryPoints: [join(ROOT, 'src', 'hub', 'index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
  assert.deepEqual(r.errors, []);
  const code = r.outputFiles[0].text;
  assert.ok(code.includes('fetchModelFilesBrowser'));
  assert.ok(!/from\s*["']node:|require\(["'](node:)?(fs|path|os|crypto)["']\)/.test(code));
  // and the Node cache really is Node-only: bundling it for the browser fails on its built-ins
  await assert.rejects(build({ entryPoints: [join(ROOT, 'src', 'hub', 'nodeCache.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' }), /node:/);
});
