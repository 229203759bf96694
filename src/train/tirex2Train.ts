// Training a TiRex-2 with the generic Trainer on the promotion task (src/data/synthetic/
// promotion.ts), and the covariate evidence: held-out series scored WITH the future
// promotion flag and WITHOUT it, through the inference TiRex2 (as a saved model forecasts).
//
// Covariate dropout: each training series drops its flag with probability `covariateDropout`
// and is then a plain univariate series. A model trained that way has seen both layouts, so
// forecasting a held-out series with the flag withheld is an in-distribution input and the
// with/without gap measures what the covariate adds to the SAME weights (a model that never
// saw a univariate series would be scored on inputs it was not trained for).
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Rng } from '../random/rng.js';
import { ArgumentError } from '../errors.js';
import { TiRex2 } from '../models/tirex2/model.js';
import { PromotionTaskGenerator, type PromotionTaskOptions } from '../data/synthetic/promotion.js';
import { AggregateScore, SeriesToScore, aggregateScores, scoreSeries } from '../timeseries/metrics.js';
import { Trainer, TrainData, Json, TrainerOptions } from './trainer.js';
import { positionFromState } from './forecastTrain.js';
import { TiRex2Trainable, TiRex2TrainBatch, TiRex2LossOptions } from './tirex2Trainable.js';

/** Stream salt of the covariate-dropout draws (independent of the series' own draws). */
const DROPOUT_SALT = 0x5bd1e995;

export interface PromotionDataOptions {
  seed: number;
  batchSize: number;
  contextLength: number;
  futureLength: number;
  /** Probability that a training series comes without its promotion flag (default 0.5). */
  covariateDropout?: number;
  /** Task settings other than seed and length. */
  task?: Omit<PromotionTaskOptions, 'seed' | 'length'>;
}

/** Batch k = series k*B .. k*B + B - 1 of the task stream; the resumable state is k. */
export class PromotionTrainData implements TrainData<TiRex2TrainBatch> {
  readonly options: Readonly<PromotionDataOptions>;
  private readonly gen: PromotionTaskGenerator;
  position = 0;

