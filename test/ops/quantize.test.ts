// Load-time quantisation in wasm (ops/quantize.ts, kernels assembly/quantize.ts) against the
// JavaScript reference (tensor/quant.ts quantizeInt8 / quantizeQ4): the same bytes and the
// same scale bits, for bf16, f16 and f32 sources, on random rows and adversarial ones (zeros
// and -0, NaN of both signs and other payloads, ±inf, subnormals, exact ties of the
// rounding, equal magnitudes of both signs, the largest finite values), on 1 and 2 threads
// and the baseline SIMD build, with row lengths that leave SIMD tails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { kernelTestBackends } from './harness.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Q4Weight, quantizeInt8, quantizeQ4 } from '../../src/tensor/quant.js';
import { quantizeInt8OnHeap, quantizeQ4OnHeap, quantizeRowsInt8Into, quantizeRowsQ4Into } from '../../src/ops/quantize.js';

let bes: WasmBackend[] = [];
before(async () => { bes = await kernelTestBackends(); });
after(() => { for (const b of bes) b.dispose(); });

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}

const f32Bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const bitsF32 = (b: number) => new Float32Array(new Uint32Array([b >>> 0]).buffer)[0];
/** bf16 bits of an f32 value that bf16 holds exactly (asserted). */
function bf(x: number): number {
  const b = f32Bits(x);
  assert.equal(b & 0xffff, 0, `${x} is not a bf16 value`);
  return b >>> 16;
}

type Kind = 'bf16' | 'f16' | 'f32';
interface Case { label: string; kind: Kind; rows: number; cols: number; data: Uint16Array | Float32Array }

/** A matrix of `rows` rows: each row from `make(r)`, padded/cut to `cols` from the random stream. */
function matrix(label: string, kind: Kind, cols: number, rowsList: number[][], seed: number): Case {
  const rnd = lcg(seed);
  const rows = rowsList.length;
  const data = kind === 'f32' ? new Float32Array(rows * cols) : new Uint16Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) {
      const given = rowsList[r][i];
      if (given !== undefined) { data[r * cols + i] = given; continue; }
      if (kind === 'f32') data[r * cols + i] = bitsF32((rnd() & 0x87ffffff) | 0x38000000); // |x| in [2^-15, 2^1)
      else if (kind === 'bf16') data[r * cols + i] = (rnd() >>> 16 & 0x87ff) | 0x3800;
      else data[r * cols + i] = (rnd() >>> 16 & 0x83ff) | 0x3000; // f16 |x| in [2^-3, 2^1)
    }
  }
  return { label, kind, rows, cols, data };
}

const NAN_BF = [0x7fc0, 0xffc0, 0x7f81, 0xffff];
const INF_BF = 0x7f80, NINF_BF = 0xff80;

/** Adversarial bf16 rows (each at most `cols` long; the rest random). */
function bf16Rows(cols: number): number[][] {
  const rows: number[][] = [];
  const zeros = (v: number) => Array.from({ length: cols }, () => v);
  rows.push(zeros(0), zeros(0x8000)); // +0 and -0
  rows.push([]); // random
  for (const n of NAN_BF) rows.push([bf(1), n, bf(-3)]);
  rows.push([bf(2), INF_BF, bf(-1)], [NINF_BF, bf(5)], [INF_BF, 0x7fc0], [NINF_BF, INF_BF]);
  rows.push(Array.from({ length: cols }, (_, i) => ((i * 37) & 0x7f) | (i & 1 ? 0x8000 : 0))); // only subnormals
  rows.push([0x0001, ...zeros(0).slice(1)]); // one tiny subnormal: amax / 127 stays nonzero in f32
  rows.push([0x0001, bf(2 ** -10), 0x8005]); // subnormals next to normals
  // ties of int8 rounding: amax 127 gives scale 1, so k + 0.5 sits exactly between two codes
  rows.push([bf(127), ...Array.from({ length: 127 }, (_, k) => bf((k % 2 ? -1 : 1) * (k + 0.5)))]);
  rows.push([bf(-127), bf(0.5), bf(-0.5), bf(1.5), bf(-1.5), bf(126.5), bf(-126.5)]);
  rows.push([0x7f7f, 0xff7f, bf(1)]); // largest finite magnitudes
  rows.push(zeros(bf(-2.5))); // one value everywhere
  return rows.map((r) => r.slice(0, cols));
}

