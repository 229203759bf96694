// xLSTM Large / xLSTM-7B (xlstm.xlstm_large.model.xLSTMLarge, HF xLSTMForCausalLM) in
// float32 on the wasm backend, computing what the official model computes in mode
// "inference": prompts go through mlstmPrefill (chunkwise with chunk_size, halving down
// to 16, the rest recurrent), single tokens through mlstmStep, with the state carried.
//   x = embedding(ids); per block: x += mLSTMLayer(RMSNorm(x)); x += FFN(RMSNorm(x))
//   logits = softcap(lm_head(RMSNorm(x)), output_logit_soft_cap)
import { Tensor } from '../../tensor/tensor.js';
import { checkIds, checkStepIds, TokenBatch } from '../tokenIds.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { SafetensorsSource } from '../../io/safetensors.js';
import type { HubOptions } from '../../hub/options.js';
import { IN_PAGE } from '../../hub/host.js';
import { add, mul, sigmoid, swiglu, softcap, rmsNorm, groupNorm, embedding } from '../../ops/index.js';
import { linear } from '../../ops/matmul.js';
import { splitHeads, mergeHeads } from '../../ops/heads.js';
import { mlstmPrefill, mlstmStep, mlstmZeroState } from '../../xlstm/mlstm/index.js';
import type { LanguageModel } from '../languageModel.js';
import { XLSTMLargeConfig, XLSTMLargeConfigInput, resolveXLSTMLargeConfig } from './config.js';
import { XLSTMLargeBlockWeights, XLSTMLargeWeights, LoadWeightsOptions, loadXLSTMLargeWeights } from './weights.js';
import { ConfigError } from '../../errors.js';
import { XLSTMLargeStepPlan, XLSTMLargeStepPath } from './stepPlan.js';

/**
 * One block's mLSTM state: c [B,NH,DHQK,DHV], n [B,NH,DHQK], m [B,NH,1] (a type
 * alias, not an interface, so it is a ModelState tree for generic state code).
 */
export type XLSTMLargeBlockState = { c: Tensor; n: Tensor; m: Tensor };
/** Recurrent state: one mLSTM state per block, each on the heap of its block's weights. */
export type XLSTMLargeState = XLSTMLargeBlockState[];

export type { TokenBatch } from '../tokenIds.js';

export interface XLSTMLargeLoadOptions extends LoadWeightsOptions {
  /**
   * How `step` runs (default 'fused'): 'fused' and 'calls' use a preallocated step plan per
   * batch size (one kernel-program dispatch per heap, or one dispatch per kernel), 'ops' the
   * checked op-by-op path ('fused-serial': fused with the earlier barrier rule, to compare).
   * All give the same bits; see XLSTMLarge.stepPath.
   */
  stepPath?: XLSTMLargeStepPath;
  /** Hub settings when fromPretrained is given a model id like 'NX-AI/xLSTM-7b'. */
  hub?: HubOptions;
  backend: WasmBackend;
}

export interface ForwardOptions {
  /** State to continue from (not modified); default: the empty state. */
  state?: XLSTMLargeState;
  /**
   * 'last': only the last position goes through the out norm and LM head
   * (logits [B, 1, V]), all that generation needs; default 'all' ([B, S, V]).
   */
  logits?: 'all' | 'last';
}

export interface ForwardResult {
  /** [B, S, V] (or [B, 1, V] with logits: 'last') soft-capped logits (heap f32). */ logits: Tensor;
  /** State after the last token (fresh tensors). */ state: XLSTMLargeState;
}

export interface StepResult {
  /** [B, V] soft-capped logits. */ logits: Tensor;
  /** The state passed in, updated in place. */ state: XLSTMLargeState;
}

export interface GenerateOptions {
  /** Number of tokens to generate (exactly this many, as the official generate). */
  maxLength: number;
  /** State to continue from (not modified); default empty. */
  state?: XLSTMLargeState;
  /** Also return the logits behind each choice, [B, maxLength, V]. */
  returnLogits?: boolean;
}

export interface GenerateResult {
  /** [B][maxLength] generated ids (greedy). */ tokens: number[][];
  /** State after feeding the prompt and the first maxLength - 1 generated tokens (as the official generate). */
  state: XLSTMLargeState;
  logits?: Tensor;
}

function dispose(...ts: (Tensor | undefined)[]): void { for (const t of ts) t?.dispose(); }

type CellInputs = { q: Tensor; k: Tensor; v: Tensor; i: Tensor; f: Tensor };
/** The mLSTM cell of block `b` on backend `be`; returns h [B,NH,S,DHV] ([B,NH,DHV] when S = 1). */
type Cell = (b: number, be: WasmBackend, x: CellInputs) => Tensor;

