// Q4 GEMV with x rounded to Q8_0 blocks (assembly/gemvQ8.ts): the quantisation kernel
// against a JS mirror of its arithmetic, bit for bit; the GEMV against the same quantised
// arithmetic done exactly in float64 (to f32 rounding, and exactly where every value is a
// small multiple of a power of two); against the unrounded product within the Q8_0 error
// bound; odd K (block counts) and N (row tails), batches, 1 and 2 threads, the relaxed-SIMD
// and the baseline build; non-finite x; the activationBits option.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { kernelTestBackends, backendLabel } from './harness.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Q4Weight, Q4_DEFAULT_ACTIVATION_BITS, quantizeQ4, dequantizeQ4 } from '../../src/tensor/quant.js';
import { linear } from '../../src/ops/matmul.js';
import { refLinear } from '../../src/backend/ref/matmul.js';
import { ArgumentError } from '../../src/errors.js';

let bes: WasmBackend[] = [];
before(async () => { bes = await kernelTestBackends(); });
after(() => { for (const b of bes) b.dispose(); });

const label = backendLabel;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}
function rand(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

function roundEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : (f % 2 === 0 ? f : f + 1);
}

/** JS mirror of the kernel's Q8_0 rounding (f32 arithmetic via Math.fround). */
function refQuantizeQ8(x: Float32Array, K: number, B: number): { q: Int8Array; d: Float32Array } {
  const nb = K / 32;
  const q = new Int8Array(B * K), d = new Float32Array(B * nb);
  for (let r = 0; r < B * nb; r++) {
    const o = r * 32;
    let amax = 0;
    for (let i = 0; i < 32; i++) { const a = Math.abs(x[o + i]); amax = Number.isNaN(a) || Number.isNaN(amax) ? NaN : Math.max(amax, a); }
    const dd = amax < Infinity ? Math.fround(amax / 127) : NaN;
    const id = dd > 0 ? Math.fround(1 / dd) : 0;
    d[r] = dd;
    for (let i = 0; i < 32; i++) {
      const v = Math.fround(x[o + i] * id);
      q[o + i] = Number.isNaN(v) ? 0 : Math.max(-127, Math.min(127, roundEven(v)));
    }
  }
  return { q, d };
}

/** Nibble value (0..15) of element i of row n of a Q4 weight with K columns. */
function nibble(packed: Uint8Array, K: number, n: number, i: number): number {
  const j = i >> 5, e = i & 31;
  const byte = packed[n * (K / 2) + j * 16 + (e & 15)];
  return e < 16 ? byte & 15 : byte >> 4;
}

/**
 * y[b, n] = sum_j dw[n, j] d[b, j] sum_i (nib - 8) q (exact integers, f64 products) + bias,
 * and sum_j |each term| (the scale of the f32 rounding the kernel may add).
 */
function refQ4Q8(w: Q4Weight, q: Int8Array, d: Float32Array, B: number, bias?: Float32Array): { y: Float64Array; mag: Float64Array } {
  const [N, K] = w.shape, nb = K / 32;
  const packed = w.packed.data as Uint8Array, dw = w.scales.data as Float32Array;
  const y = new Float64Array(B * N), mag = new Float64Array(B * N);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      let s = 0, m = 0;
      for (let j = 0; j < nb; j++) {
        let si = 0;
        for (let i = 0; i < 32; i++) si += (nibble(packed, K, n, j * 32 + i) - 8) * q[b * K + j * 32 + i];
        const t = dw[n * nb + j] * d[b * nb + j] * si;
        s += t; m += Math.abs(t);
      }
      y[b * N + n] = s + (bias ? bias[n] : 0);
      mag[b * N + n] = m + (bias ? Math.abs(bias[n]) : 0);
    }
  }
  return { y, mag };
}

