// Index ops on the tape: rows of the leading axis picked by an index list (with -1 for a row of
// zeros), and a reversal of one axis. TiRex-2 needs them to route rows: the reverse-time pass
// of the known-covariate rows only, the attention groups padded to a common size, and the
// results put back in row order. Plain loops on both precisions (copies, no arithmetic), so
// the f32 and f64 tapes agree exactly; the gradients are the matching scatter-adds.
import { numel, shapeStr } from '../tensor/dtype.js';
import { Tape, Var } from './tape.js';

/**
 * out[j] = row index[j] of x along axis 0 (x [N, ...rest] -> [index.length, ...rest]); index -1
 * gives a row of zeros. x may be a list of Vars with the same trailing shape: the index then
 * counts the rows of their concatenation (without building it). A row picked several times
 * gets the sum of their gradients.
 */
export function gatherRows(t: Tape, x: Var | readonly Var[], index: ArrayLike<number>): Var {
  const xs = Array.isArray(x) ? (x as readonly Var[]) : [x as Var];
  if (xs.length === 0 || xs[0].shape.length < 1) throw new RangeError('gatherRows: x must be a Var with at least one axis, or a non-empty list of them');
  const rest = xs[0].shape.slice(1), inner = numel(rest);
  const starts: number[] = [];
  let N = 0;
  for (const [k, v] of xs.entries()) {
    if (v.shape.length !== rest.length + 1 || v.shape.slice(1).some((d, i) => d !== rest[i])) throw new RangeError(`gatherRows: source ${k} has shape ${shapeStr(v.shape)}, expected [rows, ${rest.join(', ')}]`);
    starts.push(N);
    N += v.shape[0];
  }
  const M = index.length;
  // source and local row of every picked row
  const src = new Int32Array(M), row = new Int32Array(M);
  for (let j = 0; j < M; j++) {
    const r = index[j];
    if (!(Number.isInteger(r) && r >= -1 && r < N)) throw new RangeError(`gatherRows: index[${j}] = ${r} is out of range for ${N} rows (-1 = zeros)`);
    let k = xs.length - 1;
    while (k > 0 && starts[k] > r) k--;
    src[j] = r < 0 ? -1 : k; row[j] = r < 0 ? -1 : r - starts[k];
  }
  const y = t.zeros(M * inner);
  const data = xs.map((v) => v.data);
  for (let j = 0; j < M; j++) if (src[j] >= 0) y.set(data[src[j]].subarray(row[j] * inner, (row[j] + 1) * inner), j * inner);
  return t.record(t.tensor([M, ...rest], y), xs, (dy) => {
    xs.forEach((v, k) => {
      if (!v.requiresGrad) return;
      const g = t.zeros(v.size);
      for (let j = 0; j < M; j++) {
        if (src[j] !== k) continue;
        const o = row[j] * inner, s0 = j * inner;
        for (let e = 0; e < inner; e++) g[o + e] += dy[s0 + e];
      }
      t.accumulate(v, g);
    });
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
