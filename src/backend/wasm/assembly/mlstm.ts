// mLSTM kernels (float32): the recurrent form (decode step and short tails) and the
// chunkwise form (TFLA native algorithm) used for prefill and, with one chunk of the
// whole sequence and m = -inf, for the parallel form. The float64 spec of every line is
// src/backend/ref/mlstm.ts. Threads take whole heads (b, h pairs), so the state of a
// head is only touched by one thread; chunkwise scratch comes per thread from the caller.
//
// Gate scalars (log-sigmoid, cumulative sums, stabilisers) are computed in f64: they are
// O(S) or O(L^2) work per head, and extreme gate pre-activations otherwise lose precision
// in the cumulative sums. The O(L*DHQK*DHV) parts run on 4-lane SIMD with 4x8 register tiles.
//
// mode bits: 1 = sigmoid input gate without stabiliser (mLSTMsig, m stays 0 and m is not
// read or written); 2 = no normalisation (h = q^T C, mLSTMsig normalize=False);
// 4 and 8: see mlstmChunkwiseF32.
import { fmadd, rangeStart, rangeEnd } from './simd';
import { tileGemm, tileGemmScratchBytes, TRI_A_LOWER, TRI_C_LOWER } from './tileGemm';

const MODE_SIG: i32 = 1;
const MODE_NONORM: i32 = 2;
// chunkwise only: 4 = the state before t0 is C = n = 0 (skip Q C on the first chunk);
// 8 = the state after t1 is not wanted (skip the update after the last chunk)
const MODE_ZERO_STATE: i32 = 4;
const MODE_NO_STATE_OUT: i32 = 8;

// @ts-ignore: decorator
@inline function logSigmoid(x: f64): f64 {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** sum_x a[x] b[x] over n floats, 4 accumulators. */
function dot(a: usize, b: usize, n: i32): f32 {
  let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
  let d = 0;
  for (; d + 16 <= n; d += 16) {
    const o = <usize>d << 2;
    x0 = fmadd(v128.load(a + o), v128.load(b + o), x0);
    x1 = fmadd(v128.load(a + o, 16), v128.load(b + o, 16), x1);
    x2 = fmadd(v128.load(a + o, 32), v128.load(b + o, 32), x2);
    x3 = fmadd(v128.load(a + o, 48), v128.load(b + o, 48), x3);
  }
  for (; d + 4 <= n; d += 4) { const o = <usize>d << 2; x0 = fmadd(v128.load(a + o), v128.load(b + o), x0); }
  const s = f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3));
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; d < n; d++) r += load<f32>(a + (<usize>d << 2)) * load<f32>(b + (<usize>d << 2));
  return r;
}

/** x[0..n) *= s */
function scaleInPlace(x: usize, n: i32, s: f32): void {
  const vs = f32x4.splat(s);
  let d = 0;
  for (; d + 4 <= n; d += 4) { const p = x + (<usize>d << 2); v128.store(p, f32x4.mul(v128.load(p), vs)); }
  for (; d < n; d++) { const p = x + (<usize>d << 2); store<f32>(p, load<f32>(p) * s); }
}

/**
 * Recurrent mLSTM over steps t0..t1-1 of sequences of length S (q,k [BH,S,DHQK],
 * v,h [BH,S,DHV], i,f [BH,S]); state c [BH,DHQK,DHV], n [BH,DHQK], m [BH] updated in
 * place. S = 1 is the decode step. Each step makes one pass over C: decay + rank-1 update
 * and the q^T C product of the new C, 4 key rows at a time.
 */
