// Gaussian-process kernels for KernelSynth-style series (Ansari et al. 2024, "Chronos",
// Section 4.2): draw 1-5 kernels from a bank, join them with random + and *, sample a GP.
//
// Time is the integer step t = 0..n-1. Two ways to draw a sample:
//  - 'exact': the n x n covariance, Cholesky (with a small growing jitter), y = L z. O(n^3),
//    used up to `exactMaxLength` (default 512) steps.
//  - 'features': a feature map Phi [D, n] with K ~= Phi^T Phi plus a diagonal noise term,
//    y = Phi^T z + sqrt(noise) e. O(D n). Per kernel:
//      periodic  exp(-2 sin^2(pi tau / p) / l^2) = sum_k w_k cos(2 pi k tau / p) with
//                w_0 = e^-x I_0(x), w_k = 2 e^-x I_k(x), x = 1/l^2 (I_k = modified Bessel):
//                cos/sin features of the harmonics, truncated when sum w_k >= 1 - 1e-6, i.e. exact;
//      rbf       random Fourier features (Rahimi & Recht 2007): sqrt(2/D) cos(w t + b),
//                w ~ N(0, 1/l^2), b ~ U[0, 2 pi);
//      rq        the same with a per-feature precision lambda ~ Gamma(alpha, rate alpha l^2)
//                (RQ is that scale mixture of RBFs);
//      linear    one feature (t - c) / n; constant: one feature 1;
//      white     no feature, only the diagonal noise term;
//      a + b     features concatenated, noise added;
//      a * b     features multiplied pairwise (all pairs when |A||B| <= D, else D random
//                pairs scaled by sqrt(|A||B|/D): unbiased for K); noise:
//                na diag(Kb) + nb diag(Ka) - na nb, exact on the diagonal.
import { Rng } from '../../random/rng.js';

export type Kernel =
  | { kind: 'periodic'; period: number; lengthScale: number; variance: number }
  | { kind: 'rbf'; lengthScale: number; variance: number }
  | { kind: 'rq'; lengthScale: number; alpha: number; variance: number }
  | { kind: 'linear'; offset: number; variance: number }
  | { kind: 'constant'; variance: number }
  | { kind: 'white'; variance: number }
  | { kind: 'sum'; a: Kernel; b: Kernel }
  | { kind: 'product'; a: Kernel; b: Kernel };

/** Seasonal periods in steps (hourly 24/48/168, daily 7/14/30.4/365.25, weekly 52/26, monthly 12/6, quarterly 4, ...). */
export const SEASONAL_PERIODS: readonly number[] = [4, 6, 7, 10, 12, 14, 24, 26, 30.4375, 48, 52, 52.1775, 96, 168, 365.25];

/** k(t1, t2) for integer steps on a series of n steps (n normalises the linear kernel). */
export function kernelValue(k: Kernel, t1: number, t2: number, n: number): number {
  switch (k.kind) {
    case 'periodic': { const s = Math.sin(Math.PI * (t1 - t2) / k.period); return k.variance * Math.exp(-2 * s * s / (k.lengthScale * k.lengthScale)); }
    case 'rbf': { const d = t1 - t2; return k.variance * Math.exp(-d * d / (2 * k.lengthScale * k.lengthScale)); }
    case 'rq': { const d = t1 - t2; return k.variance * Math.pow(1 + d * d / (2 * k.alpha * k.lengthScale * k.lengthScale), -k.alpha); }
    case 'linear': return k.variance * (t1 - k.offset) * (t2 - k.offset) / (n * n);
    case 'constant': return k.variance;
    case 'white': return t1 === t2 ? k.variance : 0;
    case 'sum': return kernelValue(k.a, t1, t2, n) + kernelValue(k.b, t1, t2, n);
    case 'product': return kernelValue(k.a, t1, t2, n) * kernelValue(k.b, t1, t2, n);
  }
}

/** Covariance matrix [n, n] (row-major). */
export function kernelMatrix(k: Kernel, n: number): Float64Array {
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) { const v = kernelValue(k, i, j, n); K[i * n + j] = v; K[j * n + i] = v; }
  return K;
}

export function describeKernel(k: Kernel): string {
  const f = (x: number) => Number(x.toPrecision(3));
  switch (k.kind) {
    case 'periodic': return `Periodic(p=${f(k.period)}, l=${f(k.lengthScale)})`;
    case 'rbf': return `RBF(l=${f(k.lengthScale)})`;
    case 'rq': return `RQ(l=${f(k.lengthScale)}, a=${f(k.alpha)})`;
    case 'linear': return `Linear(c=${f(k.offset)})`;
    case 'constant': return `Const(${f(k.variance)})`;
    case 'white': return `White(${f(k.variance)})`;
    case 'sum': return `(${describeKernel(k.a)} + ${describeKernel(k.b)})`;
    case 'product': return `${describeKernel(k.a)} * ${describeKernel(k.b)}`;
  }
}

