// The 1D pLSTM kernel (official pLSTM1D_fwbw / pLSTM1D_torch) in two forms, in float64 arithmetic
// on Float32Array or Float64Array storage:
//  - recurrent: the cell-by-cell recurrence (the reference form), with its hand-written adjoint;
//  - chunkwise: within a chunk of L positions the attention-like parallel form with the gating
//    matrix G[t,s] = M_t T_{t-1} .. T_{s+1} S_s (G[t,t] = D_t), across chunks the state recurrence
//    (the structure of the mLSTM chunkwise kernel and of the official kernel's chunk level).
// Both compute the same function for any chunk size; the gradient is the recurrent adjoint, which
// is the true gradient for every chunking (the official custom backward drops the cross-chunk terms).
//
// Per row (b, h), positions t, C_{-1} = C0 (or 0):
//   C_t[d,v,i] = sum_j T_t[i,j] C_{t-1}[d,v,j] + sum_{k,l} S_t[i,k,l] K_t[d,k] V_t[v,l]
//   Y_t[v,o]   = sc sum_{d,q} Q_t[d,q] (sum_i M_t[o,q,i] C_{t-1}[d,v,i] + sum_{k,l} D_t[o,q,k,l] K_t[d,k] V_t[v,l])
/** Storage of the inputs: the f32 tape's or the f64 tape's arrays (arithmetic is float64 either way). */
export type Arr = Float32Array | Float64Array;

export interface Scan1dDims { B: number; S: number; H: number; DK: number; DV: number; JK: number; JQ: number; JV: number; JT: number; JO: number }

/** Kernel inputs, head-minor layouts as the layer produces them. */
export interface Scan1dInputs {
  q: Arr; // [B, S, H, DK, JQ]
  k: Arr; // [B, S, H, DK, JK]
  v: Arr; // [B, S, H, DV, JV]
  s: Arr; // [B, S, H, JT, JK, JV]
  t: Arr; // [B, S, H, JT, JT]
  m: Arr; // [B, S, H, JO, JQ, JT]
  d: Arr; // [B, S, H, JO, JQ, JK, JV]
  c0: Arr | null; // [B*H, DK, DV, JT] (row b*H + h)
}

export interface Scan1dGrads { q: Float64Array; k: Float64Array; v: Float64Array; s: Float64Array; t: Float64Array; m: Float64Array; d: Float64Array; c0: Float64Array }

function sizes(n: Scan1dDims) {
  const { DK, DV, JK, JQ, JV, JT, JO } = n;
  return { q: DK * JQ, k: DK * JK, v: DV * JV, s: JT * JK * JV, t: JT * JT, m: JO * JQ * JT, d: JO * JQ * JK * JV, c: DK * DV * JT, y: DV * JO };
}

/**
 * Recurrent form. Returns y [B, S, H, DV, JO], the last state [B*H, DK, DV, JT] and, when
 * keepStates, all states [B*H, S+1, DK*DV*JT] (index 0 = C_{-1}) for the backward pass.
 */
export function scan1dRecurrent(n: Scan1dDims, x: Scan1dInputs, keepStates = false): { y: Float64Array; last: Float64Array; states: Float64Array | null } {
  if (n.JK === 1 && n.JQ === 1) return scan1dRecurrentK1(n, x, keepStates);
  const { B, S, H, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK);
  const y = new Float64Array(B * S * H * z.y), last = new Float64Array(B * H * z.c);
  const states = keepStates ? new Float64Array(B * H * (S + 1) * z.c) : null;
  let C = new Float64Array(z.c), Cn = new Float64Array(z.c);
  const kv = new Float64Array(DK * DV * JK * JV); // K[d,k] V[v,l] at [d, v, k, l]
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const row = b * H + h;
    if (x.c0) for (let i = 0; i < z.c; i++) C[i] = x.c0[row * z.c + i]; else C.fill(0);
    if (states) states.set(C, row * (S + 1) * z.c);
    for (let t = 0; t < S; t++) {
      const p = (b * S + t) * H + h;
      const qo = p * z.q, ko = p * z.k, vo = p * z.v, so = p * z.s, to = p * z.t, mo = p * z.m, dO = p * z.d, yo = p * z.y;
      for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) kv[((d * DV + v) * JK + k) * JV + l] = x.k[ko + d * JK + k] * x.v[vo + v * JV + l];
      // output from C_{t-1}
      for (let v = 0; v < DV; v++) for (let o = 0; o < JO; o++) {
        let acc = 0;
        for (let d = 0; d < DK; d++) for (let q = 0; q < JQ; q++) {
          const qq = x.q[qo + d * JQ + q];
          let inner = 0;
          const mb = mo + (o * JQ + q) * JT, cb = (d * DV + v) * JT;
          for (let i = 0; i < JT; i++) inner += x.m[mb + i] * C[cb + i];
          const db = dO + (o * JQ + q) * JK * JV, kb = (d * DV + v) * JK * JV;
          for (let kl = 0; kl < JK * JV; kl++) inner += x.d[db + kl] * kv[kb + kl];
          acc += qq * inner;
        }
        y[yo + v * JO + o] = sc * acc;
      }
      // state update
      for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
        const cb = (d * DV + v) * JT, kb = (d * DV + v) * JK * JV;
        for (let i = 0; i < JT; i++) {
          let a = 0;
          const tb = to + i * JT;
          for (let j = 0; j < JT; j++) a += x.t[tb + j] * C[cb + j];
          const sb = so + i * JK * JV;
          for (let kl = 0; kl < JK * JV; kl++) a += x.s[sb + kl] * kv[kb + kl];
          Cn[cb + i] = a;
        }
      }
      const tmp = C; C = Cn; Cn = tmp;
      if (states) states.set(C, (row * (S + 1) + t + 1) * z.c);
    }
    last.set(C, row * z.c);
  }
  return { y, last, states };
}

