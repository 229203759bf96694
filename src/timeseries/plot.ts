// Forecast plots as SVG text (no native dependencies, works in browsers): the tail of the
// history, the median forecast, a quantile band (10-90% when available), optional actuals
// of the horizon (for evaluation), axes with tick labels and a title.

export interface PlotSeries {
  id: string;
  /** observed values (NaN = missing) */
  history: ArrayLike<number>;
  /** one label per history value (timestamps); default: the index */
  historyLabels?: readonly string[];
  /** [H] */
  median: ArrayLike<number>;
  /** [H] lower / upper band, e.g. the 0.1 and 0.9 quantiles */
  lower?: ArrayLike<number>;
  upper?: ArrayLike<number>;
  /** label of the band in the legend, e.g. '10-90%' */
  bandLabel?: string;
  /** one per forecast step */
  futureLabels?: readonly string[];
  /** held-out values of the horizon (evaluation), drawn as a dashed line */
  actual?: ArrayLike<number>;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  /** history points shown at most (default max(3 * horizon, 64)) */
  maxHistory?: number;
  title?: string;
}

export interface GridOptions extends PlotOptions {
  /** panels per row (default 2, or 1 for a single series) */
  columns?: number;
}

const COLORS = { history: '#1f2937', median: '#2563eb', band: '#93c5fd', actual: '#dc2626', axis: '#6b7280', grid: '#e5e7eb' };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** "Nice" axis ticks (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) { const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1; lo -= d; hi += d; }
  const raw = (hi - lo) / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(6)));
}

/** The panel's SVG elements (no <svg> wrapper), drawn in a width x height box at the origin. */
function panel(s: PlotSeries, width: number, height: number, opts: PlotOptions): string {
  const H = s.median.length;
  const maxHist = opts.maxHistory ?? Math.max(3 * H, 64);
  const n0 = Math.max(0, s.history.length - maxHist);
  const hist = Array.from(s.history).slice(n0);
  const histLabels = (s.historyLabels ?? Array.from({ length: s.history.length }, (_, i) => String(i))).slice(n0);
  const futLabels = s.futureLabels ?? Array.from({ length: H }, (_, i) => String(s.history.length + i));
  const labels = [...histLabels, ...futLabels];
  const N = hist.length + H;
  const ml = 64, mr = 16, mt = 28, mb = 40;
  const pw = width - ml - mr, ph = height - mt - mb;
  const vals: number[] = [...hist, ...Array.from(s.median), ...Array.from(s.lower ?? []), ...Array.from(s.upper ?? []), ...Array.from(s.actual ?? [])].filter(Number.isFinite);
  let lo = vals.length ? Math.min(...vals) : 0, hi = vals.length ? Math.max(...vals) : 1;
  const ticks = niceTicks(lo, hi);
  if (ticks.length) { lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]); }
  if (hi === lo) { hi = lo + 1; }
  const x = (i: number) => ml + (N > 1 ? (i / (N - 1)) * pw : pw / 2);
  const y = (v: number) => mt + (1 - (v - lo) / (hi - lo)) * ph;
  const r = (v: number) => v.toFixed(2);
  // polyline segments, broken at missing values
  const path = (values: ArrayLike<number>, offset: number): string => {
    let d = '', pen = false;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${r(x(offset + i))},${r(y(v))}`;
      pen = true;
    }
    return d;
  };
  const parts: string[] = [];
  parts.push(`<rect x="${ml}" y="${mt}" width="${pw}" height="${ph}" fill="white" stroke="${COLORS.axis}" stroke-width="0.5"/>`);
  for (const t of ticks) {
    const yy = r(y(t));
    parts.push(`<line class="grid" x1="${ml}" x2="${ml + pw}" y1="${yy}" y2="${yy}" stroke="${COLORS.grid}" stroke-width="0.5"/>`);
    parts.push(`<text class="ytick" x="${ml - 6}" y="${yy}" font-size="10" text-anchor="end" dominant-baseline="middle" fill="${COLORS.axis}">${escapeXml(fmt(t))}</text>`);
  }
  const nx = Math.min(N, 5);
  for (let k = 0; k < nx; k++) {
    const i = nx === 1 ? 0 : Math.round((k * (N - 1)) / (nx - 1));
    const xx = r(x(i));
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${mt + ph}" y2="${mt + ph + 4}" stroke="${COLORS.axis}"/>`);
    parts.push(`<text class="xtick" x="${xx}" y="${mt + ph + 16}" font-size="10" text-anchor="middle" fill="${COLORS.axis}">${escapeXml(labels[i] ?? '')}</text>`);
  }
  // forecast start marker
  const xs = r(x(hist.length - 0.5));
  parts.push(`<line x1="${xs}" x2="${xs}" y1="${mt}" y2="${mt + ph}" stroke="${COLORS.axis}" stroke-dasharray="2,3" stroke-width="0.75"/>`);
  if (s.lower && s.upper) {
    const up: string[] = [], dn: string[] = [];
    for (let t = 0; t < H; t++) {
      if (!Number.isFinite(s.lower[t]) || !Number.isFinite(s.upper[t])) continue;
      up.push(`${r(x(hist.length + t))},${r(y(s.upper[t]))}`);
      dn.unshift(`${r(x(hist.length + t))},${r(y(s.lower[t]))}`);
    }
    if (up.length) parts.push(`<polygon class="band" points="${[...up, ...dn].join(' ')}" fill="${COLORS.band}" fill-opacity="0.5" stroke="none"/>`);
  }
  parts.push(`<path class="history" d="${path(hist, 0)}" fill="none" stroke="${COLORS.history}" stroke-width="1.25"/>`);
  if (s.actual) parts.push(`<path class="actual" d="${path(s.actual, hist.length)}" fill="none" stroke="${COLORS.actual}" stroke-width="1.25" stroke-dasharray="4,2"/>`);
  parts.push(`<path class="median" d="${path(s.median, hist.length)}" fill="none" stroke="${COLORS.median}" stroke-width="1.5"/>`);
  parts.push(`<text class="title" x="${ml}" y="${mt - 10}" font-size="13" font-weight="bold" fill="#111827">${escapeXml(s.id)}</text>`);
  const legend = [`median`, s.lower && s.upper ? (s.bandLabel ?? 'band') : null, s.actual ? 'actual' : null].filter(Boolean).join(' · ');
  parts.push(`<text class="legend" x="${ml + pw}" y="${mt - 10}" font-size="10" text-anchor="end" fill="${COLORS.axis}">${escapeXml(legend)}</text>`);
  return parts.join('\n');
}

