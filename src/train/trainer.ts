// A generic training loop over the tape autograd (src/autograd) and AdamW (src/optim).
//
// One optimizer step = `accumulationSteps` micro-batches (each: a fresh Tape, the loss
// closure builds the graph, backward seeded with 1/accumulationSteps so the summed .grad is
// the gradient of the mean loss) -> optional global-norm clipping -> lr from the warmup +
// cosine schedule -> AdamW update -> zero the gradients.
//
// Checkpoints hold everything the next step depends on, so a resumed run continues
// bit-identically (f32): the weights (safetensors, the parameters' own names, e.g. the
// official state_dict names), the AdamW moments (safetensors, f64 as the optimizer keeps
// them: `exp_avg.<name>`, `exp_avg_sq.<name>`) and a JSON trainer state (step, optimizer step,
// the trainer RNG's state, the data source's position). The core works on bytes
// (checkpoint() / restore()), so it runs in browsers; saveCheckpoint / loadCheckpoint write
// and read a directory through a guarded dynamic import of node:fs.
import { Tape, Var, Parameter } from '../autograd/tape.js';
import type { TapeDType } from '../autograd/tape.js';
import { AdamW, paramGroups, clipGradNorm, globalGradNorm, warmupCosineLr, Rng } from '../optim/optim.js';
import type { AdamWMoments, RngState } from '../optim/optim.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { trackHeap, withHeapReclaim } from '../backend/wasm/heapScope.js';
import { Tensor } from '../tensor/tensor.js';
import { serializeSafetensors, parseSafetensors } from '../io/safetensors.js';
import { ArgumentError } from '../errors.js';
import { checkNumber, checkOptionalNumber, checkOptionalFunction, checkOptions } from '../optim/args.js';

/** JSON-serialisable value (data positions, trainer state). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * A resumable source of training batches. `state()` must capture everything `next()` depends
 * on (position, shuffling RNG, epoch), and `restore(state())` must make the following `next()`
 * calls return exactly what they would have returned.
 */
export interface TrainData<B> {
  next(): B;
  state(): Json;
  restore(state: Json): void;
  /**
   * Optional: resolves when the next `count` next() calls will not wait (batches made ahead in
   * worker threads); awaited between steps by Trainer.run / prepareStep.
   */
  ready?(count: number): Promise<void>;
}

/** What the loss closure gets besides the tape and the batch. */
export interface LossContext {
  /** Optimizer step being computed (0-based). */
  step: number;
  /** Micro-batch index within the step (gradient accumulation). */
  micro: number;
  /** The trainer's seeded RNG (dropout masks, noise); its state is checkpointed. */
  rng: Rng;
}

/** The loss closure: builds the graph of one micro-batch on `tape` and returns its scalar mean loss (and optionally the token count for tokens/s). */
export type LossFn<B> = (tape: Tape, batch: B, ctx: LossContext) => Var | { loss: Var; tokens?: number };

export interface TrainerProgress {
  /** Optimizer steps done (1 after the first step). */
  step: number;
  totalSteps: number;
  /** Mean loss over the step's micro-batches. */
  loss: number;
  /** Learning rate used for this step. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Tokens (as reported by the loss closure, else batches) per second over this run() call. */
  tokensPerSec: number;
  /** Seconds left at the current pace. */
  etaSec: number;
}

