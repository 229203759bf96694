// Embedding gather: ids (i32 or i64) [...] -> rows of table [V, E] as f32 [..., E].
// Float64 reference: src/backend/ref/embedding.ts.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Staging, checkDType, checkRank, threadsFor } from './check.js';

/**
 * table [V, E] (f32 or bf16) gathered at ids [...] -> [..., E] f32. Ids outside [0, V) are rejected.
 * Upload the table once (backend.upload): a table in JS memory is copied to the heap on every call.
 */
export function embedding(be: WasmBackend, ids: Tensor, table: Tensor): Tensor {
  const op = 'embedding';
  checkDType(op, 'ids', ids, ['i32', 'i64']);
  checkDType(op, 'table', table, ['f32', 'bf16']);
  checkRank(op, 'table', table, 2, 2);
  const [V, E] = table.shape;
  const n = ids.size;
  if (ids.dtype === 'i64') {
    const d = ids.data as BigInt64Array;
    const v = BigInt(V);
    for (let i = 0; i < n; i++) if (d[i] < 0n || d[i] >= v) throw new RangeError(`${op}: ids[${i}] = ${d[i]} is out of range for vocab size ${V} (expected 0 <= id < ${V})`);
  } else {
    const d = ids.data as Int32Array;
    for (let i = 0; i < n; i++) if (d[i] < 0 || d[i] >= V) throw new RangeError(`${op}: ids[${i}] = ${d[i]} is out of range for vocab size ${V} (expected 0 <= id < ${V})`);
  }
  const y = be.empty([...ids.shape, E]); // [..., E]
  if (y.size === 0) return y;
  const st = new Staging(be);
  try {
    be.run('embeddingF32', [be.ptr(y), st.ptr(table), st.ptr(ids), n, E, ids.dtype === 'i64' ? 1 : 0, table.dtype === 'bf16' ? 1 : 0], threadsFor(be, y.size, 1, n));
    return y;
  } finally { st.done(); }
}
