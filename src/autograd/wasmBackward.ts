// Backward passes of the f32 tape on the wasm kernels (src/backend/wasm/assembly/backward*.ts):
// the sLSTM BPTT, the mLSTM parallel/chunkwise backward and the common op backwards. Each
// function takes the forward's values (JS or heap tensors; JS ones are copied to the heap) and
// disposes everything it allocated, except the gradients it returns: weight gradients come as
// Float32Arrays in JS memory (parameters keep them across steps), activation gradients as heap
// tensors the caller owns (Tape.accumulateOwned keeps them as intermediate gradients without a
// copy and frees them once consumed; the next op's wasm kernels read them in place).
// The float64 loops of src/backend/ref/*Backward.ts stay the ground truth (f64 tape, tests).
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { matmul as wasmMatmul } from '../ops/matmul.js';
import { MLSTM_EPS } from '../backend/ref/mlstm.js';

/** Below this many multiply-adds a second thread costs more (dispatch ~25 us) than it saves. */
const MIN_WORK_PER_THREAD = 1 << 18;

function threadsFor(be: WasmBackend, units: number, work: number): number {
  return Math.max(1, Math.min(be.threads, units, Math.floor(work / MIN_WORK_PER_THREAD)));
}

/** Heap copies made for one call, freed together. */
class Arena {
  private owned: Tensor[] = [];
  constructor(readonly be: WasmBackend) {}
  /** The tensor on the heap as f32 (copied when it is in JS memory or not f32). */
  up(t: Tensor): Tensor {
    if (t.dtype !== 'f32') return this.keep(this.be.upload(new Tensor('f32', t.shape, t.toFloat32())));
    const u = this.be.upload(t);
    if (u !== t) this.owned.push(u);
    return u;
  }
  arr(shape: readonly number[], a: ArrayLike<number>): Tensor {
    return this.up(new Tensor('f32', shape, a instanceof Float32Array ? a : Float32Array.from(a)));
  }
  empty(shape: readonly number[]): Tensor { return this.keep(this.be.empty(shape)); }
  keep(t: Tensor): Tensor { this.owned.push(t); return t; }
  /** Takes t off the free list: the caller owns it now. */
  give(t: Tensor): Tensor { this.owned = this.owned.filter((o) => o !== t); return t; }
  ptr(t: Tensor | null | undefined): number { return t ? this.be.ptr(t) : 0; }
  dispose(): void { for (const t of this.owned) t.dispose(); this.owned = []; }
}

const copyOut = (t: Tensor): Float32Array => (t.data as Float32Array).slice();

/** A gradient: a JS array, or a heap tensor the receiver owns (and must dispose or hand on). */
export type WasmGrad = Float32Array | Tensor;

export interface SlstmWasmGrads { dx: WasmGrad; dR: Float32Array; dBias: Float32Array; dState0: Float32Array }

/**
 * sLSTM backward: x [B,S,4H], R [NH,DH,4DH], bias [4H], statesAll [4,S+1,B,H] (the forward's,
 * plain f32), dy [B,S,H].
 */
export function slstmBackwardWasm(be: WasmBackend, x: Tensor, R: Tensor, bias: Tensor, statesAll: Tensor, dy: ArrayLike<number>,
  B: number, S: number, NH: number, DH: number, forgetClamp: number | null): SlstmWasmGrads {
  const H = NH * DH, G = 4 * DH;
  const ar = new Arena(be);
  try {
    const xh = ar.up(x), rh = ar.up(R), bh = ar.up(bias), ah = ar.up(statesAll), dyh = ar.arr([B, S, H], dy);
    const dx = ar.empty([B, S, 4 * H]), dRawH = ar.empty([NH, S * B, G]), ypH = ar.empty([NH, S * B, DH]), dState0 = ar.empty([4, B, H]);
    const nt = threadsFor(be, B * NH, B * S * NH * DH * G * 2);
    const scratch = ar.empty([nt * 12 * DH]);
    be.run('slstmBackwardF32', [
      ar.ptr(xh), ar.ptr(rh), ar.ptr(bh), ar.ptr(ah), ar.ptr(dyh), ar.ptr(dx), ar.ptr(dRawH), ar.ptr(ypH), ar.ptr(dState0), ar.ptr(scratch),
      B, S, NH, DH, forgetClamp !== null ? 8 : 0, forgetClamp ?? 0,
    ], nt);
    // dR[h] = Yprev[h]^T dRaw[h]; dBias[h] = column sums of dRaw[h]
    const dR = ar.keep(wasmMatmul(be, ypH, dRawH, { transA: true }));
    const dBias = ar.empty([NH, G]);
    be.run('colSumF32', [ar.ptr(dBias), ar.ptr(dRawH), NH, S * B, G, 0], threadsFor(be, G / 4, NH * S * B * G * 4));
    return { dx: ar.give(dx), dR: copyOut(dR), dBias: copyOut(dBias), dState0: copyOut(dState0) };
  } finally { ar.dispose(); }
}

