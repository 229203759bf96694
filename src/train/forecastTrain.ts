// Training a TiRex on synthetic series with the generic Trainer: the resumable data stream,
// the loss closure, and evaluation through the INFERENCE model (TiRex.fromTensors with the
// f32 recurrence), scored with MASE / WQL against seasonal naive (src/timeseries/metrics).
import type { WasmBackend } from '../backend/wasm/backend.js';
import { TiRex } from '../models/tirex/model.js';
import { AggregateScore, SeriesToScore, aggregateScores, scoreSeries } from '../timeseries/metrics.js';
import { SyntheticSeriesGenerator, type SyntheticMix } from '../data/synthetic/generator.js';
import { Trainer, TrainData, Json, TrainerOptions } from './trainer.js';
import { ForecastBatch, ForecastBatchSampler, ForecastSamplerOptions } from './forecastData.js';
import { TiRexTrainable } from './tirexTrainable.js';

/** The sampler as a Trainer data source: batch k of the stream is sampler.batch(k); the state is k. */
export class ForecastTrainData implements TrainData<ForecastBatch> {
  readonly sampler: ForecastBatchSampler;
  position = 0;
  constructor(o: ForecastSamplerOptions) { this.sampler = new ForecastBatchSampler(o); }
  next(): ForecastBatch { return this.sampler.batch(this.position++); }
  state(): Json { return { position: this.position }; }
  restore(st: Json): void { this.position = positionFromState(st, 'ForecastTrainData.restore'); }
}

/** The batch position of a saved data state {position} (errors name `who`). */
export function positionFromState(st: Json, who: string): number {
  const p = (st as { position?: unknown } | null)?.position;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) throw new TypeError(`${who}: expected {position: integer >= 0}, got ${JSON.stringify(st)}`);
  return p;
}

/** Trainer options of a TiRex run (the Trainer frees each step's heap intermediates: reclaimHeap). */
export type TiRexTrainerOptions = Omit<TrainerOptions<ForecastBatch>, 'params' | 'loss' | 'data' | 'backend' | 'dtype'>;

/** A Trainer over the model's parameters; `tokens` counts series. */
export function createTiRexTrainer(model: TiRexTrainable, data: TrainData<ForecastBatch>, o: TiRexTrainerOptions): Trainer<ForecastBatch> {
  return new Trainer<ForecastBatch>({
    ...o,
    params: model.parameters(),
    backend: model.backend,
    dtype: 'f32',
    data,
    loss: (tape, batch) => ({ loss: model.loss(tape, batch).loss, tokens: batch.batchSize }),
  });
}

/** A held-out problem: forecast `actual` from `history` (seasonal period m for MASE). */
export type ForecastEvalItem = Omit<SeriesToScore, 'median' | 'quantiles'>;

export interface SyntheticEvalOptions {
  seed: number;
  count: number;
  contextLength: number;
  horizon: number;
  mix?: SyntheticMix;
  /** Seasonal period used for MASE / seasonal naive (default 1: the naive forecast; synthetic series have no calendar). */
  seasonality?: number;
}

/** Held-out synthetic problems (a different seed than training gives unseen series). */
export function syntheticEvalSet(o: SyntheticEvalOptions): ForecastEvalItem[] {
  const gen = new SyntheticSeriesGenerator({ seed: o.seed, length: o.contextLength + o.horizon, mix: o.mix });
  const out: ForecastEvalItem[] = [];
  for (let i = 0; i < o.count; i++) {
    const s = gen.at(i).values;
    const history = s.subarray(0, o.contextLength), actual = s.subarray(o.contextLength);
    // a problem with nothing to score (all held-out values missing) tells nothing
    if (actual.every(Number.isNaN) || history.every(Number.isNaN)) continue;
    out.push({ id: `synthetic-${o.seed}-${i}`, history, actual, m: o.seasonality ?? 1 });
  }
  return out;
}

export interface ForecastEvalResult extends AggregateScore { horizon: number }

/**
 * Scores the model's current weights on held-out problems (all with the same horizon) via the
 * inference TiRex (f32 recurrence), exactly as a saved model would forecast.
 */
export async function evaluateTiRex(model: TiRexTrainable, items: readonly ForecastEvalItem[], o: { backend?: WasmBackend; batchSize?: number } = {}): Promise<ForecastEvalResult> {
  if (items.length === 0) throw new Error('evaluateTiRex: no evaluation series');
  const H = items[0].actual.length;
  for (const it of items) if (it.actual.length !== H) throw new Error(`evaluateTiRex: series '${it.id}' holds out ${it.actual.length} values, the first one ${H}; use one horizon per call`);
  const inf = await TiRex.fromTensors(model.hyperParameters, model.tensors(), { backend: o.backend ?? model.backend, bf16: false });
  try {
    const levels = model.config.quantiles;
    const fc = inf.forecast(items.map((it) => Float32Array.from(it.history)), { predictionLength: H, batchSize: o.batchSize ?? 32 });
    const scored: SeriesToScore[] = items.map((it, i) => ({ ...it, median: fc.median[i], quantiles: fc.quantiles[i] }));
    const scores = scored.map((s) => scoreSeries(s, levels));
    return { horizon: H, ...aggregateScores(scored, scores, levels) };
  } finally { inf.dispose(); }
}
