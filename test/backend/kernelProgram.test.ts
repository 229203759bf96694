// KernelProgram (src/backend/wasm/program.ts + assembly/program.ts): a list of kernel calls run
// one dispatch per call ('calls') or as one runProgram job per run of known kernels ('fused'),
// with barriers between calls on different threads. Both must compute the same bits as calling
// the kernels one by one, also when every barrier sleeps (spins 0: the waiting path) and over
// many runs; kernels runProgram does not know split the program into segments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { DEFAULT_SPINS, KernelCall, KernelProgram, MemRange, PROGRAM_KERNELS } from '../../src/backend/wasm/program.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { ArgumentError } from '../../src/errors.js';

let be: WasmBackend;
before(async () => { be = await WasmBackend.create({ threads: 2 }); });
after(() => be?.dispose());

const N = 4099; // odd: SIMD tails on both threads
const ptr = (t: Tensor) => t.data.byteOffset;

/** A chain y = (((a + b) * c) + b) ... alternating 2-thread adds and 1-thread muls, plus a sigmoid and an exp (not a program kernel). */
function chain(a: Tensor, b: Tensor, c: Tensor, y: Tensor, n: number, withExp: boolean): KernelCall[] {
  const calls: KernelCall[] = [{ kernel: 'addF32', args: [ptr(y), ptr(a), ptr(b), N], nt: 2 }];
  for (let i = 0; i < n; i++) {
    calls.push({ kernel: 'mulF32', args: [ptr(y), ptr(y), ptr(c), N], nt: 1 });
    calls.push({ kernel: 'addF32', args: [ptr(y), ptr(y), ptr(b), N], nt: 2 });
    if (i % 5 === 2) calls.push({ kernel: 'sigmoidF32', args: [ptr(y), ptr(y), N], nt: 2 });
    if (withExp && i === 7) calls.push({ kernel: 'expF32', args: [ptr(y), ptr(y), N], nt: 1 });
  }
  return calls;
}

function inputs(): Tensor[] {
  const [a, b, c] = [be.empty([N]), be.empty([N]), be.empty([N])];
  for (let i = 0; i < N; i++) { (a.data as Float32Array)[i] = Math.sin(i); (b.data as Float32Array)[i] = 0.01 * (i % 7); (c.data as Float32Array)[i] = 0.9 + 0.001 * (i % 13); }
  return [a, b, c];
}

test('fused program = call-by-call = the kernels run one by one, bit for bit; every barrier sleeping too', () => {
  const [a, b, c] = inputs();
  const yRef = be.empty([N]), y = be.empty([N]);
  const calls = chain(a, b, c, yRef, 24, true);
  for (const k of calls) be.run(k.kernel, k.args, k.nt);
  const ref = (yRef.data as Float32Array).slice();
  assert.ok(ref.every(Number.isFinite) && ref.some((v) => v !== ref[0]));
  const mine = chain(a, b, c, y, 24, true);
  for (const [mode, spins] of [['calls', undefined], ['fused', undefined], ['fused', 0], ['fused', -1], ['fused', 50], ['fused', 1000]] as const) {
    const p = new KernelProgram(be, mine, mode, spins);
    try {
      for (let r = 0; r < 30; r++) {
        (y.data as Float32Array).fill(NaN);
        p.run();
        const got = new Uint32Array(y.data.buffer, y.data.byteOffset, N), want = new Uint32Array(ref.buffer);
        for (let i = 0; i < N; i++) if (got[i] !== want[i]) assert.fail(`${mode} spins ${spins} run ${r}: y[${i}] = ${(y.data as Float32Array)[i]}, expected ${ref[i]}`);
      }
      // each thread's adaptive spin budget stays within [min(spins, 1000), spins] (spin-only: unused)
      if (mode === 'fused' && spins !== -1) {
        const hi = spins ?? DEFAULT_SPINS, lo = Math.min(hi, 1000);
        for (const b of p.spinBudgets()) assert.ok(b >= lo && b <= hi, `spins ${spins}: budget ${b} outside [${lo}, ${hi}]`);
      }
    } finally { p.dispose(); }
  }
  for (const t of [a, b, c, y, yRef]) t.dispose();
});

