// Float64 reference of the mLSTM backward pass (parallel and chunkwise forms), as the
// official native kernels compute it [mlstm_kernels/torch/parallel/native/bw.py,
// mlstm_kernels/torch/chunkwise/native/bw.py]:
// - the stabiliser m (vecM per output, the inter-chunk scaM) is a constant: no gradient;
// - mode 'official': the normaliser N = max(|q.n|, exp(-m)) is a constant as well (the
//   kernels skip it because the following multi-head norm is invariant to a per-head scale);
//   then dH~ = dH / (N + eps) is all that flows back;
// - mode 'exact': N carries its gradient. It is computed by treating n as one more value
//   column of C (n = C[:, ones]): V' = [V, 1], dH~' = [dH/(N+eps), dDen], where
//   dDen = -sign(den) sum(dH h)/(N+eps) when |den| >= exp(-m), else 0.
// With m constant both modes are the exact derivative of the forward evaluated with m (and,
// for 'official', N) held fixed; since the output only depends on m through eps, that is the
// full derivative up to O(eps e^m). The forward functions here take those fixed values so
// the finite-difference checks test exactly what the backward claims.
//
// Layouts as src/backend/ref/mlstm.ts: q,k [B,NH,S,DHQK], v [B,NH,S,DHV], i,f [B,NH,S].
import { MLSTM_EPS, MlstmRefDims, MlstmRefInputs, logSigmoid } from './mlstm.js';
import { sigmoidRef } from './elementwise.js';

export type MlstmGradMode = 'official' | 'exact';

export interface MlstmGrads {
  dq: Float64Array; dk: Float64Array; dv: Float64Array; di: Float64Array; df: Float64Array;
  /** [B,NH,DHQK,DHV] gradient of the initial C (chunkwise with an initial state). */
  dC0?: Float64Array;
  /** [B,NH,DHQK] gradient of the initial n ('exact' mode; zeros in 'official' mode, as the kernels). */
  dn0?: Float64Array;
  /** [B,NH] always zeros: m receives no gradient. */
  dm0?: Float64Array;
}

export interface MlstmFwd64 {
  h: Float64Array;
  /** [B,NH,S] max(|den|, exp(-m)) before +eps */ vecN: Float64Array;
  /** [B,NH,S] stabiliser of each output */ vecM: Float64Array;
  /** [B,NH,S] signed denominator (q.n in the stabilised scale) */ den: Float64Array;
}

export interface MlstmFixed {
  /** [B,NH,S] use these stabilisers instead of the row maxima. */ vecM?: ArrayLike<number>;
  /** [B,NH,S] use these normalisers instead of max(|den|, exp(-m)). */ vecN?: ArrayLike<number>;
  /** [B,NH,NC+1] chunkwise: inter-chunk stabilisers (index 0 = initial m). */ scaM?: ArrayLike<number>;
}

// ---------------- parallel ----------------

/** Parallel forward (as mlstmParallelRef) with optional fixed m / N, keeping den for the backward. */
export function mlstmParallelFwd64(d: MlstmRefDims, x: MlstmRefInputs, o: { eps?: number; fixed?: MlstmFixed } = {}): MlstmFwd64 {
  const { B, NH, S, DHQK, DHV } = d;
  const eps = o.eps ?? MLSTM_EPS;
  const sc = 1 / Math.sqrt(DHQK);
  const h = new Float64Array(B * NH * S * DHV), vecN = new Float64Array(B * NH * S), vecM = new Float64Array(B * NH * S), den = new Float64Array(B * NH * S);
  const F = new Float64Array(S + 1), ct = new Float64Array(S);
  for (let bh = 0; bh < B * NH; bh++) {
    const go = bh * S;
    for (let t = 0; t < S; t++) F[t + 1] = F[t] + logSigmoid(x.f[go + t]);
    for (let t = 0; t < S; t++) {
      let m = -Infinity;
      for (let s = 0; s <= t; s++) m = Math.max(m, F[t + 1] - F[s + 1] + x.i[go + s]);
      if (o.fixed?.vecM) m = o.fixed.vecM[go + t];
      let rs = 0;
      for (let s = 0; s <= t; s++) {
        let qk = 0;
        for (let e = 0; e < DHQK; e++) qk += x.q[(go + t) * DHQK + e] * x.k[(go + s) * DHQK + e];
        ct[s] = qk * sc * Math.exp(F[t + 1] - F[s + 1] + x.i[go + s] - m);
        rs += ct[s];
      }
      const N = o.fixed?.vecN ? o.fixed.vecN[go + t] : Math.max(Math.abs(rs), Math.exp(-m));
      vecN[go + t] = N; vecM[go + t] = m; den[go + t] = rs;
      for (let e = 0; e < DHV; e++) {
        let acc = 0;
        for (let s = 0; s <= t; s++) acc += ct[s] * x.v[(go + s) * DHV + e];
        h[(go + t) * DHV + e] = acc / (N + eps);
      }
    }
  }
  return { h, vecN, vecM, den };
}

