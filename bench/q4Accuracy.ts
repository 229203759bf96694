// What rounding the activations to 8 bits (Q8_0 blocks) in the Q4 GEMV costs in accuracy,
// next to the int16 activations of the earlier kernel, int8 weights and f32: the same token
// sequence is decoded one step at a time (the GEMV path; prompts of more than 8 rows go
// through the GEMM, which does not round x) by each variant of one model, and every step's
// logits are compared with the f32 model's: top-1 agreement, mean KL(p_f32 || p), max and
// RMS logit difference, and the perplexity of the sequence itself under each variant.
// Models: the two test-size golden checkpoints (test/fixtures/xlstm_large*, random init of
// the official code) and the 162M bench config with random weights.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { XLSTMLarge, resolveXLSTMLargeConfig } from '../src/models/xlstmLarge/index.js';
import type { XLSTMLargeLoadOptions } from '../src/models/xlstmLarge/index.js';
import { RandomXLSTMLargeSource } from '../src/models/xlstmLarge/randomWeights.js';
import { LM_BENCH_CONFIG } from './lm.js';
import { BenchRow } from './report.js';
import type { BenchOptions } from './gemm.js';

type Variant = { name: string; opts: Partial<XLSTMLargeLoadOptions> };
const VARIANTS: Variant[] = [
  { name: 'f32', opts: { dtype: 'f32' } },
  { name: 'int8', opts: { dtype: 'int8' } },
  { name: 'q4 x16', opts: { dtype: 'q4', q4ActivationBits: 16 } },
  { name: 'q4 x8', opts: { dtype: 'q4', q4ActivationBits: 8 } },
];

/** logits [S][V] of decoding `ids` one token at a time from the empty state. */
function decodeLogits(m: XLSTMLarge, ids: number[]): Float32Array[] {
  const st = m.emptyState(1);
  const out: Float32Array[] = [];
  try {
    for (const t of ids) {
      const r = m.step([t], st);
      out.push((r.logits.data as Float32Array).slice());
      r.logits.dispose();
    }
  } finally { for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); } }
  return out;
}

function logSoftmax(l: Float32Array): Float64Array {
  let mx = -Infinity;
  for (const v of l) mx = Math.max(mx, v);
  let s = 0;
  for (const v of l) s += Math.exp(v - mx);
  const lse = mx + Math.log(s);
  return Float64Array.from(l, (v) => v - lse);
}

function argmax(l: Float32Array): number {
  let b = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[b]) b = i;
  return b;
}

/** pplF32: the perplexity under the reference logits (f32 unless stated). */
export interface AccuracyStats { top1: number; meanKl: number; maxAbs: number; relRms: number; ppl: number; pplF32: number }

/** Compares `got` with the f32 logits `ref` step by step; `ids[s + 1]` is the token that follows step s. */
export function compareLogits(ref: Float32Array[], got: Float32Array[], ids: number[]): AccuracyStats {
  let agree = 0, kl = 0, maxAbs = 0, d2 = 0, r2 = 0, nll = 0, nllRef = 0, n = 0;
  for (let s = 0; s < ref.length; s++) {
    const a = ref[s], b = got[s];
    if (argmax(a) === argmax(b)) agree++;
    const la = logSoftmax(a), lb = logSoftmax(b);
    let k = 0;
    for (let i = 0; i < a.length; i++) {
      k += Math.exp(la[i]) * (la[i] - lb[i]);
      const d = a[i] - b[i];
      maxAbs = Math.max(maxAbs, Math.abs(d));
      d2 += d * d; r2 += a[i] * a[i];
    }
    kl += k;
    if (s + 1 < ids.length) { nll -= lb[ids[s + 1]]; nllRef -= la[ids[s + 1]]; n++; }
  }
  return { top1: agree / ref.length, meanKl: kl / ref.length, maxAbs, relRms: Math.sqrt(d2 / r2), ppl: Math.exp(nll / n), pplF32: Math.exp(nllRef / n) };
}

export async function benchQ4Accuracy(backends?: WasmBackend[], opts: BenchOptions = { quick: false }): Promise<BenchRow[]> {
  const be = backends?.[backends.length - 1] ?? await WasmBackend.create({ threads: 2, initialMemoryBytes: 640 << 20 });
  const rows: BenchRow[] = [];
  const { join } = await import('node:path');
  const { existsSync } = await import('node:fs');
  type Model = { name: string; load: (o: Partial<XLSTMLargeLoadOptions>) => Promise<XLSTMLarge>; steps: number };
  const models: Model[] = [];
  // (the two golden checkpoints hold the same weights in two layouts: one of them is enough)
  for (const fx of ['xlstm_large']) {
    const dir = join('test', 'fixtures', fx);
    if (existsSync(join(dir, 'config.json'))) models.push({ name: fx, load: (o) => XLSTMLarge.fromPretrained(dir, { backend: be, ...o }), steps: opts.quick ? 48 : 128 });
  }
  const cfg = resolveXLSTMLargeConfig(LM_BENCH_CONFIG);
  const src = new RandomXLSTMLargeSource(cfg, { seed: 3 });
  models.push({ name: '162M random', load: (o) => XLSTMLarge.fromSource(src, cfg, { backend: be, ...o }), steps: opts.quick ? 16 : 48 });
  try {
    for (const md of models) {
      const logits = new Map<string, Float32Array[]>();
      let ids: number[] = [];
      for (const v of VARIANTS) {
        const m = await md.load(v.opts);
        try {
          if (!logits.size) ids = Array.from({ length: md.steps }, (_, i) => (i * 7919 + 13) % m.vocabSize);
          logits.set(v.name, decodeLogits(m, ids));
        } finally { m.dispose(); }
      }
      // every variant against f32, and the 8-bit against the 16-bit activations (what this option changes)
      const pairs = [...VARIANTS.slice(1).map((v) => [v.name, 'f32']), ['q4 x8', 'q4 x16']];
      for (const [a, b] of pairs) {
        const s = compareLogits(logits.get(b)!, logits.get(a)!, ids);
        rows.push({
          topic: 'q4acc', name: `${md.name} ${a} vs ${b}`, threads: be.threads, value: s.top1 * 100, unit: '% top-1 agreement',
          extra: { steps: md.steps, meanKl: s.meanKl, maxAbsLogitDiff: s.maxAbs, relRmsLogitDiff: s.relRms, perplexity: s.ppl, perplexityRef: s.pplF32 },
        });
      }
    }
  } finally { if (!backends) be.dispose(); }
  return rows;
}

// Run directly: node dist/bench/q4Accuracy.js [--quick]
if (typeof process !== 'undefined' && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  for (const r of await benchQ4Accuracy(undefined, { quick: process.argv.includes('--quick') })) {
    console.log(`${r.name}  ${r.value.toFixed(1)} ${r.unit}  ${JSON.stringify(r.extra)}`);
  }
}
