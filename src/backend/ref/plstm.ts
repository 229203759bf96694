// The 2D pLSTM kernel (official pLSTM2D_fwbw / pLSTM2D_parallel_fused_torch) in two forms, in
// float64 arithmetic on Float32Array or Float64Array storage:
//  - recurrent: cell by cell in scan order (the reference form), with its hand-written adjoint;
//  - parallel: the gating matrix G[(x,y),(w,z)] (sum over all monotone paths from source cell (w,z)
//    to target (x,y) of the products of transitions, with the source at the start and the mark at
//    the end; D on the diagonal), then one masked attention Y = sc ((Q K^T) .* G) V. The fused
//    layer sums G over the four orientations before the attention, as the official fused kernel.
//
// Per orientation (scan direction dx, dy = +-1), row (b, h), with R leaving a cell along +x and U
// along +y (zero at the borders), all gates at cell (x, y):
//   R(x,y) = T_rl R(x-dx,y) + T_ru U(x,y-dy) + S_r K V,   U(x,y) = T_du U(x,y-dy) + T_dl R(x-dx,y) + S_d K V
//   Y(x,y) = sc Q (M_l R(x-dx,y) + M_u U(x,y-dy) + D K V)
/** Storage of the inputs: the f32 tape's or the f64 tape's arrays (arithmetic is float64 either way). */
export type Arr = Float32Array | Float64Array;

export interface Scan2dDims {
  B: number; X: number; Y: number; H: number;
  /** Gate heads of the source/transition/mark tensors (4*H in the layers). */
  G: number;
  DK: number; DV: number; JK: number; JQ: number; JV: number; JT: number; JO: number;
}

/** One scanned orientation: gate head j = gateOffset + gateStride * h drives q/k/v head h. */
export interface Scan2dOrientation { gateOffset: number; gateStride: number; flipX: boolean; flipY: boolean }

export interface Scan2dInputs {
  q: Arr; // [B, X, Y, H, DK, JQ]
  k: Arr; // [B, X, Y, H, DK, JK]
  v: Arr; // [B, X, Y, H, DV, JV]
  sR: Arr; sD: Arr; // [B, X, Y, G, JT, JK, JV]
  tRL: Arr; tDU: Arr; // [B, X, Y, G, JT, JT]
  tDL: Arr | null; tRU: Arr | null; // [B, X, Y, G, JT, JT] (null = 0: D-mode chirality)
  mL: Arr; mU: Arr; // [B, X, Y, G, JO, JQ, JT]
  d: Arr | null; // [B, X, Y, H, JO, JQ, JK, JV] (null: no direct term)
}

export interface Scan2dGrads {
  q: Float64Array; k: Float64Array; v: Float64Array; sR: Float64Array; sD: Float64Array;
  tRL: Float64Array; tDU: Float64Array; tDL: Float64Array | null; tRU: Float64Array | null;
  mL: Float64Array; mU: Float64Array; d: Float64Array | null;
}

function sizes(n: Scan2dDims) {
  const { DK, DV, JK, JQ, JV, JT, JO } = n;
  return { q: DK * JQ, k: DK * JK, v: DV * JV, s: JT * JK * JV, t: JT * JT, m: JO * JQ * JT, d: JO * JQ * JK * JV, c: DK * DV * JT, y: DV * JO };
}

/** The direct term y += sc Q D K V (its own loop: the fused layer adds it once for all orientations). */
function directForward(n: Scan2dDims, x: Scan2dInputs, y: Float64Array): void {
  const { B, X, Y, H, DK, DV, JK, JQ, JV, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), dd = x.d!;
  for (let p = 0; p < B * X * Y * H; p++) {
    for (let v = 0; v < DV; v++) for (let o = 0; o < JO; o++) {
      let acc = 0;
      for (let d = 0; d < DK; d++) for (let q = 0; q < JQ; q++) {
        const qq = x.q[p * z.q + d * JQ + q];
        let inner = 0;
        for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) inner += dd[p * z.d + ((o * JQ + q) * JK + k) * JV + l] * x.k[p * z.k + d * JK + k] * x.v[p * z.v + v * JV + l];
        acc += qq * inner;
      }
      y[p * z.y + v * JO + o] += sc * acc;
    }
  }
}

