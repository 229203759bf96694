// The mLSTM cell on the WebAssembly backend (float32): the forms of mlstm_kernels
// (step, recurrent sequence, parallel, chunkwise, arbitrary-length prefill, mLSTMsig)
// over heap tensors. Kernels: src/backend/wasm/assembly/mlstm.ts; float64 spec:
// src/backend/ref/mlstm.ts. Every form takes q,k [B,NH,S,DHQK], v [B,NH,S,DHV] and gate
// pre-activations i,f [B,NH,S]; only q is scaled (DHQK^-0.5); state c [B,NH,DHQK,DHV],
// n [B,NH,DHQK], m [B,NH,1]; without an initial state C = n = 0 and m = 0.
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';

export const MLSTM_EPS = 1e-6;
/** Default chunk length of the chunkwise kernels (as the official inference wrappers). */
export const MLSTM_DEFAULT_CHUNK = 64;

export interface MlstmInputs {
  /** [B,NH,S,DHQK] queries (unscaled). */ q: Tensor;
  /** [B,NH,S,DHQK] keys. */ k: Tensor;
  /** [B,NH,S,DHV] values. */ v: Tensor;
  /** [B,NH,S] input-gate pre-activations (exponential gate: used as log values). */ i: Tensor;
  /** [B,NH,S] forget-gate pre-activations (log-sigmoid is applied inside). */ f: Tensor;
}

/** One token per head: q,k [B,NH,DHQK], v [B,NH,DHV], i,f [B,NH,1] (or [B,NH]). */
export type MlstmStepInputs = MlstmInputs;

export interface MlstmState {
  /** [B,NH,DHQK,DHV] matrix memory C[key, value]. */ c: Tensor;
  /** [B,NH,DHQK] normaliser. */ n: Tensor;
  /** [B,NH,1] stabiliser (log scale of C and n). */ m: Tensor;
}

export interface MlstmResult {
  /** [B,NH,S,DHV] ([B,NH,DHV] for mlstmStep). */ h: Tensor;
  /** Final state when asked for (always for mlstmStep). */ state?: MlstmState;
  /** [B,NH,S] denominators max(|q.n|, exp(-m)) before +eps, when returnVecs. */ vecN?: Tensor;
  /** [B,NH,S] stabilisers m of each output, when returnVecs. */ vecM?: Tensor;
}

export interface MlstmCommonOptions {
  /** Added to the stabilised denominator, outside the max (default 1e-6). */
  eps?: number;
  /** Threads to use (default: all of the backend's; heads are split between them). */
  threads?: number;
}

export interface MlstmRecurrentOptions extends MlstmCommonOptions {
  /** State before the first token (default zeros, m = 0). Not modified. */
  initialState?: MlstmState;
  /** Return the state after the last token (default false). */
  returnState?: boolean;
}

export interface MlstmChunkwiseOptions extends MlstmRecurrentOptions {
  /** Chunk length (default 64). mlstmChunkwise needs S % chunkSize == 0; mlstmPrefill does not. */
  chunkSize?: number;
  /** Also return vecN/vecM (mlstmChunkwise only). */
  returnVecs?: boolean;
}

export interface MlstmParallelOptions extends MlstmCommonOptions {
  /** Also return vecN/vecM (default false). */
  returnVecs?: boolean;
}

export interface MlstmStepOptions extends MlstmCommonOptions {
  /** Heap tensor [B,NH,DHV] (f32) to write h into, so a decode loop allocates nothing. */
  out?: Tensor;
}

/** State of mLSTMsig (no stabiliser): c [B,NH,DHQK,DHV], n [B,NH,DHQK]. */
export interface MlstmSigState { c: Tensor; n: Tensor }

export interface MlstmSigOptions extends MlstmCommonOptions {
  /** Divide by max(|q.n|, 1) + eps (default true); false gives h = q^T C. */
  normalize?: boolean;
}

