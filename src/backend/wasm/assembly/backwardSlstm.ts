// sLSTM backward through time (vanilla recurrence, plain f32), the float32 form of
// src/backend/ref/slstmBackward.ts. Heads are independent (block-diagonal R), so a thread
// takes whole (batch, head) pairs and walks t = S-1 .. 0 for each: it recomputes the gate
// pre-activations raw = Wx + R y_{t-1} + b from the forward's saved states, forms the gate
// gradients dRaw, and carries dy, dc, dn back one step (dy_{t-1} = R dRaw). The weight
// gradient dR[h] = sum_{b,t} y_{t-1} dRaw^T is left to one batched GEMM afterwards: the
// kernel writes y_{t-1} and dRaw head-major ([NH, S*B, DH] / [NH, S*B, 4DH], row t*B + b)
// for it, which streams R only twice per step instead of also streaming dR.
import { fmadd, hsum, rangeStart, rangeEnd } from './simd';
import { bwAt, bwAxpy, bwDot } from './backwardUtil';
import { gateSplat as bwSplat, gateExpV as bwExpV, gateLogSigmoidV as bwLogSigmoidV, gateTanhV as bwTanhV, gateSigmoidV as bwSigmoidV } from './gateMath';

const CLAMP_F: i32 = 8; // same bit as slstmSequence: f~ = min(f~, fclamp) before logsigmoid

// @ts-ignore: decorator
@inline function logSigmoidF(x: f32): f32 {
  return min<f32>(x, 0) - Mathf.log1p(Mathf.exp(-Mathf.abs(x)));
}

// @ts-ignore: decorator
@inline function sigmoidF(x: f32): f32 {
  return <f32>1 / (<f32>1 + Mathf.exp(-x));
}

/**
 * x      [B, S, 4H] Wx without bias (index g*H + h*DH + d; gates i, f, z, o)
 * r      [NH, DH, 4DH] recurrent kernel (R_ext: [NH, DH_in, 4, DH_out])
 * bias   [NH, 4, DH]
 * all    [4, S+1, B, H] every forward state (y, c, n, m), [:, 0] = initial
 * dy     [B, S, H] gradient of the outputs
 * dx     out [B, S, 4H] gradient of Wx (= of the gate pre-activations)
 * dRawH  out [NH, S*B, 4DH] the same, head-major (row t*B + b)
 * ypH    out [NH, S*B, DH] y_{t-1}, head-major
 * dState0 out [4, B, H] gradient of the initial (y, c, n, m)
 * scratch nt * 12*DH f32
 */