function directBackward(n: Scan2dDims, x: Scan2dInputs, dy: ArrayLike<number>, g: Scan2dGrads): void {
  const { B, X, Y, H, DK, DV, JK, JQ, JV, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), dd = x.d!, gd = g.d!;
  for (let p = 0; p < B * X * Y * H; p++) {
    for (let v = 0; v < DV; v++) for (let o = 0; o < JO; o++) {
      const gy = sc * dy[p * z.y + v * JO + o];
      if (gy === 0) continue;
      for (let d = 0; d < DK; d++) for (let q = 0; q < JQ; q++) {
        const qq = x.q[p * z.q + d * JQ + q];
        let inner = 0;
        for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) {
          const di = p * z.d + ((o * JQ + q) * JK + k) * JV + l, kk = x.k[p * z.k + d * JK + k], vv = x.v[p * z.v + v * JV + l];
          inner += dd[di] * kk * vv;
          gd[di] += gy * qq * kk * vv;
          g.k[p * z.k + d * JK + k] += gy * qq * dd[di] * vv;
          g.v[p * z.v + v * JV + l] += gy * qq * dd[di] * kk;
        }
        g.q[p * z.q + d * JQ + q] += gy * inner;
      }
    }
  }
}

/** Cells in scan order for an orientation: [x, y] pairs. */
function scanOrder(X: number, Y: number, o: Scan2dOrientation): Int32Array {
  const cells = new Int32Array(2 * X * Y);
  let c = 0;
  for (let xi = 0; xi < X; xi++) for (let yi = 0; yi < Y; yi++) {
    cells[c++] = o.flipX ? X - 1 - xi : xi;
    cells[c++] = o.flipY ? Y - 1 - yi : yi;
  }
  return cells;
}

export interface Scan2dForward { y: Float64Array; /** per orientation: R and U of every cell [B, H, X, Y, DK*DV*JT] */ states: { R: Float64Array; U: Float64Array }[] | null }

/** Recurrent form: y [B, X, Y, H, DV, JO] = sum over the orientations (+ the direct term once when x.d is given). */
export function scan2dRecurrent(n: Scan2dDims, x: Scan2dInputs, orients: readonly Scan2dOrientation[], keepStates = false): Scan2dForward {
  const { B, X, Y, H, G, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), KV = JK * JV;
  const y = new Float64Array(B * X * Y * H * z.y);
  const states: { R: Float64Array; U: Float64Array }[] = [];
  const zero = new Float64Array(z.c);
  const kv = new Float64Array(DK * DV * KV);
  for (const o of orients) {
    const R = new Float64Array(B * H * X * Y * z.c), U = new Float64Array(B * H * X * Y * z.c);
    const cells = scanOrder(X, Y, o);
    const dx = o.flipX ? -1 : 1, dyy = o.flipY ? -1 : 1;
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      const j = o.gateOffset + o.gateStride * h;
      const sb = (b * H + h) * X * Y; // state cell base
      for (let c = 0; c < X * Y; c++) {
        const cx = cells[2 * c], cy = cells[2 * c + 1];
        const px = cx - dx, py = cy - dyy;
        const Rin = px >= 0 && px < X ? R.subarray((sb + px * Y + cy) * z.c, (sb + px * Y + cy + 1) * z.c) : zero;
        const Uin = py >= 0 && py < Y ? U.subarray((sb + cx * Y + py) * z.c, (sb + cx * Y + py + 1) * z.c) : zero;
        const cell = (b * X + cx) * Y + cy, p = cell * H + h, gp = cell * G + j;
        const qo = p * z.q, ko = p * z.k, vo = p * z.v, yo = p * z.y;
        const mo = gp * z.m, so = gp * z.s, to = gp * z.t;
        for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) kv[((d * DV + v) * JK + k) * JV + l] = x.k[ko + d * JK + k] * x.v[vo + v * JV + l];
        for (let v = 0; v < DV; v++) for (let oo = 0; oo < JO; oo++) {
          let acc = 0;
          for (let d = 0; d < DK; d++) for (let q = 0; q < JQ; q++) {
            const qq = x.q[qo + d * JQ + q];
            const mb = mo + (oo * JQ + q) * JT, cb = (d * DV + v) * JT;
            let inner = 0;
            for (let i = 0; i < JT; i++) inner += x.mL[mb + i] * Rin[cb + i] + x.mU[mb + i] * Uin[cb + i];
            acc += qq * inner;
          }
          y[yo + v * JO + oo] += sc * acc;
        }
        const Ro = (sb + cx * Y + cy) * z.c;
        for (let dv = 0; dv < DK * DV; dv++) {
          const cb = dv * JT, kb = dv * KV;
          for (let i = 0; i < JT; i++) {
            let r = 0, u = 0;
            for (let jj = 0; jj < JT; jj++) {
              const ti = to + i * JT + jj;
              r += x.tRL[ti] * Rin[cb + jj];
              u += x.tDU[ti] * Uin[cb + jj];
              if (x.tRU) r += x.tRU[ti] * Uin[cb + jj];
              if (x.tDL) u += x.tDL[ti] * Rin[cb + jj];
            }
            for (let kl = 0; kl < KV; kl++) { r += x.sR[so + i * KV + kl] * kv[kb + kl]; u += x.sD[so + i * KV + kl] * kv[kb + kl]; }
            R[Ro + cb + i] = r; U[Ro + cb + i] = u;
          }
        }
      }
    }
    if (keepStates) states.push({ R, U });
  }
  if (x.d) directForward(n, x, y);
  return { y, states: keepStates ? states : null };
}

