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
  /** Milliseconds per step in JS functions and GC (self time). */
  jsMs: number;
  /** Milliseconds per step in V8's pseudo-frames '(program)' (native code outside any JS or wasm
   * function, e.g. a thread blocked in a wasm barrier's wait) and '(idle)': not glue. */
  otherMs: number;
  /** Of jsMs: V8/Node native frames without a script (the profiler's own messaging among them). */
  nativeMs: number;
  /** Milliseconds per step the caller spends in pool.run itself (handing a job to the worker
   * threads and waiting for them to finish their part) or asleep at a fused program's barrier:
   * not glue, but the cost of dispatching and of waiting for the other threads. */
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
    let wasmUs = 0, totalUs = 0, waitUs = 0, otherUs = 0;
    const byFn = new Map<string, number>();
    for (const n of profile.nodes) {
      const us = timeOf.get(n.id) ?? 0;
      if (!us) continue;
      totalUs += us;
      const f = n.callFrame;
      // wasm frames have wasm:// urls (or none with a kernel's export name)
      if (f.url.startsWith('wasm')) { wasmUs += us; continue; }
      if (f.functionName === 'run' && f.url.endsWith('backend/wasm/pool.js')) { waitUs += us; continue; }
      // a fused program's barrier sleeping (src/backend/wasm/imports.ts): waiting as well
      if (f.functionName === 'waitOn' && f.url.endsWith('backend/wasm/imports.js')) { waitUs += us; continue; }
      if (!f.url && (f.functionName === '(program)' || f.functionName === '(idle)' || f.functionName === '(root)')) { otherUs += us; continue; }
      // frames without a script are V8/Node natives (the profiler's own message dispatch among
      // them) and pseudo-frames; only GC is worth its own line
      const key = f.url ? `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
        : f.functionName === '(garbage collector)' ? f.functionName : '(native)';
      byFn.set(key, (byFn.get(key) ?? 0) + us);
    }
    const nativeUs = byFn.get('(native)') ?? 0;
    const top = [...byFn.entries()].filter(([k]) => k !== '(native)').sort((a, b) => b[1] - a[1]).slice(0, topN)
      .map(([k, us]) => [k, us / 1000 / steps] as [string, number]);
    const per = (us: number) => us / 1000 / steps;
    return { totalMs: per(totalUs), wasmMs: per(wasmUs), waitMs: per(waitUs), otherMs: per(otherUs), nativeMs: per(nativeUs), jsMs: per(totalUs - wasmUs - waitUs - otherUs), top };
  } finally {
    for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
    try { await post('Profiler.disable'); } catch { /* already gone */ }
    session.disconnect();
  }
}

/**
 * CPU time of the JavaScript of a decode step alone: every pool of the model made a no-op (no
 * kernel runs, no thread wakes), then `steps` steps timed with process.cpuUsage, best of
 * `rounds`. Deterministic where the sampled profile is not (on a loaded machine), but with warm
 * caches (in a real step the weight stream evicts the glue's code and data: more time).
 * The state and logits it leaves are garbage; it uses its own state.
 */
export function stubbedGlueUs(m: XLSTMLarge, B: number, steps: number, rounds = 3): { cpuUsPerStep: number; wallUsPerStep: number } {
  const pools = m.backends.map((b) => b.pool);
  const runs = pools.map((p) => p.run);
  const st = m.emptyState(B);
  const toks = Array.from({ length: B }, (_, b) => 1 + b);
  let cpuBest = Infinity, wallBest = Infinity;
  try {
    for (const p of pools) (p as { run: unknown }).run = () => {};
    for (let s = 0; s < 20; s++) m.step(toks, st).logits.dispose();
    for (let r = 0; r < rounds; r++) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      for (let s = 0; s < steps; s++) m.step(toks, st).logits.dispose();
      const wall = performance.now() - t0, c = process.cpuUsage(c0);
      cpuBest = Math.min(cpuBest, (c.user + c.system) / steps);
      wallBest = Math.min(wallBest, (wall * 1000) / steps);
    }
  } finally {
    pools.forEach((p, i) => { (p as { run: unknown }).run = runs[i]; });
    for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
  }
  return { cpuUsPerStep: cpuBest, wallUsPerStep: wallBest };
}
