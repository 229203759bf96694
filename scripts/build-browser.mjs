// Bundles the browser build: dist/browser/xlstm.js (entry src/browser.ts), the pool's
// Web Worker dist/browser/worker.js, and the kernels kernels-{simd,relaxed}.wasm beside
// them (fetched by URL at run time). Runs after build-wasm.mjs (it copies dist/wasm).
//
// Node built-ins: the library reaches node:fs and friends only through dynamic
// import() inside Node-only functions (reading a model folder, writing checkpoints).
// In the bundle each such import becomes a module that throws "Node.js only", so those
// functions reject with a clear message. A static import of a built-in, anywhere in the
// bundle, fails the build, and so does any "node:" specifier left in the output.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const wasmDir = join(root, 'src', 'backend', 'wasm');
// Modules that import Node built-ins statically; the library reaches them only through
// dynamic import() in Node-only code paths.
// hub/resolve.js is the huggingface_hub cache on disk: in the bundle, TiRex.fromPretrained and
// XLSTMLarge.fromPretrained take hub ids through hub/pageLoaders.ts instead (see hub/host.ts),
// and the other loaders that resolve ids (loadLanguageModel, detectModel, ...) say "needs Node.js".
const nodeOnlyModules = ['io/safetensorsFile.js', 'io/safetensorsSharded.js', 'io/safetensorsWrite.js', 'train/forecastDataWorker.js', 'hub/resolve.js'];
const hubDir = join(root, 'src', 'hub');

/** @type {esbuild.Plugin} */
export const browserPlatform = {
  name: 'xlstm-browser-platform',
  setup(build) {
    // The browser host of the wasm backend in place of the Node one (see platform.ts).
    build.onResolve({ filter: /\/platform\.node\.js$/ }, (a) => {
      if (resolve(a.resolveDir) !== wasmDir) return undefined;
      return { path: join(wasmDir, 'platform.browser.ts') };
    });
    // fromPretrained's host switch: hub ids go to fetch + the Cache API in the bundle.
    build.onResolve({ filter: /\/host\.js$/ }, (a) => {
      if (resolve(a.resolveDir, a.path) !== join(hubDir, 'host.js')) return undefined;
      return { path: join(hubDir, 'host.browser.ts') };
    });
    // csv-parse's Node build uses the Buffer global; its browser build carries its own.
    build.onResolve({ filter: /^csv-parse\/sync$/ }, (a) => build.resolve('csv-parse/browser/esm/sync', { resolveDir: a.resolveDir, kind: a.kind }));
    build.onResolve({ filter: /^node:|^(fs|path|os|url|worker_threads|child_process|v8)(\/|$)/ }, (a) => {
      if (a.kind === 'dynamic-import') return { path: a.path, namespace: 'node-only' };
      return { errors: [{ text: `${a.importer} imports the Node built-in "${a.path}" statically; the browser bundle cannot contain it` }] };
    });
    build.onResolve({ filter: /\.js$/ }, (a) => {
      if (a.kind !== 'dynamic-import') return undefined;
      const target = resolve(a.resolveDir, a.path).split(sep).join('/');
      const hit = nodeOnlyModules.find((m) => target.endsWith('/src/' + m));
      return hit ? { path: hit, namespace: 'node-only' } : undefined;
    });
    // The default forecaster resolves the package's models/ folder from its own module URL,
    // written for dist/src/models/tirex/; in the bundle that module URL is dist/browser/xlstm.js.
    build.onLoad({ filter: /[\\/]src[\\/]models[\\/]tirex[\\/]defaultForecaster\.ts$/ }, async (a) => {
      const ts = await readFile(a.path, 'utf8');
      const from = "'../../../../models/default-forecaster/'";
      if (ts.split(from).length !== 2) {
        return { errors: [{ text: `${a.path}: expected the folder URL ${from} once; update scripts/build-browser.mjs to its new form` }] };
      }
      return { contents: ts.replace(from, "'../../models/default-forecaster/'"), loader: 'ts' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`xlstm-ts: this function needs Node.js (${a.path}); in a browser, fetch the files and pass their bytes (parseSafetensors, TiRex.fromTensors, XLSTMLarge.fromSource)`)});`,
      loader: 'js',
    }));
  },
};

/** The first Node built-in a bundle imports (static, dynamic or require), or undefined. */
export function findNodeImport(js) {
  const m = js.match(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["'](node:[^"']+|(?:fs|path|os|url|worker_threads|child_process|v8)(?:\/[^"']*)?)["']/);
  return m ? m[1] : undefined;
}

/**
 * Bundles `entryPoints` ({ outName: sourcePath }) for browsers into `outdir` and checks the
 * output; throws (esbuild's error or ours) on a Node built-in or on Node host code.
 */
export async function bundleForBrowser({ entryPoints, outdir }) {
  const r = await esbuild.build({
    entryPoints, outdir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true,
    plugins: [browserPlatform], logLevel: 'silent', metafile: true, absWorkingDir: root,
  });
  // The check does not trust the plugin: no Node specifier and no Node host code in the output.
  for (const out of Object.keys(r.metafile.outputs).filter((f) => f.endsWith('.js'))) {
    const bad = findNodeImport(readFileSync(resolve(root, out), 'utf8'));
    if (bad) throw new Error(`${out} imports the Node built-in "${bad}"`);
  }
  const leaked = Object.keys(r.metafile.inputs).find((p) => /platform\.node\.ts$|binaries\.js$|src\/hub\/host\.ts$/.test(p));
  if (leaked) throw new Error(`the browser bundle contains ${leaked} (Node host code)`);
  return r;
}

async function main() {
  const outDir = join(root, 'dist', 'browser');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // Two builds: the worker must not share chunks with the page's bundle.
  await bundleForBrowser({ entryPoints: { xlstm: join(root, 'src/browser.ts') }, outdir: outDir });
  await bundleForBrowser({ entryPoints: { worker: join(wasmDir, 'worker.ts') }, outdir: outDir });
  for (const name of ['kernels-simd.wasm', 'kernels-relaxed.wasm']) copyFileSync(join(root, 'dist/wasm', name), join(outDir, name));
  const size = (f) => (readFileSync(join(outDir, f)).length / 1024).toFixed(0) + ' KiB';
  console.log(`browser bundle: dist/browser/xlstm.js (${size('xlstm.js')}), worker.js (${size('worker.js')}), kernels-simd.wasm, kernels-relaxed.wasm`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main().catch((e) => { console.error(`build-browser: ${e.message}`); process.exit(1); });
}
