// The 2D pLSTM scan (all state-tracking dims 1: the official 2D default and the vision model's
// layer), forward and backward, SIMD over the value dim (DV a multiple of 4). Float64 reference:
// src/backend/ref/plstm.ts (scan2dRecurrent / scan2dBackward). Threads split the (batch, head)
// rows; every orientation of a row is scanned by the same thread, so outputs and gate gradients
// (gate head j = offset + stride*h belongs to one head) are never written by two threads.
//
// Orientation o is packed as offset | stride << 8 | flipX << 16 | flipY << 17 (up to 4 of them).
// Per row and orientation, R leaves a cell along +x, U along +y (scan direction), zero at borders:
//   R = trl Rin + tru Uin + sr k v^T,  U = tdu Uin + tdl Rin + sd k v^T,  y += sc q (ml Rin + mu Uin)
// and the direct term y += sc dd (q.k) v is added once per cell.
import { fmadd, hsum, rangeStart, rangeEnd } from './simd';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }
// @ts-ignore: decorator
@inline function ld(p: usize, i: i32): f32 { return load<f32>(at(p, i)); }
// @ts-ignore: decorator
@inline function splat(a: f32): v128 { return f32x4.splat(a); }
// @ts-ignore: decorator
@inline function orient(i: i32, o0: i32, o1: i32, o2: i32, o3: i32): i32 { return i == 0 ? o0 : i == 1 ? o1 : i == 2 ? o2 : o3; }

/**
 * q, k [B, X, Y, H, DK]; v [B, X, Y, H, DV]; sR, sD, tRL, tDU, tDL, tRU, mL, mU [B, X, Y, G] (tDL / tRU
 * 0 = absent); d [B, X, Y, H] (0 = no direct term). Writes y [B, X, Y, H, DV] and the states
 * stR, stU [nO, B, H, X, Y, DK, DV] (keep = 1, for the backward pass) or [1, B, H, X, Y, DK, DV]
 * (keep = 0: the orientations of a row reuse one buffer). zero: DK*DV zeros (the border state).
 */
