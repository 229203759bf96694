// Head split and merge for multi-head cells: the columns of a projection's rows
// [B*S, ld] (column offset off, NH heads of D values each) to or from the head-major
// layout [B, NH, S, D] the mLSTM kernels read and write. Plain copies, so the result is
// the same bits as any other copy; threads take ranges of the B*S rows.
import { rangeStart, rangeEnd } from './simd';

/**
 * toHeads != 0: dst [B, NH, S, D] = src[b*S + s, off + h*D + d] (src rows of ld floats);
 * toHeads == 0: dst[b*S + s, off + h*D + d] = src [B, NH, S, D] (dst rows of ld floats,
 * the other columns untouched).
 */
export function headsF32(dst: usize, src: usize, B: i32, S: i32, NH: i32, D: i32, ld: i32, off: i32, toHeads: i32, tid: i32, nt: i32): void {
  const rows = B * S;
  const r0 = rangeStart(rows, tid, nt, 1);
  const r1 = rangeEnd(rows, tid, nt, 1);
  const flatBase = toHeads != 0 ? src : dst, headBase = toHeads != 0 ? dst : src;
  const rowBytes = <usize>ld << 2;
  const dBytes = <usize>D << 2;
  for (let r = r0; r < r1; r++) {
    const b = r / S, s = r - b * S;
    const flatRow = flatBase + <usize>r * rowBytes + (<usize>off << 2);
    for (let h = 0; h < NH; h++) {
      const f = flatRow + <usize>h * dBytes;
      const hd = headBase + ((<usize>((b * NH + h) * S + s) * <usize>D) << 2);
      if (toHeads != 0) copy(hd, f, D);
      else copy(f, hd, D);
    }
  }
}

// n floats from s to d (non-overlapping), 16 bytes at a time while they last.
// @ts-ignore: decorator
@inline function copy(d: usize, s: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(d + o, v128.load(s + o)); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(d + o, load<f32>(s + o)); }
}