/**
 * Adjoint of the recurrent form: gradients of L given dy [B, S, H, DV, JO] and dLast [B*H, DK, DV, JT]
 * (null = 0), from the states the forward pass kept.
 */
export function scan1dBackward(n: Scan1dDims, x: Scan1dInputs, states: Float64Array, dy: ArrayLike<number>, dLast: ArrayLike<number> | null): Scan1dGrads {
  if (n.JK === 1 && n.JQ === 1) return scan1dBackwardK1(n, x, states, dy, dLast);
  const { B, S, H, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK);
  const P = B * S * H;
  const g: Scan1dGrads = {
    q: new Float64Array(P * z.q), k: new Float64Array(P * z.k), v: new Float64Array(P * z.v), s: new Float64Array(P * z.s),
    t: new Float64Array(P * z.t), m: new Float64Array(P * z.m), d: new Float64Array(P * z.d), c0: new Float64Array(B * H * z.c),
  };
  let G = new Float64Array(z.c), Gp = new Float64Array(z.c);
  const w = new Float64Array(DK * DV * JO * JQ); // sc dY[v,o] Q[d,q] at [d, v, o, q]
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const row = b * H + h;
    if (dLast) for (let i = 0; i < z.c; i++) G[i] = dLast[row * z.c + i]; else G.fill(0);
    for (let t = S - 1; t >= 0; t--) {
      const p = (b * S + t) * H + h;
      const qo = p * z.q, ko = p * z.k, vo = p * z.v, so = p * z.s, to = p * z.t, mo = p * z.m, dO = p * z.d, yo = p * z.y;
      const Cp = (row * (S + 1) + t) * z.c; // C_{t-1}
      for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) for (let o = 0; o < JO; o++) for (let q = 0; q < JQ; q++) {
        w[((d * DV + v) * JO + o) * JQ + q] = sc * dy[yo + v * JO + o] * x.q[qo + d * JQ + q];
      }
      // through Y_t
      for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
        const cb = Cp + (d * DV + v) * JT;
        for (let o = 0; o < JO; o++) for (let q = 0; q < JQ; q++) {
          const wv = w[((d * DV + v) * JO + o) * JQ + q];
          const dyv = sc * dy[yo + v * JO + o];
          const mb = mo + (o * JQ + q) * JT, db = dO + (o * JQ + q) * JK * JV;
          let inner = 0;
          for (let i = 0; i < JT; i++) { inner += x.m[mb + i] * states[cb + i]; g.m[mb + i] += wv * states[cb + i]; }
          for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) {
            const kk = x.k[ko + d * JK + k], vv = x.v[vo + v * JV + l], dd = x.d[db + k * JV + l];
            inner += dd * kk * vv;
            g.d[db + k * JV + l] += wv * kk * vv;
            g.k[ko + d * JK + k] += wv * dd * vv;
            g.v[vo + v * JV + l] += wv * dd * kk;
          }
          g.q[qo + d * JQ + q] += dyv * inner;
        }
      }
      // through C_t: dT, dS, dK, dV; then G_{t-1} = T^T G_t + M^T w
      for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
        const gb = (d * DV + v) * JT, cb = Cp + gb;
        for (let i = 0; i < JT; i++) {
          const gi = G[gb + i];
          if (gi === 0) continue;
          const tb = to + i * JT;
          for (let j = 0; j < JT; j++) g.t[tb + j] += gi * states[cb + j];
          const sb = so + i * JK * JV;
          for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) {
            const kk = x.k[ko + d * JK + k], vv = x.v[vo + v * JV + l], ss = x.s[sb + k * JV + l];
            g.s[sb + k * JV + l] += gi * kk * vv;
            g.k[ko + d * JK + k] += gi * ss * vv;
            g.v[vo + v * JV + l] += gi * ss * kk;
          }
        }
        for (let j = 0; j < JT; j++) {
          let a = 0;
          for (let i = 0; i < JT; i++) a += x.t[to + i * JT + j] * G[gb + i];
          for (let o = 0; o < JO; o++) for (let q = 0; q < JQ; q++) a += x.m[mo + (o * JQ + q) * JT + j] * w[((d * DV + v) * JO + o) * JQ + q];
          Gp[gb + j] = a;
        }
      }
      const tmp = G; G = Gp; Gp = tmp;
    }
    g.c0.set(G, row * z.c);
  }
  return g;
}

