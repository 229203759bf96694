// A preallocated decode step of xLSTM Large for one batch size: every buffer of the step is
// allocated once, every kernel call (name, pointers, dims, threads) is worked out once, and a
// step is: write the ids, patch the pointers that move (the logits each step, the state
// tensors when the caller passes other ones), run the kernel programs (src/backend/wasm/
// program.ts) of each heap, copying x across heaps in between. It makes exactly the kernel
// calls of XLSTMLarge's op-by-op step (same kernels, arguments and thread counts), so the
// logits and states are the same bits; it only drops the per-op checks, tensor and view
// objects, FinalizationRegistry entries and (mode 'fused') the per-call worker wake-ups.
// Batches up to GEMV_MAX_ROWS (8) rows; larger ones go through the GEMM and stay op by op.
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { KernelCall, KernelProgram, MemRange, ProgramMode, claimable } from '../../backend/wasm/program.js';
import { GEMV_MAX_ROWS, GemvPointers, LinearWeight, gemvKernelCall, gemvScratchBytes, gemvThreads } from '../../ops/matmul.js';
import { threadsFor } from '../../ops/check.js';
import { ACTIVATIONS } from '../../ops/elementwise.js';
import { Q4Weight } from '../../tensor/quant.js';
import { MLSTM_EPS, mlstmStepThreads } from '../../xlstm/mlstm/index.js';
import type { XLSTMLargeConfig } from './config.js';
import type { XLSTMLargeWeights } from './weights.js';

/**
 * How XLSTMLarge.step runs: op by op (checked ops, the reference path), a prebuilt plan of calls,
 * or fused programs ('fused-serial': with the earlier barrier rule, for comparison; see ProgramMode).
 */
export type XLSTMLargeStepPath = 'ops' | 'calls' | 'fused' | 'fused-serial';

/** One block's state as the plan reads it (c, n, m heap tensors). */
type BlockState = { c: Tensor; n: Tensor; m: Tensor };

/** What a step does, in order: run a heap's program, or copy x from one heap's buffer to (every thread's copy of) another's. */
type Stage = { program: KernelProgram } | { from: Float32Array; to: Float32Array[] };

/**
 * The fraction of each thread's rows of a GEMV that a barrier follows which any thread may claim
 * (KernelCall.claimTail): as much as a typical delay of one thread needs. A thread that claims
 * another's tail starts a cold row stream and the flag's cache line moves between the cores
 * (~1 us here), so not more (docs/PERFORMANCE.md, "Threads that do not wait for each other").
 * 0: static halves.
 */
const CLAIM_TAIL = 0.1;

/** Start of thread t's share of n items split over nt threads in multiples of align (as assembly/simd.ts rangeStart). */
function shareStart(n: number, t: number, nt: number, align: number): number {
  const per = Math.ceil(Math.ceil(n / align) / nt);
  return Math.min(per * t * align, n);
}

/**
 * The bytes of a [n, width] f32 buffer at ptr that a kernel splitting its n rows over nt threads
 * touches on each thread: a `split` range when every thread gets as many rows, else the whole.
 */
function rowsPerThread(ptr: number, n: number, width: number, nt: number, align: number): MemRange {
  const size = shareStart(n, 1, nt, align);
  for (let t = 0; t < nt; t++) if (shareStart(n, t + 1, nt, align) - shareStart(n, t, nt, align) !== size) return { ptr, bytes: 4 * n * width };
  return { ptr, bytes: 4 * size * width, stride: 4 * size * width, split: true };
}

/** Byte offset of a heap array, or an error naming it (the plan only runs on heap-resident weights). */
function heapPtr(be: WasmBackend, a: ArrayBufferView, what: string): number {
  if (!be.heap.owns(a)) throw new Error(`XLSTMLargeStepPlan: ${what} is not on its block's heap`);
  return a.byteOffset;
}

