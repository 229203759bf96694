// The page side of the forecasting demo: reads the CSV (paste, drop or file), hands it to
// forecast-worker.js, and draws history, median and quantile bands as an SVG with hover
// values and a zoom to the forecast. The CSV download has the columns of `xlstm forecast`:
// id, timestamp, median, one column per quantile level. A hub model id shows its download
// progress (bytes, %); the files stay in the Cache API, so a reload does not download them.
import { HubProgress } from './hubProgress.js';

const $ = (id) => document.getElementById(id);
const W = 880, H = 380, M = { left: 64, right: 16, top: 16, bottom: 40 };
const COLORS = { history: '#1f2937', median: '#2563eb', outer: '#bfdbfe', inner: '#93c5fd', grid: '#e5e7eb', axis: '#6b7280', hover: '#dc2626' };

const worker = new Worker(new URL('./forecast-worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
let result = null;
const hubProgress = new HubProgress($('hub-progress'), $('hub-bar'));

function setStatus(text, state) { $('status').textContent = text; $('status').dataset.state = state; }

worker.addEventListener('message', (e) => {
  const m = e.data;
  if (m.type === 'download') {
    hubProgress.update(m.event);
  } else if (m.type === 'progress') {
    $('progress').max = Math.max(1, m.total);
    $('progress').value = m.done;
    setStatus(`${m.stage}${m.total > 1 ? ` (${m.done} of ${m.total} series)` : ''}...`, 'busy');
  } else if (m.type === 'result') {
    result = m;
    $('progress').value = $('progress').max;
    const bad = m.series.filter((s) => s.error);
    const threads = `${m.threads} thread${m.threads > 1 ? 's' : ''}${m.singleThreadReason ? ` (${m.singleThreadReason})` : ''}`;
    setStatus(`Forecast of ${m.series.length - bad.length} series done in ${m.ms.toFixed(0)} ms on ${threads}.`
      + (m.warnings?.length ? ` ${m.warnings.join(' ')}` : '')
      + (bad.length ? ` Not forecast: ${bad.map((s) => `${s.id}: ${s.error}`).join('; ')}` : ''), 'done');
    $('series').replaceChildren(...m.series.map((s, i) => new Option(s.error ? `${s.id} (error)` : s.id, String(i))));
    $('download').disabled = bad.length === m.series.length;
    $('run').disabled = false;
    draw();
  } else if (m.type === 'error') {
    setStatus(m.message, 'error');
    $('run').disabled = false;
  }
});
worker.addEventListener('error', (e) => setStatus(`the model worker failed: ${e.message || 'could not load (is dist/browser built?)'}`, 'error'));

// ---- input ----
$('csv-file').addEventListener('change', async () => { const f = $('csv-file').files[0]; if (f) $('csv').value = await f.text(); });
// typing an id means using it
$('hub-id').addEventListener('focus', () => { document.querySelector('input[name="model"][value="hub"]').checked = true; });
$('csv').addEventListener('dragover', (e) => { e.preventDefault(); $('csv').classList.add('drop'); });
$('csv').addEventListener('dragleave', () => $('csv').classList.remove('drop'));
$('csv').addEventListener('drop', async (e) => {
  e.preventDefault();
  $('csv').classList.remove('drop');
  const f = e.dataTransfer.files[0];
  if (f) $('csv').value = await f.text();
});

async function modelSpec() {
  const kind = document.querySelector('input[name="model"]:checked').value;
  if (kind === 'default') return { kind: 'default' };
  if (kind === 'hub') {
    const id = $('hub-id').value.trim();
    if (!id) throw new Error('type a hub model id, e.g. NX-AI/TiRex');
    return { kind: 'hub', id, endpoint: $('hub-endpoint').value.trim(), token: $('hub-token').value.trim() };
  }
  const files = [...$('model-folder').files];
  const find = (name) => files.find((f) => f.name === name);
  const cfg = find('config.json'), sft = find('model.safetensors');
  if (!cfg || !sft) throw new Error('pick a folder with config.json and model.safetensors (convert an official model.ckpt with `xlstm convert tirex`)');
  const name = (sft.webkitRelativePath || sft.name).split('/')[0];
  return { kind: 'files', name, config: JSON.parse(await cfg.text()), safetensors: await sft.arrayBuffer() };
}

$('run').addEventListener('click', async () => {
  const csv = $('csv').value;
  if (!csv.trim()) { setStatus('paste, drop or pick a CSV first', 'error'); return; }
  let model;
  try { model = await modelSpec(); } catch (e) { setStatus(e.message, 'error'); return; }
  $('run').disabled = true;
  $('progress').value = 0;
  if (model.kind === 'hub') hubProgress.reset();
  setStatus('starting...', 'busy');
  const columns = { target: $('target-cols').value, past: $('past-cols').value, future: $('future-cols').value };
  worker.postMessage({ type: 'forecast', id: nextId++, csv, horizon: $('horizon').value, model, columns }, model.safetensors ? [model.safetensors] : []);
});

// ---- plot ----
$('series').addEventListener('change', draw);
$('zoom').addEventListener('change', draw);

function niceTicks(lo, hi, n = 5) {
  const span = hi - lo || Math.abs(hi) || 1;
  const step0 = span / n, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}
const svgEl = (tag, attrs) => {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
};
const fmt = (v) => (Number.isFinite(v) ? Number(v.toPrecision(5)).toString() : 'missing');

/** Band between quantile levels lo and hi (indices into levels), if both exist. */
function band(s, levels, lo, hi) {
  const a = levels.findIndex((l) => Math.abs(l - lo) < 1e-9), b = levels.findIndex((l) => Math.abs(l - hi) < 1e-9);
  return a < 0 || b < 0 ? null : { lower: s.quantiles.map((q) => q[a]), upper: s.quantiles.map((q) => q[b]), label: `${lo * 100}-${hi * 100}%` };
}

function draw() {
  const plot = $('plot');
  plot.querySelector('svg')?.remove();
  if (!result) return;
  const s = result.series[Number($('series').value) || 0];
  const svg = svgEl('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: 'chart' });
  plot.prepend(svg);
  if (s.error) { svg.append(Object.assign(svgEl('text', { x: M.left, y: H / 2, fill: COLORS.hover }), { textContent: `${s.id}: ${s.error}` })); return; }
  const Hz = s.median.length, n = s.history.length;
  const first = $('zoom').checked ? Math.max(0, n - Math.max(2 * Hz, 24)) : 0;
  const xs = (i) => M.left + ((i - first) / Math.max(1, n + Hz - 1 - first)) * (W - M.left - M.right);
  const outer = band(s, result.levels, 0.1, 0.9), inner = band(s, result.levels, 0.25, 0.75) ?? band(s, result.levels, 0.2, 0.8);
  const visible = [...s.history.slice(first), ...s.median, ...(outer ? [...outer.lower, ...outer.upper] : [])].filter(Number.isFinite);
  let lo = Math.min(...visible), hi = Math.max(...visible);
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.05;
  lo -= pad; hi += pad;
  const ys = (v) => M.top + (1 - (v - lo) / (hi - lo)) * (H - M.top - M.bottom);
  for (const t of niceTicks(lo, hi)) {
    svg.append(svgEl('line', { x1: M.left, x2: W - M.right, y1: ys(t), y2: ys(t), stroke: COLORS.grid }));
    svg.append(Object.assign(svgEl('text', { x: M.left - 6, y: ys(t) + 4, 'text-anchor': 'end', 'font-size': 11, fill: COLORS.axis }), { textContent: fmt(t) }));
  }
  const labels = [...s.labels, ...s.future];
  for (const [i, anchor] of [[first, 'start'], [n - 1, 'middle'], [n + Hz - 1, 'end']]) {
    svg.append(Object.assign(svgEl('text', { x: xs(i), y: H - M.bottom + 16, 'text-anchor': anchor, 'font-size': 11, fill: COLORS.axis }), { textContent: labels[i] ?? String(i) }));
  }
  const area = (b, color, id) => {
    const pts = [...b.lower.map((v, t) => `${xs(n + t)},${ys(v)}`), ...b.upper.map((v, t) => `${xs(n + t)},${ys(v)}`).reverse()];
    svg.append(svgEl('polygon', { points: pts.join(' '), fill: color, stroke: 'none', id }));
  };
  if (outer) area(outer, COLORS.outer, 'band-outer');
  if (inner) area(inner, COLORS.inner, 'band-inner');
  // History as segments between observed values (gaps stay gaps).
  let d = '', pen = false;
  for (let i = first; i < n; i++) {
    if (!Number.isFinite(s.history[i])) { pen = false; continue; }
    d += `${pen ? 'L' : 'M'}${xs(i).toFixed(1)},${ys(s.history[i]).toFixed(1)}`;
    pen = true;
  }
  svg.append(svgEl('path', { d, fill: 'none', stroke: COLORS.history, 'stroke-width': 1.5, id: 'history' }));
  const med = [n - 1 >= first && Number.isFinite(s.history[n - 1]) ? `M${xs(n - 1)},${ys(s.history[n - 1])}L` : 'M',
    s.median.map((v, t) => `${xs(n + t).toFixed(1)},${ys(v).toFixed(1)}`).join('L')].join('');
  svg.append(svgEl('path', { d: med, fill: 'none', stroke: COLORS.median, 'stroke-width': 2.5, id: 'median' }));
  svg.append(svgEl('line', { x1: xs(n - 0.5), x2: xs(n - 0.5), y1: M.top, y2: H - M.bottom, stroke: COLORS.axis, 'stroke-dasharray': '3 3' }));
  const legend = [['history', COLORS.history], ['median', COLORS.median], ...(outer ? [[outer.label, COLORS.outer]] : []), ...(inner ? [[inner.label, COLORS.inner]] : [])];
  legend.forEach(([text, color], k) => {
    svg.append(svgEl('rect', { x: M.left + 10 + k * 110, y: M.top + 4, width: 14, height: 10, fill: color }));
    svg.append(Object.assign(svgEl('text', { x: M.left + 28 + k * 110, y: M.top + 13, 'font-size': 11, fill: COLORS.axis }), { textContent: text }));
  });

  // Hover: the nearest step's values.
  const cursor = svgEl('line', { y1: M.top, y2: H - M.bottom, stroke: COLORS.hover, visibility: 'hidden', id: 'cursor' });
  svg.append(cursor);
  const tip = $('tooltip');
  svg.addEventListener('mousemove', (e) => {
    const x = e.clientX - svg.getBoundingClientRect().left;
    const i = Math.max(first, Math.min(n + Hz - 1, Math.round(first + ((x - M.left) / (W - M.left - M.right)) * (n + Hz - 1 - first))));
    cursor.setAttribute('x1', xs(i)); cursor.setAttribute('x2', xs(i)); cursor.setAttribute('visibility', 'visible');
    const t = i - n;
    tip.textContent = t < 0 ? `${labels[i]}: ${fmt(s.history[i])}`
      : `${labels[i]}: median ${fmt(s.median[t])}${outer ? `, ${outer.label} ${fmt(outer.lower[t])} .. ${fmt(outer.upper[t])}` : ''}`;
    tip.style.display = 'block';
    tip.style.left = `${Math.min(xs(i) + 8, W - 220)}px`;
    tip.style.top = `${M.top + 20}px`;
  });
  svg.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); tip.style.display = 'none'; });
}

// ---- download ----
const csvField = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const num = (v) => (Number.isNaN(v) ? '' : String(Number(v.toPrecision(9))));
$('download').addEventListener('click', () => {
  const lines = [['id', 'timestamp', 'median', ...result.levels.map(String)].join(',')];
  for (const s of result.series) {
    if (s.error) continue;
    s.median.forEach((m, t) => lines.push([csvField(s.id), csvField(s.future[t]), num(m), ...s.quantiles[t].map(num)].join(',')));
  }
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
  a.download = 'forecast.csv';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
});
