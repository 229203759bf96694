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
import { KernelCall, KernelProgram, ProgramMode } from '../../backend/wasm/program.js';
import { GEMV_MAX_ROWS, GemvPointers, LinearWeight, gemvKernelCall, gemvScratchBytes } from '../../ops/matmul.js';
import { threadsFor } from '../../ops/check.js';
import { ACTIVATIONS } from '../../ops/elementwise.js';
import { Q4Weight } from '../../tensor/quant.js';
import { MLSTM_EPS, mlstmStepThreads } from '../../xlstm/mlstm/index.js';
import type { XLSTMLargeConfig } from './config.js';
import type { XLSTMLargeWeights } from './weights.js';

/** How XLSTMLarge.step runs: op by op (checked ops, the reference path), a prebuilt plan of calls, or fused programs. */
export type XLSTMLargeStepPath = 'ops' | 'calls' | 'fused';

/** One block's state as the plan reads it (c, n, m heap tensors). */
type BlockState = { c: Tensor; n: Tensor; m: Tensor };

/** What a step does, in order: run a heap's program, or copy x from one heap's buffer to another's. */
type Stage = { program: KernelProgram } | { from: Float32Array; to: Float32Array };

/** Byte offset of a heap array, or an error naming it (the plan only runs on heap-resident weights). */
function heapPtr(be: WasmBackend, a: ArrayBufferView, what: string): number {
  if (!be.heap.owns(a)) throw new Error(`XLSTMLargeStepPlan: ${what} is not on its block's heap`);
  return a.byteOffset;
}