/** One base kernel from the bank, with parameters suited to a series of n steps. */
export function sampleBaseKernel(rng: Rng, n: number): Kernel {
  // periods that fit at least 2 cycles; n < 8 leaves only the smallest
  const periods = SEASONAL_PERIODS.filter((p) => 2 * p <= n);
  const kind = rng.weighted([periods.length ? 4 : 0, 2, 2, 1, 0.5, 0.5]);
  switch (kind) {
    case 0: return { kind: 'periodic', period: rng.pick(periods), lengthScale: rng.range(0.5, 1.5), variance: 1 };
    case 1: return { kind: 'rbf', lengthScale: rng.logRange(0.01, 0.5) * n, variance: 1 };
    case 2: return { kind: 'rq', lengthScale: rng.logRange(0.01, 0.5) * n, alpha: rng.pick([0.1, 1, 10]), variance: 1 };
    case 3: return { kind: 'linear', offset: rng.range(-0.5, 1.5) * n, variance: 1 };
    case 4: return { kind: 'constant', variance: rng.logRange(0.1, 1) };
    default: return { kind: 'white', variance: rng.logRange(0.001, 0.1) };
  }
}

/** 1..maxKernels base kernels joined left to right with + or * (each with probability 1/2). */
export function sampleKernel(rng: Rng, n: number, maxKernels = 5): Kernel {
  if (!Number.isInteger(maxKernels) || maxKernels < 1) throw new Error(`sampleKernel: maxKernels must be an integer >= 1, got ${maxKernels}`);
  const count = rng.int(1, maxKernels);
  let k = sampleBaseKernel(rng, n);
  for (let i = 1; i < count; i++) {
    const b = sampleBaseKernel(rng, n);
    k = rng.bernoulli(0.5) ? { kind: 'sum', a: k, b } : { kind: 'product', a: k, b };
  }
  return k;
}

export interface GpSampleOptions {
  /** 'auto' (default): exact up to exactMaxLength steps, features above. */
  method?: 'auto' | 'exact' | 'features';
  exactMaxLength?: number;
  /** Random features per RBF/RQ kernel and cap on product features (default 256). */
  features?: number;
}

/** One zero-mean GP sample [n] with covariance `k`. */
export function sampleGp(k: Kernel, n: number, rng: Rng, opts: GpSampleOptions = {}): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`sampleGp: length must be an integer >= 1, got ${n}`);
  const method = opts.method ?? 'auto';
  const exactMax = opts.exactMaxLength ?? 512;
  if (method === 'exact' || (method === 'auto' && n <= exactMax)) return sampleExact(k, n, rng);
  if (method !== 'features' && method !== 'auto') throw new Error(`sampleGp: method must be 'auto', 'exact' or 'features', got '${String(method)}'`);
  const f = kernelFeatures(k, n, rng, opts.features ?? 256);
  const y = new Float64Array(n);
  for (const phi of f.phi) {
    const z = rng.normal();
    for (let t = 0; t < n; t++) y[t] += z * phi[t];
  }
  for (let t = 0; t < n; t++) if (f.noise[t] > 0) y[t] += Math.sqrt(f.noise[t]) * rng.normal();
  return y;
}

/** Lower Cholesky factor of an SPD [n, n] matrix in place; false when a pivot is not positive. */
export function choleskyInPlace(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
    for (let i = 0; i < j; i++) A[i * n + j] = 0;
  }
  return true;
}

function sampleExact(k: Kernel, n: number, rng: Rng): Float64Array {
  const K = kernelMatrix(k, n);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += K[i * n + i] / n;
  // smooth kernels give numerically singular matrices: add the smallest jitter that works
  for (let jitter = 1e-10 * meanDiag; ; jitter *= 10) {
    const L = Float64Array.from(K);
    for (let i = 0; i < n; i++) L[i * n + i] += jitter;
    if (choleskyInPlace(L, n)) {
      const z = new Float64Array(n);
      for (let i = 0; i < n; i++) z[i] = rng.normal();
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) { let s = 0; for (let j = 0; j <= i; j++) s += L[i * n + j] * z[j]; y[i] = s; }
      return y;
    }
    if (jitter > 1e-2 * meanDiag + 1e-300) throw new Error(`sampleGp: covariance of ${describeKernel(k)} is not positive definite even with jitter ${jitter}`);
  }
}

export interface KernelFeatures { /** [D][n] */ phi: Float64Array[]; /** [n] diagonal term */ noise: Float64Array }

