// Float64 reference of the mLSTM cell: the living spec of every mLSTM form, written as
// plain loops so each line can be checked against /work/shared/reference/xlstm.md §1 and
// the official mlstm_kernels (native step/sequence/parallel/chunkwise, kernel_wrappers,
// native_siging). Slow on purpose; the fast path is src/xlstm/mlstm (wasm kernels).
//
// Layouts (row-major, flat): q,k [B,NH,S,DHQK], v [B,NH,S,DHV], i,f [B,NH,S];
// states c [B,NH,DHQK,DHV] (c[dk,dv]: key dim, value dim), n [B,NH,DHQK], m [B,NH].
// Only q is scaled, by DHQK^-0.5; eps = 1e-6 is added outside the max.

export const MLSTM_EPS = 1e-6;

export interface MlstmRefDims { B: number; NH: number; S: number; DHQK: number; DHV: number }

/** Inputs of one call, flat arrays in the layouts above (any numeric array type). */
export interface MlstmRefInputs {
  q: ArrayLike<number>; k: ArrayLike<number>; v: ArrayLike<number>;
  i: ArrayLike<number>; f: ArrayLike<number>;
}

export interface MlstmRefState { c: Float64Array; n: Float64Array; m: Float64Array }

export interface MlstmRefResult {
  /** [B,NH,S,DHV] */
  h: Float64Array;
  /** Final state (recurrent/chunkwise/arbitrary forms). */
  state?: MlstmRefState;
  /** [B,NH,S] denominator max(|q.n|, exp(-m)) before +eps (parallel/chunkwise). */
  vecN?: Float64Array;
  /** [B,NH,S] stabiliser m used for each output (parallel/chunkwise). */
  vecM?: Float64Array;
}

export interface MlstmRefOptions {
  /** Initial (c, n, m); default zeros with m = 0. Copied, never modified. */
  initialState?: { c: ArrayLike<number>; n: ArrayLike<number>; m: ArrayLike<number> };
  eps?: number;
}

/** log(sigmoid(x)) without overflow for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

function newState(d: MlstmRefDims, init?: MlstmRefOptions['initialState']): MlstmRefState {
  const BH = d.B * d.NH;
  const s: MlstmRefState = {
    c: new Float64Array(BH * d.DHQK * d.DHV), n: new Float64Array(BH * d.DHQK), m: new Float64Array(BH),
  };
  if (init) {
    if (init.c.length !== s.c.length || init.n.length !== s.n.length || init.m.length !== s.m.length) {
      throw new Error(`mlstm ref: initialState sizes c=${init.c.length} n=${init.n.length} m=${init.m.length}, expected ${s.c.length}, ${s.n.length}, ${s.m.length}`);
    }
    for (let x = 0; x < s.c.length; x++) s.c[x] = init.c[x];
    for (let x = 0; x < s.n.length; x++) s.n[x] = init.n[x];
    for (let x = 0; x < s.m.length; x++) s.m[x] = init.m[x];
  }
  return s;
}

function checkSizes(fn: string, d: MlstmRefDims, x: MlstmRefInputs): void {
  const BH = d.B * d.NH;
  const want: [string, number][] = [
    ['q', BH * d.S * d.DHQK], ['k', BH * d.S * d.DHQK], ['v', BH * d.S * d.DHV], ['i', BH * d.S], ['f', BH * d.S],
  ];
  for (const [name, n] of want) {
    const got = (x as any)[name].length;
    if (got !== n) throw new Error(`${fn}: ${name} has ${got} elements, expected ${n} for B=${d.B} NH=${d.NH} S=${d.S} DHQK=${d.DHQK} DHV=${d.DHV}`);
  }
}

/**
 * One recurrent step for head `bh`, time `t` of a sequence of length S (native_step):
 * updates c, n, m of that head in place and writes h[bh, t, :].
 */