/** Chunkwise-parallel form with chunks of `chunk` positions (the last one may be shorter). Same outputs as the recurrent form. */
export function scan1dChunkwise(n: Scan1dDims, x: Scan1dInputs, chunk: number): { y: Float64Array; last: Float64Array } {
  const { B, S, H, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK);
  const L = Math.max(1, Math.min(chunk, S));
  const OQ = JO * JQ, KV = JK * JV;
  const y = new Float64Array(B * S * H * z.y), last = new Float64Array(B * H * z.c);
  const Gm = new Float64Array(L * L * OQ * KV); // G[t', s'] [o,q,k,l] within the chunk
  const E = new Float64Array(L * OQ * JT); // M_t T_{t-1} .. T_{t0}
  const F = new Float64Array(L * JT * KV); // T_e .. T_{s+1} S_s
  const Pm = new Float64Array(Math.max(OQ, JT) * JT), Pn = new Float64Array(Math.max(OQ, JT) * JT);
  const Tall = new Float64Array(JT * JT);
  const Cin = new Float64Array(z.c), Cout = new Float64Array(z.c);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const row = b * H + h;
    if (x.c0) for (let i = 0; i < z.c; i++) Cin[i] = x.c0[row * z.c + i]; else Cin.fill(0);
    const pos = (t: number) => (b * S + t) * H + h;
    for (let t0 = 0; t0 < S; t0 += L) {
      const Lc = Math.min(L, S - t0);
      // gating matrix and inter-chunk marks, per target t
      for (let tt = 0; tt < Lc; tt++) {
        const pt = pos(t0 + tt);
        for (let i = 0; i < OQ * JT; i++) Pm[i] = x.m[pt * z.m + i];
        const dO = pt * z.d;
        for (let i = 0; i < OQ * KV; i++) Gm[(tt * L + tt) * OQ * KV + i] = x.d[dO + i];
        for (let ss = tt - 1; ss >= 0; ss--) {
          const ps = pos(t0 + ss);
          const gb = (tt * L + ss) * OQ * KV, sb = ps * z.s, tb = ps * z.t;
          for (let a = 0; a < OQ; a++) for (let kl = 0; kl < KV; kl++) {
            let acc = 0;
            for (let i = 0; i < JT; i++) acc += Pm[a * JT + i] * x.s[sb + i * KV + kl];
            Gm[gb + a * KV + kl] = acc;
          }
          for (let a = 0; a < OQ; a++) for (let j = 0; j < JT; j++) {
            let acc = 0;
            for (let i = 0; i < JT; i++) acc += Pm[a * JT + i] * x.t[tb + i * JT + j];
            Pn[a * JT + j] = acc;
          }
          Pm.set(Pn.subarray(0, OQ * JT));
        }
        E.set(Pm.subarray(0, OQ * JT), tt * OQ * JT);
      }
      // outputs: intra-chunk attention + inter-chunk term
      for (let tt = 0; tt < Lc; tt++) {
        const pt = pos(t0 + tt), qo = pt * z.q, yo = pt * z.y;
        for (let v = 0; v < DV; v++) for (let o = 0; o < JO; o++) {
          let acc = 0;
          for (let q = 0; q < JQ; q++) {
            const eb = tt * OQ * JT + (o * JQ + q) * JT;
            for (let d = 0; d < DK; d++) {
              const qq = x.q[qo + d * JQ + q];
              if (qq === 0) continue;
              let inner = 0;
              const cb = (d * DV + v) * JT;
              for (let i = 0; i < JT; i++) inner += E[eb + i] * Cin[cb + i];
              for (let ss = 0; ss <= tt; ss++) {
                const ps = pos(t0 + ss), ko = ps * z.k, vo = ps * z.v, gb = (tt * L + ss) * OQ * KV + (o * JQ + q) * KV;
                for (let k = 0; k < JK; k++) {
                  const kk = x.k[ko + d * JK + k];
                  if (kk === 0) continue;
                  for (let l = 0; l < JV; l++) inner += kk * Gm[gb + k * JV + l] * x.v[vo + v * JV + l];
                }
              }
              acc += qq * inner;
            }
          }
          y[yo + v * JO + o] = sc * acc;
        }
      }
      // chunk state: C_end = (T_e .. T_t0) Cin + sum_s (T_e .. T_{s+1}) S_s K_s V_s
      Pm.fill(0);
      for (let i = 0; i < JT; i++) Pm[i * JT + i] = 1;
      for (let ss = Lc - 1; ss >= 0; ss--) {
        const ps = pos(t0 + ss), sb = ps * z.s, tb = ps * z.t;
        for (let i = 0; i < JT; i++) for (let kl = 0; kl < KV; kl++) {
          let acc = 0;
          for (let j = 0; j < JT; j++) acc += Pm[i * JT + j] * x.s[sb + j * KV + kl];
          F[(ss * JT + i) * KV + kl] = acc;
        }
        for (let i = 0; i < JT; i++) for (let j = 0; j < JT; j++) {
          let acc = 0;
          for (let r = 0; r < JT; r++) acc += Pm[i * JT + r] * x.t[tb + r * JT + j];
          Pn[i * JT + j] = acc;
        }
        Pm.set(Pn.subarray(0, JT * JT));
      }
      Tall.set(Pm.subarray(0, JT * JT));
      for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
        const cb = (d * DV + v) * JT;
        for (let i = 0; i < JT; i++) {
          let acc = 0;
          for (let j = 0; j < JT; j++) acc += Tall[i * JT + j] * Cin[cb + j];
          for (let ss = 0; ss < Lc; ss++) {
            const ps = pos(t0 + ss), ko = ps * z.k, vo = ps * z.v;
            for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) acc += F[(ss * JT + i) * KV + k * JV + l] * x.k[ko + d * JK + k] * x.v[vo + v * JV + l];
          }
          Cout[cb + i] = acc;
        }
      }
      Cin.set(Cout);
    }
    last.set(Cin, row * z.c);
  }
  return { y, last };
}

