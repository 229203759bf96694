// The real-data evaluation set of data/eval (exported by scripts/export-eval-set.R):
// per-frequency long CSVs (id,timestamp,value) plus manifest.csv with each series'
// frequency, seasonal period and horizon. Browser-safe: callers pass the file texts.
// Protocol: the last `horizon` values of a series are the actuals, everything before is
// the history (one forecast origin per series).
import { parse } from 'csv-parse/sync';
import { parseSeriesCsv } from '../timeseries/csv.js';

export interface EvalManifestEntry {
  id: string;
  /** 'yearly' | 'quarterly' | 'monthly' | 'daily' | 'bdaily' | 'hourly' */
  frequency: string;
  /** seasonal period for MASE / seasonal naive */
  seasonality: number;
  horizon: number;
  length: number;
  package: string;
  dataset: string;
  licence: string;
  source: string;
}

export interface EvalTask {
  id: string;
  frequency: string;
  m: number;
  horizon: number;
  /** [length - horizon], NaN = missing */
  history: Float64Array;
  /** [horizon] */
  actual: Float64Array;
  /** timestamps of the history (same text format as the CSV) */
  timestamps: string[] | null;
}

/** The CSV file (without directory) holding each frequency. */
export function evalFileOf(frequency: string): string { return `${frequency === 'bdaily' ? 'daily' : frequency}.csv`; }

export function parseEvalManifest(text: string): EvalManifestEntry[] {
  const rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  return rows.map((r, i) => {
    const num = (k: string) => {
      const v = Number(r[k]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`eval manifest row ${i + 2}: ${k} = '${r[k]}', expected a positive integer`);
      return v;
    };
    if (!r.id || !r.frequency) throw new Error(`eval manifest row ${i + 2}: missing id or frequency`);
    return {
      id: r.id, frequency: r.frequency, seasonality: num('seasonality'), horizon: num('horizon'), length: num('length'),
      package: r.package ?? '', dataset: r.dataset ?? '', licence: r.licence ?? '', source: r.source ?? '',
    };
  });
}

/**
 * Splits every manifest series into history and actuals. `files` maps a file name
 * (evalFileOf) to its text. Errors name the series whose data is absent or whose length
 * disagrees with the manifest.
 */
export function buildEvalTasks(manifest: readonly EvalManifestEntry[], files: Readonly<Record<string, string>>): EvalTask[] {
  const byFile = new Map<string, Map<string, { values: Float64Array; timestamps: string[] | null }>>();
  const seriesOf = (file: string) => {
    let m = byFile.get(file);
    if (!m) {
      const text = files[file];
      if (text === undefined) throw new Error(`eval set: file '${file}' was not given`);
      m = new Map(parseSeriesCsv(text, { format: 'long', source: file }).series.map((s) => [s.id, s]));
      byFile.set(file, m);
    }
    return m;
  };
  return manifest.map((e) => {
    const s = seriesOf(evalFileOf(e.frequency)).get(e.id);
    if (!s) throw new Error(`eval set: series '${e.id}' is not in ${evalFileOf(e.frequency)}`);
    if (s.values.length !== e.length) throw new Error(`eval set: series '${e.id}' has ${s.values.length} values, the manifest says ${e.length}`);
    if (e.length <= e.horizon) throw new Error(`eval set: series '${e.id}' (${e.length} values) is not longer than its horizon ${e.horizon}`);
    const cut = e.length - e.horizon;
    return {
      id: e.id, frequency: e.frequency, m: e.seasonality, horizon: e.horizon,
      history: s.values.slice(0, cut), actual: s.values.slice(cut), timestamps: s.timestamps ? s.timestamps.slice(0, cut) : null,
    };
  });
}