/** Per-heap buffers, allocated on first use and shared by the blocks on that heap (they run one after another). */
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
  ptr(name: string, n: number): number { return this.get(name, n).data.byteOffset; }
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

  /** Kernel calls and programs per step, the pool dispatches they make and the barriers of the fused ones (for benches and tests). */
  get stats(): { calls: number; programs: number; dispatches: number; barriers: number } {
    let calls = 0, programs = 0, dispatches = 0, barriers = 0;
    for (const s of this.stages) if ('program' in s) { programs++; calls += s.program.length; dispatches += s.program.dispatches; barriers += s.program.barriers; }
    return { calls, programs, dispatches, barriers };
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
      else s.to.set(s.from);
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
      const from = this.bufs[heap].get('x', B * E).data as Float32Array;
      const to = this.bufs[h].get('x', B * E).data as Float32Array;
      this.stages.push({ from: from.subarray(0, B * E), to: to.subarray(0, B * E) });
      heap = h;
    };
    const be = () => bes[heap];
    const buf = (name: string, n: number) => this.bufs[heap].ptr(name, n);
    const ptr = (t: Tensor, what: string) => heapPtr(be(), t.data, what);
    const add = (kernel: string, args: number[], nt: number) => { calls.push({ kernel, args, nt }); return calls.length - 1; };
    const rows = (n: number, cost: number, parts = Infinity) => threadsFor(be(), n, cost, parts);

    const norm = (out: number, x: number, weight: Tensor, bias: Tensor | undefined, what: string) => {
      // rmsNorm(x) then `add(y, bias, y)` (use_bias): the bias broadcasts as a row unless B = 1
      add('normF32', [out, x, ptr(weight, what), 0, B, 1, E, c.norm_eps, 0, 1], rows(B * E, 3, B));
      if (bias) {
        if (B === 1) add('addF32', [out, out, ptr(bias, `${what} bias`), E], rows(E, 1));
        else add('addRowsF32', [out, out, ptr(bias, `${what} bias`), B, E], rows(B * E, 1, B));
      }
    };
    const weightPtrs = (wt: LinearWeight, what: string): Pick<GemvPointers, 'w' | 'scales'> => {
      if (wt instanceof Q4Weight) return { w: ptr(wt.packed, what), scales: ptr(wt.scales, `${what} scales`) };
      if (wt.dtype === 'i8') return { w: ptr(wt, what), scales: heapPtr(be(), wt.scales!, `${what} scales`) };
      return { w: ptr(wt, what), scales: 0 };
    };
    const linear = (x: number, y: number, wt: LinearWeight, bias: Tensor | undefined, what: string): number => {
      const scratch = gemvScratchBytes(be(), wt, B);
      const call = gemvKernelCall(be(), wt, B, { ...weightPtrs(wt, what), x, y, bias: bias ? ptr(bias, `${what} bias`) : 0, scratch: scratch ? buf('gemvScratch', scratch / 4) : 0 });
      return add(call.kernel, call.args, call.nt);
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
    const embBe = bes[pl.embedding];
    this.ids = this.bufs[pl.embedding].get('ids', B, 'i32').data as Int32Array;
    add('embeddingF32', [buf('x', B * E), ptr(w.embedding, 'embedding'), this.ids.byteOffset, B, E, 0, w.embedding.dtype === 'bf16' ? 1 : 0], threadsFor(embBe, B * E, 1, B));

    const cellNt = (h: WasmBackend) => mlstmStepThreads(h, { B, NH, DHQK: DQK, DHV });
    for (let b = 0; b < c.num_blocks; b++) {
      moveTo(pl.blocks[b]);
      const bw = w.blocks[b];
      const x = buf('x', B * E), xn = buf('xn', B * E);
      // mLSTM layer
      norm(xn, x, bw.normMlstm, bw.normMlstmBias, `block ${b} norm_mlstm`);
      const proj = buf('proj', B * P), gates = buf('gates', B * 2 * NH);
      linear(xn, proj, bw.qkvo, bw.qkvoBias, `block ${b} qkvo`);
      linear(xn, gates, bw.ifGate, bw.ifGateBias, `block ${b} ifgate`);
      if (c.gate_soft_cap !== null) add('softcapF32', [gates, gates, B * 2 * NH, c.gate_soft_cap], rows(B * 2 * NH, 10)); // as ops/softcap
      let q: number, k: number, v: number, ig: number, fg: number, o: number;
      if (B === 1) {
        // the heads of one row are already [NH, DH] slices of the projection
        q = proj; k = proj + QK * 4; v = proj + 2 * QK * 4; o = proj + (2 * QK + DV) * 4;
        ig = gates; fg = gates + NH * 4;
      } else {
        q = buf('q', B * QK); k = buf('k', B * QK); v = buf('v', B * DV); o = buf('o', B * DV);
        ig = buf('ig', B * NH); fg = buf('fg', B * NH);
        add('copyRowsF32', [q, proj, B, QK, QK, P], 1);
        add('copyRowsF32', [k, proj + QK * 4, B, QK, QK, P], 1);
        add('copyRowsF32', [v, proj + 2 * QK * 4, B, DV, DV, P], 1);
        add('copyRowsF32', [ig, gates, B, NH, NH, 2 * NH], 1);
        add('copyRowsF32', [fg, gates + NH * 4, B, NH, NH, 2 * NH], 1);
        add('copyRowsF32', [o, proj + (2 * QK + DV) * 4, B, DV, DV, P], 1);
      }
      const hc = buf('hc', B * DV), hn = buf('hn', B * DV);
      // state pointers (args 6..8) are bound per step
      const cell = add('mlstmRecurrentF32', [q, k, v, ig, fg, hc, 0, 0, 0, B * NH, 1, 0, 1, DQK, DHV, 1 / Math.sqrt(DQK), c.eps ?? MLSTM_EPS, 0], cellNt(be()));
      marks.push({ call: cell, block: b });
      add('normF32', [hn, hc, ptr(bw.multiheadNorm, `block ${b} multihead_norm`), bw.multiheadNormBias ? ptr(bw.multiheadNormBias, `block ${b} multihead_norm bias`) : 0,
        B, NH, DHV, c.norm_eps, 0, 0], rows(B * DV, 3, B * NH));
      add('sigmoidF32', [o, o, B * DV], rows(B * DV, ACTIVATIONS.sigmoid));
      add('mulF32', [hn, hn, o, B * DV], rows(B * DV, 1));
      const y = buf('y', B * E);
      linear(hn, y, bw.outProj, bw.outProjBias, `block ${b} out_proj`);
      add('addF32', [x, x, y, B * E], rows(B * E, 1));
      // FFN
      norm(xn, x, bw.normFfn, bw.normFfnBias, `block ${b} norm_ffn`);
      if (B === 1) {
        // gate and up in one GEMV over the [2U, E] matrix
        const both = buf('both', 2 * U);
        linear(xn, both, bw.projUpBoth, bw.projUpBothBias, `block ${b} proj_up`);
        add('siluF32', [both, both, U], rows(U, ACTIVATIONS.silu));
        add('mulF32', [both, both, both + U * 4, U], rows(U, 1));
        linear(both, y, bw.projDown, bw.projDownBias, `block ${b} proj_down`);
      } else {
        const g = buf('g', B * U), z = buf('z', B * U);
        linear(xn, g, bw.projUpGate, bw.projUpGateBias, `block ${b} proj_up_gate`);
        linear(xn, z, bw.projUp, bw.projUpBias, `block ${b} proj_up`);
        add('siluF32', [g, g, B * U], rows(B * U, ACTIVATIONS.silu));
        add('mulF32', [g, g, z, B * U], rows(B * U, 1));
        linear(g, y, bw.projDown, bw.projDownBias, `block ${b} proj_down`);
      }
      add('addF32', [x, x, y, B * E], rows(B * E, 1));
    }

    // logits = softcap(lm_head(RMSNorm(x))); the logits pointer (placeholder: a scratch
    // buffer of the right size) is replaced by each step's fresh tensor
    moveTo(pl.head);
    let h = buf('x', B * E);
    if (w.outNorm) { const hx = buf('hx', B * E); norm(hx, h, w.outNorm, w.outNormBias, 'out_norm'); h = hx; }
    const placeholder = buf('logits', B * V);
    const head = linear(h, placeholder, w.lmHead, undefined, 'lm_head');
    marks.push({ call: head, logitsArg: argIndexOf(calls[head].args, placeholder, 'lm_head') });
    if (c.output_logit_soft_cap !== null) {
      const cap = add('softcapF32', [placeholder, placeholder, B * V, c.output_logit_soft_cap], rows(B * V, 10));
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