function stepHead(d: MlstmRefDims, x: MlstmRefInputs, bh: number, t: number, st: MlstmRefState, h: Float64Array, eps: number): void {
  const { S, DHQK, DHV } = d;
  const scale = 1 / Math.sqrt(DHQK);
  const g = bh * S + t;
  const qo = g * DHQK, vo = g * DHV, co = bh * DHQK * DHV, no = bh * DHQK;
  const lf = logSigmoid(x.f[g]);
  const iv = x.i[g];
  const mPrev = st.m[bh];
  const m = Math.max(lf + mPrev, iv);
  const a = Math.exp(lf + mPrev - m);
  const b = Math.exp(iv - m);
  for (let dk = 0; dk < DHQK; dk++) {
    const kb = b * x.k[qo + dk];
    for (let dv = 0; dv < DHV; dv++) {
      const ci = co + dk * DHV + dv;
      st.c[ci] = a * st.c[ci] + kb * x.v[vo + dv];
    }
    st.n[no + dk] = a * st.n[no + dk] + kb;
  }
  st.m[bh] = m;
  let qn = 0;
  for (let dk = 0; dk < DHQK; dk++) qn += scale * x.q[qo + dk] * st.n[no + dk];
  const den = Math.max(Math.abs(qn), Math.exp(-m)) + eps;
  for (let dv = 0; dv < DHV; dv++) {
    let acc = 0;
    for (let dk = 0; dk < DHQK; dk++) acc += scale * x.q[qo + dk] * st.c[co + dk * DHV + dv];
    h[vo + dv] = acc / den;
  }
}

/**
 * Recurrent step (mlstm_recurrent_step__native): q,k [B,NH,DHQK], v [B,NH,DHV], i,f [B,NH]
 * and a state; returns h [B,NH,DHV] and the new state (the given state is not modified).
 */
export function mlstmStepRef(
  d: Omit<MlstmRefDims, 'S'>, x: MlstmRefInputs, state: NonNullable<MlstmRefOptions['initialState']>, eps = MLSTM_EPS,
): { h: Float64Array; state: MlstmRefState } {
  const dd = { ...d, S: 1 };
  checkSizes('mlstmStepRef', dd, x);
  const st = newState(dd, state);
  const h = new Float64Array(d.B * d.NH * d.DHV);
  for (let bh = 0; bh < d.B * d.NH; bh++) stepHead(dd, x, bh, 0, st, h, eps);
  return { h, state: st };
}

/** Recurrent sequence (mlstm_recurrent_sequence__native_fw): steps t = 0..S-1 from the initial state. */
export function mlstmRecurrentRef(d: MlstmRefDims, x: MlstmRefInputs, opts: MlstmRefOptions = {}): MlstmRefResult {
  checkSizes('mlstmRecurrentRef', d, x);
  const st = newState(d, opts.initialState);
  const h = new Float64Array(d.B * d.NH * d.S * d.DHV);
  recurrentRange(d, x, 0, d.S, st, h, opts.eps ?? MLSTM_EPS);
  return { h, state: st };
}

function recurrentRange(d: MlstmRefDims, x: MlstmRefInputs, t0: number, t1: number, st: MlstmRefState, h: Float64Array, eps: number): void {
  for (let bh = 0; bh < d.B * d.NH; bh++) for (let t = t0; t < t1; t++) stepHead(d, x, bh, t, st, h, eps);
}

/**
 * Parallel form (mlstm_parallel__native / native_stablef): no state; m is the row max of
 * log D (the recurrence started at m = -inf). `stablef` sums the forget gates of each
 * (t, s) pair directly instead of differencing a global cumsum.
 */