export interface MlstmSigChunkwiseOptions extends MlstmSigOptions {
  /** Chunk length; must divide S (default 64, or S when S < 64). */
  chunkSize?: number;
  initialState?: MlstmSigState;
  returnState?: boolean;
}

export interface MlstmSigResult { h: Tensor; state?: MlstmSigState }

const MODE_SIG = 1;
const MODE_NONORM = 2;
/** chunkwise: the state before the range is zero / the state after it is not needed */
const MODE_ZERO_STATE = 4;
const MODE_NO_STATE_OUT = 8;

interface Dims { B: number; NH: number; S: number; DHQK: number; DHV: number }

function fail(fn: string, name: string, t: Tensor, want: readonly (number | string)[], why: string): never {
  throw new Error(`${fn}: ${name} has shape [${t.shape.join(",")}], expected [${want.join(',')}] (${why})`);
}

function checkDtype(fn: string, name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: ${name} must be a Tensor, got ${t === undefined ? 'undefined' : typeof t}`);
  if (t.dtype !== 'f32') throw new TypeError(`${fn}: ${name} has dtype ${t.dtype}, expected f32`);
}

function sameShape(t: Tensor, want: readonly number[]): boolean {
  return t.shape.length === want.length && t.shape.every((d, x) => d === want[x]);
}

/** Checks q,k,v,i,f of a sequence form (step = true: q [B,NH,DHQK]) and returns the dims. */
function checkInputs(fn: string, x: MlstmInputs, step: boolean): Dims {
  if (!x || typeof x !== 'object') throw new TypeError(`${fn}: inputs must be an object {q, k, v, i, f}`);
  for (const name of ['q', 'k', 'v', 'i', 'f'] as const) checkDtype(fn, name, x[name]);
  const q = x.q;
  if (step ? q.rank !== 3 : q.rank !== 4) fail(fn, 'q', q, step ? ['B', 'NH', 'DHQK'] : ['B', 'NH', 'S', 'DHQK'], `rank ${step ? 3 : 4}`);
  const [B, NH] = q.shape;
  const S = step ? 1 : q.shape[2];
  const DHQK = q.shape[q.rank - 1];
  if (B < 1 || NH < 1 || S < 1 || DHQK < 1) fail(fn, 'q', q, step ? ['B', 'NH', 'DHQK'] : ['B', 'NH', 'S', 'DHQK'], 'every dim >= 1');
  const lead = step ? [B, NH] : [B, NH, S];
  const leadWhy = step ? 'B,NH from q' : 'B,NH,S from q';
  if (!sameShape(x.k, [...lead, DHQK])) fail(fn, 'k', x.k, [...lead, DHQK], `${step ? 'B,NH,DHQK' : 'B,NH,S,DHQK'} from q`);
  const v = x.v;
  const DHV = v.shape[v.rank - 1];
  if (v.rank !== lead.length + 1 || !lead.every((d, a) => v.shape[a] === d) || !(DHV >= 1)) fail(fn, 'v', v, [...lead, 'DHV'], leadWhy);
  for (const name of ['i', 'f'] as const) {
    const g = x[name];
    const ok = step ? sameShape(g, [B, NH, 1]) || sameShape(g, [B, NH]) : sameShape(g, [B, NH, S]);
    if (!ok) fail(fn, name, g, step ? [B, NH, 1] : [B, NH, S], leadWhy);
  }
  return { B, NH, S, DHQK, DHV };
}

function checkState(fn: string, arg: string, st: MlstmState | MlstmSigState, d: Dims, withM: boolean): void {
  if (!st || typeof st !== 'object') throw new TypeError(`${fn}: ${arg} must be an object {c, n${withM ? ', m' : ''}}`);
  checkDtype(fn, `${arg}.c`, st.c);
  checkDtype(fn, `${arg}.n`, st.n);
  if (!sameShape(st.c, [d.B, d.NH, d.DHQK, d.DHV])) fail(fn, `${arg}.c`, st.c, [d.B, d.NH, d.DHQK, d.DHV], 'B,NH,DHQK,DHV from q and v');
  if (!sameShape(st.n, [d.B, d.NH, d.DHQK])) fail(fn, `${arg}.n`, st.n, [d.B, d.NH, d.DHQK], 'B,NH,DHQK from q');
  if (withM) {
    const m = (st as MlstmState).m;
    checkDtype(fn, `${arg}.m`, m);
    if (!sameShape(m, [d.B, d.NH, 1]) && !sameShape(m, [d.B, d.NH])) fail(fn, `${arg}.m`, m, [d.B, d.NH, 1], 'B,NH from q');
  }
}

function checkEps(fn: string, eps: number | undefined): number {
  const e = eps ?? MLSTM_EPS;
  if (!(Number.isFinite(e) && e >= 0)) throw new RangeError(`${fn}: eps is ${eps}, expected a finite number >= 0`);
  return e;
}

function checkChunk(fn: string, cs: number | undefined, S: number, mustDivide: boolean, dflt: number): number {
  const L = cs ?? dflt;
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`${fn}: chunkSize is ${cs}, expected a positive integer`);
  if (mustDivide && S % L !== 0) throw new RangeError(`${fn}: chunkSize ${L} does not divide S=${S} (use mlstmPrefill for any S)`);
  return L;
}

function threadsFor(be: WasmBackend, opts: MlstmCommonOptions, d: Dims, steps: number): number {
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new RangeError(`mlstm: threads is ${opts.threads}, expected a positive integer`);
  }
  const want = Math.min(opts.threads ?? be.threads, be.threads, d.B * d.NH);
  // a dispatch costs ~25 us: below ~64K multiply-adds one thread is faster
  return d.B * d.NH * d.DHQK * d.DHV * steps < 65536 ? 1 : Math.max(1, want);
}

/** Threads mlstmStep uses for a batch of B x NH heads (for prebuilt step programs that must match it). */
export function mlstmStepThreads(be: WasmBackend, dims: { B: number; NH: number; DHQK: number; DHV: number }): number {
  return threadsFor(be, {}, { ...dims, S: 1 }, 1);
}

/** Heap copy of the state (or zeros, m = 0) the kernels update in place. */
function workState(be: WasmBackend, d: Dims, init?: MlstmState | MlstmSigState, withM = true): MlstmState {
  const c = be.empty([d.B, d.NH, d.DHQK, d.DHV]);
  const n = be.empty([d.B, d.NH, d.DHQK]);
  const m = be.empty([d.B, d.NH, 1]);
  if (init) {
    (c.data as Float32Array).set(init.c.data as Float32Array);
    (n.data as Float32Array).set(init.n.data as Float32Array);
    if (withM) (m.data as Float32Array).set((init as MlstmState).m.data as Float32Array);
    else (m.data as Float32Array).fill(0);
  } else {
    (c.data as Float32Array).fill(0); (n.data as Float32Array).fill(0); (m.data as Float32Array).fill(0);
  }
  return { c, n, m };
}

function disposeState(s: MlstmState): void { s.c.dispose(); s.n.dispose(); s.m.dispose(); }

interface Up { q: Tensor; k: Tensor; v: Tensor; i: Tensor; f: Tensor; release(): void }

function uploadInputs(be: WasmBackend, x: MlstmInputs): Up {
  const u = { q: be.upload(x.q), k: be.upload(x.k), v: be.upload(x.v), i: be.upload(x.i), f: be.upload(x.f) };
  return {
    ...u,
    release() { for (const n of ['q', 'k', 'v', 'i', 'f'] as const) if (u[n] !== x[n]) u[n].dispose(); },
  };
}

function runRecurrent(be: WasmBackend, u: Up, h: Tensor, st: MlstmState, d: Dims, t0: number, t1: number, eps: number, mode: number, nt: number): void {
  be.run('mlstmRecurrentF32', [
    be.ptr(u.q), be.ptr(u.k), be.ptr(u.v), be.ptr(u.i), be.ptr(u.f), be.ptr(h), be.ptr(st.c), be.ptr(st.n), be.ptr(st.m),
    d.B * d.NH, d.S, t0, t1, d.DHQK, d.DHV, 1 / Math.sqrt(d.DHQK), eps, mode,
  ], nt);
}

function runChunkwise(
  be: WasmBackend, u: Up, h: Tensor, st: MlstmState, d: Dims, t0: number, t1: number, L: number,
  eps: number, mode: number, nt: number, vecN: Tensor | null, vecM: Tensor | null,
): void {
  const stride = (be.exports.mlstmChunkwiseScratchBytes as (L: number, DHQK: number) => number)(L, d.DHQK) + 64;
  const scratch = be.empty([Math.ceil((stride * nt) / 4)]);
  try {
    be.run('mlstmChunkwiseF32', [
      be.ptr(u.q), be.ptr(u.k), be.ptr(u.v), be.ptr(u.i), be.ptr(u.f), be.ptr(h), be.ptr(st.c), be.ptr(st.n), be.ptr(st.m),
      vecN ? be.ptr(vecN) : 0, vecM ? be.ptr(vecM) : 0, d.B * d.NH, d.S, t0, t1, d.DHQK, d.DHV, L,
      1 / Math.sqrt(d.DHQK), eps, mode, be.ptr(scratch), stride,
    ], nt);
  } finally { scratch.dispose(); }
}

/** Runs the arbitrary-length split of mlstm_kernels' wrapper over [0, S) (see mlstmPrefill). */
function runPrefill(be: WasmBackend, u: Up, h: Tensor, st: MlstmState, d: Dims, L: number, eps: number, nt: number, zeroInit: boolean, wantState: boolean): void {
  if (d.S === 1) { runRecurrent(be, u, h, st, d, 0, 1, eps, 0, nt); return; }
  let pos = 0;
  const minChunk = Math.min(16, L);
  for (let cs = L; cs >= minChunk; cs = Math.floor(cs / 2)) {
    const nFull = Math.floor((d.S - pos) / cs);
    if (nFull > 0) {
      const end = pos + nFull * cs;
      const mode = (pos === 0 && zeroInit ? MODE_ZERO_STATE : 0) | (end === d.S && !wantState ? MODE_NO_STATE_OUT : 0);
      runChunkwise(be, u, h, st, d, pos, end, cs, eps, mode, nt, null, null);
      pos = end;
    }
    if (cs === 1) break;
  }
  if (pos < d.S) runRecurrent(be, u, h, st, d, pos, d.S, eps, 0, nt);
}

function finish(st: MlstmState, returnState: boolean | undefined): MlstmState | undefined {
  if (returnState) return st;
  disposeState(st);
  return undefined;
}

/**
 * One decode step (mlstm_recurrent_step__native): q,k [B,NH,DHQK], v [B,NH,DHV],
 * i,f [B,NH,1]. `state` is updated in place (heap tensors are used directly, others are
 * copied back) and returned with h [B,NH,DHV].
 */
export function mlstmStep(be: WasmBackend, x: MlstmStepInputs, state: MlstmState, opts: MlstmStepOptions = {}): MlstmResult & { state: MlstmState } {
  const fn = 'mlstmStep';
  const d = checkInputs(fn, x, true);
  checkState(fn, 'state', state, d, true);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = { c: be.upload(state.c), n: be.upload(state.n), m: be.upload(state.m) };
  let h: Tensor;
  if (opts.out !== undefined) {
    checkDtype(fn, 'out', opts.out);
    if (!sameShape(opts.out, [d.B, d.NH, d.DHV])) fail(fn, 'out', opts.out, [d.B, d.NH, d.DHV], 'B,NH from q, DHV from v');
    if (!be.heap.owns(opts.out.data)) throw new Error(`${fn}: out must be a tensor on the backend heap (be.empty)`);
    h = opts.out;
  } else h = be.empty([d.B, d.NH, d.DHV]);
  try {
    runRecurrent(be, u, h, st, d, 0, 1, eps, 0, threadsFor(be, opts, d, 1));
  } finally { u.release(); }
  for (const n of ['c', 'n', 'm'] as const) {
    if (st[n] !== state[n]) { (state[n].data as Float32Array).set(st[n].data as Float32Array); st[n].dispose(); }
  }
  return { h, state };
}

/** Recurrent sequence (mlstm_recurrent_sequence__native_fw): one step per token. */
export function mlstmRecurrent(be: WasmBackend, x: MlstmInputs, opts: MlstmRecurrentOptions = {}): MlstmResult {
  const fn = 'mlstmRecurrent';
  const d = checkInputs(fn, x, false);
  if (opts.initialState) checkState(fn, 'initialState', opts.initialState, d, true);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d, opts.initialState);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  try { runRecurrent(be, u, h, st, d, 0, d.S, eps, 0, threadsFor(be, opts, d, d.S)); } finally { u.release(); }
  return { h, state: finish(st, opts.returnState) };
}

/** Chunkwise form (mlstm_chunkwise__native, TFLA): S must be a multiple of chunkSize (default 64). */
export function mlstmChunkwise(be: WasmBackend, x: MlstmInputs, opts: MlstmChunkwiseOptions = {}): MlstmResult {
  const fn = 'mlstmChunkwise';
  const d = checkInputs(fn, x, false);
  const L = checkChunk(fn, opts.chunkSize, d.S, true, MLSTM_DEFAULT_CHUNK);
  if (opts.initialState) checkState(fn, 'initialState', opts.initialState, d, true);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d, opts.initialState);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  const vecN = opts.returnVecs ? be.empty([d.B, d.NH, d.S]) : null;
  const vecM = opts.returnVecs ? be.empty([d.B, d.NH, d.S]) : null;
  const mode = (opts.initialState ? 0 : MODE_ZERO_STATE) | (opts.returnState ? 0 : MODE_NO_STATE_OUT);
  try { runChunkwise(be, u, h, st, d, 0, d.S, L, eps, mode, threadsFor(be, opts, d, d.S), vecN, vecM); } finally { u.release(); }
  return { h, state: finish(st, opts.returnState), ...(vecN && vecM ? { vecN, vecM } : {}) };
}

/**
 * Prefill of any length S (wrap_chunkwise__arbitrary_sequence_length): full chunks of
 * chunkSize, then chunkSize/2, ... down to 16, then the recurrent kernel for the < 16 rest,
 * carrying the state; S == 1 is one step. This is the form models use for prompts.
 */
export function mlstmPrefill(be: WasmBackend, x: MlstmInputs, opts: MlstmChunkwiseOptions = {}): MlstmResult {
  const fn = 'mlstmPrefill';
  const d = checkInputs(fn, x, false);
  const L = checkChunk(fn, opts.chunkSize, d.S, false, MLSTM_DEFAULT_CHUNK);
  if (opts.initialState) checkState(fn, 'initialState', opts.initialState, d, true);
  if (opts.returnVecs) throw new Error(`${fn}: returnVecs is not available for the mixed chunkwise/recurrent split (use mlstmChunkwise)`);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d, opts.initialState);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  try { runPrefill(be, u, h, st, d, L, eps, threadsFor(be, opts, d, d.S), !opts.initialState, !!opts.returnState); } finally { u.release(); }
  return { h, state: finish(st, opts.returnState) };
}

/**
 * Parallel form (mlstm_parallel__native): no state; m is the row max of log D (the
 * recurrence started at m = -inf). Runs the chunkwise kernel with one chunk of length S,
 * so memory and time grow with S^2.
 */
export function mlstmParallel(be: WasmBackend, x: MlstmInputs, opts: MlstmParallelOptions = {}): MlstmResult {
  const fn = 'mlstmParallel';
  const d = checkInputs(fn, x, false);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d);
  (st.m.data as Float32Array).fill(-Infinity);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  const vecN = opts.returnVecs ? be.empty([d.B, d.NH, d.S]) : null;
  const vecM = opts.returnVecs ? be.empty([d.B, d.NH, d.S]) : null;
  try { runChunkwise(be, u, h, st, d, 0, d.S, d.S, eps, MODE_ZERO_STATE | MODE_NO_STATE_OUT, threadsFor(be, opts, d, d.S), vecN, vecM); } finally { u.release(); disposeState(st); }
  return { h, ...(vecN && vecM ? { vecN, vecM } : {}) };
}

function sigMode(normalize: boolean | undefined): number { return MODE_SIG | (normalize === false ? MODE_NONORM : 0); }

/** Parallel mLSTMsig (mlstm_siging_parallel__native): sigmoid input gate, no stabiliser. */
export function mlstmSigParallel(be: WasmBackend, x: MlstmInputs, opts: MlstmSigOptions = {}): MlstmSigResult {
  const fn = 'mlstmSigParallel';
  const d = checkInputs(fn, x, false);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  try { runChunkwise(be, u, h, st, d, 0, d.S, d.S, eps, sigMode(opts.normalize) | MODE_ZERO_STATE | MODE_NO_STATE_OUT, threadsFor(be, opts, d, d.S), null, null); } finally { u.release(); disposeState(st); }
  return { h };
}

function sigStateOut(st: MlstmState, returnState: boolean | undefined): MlstmSigState | undefined {
  st.m.dispose();
  if (returnState) return { c: st.c, n: st.n };
  st.c.dispose(); st.n.dispose();
  return undefined;
}

/** Chunkwise mLSTMsig carrying (C, n); chunkSize must divide S. */
export function mlstmSigChunkwise(be: WasmBackend, x: MlstmInputs, opts: MlstmSigChunkwiseOptions = {}): MlstmSigResult {
  const fn = 'mlstmSigChunkwise';
  const d = checkInputs(fn, x, false);
  const L = checkChunk(fn, opts.chunkSize, d.S, true, d.S < MLSTM_DEFAULT_CHUNK ? d.S : MLSTM_DEFAULT_CHUNK);
  if (opts.initialState) checkState(fn, 'initialState', opts.initialState, d, false);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d, opts.initialState, false);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  const mode = sigMode(opts.normalize) | (opts.initialState ? 0 : MODE_ZERO_STATE) | (opts.returnState ? 0 : MODE_NO_STATE_OUT);
  try { runChunkwise(be, u, h, st, d, 0, d.S, L, eps, mode, threadsFor(be, opts, d, d.S), null, null); } finally { u.release(); }
  return { h, state: sigStateOut(st, opts.returnState) };
}

/** Recurrent mLSTMsig: C = sig(f) C + sig(i) k v^T, n likewise, one step per token. */
export function mlstmSigRecurrent(be: WasmBackend, x: MlstmInputs, opts: MlstmSigOptions & { initialState?: MlstmSigState; returnState?: boolean } = {}): MlstmSigResult {
  const fn = 'mlstmSigRecurrent';
  const d = checkInputs(fn, x, false);
  if (opts.initialState) checkState(fn, 'initialState', opts.initialState, d, false);
  const eps = checkEps(fn, opts.eps);
  const u = uploadInputs(be, x);
  const st = workState(be, d, opts.initialState, false);
  const h = be.empty([d.B, d.NH, d.S, d.DHV]);
  try { runRecurrent(be, u, h, st, d, 0, d.S, eps, sigMode(opts.normalize), threadsFor(be, opts, d, d.S)); } finally { u.release(); }
  return { h, state: sigStateOut(st, opts.returnState) };
}

/** A zero state (m = 0) on the backend's heap, for decoding from scratch with mlstmStep. */
export function mlstmZeroState(be: WasmBackend, dims: { B: number; NH: number; DHQK: number; DHV: number }): MlstmState {
  return {
    c: be.zeros([dims.B, dims.NH, dims.DHQK, dims.DHV]),
    n: be.zeros([dims.B, dims.NH, dims.DHQK]),
    m: be.zeros([dims.B, dims.NH, 1]),
  };
}