export interface MlstmWasmInputs { q: Tensor; k: Tensor; v: Tensor; i: Tensor; f: Tensor }
export interface MlstmWasmGrads { dq: WasmGrad; dk: WasmGrad; dv: WasmGrad; di: WasmGrad; df: WasmGrad; dC0?: Float32Array }

/**
 * mLSTM backward ('official' mode), parallel (chunkSize = S, no initial state) or chunkwise:
 * q,k [B,NH,S,DHQK], v [B,NH,S,DHV], i,f [B,NH,S], dh [B,NH,S,DHV], vecN/vecM [B,NH,S] from the
 * forward; initial state c [B,NH,DHQK,DHV], m [B,NH] (its dC0 is returned).
 */
export function mlstmBackwardWasm(be: WasmBackend, x: MlstmWasmInputs, dh: ArrayLike<number>, vecN: Tensor, vecM: Tensor,
  o: { chunkSize: number; eps?: number; initialState?: { c: Tensor; m: Tensor } }): MlstmWasmGrads {
  const [B, NH, S, DHQK] = x.q.shape;
  const DHV = x.v.shape[3], L = o.chunkSize, BH = B * NH;
  const ar = new Arena(be);
  try {
    const q = ar.up(x.q), k = ar.up(x.k), v = ar.up(x.v), ig = ar.up(x.i), fg = ar.up(x.f);
    const dhh = ar.arr([B, NH, S, DHV], dh), nh = ar.up(vecN), mh = ar.up(vecM);
    const c0 = o.initialState ? ar.up(o.initialState.c) : null, m0 = o.initialState ? ar.up(o.initialState.m) : null;
    const dq = ar.empty(x.q.shape), dk = ar.empty(x.k.shape), dv = ar.empty(x.v.shape), di = ar.empty([B, NH, S]), df = ar.empty([B, NH, S]);
    const dC0 = o.initialState ? ar.empty([B, NH, DHQK, DHV]) : null;
    const work = BH * S * (L * (2 * DHQK + 2 * DHV) + 4 * DHQK * DHV);
    const nt = threadsFor(be, BH, work);
    const stride = (be.exports.mlstmBackwardScratchBytes as (S: number, L: number, a: number, b: number) => number)(S, L, DHQK, DHV) + 64;
    const scratch = ar.empty([Math.ceil((stride * nt) / 4)]);
    be.run('mlstmBackwardF32', [
      ar.ptr(q), ar.ptr(k), ar.ptr(v), ar.ptr(ig), ar.ptr(fg), ar.ptr(dhh), ar.ptr(nh), ar.ptr(mh), ar.ptr(c0), ar.ptr(m0),
      ar.ptr(dq), ar.ptr(dk), ar.ptr(dv), ar.ptr(di), ar.ptr(df), ar.ptr(dC0),
      BH, S, DHQK, DHV, L, 1 / Math.sqrt(DHQK), o.eps ?? MLSTM_EPS, ar.ptr(scratch), stride,
    ], nt);
    const g: MlstmWasmGrads = { dq: ar.give(dq), dk: ar.give(dk), dv: ar.give(dv), di: ar.give(di), df: ar.give(df) };
    if (dC0) g.dC0 = copyOut(dC0);
    return g;
  } finally { ar.dispose(); }
}

// ---- common ops ----

const ACT_CODES: Record<string, number> = { exp: 0, log: 1, sigmoid: 2, logsigmoid: 3, tanh: 4, silu: 5, gelu: 6, softplus: 7, relu: 8, erf: 9 };