// ---- JK = JQ = 1 (the official 1D default): the same recurrence, factorised ----
// With scalar k[d], q[d] per position: a[v,i] = sum_d q[d] C[d,v,i], sv[v,i] = sum_l S[i,l] V[v,l],
// dv[v,o] = sum_l D[o,l] V[v,l]:
//   C'[d,v,i] = sum_j T[i,j] C[d,v,j] + k[d] sv[v,i],   y[v,o] = sc (sum_i M[o,i] a[v,i] + (q.k) dv[v,o])

function scan1dRecurrentK1(n: Scan1dDims, x: Scan1dInputs, keepStates: boolean): { y: Float64Array; last: Float64Array; states: Float64Array | null } {
  const { B, S, H, DK, DV, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), VT = DV * JT;
  const y = new Float64Array(B * S * H * z.y), last = new Float64Array(B * H * z.c);
  const states = keepStates ? new Float64Array(B * H * (S + 1) * z.c) : null;
  let C = new Float64Array(z.c), Cn = new Float64Array(z.c);
  const a = new Float64Array(VT), sv = new Float64Array(VT);
  const { q: Q, k: K, v: V, s: Sg, t: T, m: M, d: Dg } = x;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const row = b * H + h;
    if (x.c0) for (let i = 0; i < z.c; i++) C[i] = x.c0[row * z.c + i]; else C.fill(0);
    if (states) states.set(C, row * (S + 1) * z.c);
    for (let t = 0; t < S; t++) {
      const p = (b * S + t) * H + h;
      const qo = p * DK, ko = p * DK, vo = p * z.v, so = p * z.s, to = p * z.t, mo = p * z.m, dO = p * z.d, yo = p * z.y;
      a.fill(0);
      let qk = 0;
      for (let d = 0; d < DK; d++) {
        const qd = Q[qo + d];
        qk += qd * K[ko + d];
        const cb = d * VT;
        for (let e = 0; e < VT; e++) a[e] += qd * C[cb + e];
      }
      for (let v = 0; v < DV; v++) {
        for (let i = 0; i < JT; i++) {
          let acc = 0;
          for (let l = 0; l < JV; l++) acc += Sg[so + i * JV + l] * V[vo + v * JV + l];
          sv[v * JT + i] = acc;
        }
        for (let o = 0; o < JO; o++) {
          let acc = 0, dd = 0;
          for (let i = 0; i < JT; i++) acc += M[mo + o * JT + i] * a[v * JT + i];
          for (let l = 0; l < JV; l++) dd += Dg[dO + o * JV + l] * V[vo + v * JV + l];
          y[yo + v * JO + o] = sc * (acc + qk * dd);
        }
      }
      for (let d = 0; d < DK; d++) {
        const kd = K[ko + d], cb = d * VT;
        for (let v = 0; v < DV; v++) {
          const vb = cb + v * JT;
          for (let i = 0; i < JT; i++) {
            let acc = kd * sv[v * JT + i];
            for (let j = 0; j < JT; j++) acc += T[to + i * JT + j] * C[vb + j];
            Cn[vb + i] = acc;
          }
        }
      }
      const tmp = C; C = Cn; Cn = tmp;
      if (states) states.set(C, (row * (S + 1) + t + 1) * z.c);
    }
    last.set(C, row * z.c);
  }
  return { y, last, states };
}