export function mlstmRecurrentF32(
  q: usize, k: usize, v: usize, ig: usize, fg: usize, h: usize, c: usize, n: usize, m: usize,
  BH: i32, S: i32, t0: i32, t1: i32, DHQK: i32, DHV: i32, scale: f32, eps: f32, mode: i32,
  tid: i32, nt: i32,
): void {
  const hs = rangeStart(BH, tid, nt, 1);
  const he = rangeEnd(BH, tid, nt, 1);
  const sig = (mode & MODE_SIG) != 0;
  const rowBytes = <usize>DHV << 2;
  for (let bh = hs; bh < he; bh++) {
    const cb = c + (<usize>bh * <usize>DHQK * <usize>DHV << 2);
    const nb = n + (<usize>(bh * DHQK) << 2);
    for (let t = t0; t < t1; t++) {
      const g = bh * S + t;
      const lf = logSigmoid(<f64>load<f32>(fg + (<usize>g << 2)));
      let iv = <f64>load<f32>(ig + (<usize>g << 2));
      let a: f64, bgate: f64, mNew: f64 = 0;
      if (sig) {
        a = Math.exp(lf); bgate = Math.exp(logSigmoid(iv));
      } else {
        const mPrev = <f64>load<f32>(m + (<usize>bh << 2));
        mNew = Math.max(lf + mPrev, iv);
        a = Math.exp(lf + mPrev - mNew); bgate = Math.exp(iv - mNew);
        store<f32>(m + (<usize>bh << 2), <f32>mNew);
      }
      const qp = q + (<usize>(g * DHQK) << 2);
      const kp = k + (<usize>(g * DHQK) << 2);
      const vp = v + (<usize>g * rowBytes);
      const hp = h + (<usize>g * rowBytes);
      const af = <f32>a, bf = <f32>bgate;
      const va = f32x4.splat(af);
      // n update and q.n
      let qn: f32 = 0;
      for (let dk = 0; dk < DHQK; dk++) {
        const np = nb + (<usize>dk << 2);
        const nv = af * load<f32>(np) + bf * load<f32>(kp + (<usize>dk << 2));
        store<f32>(np, nv);
        qn += load<f32>(qp + (<usize>dk << 2)) * nv;
      }
      qn *= scale;
      for (let dv = 0; dv < DHV; dv++) store<f32>(hp + (<usize>dv << 2), 0);
      let dk = 0;
      for (; dk + 4 <= DHQK; dk += 4) {
        const r0 = cb + <usize>dk * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        const kd = kp + (<usize>dk << 2), qd = qp + (<usize>dk << 2);
        const kb0 = f32x4.splat(bf * load<f32>(kd)), kb1 = f32x4.splat(bf * load<f32>(kd, 4));
        const kb2 = f32x4.splat(bf * load<f32>(kd, 8)), kb3 = f32x4.splat(bf * load<f32>(kd, 12));
        const qs0 = f32x4.splat(scale * load<f32>(qd)), qs1 = f32x4.splat(scale * load<f32>(qd, 4));
        const qs2 = f32x4.splat(scale * load<f32>(qd, 8)), qs3 = f32x4.splat(scale * load<f32>(qd, 12));
        let dv = 0;
        for (; dv + 4 <= DHV; dv += 4) {
          const o = <usize>dv << 2;
          const vv = v128.load(vp + o);
          const n0 = fmadd(kb0, vv, f32x4.mul(va, v128.load(r0 + o)));
          const n1 = fmadd(kb1, vv, f32x4.mul(va, v128.load(r1 + o)));
          const n2 = fmadd(kb2, vv, f32x4.mul(va, v128.load(r2 + o)));
          const n3 = fmadd(kb3, vv, f32x4.mul(va, v128.load(r3 + o)));
          v128.store(r0 + o, n0); v128.store(r1 + o, n1); v128.store(r2 + o, n2); v128.store(r3 + o, n3);
          const acc = fmadd(qs3, n3, fmadd(qs2, n2, fmadd(qs1, n1, f32x4.mul(qs0, n0))));
          v128.store(hp + o, f32x4.add(v128.load(hp + o), acc));
        }
        for (; dv < DHV; dv++) {
          const o = <usize>dv << 2;
          const vv = load<f32>(vp + o);
          let hv = load<f32>(hp + o);
          for (let r = 0; r < 4; r++) {
            const rp = cb + <usize>(dk + r) * rowBytes + o;
            const nv = af * load<f32>(rp) + bf * load<f32>(kd + (<usize>r << 2)) * vv;
            store<f32>(rp, nv);
            hv += scale * load<f32>(qd + (<usize>r << 2)) * nv;
          }
          store<f32>(hp + o, hv);
        }
      }
      for (; dk < DHQK; dk++) {
        const r0 = cb + <usize>dk * rowBytes;
        const kbs = bf * load<f32>(kp + (<usize>dk << 2));
        const qss = scale * load<f32>(qp + (<usize>dk << 2));
        for (let dv = 0; dv < DHV; dv++) {
          const o = <usize>dv << 2;
          const nv = af * load<f32>(r0 + o) + kbs * load<f32>(vp + o);
          store<f32>(r0 + o, nv);
          store<f32>(hp + o, load<f32>(hp + o) + qss * nv);
        }
      }
      if ((mode & MODE_NONORM) == 0) {
        const lower: f64 = sig ? 1.0 : Math.exp(-mNew);
        const den = Math.max(Math.abs(<f64>qn), lower) + <f64>eps;
        scaleInPlace(hp, DHV, <f32>(1.0 / den));
      }
    }
  }
}

