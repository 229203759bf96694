// Elementwise kernels: binary ops (same shape, a trailing row vector, or a scalar)
// and activations. Each exported kernel is a thin wrapper around an @inline body
// with a constant op code, so binaryen folds the op selection out of the loops.
import { rangeStart, rangeEnd } from './simd';
import { erf64, gelu64, logsigmoidf, sigmoidf, softplusf, expV, sigmoidV, logsigmoidV, softplusV, tanhV, tanhSmallV, geluV } from './mathf';

// ---- binary: op 0 = add, 1 = sub, 2 = mul ----

// @ts-ignore: decorator
@inline function binV(op: i32, a: v128, b: v128): v128 {
  if (op == 0) return f32x4.add(a, b);
  if (op == 1) return f32x4.sub(a, b);
  return f32x4.mul(a, b);
}
// @ts-ignore: decorator
@inline function binS(op: i32, a: f32, b: f32): f32 {
  if (op == 0) return a + b;
  if (op == 1) return a - b;
  return a * b;
}

// out[i] = a[i] op b[i], i < n
// @ts-ignore: decorator
@inline function binSame(op: i32, out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 16);
  const e = rangeEnd(n, tid, nt, 16);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, binV(op, v128.load(a + o), v128.load(b + o)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, binS(op, load<f32>(a + o), load<f32>(b + o)));
  }
}

// out[r, i] = a[r, i] op b[i]; a, out: [rows, m], b: [m]
// @ts-ignore: decorator
@inline function binRows(op: i32, out: usize, a: usize, b: usize, rows: i32, m: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows, tid, nt, 1);
  const e = rangeEnd(rows, tid, nt, 1);
  for (let r = s; r < e; r++) {
    const base = (<usize>r * <usize>m) << 2;
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + base + o, binV(op, v128.load(a + base + o), v128.load(b + o)));
    }
    for (; i < m; i++) {
      const o = <usize>i << 2;
      store<f32>(out + base + o, binS(op, load<f32>(a + base + o), load<f32>(b + o)));
    }
  }
}

// out[i] = a[i] op s
// @ts-ignore: decorator
@inline function binScalar(op: i32, out: usize, a: usize, sc: f32, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 16);
  const e = rangeEnd(n, tid, nt, 16);
  const sv = f32x4.splat(sc);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, binV(op, v128.load(a + o), sv));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, binS(op, load<f32>(a + o), sc));
  }
}

/** out[i] = a[i] + b[i] for i < n (f32). */
export function addF32(out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void { binSame(0, out, a, b, n, tid, nt); }
export function subF32(out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void { binSame(1, out, a, b, n, tid, nt); }
export function mulF32(out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void { binSame(2, out, a, b, n, tid, nt); }
/** out[r, i] = a[r, i] op b[i] (b broadcast over rows). */
export function addRowsF32(out: usize, a: usize, b: usize, rows: i32, m: i32, tid: i32, nt: i32): void { binRows(0, out, a, b, rows, m, tid, nt); }
export function subRowsF32(out: usize, a: usize, b: usize, rows: i32, m: i32, tid: i32, nt: i32): void { binRows(1, out, a, b, rows, m, tid, nt); }
export function mulRowsF32(out: usize, a: usize, b: usize, rows: i32, m: i32, tid: i32, nt: i32): void { binRows(2, out, a, b, rows, m, tid, nt); }
/** out[i] = a[i] op s. */
export function addScalarF32(out: usize, a: usize, s: f32, n: i32, tid: i32, nt: i32): void { binScalar(0, out, a, s, n, tid, nt); }
export function subScalarF32(out: usize, a: usize, s: f32, n: i32, tid: i32, nt: i32): void { binScalar(1, out, a, s, n, tid, nt); }
export function mulScalarF32(out: usize, a: usize, s: f32, n: i32, tid: i32, nt: i32): void { binScalar(2, out, a, s, n, tid, nt); }

// ---- unary activations: out[i] = f(x[i]; p) ----
// Codes: 0 exp, 1 log, 2 sigmoid, 3 logsigmoid, 4 tanh, 5 silu, 6 gelu, 7 softplus,
// 8 relu, 9 softcap (p = cap), 10 erf.

// @ts-ignore: decorator
@inline function act(op: i32, x: f32, p: f32): f32 {
  if (op == 0) return Mathf.exp(x);
  if (op == 1) return Mathf.log(x);
  if (op == 2) return sigmoidf(x);
  if (op == 3) return logsigmoidf(x);
  if (op == 4) return Mathf.tanh(x);
  if (op == 5) return x * sigmoidf(x);
  if (op == 6) return <f32>gelu64(<f64>x);
  if (op == 7) return softplusf(x);
  if (op == 8) return Mathf.max(x, 0); // f32.max keeps NaN, as torch.relu does
  if (op == 9) return p * Mathf.tanh(x / p);
  return <f32>erf64(<f64>x);
}

// @ts-ignore: decorator
@inline function actV(op: i32, x: v128, p: f32): v128 {
  if (op == 0) return expV(x);
  if (op == 2) return sigmoidV(x);
  if (op == 3) return logsigmoidV(x);
  if (op == 4) return tanhV(x);
  if (op == 5) return f32x4.mul(x, sigmoidV(x));
  if (op == 6) return geluV(x);
  if (op == 7) return softplusV(x);
  if (op == 8) return f32x4.max(x, f32x4.splat(0)); // f32x4.max keeps NaN, as torch.relu does
  return f32x4.mul(f32x4.splat(p), tanhV(f32x4.div(x, f32x4.splat(p)))); // 9: softcap
}

// @ts-ignore: decorator
@inline function unary(op: i32, out: usize, x: usize, n: i32, p: f32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 16);
  const e = rangeEnd(n, tid, nt, 16);
  let i = s;
  if (op == 4 || op == 9) {
    // tanh and softcap, 16 values at a time: where all 16 are below 0.625 (after / cap), the usual
    // case for logits under a soft cap, tanh is its polynomial alone, the value tanhV's select
    // picks there, so the skipped exp and division change no bits. 16 and not 4: a block that
    // mixes small and large values costs a mispredicted branch, which 16 values share.
    const pv = f32x4.splat(p);
    for (; i + 16 <= e; i += 16) {
      const o = <usize>i << 2;
      let y0 = v128.load(x + o), y1 = v128.load(x + o, 16), y2 = v128.load(x + o, 32), y3 = v128.load(x + o, 48);
      if (op == 9) { y0 = f32x4.div(y0, pv); y1 = f32x4.div(y1, pv); y2 = f32x4.div(y2, pv); y3 = f32x4.div(y3, pv); }
      const m = f32x4.max(f32x4.max(f32x4.abs(y0), f32x4.abs(y1)), f32x4.max(f32x4.abs(y2), f32x4.abs(y3))); // NaN wins
      if (i32x4.all_true(f32x4.lt(m, f32x4.splat(0.625)))) {
        y0 = tanhSmallV(y0); y1 = tanhSmallV(y1); y2 = tanhSmallV(y2); y3 = tanhSmallV(y3);
      } else {
        y0 = tanhV(y0); y1 = tanhV(y1); y2 = tanhV(y2); y3 = tanhV(y3);
      }
      if (op == 9) { y0 = f32x4.mul(pv, y0); y1 = f32x4.mul(pv, y1); y2 = f32x4.mul(pv, y2); y3 = f32x4.mul(pv, y3); }
      v128.store(out + o, y0); v128.store(out + o, y1, 16); v128.store(out + o, y2, 32); v128.store(out + o, y3, 48);
    }
  }
  if (op != 1 && op != 10) { // log and erf stay scalar (erf in f64)
    for (; i + 4 <= e; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, actV(op, v128.load(x + o), p));
    }
  }
  // The tail goes through the same vector code so every element of a tensor rounds alike.
  if (i < e && op != 1 && op != 10) {
    const o = <usize>i << 2;
    const tmp = f32x4.splat(0);
    let v = tmp;
    const k = e - i;
    v = f32x4.replace_lane(v, 0, load<f32>(x + o));
    if (k > 1) v = f32x4.replace_lane(v, 1, load<f32>(x + o + 4));
    if (k > 2) v = f32x4.replace_lane(v, 2, load<f32>(x + o + 8));
    const r = actV(op, v, p);
    store<f32>(out + o, f32x4.extract_lane(r, 0));
    if (k > 1) store<f32>(out + o + 4, f32x4.extract_lane(r, 1));
    if (k > 2) store<f32>(out + o + 8, f32x4.extract_lane(r, 2));
    i = e;
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, act(op, load<f32>(x + o), p));
  }
}

