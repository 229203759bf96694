// sLSTM sequence kernel. Heads of an sLSTM are independent (block-diagonal R), so a
// thread takes whole (batch, head) pairs and runs all S steps for them in one call:
// one dispatch per sequence instead of one per step (a TiRex step is only ~NH*DH*4DH FMAs).
// Threads claim the pairs one at a time from a shared counter, so a thread slowed by another
// process on its core (or still waking up) runs fewer of them.
import { fmadd } from './simd';
import {
  gateSplat as splat, gateExpV as expV, gateLogSigmoidV as logSigmoidV, gateTanhV as tanhV, gateSigmoidV as sigmoidV,
} from './gateMath';

/** Flags of slstmSequence. */
const FIRST_STEP_ALL: i32 = 1; // step 0 uses m = i~ everywhere (the caller found the whole n tensor == 0)
const PER_ELEMENT: i32 = 2;    // m = i~ for each unit whose own n_{t-1} == 0 (CUDA-kernel rule), every step
const BF16: i32 = 4;           // TiRex torch path rounding points (see src/backend/ref/slstm.ts)
const CLAMP_F: i32 = 8;        // f~ = min(f~, fclamp) before logsigmoid
const R_BF16: i32 = 16;        // r holds bf16 bits (half the bytes to stream per step), see below

