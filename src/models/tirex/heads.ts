// Linear classification and regression heads on frozen TiRex embeddings (official TiRex v1.4:
// TirexLinearClassifier / TirexLinearRegressor with its Trainer), trained with the project's
// own autograd (src/autograd, float64 tape) and AdamW (src/optim).
// Training follows the official Trainer: embeddings of the training and of the validation
// samples are computed once, in one call per set (with data augmentation the statistics are
// therefore normalised within each set); every epoch shuffles the training rows into batches
// of batchSize, takes one AdamW step per batch (train loss = mean of the batch losses before
// their steps), then measures the validation loss with the updated head; early stopping
// ends training after `patience` epochs without a validation loss below best - delta (the
// last head is kept, as the official code does). With batchSize >= the training set every
// epoch is one full-batch step and the run equals the official one from the same initial
// weights; with smaller batches the shuffling uses our seeded RNG, not torch's.
// The head is saved without the embedding model (as the official save_model): load it with
// the same TiRex weights.
import type { TiRex } from './model.js';
import { embedSamples, type TiRexEmbedInput, type TiRexEmbedding } from './embed.js';
import { Tape, Parameter, ag } from '../../autograd/index.js';
import { AdamW, Rng } from '../../optim/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { ArgumentError, InputError } from '../../errors.js';

export type TiRexHeadTask = 'classification' | 'regression';

export interface TiRexHeadTrainOptions {
  /** Official `data_augmentation` of the embedding (default false). */
  dataAugmentation?: boolean;
  /** Epochs at most (default 10, official). */
  maxEpochs?: number;
  /** AdamW learning rate (default 1e-4, official). */
  lr?: number;
  /** AdamW decoupled weight decay on weight and bias (default 0.01). */
  weightDecay?: number;
  /** Rows per optimiser step and per embedding pass (default 512, official). */
  batchSize?: number;
  /** Share of the training samples held out for validation when no validation data are given (default 0.2). */
  valSplitRatio?: number;
  /** Classification: hold out the same share of every class (default true). */
  stratify?: boolean;
  /** Epochs without improvement before stopping (default 7). */
  patience?: number;
  /** Minimum decrease of the validation loss that counts as an improvement (default 0.001). */
  delta?: number;
  /** Seeds the initial weights, the validation split and the shuffling (default 0). */
  seed?: number;
  /**
   * Starting head instead of the seeded PyTorch-style init U(-1/sqrt(D), 1/sqrt(D)):
   * weight [outputs, D] row-major and bias [outputs] (e.g. an official run's initial head).
   */
  initialWeight?: ArrayLike<number>;
  initialBias?: ArrayLike<number>;
}

export interface TiRexHeadHistory {
  /** Per epoch: mean loss of the epoch's batches, each before its step. */
  trainLoss: number[];
  /** Per epoch: validation loss after the epoch's steps. */
  valLoss: number[];
  epochs: number;
  stoppedEarly: boolean;
}

/** Embeddings [N, D] row-major. */
export interface EmbeddingMatrix { data: ArrayLike<number>; shape: readonly [number, number] | readonly number[] }

/** A saved head (JSON): the weights and settings, not the TiRex model. */
export interface TiRexHeadFile {
  format: 'xlstm-ts.tirex-linear-head';
  version: 1;
  task: TiRexHeadTask;
  dataAugmentation: boolean;
  embDim: number;
  outputs: number;
  /** [outputs, embDim] row-major */
  weight: number[];
  bias: number[];
  /** Class names for labels 0..outputs-1 (classification; optional). */
  classNames?: string[];
  train: Omit<TiRexHeadTrainOptions, 'initialWeight' | 'initialBias' | 'dataAugmentation'>;
}

const FORMAT = 'xlstm-ts.tirex-linear-head';
const DEFAULTS = { maxEpochs: 10, lr: 1e-4, weightDecay: 0.01, batchSize: 512, valSplitRatio: 0.2, stratify: true, patience: 7, delta: 0.001, seed: 0 };
type ResolvedTrain = typeof DEFAULTS;

