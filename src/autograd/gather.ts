// Index ops on the tape: rows of the leading axis picked by an index list (with -1 for a row of
// zeros), and a reversal of one axis. TiRex-2 needs them to route rows: the reverse-time pass
// of the known-covariate rows only, the attention groups padded to a common size, and the
// results put back in row order. Plain loops on both precisions (copies, no arithmetic), so
// the f32 and f64 tapes agree exactly; the gradients are the matching scatter-adds.
import { numel, shapeStr } from '../tensor/dtype.js';
import { Tape, Var } from './tape.js';

/**
 * out[j] = x[index[j]] along axis 0 (x [N, ...rest] -> [index.length, ...rest]); index -1 gives
 * a row of zeros. A row picked several times gets the sum of their gradients.
 */
export function gatherRows(t: Tape, x: Var, index: ArrayLike<number>): Var {
  if (x.shape.length < 1) throw new RangeError(`gatherRows: x must have at least one axis, got ${shapeStr(x.shape)}`);
  const N = x.shape[0], inner = numel(x.shape.slice(1)), M = index.length;
  for (let j = 0; j < M; j++) {
    const r = index[j];
    if (!(Number.isInteger(r) && r >= -1 && r < N)) throw new RangeError(`gatherRows: index[${j}] = ${r} is out of range for ${N} rows (-1 = zeros)`);
  }
  const y = t.zeros(M * inner), d = x.data;
  for (let j = 0; j < M; j++) { const r = index[j]; if (r >= 0) y.set(d.subarray(r * inner, (r + 1) * inner), j * inner); }
  return t.record(t.tensor([M, ...x.shape.slice(1)], y), [x], (dy) => {
    const g = t.zeros(x.size);
    for (let j = 0; j < M; j++) {
      const r = index[j];
      if (r < 0) continue;
      const o = r * inner, s = j * inner;
      for (let e = 0; e < inner; e++) g[o + e] += dy[s + e];
    }
    t.accumulate(x, g);
  }, 'gatherRows');
}

/** x reversed along `axis` (a copy; its own inverse, so the gradient is dy reversed). */
export function flip(t: Tape, x: Var, axis: number): Var {
  const sh = x.shape;
  if (!(Number.isInteger(axis) && axis >= 0 && axis < sh.length)) throw new RangeError(`flip: axis ${axis} is out of range for x ${shapeStr(sh)}`);
  const outer = numel(sh.slice(0, axis)), n = sh[axis], inner = numel(sh.slice(axis + 1));
  const rev = (src: ArrayLike<number>, dst: Float32Array | Float64Array) => {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < n; i++) {
        const a = (o * n + i) * inner, b = (o * n + n - 1 - i) * inner;
        for (let e = 0; e < inner; e++) dst[b + e] = src[a + e];
      }
    }
  };
  const y = t.zeros(x.size);
  rev(x.data, y);
  return t.record(t.tensor(sh, y), [x], (dy) => { const g = t.zeros(x.size); rev(dy, g); t.accumulate(x, g); }, 'flip');
}
