// Browser entry (`xlstm-ts/browser`, bundled to dist/browser/xlstm.js by
// scripts/build-browser.mjs): everything of the platform-neutral entry. In the bundle
// the WebAssembly backend fetches its kernels beside xlstm.js (or from
// WasmBackendOptions.wasmBaseUrl) and runs its threads on Web Workers when the page is
// cross-origin isolated. TiRex.fromPretrained and XLSTMLarge.fromPretrained take hub ids,
// fetched into the Cache API (src/hub/pageLoaders.ts, docs/HUB.md). Functions that read files
// by path are Node-only: in the bundle they reject with an error that says so; pass fetched
// bytes instead (parseSafetensors, TiRex.fromTensors, XLSTMLarge.fromSource).
export * from './index.js';
// Random weights of a given xLSTM Large config, generated from the tensor names: lets the
// browser bench (examples/web/bench.html) measure tokens/s without downloading a model.
export { RandomXLSTMLargeSource } from './models/xlstmLarge/randomWeights.js';