/** dx = dy * f'(x), given x and y = f(x). */
export function activationBackwardWasm(be: WasmBackend, fn: string, x: Tensor, y: Tensor, dy: ArrayLike<number>): Tensor {
  const code = ACT_CODES[fn];
  if (code === undefined) throw new RangeError(`activationBackwardWasm: no derivative for ${fn}`);
  const ar = new Arena(be);
  try {
    const n = x.size;
    const xh = ar.up(x), yh = ar.up(y), gh = ar.arr(x.shape, dy), dx = ar.empty(x.shape);
    be.run('activationBackwardF32', [ar.ptr(dx), ar.ptr(xh), ar.ptr(yh), ar.ptr(gh), n, code], threadsFor(be, n, n * (code === 6 || code === 9 ? 64 : 16)));
    return ar.give(dx);
  } finally { ar.dispose(); }
}

/** softmax / log-softmax over rows of n, given the op's output y. */
export function softmaxBackwardWasm(be: WasmBackend, y: Tensor, dy: ArrayLike<number>, n: number, log: boolean): Tensor {
  const ar = new Arena(be);
  try {
    const rows = y.size / n;
    const yh = ar.up(y), gh = ar.arr(y.shape, dy), dx = ar.empty(y.shape);
    be.run('softmaxBackwardF32', [ar.ptr(dx), ar.ptr(yh), ar.ptr(gh), rows, n, log ? 1 : 0], threadsFor(be, rows, y.size * 16));
    return ar.give(dx);
  } finally { ar.dispose(); }
}

/**
 * Mean cross-entropy of logits [N, V] against targets over the rows whose target is not
 * ignoreIndex (targets already range-checked); with dLoss given also the logits' gradient.
 * rowLse: the rowLse returned by the loss-only call on the same logits (skips recomputing it).
 */
export function crossEntropyWasm(be: WasmBackend, logits: Tensor, targets: ArrayLike<number>, V: number, ignoreIndex: number,
  dLoss?: number, rowLse?: Float32Array): { loss: number; count: number; grad?: Tensor; rowLse: Float32Array } {
  const N = targets.length;
  let count = 0;
  for (let r = 0; r < N; r++) if (targets[r] !== ignoreIndex) count++;
  const ar = new Arena(be);
  try {
    const lh = ar.up(logits);
    const tg = ar.keep(be.empty([N], 'i32'));
    // an ignoreIndex outside i32 cannot equal a valid target: map it to -1 (never a class)
    const ign = Number.isInteger(ignoreIndex) && Math.abs(ignoreIndex) < 2 ** 31 ? ignoreIndex : -1;
    const td = tg.data as Int32Array;
    for (let r = 0; r < N; r++) td[r] = targets[r] === ignoreIndex ? ign : targets[r];
    const rowLoss = ar.empty([N]);
    const lse = rowLse ? ar.arr([N], rowLse) : ar.empty([N]);
    const grad = dLoss !== undefined ? ar.empty([N, V]) : null;
    const scale = dLoss !== undefined && count ? dLoss / count : 0;
    be.run('crossEntropyF32', [ar.ptr(grad), ar.ptr(rowLoss), ar.ptr(lse), ar.ptr(lh), ar.ptr(tg), N, V, ign, scale, rowLse ? 1 : 0], threadsFor(be, N, N * V * 24));
    let loss = 0;
    const rl = rowLoss.data as Float32Array;
    for (let r = 0; r < N; r++) loss += rl[r];
    return { loss: count ? loss / count : 0, count, rowLse: rowLse ?? copyOut(lse), ...(grad ? { grad: ar.give(grad) } : {}) };
  } finally { ar.dispose(); }
}

export interface NormBackwardWasmOptions { eps: number; weight?: Tensor; weightOffset?: boolean; rms?: boolean }