// @ts-ignore: decorator
@inline function rbf(x: f32): f32 {
  // round to nearest even bf16, NaN kept
  const b = reinterpret<u32>(x);
  if ((b & 0x7fffffff) > 0x7f800000) return x;
  return reinterpret<f32>((b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000);
}

// @ts-ignore: decorator
@inline function logSigmoid(x: f32): f32 {
  return min<f32>(x, 0) - Mathf.log1p(Mathf.exp(-Mathf.abs(x)));
}

/** round to nearest even bf16 on 4 lanes, NaN kept */
// @ts-ignore: decorator
@inline function rbfV(x: v128): v128 {
  const lsb = v128.and(i32x4.shr_u(x, 16), i32x4.splat(1));
  const r = v128.and(i32x4.add(i32x4.add(x, i32x4.splat(0x7fff)), lsb), i32x4.splat(0xffff0000));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/**
 * x     [B, S, 4H] f32, Wx pre-activations without bias, index g*H + h*DH + d (gates i, f, z, o)
 * r     [NH, Gp/32, DH, 32] f32 packed recurrent kernel (see src/xlstm/slstm/params.ts); bf16-rounded values in BF16 mode.
 *       With R_BF16: the same as u16 bf16 bits, each group of 8 columns stored as (0,4,1,5,2,6,3,7), so that
 *       `x << 16` gives columns 0-3 and `x & 0xffff0000` columns 4-7 of a 16-byte load as f32 (one op each).
 * bias  [NH, 4, DH] f32
 * state [4, B, H] f32 (y, c, n, m), updated in place
 * y     output: [B, NH, S, DH] when yLayout == 0, [B, S, H] when yLayout == 1
 * all   0 or [4, S+1, B, H]: every state, [:, 0] = initial (after bf16 rounding in BF16 mode)
 * scratch  nt * Gp f32 (per-thread accumulators)
 * ctl   an i32 the caller zeroed: the next (batch, head) pair to claim
 */
export function slstmSequence(
  x: usize, r: usize, bias: usize, state: usize, y: usize, all: usize, scratch: usize,
  B: i32, S: i32, NH: i32, DH: i32, Gp: i32, flags: i32, fclamp: f32, yLayout: i32, ctl: usize,
  tid: i32, nt: i32,
): void {
  const H = NH * DH;
  const P = B * NH;
  const acc = scratch + (<usize>(tid * Gp) << 2);
  const bf = (flags & BF16) != 0;
  const perElement = (flags & PER_ELEMENT) != 0;
  const clampF = (flags & CLAMP_F) != 0;
  const rBf16 = (flags & R_BF16) != 0;
  const nc = Gp >> 5;
  const BH = <usize>(B * H) << 2; // bytes of one state component
  for (;;) {
    const p = atomic.add<i32>(ctl, 1);
    if (p >= P) break;
    const b = p / NH;
    const h = p - b * NH;
    const sOff = <usize>(b * H + h * DH) << 2;
    const sy = state + sOff, sc = sy + BH, sn = sc + BH, sm = sn + BH;
    if (bf) {
      for (let d = 0; d < DH; d++) {
        const o = <usize>d << 2;
        store<f32>(sy + o, rbf(load<f32>(sy + o)));
        store<f32>(sc + o, rbf(load<f32>(sc + o)));
        store<f32>(sn + o, rbf(load<f32>(sn + o)));
        store<f32>(sm + o, rbf(load<f32>(sm + o)));
      }
    }
    if (all != 0) {
      for (let k = 0; k < 4; k++) {
        memory.copy(all + (<usize>(k * (S + 1) * B * H) << 2) + sOff, state + <usize>k * BH + sOff, <usize>DH << 2);
      }
    }
    const rh = r + (<usize>(h * nc * DH) << (rBf16 ? 6 : 7)); // 32 columns = 128 (f32) or 64 (bf16) bytes per (chunk, d_in)
    const bh = bias + (<usize>(h * 4 * DH) << 2);
    for (let t = 0; t < S; t++) {
      // acc[col] = sum_i y[i] R[h, i, col]: 8 independent f32x4 chains per 32-column chunk
      if (rBf16) {
        for (let c = 0; c < nc; c++) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
          let rp = rh + (<usize>(c * DH) << 6);
          const hiMask = i32x4.splat(0xffff0000);
          for (let i = 0; i < DH; i++) {
            const yv = f32x4.splat(load<f32>(sy + (<usize>i << 2)));
            const w0 = v128.load(rp), w1 = v128.load(rp, 16), w2 = v128.load(rp, 32), w3 = v128.load(rp, 48);
            a0 = fmadd(yv, i32x4.shl(w0, 16), a0);
            a1 = fmadd(yv, v128.and(w0, hiMask), a1);
            a2 = fmadd(yv, i32x4.shl(w1, 16), a2);
            a3 = fmadd(yv, v128.and(w1, hiMask), a3);
            a4 = fmadd(yv, i32x4.shl(w2, 16), a4);
            a5 = fmadd(yv, v128.and(w2, hiMask), a5);
            a6 = fmadd(yv, i32x4.shl(w3, 16), a6);
            a7 = fmadd(yv, v128.and(w3, hiMask), a7);
            rp += 64;
          }
          const ap = acc + (<usize>c << 7);
          v128.store(ap, a0); v128.store(ap, a1, 16); v128.store(ap, a2, 32); v128.store(ap, a3, 48);
          v128.store(ap, a4, 64); v128.store(ap, a5, 80); v128.store(ap, a6, 96); v128.store(ap, a7, 112);
        }
      }
      const ncF32 = rBf16 ? 0 : nc;
      for (let c = 0; c < ncF32; c++) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
        let rp = rh + (<usize>(c * DH) << 7);
        for (let i = 0; i < DH; i++) {
          const yv = f32x4.splat(load<f32>(sy + (<usize>i << 2)));
          a0 = fmadd(yv, v128.load(rp), a0);
          a1 = fmadd(yv, v128.load(rp, 16), a1);
          a2 = fmadd(yv, v128.load(rp, 32), a2);
          a3 = fmadd(yv, v128.load(rp, 48), a3);
          a4 = fmadd(yv, v128.load(rp, 64), a4);
          a5 = fmadd(yv, v128.load(rp, 80), a5);
          a6 = fmadd(yv, v128.load(rp, 96), a6);
          a7 = fmadd(yv, v128.load(rp, 112), a7);
          rp += 128;
        }
        const ap = acc + (<usize>c << 7);
        v128.store(ap, a0); v128.store(ap, a1, 16); v128.store(ap, a2, 32); v128.store(ap, a3, 48);
        v128.store(ap, a4, 64); v128.store(ap, a5, 80); v128.store(ap, a6, 96); v128.store(ap, a7, 112);
      }
      const firstAll = t == 0 && (flags & FIRST_STEP_ALL) != 0;
      const xt = x + (<usize>((b * S + t) * 4 * H + h * DH) << 2);
      const H4 = <usize>H << 2, DH4 = <usize>DH << 2;
      let d = 0;
      for (; d + 4 <= DH; d += 4) {
        const o = <usize>d << 2;
        let xi = v128.load(xt + o), xf = v128.load(xt + o + H4), xz = v128.load(xt + o + 2 * H4), xo = v128.load(xt + o + 3 * H4);
        let ri = v128.load(acc + o), rf = v128.load(acc + o + DH4), rz = v128.load(acc + o + 2 * DH4), ro = v128.load(acc + o + 3 * DH4);
        if (bf) {
          xi = rbfV(xi); xf = rbfV(xf); xz = rbfV(xz); xo = rbfV(xo);
          ri = rbfV(ri); rf = rbfV(rf); rz = rbfV(rz); ro = rbfV(ro);
        }
        const iRaw = f32x4.add(f32x4.add(xi, ri), v128.load(bh + o));
        let fRaw = f32x4.add(f32x4.add(xf, rf), v128.load(bh + o + DH4));
        const zRaw = f32x4.add(f32x4.add(xz, rz), v128.load(bh + o + 2 * DH4));
        const oRaw = f32x4.add(f32x4.add(xo, ro), v128.load(bh + o + 3 * DH4));
        if (clampF) fRaw = f32x4.pmin(fRaw, splat(fclamp)); // NaN stays (pmin keeps its first operand)
        const c0 = v128.load(sc + o), n0 = v128.load(sn + o), m0 = v128.load(sm + o);
        const logfPlusM = f32x4.add(m0, logSigmoidV(fRaw));
        // m1 is i~ or max(i~, logfPlusM), so one exp serves both gates: with e = exp(-|i~ - logfPlusM|),
        // i' = 1 where m1 = i~ (first step or i~ >= logfPlusM) else e, and f' = e where i~ >= logfPlusM else 1
        // (where i~ < logfPlusM on a first step, f' = min(exp(logfPlusM - i~), 1) = 1 too).
        const dIF = f32x4.sub(iRaw, logfPlusM);
        const iWins = f32x4.ge(dIF, splat(0)); // false for NaN: then i' = NaN as in the scalar formula
        const e = expV(f32x4.neg(f32x4.abs(dIF)));
        let first = i32x4.splat(0);
        if (firstAll) first = i32x4.splat(-1);
        else if (perElement) first = f32x4.eq(n0, splat(0));
        const m1 = v128.bitselect(iRaw, logfPlusM, v128.or(iWins, first));
        const ig = v128.bitselect(splat(1.0), e, v128.or(iWins, first));
        const fg = v128.bitselect(e, splat(1.0), iWins);
        const og = sigmoidV(oRaw);
        const zg = tanhV(zRaw);
        let c1 = f32x4.add(f32x4.mul(fg, c0), f32x4.mul(ig, zg));
        let n1 = f32x4.add(f32x4.mul(fg, n0), ig);
        let y1 = f32x4.div(f32x4.mul(og, c1), n1);
        let mm = m1;
        if (bf) { c1 = rbfV(c1); n1 = rbfV(n1); y1 = rbfV(y1); mm = rbfV(mm); }
        v128.store(sy + o, y1); v128.store(sc + o, c1); v128.store(sn + o, n1); v128.store(sm + o, mm);
        if (yLayout == 0) v128.store(y + (<usize>((p * S + t) * DH + d) << 2), y1);
        else v128.store(y + (<usize>((b * S + t) * H + h * DH + d) << 2), y1);
      }
      for (; d < DH; d++) {
        const o = <usize>d << 2;
        let xi = load<f32>(xt + o);
        let xf = load<f32>(xt + o + (<usize>H << 2));
        let xz = load<f32>(xt + o + (<usize>(2 * H) << 2));
        let xo = load<f32>(xt + o + (<usize>(3 * H) << 2));
        let ri = load<f32>(acc + o);
        let rf = load<f32>(acc + o + (<usize>DH << 2));
        let rz = load<f32>(acc + o + (<usize>(2 * DH) << 2));
        let ro = load<f32>(acc + o + (<usize>(3 * DH) << 2));
        if (bf) {
          xi = rbf(xi); xf = rbf(xf); xz = rbf(xz); xo = rbf(xo);
          ri = rbf(ri); rf = rbf(rf); rz = rbf(rz); ro = rbf(ro);
        }
        const iRaw = (xi + ri) + load<f32>(bh + o);
        let fRaw = (xf + rf) + load<f32>(bh + o + (<usize>DH << 2));
        const zRaw = (xz + rz) + load<f32>(bh + o + (<usize>(2 * DH) << 2));
        const oRaw = (xo + ro) + load<f32>(bh + o + (<usize>(3 * DH) << 2));
        if (clampF) fRaw = min<f32>(fRaw, fclamp);
        const c0 = load<f32>(sc + o), n0 = load<f32>(sn + o), m0 = load<f32>(sm + o);
        const logfPlusM = m0 + logSigmoid(fRaw);
        const first = firstAll || (perElement && n0 == 0);
        const m1 = first ? iRaw : max<f32>(iRaw, logfPlusM);
        const ig = min<f32>(Mathf.exp(iRaw - m1), 1);
        const fg = min<f32>(Mathf.exp(logfPlusM - m1), 1);
        const og: f32 = 1 / (1 + Mathf.exp(-oRaw));
        const zg = Mathf.tanh(zRaw);
        let c1 = fg * c0 + ig * zg;
        let n1 = fg * n0 + ig;
        let y1 = (og * c1) / n1;
        let mm = m1;
        if (bf) { c1 = rbf(c1); n1 = rbf(n1); y1 = rbf(y1); mm = rbf(mm); }
        // y feeds this step's matvec for the other units only through acc, so it can be overwritten now
        store<f32>(sy + o, y1); store<f32>(sc + o, c1); store<f32>(sn + o, n1); store<f32>(sm + o, mm);
        const yo = yLayout == 0 ? (<usize>((p * S + t) * DH + d) << 2) : (<usize>((b * S + t) * H + h * DH + d) << 2);
        store<f32>(y + yo, y1);
      }
      if (all != 0) {
        for (let k = 0; k < 4; k++) {
          memory.copy(all + (<usize>((k * (S + 1) + t + 1) * B * H) << 2) + sOff, state + <usize>k * BH + sOff, <usize>DH << 2);
        }
      }
    }
  }
}