test('WasmBackendOptions.barrierSpins is the default cap of the backend\'s programs (same bits, budgets within it)', async () => {
  const low = await WasmBackend.create({ threads: 2, barrierSpins: 1000 });
  try {
    const t = (shape: number[]) => low.empty(shape);
    const [a, b, c, y, yRef] = [t([N]), t([N]), t([N]), t([N]), t([N])];
    for (let i = 0; i < N; i++) { (a.data as Float32Array)[i] = Math.sin(i); (b.data as Float32Array)[i] = 0.01 * (i % 7); (c.data as Float32Array)[i] = 0.9 + 0.001 * (i % 13); }
    for (const k of chain(a, b, c, yRef, 12, false)) low.run(k.kernel, k.args, k.nt);
    const p = new KernelProgram(low, chain(a, b, c, y, 12, false), 'fused');
    try {
      assert.equal(p.spins, 1000);
      for (let r = 0; r < 10; r++) p.run();
      assert.deepEqual(new Uint32Array(y.data.buffer, y.data.byteOffset, N), new Uint32Array(yRef.data.buffer, yRef.data.byteOffset, N));
      for (const s of p.spinBudgets()) assert.ok(s >= 1 && s <= 1000, `budget ${s} above the backend's cap 1000`);
    } finally { p.dispose(); }
    // an explicit count still wins over the backend's
    const q = new KernelProgram(low, chain(a, b, c, y, 2, false), 'fused', 50);
    assert.equal(q.spins, 50);
    q.dispose();
  } finally { low.dispose(); }
  assert.equal(new KernelProgram(be, [], 'calls').spins, DEFAULT_SPINS);
});

test('fused program: one job per run of known kernels; setArg reaches both forms; errors name the problem', () => {
  assert.equal((be.exports.programOpCount as () => number)(), PROGRAM_KERNELS.length);
  const [a, b, c] = inputs();
  const y = be.empty([N]), z = be.empty([N]);
  const calls = chain(a, b, c, y, 10, true); // expF32 is not a program kernel: 3 segments
  const fused = new KernelProgram(be, calls, 'fused'), plain = new KernelProgram(be, calls, 'calls');
  try {
    assert.equal(fused.length, calls.length);
    // two runProgram jobs around the plain expF32 call, which runs on one thread
    assert.equal(fused.dispatches, 2);
    assert.equal(plain.dispatches, calls.filter((k) => k.nt > 1).length);
    // point the first call's output elsewhere: y then only gets the rest of the chain
    for (const p of [fused, plain]) {
      p.setArg(0, 0, ptr(z));
      (y.data as Float32Array).fill(0);
      p.run();
    }
    const zz = (z.data as Float32Array)[5];
    assert.ok(Math.abs(zz - (Math.sin(5) + 0.05)) < 1e-6, `z[5] = ${zz}`);
    assert.throws(() => fused.setArg(calls.length, 0, 0), /call \d+ is not in the program of \d+ calls/);
    assert.throws(() => new KernelProgram(be, [{ kernel: 'noSuchKernel', args: [], nt: 1 }], 'fused'), /no kernel named noSuchKernel/);
  } finally { fused.dispose(); plain.dispose(); for (const t of [a, b, c, y, z]) t.dispose(); }
  const p = new KernelProgram(be, [], 'fused');
  p.dispose();
  assert.throws(() => p.run(), /run after dispose/);
});

/**
 * A program with declared memory: u (one copy per thread, 64-byte stride) is computed by calls
 * on every thread; y1, y2, z are shared. Returns the calls and the ranges.
 */
function declared(a: Tensor, b: Tensor, c: Tensor, u: Tensor, y1: Tensor, y2: Tensor, z: Tensor) {
  const R = (t: Tensor): MemRange => ({ ptr: ptr(t), bytes: 4 * N });
  const stride = 4 * 16 * Math.ceil(N / 16);
  const U: MemRange = { ptr: ptr(u), bytes: 4 * N, stride };
  const [A, B, C, Y1, Y2, Z] = [a, b, c, y1, y2, z].map(R);
  const calls: KernelCall[] = [
    { kernel: 'mulF32', args: [U.ptr, A.ptr, C.ptr, N], nt: 1, each: true, reads: [A, C], writes: [U] },
    { kernel: 'addF32', args: [Y1.ptr, U.ptr, B.ptr, N], nt: 2, reads: [U, B], writes: [Y1] },
    // reads the same inputs as the call before, writes elsewhere: no barrier between them
    { kernel: 'addF32', args: [Y2.ptr, U.ptr, A.ptr, N], nt: 2, reads: [U, A], writes: [Y2] },
    // reads y1, which both threads wrote: barrier 1
    { kernel: 'sigmoidF32', args: [U.ptr, Y1.ptr, N], nt: 1, each: true, reads: [Y1], writes: [U] },
    { kernel: 'addF32', args: [U.ptr, U.ptr, Y2.ptr, N], nt: 1, each: true, reads: [U, Y2], writes: [U] },
    { kernel: 'mulF32', args: [Z.ptr, U.ptr, B.ptr, N], nt: 2, reads: [U, B], writes: [Z] },
    // z again, on 2 threads: the ranges overlap across threads (not looked into further): barrier 2
    { kernel: 'addF32', args: [Z.ptr, Z.ptr, A.ptr, N], nt: 2, reads: [Z, A], writes: [Z] },
  ];
  return { calls, stride };
}

