// FlashRNN cells (LSTM, GRU, Elman, FlashRNN's sLSTM) with head-wise recurrence: the float32
// form of src/backend/ref/flashrnn.ts. Heads are independent (block-diagonal R), so a thread
// takes whole (batch, head) pairs and runs every step for them in one call, as slstmSequence.
// Per step the gate vectors of one head are staged in per-thread scratch padded to Dp (D
// rounded up to 4 lanes; R and b come padded from the caller), so the pointwise math runs on
// whole f32x4 vectors with no scalar tail: only the loads of Wx / states and the stores of the
// results touch exactly D values. Padding lanes hold harmless values that are never stored.
// The forward can keep R y_{t-1} of every step, so the backward streams R once per step (for
// dL/dy_{t-1}) instead of twice.
import { fmadd, rangeStart, rangeEnd } from './simd';
import {
  gateSplat as splat, gateExpV as expV, gateLogSigmoidV as logSigmoidV, gateTanhV as tanhV, gateSigmoidV as sigmoidV,
} from './gateMath';

// Cell ids (src/xlstm/flashrnn/flashrnn.ts keeps the same numbering).
const LSTM: i32 = 0;
const GRU: i32 = 1;
const ELMAN: i32 = 2;
const SLSTM: i32 = 3;
/** Flags. */
const FIRST_ALL: i32 = 1; // sLSTM step 0 uses m = i~ (the caller found the whole initial n tensor == 0)
const OFFICIAL: i32 = 2;  // sLSTM backward of FlashRNN's manual pass (m constant, clamp passed through)

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

/** Copies n f32 from src to dst. */
// @ts-ignore: decorator
@inline function copyF(dst: usize, src: usize, n: i32): void { memory.copy(dst, src, <usize>n << 2); }

function zeroF(p: usize, n: i32): void { memory.fill(p, 0, <usize>n << 2); }

/**
 * acc[col] = sum_{p < D} y[p] R~[p, col] for col < Wp: the recurrent pre-activations of one head
 * (column g*Dp + o = R[g, n, o, p]). rT holds R~ in column blocks of 16, [Wp/16, D, 16], so each
 * block streams contiguously; two blocks at a time give 8 independent accumulator chains.
 */
function matvecT(acc: usize, rT: usize, y: usize, D: i32, Wp: i32): void {
  const blockBytes = <usize>D << 6;
  let c = 0;
  for (; c + 32 <= Wp; c += 32) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
    let rp = rT + <usize>(c >> 4) * blockBytes;
    for (let p = 0; p < D; p++) {
      const yv = v128.load32_splat(at(y, p));
      const rq = rp + blockBytes;
      a0 = fmadd(yv, v128.load(rp), a0); a1 = fmadd(yv, v128.load(rp, 16), a1);
      a2 = fmadd(yv, v128.load(rp, 32), a2); a3 = fmadd(yv, v128.load(rp, 48), a3);
      a4 = fmadd(yv, v128.load(rq), a4); a5 = fmadd(yv, v128.load(rq, 16), a5);
      a6 = fmadd(yv, v128.load(rq, 32), a6); a7 = fmadd(yv, v128.load(rq, 48), a7);
      rp += 64;
    }
    const ap = at(acc, c);
    v128.store(ap, a0); v128.store(ap, a1, 16); v128.store(ap, a2, 32); v128.store(ap, a3, 48);
    v128.store(ap, a4, 64); v128.store(ap, a5, 80); v128.store(ap, a6, 96); v128.store(ap, a7, 112);
  }
  for (; c < Wp; c += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let rp = rT + <usize>(c >> 4) * blockBytes;
    for (let p = 0; p < D; p++) {
      const yv = v128.load32_splat(at(y, p));
      a0 = fmadd(yv, v128.load(rp), a0); a1 = fmadd(yv, v128.load(rp, 16), a1);
      a2 = fmadd(yv, v128.load(rp, 32), a2); a3 = fmadd(yv, v128.load(rp, 48), a3);
      rp += 64;
    }
    const ap = at(acc, c);
    v128.store(ap, a0); v128.store(ap, a1, 16); v128.store(ap, a2, 32); v128.store(ap, a3, 48);
  }
}

/** Floats per scratch section: room for 4 gates of Dp lanes and for Wp, Dq (<= 4*Dp + 12). */
// @ts-ignore: decorator
@inline function section(Dp: i32): i32 { return 4 * Dp + 32; }