/** x itself if it lives on `be`'s heap, else a copy there (x is freed): activations crossing heaps. */
function onHeap(be: WasmBackend, x: Tensor): Tensor {
  if (be.heap.owns(x.data)) return x;
  const y = be.empty(x.shape);
  (y.data as Float32Array).set(x.data as Float32Array);
  x.dispose();
  return y;
}

/** A view of `t`'s elements [from, from + n) as shape (same memory, so kernels use it in place). */
function view(t: Tensor, from: number, shape: number[]): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return new Tensor('f32', shape, (t.data as Float32Array).subarray(from, from + n));
}

export class XLSTMLarge implements LanguageModel<XLSTMLargeState> {
  readonly modelType = 'xlstm-large';

  /** Step plans per path and batch size, built on first use (B <= 8), freed with the model. */
  private plans = new Map<string, XLSTMLargeStepPlan>();
  private stepPathValue: XLSTMLargeStepPath = 'fused';

  private constructor(readonly backend: WasmBackend, readonly config: XLSTMLargeConfig, readonly weights: XLSTMLargeWeights) {}

  /**
   * How `step` runs: 'fused' (default) runs a preallocated plan whose kernel calls go to the
   * threads as one program per heap (one worker wake-up per step instead of ~60); 'calls' runs
   * the same plan one dispatch per kernel; 'ops' is the op-by-op path with every check (also
   * used for batches over 8 and for states that are not on the block heaps); 'fused-serial' is
   * 'fused' with the earlier barrier rule (small ops on thread 0, a barrier around every
   * multi-thread call), kept to measure the difference. Same bits in all.
   */
  get stepPath(): XLSTMLargeStepPath { return this.stepPathValue; }
  set stepPath(p: XLSTMLargeStepPath) {
    if (p !== 'fused' && p !== 'calls' && p !== 'ops' && p !== 'fused-serial') throw new RangeError(`XLSTMLarge.stepPath = ${JSON.stringify(p)}, expected "fused", "calls", "ops" or "fused-serial"`);
    this.stepPathValue = p;
  }

  /** The step plan of batch size B on the current path (built on first use). */
  stepPlan(B: number): XLSTMLargeStepPlan {
    const path = this.stepPathValue === 'ops' ? 'fused' : this.stepPathValue;
    const key = `${path}:${B}`;
    let p = this.plans.get(key);
    if (!p) { p = XLSTMLargeStepPlan.create(this.config, this.weights, B, path); this.plans.set(key, p); }
    return p;
  }

  get vocabSize(): number { return this.config.vocab_size; }

  /** Every heap the model uses: [0] is the caller's backend, the rest were created (and are disposed) by the model. */
  get backends(): readonly WasmBackend[] { return this.weights.backends; }

  /** Backend holding block b's weights and state. */
  blockBackend(b: number): WasmBackend { return this.weights.backends[this.weights.placement.blocks[b]]; }

