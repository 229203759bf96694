// Optimisation for training: AdamW (torch.optim.AdamW semantics: decoupled weight decay,
// bias-corrected moments, eps outside the sqrt), parameter groups with and without weight
// decay, global-norm gradient clipping, linear warmup + cosine schedule, gradient
// accumulation. The seeded RNG for initialisation, dropout and shuffling is src/random's Rng,
// re-exported here because training code has always imported it from optim.
import { Parameter } from '../autograd/tape.js';
import { ArgumentError } from '../errors.js';
import { checkNumber, checkOptionalNumber, checkOptions } from './args.js';

export { Rng } from '../random/rng.js';
export type { RngState } from '../random/rng.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number; // 0.9
  beta2?: number; // 0.999
  eps?: number; // 1e-8
  weightDecay?: number; // 0.01 (torch default)
}

export interface ParamGroup { params: Parameter[]; weightDecay: number }

/** First and second moments of one parameter (f64, as the optimizer keeps them) with the parameter's shape. */
export interface AdamWMoments {
  shape: number[];
  /** torch's exp_avg. */
  expAvg: Float64Array;
  /** torch's exp_avg_sq. */
  expAvgSq: Float64Array;
}

/**
 * Everything AdamW's next update depends on besides the parameters and their gradients.
 * Parameters are identified by Parameter.name; `moments` has only the parameters updated so far.
 */
export interface AdamWState {
  /** Updates taken (bias correction). */
  step: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Parameter names per group, in order, with the group's weight decay. */
  groups: { params: string[]; weightDecay: number }[];
  moments: Record<string, AdamWMoments>;
}

