// Fine-tuning a TiRex on the user's own series (issue 13 §3). The last `horizon` values of
// each series are held out for validation; the rest is the training data, cut into random
// windows the way the synthetic sampler (forecastData.ts) cuts them: end-aligned contexts of
// random length, the next patch as the target, contiguous patch masking. The model is scored
// on the held-out part (MASE, WQL via evaluateTiRex: the inference model, as a saved model
// would forecast) before training and every `evalEvery` steps; training stops when the
// validation WQL has not improved for `patience` evaluations, and the best weights are kept.
import { ArgumentError, InputError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { contiguousPatchMask, CpmOptions, ForecastBatch } from './forecastData.js';
import { createTiRexTrainer, evaluateTiRex, positionFromState, ForecastEvalItem, ForecastEvalResult } from './forecastTrain.js';
import type { TiRexTrainable } from './tirexTrainable.js';
import type { Json, TrainData } from './trainer.js';

/** One series to fine-tune on. */
export interface FinetuneSeries {
  id: string;
  /** The whole series (NaN = missing); its last `horizon` values are the validation target. */
  values: ArrayLike<number>;
  /** Seasonal period for MASE and the seasonal naive baseline (default 1). */
  m?: number;
}

export interface FinetuneWindowOptions {
  seed: number;
  /** Longest context in values. */
  contextLength: number;
  patchSize: number;
  batchSize: number;
  cpm?: CpmOptions | false;
  /** Probability that a window uses the longest context its end position allows (default 0.5). */
  fullContextProbability?: number;
}

// differs from forecastData's salt so a fine-tune seed does not replay a pretraining batch's masks
const WINDOW_SALT = 0x0f17_e7a5;

/**
 * Random training windows of the given series as a resumable Trainer data source. Batch k is a
 * pure function of (series, options, k): Rng.stream(seed ^ salt, k) picks, per row, a series
 * (uniformly), the end of the context (uniformly over the positions that leave at least one
 * value to predict) and its length; the target patch is the P values after the context (NaN
 * past the end of the series: not scored). Nothing after a series' end is ever read, so the
 * held-out part never leaks into training.
 */
export class FinetuneWindowData implements TrainData<ForecastBatch> {
  readonly numTokens: number;
  position = 0;
  private readonly series: Float32Array[];
  private readonly o: FinetuneWindowOptions;

  constructor(series: readonly ArrayLike<number>[], o: FinetuneWindowOptions) {
    for (const [n, v] of [['patchSize', o.patchSize], ['contextLength', o.contextLength], ['batchSize', o.batchSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`FinetuneWindowData: ${n} must be an integer >= 1, got ${v}`);
    }
    if (!Number.isInteger(o.seed) || o.seed < 0) throw new ArgumentError(`FinetuneWindowData: seed must be an integer >= 0, got ${o.seed}`);
    if (series.length === 0) throw new InputError('FinetuneWindowData: no training series');
    this.series = series.map((s, i) => {
      if (s.length < 2) throw new InputError(`FinetuneWindowData: training series ${i} has ${s.length} values, needs at least 2 (a context and a value to predict)`);
      return Float32Array.from(s);
    });
    this.o = { ...o };
    this.numTokens = Math.ceil(o.contextLength / o.patchSize);
  }

  /** Batch number `step` (0-based). */
  batch(step: number): ForecastBatch {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`FinetuneWindowData.batch: step must be an integer >= 0, got ${step}`);
    const o = this.o, P = o.patchSize, B = o.batchSize, T = this.numTokens, L = T * P, W = L + P;
    const rng = Rng.stream((o.seed ^ WINDOW_SALT) >>> 0, step);
    const windows = new Float32Array(B * W).fill(NaN);
    const patchMask = new Uint8Array(B * T);
    const contextLengths = new Int32Array(B);
    const full = o.fullContextProbability ?? 0.5;
    for (let j = 0; j < B; j++) {
      const s = this.series[rng.int(0, this.series.length - 1)];
      // context = s[end - c, end), target = s[end, end + P): end leaves at least one value to predict;
      // it starts at P where the series allows, so most windows hold at least a patch of context
      const end = rng.int(Math.min(P, s.length - 1), s.length - 1);
      const longest = Math.min(end, o.contextLength);
      const c = rng.bernoulli(full) ? longest : rng.int(Math.min(P, longest), longest);
      contextLengths[j] = c;
      const row = windows.subarray(j * W, (j + 1) * W);
      row.set(s.subarray(end - c, Math.min(s.length, end + P)), L - c);
      if (o.cpm !== false) {
        // only the patches that hold context can be masked (left padding is masked already)
        const firstTok = T - Math.ceil(c / P);
        patchMask.set(contiguousPatchMask(rng, T - firstTok, o.cpm ?? {}), j * T + firstTok);
      }
    }
    return { batchSize: B, numTokens: T, patchSize: P, windows, patchMask, contextLengths };
  }

  next(): ForecastBatch { return this.batch(this.position++); }
  state(): Json { return { position: this.position }; }
  restore(st: Json): void { this.position = positionFromState(st, 'FinetuneWindowData.restore'); }
}

export interface FinetuneOptions {
  /** Values held out at the end of each series for validation (and forecast in it). */
  horizon: number;
  /** Most optimizer steps (default 200). */
  steps?: number;
  /** Peak learning rate (default 1e-4); cosine decay to a tenth of it over `steps`. */
  lr?: number;
  /** Seed of the training windows and masks (default 0): equal seeds give bit-identical weights. */
  seed?: number;
  /** Windows per step (default 16). */
  batchSize?: number;
  /** Validate every this many steps (default 10). */
  evalEvery?: number;
  /** Stop after this many validations in a row without a lower WQL (default 5). */
  patience?: number;
  /** Longest training context (default: the model's train_ctx_len, at most the longest training part). */
  contextLength?: number;
  /** AdamW weight decay (default 0: fine-tuning starts from weights that already decay well). */
  weightDecay?: number;
  /** Global gradient-norm clip (default 1). */
  gradClip?: number;
  /** Called after each validation (including the one before training, at step 0). */
  onEval?: (e: FinetuneEval) => void;
}

/** One validation: the held-out scores at `step`. */
export interface FinetuneEval {
  step: number;
  mase: number;
  wql: number;
  relMase: number;
  relWql: number;
  /** Mean training loss of the steps since the previous validation (NaN at step 0). */
  trainLoss: number;
  /** This validation's WQL is the best so far (its weights are the ones kept). */
  best: boolean;
}

export interface FinetuneResult {
  horizon: number;
  /** Validation scores of the starting weights. */
  before: ForecastEvalResult;
  /** Validation scores of the kept weights (= before when no step improved WQL). */
  after: ForecastEvalResult;
  /** Step whose weights were kept (0: the starting weights). */
  bestStep: number;
  stepsRun: number;
  stoppedEarly: boolean;
  history: FinetuneEval[];
  /** Ids of the series used; the others, with the reason, in `skipped`. */
  used: string[];
  skipped: { id: string; reason: string }[];
  contextLength: number;
}

function checkInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new ArgumentError(`finetuneTiRex: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function checkPositive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new ArgumentError(`finetuneTiRex: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  return v;
}

/**
 * Splits each series into its training part (all but the last `horizon` values) and the
 * validation problem. A series too short to train and validate on, or with nothing observed
 * in either part, is skipped with the reason; when none is left this throws an InputError.
 */
export function finetuneSplit(series: readonly FinetuneSeries[], horizon: number): { train: Float32Array[]; validation: ForecastEvalItem[]; skipped: { id: string; reason: string }[] } {
  const train: Float32Array[] = [], validation: ForecastEvalItem[] = [], skipped: { id: string; reason: string }[] = [];
  for (const s of series) {
    const v = Float32Array.from(s.values);
    const n = v.length - horizon;
    let reason: string | undefined;
    // the training part needs a context and a value after it
    if (n < 2) reason = `has ${v.length} values, needs at least ${horizon + 2} (the horizon ${horizon} held out + 2 to train on)`;
    else if (v.subarray(n).every(Number.isNaN)) reason = `the last ${horizon} values (held out for validation) are all missing`;
    else if (v.subarray(0, n).filter((x) => !Number.isNaN(x)).length < 2) reason = 'fewer than 2 observed values before the held-out part';
    if (reason) { skipped.push({ id: s.id, reason }); continue; }
    train.push(v.subarray(0, n));
    validation.push({ id: s.id, history: v.subarray(0, n), actual: v.subarray(n), m: s.m ?? 1 });
  }
  if (train.length === 0) {
    throw new InputError(`no series to fine-tune on with horizon ${horizon}: ${skipped.slice(0, 3).map((s) => `series '${s.id}' ${s.reason}`).join('; ')}${skipped.length > 3 ? `; ... (${skipped.length} series)` : ''}`);
  }
  return { train, validation, skipped };
}

/**
 * Fine-tunes `model` in place on `series` and returns the validation scores before and after.
 * On return the model holds the best weights seen (the starting ones when training never
 * lowered the validation WQL). WQL is the stopping criterion because it scores the whole
 * quantile forecast, which is what the model outputs; MASE is reported beside it.
 */
export async function finetuneTiRex(model: TiRexTrainable, series: readonly FinetuneSeries[], opts: FinetuneOptions): Promise<FinetuneResult> {
  const H = checkInt('horizon', opts.horizon, 1);
  const steps = checkInt('steps', opts.steps ?? 200, 1);
  const lr = checkPositive('lr', opts.lr ?? 1e-4);
  const seed = checkInt('seed', opts.seed ?? 0, 0);
  const batchSize = checkInt('batchSize', opts.batchSize ?? 16, 1);
  const evalEvery = checkInt('evalEvery', opts.evalEvery ?? 10, 1);
  const patience = checkInt('patience', opts.patience ?? 5, 1);
  const weightDecay = checkPositive('weightDecay', opts.weightDecay ?? 0, true);
  const gradClip = checkPositive('gradClip', opts.gradClip ?? 1);
  if (opts.contextLength !== undefined) checkInt('contextLength', opts.contextLength, 1);

  const { train, validation, skipped } = finetuneSplit(series, H);
  const P = model.config.inputPatchSize;
  const longest = Math.max(...train.map((s) => s.length));
  // windows never need more tokens than the longest training part fills: shorter windows train faster
  const contextLength = Math.min(opts.contextLength ?? model.hyperParameters.train_ctx_len ?? 2048, Math.ceil(longest / P) * P);
  const data = new FinetuneWindowData(train, { seed, contextLength, patchSize: P, batchSize });
  const trainer = createTiRexTrainer(model, data, {
    totalSteps: steps, lr, minLr: lr / 10, warmupSteps: Math.min(10, Math.floor(steps / 10)), weightDecay, gradClip, seed,
  });

  const history: FinetuneEval[] = [];
  let bestWql = Infinity;
  const score = async (step: number, trainLoss: number): Promise<ForecastEvalResult> => {
    const r = await evaluateTiRex(model, validation);
    const best = r.wql < bestWql;
    const e: FinetuneEval = { step, mase: r.mase, wql: r.wql, relMase: r.relMase.value, relWql: r.relWql.value, trainLoss, best };
    history.push(e);
    opts.onEval?.(e);
    return r;
  };
  const before = await score(0, NaN);
  if (!Number.isFinite(before.wql)) throw new InputError('finetuneTiRex: the validation WQL is undefined (the held-out values are all 0 or missing), so there is nothing to stop on');
  let bestResult = before;
  bestWql = before.wql;
  let bestStep = 0, bestWeights = model.tensors(), sinceBest = 0, lossSum = 0, lossCount = 0, stoppedEarly = false;
  while (trainer.step < steps) {
    const r = trainer.trainStep();
    lossSum += r.loss; lossCount++;
    if (r.step % evalEvery !== 0 && r.step !== steps) continue;
    const v = await score(r.step, lossSum / lossCount);
    lossSum = 0; lossCount = 0;
    if (history[history.length - 1].best) {
      bestResult = v; bestWql = v.wql; bestStep = r.step; bestWeights = model.tensors(); sinceBest = 0;
    } else if (++sinceBest >= patience) { stoppedEarly = r.step < steps; break; }
  }
  model.loadTensors(bestWeights);
  return {
    horizon: H, before, after: bestResult, bestStep, stepsRun: trainer.step, stoppedEarly, history,
    used: validation.map((v) => v.id), skipped, contextLength,
  };
}
