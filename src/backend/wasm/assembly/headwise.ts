// Head-wise (block-diagonal) projections, as the sLSTM gate pre-activations of TiRex:
// G gates x NH heads of small [DO, DI] matrices, each applied to its head's slice of x.
// One dispatch runs all G*NH products: threads claim whole (gate, head) items from a shared
// counter (a thread slowed by another process on its core takes fewer), each a
// single-threaded gemmF32 on strided views, so every output element is computed exactly
// as a separate gemmF32 call per item would compute it (same blocking, same order), with
// one pool wake-up per block instead of G*NH (TiRex: 16 per block, ~25 us each).
import { gemmF32, gemmScratchBytes } from './gemm';

/**
 * out[r, g*NH*DO + h*DO + o] = sum_i x[r, h*DI + i] * w[g, h, o, i]
 * x    [rows, ldx] f32 (head h reads columns h*DI .. h*DI+DI)
 * w    [G, NH, DO, DI] f32
 * out  [rows, ldo] f32 (item (g, h) writes columns (g*NH + h)*DO .. +DO)
 * scratch  nt * gemmScratchBytes() bytes
 * ctl  an i32 the caller zeroed (the next item to claim)
 */
export function headwiseGemmF32(
  rows: i32, G: i32, NH: i32, DO: i32, DI: i32,
  x: usize, ldx: i32, w: usize, out: usize, ldo: i32, scratch: usize, ctl: usize,
  tid: i32, nt: i32,
): void {
  const items = G * NH;
  const sc = scratch + <usize>tid * <usize>gemmScratchBytes();
  for (;;) {
    const it = atomic.add<i32>(ctl, 1);
    if (it >= items) break;
    const g = it / NH, h = it - g * NH;
    gemmF32(0, 1, rows, DO, DI, 1,
      x + (<usize>(h * DI) << 2), ldx,
      w + (<usize>it * <usize>(DO * DI) << 2), DI,
      0, out + (<usize>(it * DO) << 2), ldo,
      sc, 0, 1);
  }
}