/** Splits parameters into a decayed group and a no-decay group (Parameter.decay false: norms, biases, embeddings as chosen). */
export function paramGroups(params: readonly Parameter[], weightDecay: number): ParamGroup[] {
  return [
    { params: params.filter((p) => p.decay), weightDecay },
    { params: params.filter((p) => !p.decay), weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
}

export class AdamW {
  private m = new Map<Parameter, Float64Array>();
  private v = new Map<Parameter, Float64Array>();
  /** Steps taken (the bias correction uses it). */
  step = 0;
  lr: number;
  readonly groups: ParamGroup[];
  private b1: number; private b2: number; private eps: number;

  /** params: a list (all decayed by weightDecay) or explicit groups. */
  constructor(params: readonly Parameter[] | ParamGroup[], o: AdamWOptions) {
    const fn = 'AdamW';
    checkOptions(fn, o);
    checkNumber(fn, 'lr', o.lr, { min: 0 });
    this.b1 = checkOptionalNumber(fn, 'beta1', o.beta1, { min: 0, lt: 1 }) ?? 0.9;
    this.b2 = checkOptionalNumber(fn, 'beta2', o.beta2, { min: 0, lt: 1 }) ?? 0.999;
    this.eps = checkOptionalNumber(fn, 'eps', o.eps, { min: 0 }) ?? 1e-8; // torch accepts 0 too
    this.lr = o.lr;
    const wd = checkOptionalNumber(fn, 'weightDecay', o.weightDecay, { min: 0 }) ?? 0.01;
    if (!Array.isArray(params)) throw new ArgumentError(`${fn}: params must be an array of Parameters or of parameter groups, got ${params === null ? 'null' : typeof params}`);
    const flat = params.length > 0 && params[0] instanceof Parameter;
    this.groups = flat ? [{ params: params as unknown as Parameter[], weightDecay: wd }] : (params as unknown as ParamGroup[]);
    this.groups.forEach((g, gi) => {
      if (!g || !Array.isArray(g.params)) throw new ArgumentError(`${fn}: params[${gi}] is neither a Parameter nor a group {params, weightDecay}`);
      g.params.forEach((p, i) => { if (!(p instanceof Parameter)) throw new ArgumentError(`${fn}: ${flat ? '' : `groups[${gi}].`}params[${i}] is not a Parameter`); });
      checkNumber(fn, `groups[${gi}].weightDecay`, g.weightDecay, { min: 0 });
    });
  }

  /**
   * One update from the parameters' .grad (parameters without a gradient are skipped):
   * p -= lr * wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
   */
  stepUpdate(): void {
    this.step++;
    const t = this.step, lr = this.lr;
    const bc1 = 1 - Math.pow(this.b1, t), bc2 = 1 - Math.pow(this.b2, t);
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        const x = p.value.data as Float32Array | Float64Array, gr = p.grad.data as Float32Array | Float64Array;
        let m = this.m.get(p), v = this.v.get(p);
        if (!m || !v) { m = new Float64Array(x.length); v = new Float64Array(x.length); this.m.set(p, m); this.v.set(p, v); }
        const decay = 1 - lr * g.weightDecay;
        for (let i = 0; i < x.length; i++) {
          const gi = gr[i];
          m[i] = this.b1 * m[i] + (1 - this.b1) * gi;
          v[i] = this.b2 * v[i] + (1 - this.b2) * gi * gi;
          x[i] = x[i] * decay - lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + this.eps);
        }
      }
    }
  }

  zeroGrad(): void { for (const g of this.groups) for (const p of g.params) p.zeroGrad(); }

  /** The optimizer state keyed by parameter name (copies: later steps do not change it). Every parameter needs a unique name. */
  stateDict(): AdamWState {
    const moments: Record<string, AdamWMoments> = {};
    for (const [name, p] of this.byName('AdamW.stateDict')) {
      const m = this.m.get(p), v = this.v.get(p);
      if (m && v) moments[name] = { shape: [...p.shape], expAvg: m.slice(), expAvgSq: v.slice() };
    }
    return {
      step: this.step, lr: this.lr, beta1: this.b1, beta2: this.b2, eps: this.eps,
      groups: this.groups.map((g) => ({ params: g.params.map((p) => p.name!), weightDecay: g.weightDecay })),
      moments,
    };
  }

  /**
   * Replaces step, hyperparameters, group weight decays and moments with `state` (from
   * stateDict(), possibly of another optimizer over equally named and shaped parameters).
   * Validates everything before changing anything; parameters without moments in `state`
   * start from zero moments as if never updated.
   */
  loadStateDict(state: AdamWState): void {
    const fn = 'AdamW.loadStateDict';
    if (typeof state !== 'object' || state === null) throw new TypeError(`${fn}: state = ${String(state)}, expected an object from AdamW.stateDict()`);
    const mine = this.byName(fn);
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`${fn}: step = ${state.step}, expected an integer >= 0`);
    if (!(state.lr >= 0)) throw new RangeError(`${fn}: lr = ${state.lr}, expected a number >= 0`);
    for (const k of ['beta1', 'beta2'] as const) if (!(state[k] >= 0 && state[k] < 1)) throw new RangeError(`${fn}: ${k} = ${state[k]}, expected a number in [0, 1)`);
    if (!(state.eps >= 0)) throw new RangeError(`${fn}: eps = ${state.eps}, expected a number >= 0`);
    if (!Array.isArray(state.groups) || state.groups.length !== this.groups.length) throw new Error(`${fn}: state has ${Array.isArray(state.groups) ? state.groups.length : 'no'} parameter groups, this optimizer ${this.groups.length}`);
    state.groups.forEach((sg, gi) => {
      const g = this.groups[gi];
      if (!sg || !Array.isArray(sg.params)) throw new TypeError(`${fn}: groups[${gi}].params is not an array of parameter names`);
      const n = Math.max(sg.params.length, g.params.length);
      for (let i = 0; i < n; i++) {
        if (sg.params[i] !== g.params[i]?.name) {
          throw new Error(`${fn}: groups[${gi}].params[${i}] is ${sg.params[i] === undefined ? 'missing' : `'${sg.params[i]}'`} in the state, ${g.params[i] ? `'${g.params[i].name}'` : 'absent'} in this optimizer`);
        }
      }
      if (!(sg.weightDecay >= 0)) throw new RangeError(`${fn}: groups[${gi}].weightDecay = ${sg.weightDecay}, expected a number >= 0`);
    });
    if (typeof state.moments !== 'object' || state.moments === null) throw new TypeError(`${fn}: moments = ${String(state.moments)}, expected an object keyed by parameter name`);
    const load = new Map<Parameter, [Float64Array, Float64Array]>();
    for (const [name, mo] of Object.entries(state.moments)) {
      const p = mine.get(name);
      if (!p) throw new Error(`${fn}: moments of '${name}', but this optimizer has no parameter named '${name}'`);
      const shape: unknown = mo?.shape;
      if (!Array.isArray(shape) || shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) throw new Error(`${fn}: moments of '${name}' have shape ${JSON.stringify(shape)}, the parameter has [${p.shape.join(', ')}]`);
      for (const k of ['expAvg', 'expAvgSq'] as const) {
        const a: unknown = mo[k];
        if (!(a instanceof Float64Array) || a.length !== p.size) throw new Error(`${fn}: ${k} of '${name}' is ${a instanceof Float64Array ? `a Float64Array of ${a.length} values` : typeof a}, expected a Float64Array of ${p.size} values`);
      }
      load.set(p, [mo.expAvg.slice(), mo.expAvgSq.slice()]);
    }
    this.step = state.step; this.lr = state.lr; this.b1 = state.beta1; this.b2 = state.beta2; this.eps = state.eps;
    state.groups.forEach((sg, gi) => { this.groups[gi].weightDecay = sg.weightDecay; });
    this.m.clear(); this.v.clear();
    for (const [p, [m, v]] of load) { this.m.set(p, m); this.v.set(p, v); }
  }

  /** Parameters by name (names must exist and be unique: the state is keyed by them). */
  private byName(fn: string): Map<string, Parameter> {
    const out = new Map<string, Parameter>();
    this.groups.forEach((g, gi) => g.params.forEach((p, i) => {
      if (!p.name) throw new Error(`${fn}: groups[${gi}].params[${i}] has no name (the optimizer state is keyed by parameter names)`);
      if (out.has(p.name)) throw new Error(`${fn}: parameter name '${p.name}' appears twice`);
      out.set(p.name, p);
    }));
    return out;
  }
}

