// The model side of forecast.html, in a module Web Worker: the page stays responsive and
// the thread pool may block here (a page's main thread may not). Messages in:
// { type: 'forecast', id, csv, horizon, model: { kind: 'default' } | { kind: 'files', config, safetensors }
//   | { kind: 'hub', id, endpoint, token } }.
// Out: { type: 'progress', id, stage, done, total }, { type: 'download', id, event } (hub progress events),
// { type: 'result', id, ... }, { type: 'error', id, message }.
import { WasmBackend, TiRex, loadDefaultForecaster, parseSafetensors, timeseries } from '../../dist/browser/xlstm.js';

const backendReady = WasmBackend.create();
// Loaded models by key, so a second forecast does not reload the weights.
const models = new Map();

function load(spec, backend, post) {
  if (spec.kind === 'default') return loadDefaultForecaster({ backend });
  if (spec.kind === 'hub') {
    // The files go to the Cache API (cache 'xlstm-hub'): after a reload nothing is downloaded again.
    const hub = { endpoint: spec.endpoint || undefined, token: spec.token || undefined, onProgress: (event) => post({ type: 'download', event }) };
    return TiRex.fromPretrained(spec.id, { backend, hub });
  }
  const st = parseSafetensors(new Uint8Array(spec.safetensors), { source: `${spec.name}/model.safetensors` });
  return TiRex.fromTensors(spec.config, new Map(st.names().map((n) => [n, st.read(n)])), { backend });
}

async function modelFor(spec, backend, post) {
  const key = spec.kind === 'default' ? 'default' : spec.kind === 'hub' ? `hub:${spec.endpoint}:${spec.id}` : `files:${spec.name}:${spec.safetensors.byteLength}`;
  if (!models.has(key)) {
    const loading = load(spec, backend, post);
    models.set(key, loading);
    loading.catch(() => models.delete(key));
  }
  return models.get(key);
}

/** Timestamps of the horizon, from the series' own frequency (integer steps without timestamps). */
function prepare(series, horizon) {
  return series.map((s) => {
    if (s.timestamps === null) {
      return { id: s.id, values: s.values, labels: Array.from(s.values, (_, i) => String(s.start + i)),
        future: Array.from({ length: horizon }, (_, j) => String(s.start + s.values.length + j)) };
    }
    try {
      const freq = timeseries.inferFrequency(s.timestamps);
      return { id: s.id, values: s.values, labels: s.timestamps, future: timeseries.futureTimestamps(s.timestamps[s.timestamps.length - 1], freq, horizon) };
    } catch (e) {
      return { id: s.id, values: s.values, labels: s.timestamps, future: [], error: e.message };
    }
  });
}

async function forecast(msg) {
  const post = (m) => self.postMessage({ ...m, id: msg.id });
  const horizon = Number(msg.horizon);
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > 10000) throw new Error(`the horizon must be a whole number from 1 to 10000, got '${msg.horizon}'`);
  const parsed = timeseries.parseSeriesCsv(msg.csv, { source: 'the CSV' });
  if (parsed.series.length === 0) throw new Error('the CSV has no series');
  const prepared = prepare(parsed.series, horizon);
  post({ type: 'progress', stage: 'loading the model', done: 0, total: 1 });
  const backend = await backendReady;
  const model = await modelFor(msg.model, backend, post);
  const ok = prepared.filter((p) => !p.error);
  const t0 = performance.now();
  let f = null;
  if (ok.length > 0) {
    f = model.forecast(ok.map((p) => Float32Array.from(p.values)), {
      predictionLength: horizon,
      onProgress: ({ done, total }) => post({ type: 'progress', stage: 'forecasting', done, total }),
    });
  }
  const ms = performance.now() - t0;
  let j = 0;
  const series = prepared.map((p) => {
    const base = { id: p.id, history: Array.from(p.values), labels: p.labels, future: p.future };
    if (p.error) return { ...base, error: p.error };
    const k = j++;
    const err = f.errors.find((e) => e.series === k);
    if (err) return { ...base, error: err.message };
    return { ...base, median: Array.from(f.median[k]), quantiles: f.quantiles[k].map((q) => Array.from(q)) };
  });
  post({ type: 'result', levels: f ? [...f.quantileLevels] : [], series, threads: backend.threads,
    singleThreadReason: backend.features.singleThreadReason ?? null, ms });
}

self.addEventListener('message', (e) => {
  if (e.data?.type !== 'forecast') return;
  forecast(e.data).catch((err) => self.postMessage({ type: 'error', id: e.data.id, message: err?.message ?? String(err) }));
});
self.postMessage({ type: 'ready' });