/** Adversarial Q4 blocks (32 values each; the rest of the row random). */
function q4Blocks(): number[][] {
  const b: number[][] = [];
  const fill = (v: number) => Array.from({ length: 32 }, () => v);
  b.push(fill(0), fill(0x8000), fill(0x7fc0));
  b.push([bf(-3), bf(3), ...fill(bf(1)).slice(2)], [bf(3), bf(-3), ...fill(bf(1)).slice(2)]); // first of equal magnitudes wins
  b.push([bf(1), bf(-8), bf(8), ...fill(bf(0.5)).slice(3)]); // d = 1: ties of floor(x + 8.5)
  // m = -8 -> d = 1, id = 1: x * id + 8.5 lands exactly on integers for x = k + 0.5
  b.push([bf(-8), ...Array.from({ length: 31 }, (_, k) => bf((k % 16) - 7.5))]);
  b.push([bf(8), ...Array.from({ length: 31 }, (_, k) => bf(7.5 - (k % 16)))]);
  b.push([0x7fc0, bf(2), 0xffc1, bf(-4)], [INF_BF, bf(1), 0x7fc0], [NINF_BF, bf(-1)], [INF_BF, NINF_BF]);
  b.push(Array.from({ length: 32 }, (_, i) => (i * 5) & 0x7f | (i & 2 ? 0x8000 : 0))); // subnormals only
  b.push([0x0001, ...fill(0).slice(1)], [0x8001, 0x0001]); // d underflows to -0 / 0
  b.push([0x7f7f, 0xff7f, bf(2 ** -100)]);
  return b;
}

function toTensor(c: Case): Tensor { return new Tensor(c.kind, [c.rows, c.cols], c.data); }

function sameScale(label: string, got: number, want: number): void {
  if (Number.isNaN(want)) { assert.ok(Number.isNaN(got), `${label}: scale ${got}, expected NaN`); return; }
  assert.equal(f32Bits(got), f32Bits(want), `${label}: scale bits ${f32Bits(got).toString(16)} (${got}), expected ${f32Bits(want).toString(16)} (${want})`);
}

function sameBytes(label: string, got: ArrayLike<number>, want: ArrayLike<number>, cols: number): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.fail(`${label}: element ${i} (row ${Math.floor(i / cols)}) is ${got[i]}, expected ${want[i]}`);
  }
}

function checkInt8(be: WasmBackend, c: Case): void {
  const label = `int8 ${c.label} [${c.rows}, ${c.cols}] ${be.threads}t${be.features.relaxedSimd ? '' : ' baseline'}`;
  const want = quantizeInt8(toTensor(c));
  const got = quantizeInt8OnHeap(be, toTensor(c));
  try {
    assert.ok(be.heap.owns(got.data) && be.heap.owns(got.scales!), `${label}: on the heap`);
    sameBytes(label, got.data as Int8Array, want.data as Int8Array, c.cols);
    for (let r = 0; r < c.rows; r++) sameScale(`${label} row ${r}`, got.scales![r], want.scales![r]);
  } finally { got.dispose(); }
}

function checkQ4(be: WasmBackend, c: Case): void {
  const label = `q4 ${c.label} [${c.rows}, ${c.cols}] ${be.threads}t${be.features.relaxedSimd ? '' : ' baseline'}`;
  const want = quantizeQ4(toTensor(c));
  const got = quantizeQ4OnHeap(be, toTensor(c));
  try {
    assert.ok(got instanceof Q4Weight && be.heap.owns(got.packed.data), `${label}: on the heap`);
    sameBytes(label, got.packed.data as Uint8Array, want.packed.data as Uint8Array, c.cols / 2);
    const gs = got.scales.data as Float32Array, ws = want.scales.data as Float32Array;
    for (let b = 0; b < ws.length; b++) sameScale(`${label} block ${b}`, gs[b], ws[b]);
  } finally { got.dispose(); }
}

