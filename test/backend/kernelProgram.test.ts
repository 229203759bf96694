// KernelProgram (src/backend/wasm/program.ts + assembly/program.ts): a list of kernel calls run
// one dispatch per call ('calls') or as one runProgram job per run of known kernels ('fused'),
// with barriers between calls on different threads. Both must compute the same bits as calling
// the kernels one by one, also when every barrier sleeps (spins 0: the waiting path) and over
// many runs; kernels runProgram does not know split the program into segments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { KernelCall, KernelProgram, PROGRAM_KERNELS } from '../../src/backend/wasm/program.js';
import { Tensor } from '../../src/tensor/tensor.js';

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
  for (const [mode, spins] of [['calls', undefined], ['fused', undefined], ['fused', 0], ['fused', -1]] as const) {
    const p = new KernelProgram(be, mine, mode, spins);
    try {
      for (let r = 0; r < 30; r++) {
        (y.data as Float32Array).fill(NaN);
        p.run();
        const got = new Uint32Array(y.data.buffer, y.data.byteOffset, N), want = new Uint32Array(ref.buffer);
        for (let i = 0; i < N; i++) if (got[i] !== want[i]) assert.fail(`${mode} spins ${spins} run ${r}: y[${i}] = ${(y.data as Float32Array)[i]}, expected ${ref[i]}`);
      }
    } finally { p.dispose(); }
  }
  for (const t of [a, b, c, y, yRef]) t.dispose();
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