/** Adjoint of scan2dRecurrent given dy [B, X, Y, H, DV, JO] and the kept states. */
export function scan2dBackward(n: Scan2dDims, x: Scan2dInputs, orients: readonly Scan2dOrientation[], states: { R: Float64Array; U: Float64Array }[], dy: ArrayLike<number>): Scan2dGrads {
  const { B, X, Y, H, G, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), KV = JK * JV;
  const P = B * X * Y * H, PG = B * X * Y * G;
  const g: Scan2dGrads = {
    q: new Float64Array(P * z.q), k: new Float64Array(P * z.k), v: new Float64Array(P * z.v),
    sR: new Float64Array(PG * z.s), sD: new Float64Array(PG * z.s), tRL: new Float64Array(PG * z.t), tDU: new Float64Array(PG * z.t),
    tDL: x.tDL ? new Float64Array(PG * z.t) : null, tRU: x.tRU ? new Float64Array(PG * z.t) : null,
    mL: new Float64Array(PG * z.m), mU: new Float64Array(PG * z.m), d: x.d ? new Float64Array(P * z.d) : null,
  };
  const zero = new Float64Array(z.c);
  const w = new Float64Array(DK * DV * JO * JQ);
  const gR = new Float64Array(X * Y * z.c), gU = new Float64Array(X * Y * z.c);
  orients.forEach((o, oi) => {
    const { R, U } = states[oi];
    const cells = scanOrder(X, Y, o);
    const dx = o.flipX ? -1 : 1, dyy = o.flipY ? -1 : 1;
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      const j = o.gateOffset + o.gateStride * h;
      const sb = (b * H + h) * X * Y;
      gR.fill(0); gU.fill(0);
      for (let c = X * Y - 1; c >= 0; c--) {
        const cx = cells[2 * c], cy = cells[2 * c + 1];
        const px = cx - dx, py = cy - dyy;
        const hasR = px >= 0 && px < X, hasU = py >= 0 && py < Y;
        const Rin = hasR ? R.subarray((sb + px * Y + cy) * z.c, (sb + px * Y + cy + 1) * z.c) : zero;
        const Uin = hasU ? U.subarray((sb + cx * Y + py) * z.c, (sb + cx * Y + py + 1) * z.c) : zero;
        const cell = (b * X + cx) * Y + cy, p = cell * H + h, gp = cell * G + j;
        const qo = p * z.q, ko = p * z.k, vo = p * z.v, yo = p * z.y;
        const mo = gp * z.m, so = gp * z.s, to = gp * z.t;
        const go = (cx * Y + cy) * z.c;
        // through Y(x, y)
        for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
          const cb = (d * DV + v) * JT;
          for (let oo = 0; oo < JO; oo++) {
            const gy = sc * dy[yo + v * JO + oo];
            for (let q = 0; q < JQ; q++) {
              const wv = gy * x.q[qo + d * JQ + q];
              w[((d * DV + v) * JO + oo) * JQ + q] = wv;
              const mb = mo + (oo * JQ + q) * JT;
              let inner = 0;
              for (let i = 0; i < JT; i++) {
                inner += x.mL[mb + i] * Rin[cb + i] + x.mU[mb + i] * Uin[cb + i];
                g.mL[mb + i] += wv * Rin[cb + i];
                g.mU[mb + i] += wv * Uin[cb + i];
              }
              g.q[qo + d * JQ + q] += gy * inner;
            }
          }
        }
        // through R(x, y), U(x, y)
        for (let d = 0; d < DK; d++) for (let v = 0; v < DV; v++) {
          const cb = (d * DV + v) * JT;
          for (let i = 0; i < JT; i++) {
            const gr = gR[go + cb + i], gu = gU[go + cb + i];
            if (gr === 0 && gu === 0) continue;
            const tb = to + i * JT;
            for (let jj = 0; jj < JT; jj++) {
              g.tRL[tb + jj] += gr * Rin[cb + jj];
              g.tDU[tb + jj] += gu * Uin[cb + jj];
              if (g.tRU) g.tRU[tb + jj] += gr * Uin[cb + jj];
              if (g.tDL) g.tDL[tb + jj] += gu * Rin[cb + jj];
            }
            const sbb = so + i * KV;
            for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) {
              const kk = x.k[ko + d * JK + k], vv = x.v[vo + v * JV + l];
              const sr = x.sR[sbb + k * JV + l], sd = x.sD[sbb + k * JV + l];
              g.sR[sbb + k * JV + l] += gr * kk * vv;
              g.sD[sbb + k * JV + l] += gu * kk * vv;
              const a = gr * sr + gu * sd;
              g.k[ko + d * JK + k] += a * vv;
              g.v[vo + v * JV + l] += a * kk;
            }
          }
          // propagate to the incoming states
          if (hasR) {
            const rb = (px * Y + cy) * z.c + cb;
            for (let jj = 0; jj < JT; jj++) {
              let a = 0;
              for (let i = 0; i < JT; i++) {
                a += x.tRL[to + i * JT + jj] * gR[go + cb + i];
                if (x.tDL) a += x.tDL[to + i * JT + jj] * gU[go + cb + i];
              }
              for (let oo = 0; oo < JO; oo++) for (let q = 0; q < JQ; q++) a += x.mL[mo + (oo * JQ + q) * JT + jj] * w[((d * DV + v) * JO + oo) * JQ + q];
              gR[rb + jj] += a;
            }
          }
          if (hasU) {
            const ub = (cx * Y + py) * z.c + cb;
            for (let jj = 0; jj < JT; jj++) {
              let a = 0;
              for (let i = 0; i < JT; i++) {
                a += x.tDU[to + i * JT + jj] * gU[go + cb + i];
                if (x.tRU) a += x.tRU[to + i * JT + jj] * gR[go + cb + i];
              }
              for (let oo = 0; oo < JO; oo++) for (let q = 0; q < JQ; q++) a += x.mU[mo + (oo * JQ + q) * JT + jj] * w[((d * DV + v) * JO + oo) * JQ + q];
              gU[ub + jj] += a;
            }
          }
        }
      }
    }
  });
  if (x.d) directBackward(n, x, dy, g);
  return g;
}