test('int8 from bf16: kernel = JS reference on random and adversarial rows, SIMD tails, threads', () => {
  for (const cols of [128, 131, 16, 7, 1]) {
    const c = matrix('adversarial', 'bf16', cols, bf16Rows(cols), cols);
    for (const be of bes) checkInt8(be, c);
  }
  // big enough that two threads split the rows
  const big = matrix('random', 'bf16', 4096 + 8, Array.from({ length: 33 }, () => []), 5);
  for (const be of bes) checkInt8(be, big);
});

test('q4 from bf16: kernel = JS reference on random and adversarial blocks, threads', () => {
  const blocks = q4Blocks();
  for (const cols of [32, 96, 4096]) {
    const perRow = cols / 32;
    const rowsList: number[][] = [];
    for (let i = 0; i < blocks.length; i += perRow) rowsList.push(blocks.slice(i, i + perRow).flatMap((b) => [...b, ...Array(32 - b.length).fill(undefined)]));
    rowsList.push([]);
    const c = matrix('adversarial', 'bf16', cols, rowsList, cols + 1);
    for (const be of bes) checkQ4(be, c);
  }
  const big = matrix('random', 'bf16', 2048, Array.from({ length: 40 }, () => []), 9);
  for (const be of bes) checkQ4(be, big);
});

test('int8 and q4 from f32 and f16 sources: kernel = JS reference (ties, subnormals, NaN, inf)', () => {
  const rnd = lcg(77);
  // f32: values exactly on and next to the int8 rounding ties of a non-trivial scale
  const cols = 67;
  const tieRow = (sign: number): number[] => {
    const amax = 3.1415927;
    const s = Math.fround(Math.fround(amax) / 127);
    const row = [Math.fround(amax) * sign];
    for (let k = 0; row.length < cols; k++) {
      const x = Math.fround((k % 127 + 0.5) * s) * (k % 2 ? -1 : 1);
      row.push(x, bitsF32(f32Bits(x) + 1), bitsF32(f32Bits(x) - 1));
    }
    return row.slice(0, cols);
  };
  const f32Rows: number[][] = [
    tieRow(1), tieRow(-1), [], [NaN, 1], [-Infinity, 2], [bitsF32(1), bitsF32(0x80000003)], // smallest subnormals: scale 0
    [bitsF32(0x00400000), 1e-40, -3e-39], [3.4028234663852886e38, -3.4028234663852886e38, 1],
    Array.from({ length: cols }, () => bitsF32(rnd())), // any bit pattern, NaNs included
  ];
  const f16Rows: number[][] = [[], [0x7e00, 0x3c00], [0x7c00, 0xbc00], [0xfc00], [0x0001, 0x8003, 0x03ff], Array.from({ length: cols }, () => rnd() >>> 16)];
  // rows of random scale (down to subnormal) full of values on and one ulp either side of its ties
  const fuzzRows: number[][] = [];
  for (let r = 0; r < 48; r++) {
    const amax = Math.fround(bitsF32((((rnd() % 250) + 1) << 23) | (rnd() & 0x7fffff)) * (r % 6 === 0 ? 2 ** -140 : 1));
    const s = Math.fround(amax / 127);
    const row = [amax];
    while (row.length < 509) {
      const x = Math.fround(((rnd() % 128) + 0.5) * s);
      const v = [x, bitsF32(f32Bits(x) + 1), bitsF32(f32Bits(x) - 1)][rnd() % 3];
      row.push(Number.isFinite(v) && Math.abs(v) <= amax ? (rnd() & 1 ? -v : v) : 0);
    }
    fuzzRows.push(row);
  }
  // exact ties x = (k - 0.5) * scale where x * f64(1 / scale) falls just below the tie
  // (a kernel multiplying by the inverse without a margin rounds these down)
  const below = [[2.5816333959483018e-8, 2], [1914112, 48], [0.0000863661989569664, 32], [0.00002535874955356121, 14], [0.03100675344467163, 4]];
  const belowRows = below.map(([sc, k]) => { const x = Math.fround((k - 0.5) * sc); return [Math.fround(127 * sc), x, -x]; });
  for (const be of bes) {
    checkInt8(be, matrix('f32 ties below the inverse product', 'f32', 3, belowRows, 9));
    checkInt8(be, matrix('f32 ties of random scales', 'f32', 509, fuzzRows, 8));
    checkInt8(be, matrix('f32', 'f32', cols, f32Rows, 3));
    checkInt8(be, matrix('f16', 'f16', cols, f16Rows, 4));
    const q4f32 = f32Rows.map((r) => r.slice(0, 64));
    q4f32.push(Array.from({ length: 64 }, (_, k) => (k % 16) - 7.5 - (k === 0 ? 0.5 : 0)));
    checkQ4(be, matrix('f32', 'f32', 64, q4f32, 5));
    checkQ4(be, matrix('f16', 'f16', 64, f16Rows.map((r) => r.slice(0, 64)), 6));
  }
});