/**
 * Per-heap buffers, allocated on first use and shared by the blocks on that heap (they run one
 * after another). `own` buffers have one copy per thread (64-byte aligned, no false sharing):
 * the outputs of the small ops every thread of a fused program computes for itself.
 */
class HeapBuffers {
  readonly owned: Tensor[] = [];
  private named = new Map<string, Tensor>();
  constructor(readonly be: WasmBackend) {}
  get(name: string, n: number, dtype: 'f32' | 'i32' = 'f32'): Tensor {
    let t = this.named.get(name);
    if (!t) { t = this.be.empty([Math.max(1, n)], dtype); this.named.set(name, t); this.owned.push(t); }
    if (t.size < n) throw new Error(`XLSTMLargeStepPlan: buffer ${name} has ${t.size} elements, ${n} needed`);
    return t;
  }
  /** A shared f32 buffer as a memory range. */
  shared(name: string, n: number): MemRange { return { ptr: this.get(name, n).data.byteOffset, bytes: 4 * n }; }
  /** Copy 0 of a per-thread f32 buffer (copy t at ptr + t * stride). */
  own(name: string, n: number): MemRange {
    const stride = 16 * Math.ceil(Math.max(1, n) / 16);
    const t = this.get(`own:${name}`, stride * this.be.threads);
    if (t.size !== stride * this.be.threads) throw new Error(`XLSTMLargeStepPlan: per-thread buffer ${name} was made for ${t.size / this.be.threads} elements, ${n} asked`);
    return { ptr: t.data.byteOffset, bytes: 4 * n, stride: 4 * stride };
  }
  /** Every thread's copy of own(name, n). */
  copies(name: string, n: number): Float32Array[] {
    const r = this.own(name, n), all = this.get(`own:${name}`, 0).data as Float32Array;
    return Array.from({ length: this.be.threads }, (_, t) => all.subarray(t * r.stride! / 4, t * r.stride! / 4 + n));
  }
}

export class XLSTMLargeStepPlan {
  private stages: Stage[] = [];
  private bufs: HeapBuffers[];
  private ids!: Int32Array;
  /** Per block: the program and call index of its mLSTM kernel (state pointers are its args 6, 7, 8). */
  private cellCall: { program: KernelProgram; call: number }[] = [];
  /** Calls whose output is the per-step logits: [program, call, arg index]. */
  private logitsArgs: [KernelProgram, number, number][] = [];
  private lastState: Tensor[] = [];
  private disposed = false;

  private constructor(readonly config: XLSTMLargeConfig, readonly weights: XLSTMLargeWeights, readonly B: number, readonly mode: ProgramMode) {
    this.bufs = weights.backends.map((be) => new HeapBuffers(be));
  }

  /** Whether a plan exists for batch B (the GEMV range; larger batches run the GEMM op by op). */
  static supports(B: number): boolean { return Number.isInteger(B) && B >= 1 && B <= GEMV_MAX_ROWS; }

  static create(config: XLSTMLargeConfig, weights: XLSTMLargeWeights, B: number, mode: ProgramMode): XLSTMLargeStepPlan {
    if (!XLSTMLargeStepPlan.supports(B)) throw new RangeError(`XLSTMLargeStepPlan: B = ${B}, expected an integer 1..${GEMV_MAX_ROWS}`);
    const p = new XLSTMLargeStepPlan(config, weights, B, mode);
    try { p.build(); } catch (e) { p.dispose(); throw e; }
    return p;
  }

  /** Kernel calls and programs per step, the pool dispatches they make, the barriers of the fused ones and their calls with claimable tails (for benches and tests). */
  get stats(): { calls: number; programs: number; dispatches: number; barriers: number; claimed: number } {
    let calls = 0, programs = 0, dispatches = 0, barriers = 0, claimed = 0;
    for (const s of this.stages) if ('program' in s) { programs++; calls += s.program.length; dispatches += s.program.dispatches; barriers += s.program.barriers; claimed += s.program.claimedCalls; }
    return { calls, programs, dispatches, barriers, claimed };
  }

  /**
   * One step: ids [B] (already checked against the vocabulary), the state updated in place
   * (every tensor on its block's heap); returns fresh logits [B, V] on the head's heap.
   */
  step(ids: Int32Array, state: readonly BlockState[]): Tensor {
    if (this.disposed) throw new Error('XLSTMLargeStepPlan: step after dispose');
    this.ids.set(ids);
    this.bindState(state);
    const w = this.weights, head = w.backends[w.placement.head];
    const logits = head.empty([this.B, this.config.vocab_size]);
    const pl = logits.data.byteOffset;
    for (const [prog, call, arg] of this.logitsArgs) prog.setArg(call, arg, pl);
    for (const s of this.stages) {
      if ('program' in s) s.program.run();
      else for (const t of s.to) t.set(s.from);
    }
    return logits;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.stages) if ('program' in s) s.program.dispose();
    for (const b of this.bufs) for (const t of b.owned) t.dispose();
    this.stages = [];
  }

  /** Is `state` made of the tensors the last step ran on (so it was checked then)? */
  isBound(state: readonly BlockState[]): boolean {
    const last = this.lastState;
    if (!Array.isArray(state) || last.length !== 3 * state.length) return false;
    for (let b = 0; b < state.length; b++) {
      const s = state[b];
      if (!s || last[3 * b] !== s.c || last[3 * b + 1] !== s.n || last[3 * b + 2] !== s.m) return false;
    }
    return true;
  }

  /** Points each block's mLSTM call at the state's tensors when they are not the last step's. */
  private bindState(state: readonly BlockState[]): void {
    const last = this.lastState;
    for (let b = 0; b < state.length; b++) {
      const s = state[b];
      if (last[3 * b] === s.c && last[3 * b + 1] === s.n && last[3 * b + 2] === s.m) continue;
      const be = this.weights.backends[this.weights.placement.blocks[b]];
      const { program, call } = this.cellCall[b];
      program.setArg(call, 6, heapPtr(be, s.c.data, `state[${b}].c`));
      program.setArg(call, 7, heapPtr(be, s.n.data, `state[${b}].n`));
      program.setArg(call, 8, heapPtr(be, s.m.data, `state[${b}].m`));
      last[3 * b] = s.c; last[3 * b + 1] = s.n; last[3 * b + 2] = s.m;
    }
  }

  private build(): void {
    const c = this.config, w = this.weights, pl = w.placement, bes = w.backends, B = this.B;
    const E = c.embedding_dim, NH = c.num_heads, DQK = c.qk_head_dim, DHV = c.v_head_dim, QK = c.qk_dim, DV = c.v_dim, U = c.ffn_up_proj_dim;
    const P = 2 * QK + 2 * DV, V = c.vocab_size;
    // The calls of the current heap; flushed into a program at each heap change.
    let heap = pl.embedding;
    let calls: KernelCall[] = [];
    // Calls to remember until their program exists: [index in `calls`, kind, block or arg].
    let marks: { call: number; block?: number; logitsArg?: number }[] = [];
    const flush = () => {
      if (!calls.length) return;
      const program = new KernelProgram(bes[heap], calls, this.mode);
      this.stages.push({ program });
      for (const m of marks) {
        if (m.block !== undefined) this.cellCall[m.block] = { program, call: m.call };
        if (m.logitsArg !== undefined) this.logitsArgs.push([program, m.call, m.logitsArg]);
      }
      calls = []; marks = [];
    };
    const moveTo = (h: number) => {
      if (h === heap) return;
      flush();
      const from = this.bufs[heap].copies('x', B * E)[0];
      this.stages.push({ from, to: this.bufs[h].copies('x', B * E) });
      heap = h;
    };
    const be = () => bes[heap];
    // Every call says what it reads and writes (weights aside): the fused program puts its
    // barriers from that. Small ops (norms, activations, residual adds, the gate GEMV) run on
    // every thread into per-thread buffers (`own`), so a block's threads meet only where a GEMV
    // or the cell hands its rows to the others: 5 barriers per block instead of 10.
    const shared = (name: string, n: number) => this.bufs[heap].shared(name, n);
    const own = (name: string, n: number) => this.bufs[heap].own(name, n);
    const at = (r: MemRange, elems: number) => r.ptr + 4 * elems;
    const ptr = (t: Tensor, what: string) => heapPtr(be(), t.data, what);
    const add = (kernel: string, args: number[], nt: number, reads: MemRange[], writes: MemRange[]) => {
      calls.push({ kernel, args, nt, reads, writes }); return calls.length - 1;
    };
    const each = (kernel: string, args: number[], reads: MemRange[], writes: MemRange[]) => {
      calls.push({ kernel, args, nt: 1, each: true, reads, writes }); return calls.length - 1;
    };
    const rows = (n: number, cost: number, parts = Infinity) => threadsFor(be(), n, cost, parts);

    // rmsNorm(x) then `add(y, bias, y)` (use_bias): the bias broadcasts as a row unless B = 1.
    // Per row, so every thread computing all rows gives the op path's bits.
    const norm = (out: MemRange, x: MemRange, weight: Tensor, bias: Tensor | undefined, what: string) => {
      each('normF32', [out.ptr, x.ptr, ptr(weight, what), 0, B, 1, E, c.norm_eps, 0, 1], [x], [out]);
      if (bias) {
        if (B === 1) each('addF32', [out.ptr, out.ptr, ptr(bias, `${what} bias`), E], [out], [out]);
        else each('addRowsF32', [out.ptr, out.ptr, ptr(bias, `${what} bias`), B, E], [out], [out]);
      }
    };
    const weightPtrs = (wt: LinearWeight, what: string): Pick<GemvPointers, 'w' | 'scales'> => {
      if (wt instanceof Q4Weight) return { w: ptr(wt.packed, what), scales: ptr(wt.scales, `${what} scales`) };
      if (wt.dtype === 'i8') return { w: ptr(wt, what), scales: heapPtr(be(), wt.scales!, `${what} scales`) };
      return { w: ptr(wt, what), scales: 0 };
    };
    /**
     * y = x wt^T (+ bias) on the op path's threads, y shared; or, with `eachTo` and a GEMV the op
     * path runs on one thread, on every thread into the per-thread buffer eachTo (then returned).
     * `claim`: a barrier follows anyway (the next op reads y whole), so the last rows of each
     * thread's share may go to whichever thread gets to them first (KernelProgram applies it
     * only where the call is fused and split).
     */
    const linear = (x: MemRange, y: MemRange, wt: LinearWeight, bias: Tensor | undefined, what: string, opts: { eachTo?: (n: number) => MemRange; claim?: boolean } = {}): MemRange => {
      const { eachTo, claim = false } = opts;
      const scratch = gemvScratchBytes(be(), wt, B);
      const probe = gemvKernelCall(be(), wt, B, { ...weightPtrs(wt, what), x: x.ptr, y: y.ptr, bias: 0, scratch: 0 });
      const mine = eachTo && probe.nt === 1;
      const out = mine ? eachTo(y.bytes / 4) : y;
      // the per-thread scratch of a split GEMV: the kernel picks region tid itself
      const sc: MemRange | undefined = !scratch ? undefined
        : mine ? own(`gemvScratch1:${scratch}`, scratch / 4)
        : { ptr: this.bufs[heap].get('gemvScratch', scratch / 4).data.byteOffset, bytes: scratch / probe.nt, stride: scratch / probe.nt, split: true };
      const call = gemvKernelCall(be(), wt, B, { ...weightPtrs(wt, what), x: x.ptr, y: out.ptr, bias: bias ? ptr(bias, `${what} bias`) : 0, scratch: sc ? sc.ptr : 0 });
      const writes = sc ? [out, sc] : [out];
      if (mine) each(call.kernel, call.args, [x], writes);
      else {
        const i = add(call.kernel, call.args, call.nt, [x], writes);
        if (claim && CLAIM_TAIL > 0 && claimable(call.kernel)) calls[i].claimTail = CLAIM_TAIL;
      }
      return out;
    };

    /**
     * At B = 1, the q, k, v and o rows of the [P, E] projection as four GEMVs over row blocks of
     * the weight (int8 and q4, whose rows come out the same bits whichever rows a call holds):
     * each splits its rows over the threads as the cell splits the heads, so each thread's
     * cell reads only rows its own thread wrote and needs no barrier after the projection.
     * Other formats, and the 'calls' and 'fused-serial' paths (4 dispatches / more barriers
     * there): one GEMV, as the op path.
     */
    const qkvoByParts = (x: MemRange, wt: LinearWeight, bias: Tensor | undefined, what: string): MemRange => {
      const proj = shared('proj', P);
      const q4 = wt instanceof Q4Weight;
      const K = wt.shape[1];
      const rowBytes = q4 ? K / 2 : K, scaleBytes = q4 ? (K / 32) * 4 : 4;
      const full = gemvScratchBytes(be(), wt, 1), fullNt = gemvThreads(be(), P, K);
      const per = full / fullNt;
      const scratch = per ? this.bufs[heap].get('gemvScratch', full / 4).data.byteOffset : 0;
      const base = gemvKernelCall(be(), wt, 1, { ...weightPtrs(wt, what), x: x.ptr, y: proj.ptr, bias: bias ? ptr(bias, `${what} bias`) : 0, scratch });
      // only these two kernels are checked bit for bit per row block; any other: one GEMV
      if (base.kernel !== 'gemvQ4Q8' && base.kernel !== 'gemvI8') return linear(x, proj, wt, bias, what);
      for (const [r0, n] of [[0, QK], [QK, QK], [2 * QK, DV], [2 * QK + DV, DV]]) {
        const args = base.args.slice(); // [w, scales, x, y, bias, N, K, R, scratch]
        args[0] += r0 * rowBytes; args[1] += r0 * scaleBytes; args[3] += 4 * r0; if (args[4]) args[4] += 4 * r0; args[5] = n;
        const nt = gemvThreads(be(), n, K);
        const writes = [rowsPerThread(at(proj, r0), n, 1, nt, 4)];
        if (per) writes.push(nt > 1 ? { ptr: scratch, bytes: per, stride: per, split: true } : { ptr: scratch, bytes: per });
        add(base.kernel, args, nt, [x], writes);
      }
      return proj;
    };

    // One GEMV scratch per heap, as large as its largest GEMV needs (pointers are fixed once taken).
    const scratchNeed = bes.map(() => 0);
    const need = (h: number, wt: LinearWeight) => { scratchNeed[h] = Math.max(scratchNeed[h], gemvScratchBytes(bes[h], wt, B)); };
    w.blocks.forEach((bw, b) => {
      for (const wt of [bw.qkvo, bw.ifGate, bw.outProj, bw.projDown, ...(B === 1 ? [bw.projUpBoth] : [bw.projUpGate, bw.projUp])]) need(pl.blocks[b], wt);
    });
    need(pl.head, w.lmHead);
    scratchNeed.forEach((n, h) => { if (n) this.bufs[h].get('gemvScratch', n / 4); });

    // x = embedding(ids)
    const idsT = this.bufs[pl.embedding].get('ids', B, 'i32');
    this.ids = idsT.data as Int32Array;
    const ids: MemRange = { ptr: idsT.data.byteOffset, bytes: 4 * B };
    each('embeddingF32', [own('x', B * E).ptr, ptr(w.embedding, 'embedding'), ids.ptr, B, E, 0, w.embedding.dtype === 'bf16' ? 1 : 0], [ids], [own('x', B * E)]);

    const cellNt = (h: WasmBackend) => mlstmStepThreads(h, { B, NH, DHQK: DQK, DHV });
    for (let b = 0; b < c.num_blocks; b++) {
      moveTo(pl.blocks[b]);
      const bw = w.blocks[b];
      const x = own('x', B * E), xn = own('xn', B * E);
      // mLSTM layer
      norm(xn, x, bw.normMlstm, bw.normMlstmBias, `block ${b} norm_mlstm`);
      const proj = B === 1 && this.mode === 'fused' ? qkvoByParts(xn, bw.qkvo, bw.qkvoBias, `block ${b} qkvo`) : linear(xn, shared('proj', B * P), bw.qkvo, bw.qkvoBias, `block ${b} qkvo`);
      let gates = linear(xn, shared('gates', B * 2 * NH), bw.ifGate, bw.ifGateBias, `block ${b} ifgate`, { eachTo: (n) => own('gatesRaw', n) });
      if (c.gate_soft_cap !== null) {
        const capped = own('gatesCap', B * 2 * NH);
        each('softcapF32', [capped.ptr, gates.ptr, B * 2 * NH, c.gate_soft_cap], [gates], [capped]);
        gates = capped;
      }
      let q: number, k: number, v: number, ig: number, fg: number, o: number;
      let cellReads: MemRange[];
      if (B === 1) {
        // the heads of one row are already [NH, DH] slices of the projection
        q = proj.ptr; k = at(proj, QK); v = at(proj, 2 * QK); o = at(proj, 2 * QK + DV);
        ig = gates.ptr; fg = at(gates, NH);
        // per thread only the rows of its own heads, where the GEMV parts split alike (qkvoByParts)
        const cn = cellNt(be());
        cellReads = [rowsPerThread(q, NH, DQK, cn, 1), rowsPerThread(k, NH, DQK, cn, 1), rowsPerThread(v, NH, DHV, cn, 1), gates];
      } else {
        const bq = own('q', B * QK), bk = own('k', B * QK), bv = own('v', B * DV), bo = own('o', B * DV), bi = own('ig', B * NH), bf = own('fg', B * NH);
        each('copyRowsF32', [bq.ptr, proj.ptr, B, QK, QK, P], [proj], [bq]);
        each('copyRowsF32', [bk.ptr, at(proj, QK), B, QK, QK, P], [proj], [bk]);
        each('copyRowsF32', [bv.ptr, at(proj, 2 * QK), B, DV, DV, P], [proj], [bv]);
        each('copyRowsF32', [bi.ptr, gates.ptr, B, NH, NH, 2 * NH], [gates], [bi]);
        each('copyRowsF32', [bf.ptr, at(gates, NH), B, NH, NH, 2 * NH], [gates], [bf]);
        each('copyRowsF32', [bo.ptr, at(proj, 2 * QK + DV), B, DV, DV, P], [proj], [bo]);
        q = bq.ptr; k = bk.ptr; v = bv.ptr; o = bo.ptr; ig = bi.ptr; fg = bf.ptr;
        cellReads = [bq, bk, bv, bi, bf];
      }
      const hc = shared('hc', B * DV), hn = own('hn', B * DV);
      // state pointers (args 6..8) are bound per step
      const cell = add('mlstmRecurrentF32', [q, k, v, ig, fg, hc.ptr, 0, 0, 0, B * NH, 1, 0, 1, DQK, DHV, 1 / Math.sqrt(DQK), c.eps ?? MLSTM_EPS, 0], cellNt(be()), cellReads, [hc]);
      marks.push({ call: cell, block: b });
      each('normF32', [hn.ptr, hc.ptr, ptr(bw.multiheadNorm, `block ${b} multihead_norm`), bw.multiheadNormBias ? ptr(bw.multiheadNormBias, `block ${b} multihead_norm bias`) : 0,
        B, NH, DHV, c.norm_eps, 0, 0], [hc], [hn]);
      // sigmoid(o) into a per-thread buffer: o lies in the shared projection at B = 1
      const og = own('og', B * DV);
      each('sigmoidF32', [og.ptr, o, B * DV], [B === 1 ? proj : own('o', B * DV)], [og]);
      each('mulF32', [hn.ptr, hn.ptr, og.ptr, B * DV], [hn, og], [hn]);
      const y = linear(hn, shared('y', B * E), bw.outProj, bw.outProjBias, `block ${b} out_proj`, { claim: true });
      each('addF32', [x.ptr, x.ptr, y.ptr, B * E], [x, y], [x]);
      // FFN
      norm(xn, x, bw.normFfn, bw.normFfnBias, `block ${b} norm_ffn`);
      let gate: number, up: number, upOut: MemRange[];
      if (B === 1) {
        // gate and up in one GEMV over the [2U, E] matrix
        const both = linear(xn, shared('both', 2 * U), bw.projUpBoth, bw.projUpBothBias, `block ${b} proj_up`, { claim: true });
        gate = both.ptr; up = at(both, U); upOut = [both];
      } else {
        const g = linear(xn, shared('g', B * U), bw.projUpGate, bw.projUpGateBias, `block ${b} proj_up_gate`, { claim: true });
        const z = linear(xn, shared('z', B * U), bw.projUp, bw.projUpBias, `block ${b} proj_up`, { claim: true });
        gate = g.ptr; up = z.ptr; upOut = [g, z];
      }
      // silu(gate) * up: on every thread unless the op path splits it (large U or B)
      const actNt = rows(B * U, ACTIVATIONS.silu);
      const act = actNt > 1 ? shared('act', B * U) : own('act', B * U);
      if (actNt > 1) {
        add('siluF32', [act.ptr, gate, B * U], actNt, upOut, [act]);
        add('mulF32', [act.ptr, act.ptr, up, B * U], rows(B * U, 1), [act, ...upOut], [act]);
      } else {
        each('siluF32', [act.ptr, gate, B * U], upOut, [act]);
        each('mulF32', [act.ptr, act.ptr, up, B * U], [act, ...upOut], [act]);
      }
      linear(act, y, bw.projDown, bw.projDownBias, `block ${b} proj_down`, { claim: true });
      each('addF32', [x.ptr, x.ptr, y.ptr, B * E], [x, y], [x]);
    }

    // logits = softcap(lm_head(RMSNorm(x))); the logits pointer (placeholder: a scratch
    // buffer of the right size) is replaced by each step's fresh tensor
    moveTo(pl.head);
    let h = own('x', B * E);
    if (w.outNorm) { const hx = own('hx', B * E); norm(hx, h, w.outNorm, w.outNormBias, 'out_norm'); h = hx; }
    const placeholder = shared('logits', B * V);
    linear(h, placeholder, w.lmHead, undefined, 'lm_head', { claim: true });
    const head = calls.length - 1;
    marks.push({ call: head, logitsArg: argIndexOf(calls[head].args, placeholder.ptr, 'lm_head') });
    if (c.output_logit_soft_cap !== null) {
      const cap = add('softcapF32', [placeholder.ptr, placeholder.ptr, B * V, c.output_logit_soft_cap], rows(B * V, 10), [placeholder], [placeholder]);
      marks.push({ call: cap, logitsArg: 0 }, { call: cap, logitsArg: 1 });
    }
    flush();
  }
}

/** The one argument of a call that is `value` (a buffer pointer), to patch it per step. */
function argIndexOf(args: number[], value: number, what: string): number {
  const i = args.indexOf(value);
  if (i < 0 || args.lastIndexOf(value) !== i) throw new Error(`XLSTMLargeStepPlan: cannot locate the output pointer of ${what} among its arguments`);
  return i;
}