/**
 * Path sums from one source cell `src` (index in scan order) for one orientation and row (b, h):
 * rR/rU [N, JT, JK*JV] at each cell c after it in its quadrant hold the R/U "state" of a unit k v^T
 * (zero outside the quadrant). The gating matrix entry of a target c is M_l rR(prev x) + M_u rU(prev y).
 */
function pathSums(n: Scan2dDims, x: Scan2dInputs, o: Scan2dOrientation, cells: Int32Array, b: number, h: number, src: number, rR: Float64Array, rU: Float64Array,
  visit: ((c: number, ci: number, gp: number, Rin: Float64Array, Uin: Float64Array) => void) | null): void {
  const { X, Y, G, JK, JV, JT } = n;
  const z = sizes(n), KV = JK * JV, N = X * Y, W = JT * KV;
  const j = o.gateOffset + o.gateStride * h;
  const dx = o.flipX ? -1 : 1, dyy = o.flipY ? -1 : 1;
  const wx = cells[2 * src], wz = cells[2 * src + 1];
  const zero = new Float64Array(W);
  for (let c = src; c < N; c++) {
    const cx = cells[2 * c], cy = cells[2 * c + 1];
    const ci = cx * Y + cy;
    if (!((cx - wx) * dx >= 0 && (cy - wz) * dyy >= 0)) { rR.fill(0, ci * W, (ci + 1) * W); rU.fill(0, ci * W, (ci + 1) * W); continue; }
    const gp = ((b * X + cx) * Y + cy) * G + j;
    if (c === src) {
      for (let i = 0; i < W; i++) { rR[ci * W + i] = x.sR[gp * z.s + i]; rU[ci * W + i] = x.sD[gp * z.s + i]; }
      continue;
    }
    const px = cx - dx, py = cy - dyy;
    const okR = px >= 0 && px < X && (px - wx) * dx >= 0, okU = py >= 0 && py < Y && (py - wz) * dyy >= 0;
    const Rin = okR ? rR.subarray((px * Y + cy) * W, (px * Y + cy + 1) * W) : zero;
    const Uin = okU ? rU.subarray((cx * Y + py) * W, (cx * Y + py + 1) * W) : zero;
    if (visit) visit(c, ci, gp, Rin, Uin);
    const to = gp * z.t;
    for (let i = 0; i < JT; i++) for (let kl = 0; kl < KV; kl++) {
      let r = 0, u = 0;
      for (let jj = 0; jj < JT; jj++) {
        const ti = to + i * JT + jj;
        r += x.tRL[ti] * Rin[jj * KV + kl];
        u += x.tDU[ti] * Uin[jj * KV + kl];
        if (x.tRU) r += x.tRU[ti] * Uin[jj * KV + kl];
        if (x.tDL) u += x.tDL[ti] * Rin[jj * KV + kl];
      }
      rR[ci * W + i * KV + kl] = r; rU[ci * W + i * KV + kl] = u;
    }
  }
}