export function slstmBackwardF32(
  x: usize, r: usize, bias: usize, all: usize, dy: usize,
  dx: usize, dRawH: usize, ypH: usize, dState0: usize, scratch: usize,
  B: i32, S: i32, NH: i32, DH: i32, flags: i32, fclamp: f32,
  tid: i32, nt: i32,
): void {
  const H = NH * DH, G = 4 * DH;
  const P = B * NH;
  const p0 = rangeStart(P, tid, nt, 1);
  const p1 = rangeEnd(P, tid, nt, 1);
  const clampF = (flags & CLAMP_F) != 0;
  const raw = scratch + (<usize>(tid * 12 * DH) << 2); // [4DH]
  const dRaw = raw + (<usize>G << 2);                 // [4DH]
  const dY = dRaw + (<usize>G << 2);                  // [DH]
  const dC = dY + (<usize>DH << 2);                   // [DH]
  const dN = dC + (<usize>DH << 2);                   // [DH]
  const BH = <usize>(B * H) << 2;                     // bytes of one state component at one step
  const stepBytes = BH;
  const compBytes = <usize>(S + 1) * BH;              // bytes of one component over all steps
  for (let p = p0; p < p1; p++) {
    const b = p / NH;
    const h = p - b * NH;
    const rh = r + (<usize>(h * DH * G) << 2);
    const unit0 = <usize>(b * H + h * DH) << 2;
    for (let d = 0; d < DH; d++) { store<f32>(bwAt(dY, d), 0); store<f32>(bwAt(dC, d), 0); store<f32>(bwAt(dN, d), 0); }
    for (let t = S - 1; t >= 0; t--) {
      const yPrev = all + <usize>t * stepBytes + unit0;
      const xr = x + (<usize>((b * S + t) * 4 * H + h * DH) << 2);
      for (let g = 0; g < 4; g++) {
        const xs = xr + (<usize>(g * H) << 2), bs = bias + (<usize>((h * 4 + g) * DH) << 2), rs = raw + (<usize>(g * DH) << 2);
        let d = 0;
        for (; d + 4 <= DH; d += 4) v128.store(bwAt(rs, d), f32x4.add(v128.load(bwAt(xs, d)), v128.load(bwAt(bs, d))));
        for (; d < DH; d++) store<f32>(bwAt(rs, d), load<f32>(bwAt(xs, d)) + load<f32>(bwAt(bs, d)));
      }
      if ((G & 15) == 0) {
        // 16 columns at a time in registers, one pass over R's rows
        for (let c = 0; c < G; c += 16) {
          let a0 = v128.load(bwAt(raw, c)), a1 = v128.load(bwAt(raw, c + 4)), a2 = v128.load(bwAt(raw, c + 8)), a3 = v128.load(bwAt(raw, c + 12));
          let rp = rh + (<usize>c << 2);
          for (let i = 0; i < DH; i++) {
            const yv = v128.load32_splat(bwAt(yPrev, i));
            a0 = fmadd(yv, v128.load(rp), a0); a1 = fmadd(yv, v128.load(rp, 16), a1);
            a2 = fmadd(yv, v128.load(rp, 32), a2); a3 = fmadd(yv, v128.load(rp, 48), a3);
            rp += <usize>G << 2;
          }
          v128.store(bwAt(raw, c), a0); v128.store(bwAt(raw, c + 4), a1); v128.store(bwAt(raw, c + 8), a2); v128.store(bwAt(raw, c + 12), a3);
        }
      } else for (let i = 0; i < DH; i++) bwAxpy(raw, rh + (<usize>(i * G) << 2), load<f32>(bwAt(yPrev, i)), G);
      const c0p = all + compBytes + <usize>t * stepBytes + unit0;
      const n0p = c0p + compBytes, m0p = n0p + compBytes;
      const c1p = c0p + stepBytes, n1p = n0p + stepBytes, m1p = m0p + stepBytes;
      const dyp = dy + (<usize>((b * S + t) * H + h * DH) << 2);
      let d0 = 0;
      // 4 units at a time (the forward's f32x4 transcendentals); the scalar loop takes the rest
      const one = bwSplat(1), vclamp = bwSplat(fclamp);
      for (; d0 + 4 <= DH; d0 += 4) {
        const iR = v128.load(bwAt(raw, d0)), fR0 = v128.load(bwAt(raw, DH + d0));
        const zR = v128.load(bwAt(raw, 2 * DH + d0)), oR = v128.load(bwAt(raw, 3 * DH + d0));
        const fR = clampF ? f32x4.pmin(fR0, vclamp) : fR0;
        const c0 = v128.load(bwAt(c0p, d0)), n0 = v128.load(bwAt(n0p, d0)), m0 = v128.load(bwAt(m0p, d0));
        const c1 = v128.load(bwAt(c1p, d0)), n1 = v128.load(bwAt(n1p, d0)), m1 = v128.load(bwAt(m1p, d0));
        const ig = bwExpV(f32x4.sub(iR, m1));
        const fg = bwExpV(f32x4.sub(f32x4.add(m0, bwLogSigmoidV(fR)), m1));
        const zg = bwTanhV(zR), og = bwSigmoidV(oR);
        const dy1 = f32x4.add(v128.load(bwAt(dyp, d0)), v128.load(bwAt(dY, d0)));
        const inv = f32x4.div(one, n1);
        const dog = f32x4.mul(f32x4.mul(dy1, c1), inv);
        const dyo = f32x4.mul(f32x4.mul(dy1, og), inv);
        const dc = f32x4.add(v128.load(bwAt(dC, d0)), dyo);
        const dn = f32x4.sub(v128.load(bwAt(dN, d0)), f32x4.mul(f32x4.mul(dyo, c1), inv));
        const dfg = f32x4.add(f32x4.mul(dc, c0), f32x4.mul(dn, n0));
        const dig = f32x4.add(f32x4.mul(dc, zg), dn), dzg = f32x4.mul(dc, ig);
        v128.store(bwAt(dC, d0), f32x4.mul(dc, fg));
        v128.store(bwAt(dN, d0), f32x4.mul(dn, fg));
        const dff = f32x4.mul(dfg, fg);
        if (t == 0) v128.store(dState0 + 3 * BH + unit0 + (<usize>d0 << 2), dff);
        v128.store(bwAt(dRaw, d0), f32x4.mul(dig, ig));
        let dfr = f32x4.mul(dff, bwSigmoidV(f32x4.neg(fR)));
        if (clampF) dfr = v128.bitselect(bwSplat(0), dfr, f32x4.gt(fR0, vclamp));
        v128.store(bwAt(dRaw, DH + d0), dfr);
        v128.store(bwAt(dRaw, 2 * DH + d0), f32x4.mul(dzg, f32x4.sub(one, f32x4.mul(zg, zg))));
        v128.store(bwAt(dRaw, 3 * DH + d0), f32x4.mul(f32x4.mul(dog, og), f32x4.sub(one, og)));
      }
      for (let d = d0; d < DH; d++) {
        const iR = load<f32>(bwAt(raw, d)), fR0 = load<f32>(bwAt(raw, DH + d));
        const zR = load<f32>(bwAt(raw, 2 * DH + d)), oR = load<f32>(bwAt(raw, 3 * DH + d));
        const fR = clampF ? min<f32>(fR0, fclamp) : fR0;
        const c0 = load<f32>(bwAt(c0p, d)), n0 = load<f32>(bwAt(n0p, d)), m0 = load<f32>(bwAt(m0p, d));
        const c1 = load<f32>(bwAt(c1p, d)), n1 = load<f32>(bwAt(n1p, d)), m1 = load<f32>(bwAt(m1p, d));
        const ig = Mathf.exp(iR - m1), fg = Mathf.exp(m0 + logSigmoidF(fR) - m1);
        const zg = Mathf.tanh(zR), og = sigmoidF(oR);
        const dy1 = load<f32>(bwAt(dyp, d)) + load<f32>(bwAt(dY, d));
        const inv = <f32>1 / n1;
        const dog = dy1 * c1 * inv;
        const dc = load<f32>(bwAt(dC, d)) + dy1 * og * inv;
        const dn = load<f32>(bwAt(dN, d)) - dy1 * og * c1 * inv * inv;
        const dfg = dc * c0 + dn * n0, dig = dc * zg + dn, dzg = dc * ig;
        store<f32>(bwAt(dC, d), dc * fg);
        store<f32>(bwAt(dN, d), dn * fg);
        if (t == 0) store<f32>(dState0 + 3 * BH + unit0 + (<usize>d << 2), dfg * fg);
        store<f32>(bwAt(dRaw, d), dig * ig);
        store<f32>(bwAt(dRaw, DH + d), clampF && fR0 > fclamp ? <f32>0 : dfg * fg * sigmoidF(-fR));
        store<f32>(bwAt(dRaw, 2 * DH + d), dzg * (<f32>1 - zg * zg));
        store<f32>(bwAt(dRaw, 3 * DH + d), dog * og * (<f32>1 - og));
      }
      const row = t * B + b;
      const dxr = dx + (<usize>((b * S + t) * 4 * H + h * DH) << 2);
      const dhr = dRawH + (<usize>((h * S * B + row) * G) << 2);
      for (let g = 0; g < 4; g++) memory.copy(dxr + (<usize>(g * H) << 2), dRaw + (<usize>(g * DH) << 2), <usize>DH << 2);
      memory.copy(dhr, dRaw, <usize>G << 2);
      memory.copy(ypH + (<usize>((h * S * B + row) * DH) << 2), yPrev, <usize>DH << 2);
      // dy_{t-1}[i] = sum_j R[i, j] dRaw[j]
      let i0 = 0;
      if ((G & 3) == 0) {
        // 4 rows of R per pass: each dRaw load feeds 4 dot products
        for (; i0 + 4 <= DH; i0 += 4) {
          const r0 = rh + (<usize>(i0 * G) << 2), r1 = r0 + (<usize>G << 2), r2 = r1 + (<usize>G << 2), r3 = r2 + (<usize>G << 2);
          let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
          for (let j = 0; j < G; j += 4) {
            const dv = v128.load(bwAt(dRaw, j));
            s0 = fmadd(v128.load(bwAt(r0, j)), dv, s0); s1 = fmadd(v128.load(bwAt(r1, j)), dv, s1);
            s2 = fmadd(v128.load(bwAt(r2, j)), dv, s2); s3 = fmadd(v128.load(bwAt(r3, j)), dv, s3);
          }
          store<f32>(bwAt(dY, i0), hsum(s0)); store<f32>(bwAt(dY, i0 + 1), hsum(s1));
          store<f32>(bwAt(dY, i0 + 2), hsum(s2)); store<f32>(bwAt(dY, i0 + 3), hsum(s3));
        }
      }
      for (let i = i0; i < DH; i++) store<f32>(bwAt(dY, i), bwDot(rh + (<usize>(i * G) << 2), dRaw, G));
    }
    memory.copy(dState0 + unit0, dY, <usize>DH << 2);
    memory.copy(dState0 + BH + unit0, dC, <usize>DH << 2);
    memory.copy(dState0 + 2 * BH + unit0, dN, <usize>DH << 2);
  }
}

/** out[bt, c] (+)= sum_r x[bt, r, c] for `batches` blocks of [rows, cols] (thread split over columns). */
export function colSumF32(out: usize, x: usize, batches: i32, rows: i32, cols: i32, accumulate: i32, tid: i32, nt: i32): void {
  const c0 = rangeStart(cols, tid, nt, 4);
  const c1 = rangeEnd(cols, tid, nt, 4);
  if (c0 >= c1) return;
  for (let bt = 0; bt < batches; bt++) {
    const o = out + (<usize>(bt * cols) << 2);
    if (accumulate == 0) for (let c = c0; c < c1; c++) store<f32>(bwAt(o, c), 0);
    for (let rr = 0; rr < rows; rr++) {
      const xr = x + (<usize>((bt * rows + rr) * cols) << 2);
      let c = c0;
      for (; c + 4 <= c1; c += 4) v128.store(bwAt(o, c), f32x4.add(v128.load(bwAt(o, c)), v128.load(bwAt(xr, c))));
      for (; c < c1; c++) store<f32>(bwAt(o, c), load<f32>(bwAt(o, c)) + load<f32>(bwAt(xr, c)));
    }
  }
}