function scan1dBackwardK1(n: Scan1dDims, x: Scan1dInputs, states: Float64Array, dy: ArrayLike<number>, dLast: ArrayLike<number> | null): Scan1dGrads {
  const { B, S, H, DK, DV, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), VT = DV * JT;
  const P = B * S * H;
  const g: Scan1dGrads = {
    q: new Float64Array(P * z.q), k: new Float64Array(P * z.k), v: new Float64Array(P * z.v), s: new Float64Array(P * z.s),
    t: new Float64Array(P * z.t), m: new Float64Array(P * z.m), d: new Float64Array(P * z.d), c0: new Float64Array(B * H * z.c),
  };
  const { q: Q, k: K, v: V, s: Sg, t: T, m: M, d: Dg } = x;
  let G = new Float64Array(z.c), Gp = new Float64Array(z.c);
  const a = new Float64Array(VT), wa = new Float64Array(VT), sv = new Float64Array(VT), dsv = new Float64Array(VT);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const row = b * H + h;
    if (dLast) for (let i = 0; i < z.c; i++) G[i] = dLast[row * z.c + i]; else G.fill(0);
    for (let t = S - 1; t >= 0; t--) {
      const p = (b * S + t) * H + h;
      const qo = p * DK, ko = p * DK, vo = p * z.v, so = p * z.s, to = p * z.t, mo = p * z.m, dO = p * z.d, yo = p * z.y;
      const Cp = (row * (S + 1) + t) * z.c; // C_{t-1}
      // recompute a, sv and q.k of the forward step
      a.fill(0); dsv.fill(0);
      let qk = 0;
      for (let d = 0; d < DK; d++) {
        const qd = Q[qo + d], kd = K[ko + d], cb = Cp + d * VT, gb = d * VT;
        qk += qd * kd;
        for (let e = 0; e < VT; e++) { a[e] += qd * states[cb + e]; dsv[e] += kd * G[gb + e]; }
      }
      let dqk = 0;
      for (let v = 0; v < DV; v++) {
        for (let i = 0; i < JT; i++) {
          let acc = 0, wacc = 0;
          for (let l = 0; l < JV; l++) acc += Sg[so + i * JV + l] * V[vo + v * JV + l];
          sv[v * JT + i] = acc;
          for (let o = 0; o < JO; o++) wacc += dy[yo + v * JO + o] * M[mo + o * JT + i];
          wa[v * JT + i] = sc * wacc;
        }
        for (let o = 0; o < JO; o++) {
          const gy = sc * dy[yo + v * JO + o];
          if (gy === 0) continue;
          let dd = 0;
          for (let l = 0; l < JV; l++) dd += Dg[dO + o * JV + l] * V[vo + v * JV + l];
          dqk += gy * dd;
          for (let i = 0; i < JT; i++) g.m[mo + o * JT + i] += gy * a[v * JT + i];
          const gq = gy * qk;
          for (let l = 0; l < JV; l++) { g.d[dO + o * JV + l] += gq * V[vo + v * JV + l]; g.v[vo + v * JV + l] += gq * Dg[dO + o * JV + l]; }
        }
        // through the source term: dS, dV
        for (let i = 0; i < JT; i++) {
          const ds = dsv[v * JT + i];
          if (ds === 0) continue;
          for (let l = 0; l < JV; l++) { g.s[so + i * JV + l] += ds * V[vo + v * JV + l]; g.v[vo + v * JV + l] += ds * Sg[so + i * JV + l]; }
        }
      }
      for (let d = 0; d < DK; d++) {
        const qd = Q[qo + d], kd = K[ko + d], cb = Cp + d * VT, gb = d * VT;
        let dq = dqk * kd, dk = dqk * qd;
        for (let e = 0; e < VT; e++) { dq += wa[e] * states[cb + e]; dk += G[gb + e] * sv[e]; }
        g.q[qo + d] += dq; g.k[ko + d] += dk;
        for (let v = 0; v < DV; v++) {
          const vb = v * JT;
          for (let i = 0; i < JT; i++) {
            const gi = G[gb + vb + i];
            if (gi !== 0) for (let j = 0; j < JT; j++) g.t[to + i * JT + j] += gi * states[cb + vb + j];
          }
          for (let j = 0; j < JT; j++) {
            let acc = qd * wa[vb + j];
            for (let i = 0; i < JT; i++) acc += T[to + i * JT + j] * G[gb + vb + i];
            Gp[gb + vb + j] = acc;
          }
        }
      }
      const tmp = G; G = Gp; Gp = tmp;
    }
    g.c0.set(G, row * z.c);
  }
  return g;
}