test('quantizeQ8 kernel: int8 values, block corrections and scales in pairs of blocks equal the JS mirror bit for bit', () => {
  // record of pair i of a row (96 bytes): 2 x 32 q, i32x4 corrections [c0, c1, c0, c1] with
  // c = 8 * sum(q), f32x4 [d0, d1, d0, d1]; a row's last pair padded with a zero block when K / 32 is odd
  for (const [K, B] of [[32, 1], [96, 3], [800, 2], [256, 2]] as const) {
    const X = rand(B * K, K + B);
    for (let i = 0; i < X.length; i += 5) X[i] *= 40; // uneven magnitudes across blocks
    for (let i = 32; i < 64 && i < X.length; i++) X[i] = 0; // an all-zero block (when there are two)
    if (X.length >= 96) X[70] = Infinity; // a non-finite block: d = NaN
    const want = refQuantizeQ8(X, K, B);
    const nb = K / 32, np = Math.ceil(nb / 2);
    for (const be of bes) {
      const bytes = (be.exports.gemvQ8ScratchBytes as (k: number, b: number) => number)(K, B);
      assert.equal(bytes, B * np * 96);
      const x = be.upload(new Tensor('f32', [B, K], X));
      const out = be.empty([bytes / 4]);
      (out.data as Float32Array).fill(NaN); // the padding must be written, not left as found
      be.run('quantizeQ8', [be.ptr(x), K, B, be.ptr(out)], be.threads);
      const buf = (out.data as Float32Array).buffer, off = be.ptr(out);
      const i8 = new Int8Array(buf, off, bytes), i32 = new Int32Array(buf, off, bytes / 4), f = new Float32Array(buf, off, bytes / 4);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < 2 * np; j++) {
          const p = (b * np + (j >> 1)) * 96, l = j & 1, r = b * nb + j, real = j < nb;
          for (let i = 0; i < 32; i++) {
            const wq = real ? want.q[r * 32 + i] : 0;
            if (i8[p + 32 * l + i] !== wq) assert.fail(`K=${K} B=${B} ${label(be)} row ${b} block ${j} q[${i}]: got ${i8[p + 32 * l + i]}, want ${wq}`);
          }
          let s = 0;
          if (real) for (let i = 0; i < 32; i++) s += want.q[r * 32 + i];
          const wd = real ? want.d[r] : 0;
          for (const lane of [l, l + 2]) {
            assert.equal(i32[(p + 64) / 4 + lane], 8 * s, `K=${K} B=${B} ${label(be)} row ${b} block ${j} correction lane ${lane}`);
            assert.ok(Object.is(f[(p + 80) / 4 + lane], wd), `K=${K} B=${B} ${label(be)} row ${b} block ${j} d lane ${lane}: got ${f[(p + 80) / 4 + lane]}, want ${wd}`);
          }
        }
      }
      x.dispose(); out.dispose();
    }
  }
});

test('Q4 x Q8_0 GEMV: equals the float64 result of the same integer arithmetic to f32 rounding; odd K and N, batches, threads, both builds', () => {
  assert.ok(bes.some((b) => b.features.relaxedSimd), 'the relaxed-SIMD build must be among the tested ones');
  // odd block counts (the padded last pair) and the model's K = 768 and 2048 (even)
  for (const [N, K] of [[13, 800], [1, 32], [37, 2080], [6, 96], [19, 768], [8, 2048]] as const) {
    const w = quantizeQ4(new Tensor('f32', [N, K], rand(N * K, 3 * N + K)), { activationBits: 8 });
    const bias = rand(N, 5);
    for (const B of [1, 2, 3, 8]) {
      const X = rand(B * K, 100 + B + K);
      for (let i = 0; i < X.length; i += 11) X[i] *= 7;
      const { q, d } = refQuantizeQ8(X, K, B);
      const { y: want, mag } = refQ4Q8(w, q, d, B, bias);
      const nb = K / 32;
      for (const be of bes) {
        const y = linear(be, new Tensor('f32', [B, K], X), w, new Tensor('f32', [N], bias));
        const got = y.data as Float32Array;
        for (let i = 0; i < got.length; i++) {
          // nb block terms and the bias summed in f32 (even and odd blocks in 2 lanes, then across), each at most one rounding of 2^-24 (two without FMA)
          const tol = (nb + 8) * 2 ** -23 * mag[i];
          if (!(Math.abs(got[i] - want[i]) <= tol)) assert.fail(`N=${N} K=${K} B=${B} ${label(be)} [${i}]: got ${got[i]}, want ${want[i]}, |diff| ${Math.abs(got[i] - want[i])} > ${tol}`);
        }
        y.dispose();
      }
    }
  }
});

test('Q4 x Q8_0 GEMV: bit-exact where scales are powers of two and x is on the int8 grid', () => {
  // dw in {1/2, 1/4}, d in {1/2, 1}: every term is a multiple of 1/8 below 2^14 and at most
  // 16 blocks x 4 lanes of them sum below 2^23 eighths, so the f32 sums are exact.
  for (const [N, K] of [[5, 32], [13, 160], [8, 512]] as const) {
    const r = rng(N * 31 + K);
    const nb = K / 32;
    const packed = Uint8Array.from({ length: (N * K) / 2 }, () => Math.floor(r() * 256));
    const scales = Float32Array.from({ length: N * nb }, () => (r() < 0.5 ? 0.5 : 0.25));
    const w = new Q4Weight([N, K], new Tensor('u8', [N, K / 2], packed), new Tensor('f32', [N, nb], scales));
    assert.equal(w.activationBits, Q4_DEFAULT_ACTIVATION_BITS);
    const bias = Float32Array.from({ length: N }, () => Math.floor(r() * 200 - 100) / 8);
    for (const B of [1, 3]) {
      const X = new Float32Array(B * K);
      for (let j = 0; j < B * nb; j++) {
        const dx = r() < 0.5 ? 0.5 : 1;
        for (let i = 0; i < 32; i++) X[j * 32 + i] = Math.round(r() * 254 - 127) * dx;
        X[j * 32 + Math.floor(r() * 32)] = (r() < 0.5 ? -127 : 127) * dx; // max|x| = 127 d exactly
      }
      const { q, d } = refQuantizeQ8(X, K, B);
      for (let i = 0; i < X.length; i++) assert.ok(q[i] * d[i >> 5] === X[i], `x[${i}] = ${X[i]} is on its own int8 grid`);
      const { y: want } = refQ4Q8(w, q, d, B, bias);
      for (const be of bes) {
        const y = linear(be, new Tensor('f32', [B, K], X), w, new Tensor('f32', [N], bias));
        const got = y.data as Float32Array;
        for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) assert.fail(`N=${N} K=${K} B=${B} ${label(be)} [${i}]: got ${got[i]}, want exactly ${want[i]}`);
        y.dispose();
      }
    }
  }
});

test('Q4 x Q8_0 GEMV vs the unrounded product: within the Q8_0 bound, and the int16 option closer', () => {
  const N = 11, K = 1056, nb = K / 32;
  const W = rand(N * K, 77);
  const w8 = quantizeQ4(new Tensor('f32', [N, K], W));
  const w16 = w8.withActivationBits(16);
  assert.equal(w8.activationBits, 8);
  assert.equal(w16.activationBits, 16);
  assert.equal(w16.packed, w8.packed, 'withActivationBits shares the weights');
  const wd = dequantizeQ4(w8);
  for (const B of [1, 4]) {
    const X = rand(B * K, 78 + B);
    for (let i = 0; i < X.length; i += 13) X[i] *= 5;
    const exact = refLinear(X, wd, B, N, K);
    const { d } = refQuantizeQ8(X, K, B);
    for (const be of bes) {
      const y8 = linear(be, new Tensor('f32', [B, K], X), w8), y16 = linear(be, new Tensor('f32', [B, K], X), w16);
      let err8 = 0, err16 = 0;
      for (let b = 0; b < B; b++) {
        for (let n = 0; n < N; n++) {
          // each x moves by at most half its block's step d / 2; the rest is f32 rounding
          let bound = 0, swx = 0;
          for (let j = 0; j < nb; j++) {
            let sw = 0;
            for (let i = 0; i < 32; i++) { sw += Math.abs(wd[n * K + j * 32 + i]); swx += Math.abs(wd[n * K + j * 32 + i] * X[b * K + j * 32 + i]); }
            bound += (d[b * nb + j] / 2) * sw;
          }
          bound = 1.001 * bound + 4e-6 * swx;
          const i = b * N + n;
          const e8 = Math.abs((y8.data as Float32Array)[i] - exact[i]);
          if (!(e8 <= bound)) assert.fail(`B=${B} ${label(be)} [${b}, ${n}]: 8-bit x error ${e8} > bound ${bound}`);
          err8 += e8; err16 += Math.abs((y16.data as Float32Array)[i] - exact[i]);
        }
      }
      assert.ok(err16 < err8 / 10, `int16 x (total error ${err16}) is much closer than int8 x (${err8})`);
      assert.ok(err8 > 0, 'the 8-bit path does round x');
      y8.dispose(); y16.dispose();
    }
  }
});

test('Q4 x Q8_0 GEMV: a non-finite x gives NaN rows (other rows finite), an all-zero x gives the bias', () => {
  const N = 6, K = 96;
  const w = quantizeQ4(new Tensor('f32', [N, K], rand(N * K, 9)));
  const bias = rand(N, 10);
  for (const be of bes) {
    for (const bad of [Infinity, NaN]) {
      const X = rand(2 * K, 11);
      X[K + 40] = bad; // row 1 only
      const y = linear(be, new Tensor('f32', [2, K], X), w, new Tensor('f32', [N], bias));
      const got = y.data as Float32Array;
      for (let n = 0; n < N; n++) {
        assert.ok(Number.isFinite(got[n]), `${label(be)} row 0 [${n}] finite`);
        assert.ok(Number.isNaN(got[N + n]), `${label(be)} x = ${bad} in row 1 gives NaN at [1, ${n}], got ${got[N + n]}`);
      }
      y.dispose();
    }
    const y = linear(be, new Tensor('f32', [1, K], new Float32Array(K)), w, new Tensor('f32', [N], bias));
    assert.deepEqual(Array.from(y.data as Float32Array), Array.from(bias));
    y.dispose();
  }
});

test('activationBits: only 8 or 16, named in the error', () => {
  const t = new Tensor('f32', [2, 32], rand(64, 1));
  assert.throws(() => quantizeQ4(t, { activationBits: 4 as never }), (e: Error) => e instanceof ArgumentError && /activationBits must be 8 or 16, got 4/.test(e.message));
  const w = quantizeQ4(t);
  assert.throws(() => w.withActivationBits(32 as never), /withActivationBits: activationBits must be 8 or 16, got 32/);
  assert.throws(() => new Q4Weight([2, 32], w.packed, w.scales, { activationBits: '8' as never }), /Q4Weight: activationBits must be 8 or 16, got "8"/);
});

test('Q4 x Q8_0 GEMV at B = 1: long rows read one at a time give the bits of the row pairs a batch uses', () => {
  // K >= 1024 (rows of 512 bytes or more) takes the one-row-at-a-time loop at B = 1; a batch of 2
  // keeps the row pairs, each row computed alike, so row 0 of the batch must equal the B = 1 result
  for (const [N, K] of [[37, 2080], [10, 1024], [13, 800]] as const) {
    const w = quantizeQ4(new Tensor('f32', [N, K], rand(N * K, 11 + K)));
    const X = rand(2 * K, 5 + N);
    for (const be of bes) {
      const one = linear(be, new Tensor('f32', [1, K], X.slice(0, K)), w).toFloat32();
      const two = linear(be, new Tensor('f32', [2, K], X), w).toFloat32();
      const a = new Uint32Array(one.buffer, one.byteOffset, N), b = new Uint32Array(two.buffer, two.byteOffset, N);
      assert.ok(one.some((v) => v !== 0) && one.every(Number.isFinite), `N=${N} K=${K} ${label(be)}: output not finite or all zero`);
      for (let i = 0; i < N; i++) if (a[i] !== b[i]) assert.fail(`N=${N} K=${K} ${label(be)} [${i}]: B=1 ${one[i]} vs row 0 of B=2 ${two[i]}`);
    }
  }
});