export function plstm2dForward(
  q: usize, k: usize, v: usize, sR: usize, sD: usize, tRL: usize, tDU: usize, tDL: usize, tRU: usize, mL: usize, mU: usize, d: usize,
  y: usize, stR: usize, stU: usize, zero: usize,
  B: i32, X: i32, Y: i32, H: i32, G: i32, DK: i32, DV: i32, nO: i32, o0: i32, o1: i32, o2: i32, o3: i32, keep: i32, tid: i32, nt: i32,
): void {
  const P = B * H, C = DK * DV;
  const p0 = rangeStart(P, tid, nt, 1), p1 = rangeEnd(P, tid, nt, 1);
  const sc = <f32>(1.0 / Math.sqrt(<f64>DK));
  for (let pr = p0; pr < p1; pr++) {
    const b = pr / H, h = pr - b * H;
    for (let c = 0; c < X * Y; c++) memory.fill(at(y, ((b * X * Y + c) * H + h) * DV), 0, <usize>DV << 2);
    for (let oi = 0; oi < nO; oi++) {
      const enc = orient(oi, o0, o1, o2, o3);
      const j = (enc & 255) + ((enc >> 8) & 255) * h, fx = (enc >> 16) & 1, fy = (enc >> 17) & 1;
      const dx = fx ? -1 : 1, dyy = fy ? -1 : 1;
      const sb = (((keep ? oi : 0) * B + b) * H + h) * X * Y;
      for (let xi = 0; xi < X; xi++) {
        const cx = fx ? X - 1 - xi : xi, px = cx - dx;
        for (let yi = 0; yi < Y; yi++) {
          const cy = fy ? Y - 1 - yi : yi, py = cy - dyy;
          const Rin = px >= 0 && px < X ? at(stR, (sb + px * Y + cy) * C) : zero;
          const Uin = py >= 0 && py < Y ? at(stU, (sb + cx * Y + py) * C) : zero;
          const Ro = at(stR, (sb + cx * Y + cy) * C), Uo = at(stU, (sb + cx * Y + cy) * C);
          const cell = (b * X + cx) * Y + cy, pp = cell * H + h, gp = cell * G + j;
          const qp = at(q, pp * DK), kp = at(k, pp * DK), vp = at(v, pp * DV), yp = at(y, pp * DV);
          const sr = ld(sR, gp), sd = ld(sD, gp), trl = splat(ld(tRL, gp)), tdu = splat(ld(tDU, gp));
          const tdl = splat(tDL ? ld(tDL, gp) : 0), tru = splat(tRU ? ld(tRU, gp) : 0);
          const ml = ld(mL, gp), mu = ld(mU, gp);
          for (let e = 0; e < DK; e++) {
            const qd = ld(qp, e) * sc, kd = ld(kp, e);
            const ar = splat(qd * ml), au = splat(qd * mu), kr = splat(sr * kd), ku = splat(sd * kd);
            const ro = e * DV;
            for (let w = 0; w < DV; w += 4) {
              const rin = v128.load(at(Rin, ro + w)), uin = v128.load(at(Uin, ro + w)), vv = v128.load(at(vp, w));
              v128.store(at(yp, w), fmadd(ar, rin, fmadd(au, uin, v128.load(at(yp, w)))));
              v128.store(at(Ro, ro + w), fmadd(trl, rin, fmadd(tru, uin, f32x4.mul(kr, vv))));
              v128.store(at(Uo, ro + w), fmadd(tdu, uin, fmadd(tdl, rin, f32x4.mul(ku, vv))));
            }
          }
        }
      }
    }
    if (d != 0) for (let c = 0; c < X * Y; c++) {
      const pp = (b * X * Y + c) * H + h;
      const qp = at(q, pp * DK), kp = at(k, pp * DK), vp = at(v, pp * DV), yp = at(y, pp * DV);
      let qk: f32 = 0;
      for (let e = 0; e < DK; e++) qk += ld(qp, e) * ld(kp, e);
      const a = splat(sc * ld(d, pp) * qk);
      for (let w = 0; w < DV; w += 4) v128.store(at(yp, w), fmadd(a, v128.load(at(vp, w)), v128.load(at(yp, w))));
    }
  }
}

// @ts-ignore: decorator
@inline function ptr(table: usize, i: i32): usize { return <usize>load<u32>(table + (<usize>i << 2)); }

/**
 * Backward of plstm2dForward given dy [B, X, Y, H, DV] and its states. `ptrs` holds, in order: q, k, v,
 * sR, sD, tRL, tDU, tDL, tRU, mL, mU, d, stR, stU, zero, dy, dq, dk, dv, dsR, dsD, dtRL, dtDU, dtDL, dtRU,
 * dmL, dmU, dd, scratch. Writes dq, dk [B, X, Y, H, DK],
 * dv [B, X, Y, H, DV], dd [B, X, Y, H] (when d != 0); ADDS into the gate gradients dsR .. dmU [B, X, Y, G]
 * (zeroed by the caller; dtDL / dtRU 0 when absent). scratch: nt * 2 * X*Y*DK*DV f32.
 */