/** Gates of R and of Wx, and states, per cell id. */
// @ts-ignore: decorator
@inline function gatesR(cell: i32): i32 { return cell == GRU ? 3 : cell == ELMAN ? 1 : 4; }
// @ts-ignore: decorator
@inline function gatesW(cell: i32): i32 { return gatesR(cell); }
// @ts-ignore: decorator
@inline function numStates(cell: i32): i32 { return cell == LSTM ? 2 : cell == SLSTM ? 4 : 1; }

/**
 * Forward over the whole sequence.
 * wx   [B, T, Gw, N, D] input pre-activations
 * rT   [N, Wp/16, D, 16] recurrent weights in column blocks (Wp = Gr*Dp rounded up to 16):
 *      column g*Dp + o of row p = R[g, n, o, p], zero for o >= D
 * bP   [Gb, N, Dp] bias (zero padded)
 * st0  [S, B, N, D] initial states
 * out  [S, B, T, N, D] every state after every step
 * ryOut  0, or out [B, T, Gr, N, D]: R y_{t-1} of every step, kept for the backward (which then
 *        needs no second pass over R for it)
 * scratch  nt * 3 * (4*Dp + 32) f32
 */
export function flashrnnForward(
  cell: i32, wx: usize, rT: usize, bP: usize, st0: usize, out: usize, ryOut: usize, scratch: usize,
  B: i32, T: i32, N: i32, D: i32, flags: i32, tid: i32, nt: i32,
): void {
  const Dp = (D + 3) & ~3;
  const Gr = gatesR(cell), Gw = gatesW(cell), S = numStates(cell);
  const ND = N * D, Wp = (Gr * Dp + 15) & ~15, SEC = section(Dp);
  const P = B * N;
  const p0 = rangeStart(P, tid, nt, 1), p1 = rangeEnd(P, tid, nt, 1);
  const acc = scratch + (<usize>(tid * 3 * SEC) << 2); // [Wp] R y_{t-1}
  const xs = at(acc, SEC);                             // [Gw*Dp] Wx_t
  const sv = at(xs, SEC);                              // [S*Dp] states of the current step
  for (let pr = p0; pr < p1; pr++) {
    const b = pr / N, n = pr - b * N;
    zeroF(acc, 3 * SEC);
    for (let s = 0; s < S; s++) copyF(at(sv, s * Dp), at(st0, (s * B + b) * ND + n * D), D);
    const rTn = at(rT, n * D * Wp);
    for (let t = 0; t < T; t++) {
      matvecT(acc, rTn, sv, D, Wp);
      if (ryOut != 0) for (let g = 0; g < Gr; g++) copyF(at(ryOut, ((b * T + t) * Gr + g) * ND + n * D), at(acc, g * Dp), D);
      for (let g = 0; g < Gw; g++) copyF(at(xs, g * Dp), at(wx, ((b * T + t) * Gw + g) * ND + n * D), D);
      const firstAll = t == 0 && (flags & FIRST_ALL) != 0;
      for (let k = 0; k < Dp; k += 4) {
        if (cell == ELMAN) {
          v128.store(at(sv, k), tanhV(f32x4.add(f32x4.add(v128.load(at(xs, k)), v128.load(at(acc, k))), v128.load(at(bP, (0 * N + n) * Dp + k)))));
        } else if (cell == GRU) {
          const gg = f32x4.add(v128.load(at(acc, k)), v128.load(at(bP, (0 * N + n) * Dp + k)));
          const r = sigmoidV(f32x4.add(f32x4.add(v128.load(at(xs, k)), v128.load(at(acc, Dp + k))), v128.load(at(bP, (1 * N + n) * Dp + k))));
          const z = sigmoidV(f32x4.add(f32x4.add(v128.load(at(xs, Dp + k)), v128.load(at(acc, 2 * Dp + k))), v128.load(at(bP, (2 * N + n) * Dp + k))));
          const cand = tanhV(f32x4.add(f32x4.add(v128.load(at(xs, 2 * Dp + k)), v128.load(at(bP, (3 * N + n) * Dp + k))), f32x4.mul(r, gg)));
          const h0 = v128.load(at(sv, k));
          v128.store(at(sv, k), f32x4.add(f32x4.mul(z, h0), f32x4.mul(f32x4.sub(splat(1), z), cand)));
        } else {
          const iR = f32x4.add(f32x4.add(v128.load(at(xs, k)), v128.load(at(acc, k))), v128.load(at(bP, (0 * N + n) * Dp + k)));
          const fR = f32x4.add(f32x4.add(v128.load(at(xs, Dp + k)), v128.load(at(acc, Dp + k))), v128.load(at(bP, (1 * N + n) * Dp + k)));
          const zR = f32x4.add(f32x4.add(v128.load(at(xs, 2 * Dp + k)), v128.load(at(acc, 2 * Dp + k))), v128.load(at(bP, (2 * N + n) * Dp + k)));
          const oR = f32x4.add(f32x4.add(v128.load(at(xs, 3 * Dp + k)), v128.load(at(acc, 3 * Dp + k))), v128.load(at(bP, (3 * N + n) * Dp + k)));
          const zg = tanhV(zR), og = sigmoidV(oR);
          const c0 = v128.load(at(sv, Dp + k));
          if (cell == LSTM) {
            const c1 = f32x4.add(f32x4.mul(sigmoidV(fR), c0), f32x4.mul(sigmoidV(iR), zg));
            v128.store(at(sv, k), f32x4.mul(og, tanhV(c1)));
            v128.store(at(sv, Dp + k), c1);
          } else {
            const n0 = v128.load(at(sv, 2 * Dp + k)), m0 = v128.load(at(sv, 3 * Dp + k));
            const lfm = f32x4.add(m0, logSigmoidV(fR));
            const m1 = firstAll ? iR : f32x4.max(iR, lfm);
            const ig = expV(f32x4.sub(iR, m1)), fg = expV(f32x4.sub(lfm, m1));
            const c1 = f32x4.add(f32x4.mul(fg, c0), f32x4.mul(ig, zg));
            const n1 = f32x4.max(f32x4.add(f32x4.mul(fg, n0), ig), splat(1));
            v128.store(at(sv, k), f32x4.mul(og, f32x4.div(c1, n1)));
            v128.store(at(sv, Dp + k), c1); v128.store(at(sv, 2 * Dp + k), n1); v128.store(at(sv, 3 * Dp + k), m1);
          }
        }
      }
      for (let s = 0; s < S; s++) copyF(at(out, ((s * B + b) * T + t) * ND + n * D), at(sv, s * Dp), D);
    }
  }
}

