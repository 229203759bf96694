// Training a TiRex on synthetic series with the generic Trainer: the resumable data stream,
// the loss closure, and evaluation through the INFERENCE model (TiRex.fromTensors with the
// f32 recurrence), scored with MASE / WQL against seasonal naive (src/timeseries/metrics).
import type { WasmBackend } from '../backend/wasm/backend.js';
import type { Tensor } from '../tensor/tensor.js';
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
  restore(st: Json): void {
    const p = (st as { position?: unknown } | null)?.position;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) throw new TypeError(`ForecastTrainData.restore: expected {position: integer >= 0}, got ${JSON.stringify(st)}`);
    this.position = p;
  }
}

export type TiRexTrainerOptions = Omit<TrainerOptions<ForecastBatch>, 'params' | 'loss' | 'data' | 'backend' | 'dtype'> & {
  /**
   * Free the wasm-heap tensors of the previous micro-batch (forward and backward
   * intermediates) when the next one starts (default true). Without it they are freed only by
   * GC finalizers, which V8 runs too rarely: the 4 GiB heap fills within ~100 steps of the
   * default model. Only safe while nothing else allocates long-lived tensors on this backend
   * between steps (the inference model used for evaluation disposes its own).
   */
  reclaimHeap?: boolean;
};

/**
 * Records every heap tensor the backend allocates (by wrapping this instance's `empty`, which
 * zeros and upload go through) and releases them all on reclaim(). dispose() unwraps.
 */
export class HeapReclaimer {
  private live: Tensor[] = [];
  private readonly orig: WasmBackend['empty'];
  constructor(private readonly be: WasmBackend) {
    this.orig = be.empty;
    const orig = this.orig.bind(be);
    be.empty = (shape, dtype) => { const t = orig(shape, dtype); this.live.push(t); return t; };
  }
  /** Releases every tensor allocated since the last call. */
  reclaim(): void { const l = this.live; this.live = []; for (const t of l) t.dispose(); }
  dispose(): void { this.reclaim(); this.be.empty = this.orig; }
}

/** A Trainer over the model's parameters; `tokens` counts series. */
export function createTiRexTrainer(model: TiRexTrainable, data: TrainData<ForecastBatch>, o: TiRexTrainerOptions): Trainer<ForecastBatch> & { reclaimer?: HeapReclaimer } {
  const { reclaimHeap, ...rest } = o;
  const reclaimer = reclaimHeap === false ? undefined : new HeapReclaimer(model.backend);
  const tr = new Trainer<ForecastBatch>({
    ...rest,
    params: model.parameters(),
    backend: model.backend,
    dtype: 'f32',
    data,
    loss: (tape, batch) => {
      // the previous micro-batch's backward has finished: its intermediates are dead
      reclaimer?.reclaim();
      return { loss: model.loss(tape, batch).loss, tokens: batch.batchSize };
    },
  });
  return Object.assign(tr, { reclaimer });
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