test('quantisation into heap views: row ranges land in place; bad arguments are named', () => {
  const be = bes[1];
  const c = matrix('random', 'bf16', 64, Array.from({ length: 6 }, () => []), 11);
  const src = be.upload(toTensor(c));
  const q = be.zeros([6, 64], 'i8'), s = be.zeros([6], 'f32');
  try {
    // rows 2..5 only, written at rows 2..5: rows 0..1 stay zero
    quantizeRowsInt8Into(be, { dtype: 'bf16', data: (src.data as Uint16Array).subarray(2 * 64, 6 * 64), rows: 4, cols: 64 },
      (q.data as Int8Array).subarray(2 * 64), (s.data as Float32Array).subarray(2));
    const want = quantizeInt8(toTensor(c));
    sameBytes('rows 2..5', (q.data as Int8Array).subarray(2 * 64), (want.data as Int8Array).subarray(2 * 64), 64);
    assert.ok((q.data as Int8Array).subarray(0, 2 * 64).every((v) => v === 0));
    assert.deepEqual([...(s.data as Float32Array)].slice(2), [...want.scales!].slice(2));
    assert.throws(() => quantizeRowsInt8Into(be, { dtype: 'bf16', data: src.data as Uint16Array, rows: 5, cols: 64 }, q.data as Int8Array, s.data as Float32Array),
      /quantizeRowsInt8Into: source holds 384 elements, expected rows 5 x cols 64 = 320/);
    assert.throws(() => quantizeRowsInt8Into(be, { dtype: 'bf16', data: src.data as Uint16Array, rows: 6, cols: 64 }, q.data as Int8Array, (s.data as Float32Array).subarray(1)),
      /quantizeRowsInt8Into: scales holds 5 elements, expected 6/);
    assert.throws(() => quantizeRowsInt8Into(be, { dtype: 'i32', data: src.data as Uint16Array, rows: 6, cols: 64 }, q.data as Int8Array, s.data as Float32Array),
      /source dtype is i32, expected f32, bf16 or f16/);
    assert.throws(() => quantizeRowsInt8Into(be, { dtype: 'f32', data: src.data as Uint16Array, rows: 6, cols: 64 }, q.data as Int8Array, s.data as Float32Array),
      /f32 source data must be a Float32Array, got Uint16Array/);
    assert.throws(() => quantizeRowsQ4Into(be, { dtype: 'bf16', data: (src.data as Uint16Array).subarray(0, 6 * 48), rows: 6, cols: 48 }, new Uint8Array(144), new Float32Array(9)),
      /quantizeRowsQ4Into: cols is 48, expected a multiple of 32/);
    assert.throws(() => quantizeRowsQ4Into(be, { dtype: 'bf16', data: src.data as Uint16Array, rows: 6, cols: 64 }, (q.data as Uint8Array).subarray(0, 100) as never, (s.data as Float32Array)),
      /quantizeRowsQ4Into: packed holds 100 elements, expected 192/);
    assert.throws(() => quantizeQ4OnHeap(be, new Tensor('bf16', [2, 48], new Uint16Array(96))), /K \(last dim of w\) must be a multiple of 32, got shape \[2, 48\]/);
    assert.throws(() => quantizeInt8OnHeap(be, new Tensor('i32', [2, 4], new Int32Array(8))), /quantizeInt8OnHeap: w is i32, expected f32, bf16 or f16/);
    assert.throws(() => quantizeInt8OnHeap(be, new Tensor('f32', [8], new Float32Array(8))), /quantizeInt8OnHeap: w must be 2-D \[N, K\], got \[8\]/);
  } finally { q.dispose(); s.dispose(); src.dispose(); }
});