/** Share of the gradient that max(a, c) passes to a: 1 where a > c, 1/2 at a tie, else 0 (torch.maximum). */
// @ts-ignore: decorator
@inline function maxShareV(a: v128, c: v128): v128 {
  return f32x4.add(v128.and(f32x4.gt(a, c), splat(1)), v128.and(f32x4.eq(a, c), splat(0.5)));
}

/**
 * Backward through time. dStates [S, B, T, N, D] = dL/dstates (the gradient of the last states
 * already added at t = T-1). Writes dWx [B, T, Gw, N, D], for the GRU also dRy [B, T, Gr, N, D]
 * (the gradient of R y, which differs from dWx there; for the other cells dRy == dWx), and
 * dSt0 [S, B, N, D]. dR and db are reduced afterwards over (batch, time) (flashrnnWeightGrad),
 * so that threads never write the same weight gradient.
 * ry   [B, T, Gr, N, D] R y_{t-1} of every step (flashrnnForward's ryOut)
 * rP   [N, Dq/16, Gr*D, 16] recurrent weights in blocks of 16 p (Dq = D rounded up to 16):
 *      rP[n, p/16, g*D + o, p%16] = R[g, n, o, p], zero for p >= D
 * scratch  nt * 9 * (4*Dp + 32) f32
 */
