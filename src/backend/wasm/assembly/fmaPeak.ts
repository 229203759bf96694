// The 128-bit multiply-add limit of a core as WebAssembly reaches it: 12
// independent accumulator chains (more than FMA pipes x latency, 2 x 4 on Zen 5)
// held in registers, no memory traffic. The GEMM bench reports its rows as a
// fraction of this, so "x % of peak" is measured on the machine, not assumed.
import { fmadd } from './simd';

/**
 * Every thread runs `iters` iterations of 12 fmadd (96 flops) and stores one
 * lane of its sum at out[tid] (so the loop cannot be removed): nt * iters * 96 flops.
 */
export function fmaPeak(iters: i32, x: f32, out: usize, tid: i32, nt: i32): void {
  const m = f32x4.splat(x), n = f32x4.splat(<f32>0.999);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(1), a2 = f32x4.splat(2), a3 = f32x4.splat(3);
  let a4 = f32x4.splat(4), a5 = f32x4.splat(5), a6 = f32x4.splat(6), a7 = f32x4.splat(7);
  let a8 = f32x4.splat(8), a9 = f32x4.splat(9), a10 = f32x4.splat(10), a11 = f32x4.splat(11);
  for (let i = 0; i < iters; i++) {
    a0 = fmadd(a0, n, m); a1 = fmadd(a1, n, m); a2 = fmadd(a2, n, m); a3 = fmadd(a3, n, m);
    a4 = fmadd(a4, n, m); a5 = fmadd(a5, n, m); a6 = fmadd(a6, n, m); a7 = fmadd(a7, n, m);
    a8 = fmadd(a8, n, m); a9 = fmadd(a9, n, m); a10 = fmadd(a10, n, m); a11 = fmadd(a11, n, m);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  const t = f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11));
  store<f32>(out + (<usize>tid << 2), f32x4.extract_lane(f32x4.add(s, t), 0));
}
