// A TiRex-2 behind the server's forecaster contract (batcher.ts: ServeForecaster). Inputs are
// either a plain context (one univariate target, as TiRex takes it) or a CovariateInput
// (several targets, past covariates, future covariates); one TiRex2.forecast call takes a mix
// of both. Series do not interact in TiRex-2 (attention runs over the rows of one series only),
// so gathering requests into one call changes throughput, not the forecasts (up to float32
// rounding, as with TiRex).
import { ArgumentError, LimitError } from '../errors.js';
import type { TiRex2 } from '../models/tirex2/model.js';
import type { CovariateInput, ForecastInput, ServeForecaster, ServeForecastOptions, ServeForecastResult } from './batcher.js';

export class TiRex2ServeForecaster implements ServeForecaster {
  readonly covariates = true;
  readonly config: { quantiles: readonly number[]; trainCtxLen: number; futureLength: number };

  constructor(readonly model: TiRex2) {
    this.config = { quantiles: model.config.quantiles, trainCtxLen: model.config.contextLength, futureLength: model.config.futureLength };
  }

  validateForecastOptions(seriesCount: number, o: ServeForecastOptions): void {
    const H = o.predictionLength;
    if (!Number.isInteger(H) || H < 1) throw new ArgumentError(`prediction_length must be an integer >= 1, got ${JSON.stringify(H)}`);
    // one forward pass covers future_len steps; the server answers the horizon asked or refuses (no silent cap)
    if (H > this.config.futureLength) throw new LimitError('prediction_length', H, this.config.futureLength, "the TiRex-2 model's future_len (one forward pass forecasts at most that many steps)");
    if (o.rawQuantiles) throw new ArgumentError('raw_quantiles does not apply to a TiRex-2 forecaster (its quantiles are the model\'s own, as the official code returns them)');
    if (o.quantileLevels !== undefined) {
      o.quantileLevels.forEach((q, i) => { if (typeof q !== 'number' || !(q > 0 && q < 1)) throw new ArgumentError(`quantile_levels[${i}] must be a number in (0, 1), got ${JSON.stringify(q)}`); });
    }
    if (o.batchSize !== undefined && (!Number.isInteger(o.batchSize) || o.batchSize < 1)) throw new ArgumentError(`batchSize must be an integer >= 1, got ${o.batchSize}`);
    if (!Number.isInteger(seriesCount) || seriesCount < 1) throw new ArgumentError(`no series to forecast (got ${seriesCount})`);
  }

  forecast(inputs: ForecastInput[], o: ServeForecastOptions): ServeForecastResult {
    const series = inputs.map((x) => (x instanceof Float32Array ? { target: x } : { target: x.target, pastCovariates: x.pastCovariates, futureCovariates: x.futureCovariates }));
    const r = this.model.forecast(series, { predictionLength: o.predictionLength, quantileLevels: o.quantileLevels, batchSize: o.batchSize, onWarning: () => undefined });
    const Q = r.quantileLevels.length, H = r.predictionLength;
    const perTarget = r.series.map((s) => Array.from({ length: s.shape[0] }, (_, v) => ({
      median: s.median.slice(v * H, (v + 1) * H),
      quantiles: Array.from({ length: H }, (_, t) => Float32Array.from({ length: Q }, (_, q) => s.quantiles[(v * Q + q) * H + t])),
    })));
    return {
      quantileLevels: r.quantileLevels,
      quantiles: perTarget.map((p) => p[0].quantiles),
      median: perTarget.map((p) => p[0].median),
      targets: perTarget.map((p, i) => (inputs[i] instanceof Float32Array ? null : p)),
      // the batcher and the route name series by `context[i]`
      errors: r.errors.map((e) => ({ series: e.series, message: e.message.replace('TiRex2.forecast: ', '').replace(`series[${e.series}]`, `context[${e.series}]`) })),
    };
  }
}

/** Whether a series object holds covariates (or several targets): only a TiRex-2 takes it. */
export function isCovariateInput(x: ForecastInput): x is CovariateInput { return !(x instanceof Float32Array); }
