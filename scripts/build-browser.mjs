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

const outDir = 'dist/browser';
const wasmDir = resolve('src/backend/wasm');
// Modules that import Node built-ins statically; the library reaches them only through
// dynamic import() in Node-only code paths.
const nodeOnlyModules = ['io/safetensorsFile.js', 'io/safetensorsSharded.js', 'io/safetensorsWrite.js', 'train/forecastDataWorker.js'];

/** @type {esbuild.Plugin} */
const browserPlatform = {
  name: 'xlstm-browser-platform',
  setup(build) {
    // The browser host of the wasm backend in place of the Node one (see platform.ts).
    build.onResolve({ filter: /\/platform\.node\.js$/ }, (a) => {
      if (resolve(a.resolveDir) !== wasmDir) return undefined;
      return { path: join(wasmDir, 'platform.browser.ts') };
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

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const common = {
  bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true,
  plugins: [browserPlatform], logLevel: 'warning', metafile: true,
};
const results = await Promise.all([
  esbuild.build({ ...common, entryPoints: { xlstm: 'src/browser.ts' }, outdir: outDir }),
  esbuild.build({ ...common, entryPoints: { worker: 'src/backend/wasm/worker.ts' }, outdir: outDir }),
]);
for (const name of ['kernels-simd.wasm', 'kernels-relaxed.wasm']) copyFileSync(join('dist/wasm', name), join(outDir, name));

// The check does not trust the plugin: no Node specifier and no Node host code in the output.
for (const file of ['xlstm.js', 'worker.js']) {
  const js = readFileSync(join(outDir, file), 'utf8');
  const bad = js.match(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["'](node:[^"']+|(?:fs|path|os|url|worker_threads|child_process|v8)(?:\/[^"']*)?)["']/);
  if (bad) throw new Error(`${outDir}/${file} imports the Node built-in "${bad[1]}"`);
}
for (const r of results) {
  const inputs = Object.keys(r.metafile.inputs);
  const leaked = inputs.find((p) => /platform\.node\.ts$|binaries\.js$/.test(p));
  if (leaked) throw new Error(`the browser bundle contains ${leaked} (Node host code)`);
}
const size = (f) => (readFileSync(join(outDir, f)).length / 1024).toFixed(0) + ' KiB';
console.log(`browser bundle: ${outDir}/xlstm.js (${size('xlstm.js')}), worker.js (${size('worker.js')}), kernels-simd.wasm, kernels-relaxed.wasm`);