/** The gating matrix of row (b, h) summed over the orientations, plus D on the diagonal: Gm [N, N, JO*JQ, JK*JV]. */
function gatingMatrix(n: Scan2dDims, x: Scan2dInputs, orients: readonly Scan2dOrientation[], b: number, h: number, Gm: Float64Array): void {
  const { X, Y, H, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), KV = JK * JV, OQ = JO * JQ, N = X * Y;
  const rR = new Float64Array(N * JT * KV), rU = new Float64Array(N * JT * KV);
  Gm.fill(0);
  for (const o of orients) {
    const cells = scanOrder(X, Y, o);
    for (let src = 0; src < N; src++) {
      const sidx = cells[2 * src] * Y + cells[2 * src + 1];
      pathSums(n, x, o, cells, b, h, src, rR, rU, (_c, ci, gp, Rin, Uin) => {
        const mo = gp * z.m, gb = (ci * N + sidx) * OQ * KV;
        for (let a = 0; a < OQ; a++) for (let kl = 0; kl < KV; kl++) {
          let acc = 0;
          for (let i = 0; i < JT; i++) acc += x.mL[mo + a * JT + i] * Rin[i * KV + kl] + x.mU[mo + a * JT + i] * Uin[i * KV + kl];
          Gm[gb + a * KV + kl] += acc;
        }
      });
    }
  }
  if (x.d) for (let c = 0; c < N; c++) {
    const p = (b * N + c) * H + h;
    for (let i = 0; i < OQ * KV; i++) Gm[(c * N + c) * OQ * KV + i] += x.d[p * z.d + i];
  }
}

/**
 * Parallel form: the gating matrix of every (b, h), summed over the orientations, then the masked
 * attention. Same outputs as scan2dRecurrent. Memory (X Y)^2 JO JQ JK JV per (b, h).
 */
