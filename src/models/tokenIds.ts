// Token-id input shared by the language models: validates ids [B][S] (or an i32/i64
// Tensor [B, S]) against the vocabulary once, so every model reports bad ids the same way.
import { Tensor } from '../tensor/tensor.js';

/** Token ids: number[][] ([B][S]) or an i32/i64 Tensor [B, S]. */
export type TokenBatch = number[][] | Tensor;

/** Checks ids (all rows the same length, 0 <= id < V) and flattens them; errors name `fn` and `arg`. */
export function checkIds(fn: string, arg: string, ids: TokenBatch, V: number): { B: number; S: number; data: Int32Array } {
  let B: number, S: number;
  const data: number[] = [];
  if (ids instanceof Tensor) {
    if (ids.dtype !== 'i32' && ids.dtype !== 'i64') throw new TypeError(`${fn}: ${arg} has dtype ${ids.dtype}, expected i32 or i64`);
    if (ids.rank !== 2) throw new RangeError(`${fn}: ${arg} has shape [${ids.shape.join(', ')}], expected [B, S]`);
    [B, S] = ids.shape;
    for (let j = 0; j < ids.size; j++) data.push(Number(ids.data[j]));
  } else {
    if (!Array.isArray(ids) || !ids.every((r) => Array.isArray(r))) throw new TypeError(`${fn}: ${arg} must be number[][] ([B][S]) or a Tensor [B, S]`);
    B = ids.length;
    S = B ? ids[0].length : 0;
    ids.forEach((r, b) => {
      if (r.length !== S) throw new RangeError(`${fn}: ${arg}[${b}] has length ${r.length}, expected ${S} (all rows the same length as ${arg}[0])`);
      data.push(...r);
    });
  }
  if (B < 1 || S < 1) throw new RangeError(`${fn}: ${arg} has shape [${B}, ${S}], expected at least one sequence of at least one token`);
  for (let j = 0; j < data.length; j++) {
    const t = data[j];
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new RangeError(`${fn}: ${arg}[${Math.floor(j / S)}][${j % S}] = ${t} is not a token id (expected an integer 0 <= id < vocab_size ${V})`);
    }
  }
  return { B, S, data: Int32Array.from(data) };
}

/** One token per sequence for a recurrent step: ids [B] (number[] or a Tensor [B]), checked as [B, 1]. */
export function checkStepIds(fn: string, tokenIds: number[] | Tensor, V: number): { B: number; data: Int32Array } {
  let ids: TokenBatch;
  if (tokenIds instanceof Tensor) {
    if (tokenIds.rank !== 1) throw new RangeError(`${fn}: tokenIds has shape [${tokenIds.shape.join(', ')}], expected [B]`);
    ids = tokenIds.reshape([tokenIds.shape[0], 1]);
  } else {
    if (!Array.isArray(tokenIds)) throw new TypeError(`${fn}: tokenIds must be number[] ([B]) or a Tensor [B]`);
    ids = tokenIds.map((t) => [t]);
  }
  const { B, data } = checkIds(fn, 'tokenIds', ids, V);
  return { B, data };
}
