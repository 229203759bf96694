// mLSTM backward (f32), the float32 form of src/backend/ref/mlstmBackward.ts in its
// 'official' gradient mode (as mlstm_kernels' chunkwise/native bw): the stabilisers m and the
// normaliser N = max(|q.n|, exp(-m)) are constants, so only dH~ = dH / (N + eps) flows back
// and the n column of the state never enters. One kernel serves both forms: the parallel
// backward is the chunkwise one with a single chunk (L = S) and a zero initial state.
//
// Per head (threads take whole (b, h) pairs):
//  1. in-chunk cumulative log forget gates b (f64, as the forward) and the inter-chunk
//     stabilisers scaM; the states C_k before each chunk are recomputed
//     (C_{k+1} = decay C_k + Kbar^T V);
//  2. reverse recurrence dC_{k-1} = decay dC_k + Qbar^T dH~ (dC_NC = 0);
//  3. per chunk: dq = Bbar dH~ C_k^T + dS K, dk = Abar V dC_{k+1}^T + dS^T Q,
//     dv = Abar K dC_{k+1} + Sbar^T dH~ with Sbar = (Q K^T s) .* D, dS = (dH~ V^T) .* D s;
//  4. di = v . dv, df = sigmoid(-f) * reversed cumsum(q . dq - k . dk).
// The per-chunk products are register-tiled GEMMs (backwardUtil.ts) on transposed copies.
import { rangeStart, rangeEnd } from './simd';
import { bwAt, bwDot, bwScale, bwTranspose } from './backwardUtil';
import { tileGemm as bwGemm, TRI_A_LOWER, TRI_A_UPPER, TRI_C_LOWER } from './tileGemm';