  /**
   * Loads a checkpoint folder (config.json + model.safetensors or a sharded index), in
   * the Hugging Face or the native xlstm_large layout, or a hub id (downloaded into the
   * huggingface_hub cache). In the browser bundle: a hub id, fetched into the Cache API.
   */
  static async fromPretrained(dir: string, opts: XLSTMLargeLoadOptions): Promise<XLSTMLarge> {
    if (!opts || !opts.backend) throw new TypeError('XLSTMLarge.fromPretrained: options.backend (a WasmBackend) is required');
    if (IN_PAGE) {
      const { config, weights } = await (await import('../../hub/pageLoaders.js')).loadXLSTMLargeFromHub(dir, opts.hub);
      return XLSTMLarge.fromSource(weights, config as XLSTMLargeConfigInput, opts);
    }
    dir = await (await import('../../hub/resolve.js')).resolveModelSource(dir, 'language-model', opts.hub);
    const [{ readFile }, { join }, { openSafetensorsModel }] = await Promise.all([
      import('node:fs/promises'), import('node:path'), import('../../io/safetensorsSharded.js'),
    ]);
    const cfgPath = join(dir, 'config.json');
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(cfgPath, 'utf8'));
    } catch (e) {
      throw new ConfigError(`XLSTMLarge.fromPretrained: cannot read ${cfgPath}: ${(e as Error).message}`);
    }
    const cfg = resolveXLSTMLargeConfig(raw as XLSTMLargeConfigInput);
    const src = await openSafetensorsModel(dir);
    try {
      return await XLSTMLarge.fromSource(src, cfg, opts);
    } finally { await src.close(); }
  }

  /** Builds the model from a config (raw config.json object or resolved) and any safetensors source (browser-safe). */
  static async fromSource(src: SafetensorsSource, config: XLSTMLargeConfigInput | XLSTMLargeConfig, opts: XLSTMLargeLoadOptions): Promise<XLSTMLarge> {
    if (!opts || !opts.backend) throw new TypeError('XLSTMLarge.fromSource: options.backend (a WasmBackend) is required');
    const cfg = Object.isFrozen(config) && 'ffn_up_proj_dim' in config ? (config as XLSTMLargeConfig) : resolveXLSTMLargeConfig(config as XLSTMLargeConfigInput);
    const w = await loadXLSTMLargeWeights(opts.backend, src, cfg, opts);
    const m = new XLSTMLarge(opts.backend, cfg, w);
    if (opts.stepPath !== undefined) m.stepPath = opts.stepPath;
    return m;
  }

  /** A zero state (m = 0) for a batch of B, as the official model starts from; each block's on its own heap. */
  emptyState(B: number): XLSTMLargeState {
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`XLSTMLarge.emptyState: B = ${B}, expected a positive integer`);
    const c = this.config;
    return Array.from({ length: c.num_blocks }, (_, b) => mlstmZeroState(this.blockBackend(b), { B, NH: c.num_heads, DHQK: c.qk_head_dim, DHV: c.v_head_dim }));
  }

  /** Logits of every position of ids [B, S] (or only the last: opts.logits) and the state after the last token. */
  forward(inputIds: TokenBatch, opts: ForwardOptions = {}): ForwardResult {
    const { B, S, data } = checkIds('XLSTMLarge.forward', 'inputIds', inputIds, this.config.vocab_size);
    if (opts.state !== undefined) this.checkState('XLSTMLarge.forward', 'state', opts.state, B);
    if (opts.logits !== undefined && opts.logits !== 'all' && opts.logits !== 'last') {
      throw new RangeError(`XLSTMLarge.forward: logits = ${JSON.stringify(opts.logits)}, expected "all" or "last"`);
    }
    const st: XLSTMLargeState = [];
    try {
      const logits = this.run(data, B, S, (b, be, x) => {
        const r = mlstmPrefill(be, x, { chunkSize: this.config.chunk_size, eps: this.config.eps, initialState: opts.state?.[b], returnState: true });
        st.push(r.state!);
        return r.h;
      }, opts.logits === 'last' ? [B, 1] : [B, S]);
      return { logits, state: st };
    } catch (e) {
      for (const s of st) { s.c.dispose(); s.n.dispose(); s.m.dispose(); }
      throw e;
    }
  }

  /** One token per sequence (ids [B]) from `state` (updated in place): the official step path. */
  step(tokenIds: number[] | Tensor, state: XLSTMLargeState): StepResult {
    const fn = 'XLSTMLarge.step';
    const { B, data } = checkStepIds(fn, tokenIds, this.config.vocab_size);
    const plan = this.stepPathValue !== 'ops' && XLSTMLargeStepPlan.supports(B) ? this.stepPlan(B) : undefined;
    // the plan remembers the state it ran last: the same tensors need no second check
    if (!plan?.isBound(state)) this.checkState(fn, 'state', state, B);
    if (plan && (plan.isBound(state) || this.stateOnBlockHeaps(state))) return { logits: plan.step(data, state), state };
    const eps = this.config.eps;
    const logits = this.run(data, B, 1, (b, be, x) => mlstmStep(be, x, state[b], { eps }).h, [B]);
    return { logits, state };
  }

  /**
   * Greedy generation as xlstm_large generate_tokens: the prompt in one prefill, then one
   * step per generated token; each token is the argmax (first maximum) of the last logits.
   */
  generate(promptIds: TokenBatch, opts: GenerateOptions): GenerateResult {
    const fn = 'XLSTMLarge.generate';
    const n = opts?.maxLength;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${fn}: maxLength = ${n}, expected a positive integer`);
    const V = this.config.vocab_size;
    const pre = this.forward(promptIds, { state: opts.state, logits: 'last' });
    const B = pre.logits.shape[0];
    const all = opts.returnLogits ? new Float32Array(B * n * V) : undefined;
    const tokens: number[][] = Array.from({ length: B }, () => []);
    let state = pre.state;
    let last = (pre.logits.data as Float32Array).slice(); // [B, V]
    pre.logits.dispose();
    for (let j = 0; j < n; j++) {
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        const o = b * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (last[o + v] > last[o + best]) best = v;
        next.push(best);
        tokens[b].push(best);
        all?.set(last.subarray(o, o + V), (b * n + j) * V);
      }
      if (j === n - 1) break;
      const r = this.step(next, state);
      state = r.state;
      last = (r.logits.data as Float32Array).slice();
      r.logits.dispose();
    }
    return { tokens, state, ...(all ? { logits: new Tensor('f32', [B, n, V], all) } : {}) };
  }

  /** Frees the step plans, the weights and the backends the model created (never the caller's). */
  dispose(): void {
    for (const p of this.plans.values()) p.dispose();
    this.plans.clear();
    this.weights.dispose();
  }

  /** Is every state tensor on the heap of its block (where the step plan reads it in place)? */
  private stateOnBlockHeaps(state: XLSTMLargeState): boolean {
    return state.every((s, b) => { const h = this.blockBackend(b).heap; return h.owns(s.c.data) && h.owns(s.n.data) && h.owns(s.m.data); });
  }

  private checkState(fn: string, arg: string, state: XLSTMLargeState, B: number): void {
    const c = this.config;
    if (!Array.isArray(state) || state.length !== c.num_blocks) {
      throw new TypeError(`${fn}: ${arg} must be an array of ${c.num_blocks} block states {c, n, m}, got ${Array.isArray(state) ? `length ${state.length}` : typeof state}`);
    }
    const want: Record<'c' | 'n' | 'm', number[]> = { c: [B, c.num_heads, c.qk_head_dim, c.v_head_dim], n: [B, c.num_heads, c.qk_head_dim], m: [B, c.num_heads, 1] };
    state.forEach((s, b) => {
      for (const k of ['c', 'n', 'm'] as const) {
        const t = s?.[k];
        if (!(t instanceof Tensor) || t.dtype !== 'f32' || t.shape.length !== want[k].length || t.shape.some((d, i) => d !== want[k][i])) {
          const got = t instanceof Tensor ? `${t.dtype} [${t.shape.join(', ')}]` : String(t);
          throw new RangeError(`${fn}: ${arg}[${b}].${k} is ${got}, expected f32 [${want[k].join(', ')}]`);
        }
      }
    });
  }

  /**
   * The network around the mLSTM cell. Each block runs on the backend holding its
   * weights; x [B, S, E] moves to the next heap at block boundaries. `lead` is the
   * logits' leading shape: [B, S] (all), [B, 1] (last position only) or [B] (step).
   */
  private run(ids: Int32Array, B: number, S: number, cell: Cell, lead: number[]): Tensor {
    const c = this.config, w = this.weights, bes = w.backends, pl = w.placement;
    const E = c.embedding_dim;
    let be = bes[pl.embedding];
    const idT = be.upload(new Tensor('i32', [B, S], ids));
    let x = embedding(be, idT, w.embedding); // [B, S, E]
    idT.dispose();
    try {
      for (let b = 0; b < c.num_blocks; b++) {
        be = bes[pl.blocks[b]];
        x = onHeap(be, x);
        const bw = w.blocks[b];
        const y = this.mlstmLayer(be, bw, b, x, B, S, cell);
        add(be, x, y, x);
        y.dispose();
        const z = this.ffn(be, bw, x);
        add(be, x, z, x);
        z.dispose();
      }
      be = bes[pl.head];
      x = onHeap(be, x);
      const lastOnly = S > 1 && lead.length === 2 && lead[1] === 1;
      let hx = x;
      if (lastOnly) {
        hx = be.empty([B, 1, E]);
        for (let bb = 0; bb < B; bb++) (hx.data as Float32Array).set((x.data as Float32Array).subarray(((bb + 1) * S - 1) * E, (bb + 1) * S * E), bb * E);
      }
      let h = hx;
      if (w.outNorm) h = this.rms(be, hx, w.outNorm, w.outNormBias);
      // a view with the caller's leading dims, so the logits tensor itself owns its memory
      const logits = linear(be, h.reshape([...lead, E]), w.lmHead); // [...lead, V]
      if (h !== hx) h.dispose();
      if (hx !== x) hx.dispose();
      if (c.output_logit_soft_cap !== null) softcap(be, logits, c.output_logit_soft_cap, logits);
      return logits;
    } finally { x.dispose(); }
  }

  private rms(be: WasmBackend, x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
    const y = rmsNorm(be, x, { eps: this.config.norm_eps, weight });
    if (bias) add(be, y, bias, y);
    return y;
  }

  private mlstmLayer(be: WasmBackend, bw: XLSTMLargeBlockWeights, b: number, x: Tensor, B: number, S: number, cell: Cell): Tensor {
    const c = this.config;
    const NH = c.num_heads, DQK = c.qk_head_dim, DHV = c.v_head_dim, QK = c.qk_dim, DV = c.v_dim;
    const P = 2 * QK + 2 * DV;
    const xn = this.rms(be, x, bw.normMlstm, bw.normMlstmBias);
    const proj = linear(be, xn, bw.qkvo, bw.qkvoBias); // [B, S, 2QK + 2DV]
    const gates = linear(be, xn, bw.ifGate, bw.ifGateBias); // [B, S, 2NH]
    xn.dispose();
    if (c.gate_soft_cap !== null) softcap(be, gates, c.gate_soft_cap, gates);
    let hn: Tensor, o: Tensor;
    if (S === 1) {
      // One token: q,k,v of a sequence are already [NH, DH] rows of its projection and
      // h [NH, DHV] is already [DV]; views replace the head transposes (none at all for B = 1).
      const part = (off: number, n: number, shape: number[]) => {
        if (B === 1) return view(proj, off, shape);
        const t = be.empty(shape);
        for (let bb = 0; bb < B; bb++) (t.data as Float32Array).set((proj.data as Float32Array).subarray(bb * P + off, bb * P + off + n), bb * n);
        return t;
      };
      const gpart = (off: number) => {
        if (B === 1) return view(gates, off, [1, NH, 1]);
        const t = be.empty([B, NH, 1]);
        for (let bb = 0; bb < B; bb++) (t.data as Float32Array).set((gates.data as Float32Array).subarray(bb * 2 * NH + off, bb * 2 * NH + off + NH), bb * NH);
        return t;
      };
      const q = part(0, QK, [B, NH, DQK]), k = part(QK, QK, [B, NH, DQK]), v = part(2 * QK, DV, [B, NH, DHV]);
      const ig = gpart(0), fg = gpart(NH);
      o = part(2 * QK + DV, DV, [B, DV]);
      let hc: Tensor;
      try { hc = cell(b, be, { q, k, v, i: ig, f: fg }); } finally { if (B > 1) dispose(q, k, v, ig, fg); }
      hn = groupNorm(be, hc.reshape([B, 1, DV]), NH, { eps: c.norm_eps, weight: bw.multiheadNorm, bias: bw.multiheadNormBias });
      hc.dispose();
      if (B > 1) proj.dispose();
      gates.dispose();
      sigmoid(be, o, o);
      mul(be, hn, o.reshape([B, 1, DV]), hn);
      // for B = 1, o is a view into proj: freeing proj is freeing o
      if (B === 1) proj.dispose(); else o.dispose();
    } else {
      // heads are contiguous slices of the projection's last dim (reshape(B,S,NH,-1).transpose(1,2))
      const q = splitHeads(be, proj, 0, NH, DQK), k = splitHeads(be, proj, QK, NH, DQK), v = splitHeads(be, proj, 2 * QK, NH, DHV);
      const ig = be.empty([B, NH, S]), fg = be.empty([B, NH, S]);
      splitHeads(be, gates, 0, NH, 1, ig.reshape([B, NH, S, 1]));
      splitHeads(be, gates, NH, NH, 1, fg.reshape([B, NH, S, 1]));
      o = be.empty([B, S, DV]);
      splitHeads(be, proj, 2 * QK + DV, 1, DV, o.reshape([B, 1, S, DV]));
      dispose(proj, gates);
      let hc: Tensor;
      try { hc = cell(b, be, { q, k, v, i: ig, f: fg }); } finally { dispose(q, k, v, ig, fg); }
      const ht = mergeHeads(be, hc); // [B, S, NH*DHV]
      hc.dispose();
      hn = groupNorm(be, ht, NH, { eps: c.norm_eps, weight: bw.multiheadNorm, bias: bw.multiheadNormBias });
      ht.dispose();
      sigmoid(be, o, o);
      mul(be, hn, o, hn);
      o.dispose();
    }
    const y = linear(be, hn, bw.outProj, bw.outProjBias); // [B, S, E]
    hn.dispose();
    return y;
  }

  private ffn(be: WasmBackend, bw: XLSTMLargeBlockWeights, x: Tensor): Tensor {
    const xn = this.rms(be, x, bw.normFfn, bw.normFfnBias);
    // gate and up in one product over the [2U, E] matrix (rows gate | up), then silu(gate) * up
    // in one pass (the bits of silu then mul)
    const both = linear(be, xn, bw.projUpBoth, bw.projUpBothBias); // [B, S, 2U]
    xn.dispose();
    const g = swiglu(be, both); // [B, S, U]
    both.dispose();
    const y = linear(be, g, bw.projDown, bw.projDownBias); // [B, S, E]
    g.dispose();
    return y;
  }
}