// ---- backward of the chunkwise form, in its own terms ----

/** C = A B (+ C when acc): A [a, b] at ao, B [b, c] at bo (transposed operands via tA / tB: stored [b, a] / [c, b]). */
function mm(A: ArrayLike<number>, ao: number, B: ArrayLike<number>, bo: number, C: Float64Array, co: number, a: number, b: number, c: number, tA: boolean, tB: boolean, acc: boolean): void {
  for (let i = 0; i < a; i++) for (let j = 0; j < c; j++) {
    let s = acc ? C[co + i * c + j] : 0;
    for (let k = 0; k < b; k++) s += A[ao + (tA ? k * a + i : i * b + k)] * B[bo + (tB ? j * b + k : k * c + j)];
    C[co + i * c + j] = s;
  }
}

/**
 * Gradients of the chunkwise form (chunks of `chunk`): the intra-chunk attention with its gating
 * matrix, the products of transitions behind it, and the chunk-state recurrence run backwards. The
 * same gradients as scan1dBackward: the cross-chunk terms are all there.
 */
export function scan1dChunkwiseBackward(n: Scan1dDims, x: Scan1dInputs, chunk: number, dy: ArrayLike<number>, dLast: ArrayLike<number> | null): Scan1dGrads {
  const { B, S, H, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK);
  const L = Math.max(1, Math.min(chunk, S)), nC = Math.ceil(S / L);
  const OQ = JO * JQ, KV = JK * JV, TT = JT * JT;
  const P = B * S * H;
  const g: Scan1dGrads = {
    q: new Float64Array(P * z.q), k: new Float64Array(P * z.k), v: new Float64Array(P * z.v), s: new Float64Array(P * z.s),
    t: new Float64Array(P * z.t), m: new Float64Array(P * z.m), d: new Float64Array(P * z.d), c0: new Float64Array(B * H * z.c),
  };
  const Cs = new Float64Array((nC + 1) * z.c); // chunk-start states
  const Pc = new Float64Array(L * (L + 1) * OQ * JT); // per target tt: P^(s) for s = t0-1 .. t-1 (index s - t0 + 1)
  const Pf = new Float64Array((L + 1) * TT); // F chain: P'^(s), index s - t0 + 1 (P'^(e) = I)
  const Gm = new Float64Array(L * L * OQ * KV), dGm = new Float64Array(L * L * OQ * KV);
  const F = new Float64Array(L * JT * KV), dF = new Float64Array(L * JT * KV);
  const dE = new Float64Array(L * OQ * JT), dPa = new Float64Array(OQ * JT), dPb = new Float64Array(OQ * JT);
  const dTa = new Float64Array(TT), dTb = new Float64Array(TT);
  const dC = new Float64Array(z.c), dCin = new Float64Array(z.c);
  const kv = (pk: number, pv: number, d: number, v: number, k: number, l: number) => x.k[pk * z.k + d * JK + k] * x.v[pv * z.v + v * JV + l];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const row = b * H + h;
    const pos = (t: number) => (b * S + t) * H + h;
    // chunk-start states by the chunk recurrence (the forward's inter-chunk pass)
    scan1dChunkStates(n, x, b, h, L, Cs);
    if (dLast) for (let i = 0; i < z.c; i++) dC[i] = dLast[row * z.c + i]; else dC.fill(0);
    for (let ci = nC - 1; ci >= 0; ci--) {
      const t0 = ci * L, Lc = Math.min(L, S - t0), Cin = Cs.subarray(ci * z.c, (ci + 1) * z.c);
      // recompute the chains: per target the mark chain P^(s), the gating matrix; the F chain
      for (let tt = 0; tt < Lc; tt++) {
        const pt = pos(t0 + tt);
        const base = tt * (L + 1) * OQ * JT;
        for (let i = 0; i < OQ * JT; i++) Pc[base + tt * OQ * JT + i] = x.m[pt * z.m + i]; // P^(t-1) = M_t at index tt
        for (let i = 0; i < OQ * KV; i++) Gm[(tt * L + tt) * OQ * KV + i] = x.d[pt * z.d + i];
        for (let ss = tt - 1; ss >= 0; ss--) {
          const ps = pos(t0 + ss);
          mm(Pc, base + (ss + 1) * OQ * JT, x.s, ps * z.s, Gm, (tt * L + ss) * OQ * KV, OQ, JT, KV, false, false, false);
          mm(Pc, base + (ss + 1) * OQ * JT, x.t, ps * z.t, Pc, base + ss * OQ * JT, OQ, JT, JT, false, false, false);
        }
      }
      Pf.fill(0, Lc * TT, (Lc + 1) * TT);
      for (let i = 0; i < JT; i++) Pf[Lc * TT + i * JT + i] = 1;
      for (let ss = Lc - 1; ss >= 0; ss--) {
        const ps = pos(t0 + ss);
        mm(Pf, (ss + 1) * TT, x.s, ps * z.s, F, ss * JT * KV, JT, JT, KV, false, false, false);
        mm(Pf, (ss + 1) * TT, x.t, ps * z.t, Pf, ss * TT, JT, JT, JT, false, false, false);
      }
      // 1. through C_end = Tall Cin + sum_s F_s K_s V_s   (Tall = Pf[0])
      dCin.fill(0); dF.fill(0);
      dTa.fill(0);
      for (let dv = 0; dv < DK * DV; dv++) for (let i = 0; i < JT; i++) {
        const gi = dC[dv * JT + i];
        if (gi === 0) continue;
        for (let j = 0; j < JT; j++) { dTa[i * JT + j] += gi * Cin[dv * JT + j]; dCin[dv * JT + j] += Pf[i * JT + j] * gi; }
      }
      for (let ss = 0; ss < Lc; ss++) {
        const ps = pos(t0 + ss);
        for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) for (let i = 0; i < JT; i++) {
          const gi = dC[(d * DV + v) * JT + i];
          if (gi === 0) continue;
          for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) {
            const f = F[(ss * JT + i) * KV + k * JV + l];
            dF[(ss * JT + i) * KV + k * JV + l] += gi * kv(ps, ps, d, v, k, l);
            g.k[ps * z.k + d * JK + k] += gi * f * x.v[ps * z.v + v * JV + l];
            g.v[ps * z.v + v * JV + l] += gi * f * x.k[ps * z.k + d * JK + k];
          }
        }
      }
      // 2. through the outputs: the inter-chunk read-out E_t Cin and the attention with G
      dE.fill(0); dGm.fill(0);
      for (let tt = 0; tt < Lc; tt++) {
        const pt = pos(t0 + tt), E = tt * (L + 1) * OQ * JT; // E_t = P^(t0-1) at index 0
        for (let v = 0; v < DV; v++) for (let o = 0; o < JO; o++) {
          const gy = sc * dy[pt * z.y + v * JO + o];
          if (gy === 0) continue;
          for (let q = 0; q < JQ; q++) {
            const a = o * JQ + q;
            for (let d = 0; d < DK; d++) {
              const qd = x.q[pt * z.q + d * JQ + q], w = gy * qd;
              let inner = 0;
              const cb = (d * DV + v) * JT;
              for (let i = 0; i < JT; i++) {
                const e = Pc[E + a * JT + i];
                inner += e * Cin[cb + i];
                dE[(tt * OQ + a) * JT + i] += w * Cin[cb + i];
                dCin[cb + i] += w * e;
              }
              for (let ss = 0; ss <= tt; ss++) {
                const ps = pos(t0 + ss), gb = (tt * L + ss) * OQ * KV + a * KV;
                for (let k = 0; k < JK; k++) {
                  const kk = x.k[ps * z.k + d * JK + k];
                  for (let l = 0; l < JV; l++) {
                    const vv = x.v[ps * z.v + v * JV + l], gm = Gm[gb + k * JV + l];
                    inner += kk * gm * vv;
                    dGm[gb + k * JV + l] += w * kk * vv;
                    g.k[ps * z.k + d * JK + k] += w * gm * vv;
                    g.v[ps * z.v + v * JV + l] += w * gm * kk;
                  }
                }
              }
              g.q[pt * z.q + d * JQ + q] += gy * inner;
            }
          }
        }
      }
      // 3. the gating matrix and E through the mark chains: G[t,s] = P^(s) S_s, P^(s-1) = P^(s) T_s, E_t = P^(t0-1)
      for (let tt = 0; tt < Lc; tt++) {
        const pt = pos(t0 + tt), base = tt * (L + 1) * OQ * JT;
        for (let i = 0; i < OQ * KV; i++) g.d[pt * z.d + i] += dGm[(tt * L + tt) * OQ * KV + i];
        dPa.set(dE.subarray(tt * OQ * JT, (tt + 1) * OQ * JT)); // dP^(t0-1)
        for (let ss = 0; ss < tt; ss++) {
          const ps = pos(t0 + ss), Ps = base + (ss + 1) * OQ * JT;
          // dT_s += P^(s)^T dP^(s-1); dP^(s) = dP^(s-1) T_s^T + dG[t,s] S_s^T; dS_s += P^(s)^T dG[t,s]
          mm(Pc, Ps, dPa, 0, g.t, ps * z.t, JT, OQ, JT, true, false, true);
          mm(dPa, 0, x.t, ps * z.t, dPb, 0, OQ, JT, JT, false, true, false);
          mm(dGm, (tt * L + ss) * OQ * KV, x.s, ps * z.s, dPb, 0, OQ, KV, JT, false, true, true);
          mm(Pc, Ps, dGm, (tt * L + ss) * OQ * KV, g.s, ps * z.s, JT, OQ, KV, true, false, true);
          dPa.set(dPb);
        }
        for (let i = 0; i < OQ * JT; i++) g.m[pt * z.m + i] += dPa[i]; // P^(t-1) = M_t
      }
      // 4. the F chain: F_s = P'^(s) S_s, P'^(s-1) = P'^(s) T_s, Tall = P'^(t0-1), P'^(e) = I
      for (let ss = 0; ss < Lc; ss++) {
        const ps = pos(t0 + ss), Ps = (ss + 1) * TT;
        mm(Pf, Ps, dTa, 0, g.t, ps * z.t, JT, JT, JT, true, false, true);
        mm(dTa, 0, x.t, ps * z.t, dTb, 0, JT, JT, JT, false, true, false);
        mm(dF, ss * JT * KV, x.s, ps * z.s, dTb, 0, JT, KV, JT, false, true, true);
        mm(Pf, Ps, dF, ss * JT * KV, g.s, ps * z.s, JT, JT, KV, true, false, true);
        dTa.set(dTb);
      }
      dC.set(dCin);
    }
    g.c0.set(dC, row * z.c);
  }
  return g;
}