function resolveTrain(o: TiRexHeadTrainOptions, fn: string): ResolvedTrain {
  if (o === null || typeof o !== 'object') throw new ArgumentError(`${fn}: options must be an object, got ${o === null ? 'null' : typeof o}`);
  const r = { ...DEFAULTS };
  const int = (k: 'maxEpochs' | 'batchSize' | 'patience', min: number) => {
    const v = o[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ArgumentError(`${fn}: ${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    r[k] = v;
  };
  int('maxEpochs', 1); int('batchSize', 1); int('patience', 1);
  const num = (k: 'lr' | 'weightDecay' | 'delta' | 'valSplitRatio' | 'seed', ok: (v: number) => boolean, want: string) => {
    const v = o[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !ok(v)) throw new ArgumentError(`${fn}: ${k} must be ${want}, got ${JSON.stringify(v)}`);
    r[k] = v;
  };
  num('lr', (v) => v > 0 && Number.isFinite(v), 'a number > 0');
  num('weightDecay', (v) => v >= 0 && Number.isFinite(v), 'a number >= 0');
  num('delta', (v) => v >= 0 && Number.isFinite(v), 'a number >= 0');
  num('valSplitRatio', (v) => v > 0 && v < 1, 'in (0, 1)');
  num('seed', (v) => Number.isInteger(v), 'an integer');
  if (o.stratify !== undefined) {
    if (typeof o.stratify !== 'boolean') throw new ArgumentError(`${fn}: stratify must be true or false, got ${JSON.stringify(o.stratify)}`);
    r.stratify = o.stratify;
  }
  return r;
}

function matrix(e: EmbeddingMatrix, name: string, fn: string): { data: Float64Array; N: number; D: number } {
  const [N, D] = e.shape;
  if (e.shape.length !== 2 || !(N >= 1) || !(D >= 1) || e.data.length !== N * D) throw new InputError(`${fn}: ${name} must be [N, D] with N, D >= 1 and N*D values, got shape [${e.shape.join(', ')}] with ${e.data.length} values`);
  const data = Float64Array.from(e.data);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new InputError(`${fn}: ${name} holds a non-finite value at row ${Math.floor(i / D)}, column ${i % D}`);
  return { data, N, D };
}

/** logits/predictions [N, K] = x W^T + b in float64. */
function affine(x: Float64Array, N: number, D: number, w: Float64Array, b: Float64Array, K: number): Float64Array {
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = b[k];
      for (let d = 0; d < D; d++) s += x[n * D + d] * w[k * D + d];
      out[n * K + k] = s;
    }
  }
  return out;
}

function lossOf(task: TiRexHeadTask, out: Float64Array, y: Float64Array, N: number, K: number): number {
  let s = 0;
  if (task === 'regression') { for (let i = 0; i < N * K; i++) s += (out[i] - y[i]) ** 2; return s / (N * K); }
  for (let n = 0; n < N; n++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, out[n * K + k]);
    let se = 0;
    for (let k = 0; k < K; k++) se += Math.exp(out[n * K + k] - mx);
    s += mx + Math.log(se) - out[n * K + y[n]];
  }
  return s / N;
}

function shuffle(rng: Rng, a: number[]): void {
  for (let i = a.length - 1; i > 0; i--) { const j = rng.int(0, i); [a[i], a[j]] = [a[j], a[i]]; }
}

/** A linear layer [outputs, D] on embeddings, and its training loop. */
export class TiRexLinearHead {
  private constructor(readonly task: TiRexHeadTask, readonly embDim: number, readonly outputs: number, readonly weight: Float32Array, readonly bias: Float32Array) {}

  static fromWeights(task: TiRexHeadTask, weight: ArrayLike<number>, bias: ArrayLike<number>, embDim: number): TiRexLinearHead {
    const K = bias.length;
    if (K < 1 || weight.length !== K * embDim) throw new InputError(`TiRexLinearHead: weight must hold outputs*embDim = ${K}*${embDim} values, got ${weight.length}`);
    for (const [n, a] of [['weight', weight], ['bias', bias]] as const) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new InputError(`TiRexLinearHead: ${n}[${i}] is ${a[i]}; head weights must be finite`);
    return new TiRexLinearHead(task, embDim, K, Float32Array.from(weight), Float32Array.from(bias));
  }

  /**
   * Trains a head on precomputed embeddings. targets: class labels 0..K-1 (classification; K =
   * numClasses or the largest label + 1) or [N, outputs] row-major values (regression, with
   * `outputs` columns, default 1).
   */
  static fit(task: TiRexHeadTask, train: EmbeddingMatrix, targets: ArrayLike<number>, opts: TiRexHeadTrainOptions & {
    validation?: { embeddings: EmbeddingMatrix; targets: ArrayLike<number> };
    numClasses?: number;
    outputs?: number;
  } = {}): { head: TiRexLinearHead; history: TiRexHeadHistory } {
    const fn = task === 'classification' ? 'TiRexLinearClassifier.fit' : 'TiRexLinearRegressor.fit';
    const o = resolveTrain(opts, fn);
    const tr = matrix(train, 'training embeddings', fn);
    const D = tr.D;
    let K: number;
    const checkTargets = (y: ArrayLike<number>, N: number, name: string): Float64Array => {
      const v = Float64Array.from(y);
      if (task === 'classification') {
        if (v.length !== N) throw new InputError(`${fn}: ${name} has ${v.length} labels for ${N} samples`);
        v.forEach((c, i) => { if (!(Number.isInteger(c) && c >= 0 && c < K)) throw new InputError(`${fn}: ${name}[${i}] = ${c}; labels must be integers in [0, ${K})`); });
      } else {
        if (v.length !== N * K) throw new InputError(`${fn}: ${name} has ${v.length} values for ${N} samples x ${K} outputs`);
        v.forEach((c, i) => { if (!Number.isFinite(c)) throw new InputError(`${fn}: ${name}[${i}] is ${c}; targets must be finite`); });
      }
      return v;
    };
    if (task === 'classification') {
      let mx = -1;
      for (let i = 0; i < targets.length; i++) if (targets[i] > mx) mx = targets[i];
      K = opts.numClasses ?? mx + 1;
      if (!Number.isInteger(K) || K < 2) throw new InputError(`${fn}: a classifier needs at least 2 classes (labels 0..K-1), got ${opts.numClasses !== undefined ? `numClasses ${opts.numClasses}` : `largest label ${mx}`}`);
    } else {
      K = opts.outputs ?? 1;
      if (!Number.isInteger(K) || K < 1) throw new ArgumentError(`${fn}: outputs must be a positive integer, got ${JSON.stringify(opts.outputs)}`);
    }
    const yAll = checkTargets(targets, tr.N, 'targets');
    const rng = new Rng(o.seed);
    let xt = tr.data, yt = yAll, Nt = tr.N, xv: Float64Array, yv: Float64Array, Nv: number;
    if (opts.validation) {
      const va = matrix(opts.validation.embeddings, 'validation embeddings', fn);
      if (va.D !== D) throw new InputError(`${fn}: validation embeddings have ${va.D} columns, training embeddings ${D}`);
      xv = va.data; Nv = va.N; yv = checkTargets(opts.validation.targets, Nv, 'validation targets');
    } else {
      // held-out share of the training rows (of every class when stratified)
      const groups = new Map<number, number[]>();
      for (let n = 0; n < tr.N; n++) {
        const key = task === 'classification' && o.stratify ? yAll[n] : 0;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key)!.push(n);
      }
      const valIdx: number[] = [], trainIdx: number[] = [];
      for (const idx of groups.values()) {
        shuffle(rng, idx);
        const nv = Math.round(idx.length * o.valSplitRatio);
        valIdx.push(...idx.slice(0, nv)); trainIdx.push(...idx.slice(nv));
      }
      if (valIdx.length === 0 || trainIdx.length === 0) throw new InputError(`${fn}: ${tr.N} samples are too few for a validation split of ${o.valSplitRatio}; pass validation data`);
      valIdx.sort((a, b) => a - b); trainIdx.sort((a, b) => a - b);
      const take = (idx: number[], x: Float64Array, w: number) => { const r = new Float64Array(idx.length * w); idx.forEach((n, i) => r.set(x.subarray(n * w, (n + 1) * w), i * w)); return r; };
      const yw = task === 'classification' ? 1 : K;
      xv = take(valIdx, tr.data, D); yv = take(valIdx, yAll, yw); Nv = valIdx.length;
      xt = take(trainIdx, tr.data, D); yt = take(trainIdx, yAll, yw); Nt = trainIdx.length;
    }
    let w0: Float64Array, b0: Float64Array;
    if (opts.initialWeight || opts.initialBias) {
      if (!opts.initialWeight || !opts.initialBias) throw new ArgumentError(`${fn}: initialWeight and initialBias go together`);
      if (opts.initialWeight.length !== K * D || opts.initialBias.length !== K) throw new ArgumentError(`${fn}: initialWeight must hold ${K}x${D} and initialBias ${K} values, got ${opts.initialWeight.length} and ${opts.initialBias.length}`);
      w0 = Float64Array.from(opts.initialWeight); b0 = Float64Array.from(opts.initialBias);
    } else {
      // PyTorch's nn.Linear init (kaiming_uniform with a = sqrt(5) gives the same bound as the bias)
      const bound = 1 / Math.sqrt(D);
      w0 = Float64Array.from({ length: K * D }, () => rng.range(-bound, bound));
      b0 = Float64Array.from({ length: K }, () => rng.range(-bound, bound));
    }
    const W = new Parameter(new Tensor('f64', [K, D], w0), 'head.weight');
    const Bv = new Parameter(new Tensor('f64', [K], b0), 'head.bias');
    const opt = new AdamW([W, Bv], { lr: o.lr, weightDecay: o.weightDecay });
    const history: TiRexHeadHistory = { trainLoss: [], valLoss: [], epochs: 0, stoppedEarly: false };
    let best = Infinity, wait = 0;
    const order = Array.from({ length: Nt }, (_, i) => i);
    const yw = task === 'classification' ? 1 : K;
    for (let epoch = 0; epoch < o.maxEpochs; epoch++) {
      shuffle(rng, order);
      let sum = 0, batches = 0;
      for (let s = 0; s < Nt; s += o.batchSize) {
        const idx = order.slice(s, s + o.batchSize);
        const xb = new Float64Array(idx.length * D), yb = new Float64Array(idx.length * yw);
        idx.forEach((n, i) => { xb.set(xt.subarray(n * D, (n + 1) * D), i * D); yb.set(yt.subarray(n * yw, (n + 1) * yw), i * yw); });
        const tape = new Tape(null, 'f64');
        const out = ag.linear(tape, tape.input(new Tensor('f64', [idx.length, D], xb)), W, Bv);
        let loss;
        if (task === 'classification') loss = ag.crossEntropy(tape, out, yb);
        else {
          const diff = ag.sub(tape, out, tape.input(new Tensor('f64', [idx.length, K], yb)));
          loss = ag.meanAll(tape, ag.mul(tape, diff, diff));
        }
        sum += loss.data[0]; batches++;
        opt.zeroGrad();
        tape.backward(loss);
        opt.stepUpdate();
      }
      const wv = W.value.data as Float64Array, bv = Bv.value.data as Float64Array;
      // the official validation loss is the mean of per-batch means
      let vs = 0, vb = 0;
      for (let s = 0; s < Nv; s += o.batchSize) {
        const n = Math.min(o.batchSize, Nv - s);
        vs += lossOf(task, affine(xv.subarray(s * D, (s + n) * D), n, D, wv, bv, K), yv.subarray(s * yw, (s + n) * yw), n, K); vb++;
      }
      const val = vs / vb;
      history.trainLoss.push(sum / batches); history.valLoss.push(val); history.epochs++;
      if (val < best - o.delta) { best = val; wait = 0; } else if (++wait >= o.patience) { history.stoppedEarly = true; break; }
    }
    const head = new TiRexLinearHead(task, D, K, Float32Array.from(W.value.data as Float64Array), Float32Array.from(Bv.value.data as Float64Array));
    return { head, history };
  }

  /** [N, outputs] logits (classification) or predictions (regression), float32 like the official head. */
  apply(emb: EmbeddingMatrix): Float32Array {
    const fn = this.task === 'classification' ? 'TiRexLinearClassifier' : 'TiRexLinearRegressor';
    const m = matrix(emb, 'embeddings', fn);
    if (m.D !== this.embDim) throw new InputError(`${fn}: the head was fitted on embeddings of ${this.embDim} values, these have ${m.D} (with data augmentation the width depends on the series length and on the number of variates: use samples shaped like the training ones)`);
    return Float32Array.from(affine(m.data, m.N, m.D, Float64Array.from(this.weight), Float64Array.from(this.bias), this.outputs));
  }
}

/** Softmax per row of [N, K] logits, float32. */
export function softmaxRows(logits: ArrayLike<number>, K: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / K; r++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, logits[r * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits[r * K + k] - mx);
    for (let k = 0; k < K; k++) out[r * K + k] = Math.exp(logits[r * K + k] - mx) / s;
  }
  return out;
}

interface FitData { samples: TiRexEmbedInput; targets: ArrayLike<number> }

/** What the classifier and regressor share: the embedding, the head, save/load. */
abstract class TiRexHeadModel {
  protected head?: TiRexLinearHead;
  /** Training history of the last fit (undefined after load). */
  history?: TiRexHeadHistory;
  readonly options: TiRexHeadTrainOptions;
  protected constructor(readonly model: TiRex, readonly task: TiRexHeadTask, opts: TiRexHeadTrainOptions) {
    resolveTrain(opts, this.name);
    if (opts.dataAugmentation !== undefined && typeof opts.dataAugmentation !== 'boolean') throw new ArgumentError(`${this.name}: dataAugmentation must be true or false, got ${JSON.stringify(opts.dataAugmentation)}`);
    this.options = { ...opts };
  }
  protected get name(): string { return this.task === 'classification' ? 'TiRexLinearClassifier' : 'TiRexLinearRegressor'; }
  get dataAugmentation(): boolean { return this.options.dataAugmentation ?? false; }
  get fitted(): boolean { return this.head !== undefined; }
  /** The trained head (throws before fit/load). */
  get linear(): TiRexLinearHead {
    if (!this.head) throw new ArgumentError(`${this.name}: the head is not trained; call fit() or load a saved head first`);
    return this.head;
  }

  /** The embeddings this head reads (one TiRex.embed call for all samples, as the official code). */
  embed(samples: TiRexEmbedInput): TiRexEmbedding {
    return embedSamples(this.model, samples, { dataAugmentation: this.dataAugmentation, batchSize: this.options.batchSize ?? DEFAULTS.batchSize });
  }

  protected fitWith(train: FitData, validation: FitData | undefined, extra: { numClasses?: number; outputs?: number }): TiRexHeadHistory {
    const emb = this.embed(train.samples);
    const val = validation ? { embeddings: this.embed(validation.samples), targets: validation.targets } : undefined;
    return this.fitEmbeddings(emb, train.targets, val, extra);
  }

  /** fit on precomputed embeddings (e.g. a cached TiRex.embed result of this head's dataAugmentation). */
  fitEmbeddings(train: EmbeddingMatrix, targets: ArrayLike<number>, validation?: { embeddings: EmbeddingMatrix; targets: ArrayLike<number> }, extra: { numClasses?: number; outputs?: number } = {}): TiRexHeadHistory {
    const { head, history } = TiRexLinearHead.fit(this.task, train, targets, { ...this.options, ...extra, validation });
    this.head = head; this.history = history;
    return history;
  }

  /** [N, outputs] logits (classifier) / predictions (regressor) from samples. */
  forward(samples: TiRexEmbedInput): Float32Array { return this.linear.apply(this.embed(samples)); }

  /** The head and its settings as JSON (the TiRex weights are not included). */
  toJSON(classNames?: string[]): TiRexHeadFile {
    const h = this.linear;
    const { initialWeight: _w, initialBias: _b, dataAugmentation: _d, ...train } = this.options;
    return {
      format: FORMAT, version: 1, task: this.task, dataAugmentation: this.dataAugmentation, embDim: h.embDim, outputs: h.outputs,
      weight: Array.from(h.weight), bias: Array.from(h.bias), ...(classNames ? { classNames } : {}), train,
    };
  }

  protected static parseFile(obj: unknown, task: TiRexHeadTask, fn: string): TiRexHeadFile {
    const f = obj as TiRexHeadFile;
    if (!f || typeof f !== 'object' || f.format !== FORMAT) throw new InputError(`${fn}: not a saved TiRex head (format '${FORMAT}' expected, got ${f && typeof f === 'object' ? JSON.stringify(f.format) : typeof f})`);
    if (f.version !== 1) throw new InputError(`${fn}: head file version ${JSON.stringify(f.version)} is not supported (1 expected)`);
    if (f.task !== task) throw new InputError(`${fn}: the file holds a ${f.task} head, not a ${task} head`);
    if (typeof f.dataAugmentation !== 'boolean' || !Number.isInteger(f.embDim) || !Array.isArray(f.weight) || !Array.isArray(f.bias)) throw new InputError(`${fn}: head file is missing dataAugmentation, embDim, weight or bias`);
    if (f.outputs !== f.bias.length) throw new InputError(`${fn}: head file says ${f.outputs} outputs but holds ${f.bias.length} biases`);
    return f;
  }

  protected restore(f: TiRexHeadFile): void { this.head = TiRexLinearHead.fromWeights(this.task, f.weight, f.bias, f.embDim); }
}

async function writeText(path: string, text: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, text);
}
async function readText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

/** Official TirexLinearClassifier: softmax regression on TiRex embeddings. */
export class TiRexLinearClassifier extends TiRexHeadModel {
  /** Names of the labels 0..K-1 (saved with the head; the CLI maps CSV labels through them). */
  classNames?: string[];
  constructor(model: TiRex, opts: TiRexHeadTrainOptions = {}) { super(model, 'classification', opts); }

  /** Trains the head; labels are integers 0..K-1. Without `validation`, valSplitRatio of the samples is held out. */
  fit(samples: TiRexEmbedInput, labels: ArrayLike<number>, opts: { validation?: { samples: TiRexEmbedInput; labels: ArrayLike<number> }; numClasses?: number } = {}): TiRexHeadHistory {
    const v = opts.validation;
    return this.fitWith({ samples, targets: labels }, v && { samples: v.samples, targets: v.labels }, { numClasses: opts.numClasses });
  }

  get numClasses(): number { return this.linear.outputs; }
  /** Most likely class per sample. */
  predict(samples: TiRexEmbedInput): Int32Array { return argmaxRows(this.forward(samples), this.numClasses); }
  /** [N, K] class probabilities row-major. */
  predictProba(samples: TiRexEmbedInput): Float32Array { return softmaxRows(this.forward(samples), this.numClasses); }

  async save(path: string): Promise<void> { await writeText(path, JSON.stringify(this.toJSON(this.classNames)) + '\n'); }
  static fromJSON(model: TiRex, obj: unknown): TiRexLinearClassifier {
    const f = TiRexHeadModel.parseFile(obj, 'classification', 'TiRexLinearClassifier.load');
    const c = new TiRexLinearClassifier(model, { ...f.train, dataAugmentation: f.dataAugmentation });
    c.restore(f);
    if (f.classNames !== undefined) {
      if (!Array.isArray(f.classNames) || f.classNames.length !== f.outputs || f.classNames.some((n) => typeof n !== 'string')) throw new InputError(`TiRexLinearClassifier.load: classNames must be ${f.outputs} strings`);
      c.classNames = f.classNames;
    }
    return c;
  }
  static async load(path: string, model: TiRex): Promise<TiRexLinearClassifier> { return TiRexLinearClassifier.fromJSON(model, parseJson(await readText(path), path)); }
}

/** Official TirexLinearRegressor: least squares (MSE) on TiRex embeddings. */
export class TiRexLinearRegressor extends TiRexHeadModel {
  constructor(model: TiRex, opts: TiRexHeadTrainOptions = {}) { super(model, 'regression', opts); }

  /** Trains the head; targets [N, outputs] row-major (outputs default 1). */
  fit(samples: TiRexEmbedInput, targets: ArrayLike<number>, opts: { validation?: { samples: TiRexEmbedInput; targets: ArrayLike<number> }; outputs?: number } = {}): TiRexHeadHistory {
    return this.fitWith({ samples, targets }, opts.validation, { outputs: opts.outputs });
  }

  /** [N, outputs] predictions row-major. */
  predict(samples: TiRexEmbedInput): Float32Array { return this.forward(samples); }

  async save(path: string): Promise<void> { await writeText(path, JSON.stringify(this.toJSON()) + '\n'); }
  static fromJSON(model: TiRex, obj: unknown): TiRexLinearRegressor {
    const f = TiRexHeadModel.parseFile(obj, 'regression', 'TiRexLinearRegressor.load');
    const r = new TiRexLinearRegressor(model, { ...f.train, dataAugmentation: f.dataAugmentation });
    r.restore(f);
    return r;
  }
  static async load(path: string, model: TiRex): Promise<TiRexLinearRegressor> { return TiRexLinearRegressor.fromJSON(model, parseJson(await readText(path), path)); }
}

function parseJson(text: string, path: string): unknown {
  try { return JSON.parse(text); } catch (e) { throw new InputError(`${path}: not valid JSON (${(e as Error).message})`); }
}

export function argmaxRows(x: ArrayLike<number>, K: number): Int32Array {
  const out = new Int32Array(x.length / K);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (x[r * K + k] > x[r * K + best]) best = k;
    out[r] = best;
  }
  return out;
}
