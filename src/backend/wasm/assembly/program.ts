// Kernel programs: a fixed list of kernel calls that the JavaScript side wrote into the
// heap once (src/backend/wasm/program.ts), run by all threads of ONE pool dispatch with
// barriers between dependent calls, instead of one dispatch (a worker wake-up, ~19 us)
// and one JavaScript call per kernel. A decode step of a language model is such a list.
//
// Layout, all f64 (as the pool's argument block): per call
//   [opcode, nt, sync, nargs, strided, tail, flags, arg0 .. arg(nargs-1), (strided: stride0 .. stride(nargs-1))]
// opcode indexes PROGRAM_KERNELS (the JavaScript list must match the switch below), nt is
// the threads the call runs on (threads tid >= nt skip it, as a pool job would give them
// nothing), sync = 1 puts a barrier of all program threads before the call. Each kernel
// gets exactly the (tid, nt) it would get from its own dispatch, so it computes the same
// bits as the call-by-call path. nt = -1 ("each"): every program thread runs the call as
// thread 0 of 1, i.e. the same computation redundantly, so that a small thread-0-only op
// (a norm, an activation) needs no barrier to hand its result to the other threads.
// strided = 1: argument i of program thread t is arg_i + t * stride_i, which points each
// thread at its own copy of a buffer (the outputs of the redundant calls).
// tail > 0 (row-split GEMVs only): each thread computes the first 1 - tail of its static rows,
// then the tail of its own rows and of the other threads' rows, each one that it gets first:
// thread u's tail belongs to whoever swaps the run number into the i32 at flags + 64 u first.
// A thread held up (interrupted, its rows colder in cache, late from the op before) then
// finishes with fewer rows instead of making the others wait at the next barrier; where the
// threads keep pace, each takes its own tail, which continues its row stream, and the only
// extra cost is a look at the other flags while the partner is still busy (docs/PERFORMANCE.md,
// "Threads that do not wait for each other"). A row's value does not depend on which range
// holds it, so the bits are the static split's.
import { addF32, mulF32, addRowsF32, sigmoidF32, siluF32, softcapF32 } from './elementwise';
import { normF32, embeddingF32 } from './ops';
import { gemvF32, gemvF32Rows, gemvF32Batch, gemvBf16, gemvF16, gemvI8, gemvI8Rows, gemvQuantScratchBytes, quantizeXI16, gemvQ4, copyBytes } from './gemv';
import { gemvQ4Q8, gemvQ4Q8Rows, gemvQ8ScratchBytes, quantizeQ8 } from './gemvQ8';
import { rangeStart, rangeEnd } from './simd';
import { mlstmRecurrentF32 } from './mlstm';

/**
 * Blocks until the i32 at ptr is notified or is no longer `expected`, or timeoutUs microseconds
 * passed (< 0: no limit); 1 if it timed out (src/backend/wasm/imports.ts: why not
 * memory.atomic.wait32).
 */
// @ts-ignore: decorator
@external("env", "waitOn")
declare function waitOn(ptr: usize, expected: i32, timeoutUs: f64): i32;


/**
 * dst rows [rows, n] with row strides dstStride / srcStride (f32 elements): the head and batch
 * re-layouts of a decode step, which would otherwise be one copy call per row.
 */
export function copyRowsF32(dst: usize, src: usize, rows: i32, n: i32, dstStride: i32, srcStride: i32, tid: i32, nt: i32): void {
  const s = rangeStartRows(rows, tid, nt), e = rangeStartRows(rows, tid + 1, nt);
  const bytes = <usize>n << 2;
  for (let r = s; r < e; r++) memory.copy(dst + ((<usize>r * <usize>dstStride) << 2), src + ((<usize>r * <usize>srcStride) << 2), bytes);
}

// @ts-ignore: decorator
@inline function rangeStartRows(n: i32, tid: i32, nt: i32): i32 {
  const per = (n + nt - 1) / nt;
  const s = per * tid;
  return s < n ? s : n;
}