export interface TrainerOptions<B> {
  /** Trainable parameters; every one needs a unique name (checkpoints are keyed by it). */
  params: readonly Parameter[];
  loss: LossFn<B>;
  data: TrainData<B>;
  /** Backend of the f32 tape (null for an f64 tape). */
  backend: WasmBackend | null;
  /** Tape precision (default 'f32'). */
  dtype?: TapeDType;
  /** Total optimizer steps (the schedule's horizon and run()'s default end). */
  totalSteps: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps (default 0), then cosine to minLr at totalSteps. */
  warmupSteps?: number;
  /** Final learning rate (default 0). */
  minLr?: number;
  /** Custom schedule (overrides warmupSteps/minLr): lr for 0-based step. */
  lrSchedule?: (step: number) => number;
  /** AdamW weight decay of the decay group (default 0.01); Parameter.decay === false -> no decay. */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Global-norm clipping threshold (default: none). */
  gradClip?: number;
  /** Micro-batches per optimizer step (default 1). */
  accumulationSteps?: number;
  /** Seed of the trainer RNG passed to the loss closure (default 0). */
  seed?: number;
  /** Called after every step. */
  onProgress?: (p: TrainerProgress) => void;
  /** Evaluation hook, called every evalEvery steps (and after the last step of run()). */
  evaluate?: (trainer: Trainer<B>) => Record<string, number> | Promise<Record<string, number>>;
  evalEvery?: number;
  onEval?: (step: number, metrics: Record<string, number>) => void;
  /** Directory for periodic checkpoints (Node only) every checkpointEvery steps. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Extra files written with every checkpoint (e.g. a model's config.json, so that the folder loads as a model). */
  checkpointExtras?: () => CheckpointFiles;
  /**
   * Release every wasm-heap tensor allocated during a step (forward/backward intermediates,
   * gradient buffers adopted from kernels) when the step ends, after the update and zeroGrad
   * (default true with a backend). GC finalizers alone run too rarely: the heap grows by the
   * step's working set every step (~8 MiB/step for a 2-block E=64 LM at B=8, S=64) until it
   * hits 4 GiB. The loss closure must not keep heap tensors made during the step.
   */
  reclaimHeap?: boolean;
  /**
   * Settings the run depends on that the Trainer does not see (e.g. the batch size): saved in
   * trainer_state.json with the optimizer hyperparameters and compared the same way on restore.
   */
  checkedSettings?: Record<string, number | string | boolean | null>;
}

/** One finished optimizer step. */
export interface StepResult { step: number; loss: number; lr: number; gradNorm: number; tokens: number }

/** A checkpoint as bytes: file name -> content. */
export type CheckpointFiles = Record<string, Uint8Array>;

export const CHECKPOINT_FILES = { weights: 'model.safetensors', optimizer: 'optimizer.safetensors', state: 'trainer_state.json' } as const;

const FORMAT = 'xlstm-ts-trainer-checkpoint';
// 2: the trainer RNG state is Rng.getState() (xoshiro128**) instead of mulberry32's {s, spare}
const FORMAT_VERSION = 2;

/**
 * Version 1 checkpoints hold the retired mulberry32 trainer RNG ({s: counter, spare}). Its draws
 * cannot be continued by the xoshiro128** Rng: such a checkpoint resumes exactly only if that RNG
 * was never drawn from (counter = the seed, no spare normal), which holds for losses that take
 * no randomness from the context (the forecaster). Otherwise the RNG restarts from the saved
 * counter as a seed: weights, moments and data continue exactly, the dropout masks do not.
 */
function rngFromV1(st: unknown, seed: number): RngState {
  const o = st as { s?: unknown; spare?: unknown } | null;
  if (!o || typeof o.s !== 'number' || !Number.isInteger(o.s) || !(o.spare === null || typeof o.spare === 'number')) {
    throw new TypeError(`version 1 rng = ${JSON.stringify(st)}, expected {s: number, spare: number | null}`);
  }
  return new Rng(o.s >>> 0 === seed && o.spare === null ? seed : o.s >>> 0).getState();
}

const rngJson = (r: RngState): Json => ({ s: [...r.s], spareNormal: r.spareNormal });

