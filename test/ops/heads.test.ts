// splitHeads / mergeHeads (the head transposes of the multi-head cells, assembly/heads.ts)
// against a plain JavaScript copy: the same bits, for head widths with and without a SIMD
// tail, offsets into the projection's columns, B > 1 and rows split over threads; and
// their argument errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { splitHeads, mergeHeads } from '../../src/ops/heads.js';
import { backendLabel, kernelTestBackends, randTensor } from './harness.js';

let bes: WasmBackend[];
before(async () => { bes = await kernelTestBackends(); });
after(() => bes.forEach((b) => b.dispose()));

/** [B, heads, S, D] from columns off + h*D + d of x [B, S, W], by index arithmetic. */
function splitRef(x: Tensor, off: number, heads: number, D: number): Float32Array {
  const [B, S, W] = x.shape, xd = x.data as Float32Array;
  const out = new Float32Array(B * heads * S * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) {
    out[((b * heads + h) * S + s) * D + d] = xd[(b * S + s) * W + off + h * D + d];
  }
  return out;
}

function sameBits(label: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.fail(`${label} [${i}]: ${got[i]} vs ${want[i]}`);
}

// [B, S, W], offset, heads, head width: the xLSTM Large layout (q | k | v | o and the i | f
// gates), widths 1..7 for the scalar tail, one head, B = 3, and enough rows for the pool
const CASES: [number[], number, number, number][] = [
  [[1, 5, 2304], 0, 4, 96], [[1, 5, 2304], 384, 4, 96], [[1, 5, 2304], 768, 4, 192], [[1, 5, 2304], 1536, 1, 768],
  [[2, 7, 8], 0, 4, 1], [[2, 7, 8], 4, 4, 1], [[3, 4, 23], 2, 3, 7], [[1, 3, 10], 1, 2, 3], [[2, 1, 12], 0, 2, 6],
  [[2, 300, 1100], 12, 2, 500], [[1, 1024, 1024], 0, 4, 256],
];

test('splitHeads copies the head columns to [B, NH, S, D] and mergeHeads copies them back, bit for bit', () => {
  let seed = 11;
  for (const be of bes) {
    for (const [shape, off, heads, D] of CASES) {
      const label = `${shape} off=${off} heads=${heads} D=${D} ${backendLabel(be)}`;
      const x = be.upload(randTensor(shape, seed++));
      const y = splitHeads(be, x, off, heads, D);
      assert.deepEqual(y.shape, [shape[0], heads, shape[1], D], label);
      const want = splitRef(x, off, heads, D);
      sameBits(`splitHeads ${label}`, y.data as Float32Array, want);
      const m = mergeHeads(be, y);
      assert.deepEqual(m.shape, [shape[0], shape[1], heads * D], label);
      // the merged rows are the head columns of x again
      const xd = x.data as Float32Array, md = m.data as Float32Array;
      const cols = new Float32Array(m.size);
      for (let r = 0; r < shape[0] * shape[1]; r++) cols.set(xd.subarray(r * shape[2] + off, r * shape[2] + off + heads * D), r * heads * D);
      sameBits(`mergeHeads ${label}`, md, cols);
      for (const t of [x, y, m]) t.dispose();
    }
  }
});

test('splitHeads and mergeHeads write into out and take inputs from JS memory', () => {
  const be = bes[1];
  const x = randTensor([2, 3, 8], 3);
  const out = be.empty([2, 2, 3]);
  const r = splitHeads(be, x, 4, 2, 1, out.reshape([2, 2, 3, 1]));
  assert.equal(r.data, out.data);
  sameBits('gates', out.data as Float32Array, splitRef(x, 4, 2, 1));
  const h = randTensor([2, 2, 3, 4], 4);
  const m = be.empty([2, 3, 8]);
  mergeHeads(be, h, m);
  sameBits('merge from JS', splitHeads(be, m, 0, 2, 4).data as Float32Array, h.data as Float32Array);
  out.dispose(); m.dispose();
});

test('splitHeads and mergeHeads reject bad shapes, columns past the row, other dtypes and a misshaped out', () => {
  const be = bes[0];
  const x = randTensor([1, 4, 10], 1);
  assert.throws(() => splitHeads(be, randTensor([4, 10], 1), 0, 2, 5), /splitHeads: x must be 3-D \[B, S, W\], got shape \[4, 10\]/);
  assert.throws(() => splitHeads(be, x, 2, 2, 5), /splitHeads: columns 2 \.\. 12 \(offset \+ heads 2 x headDim 5\) exceed x's last dim 10 \(shape \[1, 4, 10\]\)/);
  assert.throws(() => splitHeads(be, x, -1, 2, 5), /splitHeads: offset must be an integer >= 0, got -1/);
  assert.throws(() => splitHeads(be, x, 0, 2.5, 2), /splitHeads: heads must be an integer >= 0, got 2.5/);
  assert.throws(() => splitHeads(be, new Tensor('i32', [1, 1, 2], new Int32Array(2)), 0, 1, 2), /splitHeads: x must have dtype f32, got i32/);
  const out = be.empty([1, 2, 4, 4]);
  assert.throws(() => splitHeads(be, x, 0, 2, 5, out), /splitHeads: out must have shape \[1, 2, 4, 5\], got \[1, 2, 4, 4\]/);
  assert.throws(() => mergeHeads(be, x), /mergeHeads: h must be 4-D \[B, NH, S, D\], got shape \[1, 4, 10\]/);
  assert.throws(() => mergeHeads(be, randTensor([1, 2, 4, 5], 2), out), /mergeHeads: out must have shape \[1, 4, 10\], got \[1, 2, 4, 4\]/);
  out.dispose();
});
