// Where the JavaScript time of a decode step goes: V8's sampling CPU profiler (node:inspector)
// over a few steps, self time per JS function (file:line), wasm frames and the idle/GC
// pseudo-frames kept apart. A flat "flame" view: the functions that cost the most, per step.
// Node only (the bench runs in Node); returns undefined where node:inspector is missing.
import type { XLSTMLarge } from '../src/models/xlstmLarge/index.js';

export interface JsGlueProfile {
  /** Milliseconds per step of all sampled time. */
  totalMs: number;
  /** Milliseconds per step in wasm functions (the kernels). */
  wasmMs: number;
  /** Milliseconds per step in JS functions, GC and the rest (without waitMs). */
  jsMs: number;
  /** Milliseconds per step the caller spends in pool.run itself: handing a job to the worker
   * threads and waiting for them to finish their part (not glue, but the cost of a dispatch). */
  waitMs: number;
  /** The costliest JS functions: [name (file:line), ms per step], descending. */
  top: [string, number][];
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; }

export async function profileJsGlue(m: XLSTMLarge, steps: number, topN = 8): Promise<JsGlueProfile | undefined> {
  let inspector: typeof import('node:inspector');
  try { inspector = await import('node:inspector'); } catch { return undefined; }
  const session = new inspector.Session();
  session.connect();
  const post = <T>(method: string, params?: object) => new Promise<T>((resolve, reject) => {
    session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
  const st = m.emptyState(1);
  try {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 50 });
    let tok = 1;
    m.step([tok], st).logits.dispose();
    await post('Profiler.start');
    for (let s = 0; s < steps; s++) { const r = m.step([tok], st); tok = (tok * 31 + 7) % m.vocabSize; r.logits.dispose(); }
    const { profile } = await post<{ profile: Profile }>('Profiler.stop');
    const timeOf = new Map<number, number>();
    profile.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    let wasmUs = 0, totalUs = 0, waitUs = 0;
    const byFn = new Map<string, number>();
    for (const n of profile.nodes) {
      const us = timeOf.get(n.id) ?? 0;
      if (!us) continue;
      totalUs += us;
      const f = n.callFrame;
      // wasm frames have wasm:// urls (or none with a kernel's export name)
      if (f.url.startsWith('wasm')) { wasmUs += us; continue; }
      if (f.functionName === 'run' && f.url.endsWith('backend/wasm/pool.js')) { waitUs += us; continue; }
      // frames without a script are V8/Node natives (the profiler's own message dispatch among
      // them) and pseudo-frames; only GC is worth its own line
      const key = f.url ? `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
        : f.functionName === '(garbage collector)' ? f.functionName : '(native)';
      byFn.set(key, (byFn.get(key) ?? 0) + us);
    }
    const top = [...byFn.entries()].filter(([k]) => k !== '(native)').sort((a, b) => b[1] - a[1]).slice(0, topN)
      .map(([k, us]) => [k, us / 1000 / steps] as [string, number]);
    const per = (us: number) => us / 1000 / steps;
    return { totalMs: per(totalUs), wasmMs: per(wasmUs), waitMs: per(waitUs), jsMs: per(totalUs - wasmUs - waitUs), top };
  } finally {
    for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
    try { await post('Profiler.disable'); } catch { /* already gone */ }
    session.disconnect();
  }
}