/**
 * SwiGLU on the fused up projection: out[r, j] = silu(x[r, j]) * x[r, n + j], x [rows, 2n],
 * out [rows, n]. The product is taken of the f32-rounded silu, as siluF32 then mulF32 would,
 * so the fused pass gives the same bits as the two kernels.
 */
export function swigluF32(out: usize, x: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(rows, tid, nt, 1);
  const e = rangeEnd(rows, tid, nt, 1);
  for (let r = s; r < e; r++) {
    const g = x + ((<usize>r * <usize>(2 * n)) << 2);
    const u = g + (<usize>n << 2);
    const o = out + ((<usize>r * <usize>n) << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b = <usize>j << 2;
      v128.store(o + b, f32x4.mul(actV(5, v128.load(g + b), 0), v128.load(u + b)));
    }
    if (j < n) {
      // the tail through the vector code too (see unary)
      let v = f32x4.splat(0);
      const k = n - j, b = <usize>j << 2;
      v = f32x4.replace_lane(v, 0, load<f32>(g + b));
      if (k > 1) v = f32x4.replace_lane(v, 1, load<f32>(g + b + 4));
      if (k > 2) v = f32x4.replace_lane(v, 2, load<f32>(g + b + 8));
      const a = actV(5, v, 0);
      store<f32>(o + b, f32x4.extract_lane(a, 0) * load<f32>(u + b));
      if (k > 1) store<f32>(o + b + 4, f32x4.extract_lane(a, 1) * load<f32>(u + b + 4));
      if (k > 2) store<f32>(o + b + 8, f32x4.extract_lane(a, 2) * load<f32>(u + b + 8));
    }
  }
}

export function expF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(0, out, x, n, 0, tid, nt); }
export function logF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(1, out, x, n, 0, tid, nt); }
export function sigmoidF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(2, out, x, n, 0, tid, nt); }
export function logsigmoidF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(3, out, x, n, 0, tid, nt); }
export function tanhF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(4, out, x, n, 0, tid, nt); }
export function siluF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(5, out, x, n, 0, tid, nt); }
export function geluF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(6, out, x, n, 0, tid, nt); }
export function softplusF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(7, out, x, n, 0, tid, nt); }
export function reluF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(8, out, x, n, 0, tid, nt); }
export function softcapF32(out: usize, x: usize, n: i32, cap: f32, tid: i32, nt: i32): void { unary(9, out, x, n, cap, tid, nt); }
export function erfF32(out: usize, x: usize, n: i32, tid: i32, nt: i32): void { unary(10, out, x, n, 0, tid, nt); }