export function plstm2dBackward(
  ptrs: usize, B: i32, X: i32, Y: i32, H: i32, G: i32, DK: i32, DV: i32, nO: i32, o0: i32, o1: i32, o2: i32, o3: i32, tid: i32, nt: i32,
): void {
  // the 29 buffers come as a table of u32 byte offsets (the thread pool passes at most 32 arguments)
  const q = ptr(ptrs, 0), k = ptr(ptrs, 1), v = ptr(ptrs, 2), sR = ptr(ptrs, 3), sD = ptr(ptrs, 4), tRL = ptr(ptrs, 5), tDU = ptr(ptrs, 6);
  const tDL = ptr(ptrs, 7), tRU = ptr(ptrs, 8), mL = ptr(ptrs, 9), mU = ptr(ptrs, 10), d = ptr(ptrs, 11);
  const stR = ptr(ptrs, 12), stU = ptr(ptrs, 13), zero = ptr(ptrs, 14), dy = ptr(ptrs, 15);
  const dq = ptr(ptrs, 16), dk = ptr(ptrs, 17), dv = ptr(ptrs, 18), dsR = ptr(ptrs, 19), dsD = ptr(ptrs, 20), dtRL = ptr(ptrs, 21), dtDU = ptr(ptrs, 22);
  const dtDL = ptr(ptrs, 23), dtRU = ptr(ptrs, 24), dmL = ptr(ptrs, 25), dmU = ptr(ptrs, 26), dd = ptr(ptrs, 27), scratch = ptr(ptrs, 28);
  const P = B * H, C = DK * DV, N = X * Y;
  const p0 = rangeStart(P, tid, nt, 1), p1 = rangeEnd(P, tid, nt, 1);
  const sc = <f32>(1.0 / Math.sqrt(<f64>DK));
  const gR = at(scratch, tid * 2 * N * C), gU = at(gR, N * C);
  for (let pr = p0; pr < p1; pr++) {
    const b = pr / H, h = pr - b * H;
    for (let c = 0; c < N; c++) {
      const pp = (b * N + c) * H + h;
      memory.fill(at(dq, pp * DK), 0, <usize>DK << 2);
      memory.fill(at(dk, pp * DK), 0, <usize>DK << 2);
      memory.fill(at(dv, pp * DV), 0, <usize>DV << 2);
    }
    for (let oi = 0; oi < nO; oi++) {
      const enc = orient(oi, o0, o1, o2, o3);
      const j = (enc & 255) + ((enc >> 8) & 255) * h, fx = (enc >> 16) & 1, fy = (enc >> 17) & 1;
      const dx = fx ? -1 : 1, dyy = fy ? -1 : 1;
      const sb = ((oi * B + b) * H + h) * N;
      memory.fill(gR, 0, <usize>(2 * N * C) << 2);
      for (let xi = X - 1; xi >= 0; xi--) {
        const cx = fx ? X - 1 - xi : xi, px = cx - dx;
        const hasR = px >= 0 && px < X;
        for (let yi = Y - 1; yi >= 0; yi--) {
          const cy = fy ? Y - 1 - yi : yi, py = cy - dyy;
          const hasU = py >= 0 && py < Y;
          const Rin = hasR ? at(stR, (sb + px * Y + cy) * C) : zero;
          const Uin = hasU ? at(stU, (sb + cx * Y + py) * C) : zero;
          const gRo = at(gR, (cx * Y + cy) * C), gUo = at(gU, (cx * Y + cy) * C);
          const gRp = at(gR, (px * Y + cy) * C), gUp = at(gU, (cx * Y + py) * C);
          const cell = (b * X + cx) * Y + cy, pp = cell * H + h, gp = cell * G + j;
          const qp = at(q, pp * DK), kp = at(k, pp * DK), vp = at(v, pp * DV), dyp = at(dy, pp * DV);
          const dqp = at(dq, pp * DK), dkp = at(dk, pp * DK), dvp = at(dv, pp * DV);
          const srS = ld(sR, gp), sdS = ld(sD, gp);
          const sr = splat(srS), sd = splat(sdS), trl = splat(ld(tRL, gp)), tdu = splat(ld(tDU, gp));
          const tdl = splat(tDL ? ld(tDL, gp) : 0), tru = splat(tRU ? ld(tRU, gp) : 0);
          const mlS = ld(mL, gp), muS = ld(mU, gp);
          const ml = splat(mlS), mu = splat(muS);
          let aML = splat(0), aMU = splat(0), aRL = splat(0), aRU = splat(0), aDU = splat(0), aDL = splat(0), aSR = splat(0), aSD = splat(0);
          for (let e = 0; e < DK; e++) {
            const qd = ld(qp, e), kd = ld(kp, e);
            const sq = splat(sc * qd), kk = splat(kd);
            const ro = e * DV;
            let aQ = splat(0), aK = splat(0), aRv = splat(0), aUv = splat(0), aGR = splat(0), aGU = splat(0);
            for (let w = 0; w < DV; w += 4) {
              const rin = v128.load(at(Rin, ro + w)), uin = v128.load(at(Uin, ro + w));
              const vv = v128.load(at(vp, w)), gy = v128.load(at(dyp, w));
              const gr = v128.load(at(gRo, ro + w)), gu = v128.load(at(gUo, ro + w));
              // through y: dq, dml, dmu
              aQ = fmadd(gy, fmadd(ml, rin, f32x4.mul(mu, uin)), aQ);
              aRv = fmadd(gy, rin, aRv); aUv = fmadd(gy, uin, aUv);
              // through R, U: transitions, sources, k, v
              aRL = fmadd(gr, rin, aRL); aRU = fmadd(gr, uin, aRU); aDU = fmadd(gu, uin, aDU); aDL = fmadd(gu, rin, aDL);
              aGR = fmadd(gr, vv, aGR); aGU = fmadd(gu, vv, aGU);
              const s = fmadd(sr, gr, f32x4.mul(sd, gu));
              aK = fmadd(s, vv, aK);
              v128.store(at(dvp, w), fmadd(s, kk, v128.load(at(dvp, w))));
              // to the incoming states
              const wy = f32x4.mul(sq, gy);
              if (hasR) v128.store(at(gRp, ro + w), fmadd(trl, gr, fmadd(tdl, gu, fmadd(ml, wy, v128.load(at(gRp, ro + w))))));
              if (hasU) v128.store(at(gUp, ro + w), fmadd(tru, gr, fmadd(tdu, gu, fmadd(mu, wy, v128.load(at(gUp, ro + w))))));
            }
            store<f32>(at(dqp, e), ld(dqp, e) + sc * hsum(aQ));
            store<f32>(at(dkp, e), ld(dkp, e) + hsum(aK));
            aML = fmadd(sq, aRv, aML); aMU = fmadd(sq, aUv, aMU);
            aSR = fmadd(kk, aGR, aSR); aSD = fmadd(kk, aGU, aSD);
          }
          store<f32>(at(dmL, gp), ld(dmL, gp) + hsum(aML));
          store<f32>(at(dmU, gp), ld(dmU, gp) + hsum(aMU));
          store<f32>(at(dtRL, gp), ld(dtRL, gp) + hsum(aRL));
          store<f32>(at(dtDU, gp), ld(dtDU, gp) + hsum(aDU));
          if (dtRU) store<f32>(at(dtRU, gp), ld(dtRU, gp) + hsum(aRU));
          if (dtDL) store<f32>(at(dtDL, gp), ld(dtDL, gp) + hsum(aDL));
          store<f32>(at(dsR, gp), ld(dsR, gp) + hsum(aSR));
          store<f32>(at(dsD, gp), ld(dsD, gp) + hsum(aSD));
        }
      }
    }
    if (d != 0) for (let c = 0; c < N; c++) {
      const pp = (b * N + c) * H + h;
      const qp = at(q, pp * DK), kp = at(k, pp * DK), vp = at(v, pp * DV), dyp = at(dy, pp * DV);
      let qk: f32 = 0, gv = splat(0);
      for (let e = 0; e < DK; e++) qk += ld(qp, e) * ld(kp, e);
      for (let w = 0; w < DV; w += 4) gv = fmadd(v128.load(at(dyp, w)), v128.load(at(vp, w)), gv);
      const dyv = hsum(gv), dval = ld(d, pp);
      store<f32>(at(dd, pp), sc * qk * dyv);
      const a = sc * dval * dyv;
      for (let e = 0; e < DK; e++) {
        store<f32>(at(dq, pp * DK + e), ld(dq, pp * DK + e) + a * ld(kp, e));
        store<f32>(at(dk, pp * DK + e), ld(dk, pp * DK + e) + a * ld(qp, e));
      }
      const bq = splat(sc * dval * qk), dvp = at(dv, pp * DV);
      for (let w = 0; w < DV; w += 4) v128.store(at(dvp, w), fmadd(bq, v128.load(at(dyp, w)), v128.load(at(dvp, w))));
    }
  }
}