/** Number of opcodes runProgram knows (the JavaScript side checks its list against it). */
export function programOpCount(): i32 { return 17; }

// @ts-ignore: decorator
@inline function P(a: usize, i: i32): usize { return <usize><u32>load<f64>(a + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function I(a: usize, i: i32): i32 { return <i32>load<f64>(a + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function F(a: usize, i: i32): f32 { return <f32>load<f64>(a + (<usize>i << 3)); }

function call(op: i32, a: usize, tid: i32, nt: i32): void {
  switch (op) {
    case 0: embeddingF32(P(a, 0), P(a, 1), P(a, 2), I(a, 3), I(a, 4), I(a, 5), I(a, 6), tid, nt); break;
    case 1: normF32(P(a, 0), P(a, 1), P(a, 2), P(a, 3), I(a, 4), I(a, 5), I(a, 6), F(a, 7), F(a, 8), I(a, 9), tid, nt); break;
    case 2: addF32(P(a, 0), P(a, 1), P(a, 2), I(a, 3), tid, nt); break;
    case 3: mulF32(P(a, 0), P(a, 1), P(a, 2), I(a, 3), tid, nt); break;
    case 4: addRowsF32(P(a, 0), P(a, 1), P(a, 2), I(a, 3), I(a, 4), tid, nt); break;
    case 5: sigmoidF32(P(a, 0), P(a, 1), I(a, 2), tid, nt); break;
    case 6: siluF32(P(a, 0), P(a, 1), I(a, 2), tid, nt); break;
    case 7: softcapF32(P(a, 0), P(a, 1), I(a, 2), F(a, 3), tid, nt); break;
    case 8: gemvF32(P(a, 0), P(a, 1), P(a, 2), P(a, 3), I(a, 4), I(a, 5), I(a, 6), tid, nt); break;
    case 9: gemvBf16(P(a, 0), P(a, 1), P(a, 2), P(a, 3), I(a, 4), I(a, 5), I(a, 6), P(a, 7), tid, nt); break;
    case 10: gemvF16(P(a, 0), P(a, 1), P(a, 2), P(a, 3), I(a, 4), I(a, 5), I(a, 6), tid, nt); break;
    case 11: gemvI8(P(a, 0), P(a, 1), P(a, 2), P(a, 3), P(a, 4), I(a, 5), I(a, 6), I(a, 7), P(a, 8), tid, nt); break;
    case 12: gemvQ4(P(a, 0), P(a, 1), P(a, 2), P(a, 3), P(a, 4), I(a, 5), I(a, 6), I(a, 7), P(a, 8), tid, nt); break;
    case 13:
      mlstmRecurrentF32(P(a, 0), P(a, 1), P(a, 2), P(a, 3), P(a, 4), P(a, 5), P(a, 6), P(a, 7), P(a, 8),
        I(a, 9), I(a, 10), I(a, 11), I(a, 12), I(a, 13), I(a, 14), F(a, 15), F(a, 16), I(a, 17), tid, nt);
      break;
    case 14: copyRowsF32(P(a, 0), P(a, 1), I(a, 2), I(a, 3), I(a, 4), I(a, 5), tid, nt); break;
    case 15: gemvQ4Q8(P(a, 0), P(a, 1), P(a, 2), P(a, 3), P(a, 4), I(a, 5), I(a, 6), I(a, 7), P(a, 8), tid, nt); break;
    case 16: gemvF32Batch(P(a, 0), P(a, 1), P(a, 2), P(a, 3), I(a, 4), I(a, 5), I(a, 6), P(a, 7), tid, nt); break;
    default: unreachable();
  }
}

/**
 * This thread's part of a call with claimable tails (see the header) on nt threads. A tail's flag
 * holds the number of the run that last took it (run: runProgram's), so the flags need no reset.
 * gemvI8 and gemvQ4Q8 quantise x once per thread, into its own scratch region (where the static
 * split puts thread tid's), and compute every range from it.
 */
function claimed(op: i32, a: usize, flags: usize, run: i32, tail: f64, tid: i32, nt: i32): void {
  const N = op == 8 ? I(a, 4) : I(a, 5), K = op == 8 ? I(a, 5) : I(a, 6), B = op == 8 ? I(a, 6) : I(a, 7);
  let q: usize = 0;
  if (op == 15) {
    q = P(a, 8) + <usize>tid * <usize>gemvQ8ScratchBytes(K, B);
    quantizeQ8(P(a, 2), K, B, q, 0, 1);
  } else if (op == 11) {
    q = P(a, 8) + <usize>tid * <usize>gemvQuantScratchBytes(K, B);
    quantizeXI16(P(a, 2), K, B, q);
  }
  const S = rangeStart(N, tid, nt, 4);
  rowRange(op, a, q, N, K, B, S, tailStart(N, tid, nt, tail));
  for (let k = 0; k < nt; k++) {
    const u = tid + k < nt ? tid + k : tid + k - nt;
    if (atomic.xchg<i32>(flags + (<usize>u << 6), run) == run) continue;
    rowRange(op, a, q, N, K, B, tailStart(N, u, nt, tail), rangeEnd(N, u, nt, 4));
  }
}

// First row of thread u's claimable tail: the last `tail` of its static rows, from a multiple of 4.
// @ts-ignore: decorator
@inline function tailStart(N: i32, u: i32, nt: i32, tail: f64): i32 {
  const S = rangeStart(N, u, nt, 4), E = rangeEnd(N, u, nt, 4);
  return S + (<i32>(<f64>(E - S) * (1 - tail)) & ~3);
}

// Rows [S, E) of a claimable GEMV (x already quantised at q for the integer ones).
function rowRange(op: i32, a: usize, q: usize, N: i32, K: i32, B: i32, S: i32, E: i32): void {
  if (S >= E) return;
  if (op == 8) gemvF32Rows(P(a, 0), P(a, 1), P(a, 2), P(a, 3), N, K, B, S, E);
  else if (op == 15) gemvQ4Q8Rows(P(a, 0), P(a, 1), q, P(a, 3), P(a, 4), N, K, B, S, E);
  else if (op == 11) gemvI8Rows(P(a, 0), P(a, 1), q, P(a, 3), P(a, 4), N, K, B, S, E);
  else unreachable();
}

/** How a thread's wait at a barrier ended, when not after n >= 0 spins (runProgram adapts its spin budget to it). */
const ARRIVED_LAST: i32 = -1, SLEPT_SHORT: i32 = -2, SLEPT_LONG: i32 = -3;

/**
 * A wait that ends within this many microseconds of falling asleep counts as short: the
 * partner was only a little later than the spin budget (a futex wake-up is ~19 us), and a
 * longer spin would have saved the sleep and the late start after the wake-up.
 */
const SHORT_SLEEP_US: f64 = 50;

/**
 * Barrier of nt threads on bar: [count, generation, sleepers] (i32 each). The last thread to
 * arrive resets the count and bumps the generation; the others spin on the generation `spins`
 * times, then sleep on it (spins < 0: spin only, a browser main thread may not block); the
 * first sleep for at most SHORT_SLEEP_US, which tells a short wait from a long one. Returns the
 * spins a wait that ended while spinning took, else how it ended.
 */
function barrier(bar: usize, nt: i32, spins: i32): i32 {
  const gen = atomic.load<i32>(bar, 4);
  if (atomic.add<i32>(bar, 1) == nt - 1) {
    atomic.store<i32>(bar, 0);
    atomic.add<i32>(bar, 1, 4);
    if (atomic.load<i32>(bar, 8) > 0) atomic.notify(bar + 4, nt);
    return ARRIVED_LAST;
  }
  let n = 0, slept = 0;
  while (atomic.load<i32>(bar, 4) == gen) {
    if (spins >= 0 && ++n > spins) {
      atomic.add<i32>(bar, 1, 8);
      const timedOut = waitOn(bar + 4, gen, slept ? -1 : SHORT_SLEEP_US);
      atomic.sub<i32>(bar, 1, 8);
      if (!slept) slept = timedOut ? SLEPT_LONG : SLEPT_SHORT;
      n = 0;
    }
  }
  return slept ? slept : n;
}

/**
 * Fewest spins a thread's adaptive barrier budget (runProgram) falls to, unless the program
 * asks for fewer: ~1-3 us, the short thread-0-only stretches between two GEMVs.
 */
const MIN_SPINS: i32 = 1000;

/**
 * A thread's next spin budget b at a barrier after a wait that ended `how`, between lo and hi.
 * A thread that sleeps is woken ~20 us after its partner arrived, so it starts the next call
 * late and its partner waits for it at the next barrier: with a budget shorter than a wake-up,
 * the two threads can take turns sleeping at every barrier (on a quiet machine the 2-thread
 * GEMVs of a decode step ran at 20-21 GB/s with 1000 spins, 33 GB/s with 20000). Where the
 * cores are oversubscribed, though, a long spin takes the core the partner needs (a step ~2x
 * slower with 20000 spins at load 15), and a wait for a long serial stretch gains nothing from
 * spinning. So: a short sleep (partner only a little late), or a wait that ended in the upper
 * half of the budget, doubles the budget; a long sleep quarters it; other waits keep it (the
 * many that end after a few spins say nothing about the long ones).
 */
// @ts-ignore: decorator
@inline function nextSpins(b: i32, how: i32, lo: i32, hi: i32): i32 {
  if (how == SLEPT_LONG) return max(lo, b >> 2);
  if (how == SLEPT_SHORT || how > b >> 1) return min(hi, b << 1);
  return b;
}

/**
 * Runs the nOps calls at prog on this thread; every program thread runs this (one pool job).
 * bar: barrier block (zeroed before first use): 64 bytes (the barrier's three i32, at byte 48
 * the run number, set by the JavaScript side before each run, that claimed tails compare
 * against), then one i32 per thread, its spin budget kept from run to run (0: not yet set); spins: the most spins before sleeping at a
 * barrier (nextSpins adapts each thread's budget below it); canWait = 0: thread 0 never sleeps
 * (a browser main thread may not block); tmp: nt x 1 KiB where strided calls get their
 * per-thread arguments written.
 */
export function runProgram(prog: usize, nOps: i32, bar: usize, spins: i32, canWait: i32, tmp: usize, tid: i32, nt: i32): void {
  let p = prog;
  const mine = tmp + (<usize>tid << 10);
  const spinOnly = spins < 0 || (tid == 0 && !canWait);
  const run = load<i32>(bar, 48);
  const lo = min(spins, MIN_SPINS);
  const slot = bar + 64 + (<usize>tid << 2);
  let budget = load<i32>(slot);
  if (budget <= 0 || budget > spins) budget = spins;
  for (let i = 0; i < nOps; i++) {
    const op = <i32>load<f64>(p);
    const ont = <i32>load<f64>(p, 8);
    const sync = <i32>load<f64>(p, 16);
    const na = <i32>load<f64>(p, 24);
    const strided = <i32>load<f64>(p, 32);
    const tail = load<f64>(p, 40);
    const flags = P(p, 6);
    let a = p + 56;
    if (sync && nt > 1) {
      if (spinOnly) barrier(bar, nt, -1);
      else budget = nextSpins(budget, barrier(bar, nt, budget), lo, spins);
    }
    p = a + (<usize>(strided ? 2 * na : na) << 3);
    if (ont > 0 && tid >= ont) continue;
    if (strided && tid > 0) {
      const st = a + (<usize>na << 3);
      for (let j = 0; j < na; j++) {
        const o = <usize>j << 3;
        store<f64>(mine + o, load<f64>(a + o) + <f64>tid * load<f64>(st + o));
      }
      a = mine;
    }
    if (ont < 0) call(op, a, 0, 1);
    else if (tail > 0) claimed(op, a, flags, run, tail, tid, ont);
    else call(op, a, tid, ont);
  }
  if (!spinOnly) store<i32>(slot, budget);
}
