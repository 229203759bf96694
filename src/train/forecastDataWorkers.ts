// Synthetic forecasting batches made by worker threads while the main thread trains, as
// PyTorch's DataLoader(num_workers) does: generating a batch of the default forecaster
// (Gaussian-process samples and all) costs about as much as its training step, so on 2 cores
// this nearly doubles the throughput. Batch i is a pure function of (options, i)
// (ForecastBatchSampler), so a worker computes exactly the batch the main thread would: the
// run is bit-identical with or without workers, and a batch that has not arrived when next()
// needs it is simply computed in place. Node only (worker_threads, loaded on create()).
import type { Json, TrainData } from './trainer.js';
import { ForecastBatchSampler } from './forecastData.js';
import type { ForecastBatch, ForecastSamplerOptions } from './forecastData.js';
import { positionFromState } from './forecastTrain.js';

export interface ForecastDataWorkersOptions {
  /** Worker threads (default 1). */
  workers?: number;
  /** Batches requested ahead of the current position (default 2 per worker). */
  prefetch?: number;
}

type WorkerLike = { postMessage(v: unknown): void; on(ev: string, f: (v: never) => void): void; terminate(): Promise<number>; ref(): void; unref(): void };
type Reply = { index: number; batch?: ForecastBatch; error?: string };

export class ForecastDataWorkers implements TrainData<ForecastBatch> {
  position = 0;
  /** Batches arrived or on their way, by index. */
  private readonly inFlight = new Map<number, Promise<ForecastBatch>>();
  private readonly arrived = new Map<number, ForecastBatch>();
  private readonly waiters = new Map<number, { resolve: (b: ForecastBatch) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private closed = false;
  private refd = true;

  private constructor(readonly sampler: ForecastBatchSampler, private readonly workers: WorkerLike[], private readonly prefetch: number) {
    for (const w of workers) {
      w.on('message', (r: Reply) => this.onReply(r));
      w.on('error', (e: Error) => this.fail(new Error(`forecast data worker failed: ${e.message}`)));
    }
    this.updateRef();
  }

  /**
   * The workers keep the process alive only while a batch is on its way: an owner that forgets
   * close() must not hang Node at exit, and one awaiting ready() must not see it exit under it.
   */
  private updateRef(): void {
    const busy = this.waiters.size > 0 && !this.closed;
    if (busy === this.refd) return;
    this.refd = busy;
    for (const w of this.workers) { if (busy) w.ref(); else w.unref(); }
  }

  static async create(o: ForecastSamplerOptions, w: ForecastDataWorkersOptions = {}): Promise<ForecastDataWorkers> {
    const n = w.workers ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`ForecastDataWorkers: workers must be an integer in 1..64, got ${n}`);
    const prefetch = w.prefetch ?? 2 * n;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`ForecastDataWorkers: prefetch must be an integer >= 1, got ${prefetch}`);
    const sampler = new ForecastBatchSampler(o); // validates the options before any thread starts
    const { Worker } = await import('node:worker_threads');
    const url = new URL('./forecastDataWorker.js', import.meta.url);
    const workers = Array.from({ length: n }, () => new Worker(url, { workerData: o }) as unknown as WorkerLike);
    return new ForecastDataWorkers(sampler, workers, prefetch);
  }

  /** The next batch: a worker's if it has arrived, else computed here (the same numbers). */
  next(): ForecastBatch {
    if (this.failure) throw this.failure;
    const i = this.position++;
    const b = this.arrived.get(i) ?? this.sampler.batch(i);
    this.forget(i);
    this.request();
    return b;
  }

  /** Resolves when the next `count` batches have arrived (awaited between steps; yields to the event loop). */
  async ready(count = 1): Promise<void> {
    this.request(count);
    for (let i = this.position; i < this.position + count; i++) await this.inFlight.get(i);
  }

  state(): Json { return { position: this.position }; }

  restore(st: Json): void {
    this.position = positionFromState(st, 'ForecastDataWorkers.restore');
    // batches are pure functions of their index: what is in flight stays valid, only older ones go
    for (const i of [...this.arrived.keys()]) if (i < this.position) this.forget(i);
  }

  /** Stops the workers (pending ready() calls reject). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('ForecastDataWorkers: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private request(count = 1): void {
    if (this.closed || this.failure) return;
    const end = this.position + Math.max(count, this.prefetch);
    for (let i = this.position; i < end; i++) {
      if (this.inFlight.has(i)) continue;
      const p = new Promise<ForecastBatch>((resolve, reject) => this.waiters.set(i, { resolve, reject }));
      p.catch(() => undefined); // a failure is reported by next()/ready(), not as an unhandled rejection
      this.inFlight.set(i, p);
      this.workers[i % this.workers.length].postMessage(i);
    }
    this.updateRef();
  }

  private onReply(r: Reply): void {
    const w = this.waiters.get(r.index);
    this.waiters.delete(r.index);
    if (r.error !== undefined) { this.fail(new Error(`forecast data worker, batch ${r.index}: ${r.error}`)); return; }
    if (r.index < this.position || !this.inFlight.has(r.index)) w?.resolve(r.batch!); // already computed in place
    else {
      this.arrived.set(r.index, r.batch!);
      w?.resolve(r.batch!);
    }
    this.updateRef();
  }

  private forget(i: number): void { this.arrived.delete(i); this.inFlight.delete(i); }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters.values()) w.reject(this.failure);
    this.waiters.clear();
    this.updateRef();
  }
}
