// sLSTM sequence kernel. Heads of an sLSTM are independent (block-diagonal R), so a
// thread takes whole (batch, head) pairs and runs all S steps for them in one call:
// one dispatch per sequence instead of one per step (a TiRex step is only ~NH*DH*4DH FMAs).
import { fmadd, rangeStart, rangeEnd } from './simd';

/** Flags of slstmSequence. */
const FIRST_STEP_ALL: i32 = 1; // step 0 uses m = i~ everywhere (the caller found the whole n tensor == 0)
const PER_ELEMENT: i32 = 2;    // m = i~ for each unit whose own n_{t-1} == 0 (CUDA-kernel rule), every step
const BF16: i32 = 4;           // TiRex torch path rounding points (see src/backend/ref/slstm.ts)
const CLAMP_F: i32 = 8;        // f~ = min(f~, fclamp) before logsigmoid

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

/**
 * x     [B, S, 4H] f32, Wx pre-activations without bias, index g*H + h*DH + d (gates i, f, z, o)
 * r     [NH, Gp/32, DH, 32] f32 packed recurrent kernel (see src/xlstm/slstm/params.ts); bf16-rounded values in BF16 mode
 * bias  [NH, 4, DH] f32
 * state [4, B, H] f32 (y, c, n, m), updated in place
 * y     output: [B, NH, S, DH] when yLayout == 0, [B, S, H] when yLayout == 1
 * all   0 or [4, S+1, B, H]: every state, [:, 0] = initial (after bf16 rounding in BF16 mode)
 * scratch  nt * Gp f32 (per-thread accumulators)
 */
export function slstmSequence(
  x: usize, r: usize, bias: usize, state: usize, y: usize, all: usize, scratch: usize,
  B: i32, S: i32, NH: i32, DH: i32, Gp: i32, flags: i32, fclamp: f32, yLayout: i32,
  tid: i32, nt: i32,
): void {
  const H = NH * DH;
  const P = B * NH;
  const p0 = rangeStart(P, tid, nt, 1);
  const p1 = rangeEnd(P, tid, nt, 1);
  const acc = scratch + (<usize>(tid * Gp) << 2);
  const bf = (flags & BF16) != 0;
  const perElement = (flags & PER_ELEMENT) != 0;
  const clampF = (flags & CLAMP_F) != 0;
  const nc = Gp >> 5;
  const BH = <usize>(B * H) << 2; // bytes of one state component
  for (let p = p0; p < p1; p++) {
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
    const rh = r + (<usize>(h * nc * DH) << 7); // 32 floats = 128 bytes per (chunk, d_in)
    const bh = bias + (<usize>(h * 4 * DH) << 2);
    for (let t = 0; t < S; t++) {
      // acc[col] = sum_i y[i] R[h, i, col]: 8 independent f32x4 chains per 32-column chunk
      for (let c = 0; c < nc; c++) {
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
      for (let d = 0; d < DH; d++) {
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
