// GEMM / GEMV / linear against the float64 reference, quantiser round trips, and
// bad-input errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { f32ArrayToBf16, bf16ArrayToF32, f32ArrayToF16, f16ArrayToF32 } from '../../src/tensor/convert.js';
import { quantizeInt8, dequantizeInt8, quantizeQ4, dequantizeQ4 } from '../../src/tensor/quant.js';
import { matmul, linear } from '../../src/ops/matmul.js';
import { refGemm, refLinear } from '../../src/backend/ref/matmul.js';

// be1/be2 run the relaxed-SIMD (FMA) build where V8 allows it (Node 20 needs the
// flag, set before the first compile), beBase the baseline SIMD build.
let be1: WasmBackend, be2: WasmBackend, beBase: WasmBackend;
before(async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  be1 = await WasmBackend.create({ threads: 1 });
  be2 = await WasmBackend.create({ threads: 2 });
  beBase = await WasmBackend.create({ threads: 2, relaxedSimd: false });
  assert.equal(beBase.features.relaxedSimd, false);
});
after(() => { be1.dispose(); be2.dispose(); beBase.dispose(); });

/** Deterministic values in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = s / 2 ** 31 - 1; }
  return out;
}

function close(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * Math.abs(want[i]))) assert.fail(`${label}: [${i}] got ${got[i]}, want ${want[i]} (|diff| ${d})`);
  }
}

test('gemm matches float64 reference: odd sizes, all transposes, alpha/beta, 1 and 2 threads', () => {
  const sizes: [number, number, number][] = [[1, 1, 1], [1, 9, 5], [7, 1, 3], [3, 5, 67], [13, 17, 33], [33, 31, 29], [67, 65, 63], [5, 67, 300], [66, 9, 257]];
  let seed = 1;
  for (const be of [be1, be2, beBase]) {
    for (const [M, N, K] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const A = rand(M * K, seed++), B = rand(K * N, seed++), C0 = rand(M * N, seed++);
          const a = new Tensor('f32', transA ? [K, M] : [M, K], A);
          const b = new Tensor('f32', transB ? [N, K] : [K, N], B);
          const alpha = 1.5, beta = seed % 2 ? 0.25 : 0;
          const out = be.empty([M, N]);
          (out.data as Float32Array).set(C0);
          matmul(be, a, b, { transA, transB, alpha, beta, out });
          const want = refGemm({ transA, transB, M, N, K, alpha, beta, A, B, C: C0 });
          close(`gemm ${M}x${N}x${K} tA=${transA} tB=${transB} threads=${be.threads} relaxed=${be.features.relaxedSimd}`, out.data as Float32Array, want, 1e-5 * Math.sqrt(K) * 4, 1e-5);
          out.dispose();
        }
      }
    }
  }
});

test('gemm with beta = 0 ignores NaN in out; large threaded case', () => {
  const M = 150, N = 130, K = 520;
  const A = rand(M * K, 7), B = rand(K * N, 8);
  const out = be2.empty([M, N]);
  (out.data as Float32Array).fill(NaN);
  matmul(be2, new Tensor('f32', [M, K], A), new Tensor('f32', [K, N], B), { out });
  close('gemm 150x130x520', out.data as Float32Array, refGemm({ M, N, K, A, B }), 2e-4, 1e-5);
});

test('gemm: several row blocks and depth blocks on one thread (row tails of both register tiles)', () => {
  // M spans more than one packed A block with a partial last tile for MR = 4 and 6;
  // K spans three depth blocks (KC = 512); both builds.
  const M = 203, N = 45, K = 1100;
  const A = rand(M * K, 11), B = rand(K * N, 12);
  for (const be of [be1, beBase]) {
    for (const transA of [false, true]) {
      const out = be.empty([M, N]);
      matmul(be, new Tensor('f32', transA ? [K, M] : [M, K], A), new Tensor('f32', [K, N], B), { transA, out });
      close(`gemm ${M}x${N}x${K} tA=${transA} relaxed=${be.features.relaxedSimd}`, out.data as Float32Array, refGemm({ transA, M, N, K, A, B }), 1e-5 * Math.sqrt(K) * 4, 1e-5);
      out.dispose();
    }
  }
});

test('batched matmul: 3-D a with 3-D and shared 2-D b', () => {
  const Bt = 3, M = 5, K = 6, N = 7;
  const A = rand(Bt * M * K, 11), B = rand(Bt * K * N, 12);
  const y = matmul(be2, new Tensor('f32', [Bt, M, K], A), new Tensor('f32', [Bt, K, N], B));
  assert.deepEqual(y.shape, [Bt, M, N]);
  const y2 = matmul(be2, new Tensor('f32', [Bt, M, K], A), new Tensor('f32', [K, N], B.subarray(0, K * N)));
  for (let i = 0; i < Bt; i++) {
    close(`batch ${i}`, (y.data as Float32Array).subarray(i * M * N, (i + 1) * M * N), refGemm({ M, N, K, A: A.subarray(i * M * K), B: B.subarray(i * K * N) }), 1e-5, 1e-5);
    close(`shared b ${i}`, (y2.data as Float32Array).subarray(i * M * N, (i + 1) * M * N), refGemm({ M, N, K, A: A.subarray(i * M * K), B }), 1e-5, 1e-5);
  }
});

test('linear: every weight format vs dequantised reference, GEMV and GEMM paths', () => {
  const N = 37, K = 96;
  const W = rand(N * K, 21), bias = rand(N, 22);
  const weights: [string, Tensor | ReturnType<typeof quantizeQ4>, Float32Array][] = [];
  weights.push(['f32', new Tensor('f32', [N, K], W), W]);
  const wb = f32ArrayToBf16(W); weights.push(['bf16', new Tensor('bf16', [N, K], wb), bf16ArrayToF32(wb)]);
  const wh = f32ArrayToF16(W); weights.push(['f16', new Tensor('f16', [N, K], wh), f16ArrayToF32(wh)]);
  const qi = quantizeInt8(new Tensor('f32', [N, K], W)); weights.push(['i8', qi, dequantizeInt8(qi)]);
  // x as int16 (the 8-bit default rounds x more than 1e-4: test/ops/gemvQ4Q8.test.ts)
  const q4 = quantizeQ4(new Tensor('f32', [N, K], W), { activationBits: 16 }); weights.push(['q4', q4, dequantizeQ4(q4)]);
  for (const be of [be1, be2, beBase]) {
    for (const R of [1, 3, 8, 9, 20]) {
      const X = rand(R * K, 30 + R);
      for (const [name, w, wf] of weights) {
        const y = linear(be, new Tensor('f32', R === 3 ? [1, 3, K] : [R, K], X), w, new Tensor('f32', [N], bias));
        assert.deepEqual(y.shape, R === 3 ? [1, 3, N] : [R, N]);
        close(`linear ${name} R=${R} threads=${be.threads} relaxed=${be.features.relaxedSimd}`, y.data as Float32Array, refLinear(X, wf, R, N, K, bias), 1e-4, 1e-4);
        y.dispose();
      }
    }
  }
});

test('linear GEMM path reads every weight format directly: several depth blocks, edge panels, row split, threads', () => {
  // K = 544: two depth blocks (288 + 256 with KC = 512; three with KC = 256); K = 301: one, with tails.
  // N = 37 leaves a partial 8-column panel; R = 40 > N makes the threads split rows.
  for (const [K, N, R] of [[544, 37, 20], [301, 37, 20], [544, 9, 40], [64, 1030, 12]] as const) {
    const W = rand(N * K, 60 + K), bias = rand(N, 61);
    const X = rand(R * K, 62 + R);
    const weights: [string, Tensor | ReturnType<typeof quantizeQ4>, Float32Array][] = [];
    const wb = f32ArrayToBf16(W); weights.push(['bf16', new Tensor('bf16', [N, K], wb), bf16ArrayToF32(wb)]);
    const wh = f32ArrayToF16(W); weights.push(['f16', new Tensor('f16', [N, K], wh), f16ArrayToF32(wh)]);
    const qi = quantizeInt8(new Tensor('f32', [N, K], W)); weights.push(['i8', qi, dequantizeInt8(qi)]);
    if (K % 32 === 0) { const q4 = quantizeQ4(new Tensor('f32', [N, K], W)); weights.push(['q4', q4, dequantizeQ4(q4)]); }
    weights.push(['f32', new Tensor('f32', [N, K], W), W]);
    for (const be of [be1, be2, beBase]) {
      for (const [name, w, wf] of weights) {
        const y = linear(be, new Tensor('f32', [R, K], X), w, new Tensor('f32', [N], bias));
        // f32 accumulation over K terms of size <= 1: errors ~ sqrt(K) * 6e-8.
        close(`linear GEMM ${name} K=${K} N=${N} R=${R} threads=${be.threads} relaxed=${be.features.relaxedSimd}`, y.data as Float32Array, refLinear(X, wf, R, N, K, bias), 2e-5, 2e-5);
        y.dispose();
      }
    }
  }
});

test('linear int8 / Q4 GEMV (x quantised to int16): long K, tails, batches, within the x-quantisation error bound', () => {
  // K past one 1024-weight integer chunk and with a tail; N with rows left over
  // after the 4-row (int8) / 2-row (Q4) groups; bias; up to 5 rows of x.
  const N = 13;
  for (const [fmt, K] of [['i8', 1045], ['i8', 2080], ['i8', 7], ['q4', 1056], ['q4', 2080], ['q4', 32]] as const) {
    const W = rand(N * K, 40 + K);
    const w = fmt === 'i8' ? quantizeInt8(new Tensor('f32', [N, K], W)) : quantizeQ4(new Tensor('f32', [N, K], W), { activationBits: 16 });
    const wd = fmt === 'i8' ? dequantizeInt8(w as Tensor) : dequantizeQ4(w as ReturnType<typeof quantizeQ4>);
    const bias = rand(N, 41);
    for (const be of [be1, be2, beBase]) {
      for (const R of [1, 2, 5]) {
        const X = rand(R * K, 50 + R);
        for (let i = 0; i < X.length; i += 7) X[i] *= 3; // uneven magnitudes
        const y = linear(be, new Tensor('f32', [R, K], X), w, new Tensor('f32', [N], bias));
        const want = refLinear(X, wd, R, N, K, bias);
        const got = y.data as Float32Array;
        let worst = 0;
        for (let r = 0; r < R; r++) {
          let amax = 0;
          for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(X[r * K + k]));
          const sx = amax / 32767;
          for (let n = 0; n < N; n++) {
            let sw = 0, swx = 0;
            for (let k = 0; k < K; k++) { sw += Math.abs(wd[n * K + k]); swx += Math.abs(wd[n * K + k] * X[r * K + k]); }
            // each x_k moves by at most half an int16 step (sx / 2); the rest is f32 rounding
            const bound = 0.51 * sx * sw + 2e-6 * swx + 1e-6;
            const d = Math.abs(got[r * N + n] - want[r * N + n]);
            worst = Math.max(worst, d / bound);
            if (!(d <= bound)) assert.fail(`${fmt} K=${K} R=${R} threads=${be.threads} [${r}, ${n}]: got ${got[r * N + n]}, want ${want[r * N + n]}, |diff| ${d} > bound ${bound}`);
          }
        }
        assert.ok(worst < 1);
        y.dispose();
      }
    }
  }
  // Non-finite x gives NaN (as the f32 kernels would), not a silently finite y.
  const K = 64, w = quantizeInt8(new Tensor('f32', [4, K], rand(4 * K, 9)));
  const X = rand(K, 10); X[5] = Infinity;
  for (const wq of [w, quantizeQ4(new Tensor('f32', [4, K], rand(4 * K, 9)))]) {
    const y = linear(be1, new Tensor('f32', [1, K], X), wq);
    assert.ok(Array.from(y.data as Float32Array).every((v) => Number.isNaN(v)), 'inf in x gives NaN');
  }
  // All-zero x: y = bias exactly.
  const y0 = linear(be2, new Tensor('f32', [1, K], new Float32Array(K)), w, new Tensor('f32', [4], Float32Array.from([1, 2, 3, 4])));
  assert.deepEqual(Array.from(y0.data as Float32Array), [1, 2, 3, 4]);
});

test('gemv f16 weights handle subnormals, infinities and odd K tails', () => {
  const K = 11, N = 5;
  const wh = new Uint16Array(N * K);
  for (let i = 0; i < wh.length; i++) wh[i] = [0x0001, 0x03ff, 0x8200, 0x3c00, 0xbc00, 0x7bff][i % 6];
  wh[3] = 0x7c00; // +inf in row 0
  const X = new Float32Array(K).fill(1);
  const y = linear(be1, new Tensor('f32', [K], X), new Tensor('f16', [N, K], wh));
  const want = refLinear(X, f16ArrayToF32(wh), 1, N, K);
  assert.equal((y.data as Float32Array)[0], Infinity);
  close('f16 rows 1..', (y.data as Float32Array).subarray(1), want.subarray(1), 1e-2, 1e-5);
});

test('int8 quantiser: known values and round trip', () => {
  const w = new Tensor('f32', [2, 4], Float32Array.from([1.27, -0.635, 0.005, 0, 0, 0, 0, 0]));
  const q = quantizeInt8(w);
  assert.deepEqual(Array.from(q.data as Int8Array), [127, -64, 1, 0, 0, 0, 0, 0]); // -63.5 rounds away from zero
  assert.ok(Math.abs(q.scales![0] - 0.01) < 1e-8);
  assert.equal(q.scales![1], 0);
  const W = rand(8 * 64, 3);
  const qq = quantizeInt8(new Tensor('f32', [8, 64], W));
  const back = dequantizeInt8(qq);
  for (let i = 0; i < W.length; i++) assert.ok(Math.abs(back[i] - W[i]) <= qq.scales![Math.floor(i / 64)] / 2 + 1e-7, `int8 round trip [${i}]`);
});

test('q4 quantiser: known block and round trip', () => {
  const v = new Float32Array(32);
  for (let i = 0; i < 32; i++) v[i] = (i - 16) * 0.5; // largest magnitude -8 -> d = 1
  const q = quantizeQ4(new Tensor('f32', [1, 32], v));
  assert.equal((q.scales.data as Float32Array)[0], 1);
  const p = q.packed.data as Uint8Array;
  // element 0 = -8 -> nibble 0, element 16 = 0 -> 8, element 1 = -7.5 -> 1, element 17 = 0.5 -> 9
  // (w/d + 8.5 floored: halves round up)
  assert.equal(p[0], 0 | (8 << 4));
  assert.equal(p[1], 1 | (9 << 4));
  const W = rand(4 * 64, 5);
  const q2 = quantizeQ4(new Tensor('f32', [4, 64], W));
  const back = dequantizeQ4(q2);
  const s = q2.scales.data as Float32Array;
  // Within half a step, except values clamped at nibble 15 (the side opposite the
  // largest magnitude only reaches 7|d|): within one step.
  for (let i = 0; i < W.length; i++) {
    const d = Math.abs(s[Math.floor(i / 32)]);
    const err = Math.abs(back[i] - W[i]);
    assert.ok(err <= d / 2 + 1e-6 || (Math.abs(back[i] - 7 * d * Math.sign(W[i])) < 1e-6 && err <= d + 1e-6), `q4 round trip [${i}]: ${W[i]} -> ${back[i]} (d ${d})`);
  }
});

test('bad inputs: errors name the argument and expected vs actual', () => {
  const a = new Tensor('f32', [2, 3], new Float32Array(6));
  assert.throws(() => matmul(be1, a, new Tensor('f32', [4, 5], new Float32Array(20))), /inner dims differ.*\[2, 3\].*\[4, 5\]/);
  assert.throws(() => matmul(be1, a, new Tensor('bf16', [3, 2], new Uint16Array(6))), /b must have dtype f32, got bf16/);
  assert.throws(() => matmul(be1, new Tensor('f32', [6], new Float32Array(6)), a), /a must be 2-D.*got shape \[6\]/);
  assert.throws(() => matmul(be1, a, new Tensor('f32', [3, 2], new Float32Array(6)), { out: be1.empty([3, 3]) }), /out must have shape \[2, 2\], got \[3, 3\]/);
  assert.throws(() => linear(be1, new Tensor('f32', [1, 4], new Float32Array(4)), a), /x must have shape \[\.\., 3\].*got \[1, 4\]/);
  assert.throws(() => linear(be1, new Tensor('f32', [3], new Float32Array(3)), a, new Tensor('f32', [3], new Float32Array(3))), /bias must have shape \[2\], got \[3\]/);
  assert.throws(() => quantizeQ4(new Tensor('f32', [2, 40], new Float32Array(80))), /multiple of 32.*\[2, 40\]/);
});