/**
 * Writes `data` to `path` through a temporary file in the same folder and a rename, so a crash
 * leaves either the old file or the new one, never a truncated one (rename is atomic within a
 * file system). The temporary name is unique per call. Node only.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const [{ writeFile, rename, rm }, { dirname, basename, join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

export class Trainer<B> {
  readonly params: readonly Parameter[];
  readonly optimizer: AdamW;
  readonly rng: Rng;
  /** Optimizer steps done. */
  step = 0;
  private readonly o: TrainerOptions<B>;
  private readonly byName = new Map<string, Parameter>();

  constructor(o: TrainerOptions<B>) {
    const fn = 'Trainer';
    checkOptions(fn, o);
    if (!Array.isArray(o.params) || o.params.length === 0) throw new ArgumentError('Trainer: options.params must be a non-empty array of Parameters');
    for (const [i, p] of o.params.entries()) {
      if (!(p instanceof Parameter)) throw new ArgumentError(`Trainer: params[${i}] is not a Parameter`);
      if (!p.name) throw new ArgumentError(`Trainer: params[${i}] has no name (checkpoints are keyed by parameter names)`);
      if (this.byName.has(p.name)) throw new ArgumentError(`Trainer: parameter name ${p.name} appears twice`);
      this.byName.set(p.name, p);
    }
    if (typeof o.loss !== 'function') throw new ArgumentError('Trainer: options.loss must be a function (tape, batch, ctx) => Var');
    if (!o.data || typeof o.data.next !== 'function' || typeof o.data.state !== 'function' || typeof o.data.restore !== 'function') throw new ArgumentError('Trainer: options.data must implement next(), state() and restore()');
    if (o.dtype !== undefined && o.dtype !== 'f32' && o.dtype !== 'f64') throw new ArgumentError(`Trainer: dtype = ${JSON.stringify(o.dtype)}, expected 'f32' or 'f64'`);
    if ((o.dtype ?? 'f32') === 'f32' && !o.backend) throw new ArgumentError('Trainer: an f32 tape needs options.backend (a WasmBackend)');
    checkNumber(fn, 'totalSteps', o.totalSteps, { int: true, min: 1 });
    checkNumber(fn, 'lr', o.lr, { min: 0 });
    if (o.lrSchedule !== undefined) checkOptionalFunction(fn, 'lrSchedule', o.lrSchedule);
    else {
      // a schedule that contradicts itself would silently train with another one
      checkOptionalNumber(fn, 'warmupSteps', o.warmupSteps, { int: true, min: 0, max: o.totalSteps });
      checkOptionalNumber(fn, 'minLr', o.minLr, { min: 0, max: o.lr });
    }
    checkOptionalNumber(fn, 'accumulationSteps', o.accumulationSteps, { int: true, min: 1 });
    checkOptionalNumber(fn, 'gradClip', o.gradClip, { gt: 0 });
    checkOptionalNumber(fn, 'seed', o.seed, { int: true, min: 0, max: 2 ** 32 - 1 });
    for (const k of ['evalEvery', 'checkpointEvery'] as const) checkOptionalNumber(fn, k, o[k], { int: true, min: 1 });
    for (const k of ['onProgress', 'evaluate', 'onEval', 'checkpointExtras'] as const) checkOptionalFunction(fn, k, o[k]);
    if (o.checkpointDir !== undefined && (typeof o.checkpointDir !== 'string' || o.checkpointDir === '')) throw new ArgumentError(`Trainer: checkpointDir = ${JSON.stringify(o.checkpointDir)}, expected a folder path`);
    if (o.checkpointEvery !== undefined && o.checkpointDir === undefined) throw new ArgumentError('Trainer: checkpointEvery needs checkpointDir (the folder the checkpoints go to)');
    this.o = o;
    this.params = o.params;
    this.optimizer = new AdamW(paramGroups(o.params, o.weightDecay ?? 0.01), { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
    this.rng = new Rng(o.seed ?? 0);
  }

  get totalSteps(): number { return this.o.totalSteps; }

  /**
   * The settings a resumed run must share with the checkpoint (schedule, optimizer, clipping,
   * accumulation, seed, plus checkedSettings): saved in trainer_state.json and compared on
   * restore, because the Trainer takes them from its options, not from the checkpoint, and a
   * silent change would give another schedule than the one the checkpoint was made with.
   * A custom lrSchedule cannot be compared and is not listed (warmupSteps/minLr then do not apply).
   */
  hyperparameters(): Record<string, number | string | boolean | null> {
    const o = this.o;
    const sched: Record<string, number> = o.lrSchedule ? {} : { warmupSteps: o.warmupSteps ?? 0, minLr: o.minLr ?? 0 };
    return {
      totalSteps: o.totalSteps, lr: o.lr, ...sched, weightDecay: o.weightDecay ?? 0.01,
      beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, gradClip: o.gradClip ?? null,
      accumulationSteps: o.accumulationSteps ?? 1, seed: o.seed ?? 0, ...(o.checkedSettings ?? {}),
    };
  }

  /** Learning rate of 0-based step `s`. */
  lrAt(s: number): number {
    if (this.o.lrSchedule) return this.o.lrSchedule(s);
    return warmupCosineLr(s, { maxLr: this.o.lr, warmupSteps: this.o.warmupSteps ?? 0, totalSteps: this.o.totalSteps, minLr: this.o.minLr });
  }

  /** One optimizer step (all micro-batches). */
  trainStep(): StepResult {
    const be = this.o.backend;
    const track = be && (this.o.reclaimHeap ?? true) ? trackHeap(be) : null;
    try {
      return this.step1();
    } finally {
      // nothing made during the step is referenced any more: the gradients were dropped
      this.optimizer.zeroGrad();
      track?.release();
    }
  }

  private step1(): StepResult {
    const acc = this.o.accumulationSteps ?? 1;
    const s = this.step;
    let lossSum = 0, tokens = 0;
    this.optimizer.zeroGrad();
    for (let micro = 0; micro < acc; micro++) {
      const tape = new Tape(this.o.backend, this.o.dtype ?? 'f32');
      const batch = this.o.data.next();
      const r = this.o.loss(tape, batch, { step: s, micro, rng: this.rng });
      const loss = r instanceof Var ? r : r.loss;
      if (!(loss instanceof Var) || loss.size !== 1) throw new TypeError(`Trainer: the loss closure must return a scalar Var (or {loss, tokens}), got ${loss instanceof Var ? `shape [${loss.shape.join(', ')}]` : typeof loss}`);
      const lv = Number(loss.data[0]);
      if (!Number.isFinite(lv)) throw new Error(`Trainer: loss is ${lv} at step ${s} micro-batch ${micro}`);
      tape.backward(loss, [1 / acc]);
      lossSum += lv;
      tokens += r instanceof Var ? 1 : (r.tokens ?? 1);
    }
    const gradNorm = this.o.gradClip !== undefined ? clipGradNorm(this.params, this.o.gradClip) : globalGradNorm(this.params);
    const lr = this.lrAt(s);
    this.optimizer.lr = lr;
    this.optimizer.stepUpdate();
    this.step = s + 1;
    return { step: this.step, loss: lossSum / acc, lr, gradNorm, tokens };
  }

  /** Waits until the data of the next step is ready (a no-op for data made on the spot). */
  async prepareStep(): Promise<void> {
    await this.o.data.ready?.(this.o.accumulationSteps ?? 1);
  }

  /**
   * Trains until `untilStep` (default totalSteps) with progress, evaluation and checkpoint
   * hooks. Returns the per-step results of this call. `signal` stops between steps.
   */
  async run(opts: { untilStep?: number; signal?: AbortSignal } = {}): Promise<StepResult[]> {
    const end = opts.untilStep ?? this.o.totalSteps;
    if (!Number.isInteger(end) || end < this.step) throw new ArgumentError(`Trainer.run: untilStep ${end} must be an integer >= the current step ${this.step}`);
    if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new ArgumentError('Trainer.run: signal must be an AbortSignal');
    const out: StepResult[] = [];
    const t0 = now();
    let tokens = 0;
    while (this.step < end && !opts.signal?.aborted) {
      await this.prepareStep();
      const r = this.trainStep();
      out.push(r);
      tokens += r.tokens;
      const el = (now() - t0) / 1000;
      const perStep = el / out.length;
      this.o.onProgress?.({ step: r.step, totalSteps: this.o.totalSteps, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, tokensPerSec: el > 0 ? tokens / el : 0, etaSec: perStep * (end - this.step) });
      const last = this.step === end;
      if (this.o.evaluate && ((this.o.evalEvery && this.step % this.o.evalEvery === 0) || last)) {
        const m = await this.o.evaluate(this);
        this.o.onEval?.(this.step, m);
      }
      if (this.o.checkpointDir && this.o.checkpointEvery && (this.step % this.o.checkpointEvery === 0 || last)) await this.saveCheckpoint(this.o.checkpointDir);
    }
    return out;
  }

  /** Weights by parameter name (the live tensors, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.params.map((p) => [p.name!, p.value]));
  }

  /** The checkpoint as bytes (see CHECKPOINT_FILES). Take it between steps. */
  checkpoint(metadata: Record<string, string> = {}): CheckpointFiles {
    const opt = this.optimizer.stateDict();
    const mom = new Map<string, Tensor>();
    for (const p of this.params) {
      const mo = opt.moments[p.name!];
      if (!mo) continue; // no update yet (no gradient so far)
      mom.set(`exp_avg.${p.name}`, new Tensor('f64', mo.shape, mo.expAvg));
      mom.set(`exp_avg_sq.${p.name}`, new Tensor('f64', mo.shape, mo.expAvgSq));
    }
    const state = {
      format: FORMAT, version: FORMAT_VERSION,
      step: this.step, optimizerStep: opt.step, totalSteps: this.o.totalSteps,
      rng: rngJson(this.rng.getState()), data: this.o.data.state(), hyperparameters: this.hyperparameters(),
      params: this.params.map((p) => ({ name: p.name!, shape: [...p.value.shape], decay: p.decay })) as unknown as Json,
    };
    return {
      ...(this.o.checkpointExtras?.() ?? {}),
      [CHECKPOINT_FILES.weights]: serializeSafetensors(this.stateDict(), { format: 'pt', ...metadata }),
      [CHECKPOINT_FILES.optimizer]: serializeSafetensors(mom, { format: FORMAT }),
      [CHECKPOINT_FILES.state]: new TextEncoder().encode(JSON.stringify(state, null, 1)),
    };
  }

  /** Restores weights (in place, converted to each parameter's dtype), moments, step, RNG and data position. */
  restore(files: CheckpointFiles): void {
    for (const f of Object.values(CHECKPOINT_FILES)) if (!(files[f] instanceof Uint8Array)) throw new Error(`Trainer.restore: checkpoint file ${f} is missing`);
    let st: { format?: string; version?: number; step: number; optimizerStep: number; rng: unknown; data: Json };
    try { st = JSON.parse(new TextDecoder().decode(files[CHECKPOINT_FILES.state])); } catch (e) { throw new Error(`Trainer.restore: ${CHECKPOINT_FILES.state} is not valid JSON: ${(e as Error).message}`); }
    if (st.format !== FORMAT || !(st.version === 1 || st.version === FORMAT_VERSION)) throw new Error(`Trainer.restore: ${CHECKPOINT_FILES.state} has format ${st.format} v${st.version}, expected ${FORMAT} v1 or v${FORMAT_VERSION}`);
    if (!Number.isInteger(st.step) || st.step < 0) throw new Error(`Trainer.restore: step ${st.step} is not a non-negative integer`);
    // the checkpoint must come from the same parameter set (names, shapes; decay groups change the update)
    const saved = (st as unknown as { params?: { name: string; shape: number[]; decay: boolean }[] }).params;
    if (Array.isArray(saved)) {
      const mine = new Map(this.params.map((p) => [p.name!, p]));
      const problems: string[] = [];
      for (const s of saved) {
        const p = mine.get(s.name);
        if (!p) { problems.push(`checkpoint parameter ${s.name} is not in this trainer`); continue; }
        if (s.shape.length !== p.shape.length || s.shape.some((d, i) => d !== p.shape[i])) problems.push(`${s.name}: checkpoint [${s.shape.join(', ')}], parameter [${p.shape.join(', ')}]`);
        else if (s.decay !== p.decay) problems.push(`${s.name}: checkpoint decay ${s.decay}, parameter decay ${p.decay}`);
      }
      if (saved.length !== this.params.length) problems.push(`checkpoint has ${saved.length} parameters, this trainer ${this.params.length}`);
      if (problems.length) throw new Error(`Trainer.restore: the checkpoint does not match these parameters: ${problems.slice(0, 6).join('; ')}`);
    }
    // checkpoints before hyperparameters were saved have none and load as before; keys only one
    // side has (a checkedSettings key of another caller) are not compared
    const savedHp = (st as unknown as { hyperparameters?: unknown }).hyperparameters;
    if (savedHp !== undefined && savedHp !== null && typeof savedHp === 'object' && !Array.isArray(savedHp)) {
      const mine = this.hyperparameters();
      const changed: string[] = [];
      for (const [k, v] of Object.entries(savedHp as Record<string, unknown>)) {
        if (!(k in mine)) continue;
        const a = v ?? null, b = mine[k] ?? null;
        if (a !== b) changed.push(`checkpoint was made with ${k} ${a === null ? 'none' : JSON.stringify(a)}, this run has ${b === null ? 'none' : JSON.stringify(b)}`);
      }
      if (changed.length) throw new Error(`Trainer.restore: the settings differ from the checkpoint's (a resumed run must keep them): ${changed.join('; ')}`);
    }
    // validated before anything changes
    const rng = new Rng(0);
    try { rng.setState(st.version === 1 ? rngFromV1(st.rng, this.o.seed ?? 0) : st.rng as RngState); } catch (e) { throw new Error(`Trainer.restore: ${CHECKPOINT_FILES.state}: ${(e as Error).message}`); }
    loadWeightsInto(this.params, files[CHECKPOINT_FILES.weights], 'Trainer.restore');
    const opt = parseSafetensors(files[CHECKPOINT_FILES.optimizer], { source: CHECKPOINT_FILES.optimizer });
    const moments: Record<string, AdamWMoments> = {};
    for (const p of this.params) {
      const a = `exp_avg.${p.name}`, b = `exp_avg_sq.${p.name}`;
      if (!opt.has(a) && !opt.has(b)) continue;
      if (!opt.has(a) || !opt.has(b)) throw new Error(`Trainer.restore: ${CHECKPOINT_FILES.optimizer} has ${opt.has(a) ? a : b} but not ${opt.has(a) ? b : a}`);
      const ta = opt.read(a), tb = opt.read(b);
      if (ta.size !== p.size || tb.size !== p.size) throw new Error(`Trainer.restore: moments of ${p.name} have ${ta.size}/${tb.size} values, the parameter has ${p.size}`);
      moments[p.name!] = { shape: [...p.shape], expAvg: ta.toFloat64(), expAvgSq: tb.toFloat64() };
    }
    // hyperparameters and groups come from this trainer's options (the schedule sets lr every step)
    this.optimizer.loadStateDict({ ...this.optimizer.stateDict(), moments, step: st.optimizerStep });
    this.rng.setState(rng.getState());
    this.step = st.step;
    this.o.data.restore(st.data);
  }

  /** Writes the checkpoint files into `dir` (created if needed). Node only. */
  async saveCheckpoint(dir: string, metadata: Record<string, string> = {}): Promise<void> {
    const [{ mkdir, writeFile, rename, rm }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    await mkdir(dir, { recursive: true });
    // Every file is written to a temporary name first and only then are they all renamed
    // (trainer_state.json last): a process killed while writing (a second Ctrl-C, a crash)
    // leaves the previous checkpoint whole, and the window in which the files belong to two
    // different steps shrinks to the renames.
    const files = Object.entries(this.checkpoint(metadata)).sort(([a], [b]) => Number(a === CHECKPOINT_FILES.state) - Number(b === CHECKPOINT_FILES.state));
    const tag = `${process.pid}.${Math.random().toString(36).slice(2)}`;
    const temps = files.map(([name]) => join(dir, `.${name}.${tag}.tmp`));
    try {
      for (const [i, [, bytes]] of files.entries()) await writeFile(temps[i], bytes);
      for (const [i, [name]] of files.entries()) await rename(temps[i], join(dir, name));
    } catch (e) {
      await Promise.all(temps.map((t) => rm(t, { force: true }).catch(() => undefined)));
      throw e;
    }
  }

  /** Reads a checkpoint directory written by saveCheckpoint. Node only. */
  async loadCheckpoint(dir: string): Promise<void> {
    const [{ readFile }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    const files: CheckpointFiles = {};
    for (const name of Object.values(CHECKPOINT_FILES)) {
      try { files[name] = new Uint8Array(await readFile(join(dir, name))); } catch (e) { throw new Error(`Trainer.loadCheckpoint: cannot read ${join(dir, name)}: ${(e as Error).message}`); }
    }
    this.restore(files);
  }
}

export { withHeapReclaim };

/** Copies tensors of a safetensors file into parameters by name (all must be present with the parameters' shapes). */
export function loadWeightsInto(params: readonly Parameter[], bytes: Uint8Array, label = 'loadWeightsInto'): void {
  const src = parseSafetensors(bytes, { source: label });
  const problems: string[] = [];
  for (const p of params) {
    if (!src.has(p.name!)) { problems.push(`missing ${p.name}`); continue; }
    const info = src.info(p.name!);
    if (info.shape.length !== p.shape.length || info.shape.some((d, i) => d !== p.shape[i])) problems.push(`${p.name}: file has [${info.shape.join(', ')}], parameter is [${p.shape.join(', ')}]`);
  }
  if (problems.length) throw new Error(`${label}: ${problems.length} problem(s): ${problems.slice(0, 6).join('; ')}`);
  for (const p of params) {
    const t = src.read(p.name!);
    const d = p.value.data as Float32Array | Float64Array;
    d.set(p.value.dtype === 'f64' ? t.toFloat64() : t.toFloat32());
  }
}

function now(): number { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }
