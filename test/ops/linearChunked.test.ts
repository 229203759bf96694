// linearChunked (GEMM threads claim column chunks) gives the bits of linear for every
// weight format it takes, with and without bias, chunk sizes that leave a ragged last chunk,
// 1 and 2 threads and the plain SIMD build; Q4 and GEMV-sized inputs go to linear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { f32ArrayToBf16, f32ArrayToF16 } from '../../src/tensor/convert.js';
import { quantizeInt8, quantizeQ4 } from '../../src/tensor/quant.js';
import { linear, LinearWeight } from '../../src/ops/matmul.js';
import { linearChunked } from '../../src/ops/linearChunked.js';
import { refLinear } from '../../src/backend/ref/matmul.js';
import { backends, expectClose, randTensor } from './harness.js';

let bes: WasmBackend[];
before(async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  bes = await backends();
});
after(() => bes.forEach((b) => b.dispose()));

function sameBits(label: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.fail(`${label}: [${i}] ${got[i]} vs linear ${want[i]}`);
}

function formats(W: Float32Array, N: number, K: number): [string, LinearWeight][] {
  return [
    ['f32', new Tensor('f32', [N, K], W)],
    ['bf16', new Tensor('bf16', [N, K], f32ArrayToBf16(W))],
    ['f16', new Tensor('f16', [N, K], f32ArrayToF16(W))],
    ['i8', quantizeInt8(new Tensor('f32', [N, K], W))],
  ];
}

test('linearChunked gives the bits of linear (formats, bias, ragged chunks, threads)', () => {
  // [rows, N, K, chunk]: chunk undefined = the default; 300 / 8 and 200 / 24 leave ragged chunks
  const cases: [number, number, number, number | undefined][] = [[9, 300, 33, 8], [64, 200, 70, 24], [17, 1000, 129, undefined], [64, 2816, 64, undefined]];
  let seed = 3;
  for (const be of bes) {
    for (const [R, N, K, chunk] of cases) {
      const x = randTensor([R, K], seed++, -1, 1);
      const W = randTensor([N, K], seed++, -0.5, 0.5).data as Float32Array;
      const bias = randTensor([N], seed++, -1, 1);
      for (const [fmt, w] of formats(W, N, K)) {
        for (const b of [undefined, bias]) {
          const label = `${R}x${N}x${K} ${fmt} chunk=${chunk ?? 'default'} bias=${!!b} threads=${be.threads} relaxed=${be.features.relaxedSimd}`;
          const y = linearChunked(be, x, w, b, undefined, { chunk });
          const want = linear(be, x, w, b);
          assert.deepEqual(y.shape, [R, N]);
          sameBits(label, y.data as Float32Array, want.data as Float32Array);
          if (fmt === 'f32') expectClose(label, y.data as Float32Array, refLinear(x.data as Float32Array, W, R, N, K, b?.data as Float32Array | undefined), 1e-5, 2e-6 * Math.sqrt(K));
          y.dispose(); want.dispose();
        }
      }
    }
  }
});

test('linearChunked: Q4 weights, few rows and a leading batch axis', () => {
  const be = bes[1];
  const W = randTensor([96, 64], 7, -1, 1).data as Float32Array;
  const q4 = quantizeQ4(new Tensor('f32', [96, 64], W));
  for (const [shape, w] of [[[2, 20, 64], q4], [[3, 64], new Tensor('f32', [96, 64], W)], [[2, 20, 64], new Tensor('f32', [96, 64], W)]] as [number[], LinearWeight][]) {
    const x = randTensor(shape, 9, -1, 1);
    const y = linearChunked(be, x, w, undefined, undefined, { chunk: 16 });
    assert.deepEqual(y.shape, [...shape.slice(0, -1), 96]);
    sameBits(`shape ${shape}`, y.data as Float32Array, linear(be, x, w).data as Float32Array);
  }
});

test('linearChunked rejects a bad chunk, bias and x', () => {
  const be = bes[0];
  const x = randTensor([16, 8], 1), w = randTensor([32, 8], 2);
  assert.throws(() => linearChunked(be, x, w, undefined, undefined, { chunk: 12 }), /linearChunked: chunk must be a positive multiple of 8, got 12/);
  assert.throws(() => linearChunked(be, x, w, randTensor([31], 3)), /linearChunked: bias must have shape \[32\], got \[31\]/);
  assert.throws(() => linearChunked(be, randTensor([16, 7], 4), w), /linear: x must have shape \[\.\., 8\]/);
});