export function flashrnnBackward(
  cell: i32, wx: usize, ry: usize, rP: usize, bP: usize, st0: usize, states: usize, dStates: usize,
  dWx: usize, dRy: usize, dSt0: usize, scratch: usize,
  B: i32, T: i32, N: i32, D: i32, flags: i32, tid: i32, nt: i32,
): void {
  const Dp = (D + 3) & ~3;
  const Gr = gatesR(cell), Gw = gatesW(cell), S = numStates(cell);
  const ND = N * D, Dq = (D + 15) & ~15, GD = Gr * D, SEC = section(Dp);
  const P = B * N;
  const p0 = rangeStart(P, tid, nt, 1), p1 = rangeEnd(P, tid, nt, 1);
  const official = (flags & OFFICIAL) != 0;
  const acc = scratch + (<usize>(tid * 9 * SEC) << 2); // [Gr*Dp] R y_{t-1}
  const xs = at(acc, SEC);   // [Gw*Dp] Wx_t
  const sp = at(xs, SEC);    // [S*Dp] states t-1
  const sc = at(sp, SEC);    // [S*Dp] states t
  const gS = at(sc, SEC);    // [S*Dp] dL/d states t (carried), then of t-1
  const gW = at(gS, SEC);    // [Gw*Dp] dL/d Wx_t
  const gR = at(gW, SEC);    // [Gr*Dp] dL/d (R y)_t, padded per gate
  const gRc = at(gR, SEC);   // [Gr*D] the same, compact (row g*D + o of rP)
  const dh = at(gRc, SEC);   // [Dq] R^T gR
  for (let pr = p0; pr < p1; pr++) {
    const b = pr / N, n = pr - b * N;
    zeroF(acc, 9 * SEC);
    const rPn = at(rP, n * GD * Dq);
    for (let t = T - 1; t >= 0; t--) {
      for (let s = 0; s < S; s++) {
        const src = t == 0 ? at(st0, (s * B + b) * ND + n * D) : at(states, ((s * B + b) * T + t - 1) * ND + n * D);
        copyF(at(sp, s * Dp), src, D);
        copyF(at(sc, s * Dp), at(states, ((s * B + b) * T + t) * ND + n * D), D);
        const ds = at(dStates, ((s * B + b) * T + t) * ND + n * D), gs = at(gS, s * Dp);
        for (let k = 0; k < D; k++) store<f32>(at(gs, k), load<f32>(at(gs, k)) + load<f32>(at(ds, k)));
      }
      for (let g = 0; g < Gr; g++) copyF(at(acc, g * Dp), at(ry, ((b * T + t) * Gr + g) * ND + n * D), D);
      for (let g = 0; g < Gw; g++) copyF(at(xs, g * Dp), at(wx, ((b * T + t) * Gw + g) * ND + n * D), D);
      // whole-tensor n == 0 is only possible before the first step (n >= 1 after any step)
      const firstAll = t == 0 && (flags & FIRST_ALL) != 0;
      for (let k = 0; k < Dp; k += 4) {
        const gh = v128.load(at(gS, k));
        if (cell == ELMAN) {
          const h = v128.load(at(sc, k));
          const ga = f32x4.mul(gh, f32x4.sub(splat(1), f32x4.mul(h, h)));
          v128.store(at(gW, k), ga); v128.store(at(gR, k), ga);
          v128.store(at(gS, k), splat(0));
        } else if (cell == GRU) {
          const gg = f32x4.add(v128.load(at(acc, k)), v128.load(at(bP, (0 * N + n) * Dp + k)));
          const r = sigmoidV(f32x4.add(f32x4.add(v128.load(at(xs, k)), v128.load(at(acc, Dp + k))), v128.load(at(bP, (1 * N + n) * Dp + k))));
          const z = sigmoidV(f32x4.add(f32x4.add(v128.load(at(xs, Dp + k)), v128.load(at(acc, 2 * Dp + k))), v128.load(at(bP, (2 * N + n) * Dp + k))));
          const cand = tanhV(f32x4.add(f32x4.add(v128.load(at(xs, 2 * Dp + k)), v128.load(at(bP, (3 * N + n) * Dp + k))), f32x4.mul(r, gg)));
          const oneZ = f32x4.sub(splat(1), z);
          const ga = f32x4.mul(f32x4.mul(gh, oneZ), f32x4.sub(splat(1), f32x4.mul(cand, cand)));
          const gz = f32x4.mul(f32x4.mul(gh, f32x4.sub(v128.load(at(sp, k)), cand)), f32x4.mul(z, oneZ));
          const gr = f32x4.mul(f32x4.mul(ga, gg), f32x4.mul(r, f32x4.sub(splat(1), r)));
          v128.store(at(gW, k), gr); v128.store(at(gW, Dp + k), gz); v128.store(at(gW, 2 * Dp + k), ga);
          v128.store(at(gR, k), f32x4.mul(ga, r)); v128.store(at(gR, Dp + k), gr); v128.store(at(gR, 2 * Dp + k), gz);
          v128.store(at(gS, k), f32x4.mul(gh, z));
        } else {
          const iR = f32x4.add(f32x4.add(v128.load(at(xs, k)), v128.load(at(acc, k))), v128.load(at(bP, (0 * N + n) * Dp + k)));
          const fR = f32x4.add(f32x4.add(v128.load(at(xs, Dp + k)), v128.load(at(acc, Dp + k))), v128.load(at(bP, (1 * N + n) * Dp + k)));
          const zR = f32x4.add(f32x4.add(v128.load(at(xs, 2 * Dp + k)), v128.load(at(acc, 2 * Dp + k))), v128.load(at(bP, (2 * N + n) * Dp + k)));
          const oR = f32x4.add(f32x4.add(v128.load(at(xs, 3 * Dp + k)), v128.load(at(acc, 3 * Dp + k))), v128.load(at(bP, (3 * N + n) * Dp + k)));
          const zg = tanhV(zR), og = sigmoidV(oR);
          const c0 = v128.load(at(sp, Dp + k)), c1 = v128.load(at(sc, Dp + k));
          const oneOg = f32x4.sub(splat(1), og);
          let gi = splat(0), gf = splat(0), gz = splat(0), go = splat(0);
          if (cell == LSTM) {
            const ig = sigmoidV(iR), fg = sigmoidV(fR), tc = tanhV(c1);
            const gc = f32x4.add(v128.load(at(gS, Dp + k)), f32x4.mul(f32x4.mul(gh, og), f32x4.sub(splat(1), f32x4.mul(tc, tc))));
            go = f32x4.mul(f32x4.mul(gh, tc), f32x4.mul(og, oneOg));
            gi = f32x4.mul(f32x4.mul(gc, zg), f32x4.mul(ig, f32x4.sub(splat(1), ig)));
            gf = f32x4.mul(f32x4.mul(gc, c0), f32x4.mul(fg, f32x4.sub(splat(1), fg)));
            gz = f32x4.mul(f32x4.mul(gc, ig), f32x4.sub(splat(1), f32x4.mul(zg, zg)));
            v128.store(at(gS, Dp + k), f32x4.mul(gc, fg));
          } else {
            const n0 = v128.load(at(sp, 2 * Dp + k)), m0 = v128.load(at(sp, 3 * Dp + k));
            const n1 = v128.load(at(sc, 2 * Dp + k)), m1 = v128.load(at(sc, 3 * Dp + k));
            const lfm = f32x4.add(m0, logSigmoidV(fR));
            const ig = expV(f32x4.sub(iR, m1)), fg = expV(f32x4.sub(lfm, m1));
            const ohn = f32x4.div(f32x4.mul(gh, og), n1); // dL/dh * o / n
            const gc = f32x4.add(v128.load(at(gS, Dp + k)), ohn);
            const gn = f32x4.sub(v128.load(at(gS, 2 * Dp + k)), f32x4.div(f32x4.mul(ohn, c1), n1));
            go = f32x4.mul(f32x4.mul(gh, f32x4.div(c1, n1)), f32x4.mul(og, oneOg));
            gz = f32x4.mul(f32x4.mul(gc, ig), f32x4.sub(splat(1), f32x4.mul(zg, zg)));
            const dfs = sigmoidV(f32x4.neg(fR)); // d logsigmoid(f~) / d f~ = 1 - sigmoid(f~)
            v128.store(at(gS, Dp + k), f32x4.mul(gc, fg));
            if (official) {
              gi = f32x4.mul(f32x4.add(f32x4.mul(gc, zg), gn), ig);
              gf = f32x4.mul(f32x4.mul(f32x4.add(f32x4.mul(gc, c0), f32x4.mul(gn, n0)), fg), dfs);
              v128.store(at(gS, 2 * Dp + k), f32x4.mul(gn, fg));
              v128.store(at(gS, 3 * Dp + k), splat(0));
            } else {
              const gu = f32x4.mul(gn, maxShareV(f32x4.add(f32x4.mul(fg, n0), ig), splat(1)));
              const dI = f32x4.add(f32x4.mul(gc, zg), gu), dF = f32x4.add(f32x4.mul(gc, c0), f32x4.mul(gu, n0));
              const gm = f32x4.sub(f32x4.sub(v128.load(at(gS, 3 * Dp + k)), f32x4.mul(dI, ig)), f32x4.mul(dF, fg));
              const aI = firstAll ? splat(1) : maxShareV(iR, lfm);
              const gLfm = f32x4.add(f32x4.mul(dF, fg), f32x4.mul(gm, f32x4.sub(splat(1), aI)));
              gi = f32x4.add(f32x4.mul(dI, ig), f32x4.mul(gm, aI));
              gf = f32x4.mul(gLfm, dfs);
              v128.store(at(gS, 2 * Dp + k), f32x4.mul(gu, fg));
              v128.store(at(gS, 3 * Dp + k), gLfm);
            }
          }
          v128.store(at(gW, k), gi); v128.store(at(gW, Dp + k), gf); v128.store(at(gW, 2 * Dp + k), gz); v128.store(at(gW, 3 * Dp + k), go);
          v128.store(at(gR, k), gi); v128.store(at(gR, Dp + k), gf); v128.store(at(gR, 2 * Dp + k), gz); v128.store(at(gR, 3 * Dp + k), go);
          v128.store(at(gS, k), splat(0));
        }
      }
      for (let g = 0; g < Gw; g++) copyF(at(dWx, ((b * T + t) * Gw + g) * ND + n * D), at(gW, g * Dp), D);
      for (let g = 0; g < Gr; g++) {
        copyF(at(gRc, g * D), at(gR, g * Dp), D);
        if (dRy != 0) copyF(at(dRy, ((b * T + t) * Gr + g) * ND + n * D), at(gR, g * Dp), D);
      }
      // dL/dy_{t-1}[p] += sum_j R[j, p] gRc[j] (j = g*D + o): one contiguous block of 16 p at a time
      for (let pc = 0; pc < Dq; pc += 16) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let rp = rPn + (<usize>(pc >> 4) * <usize>GD << 6);
        for (let j = 0; j < GD; j++) {
          const gv = v128.load32_splat(at(gRc, j));
          a0 = fmadd(gv, v128.load(rp), a0); a1 = fmadd(gv, v128.load(rp, 16), a1);
          a2 = fmadd(gv, v128.load(rp, 32), a2); a3 = fmadd(gv, v128.load(rp, 48), a3);
          rp += 64;
        }
        const hp = at(dh, pc);
        v128.store(hp, a0); v128.store(hp, a1, 16); v128.store(hp, a2, 32); v128.store(hp, a3, 48);
      }
      for (let k = 0; k < Dp; k += 4) v128.store(at(gS, k), f32x4.add(v128.load(at(gS, k)), v128.load(at(dh, k))));
    }
    for (let s = 0; s < S; s++) copyF(at(dSt0, (s * B + b) * ND + n * D), at(gS, s * Dp), D);
  }
}