/** dH~ (augmented when exact): [rows, DHV + aug] from dh, the forward's h/vecN/vecM/den. */
function headGradTilde(dh: ArrayLike<number>, fw: MlstmFwd64, row: number, DHV: number, eps: number, exact: boolean, out: Float64Array): void {
  const N = fw.vecN[row];
  let dot = 0;
  for (let e = 0; e < DHV; e++) { out[e] = dh[row * DHV + e] / (N + eps); dot += dh[row * DHV + e] * fw.h[row * DHV + e]; }
  if (exact) {
    const dd = fw.den[row];
    out[DHV] = Math.abs(dd) >= Math.exp(-fw.vecM[row]) ? -Math.sign(dd) * dot / (N + eps) : 0;
  }
}

/**
 * Backward of the parallel form: dh [B,NH,S,DHV] and the forward's saved values -> dq, dk, dv, di, df.
 * dlogD[t,s] = dCt[t,s] Ct[t,s]; di[s] = sum_t dlogD[t,s]; dlf[u] = sum_{s<u<=t} dlogD[t,s],
 * computed from row and column sums; df = dlf * sigmoid(-f).
 */
export function mlstmParallelBackwardRef(d: MlstmRefDims, x: MlstmRefInputs, dh: ArrayLike<number>, fw: MlstmFwd64,
  o: { mode?: MlstmGradMode; eps?: number } = {}): MlstmGrads {
  const { B, NH, S, DHQK, DHV } = d;
  const eps = o.eps ?? MLSTM_EPS;
  const exact = (o.mode ?? 'official') === 'exact';
  const sc = 1 / Math.sqrt(DHQK);
  const VA = DHV + (exact ? 1 : 0);
  const g: MlstmGrads = {
    dq: new Float64Array(x.q.length), dk: new Float64Array(x.k.length), dv: new Float64Array(x.v.length),
    di: new Float64Array(x.i.length), df: new Float64Array(x.f.length),
  };
  const F = new Float64Array(S + 1), dht = new Float64Array(S * VA), rowS = new Float64Array(S), colS = new Float64Array(S);
  for (let bh = 0; bh < B * NH; bh++) {
    const go = bh * S;
    for (let t = 0; t < S; t++) F[t + 1] = F[t] + logSigmoid(x.f[go + t]);
    const tmp = new Float64Array(VA);
    for (let t = 0; t < S; t++) { headGradTilde(dh, fw, go + t, DHV, eps, exact, tmp); dht.set(tmp, t * VA); }
    rowS.fill(0); colS.fill(0);
    for (let t = 0; t < S; t++) {
      const m = fw.vecM[go + t];
      for (let s = 0; s <= t; s++) {
        const D = Math.exp(F[t + 1] - F[s + 1] + x.i[go + s] - m);
        let qk = 0;
        for (let e = 0; e < DHQK; e++) qk += x.q[(go + t) * DHQK + e] * x.k[(go + s) * DHQK + e];
        const Sv = qk * sc, Ct = Sv * D;
        let dCt = exact ? dht[t * VA + DHV] : 0; // the ones column of V'
        for (let e = 0; e < DHV; e++) { dCt += dht[t * VA + e] * x.v[(go + s) * DHV + e]; g.dv[(go + s) * DHV + e] += Ct * dht[t * VA + e]; }
        const dS = dCt * D * sc;
        for (let e = 0; e < DHQK; e++) {
          g.dq[(go + t) * DHQK + e] += dS * x.k[(go + s) * DHQK + e];
          g.dk[(go + s) * DHQK + e] += dS * x.q[(go + t) * DHQK + e];
        }
        const dl = dCt * Ct;
        g.di[go + s] += dl; rowS[t] += dl; colS[s] += dl;
      }
    }
    gateGradF(x.f, go, S, rowS, colS, g.df);
  }
  return g;
}