  constructor(o: PromotionDataOptions) {
    for (const k of ['batchSize', 'contextLength', 'futureLength'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new ArgumentError(`PromotionTrainData: ${k} must be an integer >= 1, got ${o[k]}`);
    }
    const p = o.covariateDropout ?? 0.5;
    if (!(p >= 0 && p <= 1)) throw new ArgumentError(`PromotionTrainData: covariateDropout must be in [0, 1], got ${p}`);
    this.options = { ...o, covariateDropout: p };
    this.gen = new PromotionTaskGenerator({ ...(o.task ?? {}), seed: o.seed, length: o.contextLength + o.futureLength });
  }

  /** Batch `k` of the stream (a pure function of the options and k). */
  batch(k: number): TiRex2TrainBatch {
    const { batchSize: B, contextLength: C, futureLength: F, covariateDropout: p } = this.options;
    const out: TiRex2TrainBatch = { series: [], actual: [] };
    for (let b = 0; b < B; b++) {
      const i = k * B + b;
      const s = this.gen.at(i);
      const drop = Rng.stream((this.options.seed ^ DROPOUT_SALT) >>> 0, i).bernoulli(p!);
      out.series.push({ target: [Float32Array.from(s.target.subarray(0, C))], past: [], future: drop ? [] : [Float32Array.from(s.promotion)] });
      out.actual.push([Float32Array.from(s.target.subarray(C, C + F))]);
    }
    return out;
  }

  next(): TiRex2TrainBatch { return this.batch(this.position++); }
  state(): Json { return { position: this.position }; }
  restore(st: Json): void { this.position = positionFromState(st, 'PromotionTrainData.restore'); }
}

export type TiRex2TrainerOptions = Omit<TrainerOptions<TiRex2TrainBatch>, 'params' | 'loss' | 'data' | 'backend' | 'dtype'> & TiRex2LossOptions;

/** A Trainer over the model's parameters (the same Trainer as every other kind); `tokens` counts series. */
export function createTiRex2Trainer(model: TiRex2Trainable, data: TrainData<TiRex2TrainBatch>, o: TiRex2TrainerOptions): Trainer<TiRex2TrainBatch> {
  const { scoreContext, ...trainerOptions } = o;
  return new Trainer<TiRex2TrainBatch>({
    ...trainerOptions,
    params: model.parameters(),
    backend: model.backend,
    dtype: 'f32',
    data,
    loss: (tape, batch) => ({ loss: model.loss(tape, batch, { scoreContext }).loss, tokens: batch.series.length }),
  });
}

/** A held-out promotion problem: history, the future flag over history + horizon, the actuals. */
export interface PromotionEvalItem {
  id: string;
  history: Float32Array;
  /** [history + horizon] */
  promotion: Float32Array;
  actual: Float32Array;
  /** seasonal period (MASE scale and the seasonal-naive baseline) */
  m: number;
}

/** Held-out series of the task (another seed than training gives unseen series). */
export function promotionEvalSet(o: { seed: number; count: number; contextLength: number; horizon: number; task?: Omit<PromotionTaskOptions, 'seed' | 'length'> }): PromotionEvalItem[] {
  const gen = new PromotionTaskGenerator({ ...(o.task ?? {}), seed: o.seed, length: o.contextLength + o.horizon });
  return Array.from({ length: o.count }, (_, i) => {
    const s = gen.at(i);
    return {
      id: `promotion-${o.seed}-${i}`, history: Float32Array.from(s.target.subarray(0, o.contextLength)),
      promotion: Float32Array.from(s.promotion), actual: Float32Array.from(s.target.subarray(o.contextLength)), m: s.period,
    };
  });
}

export interface CovariateEvidence {
  horizon: number;
  /** the future promotion flag given as a future covariate */
  withCovariate: AggregateScore;
  /** the same series, the flag withheld (univariate) */
  withoutCovariate: AggregateScore;
}

/**
 * Scores the model's current weights on held-out problems with and without the future flag,
 * through the inference TiRex2 (f32, the checkpoint's postprocessor settings).
 */
export async function evaluateTiRex2Covariates(model: TiRex2Trainable, items: readonly PromotionEvalItem[], o: { backend?: WasmBackend; batchSize?: number } = {}): Promise<CovariateEvidence> {
  if (items.length === 0) throw new ArgumentError('evaluateTiRex2Covariates: no evaluation series');
  const H = items[0].actual.length;
  for (const it of items) if (it.actual.length !== H) throw new ArgumentError(`evaluateTiRex2Covariates: series '${it.id}' holds out ${it.actual.length} values, the first one ${H}; use one horizon per call`);
  if (H > model.config.futureLength) throw new ArgumentError(`evaluateTiRex2Covariates: horizon ${H} is above the model's future_len ${model.config.futureLength}`);
  const inf = await TiRex2.fromTensors(model.configJson, model.tensors(), { backend: o.backend ?? model.backend });
  try {
    const levels = model.config.quantiles;
    const score = (withCov: boolean): AggregateScore => {
      const fc = inf.forecast(items.map((it) => ({ target: it.history, ...(withCov ? { futureCovariates: [it.promotion] } : {}) })), { predictionLength: H, batchSize: o.batchSize ?? 32, onWarning: () => undefined });
      if (fc.errors.length) throw new Error(`evaluateTiRex2Covariates: ${fc.errors[0].message}`);
      const scored: SeriesToScore[] = items.map((it, i) => {
        const s = fc.series[i], Q = levels.length;
        const quantiles = Array.from({ length: H }, (_, t) => Float64Array.from({ length: Q }, (_, q) => s.quantiles[q * H + t]));
        return { id: it.id, history: it.history, actual: it.actual, m: it.m, median: s.median.subarray(0, H), quantiles };
      });
      return aggregateScores(scored, scored.map((s) => scoreSeries(s, levels)), levels);
    };
    return { horizon: H, withCovariate: score(true), withoutCovariate: score(false) };
  } finally { inf.dispose(); }
}
