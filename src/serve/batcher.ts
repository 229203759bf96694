// Dynamic batching of forecast requests: requests that arrive within a short window (or
// while a forward pass is running, since the model computes synchronously on this thread)
// are gathered into one TiRex.forecast call. TiRex forecasts each series independently of
// its batch neighbours, so gathering changes throughput, not the forecast; the numbers agree
// with a request forecast alone up to float32 rounding, not bit for bit, because the
// kernels' summation order depends on how many rows a pass has (a series forecast three
// times in one call differs from it alone in the last bits; test/serve/forecast.test.ts).
import { overloaded } from './httpErrors.js';

/** A TiRex-2 series: target variates [V_t][T], past covariates [V_p][T], future covariates [V_f][>= T + H]. */
export interface CovariateInput {
  target: Float32Array[];
  pastCovariates: Float32Array[];
  futureCovariates: Float32Array[];
}

/** One series to forecast: a univariate context, or (TiRex-2 only) targets with covariates. */
export type ForecastInput = Float32Array | CovariateInput;

export interface ServeForecastOptions { predictionLength: number; quantileLevels?: readonly number[]; batchSize?: number; rawQuantiles?: boolean }

/** One target variate's forecast. */
export interface TargetForecast {
  /** [t] */ median: Float32Array;
  /** [t] -> levels */ quantiles: Float32Array[];
}

export interface ServeForecastResult {
  quantileLevels: readonly number[];
  /** [series][t] -> levels (the first target of a CovariateInput) */
  quantiles: Float32Array[][];
  median: Float32Array[];
  /** per series: every target's forecast for a CovariateInput, null for a plain context (absent: none was given) */
  targets?: (TargetForecast[] | null)[];
  errors: { series: number; message: string }[];
}

/** What the server needs from a forecaster: TiRex.forecast (or a TiRex-2 behind it) and its checks. */
export interface ServeForecaster {
  /** CovariateInput entries only reach a forecaster that sets this (TiRex-2). */
  readonly covariates?: boolean;
  forecast(context: ForecastInput[], opts: ServeForecastOptions): ServeForecastResult;
  validateForecastOptions(seriesCount: number, opts: ServeForecastOptions): void;
  readonly config: { quantiles: readonly number[]; trainCtxLen: number; futureLength?: number };
}

export interface ForecastJob {
  context: ForecastInput[];
  predictionLength: number;
  quantileLevels?: readonly number[];
  rawQuantiles?: boolean;
}

export interface ForecastJobResult {
  quantileLevels: readonly number[];
  /** [series][t] -> levels */
  quantiles: Float32Array[][];
  median: Float32Array[];
  /** per series: every target of a CovariateInput (null for a plain context) */
  targets?: (TargetForecast[] | null)[];
  /** series index within the job */
  errors: { series: number; message: string }[];
}

export interface BatcherOptions {
  /** How long the first request of a batch waits for others (ms, default 2). */
  windowMs?: number;
  /** Most series in one forecast call (default 256); a bigger request runs alone. */
  maxBatchSeries?: number;
  /** Most series waiting; beyond it requests are refused with 429 (default 4096). */
  maxQueuedSeries?: number;
  /** Series per forward pass inside a call (TiRex batchSize, default 256: per series, a pass of 256 costs about half of one of 64 on one thread). */
  passSize?: number;
  /** Called after every forecast call (metrics). */
  onBatch?: (info: { requests: number; series: number; ms: number }) => void;
}

interface Pending { job: ForecastJob; key: string; resolve: (r: ForecastJobResult) => void; reject: (e: unknown) => void }

export class ForecastBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxBatchSeries: number;
  private readonly maxQueuedSeries: number;
  private readonly passSize: number;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly model: ServeForecaster, private readonly opts: BatcherOptions = {}) {
    this.windowMs = opts.windowMs ?? 2;
    this.maxBatchSeries = opts.maxBatchSeries ?? 256;
    this.maxQueuedSeries = opts.maxQueuedSeries ?? 4096;
    this.passSize = opts.passSize ?? 256;
  }

  /** Series waiting for a forward pass. */
  get queuedSeries(): number { return this.queued; }

  /** Validates the job (throws ArgumentError / LimitError before queueing) and forecasts it with others. */
  submit(job: ForecastJob): Promise<ForecastJobResult> {
    const n = job.context.length;
    this.model.validateForecastOptions(n, { predictionLength: job.predictionLength, quantileLevels: job.quantileLevels, rawQuantiles: job.rawQuantiles, batchSize: Math.min(this.passSize, n) });
    if (this.queued + n > this.maxQueuedSeries) {
      return Promise.reject(overloaded(429, `forecast queue is full (${this.queued} series waiting, limit ${this.maxQueuedSeries}); retry shortly`));
    }
    const key = `${job.predictionLength}|${job.quantileLevels?.join(',') ?? ''}|${job.rawQuantiles === true}`;
    return new Promise((resolve, reject) => {
      this.queue.push({ job, key, resolve, reject });
      this.queued += n;
      if (this.queued >= this.maxBatchSeries) this.schedule(0);
      else this.schedule(this.windowMs);
    });
  }

  /** Resolves once nothing is queued (graceful shutdown). */
  drain(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => { this.timer = undefined; this.flush(); }, ms);
  }

  /** Runs one batch: the oldest request's group, filled up to maxBatchSeries in arrival order. */
  private flush(): void {
    if (this.queue.length === 0) return;
    const key = this.queue[0].key;
    const take: Pending[] = [];
    let series = 0;
    const rest: Pending[] = [];
    for (const p of this.queue) {
      const n = p.job.context.length;
      if (p.key === key && (take.length === 0 || series + n <= this.maxBatchSeries)) { take.push(p); series += n; } else rest.push(p);
    }
    this.queue = rest;
    this.queued -= series;
    this.run(take, series);
    if (this.queue.length > 0) {
      // requests that arrived during the pass get the window to gather company
      this.schedule(this.queued >= this.maxBatchSeries ? 0 : this.windowMs);
    } else {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      w.forEach((r) => r());
    }
  }

  private run(take: Pending[], series: number): void {
    const t0 = performance.now();
    const first = take[0].job;
    const context = take.flatMap((p) => p.job.context);
    let r: ReturnType<ServeForecaster['forecast']>;
    try {
      r = this.model.forecast(context, { predictionLength: first.predictionLength, quantileLevels: first.quantileLevels, rawQuantiles: first.rawQuantiles, batchSize: this.passSize });
    } catch (e) {
      if (take.length > 1) { for (const p of take) this.run([p], p.job.context.length); return; }
      take[0].reject(e);
      return;
    }
    this.opts.onBatch?.({ requests: take.length, series, ms: performance.now() - t0 });
    let off = 0;
    for (const p of take) {
      const n = p.job.context.length, lo = off, hi = off + n;
      off = hi;
      p.resolve({
        quantileLevels: r.quantileLevels,
        quantiles: r.quantiles.slice(lo, hi),
        median: r.median.slice(lo, hi),
        ...(r.targets ? { targets: r.targets.slice(lo, hi) } : {}),
        // the model names series by their index in the gathered call; the client knows its own
        errors: r.errors.filter((e) => e.series >= lo && e.series < hi)
          .map((e) => ({ series: e.series - lo, message: e.message.replace(`context[${e.series}]`, `context[${e.series - lo}]`) })),
      });
    }
  }
}