/** df[u] = (sum_{t>=u} rowS[t] - sum_{s>=u} colS[s]) * sigmoid(-f[u]). */
function gateGradF(f: ArrayLike<number>, go: number, S: number, rowS: Float64Array, colS: Float64Array, df: Float64Array): void {
  let acc = 0;
  for (let u = S - 1; u >= 0; u--) {
    acc += rowS[u] - colS[u];
    df[go + u] += acc * sigmoidRef(-f[go + u]);
  }
}

// ---------------- chunkwise ----------------

export interface MlstmChunkFwd64 extends MlstmFwd64 {
  /** [B,NH,NC+1,DHQK,VA] states before each chunk and after the last, VA = DHV + 1 (last column = n). */
  C: Float64Array;
  /** [B,NH,NC+1] inter-chunk stabilisers. */ scaM: Float64Array;
  L: number; NC: number;
}

export interface MlstmChunkInit { c: ArrayLike<number>; n: ArrayLike<number>; m: ArrayLike<number> }

/**
 * Chunkwise forward (TFLA native, as mlstmChunkwiseRef) over V' = [V, 1], so the state's
 * last column is n. Keeps every inter-chunk state for the backward. Optional fixed m values.
 */
export function mlstmChunkwiseFwd64(d: MlstmRefDims, x: MlstmRefInputs, o: { chunkSize: number; eps?: number; initialState?: MlstmChunkInit; fixed?: MlstmFixed }): MlstmChunkFwd64 {
  const { B, NH, S, DHQK, DHV } = d;
  const L = o.chunkSize, eps = o.eps ?? MLSTM_EPS;
  if (!Number.isInteger(L) || L < 1 || S % L !== 0) throw new RangeError(`mlstmChunkwiseFwd64: chunkSize ${L} must be a positive integer dividing S=${S}`);
  const NC = S / L, VA = DHV + 1, sc = 1 / Math.sqrt(DHQK);
  const h = new Float64Array(B * NH * S * DHV), vecN = new Float64Array(B * NH * S), vecM = new Float64Array(B * NH * S), den = new Float64Array(B * NH * S);
  const C = new Float64Array(B * NH * (NC + 1) * DHQK * VA), scaM = new Float64Array(B * NH * (NC + 1));
  const b = new Float64Array(L), num = new Float64Array(VA), vrow = (s: number, e: number) => (e < DHV ? x.v[s * DHV + e] : 1);
  const CS = DHQK * VA;
  for (let bh = 0; bh < B * NH; bh++) {
    const c0 = bh * (NC + 1) * CS;
    if (o.initialState) {
      for (let a = 0; a < DHQK; a++) {
        for (let e = 0; e < DHV; e++) C[c0 + a * VA + e] = o.initialState.c[(bh * DHQK + a) * DHV + e];
        C[c0 + a * VA + DHV] = o.initialState.n[bh * DHQK + a];
      }
      scaM[bh * (NC + 1)] = o.initialState.m[bh];
    }
    if (o.fixed?.scaM) scaM[bh * (NC + 1)] = o.fixed.scaM[bh * (NC + 1)];
    for (let k = 0; k < NC; k++) {
      const t0 = bh * S + k * L, cp = c0 + k * CS, cn = c0 + (k + 1) * CS;
      const mPrev = scaM[bh * (NC + 1) + k];
      let acc = 0;
      for (let j = 0; j < L; j++) { acc += logSigmoid(x.f[t0 + j]); b[j] = acc; }
      const gsum = b[L - 1];
      for (let j = 0; j < L; j++) {
        const r = t0 + j;
        const mInter = b[j] + mPrev;
        let m = mInter;
        for (let l = 0; l <= j; l++) m = Math.max(m, b[j] - b[l] + x.i[t0 + l]);
        if (o.fixed?.vecM) m = o.fixed.vecM[r];
        num.fill(0);
        const qs = Math.exp(mInter - m) * sc;
        for (let a = 0; a < DHQK; a++) { const qa = x.q[r * DHQK + a] * qs; for (let e = 0; e < VA; e++) num[e] += qa * C[cp + a * VA + e]; }
        for (let l = 0; l <= j; l++) {
          let qk = 0;
          for (let a = 0; a < DHQK; a++) qk += x.q[r * DHQK + a] * x.k[(t0 + l) * DHQK + a];
          const w = qk * sc * Math.exp(b[j] - b[l] + x.i[t0 + l] - m);
          for (let e = 0; e < VA; e++) num[e] += w * vrow(t0 + l, e);
        }
        const N = o.fixed?.vecN ? o.fixed.vecN[r] : Math.max(Math.abs(num[DHV]), Math.exp(-m));
        vecN[r] = N; vecM[r] = m; den[r] = num[DHV];
        for (let e = 0; e < DHV; e++) h[r * DHV + e] = num[e] / (N + eps);
      }
      let mNew = gsum + mPrev;
      for (let j = 0; j < L; j++) mNew = Math.max(mNew, gsum - b[j] + x.i[t0 + j]);
      if (o.fixed?.scaM) mNew = o.fixed.scaM[bh * (NC + 1) + k + 1];
      scaM[bh * (NC + 1) + k + 1] = mNew;
      const decay = Math.exp(gsum + mPrev - mNew);
      for (let z = 0; z < CS; z++) C[cn + z] = decay * C[cp + z];
      for (let j = 0; j < L; j++) {
        const w = Math.exp(gsum - b[j] + x.i[t0 + j] - mNew);
        for (let a = 0; a < DHQK; a++) { const ka = w * x.k[(t0 + j) * DHQK + a]; for (let e = 0; e < VA; e++) C[cn + a * VA + e] += ka * vrow(t0 + j, e); }
      }
    }
  }
  return { h, vecN, vecM, den, C, scaM, L, NC };
}