export function mlstmParallelRef(d: MlstmRefDims, x: MlstmRefInputs, opts: { stablef?: boolean; eps?: number } = {}): MlstmRefResult {
  checkSizes('mlstmParallelRef', d, x);
  const { B, NH, S, DHQK, DHV } = d;
  const eps = opts.eps ?? MLSTM_EPS;
  const scale = 1 / Math.sqrt(DHQK);
  const h = new Float64Array(B * NH * S * DHV);
  const vecN = new Float64Array(B * NH * S);
  const vecM = new Float64Array(B * NH * S);
  const F = new Float64Array(S + 1); // F[t+1] = sum_{r<=t} lf[r]
  const lf = new Float64Array(S);
  const logD = new Float64Array(S);
  const ct = new Float64Array(S);
  for (let bh = 0; bh < B * NH; bh++) {
    const go = bh * S;
    for (let t = 0; t < S; t++) { lf[t] = logSigmoid(x.f[go + t]); F[t + 1] = F[t] + lf[t]; }
    for (let t = 0; t < S; t++) {
      let m = -Infinity;
      let acc = 0;
      for (let s = t; s >= 0; s--) {
        // stablef: running sum of lf[s+1..t], accumulated from the diagonal outwards
        if (opts.stablef) { logD[s] = acc + x.i[go + s]; acc += lf[s]; }
        else logD[s] = F[t + 1] - F[s + 1] + x.i[go + s];
        if (logD[s] > m) m = logD[s];
      }
      let rs = 0;
      for (let s = 0; s <= t; s++) {
        let qk = 0;
        for (let dk = 0; dk < DHQK; dk++) qk += x.q[(go + t) * DHQK + dk] * x.k[(go + s) * DHQK + dk];
        ct[s] = qk * scale * Math.exp(logD[s] - m);
        rs += ct[s];
      }
      const nrm = Math.max(Math.abs(rs), Math.exp(-m));
      vecN[go + t] = nrm; vecM[go + t] = m;
      for (let dv = 0; dv < DHV; dv++) {
        let acc2 = 0;
        for (let s = 0; s <= t; s++) acc2 += ct[s] * x.v[(go + s) * DHV + dv];
        h[(go + t) * DHV + dv] = acc2 / (nrm + eps);
      }
    }
  }
  return { h, vecN, vecM };
}

/**
 * Chunkwise form (TFLA native, mlstm_chunkwise__native): chunks of `chunkSize` (must
 * divide S), inter-chunk state recurrence and stabilised intra-chunk attention.
 */
export function mlstmChunkwiseRef(d: MlstmRefDims, x: MlstmRefInputs, opts: MlstmRefOptions & { chunkSize?: number } = {}): MlstmRefResult {
  checkSizes('mlstmChunkwiseRef', d, x);
  const L = opts.chunkSize ?? 64;
  if (!Number.isInteger(L) || L < 1 || d.S % L !== 0) throw new Error(`mlstmChunkwiseRef: chunkSize ${L} must be a positive integer dividing S=${d.S}`);
  const st = newState(d, opts.initialState);
  const BH = d.B * d.NH;
  const h = new Float64Array(BH * d.S * d.DHV);
  const vecN = new Float64Array(BH * d.S);
  const vecM = new Float64Array(BH * d.S);
  chunkwiseRange(d, x, 0, d.S, L, st, h, vecN, vecM, opts.eps ?? MLSTM_EPS);
  return { h, state: st, vecN, vecM };
}

