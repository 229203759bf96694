// A model trained on one grid is applied to a larger one (the vision model at 2x the image size).
// Each corner scan only sees the cells between its corner and the cell, so on a larger grid whose
// block next to that corner holds the small grid's inputs, that block's outputs must equal the
// small grid's exactly: nothing in the scan may depend on the grid's size. Checked for every
// corner (the flips index from the far side of the LARGER grid), non-square grids, the wasm
// kernels on 1 and 2 threads and the float64 reference.
import { test, before, after } from 'node:test';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Tape } from '../../src/autograd/tape.js';
import { scan2d, Scan2dOrientation } from '../../src/xlstm/plstm/index.js';
import { scan2dInputs } from './plstmInputs.js';
import { assertClose } from '../helpers/golden.js';

let bes: WasmBackend[];
before(async () => { bes = [await WasmBackend.create({ threads: 1 }), await WasmBackend.create({ threads: 2 })]; });
after(() => bes.forEach((b) => b.dispose()));

const B = 2, H = 2, DK = 4, DV = 8;
const small = { X: 3, Y: 4 }, large = { X: 7, Y: 6 };

function inputs(X: number, Y: number, seed: number): Tensor[] {
  return scan2dInputs({ B, X, Y, H, DK, DV }, seed);
}

/** Copies `src` [B, x, y, ...] into the block of `dst` [B, X, Y, ...] starting at (x0, y0). */
function pasteBlock(dst: Tensor, src: Tensor, x0: number, y0: number): Tensor {
  const [, X, Y] = dst.shape, [, x, y] = src.shape, inner = src.size / (B * x * y);
  const out = Float32Array.from(dst.toFloat32()), s = src.toFloat32();
  for (let b = 0; b < B; b++) for (let i = 0; i < x; i++) for (let j = 0; j < y; j++) {
    out.set(s.subarray(((b * x + i) * y + j) * inner, ((b * x + i) * y + j + 1) * inner), ((b * X + i + x0) * Y + j + y0) * inner);
  }
  return new Tensor('f32', dst.shape, out);
}

/** The block of y [B, X, Y, D] starting at (x0, y0) with the small grid's size. */
function block(y: ArrayLike<number>, X: number, Y: number, D: number, x0: number, y0: number): Float64Array {
  const out = new Float64Array(B * small.X * small.Y * D);
  for (let b = 0; b < B; b++) for (let i = 0; i < small.X; i++) for (let j = 0; j < small.Y; j++) for (let d = 0; d < D; d++) {
    out[((b * small.X + i) * small.Y + j) * D + d] = y[((b * X + i + x0) * Y + j + y0) * D + d];
  }
  return out;
}

function scan(be: WasmBackend, ins: Tensor[], o: Scan2dOrientation, reference: boolean): ArrayLike<number> {
  const t = new Tape(be, 'f32');
  const xs = ins.map((x) => t.input(x));
  return scan2d(t, { q: xs[0], k: xs[1], v: xs[2], sR: xs[3], sD: xs[4], tRL: xs[5], tDU: xs[6], tDL: xs[7], tRU: xs[8], mL: xs[9], mU: xs[10], d: xs[11] }, [o], { reference }).data as ArrayLike<number>;
}

test('plstm2d corner scans on a larger grid: the block next to the corner equals the small grid (wasm 1/2 threads, f64 reference)', () => {
  const smallIns = inputs(small.X, small.Y, 5);
  const bigIns = inputs(large.X, large.Y, 50);
  for (let o = 0; o < 4; o++) {
    const flipX = o % 2 === 1, flipY = o >= 2;
    const orient: Scan2dOrientation = { gateOffset: o, gateStride: 4, flipX, flipY };
    // the block at the corner this scan starts from
    const x0 = flipX ? large.X - small.X : 0, y0 = flipY ? large.Y - small.Y : 0;
    const grown = bigIns.map((t, i) => pasteBlock(t, smallIns[i], x0, y0));
    for (const be of bes) for (const reference of [false, true]) {
      const ySmall = scan(be, smallIns, orient, reference);
      const yBig = scan(be, grown, orient, reference);
      const D = ySmall.length / (B * small.X * small.Y);
      assertClose(`corner ${o} (${reference ? 'reference' : `wasm, ${be.threads} threads`})`, block(yBig, large.X, large.Y, D, x0, y0), ySmall, 1e-6, 1e-6);
    }
  }
});
