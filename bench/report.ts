// Benchmark results: rows, an aligned table on stdout, JSON files under
// bench/results/, and the timing helper every topic uses.

export interface BenchRow {
  /** Topic the row belongs to (gemm, gemv, copy, mlstm, ...). */
  topic: string;
  /** What was measured, e.g. "f32 1024x1024x1024". */
  name: string;
  threads: number;
  /** The figure of merit (best of the runs). */
  value: number;
  unit: string;
  /** Anything else worth keeping (median, sizes, build). */
  extra?: Record<string, number | string | boolean>;
}

export interface Timing {
  bestMs: number; medianMs: number; runs: number;
  /** Least process CPU time (all threads) of one run: on a loaded machine this
   * stays near the unloaded figure while wall time includes waiting for a core. */
  bestCpuMs: number;
}

export interface TimeOptions {
  /** Untimed calls first (JIT, caches, page faults). */
  warmup?: number;
  /** Timed calls; fewer if `maxMs` is used up first (at least 3). */
  runs?: number;
  maxMs?: number;
}

/**
 * Times `fn` after warming up: best and median of the runs. The machine is
 * shared, so the best run is the figure reported and the median shows the noise.
 */
export function time(fn: () => void, opts: TimeOptions = {}): Timing {
  const warmup = opts.warmup ?? 2, runs = opts.runs ?? 10, maxMs = opts.maxMs ?? 3000;
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  let bestCpuMs = Infinity;
  const cpu = (globalThis as any).process?.cpuUsage as undefined | ((prev?: { user: number; system: number }) => { user: number; system: number });
  const start = performance.now();
  while (ts.length < runs && (ts.length < 3 || performance.now() - start < maxMs)) {
    const c0 = cpu?.();
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
    if (cpu && c0) { const c = cpu(c0); bestCpuMs = Math.min(bestCpuMs, (c.user + c.system) / 1000); }
  }
  ts.sort((a, b) => a - b);
  return { bestMs: ts[0], medianMs: ts[Math.floor(ts.length / 2)], runs: ts.length, bestCpuMs: cpu ? bestCpuMs : NaN };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** The rows as an aligned text table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const head = ['topic', 'name', 'thr', 'value', 'unit', 'extra'];
  const body = rows.map((r) => [r.topic, r.name, String(r.threads), fmt(r.value), r.unit,
    r.extra ? Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(' ') : '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 3 ? s.padStart(w[i]) : s.padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export interface RunInfo { startedAt: string; node: string; v8: string; relaxedSimd: boolean; quick: boolean; topics: string[]; notes: string[] }

/** Writes bench/results/<timestamp>.json and bench/results/latest.json; returns the first path. */
export async function writeResults(dir: string, info: RunInfo, rows: readonly BenchRow[]): Promise<string> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify({ ...info, rows }, null, 2) + '\n';
  const file = path.join(dir, `${info.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(dir, 'latest.json'), json);
  return file;
}