function chunkwiseRange(
  d: MlstmRefDims, x: MlstmRefInputs, t0: number, t1: number, L: number, st: MlstmRefState,
  h: Float64Array, vecN: Float64Array | null, vecM: Float64Array | null, eps: number,
): void {
  const { S, DHQK, DHV } = d;
  const scale = 1 / Math.sqrt(DHQK);
  const bcum = new Float64Array(L);
  const aw = new Float64Array(L);
  const logD = new Float64Array(L);
  const num = new Float64Array(DHV);
  for (let bh = 0; bh < d.B * d.NH; bh++) {
    const co = bh * DHQK * DHV, no = bh * DHQK;
    for (let c0 = t0; c0 < t1; c0 += L) {
      const go = bh * S + c0; // flat (bh, t) index of the chunk start
      let run = 0;
      for (let j = 0; j < L; j++) { run += logSigmoid(x.f[go + j]); bcum[j] = run; }
      const gsum = bcum[L - 1];
      let amax = -Infinity;
      for (let j = 0; j < L; j++) { aw[j] = gsum - bcum[j] + x.i[go + j]; if (aw[j] > amax) amax = aw[j]; }
      const mPrev = st.m[bh];
      // outputs of the chunk, from the state before it
      for (let j = 0; j < L; j++) {
        let mIntra = -Infinity;
        for (let l = 0; l <= j; l++) { logD[l] = bcum[j] - bcum[l] + x.i[go + l]; if (logD[l] > mIntra) mIntra = logD[l]; }
        const mInter = bcum[j] + mPrev;
        const mj = Math.max(mInter, mIntra);
        const qs = scale * Math.exp(mInter - mj);
        const qo = (go + j) * DHQK;
        let den = interChunkReadout(x.q, qo, qs, st.c, co, st.n, no, DHQK, DHV, num);
        for (let l = 0; l <= j; l++) {
          let qk = 0;
          for (let dk = 0; dk < DHQK; dk++) qk += x.q[qo + dk] * x.k[(go + l) * DHQK + dk];
          const w = qk * scale * Math.exp(logD[l] - mj);
          den += w;
          for (let dv = 0; dv < DHV; dv++) num[dv] += w * x.v[(go + l) * DHV + dv];
        }
        const nrm = Math.max(Math.abs(den), Math.exp(-mj));
        if (vecN) vecN[go + j] = nrm;
        if (vecM) vecM[go + j] = mj;
        for (let dv = 0; dv < DHV; dv++) h[(go + j) * DHV + dv] = num[dv] / (nrm + eps);
      }
      // state after the chunk
      const mk = Math.max(gsum + mPrev, amax);
      const decay = Math.exp(gsum + mPrev - mk);
      for (let x2 = 0; x2 < DHQK * DHV; x2++) st.c[co + x2] *= decay;
      for (let dk = 0; dk < DHQK; dk++) st.n[no + dk] *= decay;
      for (let j = 0; j < L; j++) {
        const w = Math.exp(aw[j] - mk);
        for (let dk = 0; dk < DHQK; dk++) {
          const kw = w * x.k[(go + j) * DHQK + dk];
          st.n[no + dk] += kw;
          for (let dv = 0; dv < DHV; dv++) st.c[co + dk * DHV + dv] += kw * x.v[(go + j) * DHV + dv];
        }
      }
      st.m[bh] = mk;
    }
  }
}

/** The pieces the arbitrary-length wrapper runs: [t0, t1, chunk] with chunk 0 = recurrent. */
export function mlstmArbitrarySplit(S: number, chunkSize: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  let pos = 0;
  const minChunk = Math.min(16, chunkSize);
  for (let cs = chunkSize; cs >= minChunk; cs = Math.floor(cs / 2)) {
    const n = Math.floor((S - pos) / cs);
    if (n > 0) { out.push([pos, pos + n * cs, cs]); pos += n * cs; }
    if (cs === 1) break;
  }
  if (pos < S) out.push([pos, S, 0]);
  return out;
}

/**
 * Arbitrary S (wrap_chunkwise__arbitrary_sequence_length): full chunks of chunkSize, then
 * chunkSize/2, ... down to 16, then the recurrent sequence for the < 16 rest, carrying
 * the state; S == 1 is a single step.
 */
export function mlstmArbitraryRef(d: MlstmRefDims, x: MlstmRefInputs, opts: MlstmRefOptions & { chunkSize?: number } = {}): MlstmRefResult {
  checkSizes('mlstmArbitraryRef', d, x);
  const L = opts.chunkSize ?? 64;
  if (!Number.isInteger(L) || L < 1) throw new Error(`mlstmArbitraryRef: chunkSize ${L} must be a positive integer`);
  const eps = opts.eps ?? MLSTM_EPS;
  const st = newState(d, opts.initialState);
  const h = new Float64Array(d.B * d.NH * d.S * d.DHV);
  if (d.S === 1) { recurrentRange(d, x, 0, 1, st, h, eps); return { h, state: st }; }
  for (const [t0, t1, cs] of mlstmArbitrarySplit(d.S, L)) {
    if (cs > 0) chunkwiseRange(d, x, t0, t1, cs, st, h, null, null, eps);
    else recurrentRange(d, x, t0, t1, st, h, eps);
  }
  return { h, state: st };
}

// ---- mLSTMsig: sigmoid input gate, no stabiliser, state (C, n) only ----

export interface MlstmSigRefOptions {
  /** Divide by max(|q.n|, 1) + eps (default true); otherwise h = q^T C. */
  normalize?: boolean;
  eps?: number;
}