/** Feature map with K ~= Phi^T Phi + diag(noise) (see the file comment). */
export function kernelFeatures(k: Kernel, n: number, rng: Rng, D: number): KernelFeatures {
  const noise = new Float64Array(n);
  switch (k.kind) {
    case 'periodic': {
      const w = periodicWeights(1 / (k.lengthScale * k.lengthScale));
      const phi: Float64Array[] = [];
      w.forEach((wk, h) => {
        const a = Math.sqrt(k.variance * wk);
        const c = new Float64Array(n), s = new Float64Array(n);
        for (let t = 0; t < n; t++) { const th = 2 * Math.PI * h * t / k.period; c[t] = a * Math.cos(th); s[t] = a * Math.sin(th); }
        phi.push(c);
        if (h > 0) phi.push(s);
      });
      return { phi, noise };
    }
    case 'rbf': case 'rq': {
      const phi: Float64Array[] = [];
      const a = Math.sqrt(2 * k.variance / D);
      for (let j = 0; j < D; j++) {
        const prec = k.kind === 'rbf' ? 1 / (k.lengthScale * k.lengthScale) : rng.gamma(k.alpha) / (k.alpha * k.lengthScale * k.lengthScale);
        const w = Math.sqrt(prec) * rng.normal(), b = rng.range(0, 2 * Math.PI);
        const f = new Float64Array(n);
        for (let t = 0; t < n; t++) f[t] = a * Math.cos(w * t + b);
        phi.push(f);
      }
      return { phi, noise };
    }
    case 'linear': {
      const a = Math.sqrt(k.variance) / n;
      return { phi: [Float64Array.from({ length: n }, (_, t) => a * (t - k.offset))], noise };
    }
    case 'constant': return { phi: [new Float64Array(n).fill(Math.sqrt(k.variance))], noise };
    case 'white': return { phi: [], noise: noise.fill(k.variance) };
    case 'sum': {
      const fa = kernelFeatures(k.a, n, rng, D), fb = kernelFeatures(k.b, n, rng, D);
      for (let t = 0; t < n; t++) noise[t] = fa.noise[t] + fb.noise[t];
      return { phi: fa.phi.concat(fb.phi), noise };
    }
    case 'product': {
      const fa = kernelFeatures(k.a, n, rng, D), fb = kernelFeatures(k.b, n, rng, D);
      const da = diagonal(fa, n), db = diagonal(fb, n);
      for (let t = 0; t < n; t++) noise[t] = fa.noise[t] * db[t] + fb.noise[t] * da[t] - fa.noise[t] * fb.noise[t];
      const A = fa.phi.length, B = fb.phi.length;
      const phi: Float64Array[] = [];
      const mul = (x: Float64Array, y: Float64Array, s: number) => { const f = new Float64Array(n); for (let t = 0; t < n; t++) f[t] = s * x[t] * y[t]; return f; };
      if (A * B <= D) {
        for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) phi.push(mul(fa.phi[i], fb.phi[j], 1));
      } else {
        const s = Math.sqrt(A * B / D);
        for (let m = 0; m < D; m++) phi.push(mul(fa.phi[rng.int(0, A - 1)], fb.phi[rng.int(0, B - 1)], s));
      }
      return { phi, noise };
    }
  }
}

// Ka(t,t) = sum phi^2 + noise: the product noise term makes diag(Ka * Kb) exact
function diagonal(f: KernelFeatures, n: number): Float64Array {
  const d = Float64Array.from(f.noise);
  for (const p of f.phi) for (let t = 0; t < n; t++) d[t] += p[t] * p[t];
  return d;
}

/** Harmonic weights of the periodic kernel: w_0 = e^-x I_0(x), w_h = 2 e^-x I_h(x), until they sum to 1 - 1e-6. */
export function periodicWeights(x: number): number[] {
  const w: number[] = [];
  let total = 0;
  for (let h = 0; h < 200 && total < 1 - 1e-6; h++) {
    const v = (h === 0 ? 1 : 2) * scaledBesselI(h, x);
    w.push(v); total += v;
  }
  return w;
}

/** e^-x I_h(x) from the power series sum_m (x/2)^(2m+h) / (m! (m+h)!), summed in log space. */
export function scaledBesselI(h: number, x: number): number {
  if (x === 0) return h === 0 ? 1 : 0;
  const lx = Math.log(x / 2);
  let s = 0, lf = lgammaInt(h); // log(m! (m+h)!) at m = 0
  for (let m = 0; m < 500; m++) {
    if (m > 0) lf += Math.log(m) + Math.log(m + h);
    const term = Math.exp((2 * m + h) * lx - lf - x);
    s += term;
    if (m > x && term < 1e-17 * s) break;
  }
  return s;
}

function lgammaInt(h: number): number { let s = 0; for (let i = 2; i <= h; i++) s += Math.log(i); return s; }