export function scan2dParallel(n: Scan2dDims, x: Scan2dInputs, orients: readonly Scan2dOrientation[]): Float64Array {
  const { B, X, Y, H, DK, DV, JK, JQ, JV, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), KV = JK * JV, OQ = JO * JQ, N = X * Y;
  const y = new Float64Array(B * X * Y * H * z.y);
  const Gm = new Float64Array(N * N * OQ * KV); // [target, source, oq, kl]
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    gatingMatrix(n, x, orients, b, h, Gm);
    // Y[t] = sc sum_s sum_{d,q,k,l} Q_t[d,q] K_s[d,k] G[t,s][o,q,k,l] V_s[v,l]
    for (let t = 0; t < N; t++) {
      const pt = (b * N + t) * H + h;
      for (let s = 0; s < N; s++) {
        const gb = (t * N + s) * OQ * KV;
        const ps = (b * N + s) * H + h;
        for (let q = 0; q < JQ; q++) for (let k = 0; k < JK; k++) {
          let qk = 0;
          for (let d = 0; d < DK; d++) qk += x.q[pt * z.q + d * JQ + q] * x.k[ps * z.k + d * JK + k];
          for (let oo = 0; oo < JO; oo++) for (let l = 0; l < JV; l++) {
            const coef = sc * qk * Gm[gb + ((oo * JQ + q) * JK + k) * JV + l];
            if (coef === 0) continue;
            for (let v = 0; v < DV; v++) y[pt * z.y + v * JO + oo] += coef * x.v[ps * z.v + v * JV + l];
          }
        }
      }
    }
  }
  return y;
}

/**
 * Backward of the parallel form in its own terms: the attention's gradients (dQ, dK, dV and dG),
 * then dG through the path sums of every source (their adjoint, in reverse scan order). Same
 * gradients as scan2dBackward.
 */