/** Parallel mLSTMsig (mlstm_siging_parallel__native): D = exp(logsig(i_s) + sum lf). */
export function mlstmSigParallelRef(d: MlstmRefDims, x: MlstmRefInputs, opts: MlstmSigRefOptions = {}): { h: Float64Array } {
  checkSizes('mlstmSigParallelRef', d, x);
  const { B, NH, S, DHQK, DHV } = d;
  const normalize = opts.normalize ?? true;
  const eps = opts.eps ?? MLSTM_EPS;
  const scale = 1 / Math.sqrt(DHQK);
  const h = new Float64Array(B * NH * S * DHV);
  const ct = new Float64Array(S);
  for (let bh = 0; bh < B * NH; bh++) {
    const go = bh * S;
    for (let t = 0; t < S; t++) {
      let acc = 0; // sum_{r=s+1..t} lf[r]
      let rs = 0;
      for (let s = t; s >= 0; s--) {
        let qk = 0;
        for (let dk = 0; dk < DHQK; dk++) qk += x.q[(go + t) * DHQK + dk] * x.k[(go + s) * DHQK + dk];
        ct[s] = qk * scale * Math.exp(acc + logSigmoid(x.i[go + s]));
        rs += ct[s];
        acc += logSigmoid(x.f[go + s]);
      }
      const div = normalize ? Math.max(Math.abs(rs), 1) + eps : 1;
      for (let dv = 0; dv < DHV; dv++) {
        let a2 = 0;
        for (let s = 0; s <= t; s++) a2 += ct[s] * x.v[(go + s) * DHV + dv];
        h[(go + t) * DHV + dv] = a2 / div;
      }
    }
  }
  return { h };
}

export interface MlstmSigRefState { c: Float64Array; n: Float64Array }

function sigState(d: MlstmRefDims, init?: { c: ArrayLike<number>; n: ArrayLike<number> }): MlstmSigRefState {
  const BH = d.B * d.NH;
  const c = new Float64Array(BH * d.DHQK * d.DHV), n = new Float64Array(BH * d.DHQK);
  if (init) { for (let x = 0; x < c.length; x++) c[x] = init.c[x]; for (let x = 0; x < n.length; x++) n[x] = init.n[x]; }
  return { c, n };
}

/** Recurrent mLSTMsig: C_t = sig(f) C + sig(i) k v^T, n likewise; h = q^T C / (max(|q^T n|,1)+eps). */
export function mlstmSigRecurrentRef(
  d: MlstmRefDims, x: MlstmRefInputs, opts: MlstmSigRefOptions & { initialState?: { c: ArrayLike<number>; n: ArrayLike<number> } } = {},
): { h: Float64Array; state: MlstmSigRefState } {
  checkSizes('mlstmSigRecurrentRef', d, x);
  const { B, NH, S, DHQK, DHV } = d;
  const normalize = opts.normalize ?? true;
  const eps = opts.eps ?? MLSTM_EPS;
  const scale = 1 / Math.sqrt(DHQK);
  const st = sigState(d, opts.initialState);
  const h = new Float64Array(B * NH * S * DHV);
  for (let bh = 0; bh < B * NH; bh++) {
    const co = bh * DHQK * DHV, no = bh * DHQK;
    for (let t = 0; t < S; t++) {
      const g = bh * S + t;
      const a = Math.exp(logSigmoid(x.f[g])), b = Math.exp(logSigmoid(x.i[g]));
      for (let dk = 0; dk < DHQK; dk++) {
        const kb = b * x.k[g * DHQK + dk];
        for (let dv = 0; dv < DHV; dv++) st.c[co + dk * DHV + dv] = a * st.c[co + dk * DHV + dv] + kb * x.v[g * DHV + dv];
        st.n[no + dk] = a * st.n[no + dk] + kb;
      }
      let qn = 0;
      for (let dk = 0; dk < DHQK; dk++) qn += scale * x.q[g * DHQK + dk] * st.n[no + dk];
      const div = normalize ? Math.max(Math.abs(qn), 1) + eps : 1;
      for (let dv = 0; dv < DHV; dv++) {
        let acc = 0;
        for (let dk = 0; dk < DHQK; dk++) acc += scale * x.q[g * DHQK + dk] * st.c[co + dk * DHV + dv];
        h[g * DHV + dv] = acc / div;
      }
    }
  }
  return { h, state: st };
}