// @ts-ignore: decorator
@inline function logSigmoid64(x: f64): f64 {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

// @ts-ignore: decorator
@inline function align64(x: usize): usize { return (x + 63) & ~(<usize>63); }

// @ts-ignore: decorator
@inline function imax(a: i32, b: i32): i32 { return a > b ? a : b; }

/** Bytes of per-thread scratch mlstmBackwardF32 needs. */
export function mlstmBackwardScratchBytes(S: i32, L: i32, DHQK: i32, DHV: i32): i32 {
  const NC = S / L, QV = DHQK * DHV, X = imax(L, imax(DHQK, DHV));
  return (S * 8 + (NC + 1) * 8 + 2 * NC * QV * 4 + 2 * L * L * 4 + 2 * X * X * 4 + L * DHV * 4 + 64 * 9 + 63) & ~63;
}

/**
 * q, k [BH, S, DHQK], v [BH, S, DHV], ig, fg [BH, S] (pre-activations), dh [BH, S, DHV],
 * vecN, vecM [BH, S] the forward's normalisers (before +eps) and stabilisers;
 * c0 [BH, DHQK, DHV] initial C or 0 (zeros); m0 [BH] initial m or 0 (zeros).
 * Out: dq, dk, dv (shapes of q, k, v), di, df [BH, S]; dC0 [BH, DHQK, DHV] when non-zero.
 * L divides S. scratch: nt blocks of `stride` bytes (mlstmBackwardScratchBytes).
 */
export function mlstmBackwardF32(
  q: usize, k: usize, v: usize, ig: usize, fg: usize, dh: usize, vecN: usize, vecM: usize, c0: usize, m0: usize,
  dq: usize, dk: usize, dv: usize, di: usize, df: usize, dC0: usize,
  BH: i32, S: i32, DHQK: i32, DHV: i32, L: i32, scale: f32, eps: f32, scratch: usize, stride: i32,
  tid: i32, nt: i32,
): void {
  const hs = rangeStart(BH, tid, nt, 1);
  const he = rangeEnd(BH, tid, nt, 1);
  const NC = S / L, QV = DHQK * DHV, X = imax(L, imax(DHQK, DHV));
  const base = align64(scratch + <usize>tid * <usize>stride);
  const bcum = base;                                      // f64 [S]
  const scaM = align64(bcum + (<usize>S << 3));           // f64 [NC+1]
  const Cs = align64(scaM + (<usize>(NC + 1) << 3));      // f32 [NC, DHQK, DHV]: C_k before chunk k
  const dCs = align64(Cs + (<usize>(NC * QV) << 2));      // f32 [NC, DHQK, DHV]: dC_{k+1}
  const P = align64(dCs + (<usize>(NC * QV) << 2));       // f32 [L, L]
  const dP = align64(P + (<usize>(L * L) << 2));          // f32 [L, L]
  const T2 = align64(dP + (<usize>(L * L) << 2));         // f32 [X, X]
  const T3 = align64(T2 + (<usize>(X * X) << 2));         // f32 [X, X]
  const dht = align64(T3 + (<usize>(X * X) << 2));        // f32 [L, DHV]
  const sc = <f64>scale;
  for (let bh = hs; bh < he; bh++) {
    const go = bh * S;
    const qb = q + (<usize>(go * DHQK) << 2), kb = k + (<usize>(go * DHQK) << 2), vb = v + (<usize>(go * DHV) << 2);
    const dhb = dh + (<usize>(go * DHV) << 2);
    const dqb = dq + (<usize>(go * DHQK) << 2), dkb = dk + (<usize>(go * DHQK) << 2), dvb = dv + (<usize>(go * DHV) << 2);
    const igb = ig + (<usize>go << 2), fgb = fg + (<usize>go << 2), nb = vecN + (<usize>go << 2), mb = vecM + (<usize>go << 2);
    // 1. gates and inter-chunk stabilisers
    store<f64>(scaM, m0 != 0 ? <f64>load<f32>(m0 + (<usize>bh << 2)) : 0);
    for (let kk = 0; kk < NC; kk++) {
      let run: f64 = 0;
      for (let j = 0; j < L; j++) { run += logSigmoid64(<f64>load<f32>(bwAt(fgb, kk * L + j))); store<f64>(bcum + (<usize>(kk * L + j) << 3), run); }
      let mk = run + load<f64>(scaM + (<usize>kk << 3));
      for (let j = 0; j < L; j++) {
        const a = run - load<f64>(bcum + (<usize>(kk * L + j) << 3)) + <f64>load<f32>(bwAt(igb, kk * L + j));
        if (a > mk) mk = a;
      }
      store<f64>(scaM + (<usize>(kk + 1) << 3), mk);
    }
    // states before each chunk
    const hasC0 = c0 != 0;
    if (hasC0) memory.copy(Cs, c0 + (<usize>(bh * QV) << 2), <usize>QV << 2);
    else memory.fill(Cs, 0, <usize>QV << 2);
    for (let kk = 0; kk + 1 < NC; kk++) {
      const gsum = load<f64>(bcum + (<usize>(kk * L + L - 1) << 3));
      const mP = load<f64>(scaM + (<usize>kk << 3)), mN = load<f64>(scaM + (<usize>(kk + 1) << 3));
      const Cn = Cs + (<usize>((kk + 1) * QV) << 2);
      memory.copy(Cn, Cs + (<usize>(kk * QV) << 2), <usize>QV << 2);
      bwScale(Cn, <f32>Math.exp(gsum + mP - mN), QV);
      // T2 = Kbar^T [DHQK, L]
      for (let j = 0; j < L; j++) {
        const r = kk * L + j;
        const w = <f32>Math.exp(gsum - load<f64>(bcum + (<usize>r << 3)) + <f64>load<f32>(bwAt(igb, r)) - mN);
        const kr = kb + (<usize>(r * DHQK) << 2);
        for (let a = 0; a < DHQK; a++) store<f32>(bwAt(T2, a * L + j), load<f32>(bwAt(kr, a)) * w);
      }
      bwGemm(T2, L, vb + (<usize>(kk * L * DHV) << 2), DHV, Cn, DHV, DHQK, DHV, L, 1);
    }
    // 2. reverse recurrence of dC: dCs[kk] = dC_{kk+1}; dC_NC = 0
    for (let kc = NC; kc >= 1; kc--) {
      const kk = kc - 1; // chunk whose queries feed dC_kk
      if (kk == 0 && dC0 == 0) break;
      const target: usize = kk >= 1 ? dCs + (<usize>((kk - 1) * QV) << 2) : dC0 + (<usize>(bh * QV) << 2);
      const gsum = load<f64>(bcum + (<usize>(kk * L + L - 1) << 3));
      const mP = load<f64>(scaM + (<usize>kk << 3)), mN = load<f64>(scaM + (<usize>kc << 3));
      for (let j = 0; j < L; j++) {
        const r = kk * L + j;
        const w = <f32>(Math.exp(load<f64>(bcum + (<usize>r << 3)) + mP - <f64>load<f32>(bwAt(mb, r))) * sc / (<f64>load<f32>(bwAt(nb, r)) + <f64>eps));
        const qr = qb + (<usize>(r * DHQK) << 2);
        for (let a = 0; a < DHQK; a++) store<f32>(bwAt(T2, a * L + j), load<f32>(bwAt(qr, a)) * w);
      }
      let beta: f32 = 0;
      if (kc < NC) {
        memory.copy(target, dCs + (<usize>(kk * QV) << 2), <usize>QV << 2);
        beta = <f32>Math.exp(gsum + mP - mN);
      }
      bwGemm(T2, L, dhb + (<usize>(kk * L * DHV) << 2), DHV, target, DHV, DHQK, DHV, L, beta);
    }
    // 3. per chunk
    for (let kk = 0; kk < NC; kk++) {
      const t0 = kk * L;
      const gsum = load<f64>(bcum + (<usize>(t0 + L - 1) << 3));
      const mP = load<f64>(scaM + (<usize>kk << 3)), mN = load<f64>(scaM + (<usize>(kk + 1) << 3));
      const Qc = qb + (<usize>(t0 * DHQK) << 2), Kc = kb + (<usize>(t0 * DHQK) << 2), Vc = vb + (<usize>(t0 * DHV) << 2);
      const dQc = dqb + (<usize>(t0 * DHQK) << 2), dKc = dkb + (<usize>(t0 * DHQK) << 2), dVc = dvb + (<usize>(t0 * DHV) << 2);
      for (let j = 0; j < L; j++) {
        memory.copy(dht + (<usize>(j * DHV) << 2), dhb + (<usize>((t0 + j) * DHV) << 2), <usize>DHV << 2);
        bwScale(dht + (<usize>(j * DHV) << 2), <f32>(1.0 / (<f64>load<f32>(bwAt(nb, t0 + j)) + <f64>eps)), DHV);
      }
      // dq (inter) = Bbar dH~ C_k^T
      if (kk > 0 || hasC0) {
        bwTranspose(Cs + (<usize>(kk * QV) << 2), DHV, T2, DHQK, DHQK, DHV);
        bwGemm(dht, DHV, T2, DHQK, dQc, DHQK, L, DHQK, DHV, 0);
        for (let j = 0; j < L; j++) {
          const r = t0 + j;
          bwScale(dQc + (<usize>(j * DHQK) << 2), <f32>(Math.exp(load<f64>(bcum + (<usize>r << 3)) + mP - <f64>load<f32>(bwAt(mb, r))) * sc), DHQK);
        }
      } else memory.fill(dQc, 0, <usize>(L * DHQK) << 2);
      // dk, dv (inter) from dC_{k+1}
      if (kk + 1 < NC) {
        const dCn = dCs + (<usize>(kk * QV) << 2);
        bwTranspose(dCn, DHV, T2, DHQK, DHQK, DHV);
        bwGemm(Vc, DHV, T2, DHQK, dKc, DHQK, L, DHQK, DHV, 0);
        bwGemm(Kc, DHQK, dCn, DHV, dVc, DHV, L, DHV, DHQK, 0);
        for (let j = 0; j < L; j++) {
          const r = t0 + j;
          const ab = <f32>Math.exp(gsum - load<f64>(bcum + (<usize>r << 3)) + <f64>load<f32>(bwAt(igb, r)) - mN);
          bwScale(dKc + (<usize>(j * DHQK) << 2), ab, DHQK);
          bwScale(dVc + (<usize>(j * DHV) << 2), ab, DHV);
        }
      } else {
        memory.fill(dKc, 0, <usize>(L * DHQK) << 2);
        memory.fill(dVc, 0, <usize>(L * DHV) << 2);
      }
      // intra: P = Q K^T, dP = dH~ V^T, then the decay mask
      bwTranspose(Kc, DHQK, T2, L, L, DHQK);
      bwGemm(Qc, DHQK, T2, L, P, L, L, L, DHQK, 0, TRI_C_LOWER);
      bwTranspose(Vc, DHV, T3, L, L, DHV);
      bwGemm(dht, DHV, T3, L, dP, L, L, L, DHV, 0, TRI_C_LOWER);
      for (let j = 0; j < L; j++) {
        const r = t0 + j;
        const bj = load<f64>(bcum + (<usize>r << 3)) - <f64>load<f32>(bwAt(mb, r));
        const pr = P + (<usize>(j * L) << 2), dpr = dP + (<usize>(j * L) << 2);
        for (let l = 0; l <= j; l++) {
          const D = <f32>(Math.exp(bj - load<f64>(bcum + (<usize>(t0 + l) << 3)) + <f64>load<f32>(bwAt(igb, t0 + l))) * sc);
          store<f32>(bwAt(pr, l), load<f32>(bwAt(pr, l)) * D);
          store<f32>(bwAt(dpr, l), load<f32>(bwAt(dpr, l)) * D);
        }
        for (let l = j + 1; l < L; l++) { store<f32>(bwAt(pr, l), 0); store<f32>(bwAt(dpr, l), 0); }
      }
      bwTranspose(P, L, T2, L, L, L);
      bwGemm(T2, L, dht, DHV, dVc, DHV, L, DHV, L, 1, TRI_A_UPPER);
      bwGemm(dP, L, Kc, DHQK, dQc, DHQK, L, DHQK, L, 1, TRI_A_LOWER);
      bwTranspose(dP, L, T3, L, L, L);
      bwGemm(T3, L, Qc, DHQK, dKc, DHQK, L, DHQK, L, 1, TRI_A_UPPER);
    }
    // 4. gate gradients
    let acc: f64 = 0;
    for (let u = S - 1; u >= 0; u--) {
      store<f32>(bwAt(di, go + u), bwDot(vb + (<usize>(u * DHV) << 2), dvb + (<usize>(u * DHV) << 2), DHV));
      acc += <f64>bwDot(qb + (<usize>(u * DHQK) << 2), dqb + (<usize>(u * DHQK) << 2), DHQK)
        - <f64>bwDot(kb + (<usize>(u * DHQK) << 2), dkb + (<usize>(u * DHQK) << 2), DHQK);
      const f = <f64>load<f32>(bwAt(fgb, u));
      store<f32>(bwAt(df, go + u), <f32>(acc / (1.0 + Math.exp(f))));
    }
  }
}