/**
 * Backward of the chunkwise form (the official native algorithm: a reverse recurrence of dC
 * over chunks, then intra-chunk and inter-chunk parts of dq, dk, dv; di = sum(v' dv'),
 * df from sum(q dq - k dk) reversed cumsum). Optional gradients of the final state
 * (dCLast [B,NH,DHQK,DHV], dnLast [B,NH,DHQK], in the stabilised scale of the final scaM).
 */
export function mlstmChunkwiseBackwardRef(d: MlstmRefDims, x: MlstmRefInputs, dh: ArrayLike<number>, fw: MlstmChunkFwd64,
  o: { mode?: MlstmGradMode; eps?: number; dCLast?: ArrayLike<number>; dnLast?: ArrayLike<number> } = {}): MlstmGrads {
  const { B, NH, S, DHQK, DHV } = d;
  const { L, NC } = fw;
  const eps = o.eps ?? MLSTM_EPS;
  const exact = (o.mode ?? 'official') === 'exact';
  const VA = DHV + 1, CS = DHQK * VA, sc = 1 / Math.sqrt(DHQK);
  const g: MlstmGrads = {
    dq: new Float64Array(x.q.length), dk: new Float64Array(x.k.length), dv: new Float64Array(x.v.length),
    di: new Float64Array(x.i.length), df: new Float64Array(x.f.length),
    dC0: new Float64Array(B * NH * DHQK * DHV), dn0: new Float64Array(B * NH * DHQK), dm0: new Float64Array(B * NH),
  };
  const vrow = (s: number, e: number) => (e < DHV ? x.v[s * DHV + e] : 1);
  const dht = new Float64Array(S * VA); // per head, columns VA (last = dDen or 0)
  const dvA = new Float64Array(S * VA); // dv' including the ones column
  const dCs = new Float64Array((NC + 1) * CS);
  const b = new Float64Array(NC * L);
  const tmp = new Float64Array(VA);
  const rowS = new Float64Array(S), colS = new Float64Array(S);
  for (let bh = 0; bh < B * NH; bh++) {
    const go = bh * S, c0 = bh * (NC + 1) * CS, m0 = bh * (NC + 1);
    dht.fill(0); dvA.fill(0); dCs.fill(0);
    for (let t = 0; t < S; t++) { tmp.fill(0); headGradTilde(dh, fw, go + t, DHV, eps, exact, tmp); dht.set(tmp, t * VA); }
    for (let k = 0; k < NC; k++) { let acc = 0; for (let j = 0; j < L; j++) { acc += logSigmoid(x.f[go + k * L + j]); b[k * L + j] = acc; } }
    // Reverse recurrence: dC_k-1 = exp(g + m_k-1 - m_k) dC_k + sum_j Qbar_j dHt_j^T.
    for (let a = 0; a < DHQK; a++) {
      for (let e = 0; e < DHV; e++) dCs[NC * CS + a * VA + e] = o.dCLast ? o.dCLast[(bh * DHQK + a) * DHV + e] : 0;
      dCs[NC * CS + a * VA + DHV] = o.dnLast ? o.dnLast[bh * DHQK + a] : 0;
    }
    for (let k = NC; k >= 1; k--) {
      const gsum = b[(k - 1) * L + L - 1];
      const decay = Math.exp(gsum + fw.scaM[m0 + k - 1] - fw.scaM[m0 + k]);
      for (let z = 0; z < CS; z++) dCs[(k - 1) * CS + z] = decay * dCs[k * CS + z];
      for (let j = 0; j < L; j++) {
        const r = (k - 1) * L + j;
        const qb = Math.exp(b[r] + fw.scaM[m0 + k - 1] - fw.vecM[go + r]) * sc;
        for (let a = 0; a < DHQK; a++) { const qa = x.q[(go + r) * DHQK + a] * qb; for (let e = 0; e < VA; e++) dCs[(k - 1) * CS + a * VA + e] += qa * dht[r * VA + e]; }
      }
    }
    for (let a = 0; a < DHQK; a++) {
      for (let e = 0; e < DHV; e++) g.dC0![(bh * DHQK + a) * DHV + e] = dCs[a * VA + e];
      g.dn0![bh * DHQK + a] = exact ? dCs[a * VA + DHV] : 0;
    }
    rowS.fill(0); colS.fill(0);
    for (let k = 0; k < NC; k++) {
      const gsum = b[k * L + L - 1], mPrev = fw.scaM[m0 + k], mNext = fw.scaM[m0 + k + 1];
      const cp = c0 + k * CS;
      for (let j = 0; j < L; j++) {
        const r = k * L + j, gr = go + r, m = fw.vecM[gr];
        // inter: the state before the chunk, dq += Bbar dHt C^T s
        const bb = Math.exp(b[r] + mPrev - m) * sc;
        for (let a = 0; a < DHQK; a++) {
          let s = 0;
          for (let e = 0; e < VA; e++) s += dht[r * VA + e] * fw.C[cp + a * VA + e];
          g.dq[gr * DHQK + a] += bb * s;
        }
        // the state after the chunk: dk, dv' from Abar (k v'^T) . dC_k+1
        const ab = Math.exp(gsum - b[r] + x.i[gr] - mNext);
        for (let a = 0; a < DHQK; a++) {
          let s = 0;
          for (let e = 0; e < VA; e++) { s += vrow(gr, e) * dCs[(k + 1) * CS + a * VA + e]; dvA[r * VA + e] += ab * x.k[gr * DHQK + a] * dCs[(k + 1) * CS + a * VA + e]; }
          g.dk[gr * DHQK + a] += ab * s;
        }
        // intra-chunk attention
        for (let l = 0; l <= j; l++) {
          const rl = k * L + l, gl = go + rl;
          const D = Math.exp(b[r] - b[rl] + x.i[gl] - m);
          let qk = 0;
          for (let a = 0; a < DHQK; a++) qk += x.q[gr * DHQK + a] * x.k[gl * DHQK + a];
          const Sb = qk * sc * D;
          let dSb = 0;
          for (let e = 0; e < VA; e++) { dSb += dht[r * VA + e] * vrow(gl, e); dvA[rl * VA + e] += Sb * dht[r * VA + e]; }
          const dS = dSb * D * sc;
          for (let a = 0; a < DHQK; a++) { g.dq[gr * DHQK + a] += dS * x.k[gl * DHQK + a]; g.dk[gl * DHQK + a] += dS * x.q[gr * DHQK + a]; }
        }
      }
    }
    for (let r = 0; r < S; r++) {
      const gr = go + r;
      let di = 0;
      for (let e = 0; e < VA; e++) di += vrow(gr, e) * dvA[r * VA + e];
      g.di[gr] = di;
      for (let e = 0; e < DHV; e++) g.dv[gr * DHV + e] = dvA[r * VA + e];
      let qdq = 0, kdk = 0;
      for (let a = 0; a < DHQK; a++) { qdq += x.q[gr * DHQK + a] * g.dq[gr * DHQK + a]; kdk += x.k[gr * DHQK + a] * g.dk[gr * DHQK + a]; }
      rowS[r] = qdq; colS[r] = kdk;
    }
    gateGradF(x.f, go, S, rowS, colS, g.df);
  }
  return g;
}
