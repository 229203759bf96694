// Random inputs of the 2D scan (scan2d), shared by the pLSTM kernel tests.
import { Tensor } from '../../src/tensor/tensor.js';
import { randF64 } from '../autograd/util.js';

export interface Scan2dDims { B: number; X: number; Y: number; H: number; DK: number; DV: number }

/**
 * The twelve scan2d inputs in its argument order (q, k, v, source and mark gates, the four
 * transition gates, the two direct/orthogonal weights, the output gate), as f32 tensors drawn
 * from seeds seed .. seed + 11: gates in (-1, 1) or (0, 1) as the layer produces them.
 */
export function scan2dInputs(d: Scan2dDims, seed: number): Tensor[] {
  const { B, X, Y, H, DK, DV } = d;
  const G = 4 * H;
  const gate = (s: number, lo: number, hi: number) => randF64([B, X, Y, G, 1, 1], s, lo, hi);
  return [
    randF64([B, X, Y, H, DK, 1], seed), randF64([B, X, Y, H, DK, 1], seed + 1), randF64([B, X, Y, H, DV, 1], seed + 2),
    randF64([B, X, Y, G, 1, 1, 1], seed + 3, 0, 1), randF64([B, X, Y, G, 1, 1, 1], seed + 4, 0, 1),
    gate(seed + 5, -1, 1), gate(seed + 6, -1, 1), gate(seed + 7, -1, 1), gate(seed + 8, -1, 1),
    randF64([B, X, Y, G, 1, 1, 1], seed + 9, 0, 1), randF64([B, X, Y, G, 1, 1, 1], seed + 10, 0, 1),
    randF64([B, X, Y, H, 1, 1, 1, 1], seed + 11, 0, 1),
  ].map((t) => new Tensor('f32', t.shape, t.toFloat32()));
}
