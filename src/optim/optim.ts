// Optimisation for training: AdamW (torch.optim.AdamW semantics: decoupled weight decay,
// bias-corrected moments, eps outside the sqrt), parameter groups with and without weight
// decay, global-norm gradient clipping, linear warmup + cosine schedule, gradient
// accumulation, and a seeded PRNG for initialisation and shuffling.
import { Parameter } from '../autograd/tape.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number; // 0.9
  beta2?: number; // 0.999
  eps?: number; // 1e-8
  weightDecay?: number; // 0.01 (torch default)
}

export interface ParamGroup { params: Parameter[]; weightDecay: number }

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
    if (!(o.lr >= 0)) throw new RangeError(`AdamW: lr must be >= 0, got ${o.lr}`);
    this.b1 = o.beta1 ?? 0.9; this.b2 = o.beta2 ?? 0.999; this.eps = o.eps ?? 1e-8;
    for (const [n, b] of [['beta1', this.b1], ['beta2', this.b2]] as const) if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW: ${n} must be in [0, 1), got ${b}`);
    this.lr = o.lr;
    const wd = o.weightDecay ?? 0.01;
    this.groups = params.length && params[0] instanceof Parameter ? [{ params: params as Parameter[], weightDecay: wd }] : (params as ParamGroup[]);
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
}

/** L2 norm of all gradients together (f64 sum). */
export function globalGradNorm(params: readonly Parameter[]): number {
  let s = 0;
  for (const p of params) if (p.grad) { const d = p.grad.data as Float32Array | Float64Array; for (let i = 0; i < d.length; i++) s += d[i] * d[i]; }
  return Math.sqrt(s);
}

/** torch.nn.utils.clip_grad_norm_: scales all gradients by maxNorm / (norm + 1e-6) when norm > maxNorm. Returns the norm before clipping. */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
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
  const minLr = o.minLr ?? 0;
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
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`accumulateGradients: steps must be an integer >= 1, got ${steps}`);
  let s = 0;
  for (let i = 0; i < steps; i++) s += micro(i);
  return s / steps;
}

/** Seeded PRNG (mulberry32 + Box-Muller): deterministic init and shuffling. */
export class Rng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** Uniform in [0, 1). */
  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal. */
  normal(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform(), r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** n values ~ N(mean, std^2) as f32. */
  normalArray(n: number, std = 1, mean = 0): Float32Array { return Float32Array.from({ length: n }, () => mean + std * this.normal()); }
  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(this.uniform() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; }
    return a;
  }
}