/** Group norm / LayerNorm / RMSNorm backward over rows of D = groups * DG; each gradient only when wanted. */
export function normBackwardWasm(be: WasmBackend, x: Tensor, dy: ArrayLike<number>, D: number, groups: number, o: NormBackwardWasmOptions,
  want: { dx: boolean; dw: boolean; db: boolean }): { dx?: Tensor; dw?: Float32Array; db?: Float32Array } {
  const ar = new Arena(be);
  try {
    const DG = D / groups, rows = x.size / D;
    const nt = threadsFor(be, rows * groups, x.size * 12);
    const xh = ar.up(x), gh = ar.arr(x.shape, dy), wh = o.weight ? ar.up(o.weight) : null;
    const dx = want.dx ? ar.empty(x.shape) : null;
    const dwp = want.dw ? ar.empty([nt, D]) : null, dbp = want.db ? ar.empty([nt, D]) : null;
    be.run('normBackwardF32', [ar.ptr(dx), ar.ptr(dwp), ar.ptr(dbp), ar.ptr(xh), ar.ptr(gh), ar.ptr(wh), rows, groups, DG, o.eps, o.weightOffset ? 1 : 0, o.rms ? 1 : 0], nt);
    const sumParts = (p: Tensor): Float32Array => {
      const d = p.data as Float32Array, out = d.slice(0, D);
      for (let k = 1; k < nt; k++) for (let i = 0; i < D; i++) out[i] += d[k * D + i];
      return out;
    };
    return { ...(dx ? { dx: ar.give(dx) } : {}), ...(dwp ? { dw: sumParts(dwp) } : {}), ...(dbp ? { db: sumParts(dbp) } : {}) };
  } finally { ar.dispose(); }
}

/** Causal depthwise conv1d backward: x [B,S,C], w [C,K]; each gradient only when wanted. */
export function causalConv1dBackwardWasm(be: WasmBackend, x: Tensor, w: Tensor, dy: ArrayLike<number>, B: number, S: number, C: number, K: number,
  want: { dx: boolean; dw: boolean; db: boolean }): { dx?: Tensor; dw?: Float32Array; db?: Float32Array } {
  const ar = new Arena(be);
  try {
    const wd = w.toFloat32();
    const wT = ar.empty([K, C]);
    const wt = wT.data as Float32Array;
    for (let c = 0; c < C; c++) for (let j = 0; j < K; j++) wt[j * C + c] = wd[c * K + j];
    const xh = ar.up(x), gh = ar.arr([B, S, C], dy);
    const dx = want.dx ? ar.empty([B, S, C]) : null, dwT = want.dw ? ar.empty([K, C]) : null, db = want.db ? ar.empty([C]) : null;
    be.run('causalConv1dBackwardF32', [ar.ptr(dx), ar.ptr(dwT), ar.ptr(db), ar.ptr(xh), ar.ptr(wT), ar.ptr(gh), B, S, C, K], threadsFor(be, Math.ceil(C / 4), B * S * C * K * 4));
    let dw: Float32Array | undefined;
    if (dwT) {
      const d = dwT.data as Float32Array;
      dw = new Float32Array(C * K);
      for (let c = 0; c < C; c++) for (let j = 0; j < K; j++) dw[c * K + j] = d[j * C + c];
    }
    return { ...(dx ? { dx: ar.give(dx) } : {}), ...(dw ? { dw } : {}), ...(db ? { db: copyOut(db) } : {}) };
  } finally { ar.dispose(); }
}

/** Embedding backward: dTable [V, E] with dy[i] added at row ids[i]. */
export function embeddingBackwardWasm(be: WasmBackend, ids: ArrayLike<number | bigint>, dy: ArrayLike<number>, V: number, E: number): Float32Array {
  const ar = new Arena(be);
  try {
    const n = ids.length;
    const ih = ar.keep(be.empty([n], 'i32'));
    const id = ih.data as Int32Array;
    for (let i = 0; i < n; i++) id[i] = Number(ids[i]);
    const gh = ar.arr([n, E], dy), dt = ar.keep(be.zeros([V, E]));
    be.run('embeddingBackwardF32', [ar.ptr(dt), ar.ptr(ih), ar.ptr(gh), n, E], threadsFor(be, Math.ceil(E / 4), n * E * 4));
    return copyOut(dt);
  } finally { ar.dispose(); }
}

/** Column sums of dy [rows, m] (the gradient of a bias broadcast over rows). */
export function broadcastSumWasm(be: WasmBackend, dy: ArrayLike<number>, rows: number, m: number): Float32Array {
  const ar = new Arena(be);
  try {
    const gh = ar.arr([rows, m], dy), out = ar.empty([m]);
    be.run('colSumF32', [ar.ptr(out), ar.ptr(gh), 1, rows, m, 0], threadsFor(be, Math.ceil(m / 4), rows * m * 2));
    return copyOut(out);
  } finally { ar.dispose(); }
}
