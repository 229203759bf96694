import { rangeStart, rangeEnd } from './simd';

/** out[i] = a[i] + b[i] for i < n (f32). */
export function addF32(out: usize, a: usize, b: usize, n: i32, tid: i32, nt: i32): void {
  const s = rangeStart(n, tid, nt, 16);
  const e = rangeEnd(n, tid, nt, 16);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