/** Bytes of per-thread scratch mlstmChunkwiseF32 needs for chunk length L. */
export function mlstmChunkwiseScratchBytes(L: i32, DHQK: i32): i32 {
  // f64 bcum, aw, mrow | f32 rowScale, den | f32 Kt [DHQK, L] | f32 P [L, L] | tileGemm's
  // scratch (every product's A is [L, DHQK] or [DHQK, L]); 64-byte aligned
  const tg = tileGemmScratchBytes(L, DHQK > L ? DHQK : L) + 64;
  return ((L * 8 * 3 + L * 4 * 2 + DHQK * L * 4 + L * L * 4 + 64 * 5 + tg + 63) / 64) * 64;
}

// @ts-ignore: decorator
@inline function align64(x: usize): usize { return (x + 63) & ~(<usize>63); }

/**
 * Chunkwise mLSTM (TFLA native) over steps t0..t1-1 in chunks of L ((t1-t0) % L == 0),
 * same layouts as mlstmRecurrentF32; state (c, n, m) in place. vecN/vecM [BH,S] are
 * written when non-zero. With one chunk (L = S), zero C/n and m = -inf it is the
 * parallel form. scratch: nt blocks of scratchStride bytes (mlstmChunkwiseScratchBytes).
 */
export function mlstmChunkwiseF32(
  q: usize, k: usize, v: usize, ig: usize, fg: usize, h: usize, c: usize, n: usize, m: usize,
  vecN: usize, vecM: usize, BH: i32, S: i32, t0: i32, t1: i32, DHQK: i32, DHV: i32, L: i32,
  scale: f32, eps: f32, mode: i32, scratch: usize, scratchStride: i32, tid: i32, nt: i32,
): void {
  const hs = rangeStart(BH, tid, nt, 1);
  const he = rangeEnd(BH, tid, nt, 1);
  const sig = (mode & MODE_SIG) != 0;
  const norm = (mode & MODE_NONORM) == 0;
  const base = align64(scratch + <usize>tid * <usize>scratchStride);
  const bcum = base;                                   // f64 [L]
  const aw = align64(bcum + (<usize>L << 3));          // f64 [L]
  const mrow = align64(aw + (<usize>L << 3));          // f64 [L]
  const rowScale = align64(mrow + (<usize>L << 3));    // f32 [L]
  const den = align64(rowScale + (<usize>L << 2));     // f32 [L]
  const kt = align64(den + (<usize>L << 2));           // f32 [DHQK, L]
  const p = align64(kt + (<usize>(DHQK * L) << 2));    // f32 [L, L]
  const tg = align64(p + (<usize>(L * L) << 2));       // tileGemm's scratch
  const rowBytes = <usize>DHV << 2;
  for (let bh = hs; bh < he; bh++) {
    const cb = c + (<usize>bh * <usize>DHQK * <usize>DHV << 2);
    const nb = n + (<usize>(bh * DHQK) << 2);
    for (let c0 = t0; c0 < t1; c0 += L) {
      const g0 = bh * S + c0;
      const qc = q + (<usize>(g0 * DHQK) << 2);
      const kc = k + (<usize>(g0 * DHQK) << 2);
      const vc = v + <usize>g0 * rowBytes;
      const hc = h + <usize>g0 * rowBytes;
      // gates: in-chunk inclusive cumsum of log forget gates, input-gate weights a_j
      let run: f64 = 0;
      let amax: f64 = -Infinity;
      for (let j = 0; j < L; j++) {
        run += logSigmoid(<f64>load<f32>(fg + (<usize>(g0 + j) << 2)));
        store<f64>(bcum + (<usize>j << 3), run);
      }
      const gsum = run;
      for (let j = 0; j < L; j++) {
        let li = <f64>load<f32>(ig + (<usize>(g0 + j) << 2));
        if (sig) li = logSigmoid(li);
        const a = gsum - load<f64>(bcum + (<usize>j << 3)) + li;
        store<f64>(aw + (<usize>j << 3), a);
        if (a > amax) amax = a;
      }
      const mPrev: f64 = sig ? 0 : <f64>load<f32>(m + (<usize>bh << 2));
      // Kt = K_chunk^T, P = Q K^T: only its lower triangle is read (the loop below zeroes the
      // rest), so the tiles wholly above the diagonal are skipped (~40 % of this product)
      for (let j = 0; j < L; j++) {
        const kr = kc + (<usize>(j * DHQK) << 2);
        for (let dk = 0; dk < DHQK; dk++) store<f32>(kt + (<usize>(dk * L + j) << 2), load<f32>(kr + (<usize>dk << 2)));
      }
      tileGemm(qc, DHQK, kt, L, p, L, L, L, DHQK, 0, TRI_C_LOWER, tg);
      // stabilised decay matrix, row maxima, denominators
      for (let j = 0; j < L; j++) {
        const bj = load<f64>(bcum + (<usize>j << 3));
        const pr = p + (<usize>(j * L) << 2);
        const mInter = bj + mPrev;
        let mj: f64 = 0;
        if (!sig) {
          let mIntra: f64 = -Infinity;
          for (let l = 0; l <= j; l++) {
            const ld = bj - load<f64>(bcum + (<usize>l << 3)) + <f64>load<f32>(ig + (<usize>(g0 + l) << 2));
            if (ld > mIntra) mIntra = ld;
          }
          mj = Math.max(mInter, mIntra);
        }
        store<f64>(mrow + (<usize>j << 3), mj);
        let rs: f32 = 0;
        for (let l = 0; l <= j; l++) {
          let li = <f64>load<f32>(ig + (<usize>(g0 + l) << 2));
          if (sig) li = logSigmoid(li);
          const w = Mathf.exp(<f32>(bj - load<f64>(bcum + (<usize>l << 3)) + li - mj)) * scale;
          const pv = load<f32>(pr + (<usize>l << 2)) * w;
          store<f32>(pr + (<usize>l << 2), pv);
          rs += pv;
        }
        for (let l = j + 1; l < L; l++) store<f32>(pr + (<usize>l << 2), 0);
        const qsc = <f32>(<f64>scale * Math.exp(mInter - mj));
        store<f32>(rowScale + (<usize>j << 2), qsc);
        const dn = qsc * dot(qc + (<usize>(j * DHQK) << 2), nb, DHQK) + rs;
        const lower: f64 = sig ? 1.0 : Math.exp(-mj);
        const nrm = Math.max(Math.abs(<f64>dn), lower);
        store<f32>(den + (<usize>j << 2), <f32>nrm);
        if (vecN != 0) store<f32>(vecN + (<usize>(g0 + j) << 2), <f32>nrm);
        if (vecM != 0) store<f32>(vecM + (<usize>(g0 + j) << 2), <f32>mj);
      }
      // h = (rowScale * Q C + P V) / (den + eps)
      const zeroState = (mode & MODE_ZERO_STATE) != 0 && c0 == t0;
      if (!zeroState) {
        tileGemm(qc, DHQK, cb, DHV, hc, DHV, L, DHV, DHQK, 0, 0, tg);
        for (let j = 0; j < L; j++) scaleInPlace(hc + <usize>j * rowBytes, DHV, load<f32>(rowScale + (<usize>j << 2)));
      }
      tileGemm(p, L, vc, DHV, hc, DHV, L, DHV, L, zeroState ? 0 : 1, TRI_A_LOWER, tg);
      if (norm) {
        for (let j = 0; j < L; j++) {
          scaleInPlace(hc + <usize>j * rowBytes, DHV, <f32>(1.0 / (<f64>load<f32>(den + (<usize>j << 2)) + <f64>eps)));
        }
      }
      if ((mode & MODE_NO_STATE_OUT) != 0 && c0 + L >= t1) continue;
      // state after the chunk: C = decay C + (w .* K)^T V, n likewise
      const mk: f64 = sig ? 0 : Math.max(gsum + mPrev, amax);
      const decay = <f32>Math.exp(gsum + mPrev - mk);
      for (let j = 0; j < L; j++) {
        const w = <f32>Math.exp(load<f64>(aw + (<usize>j << 3)) - mk);
        for (let dk = 0; dk < DHQK; dk++) {
          const pp = kt + (<usize>(dk * L + j) << 2);
          store<f32>(pp, load<f32>(pp) * w);
        }
      }
      for (let dk = 0; dk < DHQK; dk++) {
        const kr = kt + (<usize>(dk * L) << 2);
        let s: f32 = 0;
        for (let j = 0; j < L; j++) s += load<f32>(kr + (<usize>j << 2));
        const np = nb + (<usize>dk << 2);
        store<f32>(np, decay * load<f32>(np) + s);
      }
      tileGemm(kt, L, vc, DHV, cb, DHV, DHQK, DHV, L, decay, 0, tg);
      if (!sig) store<f32>(m + (<usize>bh << 2), <f32>mk);
    }
  }
}
