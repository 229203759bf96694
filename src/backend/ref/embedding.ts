// Float64 reference for src/ops/embedding.ts: out[i] = table[ids[i]], table [V, E].
export function embeddingRef(ids: ArrayLike<number | bigint>, table: ArrayLike<number>, V: number, E: number): Float64Array {
  const out = new Float64Array(ids.length * E);
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]);
    if (!(id >= 0 && id < V)) throw new RangeError(`embeddingRef: ids[${i}] = ${id} is out of range for vocab size ${V}`);
    for (let k = 0; k < E; k++) out[i * E + k] = table[id * E + k];
  }
  return out;
}