/** L2 norm of all gradients together (f64 sum). */
export function globalGradNorm(params: readonly Parameter[]): number {
  let s = 0;
  for (const p of params) if (p.grad) { const d = p.grad.data as Float32Array | Float64Array; for (let i = 0; i < d.length; i++) s += d[i] * d[i]; }
  return Math.sqrt(s);
}

/** torch.nn.utils.clip_grad_norm_: scales all gradients by maxNorm / (norm + 1e-6) when norm > maxNorm. Returns the norm before clipping. */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number): number {
  checkNumber('clipGradNorm', 'maxNorm', maxNorm, { gt: 0 });
  const n = globalGradNorm(params);
  const c = maxNorm / (n + 1e-6);
  if (c < 1) for (const p of params) if (p.grad) { const d = p.grad.data as Float32Array | Float64Array; for (let i = 0; i < d.length; i++) d[i] *= c; }
  return n;
}

export interface WarmupCosineOptions {
  maxLr: number;
  /** Steps of linear warmup (step s gets maxLr * (s + 1) / warmupSteps). */
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate at totalSteps (default 0). */
  minLr?: number;
}

/**
 * Learning rate for 0-based `step`: (step + 1) / warmup * maxLr during warmup, then cosine decay
 * from maxLr to minLr over the remaining steps, minLr after totalSteps.
 */
export function warmupCosineLr(step: number, o: WarmupCosineOptions): number {
  const fn = 'warmupCosineLr';
  checkNumber(fn, 'step', step, { int: true, min: 0 });
  checkOptions(fn, o);
  checkNumber(fn, 'maxLr', o.maxLr, { min: 0 });
  checkNumber(fn, 'totalSteps', o.totalSteps, { int: true, min: 1 });
  checkNumber(fn, 'warmupSteps', o.warmupSteps, { int: true, min: 0, max: o.totalSteps });
  const minLr = checkOptionalNumber(fn, 'minLr', o.minLr, { min: 0, max: o.maxLr }) ?? 0;
  if (step < o.warmupSteps) return o.maxLr * (step + 1) / o.warmupSteps;
  if (step >= o.totalSteps) return minLr;
  const p = (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps);
  return minLr + 0.5 * (o.maxLr - minLr) * (1 + Math.cos(Math.PI * p));
}

/**
 * Gradient accumulation: calls `micro(i)` for each of `steps` micro-batches; each runs forward
 * and backward with its loss divided by `steps` (so the summed .grad equals the full batch's
 * mean-loss gradient) and returns its unscaled loss. Returns the mean of those losses.
 */
export function accumulateGradients(steps: number, micro: (i: number) => number): number {
  checkNumber('accumulateGradients', 'steps', steps, { int: true, min: 1 });
  if (typeof micro !== 'function') throw new ArgumentError(`accumulateGradients: micro must be a function (i) => loss, got ${typeof micro}`);
  let s = 0;
  for (let i = 0; i < steps; i++) s += micro(i);
  return s / steps;
}