/**
 * dR[g, n, o, p] = sum_{b, t} dRy[b, t, g, n, o] y_{t-1}[b, n, p], y_{t-1} = state 0 of step t-1
 * (st0 at t = 0). Threads split the Gr*N*D rows (g, n, o), so each owns its output rows.
 */
export function flashrnnWeightGrad(
  dRy: usize, states: usize, st0: usize, dR: usize,
  B: i32, T: i32, N: i32, D: i32, Gr: i32, tid: i32, nt: i32,
): void {
  const ND = N * D, rows = Gr * ND;
  const r0 = rangeStart(rows, tid, nt, 1), r1 = rangeEnd(rows, tid, nt, 1);
  for (let row = r0; row < r1; row++) {
    const g = row / ND, no = row - g * ND, n = no / D; // no = n*D + o
    const out = at(dR, row * D);
    let p = 0;
    for (; p + 16 <= D; p += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const gv = v128.load32_splat(at(dRy, ((b * T + t) * Gr + g) * ND + no));
          const y = t == 0 ? at(st0, b * ND + n * D + p) : at(states, (b * T + t - 1) * ND + n * D + p);
          a0 = fmadd(gv, v128.load(y), a0); a1 = fmadd(gv, v128.load(y, 16), a1);
          a2 = fmadd(gv, v128.load(y, 32), a2); a3 = fmadd(gv, v128.load(y, 48), a3);
        }
      }
      const op = at(out, p);
      v128.store(op, a0); v128.store(op, a1, 16); v128.store(op, a2, 32); v128.store(op, a3, 48);
    }
    for (; p + 4 <= D; p += 4) {
      let a0 = f32x4.splat(0);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const gv = v128.load32_splat(at(dRy, ((b * T + t) * Gr + g) * ND + no));
          const y = t == 0 ? at(st0, b * ND + n * D + p) : at(states, (b * T + t - 1) * ND + n * D + p);
          a0 = fmadd(gv, v128.load(y), a0);
        }
      }
      v128.store(at(out, p), a0);
    }
    for (; p < D; p++) {
      let a: f32 = 0;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const gv = load<f32>(at(dRy, ((b * T + t) * Gr + g) * ND + no));
          const y = t == 0 ? at(st0, b * ND + n * D + p) : at(states, (b * T + t - 1) * ND + n * D + p);
          a += gv * load<f32>(y);
        }
      }
      store<f32>(at(out, p), a);
    }
  }
}