export function scan2dParallelBackward(n: Scan2dDims, x: Scan2dInputs, orients: readonly Scan2dOrientation[], dy: ArrayLike<number>): Scan2dGrads {
  const { B, X, Y, H, G, DK, DV, JK, JQ, JV, JT, JO } = n;
  const z = sizes(n), sc = 1 / Math.sqrt(DK), KV = JK * JV, OQ = JO * JQ, N = X * Y, W = JT * KV;
  const P = B * N * H, PG = B * N * G;
  const g: Scan2dGrads = {
    q: new Float64Array(P * z.q), k: new Float64Array(P * z.k), v: new Float64Array(P * z.v),
    sR: new Float64Array(PG * z.s), sD: new Float64Array(PG * z.s), tRL: new Float64Array(PG * z.t), tDU: new Float64Array(PG * z.t),
    tDL: x.tDL ? new Float64Array(PG * z.t) : null, tRU: x.tRU ? new Float64Array(PG * z.t) : null,
    mL: new Float64Array(PG * z.m), mU: new Float64Array(PG * z.m), d: x.d ? new Float64Array(P * z.d) : null,
  };
  const Gm = new Float64Array(N * N * OQ * KV), dG = new Float64Array(N * N * OQ * KV);
  const qk = new Float64Array(JQ * JK), dyv = new Float64Array(JO * JV);
  const rR = new Float64Array(N * W), rU = new Float64Array(N * W), gR = new Float64Array(N * W), gU = new Float64Array(N * W);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    gatingMatrix(n, x, orients, b, h, Gm);
    // the attention: y_t[v,o] = sc sum_s sum_{q,k,l} qk_ts[q,k] G[t,s][o,q,k,l] V_s[v,l]
    for (let t = 0; t < N; t++) {
      const pt = (b * N + t) * H + h;
      for (let s = 0; s < N; s++) {
        const ps = (b * N + s) * H + h, gb = (t * N + s) * OQ * KV;
        for (let q = 0; q < JQ; q++) for (let k = 0; k < JK; k++) {
          let a = 0;
          for (let d = 0; d < DK; d++) a += x.q[pt * z.q + d * JQ + q] * x.k[ps * z.k + d * JK + k];
          qk[q * JK + k] = a;
        }
        for (let o = 0; o < JO; o++) for (let l = 0; l < JV; l++) {
          let a = 0;
          for (let v = 0; v < DV; v++) a += dy[pt * z.y + v * JO + o] * x.v[ps * z.v + v * JV + l];
          dyv[o * JV + l] = a;
        }
        for (let o = 0; o < JO; o++) for (let q = 0; q < JQ; q++) for (let k = 0; k < JK; k++) for (let l = 0; l < JV; l++) {
          const gi = gb + ((o * JQ + q) * JK + k) * JV + l, gv = Gm[gi];
          dG[gi] = sc * qk[q * JK + k] * dyv[o * JV + l];
          if (gv === 0) continue;
          const a = sc * gv;
          // dQ, dK through qk; dV through dyv's partner
          const cq = a * dyv[o * JV + l];
          for (let d = 0; d < DK; d++) {
            g.q[pt * z.q + d * JQ + q] += cq * x.k[ps * z.k + d * JK + k];
            g.k[ps * z.k + d * JK + k] += cq * x.q[pt * z.q + d * JQ + q];
          }
          const cv = a * qk[q * JK + k];
          for (let v = 0; v < DV; v++) g.v[ps * z.v + v * JV + l] += cv * dy[pt * z.y + v * JO + o];
        }
      }
    }
    if (g.d) for (let c = 0; c < N; c++) {
      const p = (b * N + c) * H + h;
      for (let i = 0; i < OQ * KV; i++) g.d[p * z.d + i] += dG[(c * N + c) * OQ * KV + i];
    }
    // dG through the path sums of every orientation and source
    for (const o of orients) {
      const cells = scanOrder(X, Y, o);
      const j = o.gateOffset + o.gateStride * h;
      const dx = o.flipX ? -1 : 1, dyy = o.flipY ? -1 : 1;
      for (let src = 0; src < N; src++) {
        const wx = cells[2 * src], wz = cells[2 * src + 1], sidx = wx * Y + wz;
        pathSums(n, x, o, cells, b, h, src, rR, rU, null);
        gR.fill(0); gU.fill(0);
        for (let c = N - 1; c >= src; c--) {
          const cx = cells[2 * c], cy = cells[2 * c + 1];
          if (!((cx - wx) * dx >= 0 && (cy - wz) * dyy >= 0)) continue;
          const ci = cx * Y + cy, gp = ((b * X + cx) * Y + cy) * G + j;
          if (c === src) {
            for (let i = 0; i < W; i++) { g.sR[gp * z.s + i] += gR[ci * W + i]; g.sD[gp * z.s + i] += gU[ci * W + i]; }
            continue;
          }
          const px = cx - dx, py = cy - dyy;
          const okR = px >= 0 && px < X && (px - wx) * dx >= 0, okU = py >= 0 && py < Y && (py - wz) * dyy >= 0;
          const rb = (px * Y + cy) * W, ub = (cx * Y + py) * W;
          const mo = gp * z.m, to = gp * z.t, gb = (ci * N + sidx) * OQ * KV;
          // G[c, src] = M_l rR(prev x) + M_u rU(prev y)
          for (let a = 0; a < OQ; a++) for (let i = 0; i < JT; i++) {
            let mlA = 0, muA = 0;
            for (let kl = 0; kl < KV; kl++) {
              const gg = dG[gb + a * KV + kl];
              if (okR) { mlA += gg * rR[rb + i * KV + kl]; gR[rb + i * KV + kl] += x.mL[mo + a * JT + i] * gg; }
              if (okU) { muA += gg * rU[ub + i * KV + kl]; gU[ub + i * KV + kl] += x.mU[mo + a * JT + i] * gg; }
            }
            g.mL[mo + a * JT + i] += mlA; g.mU[mo + a * JT + i] += muA;
          }
          // rR(c) = T_rl rR(prev x) + T_ru rU(prev y), rU(c) = T_du rU(prev y) + T_dl rR(prev x)
          for (let i = 0; i < JT; i++) for (let jj = 0; jj < JT; jj++) {
            const ti = to + i * JT + jj;
            let aRL = 0, aRU = 0, aDU = 0, aDL = 0;
            for (let kl = 0; kl < KV; kl++) {
              const gr = gR[ci * W + i * KV + kl], gu = gU[ci * W + i * KV + kl];
              const rin = okR ? rR[rb + jj * KV + kl] : 0, uin = okU ? rU[ub + jj * KV + kl] : 0;
              aRL += gr * rin; aRU += gr * uin; aDU += gu * uin; aDL += gu * rin;
              if (okR) gR[rb + jj * KV + kl] += x.tRL[ti] * gr + (x.tDL ? x.tDL[ti] * gu : 0);
              if (okU) gU[ub + jj * KV + kl] += x.tDU[ti] * gu + (x.tRU ? x.tRU[ti] * gr : 0);
            }
            g.tRL[ti] += aRL; g.tDU[ti] += aDU;
            if (g.tRU) g.tRU[ti] += aRU;
            if (g.tDL) g.tDL[ti] += aDL;
          }
        }
      }
    }
  }
  return g;
}
