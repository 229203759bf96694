// Training batches for patch forecasters (TiRex): windows cut from synthetic series with
// random context lengths (left NaN padding, patches aligned to the end as at inference),
// and contiguous patch masking (CPM, TiRex paper): runs of input patches are replaced by
// the masked token (values NaN -> nan_mask_value, mask bits 0) so the model learns to
// forecast across masked tokens, which is what multi-patch rollout feeds it.
//
// Batch `step` is a pure function of (options, step): series indices step*B + j of the
// generator's stream and Rng.stream(seed ^ CPM_SALT, step) for lengths and masks, so a
// resumed run sees exactly the batches an uninterrupted one would.
import { Rng } from '../random/rng.js';
import { SyntheticSeriesGenerator, type SyntheticMix } from '../data/synthetic/generator.js';

/** Options of contiguous patch masking. */
export interface CpmOptions {
  /** Probability that a window gets any masking (default 0.5). */
  probability?: number;
  /** Longest masked run in patches (default 4). */
  maxRun?: number;
  /** Most runs per window (default 2). */
  maxRuns?: number;
  /** Probability that one run ends at the last token (teaches rollout over appended masked tokens; default 0.5). */
  suffixProbability?: number;
}

/**
 * A [T] mask (1 = patch replaced by the masked token) of up to maxRuns contiguous runs of
 * 1..maxRun patches. Token 0 is never masked so every window keeps observed input.
 */
export function contiguousPatchMask(rng: Rng, numTokens: number, o: CpmOptions = {}): Uint8Array {
  const T = numTokens;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`contiguousPatchMask: numTokens must be an integer >= 1, got ${T}`);
  const prob = o.probability ?? 0.5, maxRun = o.maxRun ?? 4, maxRuns = o.maxRuns ?? 2, suffix = o.suffixProbability ?? 0.5;
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`contiguousPatchMask: probability must be in [0, 1], got ${prob}`);
  if (!Number.isInteger(maxRun) || maxRun < 1) throw new RangeError(`contiguousPatchMask: maxRun must be an integer >= 1, got ${maxRun}`);
  if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new RangeError(`contiguousPatchMask: maxRuns must be an integer >= 1, got ${maxRuns}`);
  const m = new Uint8Array(T);
  if (T < 2 || !rng.bernoulli(prob)) return m;
  const runs = rng.int(1, maxRuns);
  for (let r = 0; r < runs; r++) {
    const len = rng.int(1, Math.min(maxRun, T - 1));
    const start = r === 0 && rng.bernoulli(suffix) ? T - len : rng.int(1, T - len);
    m.fill(1, start, start + len);
  }
  return m;
}

export interface ForecastBatch {
  /** Series in the batch. */
  batchSize: number;
  /** Input tokens T. */
  numTokens: number;
  patchSize: number;
  /**
   * [B, (T+1)*P] raw values, end-aligned: the first T*P are the context (NaN = missing or
   * left padding), the last P are the patch after the context. Token t's output is scored
   * against patch t+1 (the last token's against the future patch).
   */
  windows: Float32Array;
  /** [B, T] CPM mask: 1 = the input patch is replaced by the masked token (its values still serve as targets). */
  patchMask: Uint8Array;
  /** [B] context length before padding. */
  contextLengths: Int32Array;
}

export interface ForecastSamplerOptions {
  seed: number;
  /** Longest context in values (= train_ctx_len of the model). */
  contextLength: number;
  /** Shortest context (default patchSize). */
  minContextLength?: number;
  patchSize: number;
  batchSize: number;
  mix?: SyntheticMix;
  cpm?: CpmOptions | false;
  /** Probability that a window uses the full contextLength (default 0.5); others draw it from [min, max] by `contextSampling`. */
  fullContextProbability?: number;
  /**
   * How the other windows' context lengths are drawn: 'uniform' (default) on [min, max], or
   * 'log-uniform' (as many windows of 16-32 values as of 256-512: short real series, the
   * common case of monthly/quarterly/yearly data, get their share of training).
   */
  contextSampling?: 'uniform' | 'log-uniform';
}

const CPM_SALT = 0x5eed_c9a7;

/** Deterministic training batches from the synthetic series generator. */
export class ForecastBatchSampler {
  readonly options: Readonly<ForecastSamplerOptions>;
  readonly numTokens: number;
  private readonly gen: SyntheticSeriesGenerator;

  constructor(o: ForecastSamplerOptions) {
    const P = o.patchSize;
    for (const [n, v] of [['patchSize', P], ['contextLength', o.contextLength], ['batchSize', o.batchSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`ForecastBatchSampler: ${n} must be an integer >= 1, got ${v}`);
    }
    const minC = o.minContextLength ?? P;
    if (!Number.isInteger(minC) || minC < 1 || minC > o.contextLength) throw new RangeError(`ForecastBatchSampler: minContextLength must be an integer in [1, contextLength=${o.contextLength}], got ${minC}`);
    if (o.contextSampling !== undefined && o.contextSampling !== 'uniform' && o.contextSampling !== 'log-uniform') throw new RangeError(`ForecastBatchSampler: contextSampling must be 'uniform' or 'log-uniform', got ${JSON.stringify(o.contextSampling)}`);
    this.options = { ...o, minContextLength: minC };
    this.numTokens = Math.ceil(o.contextLength / P);
    // each series is exactly as long as the longest window: context + one future patch
    this.gen = new SyntheticSeriesGenerator({ seed: o.seed, length: Math.max(8, o.contextLength + P), mix: o.mix });
  }

  /** Batch number `step` (0-based). */
  batch(step: number): ForecastBatch {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`ForecastBatchSampler.batch: step must be an integer >= 0, got ${step}`);
    const o = this.options, P = o.patchSize, B = o.batchSize, T = this.numTokens, W = (T + 1) * P;
    const rng = Rng.stream((o.seed ^ CPM_SALT) >>> 0, step);
    const windows = new Float32Array(B * W).fill(NaN);
    const patchMask = new Uint8Array(B * T);
    const contextLengths = new Int32Array(B);
    const full = o.fullContextProbability ?? 0.5, minC = o.minContextLength!, logU = o.contextSampling === 'log-uniform';
    for (let j = 0; j < B; j++) {
      const s = this.gen.at(step * B + j).values;
      const c = rng.bernoulli(full) ? o.contextLength
        : logU ? Math.min(o.contextLength, Math.floor(Math.exp(rng.range(Math.log(minC), Math.log(o.contextLength + 1)))))
        : rng.int(minC, o.contextLength);
      contextLengths[j] = c;
      // the last c + P values of the series: context, then the future patch
      const src = s.subarray(s.length - (c + P));
      const row = windows.subarray(j * W, (j + 1) * W);
      for (let i = 0; i < c + P; i++) row[W - (c + P) + i] = src[i];
      if (o.cpm !== false) {
        // only the patches that hold context can be masked (left padding is masked already)
        const firstTok = T - Math.ceil(c / P);
        const m = contiguousPatchMask(rng, T - firstTok, o.cpm ?? {});
        patchMask.set(m, j * T + firstTok);
      }
    }
    return { batchSize: B, numTokens: T, patchSize: P, windows, patchMask, contextLengths };
  }
}
