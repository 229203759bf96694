import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, roundBf16 } from '../../src/tensor/convert.js';

test('Tensor: validates shape, dtype and length with messages that name them', () => {
  assert.throws(() => new Tensor('f32', [2, 3], new Float32Array(5)), /shape \[2, 3\] has 6 elements but data has 5/);
  assert.throws(() => new Tensor('bf16', [2], new Float32Array(2)), /dtype bf16 needs a Uint16Array, got Float32Array/);
  assert.throws(() => new Tensor('f32', [2, -1], new Float32Array(0)), /invalid shape/);
  assert.throws(() => Tensor.fromArray([1, 2, 3, 4]).reshape([3]), /cannot view \[4\] \(4 elements\) as \[3\]/);
  const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(t.reshape([3, 2]).shape, [3, 2]);
  assert.equal(new Tensor('f32', [], new Float32Array(1)).size, 1);
});

test('Tensor.toFloat32 widens every storage dtype', () => {
  const bf = new Tensor('bf16', [2], new Uint16Array([f32ToBf16(1.5), f32ToBf16(-2)]));
  assert.deepEqual(Array.from(bf.toFloat32()), [1.5, -2]);
  const h = new Tensor('f16', [2], new Uint16Array([0x3c00, 0xc000]));
  assert.deepEqual(Array.from(h.toFloat32()), [1, -2]);
  const q = new Tensor('i8', [2, 2], new Int8Array([1, -2, 3, 4]), { scales: new Float32Array([0.5, 2]) });
  assert.deepEqual(Array.from(q.toFloat32()), [0.5, -1, 6, 8]);
});

test('bf16: round-to-nearest-even, NaN, Inf, subnormals', () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  // 1 + 2^-8 is exactly halfway between bf16 1 and 1+2^-7: ties to even (1).
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80);
  // 1 + 3*2^-8 is halfway between 1+2^-7 (odd mantissa) and 1+2^-6: ties to even (up).
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(f32ToBf16(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.equal(f32ToBf16(Infinity), 0x7f80);
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  assert.equal(f32ToBf16(-0), 0x8000);
  assert.equal(bf16ToF32(0x0001), 2 ** -133); // smallest bf16 subnormal
  assert.equal(f32ToBf16(3.4028234663852886e38), 0x7f80); // f32 max rounds up to Inf in bf16
  assert.equal(roundBf16(3.14159265), 3.140625);
});

test('f16: round-to-nearest-even, subnormals, overflow', () => {
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(65520), 0x7c00); // halfway to the next binade: ties to even = Inf
  assert.equal(f32ToF16(65519), 0x7bff);
  assert.equal(f32ToF16(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(f32ToF16(2 ** -25), 0x0000); // exactly half of it: ties to even (0)
  assert.equal(f32ToF16(3 * 2 ** -25), 0x0002); // 1.5 ulp: ties to even (2)
  assert.equal(f32ToF16(2 ** -14 - 2 ** -25), 0x0400); // rounds up into the smallest normal
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie to even
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(f32ToF16(-Infinity), 0xfc00);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0x8000), -0);
  for (const v of [0.1, -3.5, 1000.25, 6.1e-5]) assert.equal(f16ToF32(f32ToF16(v)), f16ToF32(f32ToF16(f16ToF32(f32ToF16(v)))));
});