/** Chunk-start states of row (b, h): Cs[c] = state before chunk c (Cs[0] = C0), by the plain recurrence. */
function scan1dChunkStates(n: Scan1dDims, x: Scan1dInputs, b: number, h: number, L: number, Cs: Float64Array): void {
  const { S, H, DK, DV, JK, JV, JT } = n;
  const z = sizes(n), KV = JK * JV;
  let C = new Float64Array(z.c), Cn = new Float64Array(z.c);
  if (x.c0) for (let i = 0; i < z.c; i++) C[i] = x.c0[(b * H + h) * z.c + i];
  Cs.set(C, 0);
  for (let t = 0; t < S; t++) {
    const p = (b * S + t) * H + h;
    for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
      const cb = (d * DV + v) * JT;
      for (let i = 0; i < JT; i++) {
        let a = 0;
        for (let j = 0; j < JT; j++) a += x.t[p * z.t + i * JT + j] * C[cb + j];
        for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) a += x.s[p * z.s + i * KV + k * JV + l] * x.k[p * z.k + d * JK + k] * x.v[p * z.v + v * JV + l];
        Cn[cb + i] = a;
      }
    }
    const tmp = C; C = Cn; Cn = tmp;
    if ((t + 1) % L === 0 || t === S - 1) Cs.set(C, Math.ceil((t + 1) / L) * z.c);
  }
}
