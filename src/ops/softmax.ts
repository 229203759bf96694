// softmax and log-softmax over the last dim. A row of all -inf gives NaN (as torch).
// Float64 reference: src/backend/ref/softmax.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkRank, outputF32, threadsFor } from './check.js';

function rowSoftmax(be: WasmBackend, op: string, x: Tensor, log: boolean, out?: Tensor): Tensor {
  checkDType(op, 'x', x, ['f32']);
  const n = checkRank(op, 'x', x, 1);
  const y = outputF32(be, op, x.shape, out);
  if (x.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run('softmaxF32', [be.ptr(y), st.ptr(x), x.size / n, n, log ? 1 : 0], threadsFor(be, x.size, 10, x.size / n));
    return y;
  } finally { st.done(); }
}

/** softmax over the last dim: [..., N] -> [..., N]. */
export function softmax(be: WasmBackend, x: Tensor, out?: Tensor): Tensor { return rowSoftmax(be, 'softmax', x, false, out); }
/** log-softmax over the last dim: x - max - log(sum(exp(x - max))). */
export function logSoftmax(be: WasmBackend, x: Tensor, out?: Tensor): Tensor { return rowSoftmax(be, 'logSoftmax', x, true, out); }