test('declared memory: barriers only at cross-thread hazards; calls on each thread fill every thread\'s copy; same bits', () => {
  const [a, b, c] = inputs();
  const refs = [be.empty([N]), be.empty([N]), be.empty([N])];
  const u = be.empty([2 * 16 * Math.ceil(N / 16)]), y1 = be.empty([N]), y2 = be.empty([N]), z = be.empty([N]);
  const { calls, stride } = declared(a, b, c, u, y1, y2, z);
  // the reference: the same kernels one by one, every call on thread 0 alone into copy 0
  const { calls: refCalls } = declared(a, b, c, u, refs[0], refs[1], refs[2]);
  for (const k of refCalls) be.run(k.kernel, k.args, k.each ? 1 : k.nt);
  const want = refs.map((t) => new Uint32Array((t.data as Float32Array).slice().buffer));
  const wantU = (u.data as Float32Array).slice(0, N);
  assert.ok(want[2].some((v) => v !== want[2][0]));
  const progs = [new KernelProgram(be, calls, 'fused'), new KernelProgram(be, calls, 'fused', 0), new KernelProgram(be, calls, 'fused-serial'), new KernelProgram(be, calls, 'calls')];
  try {
    assert.equal(progs[0].barriers, 2);
    // the earlier rule: before and after each of the 4 two-thread calls, merged where adjacent
    assert.equal(progs[2].barriers, 5);
    assert.equal(progs[3].barriers, 0);
    for (const [pi, p] of progs.entries()) {
      for (let r = 0; r < 30; r++) {
        for (const t of [u, y1, y2, z]) (t.data as Float32Array).fill(NaN);
        p.run();
        [y1, y2, z].forEach((t, i) => {
          const got = new Uint32Array(t.data.buffer, t.data.byteOffset, N);
          for (let j = 0; j < N; j++) if (got[j] !== want[i][j]) assert.fail(`program ${pi} run ${r}: output ${i}[${j}] = ${(t.data as Float32Array)[j]}, expected the bits of ${(refs[i].data as Float32Array)[j]}`);
        });
        // every thread of the fused program computed u for itself (thread 1's copy at u + stride)
        const copies = pi < 2 ? 2 : 1;
        for (let t = 0; t < copies; t++) {
          const got = new Float32Array(u.data.buffer, u.data.byteOffset + t * stride, N);
          for (let j = 0; j < N; j += 97) if (!Object.is(got[j], wantU[j])) assert.fail(`program ${pi} run ${r}: thread ${t}'s u[${j}] = ${got[j]}, expected ${wantU[j]}`);
        }
      }
    }
  } finally { progs.forEach((p) => p.dispose()); for (const t of [a, b, c, u, y1, y2, z, ...refs]) t.dispose(); }
});

test('declared memory: misuse is reported', () => {
  const [a, b, c] = inputs();
  const u = be.empty([2 * 16 * Math.ceil(N / 16)]), y1 = be.empty([N]), y2 = be.empty([N]), z = be.empty([N]);
  const { calls } = declared(a, b, c, u, y1, y2, z);
  try {
    const undeclared = calls.map((k, i) => (i === 2 ? { kernel: k.kernel, args: k.args, nt: k.nt } : k));
    assert.throws(() => new KernelProgram(be, undeclared, 'fused'), /6 of 7 calls declare reads and writes/);
    assert.throws(() => new KernelProgram(be, undeclared, 'fused'), ArgumentError);
    const eachShared = calls.map((k, i) => (i === 3 ? { ...k, writes: [{ ptr: ptr(y1), bytes: 4 * N }] } : k));
    assert.throws(() => new KernelProgram(be, eachShared, 'fused'), /call 3 \(sigmoidF32\) runs on each thread, so every range it writes needs a per-thread stride/);
    const splitOwn = calls.map((k, i) => (i === 1 ? { ...k, writes: calls[0].writes } : k));
    assert.throws(() => new KernelProgram(be, splitOwn, 'fused'), /call 1 \(addF32\) is split over 2 threads but writes a per-thread buffer copy/);
    const p = new KernelProgram(be, calls, 'fused');
    try {
      assert.throws(() => p.setArg(1, 1, ptr(a)), /argument 1 of addF32 \(call 1\) points at a per-thread buffer/);
      p.setArg(1, 2, ptr(c)); // a shared input may move
    } finally { p.dispose(); }
  } finally { for (const t of [a, b, c, u, y1, y2, z]) t.dispose(); }
});