/** Chunkwise mLSTMsig (chunkSize divides S), carrying (C, n) between chunks. */
export function mlstmSigChunkwiseRef(
  d: MlstmRefDims, x: MlstmRefInputs,
  opts: MlstmSigRefOptions & { chunkSize?: number; initialState?: { c: ArrayLike<number>; n: ArrayLike<number> } } = {},
): { h: Float64Array; state: MlstmSigRefState } {
  checkSizes('mlstmSigChunkwiseRef', d, x);
  const { B, NH, S, DHQK, DHV } = d;
  const L = opts.chunkSize ?? 64;
  if (!Number.isInteger(L) || L < 1 || S % L !== 0) throw new Error(`mlstmSigChunkwiseRef: chunkSize ${L} must be a positive integer dividing S=${S}`);
  const normalize = opts.normalize ?? true;
  const eps = opts.eps ?? MLSTM_EPS;
  const scale = 1 / Math.sqrt(DHQK);
  const st = sigState(d, opts.initialState);
  const h = new Float64Array(B * NH * S * DHV);
  const bcum = new Float64Array(L);
  const num = new Float64Array(DHV);
  for (let bh = 0; bh < B * NH; bh++) {
    const co = bh * DHQK * DHV, no = bh * DHQK;
    for (let c0 = 0; c0 < S; c0 += L) {
      const go = bh * S + c0;
      let run = 0;
      for (let j = 0; j < L; j++) { run += logSigmoid(x.f[go + j]); bcum[j] = run; }
      for (let j = 0; j < L; j++) {
        const qs = scale * Math.exp(bcum[j]);
        const qo = (go + j) * DHQK;
        let den = interChunkReadout(x.q, qo, qs, st.c, co, st.n, no, DHQK, DHV, num);
        for (let l = 0; l <= j; l++) {
          let qk = 0;
          for (let dk = 0; dk < DHQK; dk++) qk += x.q[qo + dk] * x.k[(go + l) * DHQK + dk];
          const w = qk * scale * Math.exp(bcum[j] - bcum[l] + logSigmoid(x.i[go + l]));
          den += w;
          for (let dv = 0; dv < DHV; dv++) num[dv] += w * x.v[(go + l) * DHV + dv];
        }
        const div = normalize ? Math.max(Math.abs(den), 1) + eps : 1;
        for (let dv = 0; dv < DHV; dv++) h[(go + j) * DHV + dv] = num[dv] / div;
      }
      const decay = Math.exp(bcum[L - 1]);
      for (let x2 = 0; x2 < DHQK * DHV; x2++) st.c[co + x2] *= decay;
      for (let dk = 0; dk < DHQK; dk++) st.n[no + dk] *= decay;
      for (let j = 0; j < L; j++) {
        const w = Math.exp(bcum[L - 1] - bcum[j] + logSigmoid(x.i[go + j]));
        for (let dk = 0; dk < DHQK; dk++) {
          const kw = w * x.k[(go + j) * DHQK + dk];
          st.n[no + dk] += kw;
          for (let dv = 0; dv < DHV; dv++) st.c[co + dk * DHV + dv] += kw * x.v[(go + j) * DHV + dv];
        }
      }
    }
  }
  return { h, state: st };
}

/**
 * The state-before-the-chunk part of a chunkwise output row: num = qs * q^T C and
 * returns qs * q^T n (the start of the denominator). Shared by both gate variants.
 */
function interChunkReadout(q: ArrayLike<number>, qo: number, qs: number, c: ArrayLike<number>, co: number, n: ArrayLike<number>, no: number,
  DHQK: number, DHV: number, num: Float64Array): number {
  let den = 0;
  for (let dk = 0; dk < DHQK; dk++) den += qs * q[qo + dk] * n[no + dk];
  for (let dv = 0; dv < DHV; dv++) {
    let acc = 0;
    for (let dk = 0; dk < DHQK; dk++) acc += qs * q[qo + dk] * c[co + dk * DHV + dv];
    num[dv] = acc;
  }
  return den;
}
