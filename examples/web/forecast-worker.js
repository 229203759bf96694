// The model side of forecast.html, in a module Web Worker: the page stays responsive and
// the thread pool may block here (a page's main thread may not). Messages in:
// { type: 'forecast', id, csv, horizon, model: { kind: 'default' } | { kind: 'files', config, safetensors }
//   | { kind: 'hub', id, endpoint, token }, columns?: { target, past, future } (comma-separated names) }.
// A TiRex-2 model (a folder whose config.json has stack_config, or a hub id like NX-AI/TiRex-2)
// forecasts the named target columns with the named past / future covariates (the layout of
// `xlstm forecast --target ... --past-covariates ... --future-covariates ...`); without names
// every column is a univariate target.
// Out: { type: 'progress', id, stage, done, total }, { type: 'download', id, event } (hub progress events),
// { type: 'result', id, ... }, { type: 'error', id, message }.
import { WasmBackend, TiRex, TiRex2, loadDefaultForecaster, parseSafetensors, timeseries } from '../../dist/browser/xlstm.js';

const backendReady = WasmBackend.create();
// Loaded models by key, so a second forecast does not reload the weights.
const models = new Map();

function load(spec, backend, post) {
  if (spec.kind === 'default') return loadDefaultForecaster({ backend });
  if (spec.kind === 'hub') {
    // The files go to the Cache API (cache 'xlstm-hub'): after a reload nothing is downloaded again.
    const hub = { endpoint: spec.endpoint || undefined, token: spec.token || undefined, onProgress: (event) => post({ type: 'download', event }) };
    return (isTiRex2Id(spec.id) ? TiRex2 : TiRex).fromPretrained(spec.id, { backend, hub });
  }
  const st = parseSafetensors(new Uint8Array(spec.safetensors), { source: `${spec.name}/model.safetensors` });
  const tensors = new Map(st.names().map((n) => [n, st.read(n)]));
  return isTiRex2Config(spec.config) ? TiRex2.fromTensors(spec.config, tensors, { backend }) : TiRex.fromTensors(spec.config, tensors, { backend });
}

/** A TiRex-2 config (the official kwargs) has stack_config; a TiRex one has model_config. */
const isTiRex2Config = (c) => c !== null && typeof c === 'object' && 'stack_config' in c;
/** Hub ids of TiRex-2 repositories (NX-AI/TiRex-2 and copies named alike). */
const isTiRex2Id = (id) => /tirex-?2/i.test(id.split('@')[0]);

/** 'a, b' -> ['a', 'b']. */
function names(text, what) {
  const out = String(text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const dup = out.find((c, i) => out.indexOf(c) !== i);
  if (dup !== undefined) throw new Error(`${what}: column '${dup}' is given twice`);
  return out;
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
  const cols = { target: names(msg.columns?.target, 'targets'), past: names(msg.columns?.past, 'past covariates'), future: names(msg.columns?.future, 'future covariates') };
  if (!cols.target.length && (cols.past.length || cols.future.length)) throw new Error('covariate columns need the target columns too (name them under Targets)');
  post({ type: 'progress', stage: 'loading the model', done: 0, total: 1 });
  const backend = await backendReady;
  const model = await modelFor(msg.model, backend, post);
  if (model instanceof TiRex2) return forecastTiRex2(msg, model, cols, horizon, backend, post);
  if (cols.target.length) throw new Error('named target / covariate columns need a TiRex-2 model (a TiRex-2 folder, or a hub id like NX-AI/TiRex-2); this model is a TiRex (univariate): clear the column names');
  const parsed = timeseries.parseSeriesCsv(msg.csv, { source: 'the CSV' });
  if (parsed.series.length === 0) throw new Error('the CSV has no series');
  const prepared = prepare(parsed.series, horizon);
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

/**
 * TiRex-2: with target columns, each series of the CSV (wide: the file, long: per id) gives its
 * targets and covariates; the horizon's future covariate values are the rows after the last
 * target value. Without names every column is a univariate target. One result row per
 * (series, target column).
 */
function forecastTiRex2(msg, model, cols, horizon, backend, post) {
  const warnings = [];
  const opts = { predictionLength: horizon, onWarning: (w) => warnings.push(w.replace(/^TiRex2\.forecast: /, '')) };
  const entries = []; // { id, history, labels, future, input | error }
  if (cols.target.length) {
    const parsed = timeseries.parseCovariateCsv(msg.csv, { source: 'the CSV', ...cols });
    if (parsed.length === 0) throw new Error('the CSV has no series');
    // the future rows the file must hold are those of the horizon the model answers (capped at future_len)
    const H = Math.min(horizon, model.config.futureLength);
    for (const s of parsed) {
      const x = timeseries.covariateModelInput(s, cols, H, 'forecast');
      cols.target.forEach((c, v) => {
        const id = s.id === timeseries.WIDE_SERIES_ID ? c : `${s.id}/${c}`;
        if (typeof x === 'string') entries.push({ id, history: [], labels: [], future: [], error: x, series: -1, v });
        else entries.push({ id, history: Array.from(x.target[v]), labels: x.history, future: x.futureLabels, input: x, v });
      });
    }
  } else {
    const parsed = timeseries.parseSeriesCsv(msg.csv, { source: 'the CSV' });
    if (parsed.series.length === 0) throw new Error('the CSV has no series');
    for (const p of prepare(parsed.series, horizon)) {
      entries.push({ id: p.id, history: Array.from(p.values), labels: p.labels, future: p.future, error: p.error, input: p.error ? undefined : { target: [p.values], past: [], future: [] }, v: 0 });
    }
  }
  // one model series per input (a multi-target input appears once per target column)
  const inputs = [...new Set(entries.filter((e) => e.input).map((e) => e.input))];
  post({ type: 'progress', stage: 'forecasting', done: 0, total: inputs.length });
  const t0 = performance.now();
  const f = inputs.length ? model.forecast(inputs.map((x) => ({ target: x.target.map((r) => Float32Array.from(r)), pastCovariates: x.past.map((r) => Float32Array.from(r)), futureCovariates: x.future.map((r) => Float32Array.from(r)) })), opts) : null;
  const ms = performance.now() - t0;
  post({ type: 'progress', stage: 'forecasting', done: inputs.length, total: inputs.length });
  const H = f ? f.predictionLength : horizon, Q = f ? f.quantileLevels.length : 0;
  const series = entries.map((e) => {
    const base = { id: e.id, history: e.history, labels: e.labels, future: e.future.slice(0, H) };
    if (e.error) return { ...base, error: e.error };
    const k = inputs.indexOf(e.input);
    const err = f.errors.find((x) => x.series === k);
    if (err) return { ...base, error: err.message.replace(/^TiRex2\.forecast: series\[\d+\]/, 'the series') };
    const r = f.series[k], v = e.v;
    return { ...base, median: Array.from(r.median.subarray(v * H, (v + 1) * H)),
      quantiles: Array.from({ length: H }, (_, t) => Array.from({ length: Q }, (_, q) => r.quantiles[(v * Q + q) * H + t])) };
  });
  post({ type: 'result', levels: f ? [...f.quantileLevels] : [], series, threads: backend.threads,
    singleThreadReason: backend.features.singleThreadReason ?? null, ms, model: 'TiRex-2', warnings });
}

self.addEventListener('message', (e) => {
  if (e.data?.type !== 'forecast') return;
  forecast(e.data).catch((err) => self.postMessage({ type: 'error', id: e.data.id, message: err?.message ?? String(err) }));
});
self.postMessage({ type: 'ready' });
