// Scores TiRex model folders on the synthetic validation set (src/train/syntheticValidation.ts):
// the set every model/checkpoint choice of the default forecaster is made on (data/eval is
// the test set, scored once per shipped model).
//   node dist/bench/syntheticValidation.js --model DIR [--model DIR2 ...] [--seed 99991] [--count 2000]
//     [--mix v1|v2] [--whole-series] [--threads N] [--out FILE.json]
// Prints, per kind and overall, the geometric means over problems of MASE / seasonal naive
// and WQL / seasonal naive for each model (< 1 = better than seasonal naive).
import { writeFileSync } from 'node:fs';
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { TiRex } from '../src/models/tirex/model.js';
import { scoreSeries, geometricMean, type SeriesScore } from '../src/timeseries/metrics.js';
import { syntheticValidationSet, type ValidationItem } from '../src/train/syntheticValidation.js';
import { DEFAULT_MIX, type SyntheticMix } from '../src/data/synthetic/generator.js';

export const LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
/** The v2 training mix (configs/default-forecaster-v2.yaml). */
export const V2_MIX: SyntheticMix = { kernelSynth: 0.15, composite: 0.15, arma: 0.07, intermittent: 0.05, ets: 0.2, sarima: 0.13, calendar: 0.08, regime: 0.1, croston: 0.07 };

/** Per-item scores of one model folder on the items. */
export async function scoreModel(dir: string, items: readonly ValidationItem[], be: WasmBackend): Promise<SeriesScore[]> {
  const tirex = await TiRex.fromPretrained(dir, { backend: be });
  try {
    const out: SeriesScore[] = new Array(items.length);
    for (const H of [...new Set(items.map((it) => it.actual.length))]) {
      const idx = items.map((it, i) => (it.actual.length === H ? i : -1)).filter((i) => i >= 0);
      const f = tirex.forecast(idx.map((i) => Float32Array.from(items[i].history)), { predictionLength: H, quantileLevels: LEVELS });
      if (f.errors.length) throw new Error(`${dir}: forecast failed: ${f.errors.map((e) => `${items[idx[e.series]].id}: ${e.message}`).join('; ')}`);
      idx.forEach((i, j) => { out[i] = scoreSeries({ ...items[i], median: f.median[j], quantiles: f.quantiles[j] }, LEVELS); });
    }
    return out;
  } finally { tirex.dispose(); }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const all = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]] : []));
  const arg = (name: string, def: string) => all(name)[0] ?? def;
  const models = all('--model');
  if (!models.length) throw new Error('--model DIR is required (repeat it to compare models)');
  const seed = Number(arg('--seed', '99991')), count = Number(arg('--count', '2000'));
  const mixName = arg('--mix', 'v2');
  if (mixName !== 'v1' && mixName !== 'v2') throw new Error(`--mix must be v1 or v2, got '${mixName}'`);
  const wholeSeries = argv.includes('--whole-series');
  const items = syntheticValidationSet({ seed, count, mix: mixName === 'v1' ? DEFAULT_MIX : V2_MIX, wholeSeries });
  const threads = Number(arg('--threads', '0')) || undefined;
  const be = await WasmBackend.create(threads ? { threads } : {});
  const scores: SeriesScore[][] = [];
  for (const m of models) { const t0 = performance.now(); scores.push(await scoreModel(m, items, be)); console.error(`${m}: ${items.length} problems in ${((performance.now() - t0) / 1000).toFixed(1)} s`); }
  be.dispose();
  const groups = [...new Set(items.map((it) => it.kind))].map((k) => [k, items.map((it, i) => (it.kind === k ? i : -1)).filter((i) => i >= 0)] as [string, number[]]);
  groups.push(['all', items.map((_, i) => i)]);
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const lines = [`synthetic validation: seed ${seed}, ${items.length} problems, mix ${mixName}${wholeSeries ? ', whole series' : ''}; geometric means of MASE / seasonal naive, WQL / seasonal naive\n`,
    `| kind | problems | ${models.map((m) => `${m} MASE, WQL`).join(' | ')} |`, `|---|---:|${models.map(() => '---:').join('|')}|`];
  const summary: Record<string, Record<string, { relMase: number; relWql: number }>> = {};
  for (const [g, idx] of groups) {
    summary[g] = {};
    const cells = models.map((m, k) => {
      const r = { relMase: geometricMean(idx.map((i) => scores[k][i].relMase)).value, relWql: geometricMean(idx.map((i) => scores[k][i].relWql)).value };
      summary[g][m] = r;
      return `${fmt(r.relMase)}, ${fmt(r.relWql)}`;
    });
    lines.push(`| ${g} | ${idx.length} | ${cells.join(' | ')} |`);
  }
  console.log(lines.join('\n'));
  const file = arg('--out', '');
  if (file) writeFileSync(file, JSON.stringify({ seed, count, mix: mixName, wholeSeries, problems: items.length, models, summary }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).pop() ?? '')) {
  main().catch((e) => { console.error((e as Error).message); process.exit(1); });
}