/** One series as a standalone SVG document. */
export function plotForecastSvg(series: PlotSeries, opts: PlotOptions = {}): string {
  return plotForecastGridSvg([series], { columns: 1, ...opts });
}

/** Several series as a grid of panels in one SVG document (one panel per series). */
export function plotForecastGridSvg(series: readonly PlotSeries[], opts: GridOptions = {}): string {
  if (series.length === 0) throw new Error('plotForecastGridSvg: no series to plot');
  const w = opts.width ?? 640, h = opts.height ?? 300;
  const cols = Math.max(1, Math.min(opts.columns ?? (series.length === 1 ? 1 : 2), series.length));
  const rows = Math.ceil(series.length / cols);
  const top = opts.title ? 30 : 0;
  const W = cols * w, Ht = rows * h + top;
  const body = series.map((s, i) => {
    const cx = (i % cols) * w, cy = top + Math.floor(i / cols) * h;
    return `<g class="panel" data-id="${escapeXml(s.id)}" transform="translate(${cx},${cy})">\n${panel(s, w, h, opts)}\n</g>`;
  });
  const title = opts.title ? `<text class="figure-title" x="${W / 2}" y="20" font-size="15" font-weight="bold" text-anchor="middle" fill="#111827">${escapeXml(opts.title)}</text>\n` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Ht}" viewBox="0 0 ${W} ${Ht}" font-family="sans-serif">\n` +
    `<rect width="${W}" height="${Ht}" fill="#f9fafb"/>\n${title}${body.join('\n')}\n</svg>\n`;
}
