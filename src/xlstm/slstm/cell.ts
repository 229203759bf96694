// sLSTM cell on the WebAssembly backend: the whole sequence recurrence runs in one
// kernel call (src/backend/wasm/assembly/slstm.ts), threads split over (batch, head) pairs.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { roundBf16 } from '../../tensor/convert.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { SlstmFirstStepRule } from '../../backend/ref/slstm.js';
import { SlstmParams, packedBf16 } from './params.js';

export type { SlstmFirstStepRule };

export interface SlstmForwardOptions {
  /** [4, B, H] = (y, c, n, m); zeros when omitted. Not modified. */
  initialState?: Tensor;
  /**
   * 'tirex': TiRex's torch path (Wx, R, y_{t-1}, R·y and all four states rounded to bf16 with
   * round-to-nearest-even, R·y accumulated in f32, bias and pointwise math in f32; f~ clamped at 15
   * unless forgetClamp says otherwise). Default false: plain f32.
   */
  bf16?: 'tirex' | false;
  /** f~ = min(f~, forgetClamp) before logsigmoid. Default: none; 15 with bf16 = 'tirex'. null = never. */
  forgetClamp?: number | null;
  /**
   * 'wholeTensor' (default; official vanilla backend and TiRex): if the whole initial n tensor is 0,
   * the first step uses m = i~ for every unit. Evaluated on the state passed in, i.e. at the first
   * step of each call (n cannot return to exactly 0 later unless it cancels exactly).
   * 'perElement' (official CUDA kernel): every step, m = i~ for each unit whose own n_{t-1} is 0.
   * The rules differ when only part of n is 0 (e.g. one batch element starts from zeros): there m
   * differs and c, n are rescaled by the same factor, so y (= o c / n) agrees up to rounding.
   */
  firstStepRule?: SlstmFirstStepRule;
  /** Also return every state [4, S+1, B, H] ([:, 0] = initial state). Default false. */
  returnAllStates?: boolean;
  /** 'BNSH' (default, as the official cell's output) -> y [B, NH, S, DH]; 'BSH' -> y [B, S, H]. */
  outputLayout?: 'BNSH' | 'BSH';
  /** Threads to use (default: the backend's, at most B*NH, and 1 for tiny problems). */
  threads?: number;
}

export interface SlstmForwardResult {
  /** [B, NH, S, DH] or [B, S, H] (outputLayout) */
  y: Tensor;
  /** [4, B, H] = (y, c, n, m) after the last step */
  state: Tensor;
  /** [4, S+1, B, H] when returnAllStates */
  statesAll?: Tensor;
}

const FIRST_STEP_ALL = 1, PER_ELEMENT = 2, BF16 = 4, CLAMP_F = 8, R_BF16 = 16;
/** Below this many multiply-adds a second thread costs more (dispatch ~25 us) than it saves. */
const MIN_FMAS_PER_EXTRA_THREAD = 1 << 20;

function deviceParams(be: WasmBackend, p: SlstmParams, bf: boolean): { r: Tensor; bias: Tensor } {
  let c = p.deviceCache.get(be);
  if (!c) { c = {}; p.deviceCache.set(be, c); }
  const key = bf ? 'rBf16' : 'r';
  const shape = [p.numHeads, p.gatePad / 32, p.headDim, 32];
  if (!c[key]) c[key] = be.upload(bf ? new Tensor('bf16', shape, packedBf16(p)) : new Tensor('f32', shape, p.recurrentPacked));
  if (!c.bias) c.bias = be.upload(new Tensor('f32', [p.numHeads, 4, p.headDim], p.bias));
  return { r: c[key], bias: c.bias };
}

/** Runs the sLSTM over a sequence. x: [B, S, 4H] Wx pre-activations without bias, index g*H + h*DH + d (gates i, f, z, o). */
export function slstmForward(be: WasmBackend, x: Tensor, params: SlstmParams, opts: SlstmForwardOptions = {}): SlstmForwardResult {
  const H = params.hiddenSize;
  if (x.rank !== 3 || x.shape[2] !== 4 * H) throw new Error(`slstmForward: x must have shape [B, S, 4H=${4 * H}], got ${shapeStr(x.shape)}`);
  return forwardImpl(be, x, x.shape[0], x.shape[1], params, opts, undefined);
}

// yShape: a shape for y other than the layout's (slstmStep): the heap tensor is made with it
// directly, because a reshaped view would not keep the heap block alive.
function forwardImpl(be: WasmBackend, x: Tensor, B: number, S: number, params: SlstmParams, opts: SlstmForwardOptions, yShape: number[] | undefined): SlstmForwardResult {
  const { numHeads: NH, headDim: DH, hiddenSize: H, gatePad: Gp } = params;
  const bf = opts.bf16 === 'tirex';
  if (opts.bf16 !== undefined && opts.bf16 !== false && !bf) throw new Error(`slstmForward: bf16 must be 'tirex' or false, got ${String(opts.bf16)}`);
  const rule = opts.firstStepRule ?? 'wholeTensor';
  if (rule !== 'wholeTensor' && rule !== 'perElement') throw new Error(`slstmForward: firstStepRule must be 'wholeTensor' or 'perElement', got ${String(rule)}`);
  const layout = opts.outputLayout ?? 'BNSH';
  if (layout !== 'BNSH' && layout !== 'BSH') throw new Error(`slstmForward: outputLayout must be 'BNSH' or 'BSH', got ${String(layout)}`);
  const clamp = opts.forgetClamp !== undefined ? opts.forgetClamp : (bf ? 15 : null);
  if (clamp !== null && typeof clamp !== 'number') throw new Error(`slstmForward: forgetClamp must be a number or null, got ${String(clamp)}`);

  const state = be.zeros([4, B, H]);
  if (opts.initialState) {
    const s0 = opts.initialState;
    if (s0.rank !== 3 || s0.shape[0] !== 4 || s0.shape[1] !== B || s0.shape[2] !== H) {
      throw new Error(`slstmForward: initialState must have shape [4, B=${B}, H=${H}], got ${shapeStr(s0.shape)}`);
    }
    (state.data as Float32Array).set(s0.toFloat32());
  }
  let flags = (bf ? BF16 | R_BF16 : 0) | (clamp !== null ? CLAMP_F : 0);
  if (rule === 'perElement') flags |= PER_ELEMENT;
  else {
    const n = (state.data as Float32Array).subarray(2 * B * H, 3 * B * H);
    // TiRex tests n after its cast to bf16 (a tiny subnormal can round to 0)
    let allZero = true;
    for (let i = 0; i < n.length; i++) if ((bf ? roundBf16(n[i]) : n[i]) !== 0) { allZero = false; break; }
    if (allZero) flags |= FIRST_STEP_ALL;
  }
  const xf = x.dtype === 'f32' ? be.upload(x) : be.upload(new Tensor('f32', x.shape, x.toFloat32()));
  const y = be.empty(yShape ?? (layout === 'BNSH' ? [B, NH, S, DH] : [B, S, H]));
  const statesAll = opts.returnAllStates ? be.empty([4, S + 1, B, H]) : undefined;
  const pairs = B * NH;
  const work = B * S * NH * DH * Gp;
  let nt = Math.min(opts.threads ?? be.threads, be.threads, pairs);
  if (opts.threads === undefined) nt = Math.max(1, Math.min(nt, Math.floor(work / MIN_FMAS_PER_EXTRA_THREAD)));
  nt = Math.max(1, Math.floor(nt));
  // [0]: the pair counter of the kernel (own cache line), then nt * Gp accumulators
  const scratch = be.empty([16 + nt * Gp]);
  (scratch.data as Float32Array)[0] = 0;
  const dp = deviceParams(be, params, bf);
  try {
    be.run('slstmSequence', [
      be.ptr(xf), be.ptr(dp.r), be.ptr(dp.bias), be.ptr(state), be.ptr(y), statesAll ? be.ptr(statesAll) : 0, be.ptr(scratch) + 64,
      B, S, NH, DH, Gp, flags, clamp ?? 0, layout === 'BNSH' ? 0 : 1, be.ptr(scratch),
    ], nt);
  } finally {
    scratch.dispose();
    if (xf !== x) xf.dispose();
  }
  return statesAll ? { y, state, statesAll } : { y, state };
}

/**
 * One step (the official cell is stepped with forward(S=1)). x: [B, 4H]; state [4, B, H] or
 * undefined (zeros). Returns y [B, H] and the new state [4, B, H].
 */
export function slstmStep(be: WasmBackend, x: Tensor, params: SlstmParams, state?: Tensor, opts: Omit<SlstmForwardOptions, 'initialState' | 'returnAllStates' | 'outputLayout'> = {}): { y: Tensor; state: Tensor } {
  const H = params.hiddenSize;
  if (x.rank !== 2 || x.shape[1] !== 4 * H) throw new Error(`slstmStep: x must have shape [B, 4H=${4 * H}], got ${shapeStr(x.shape)}`);
  const r = forwardImpl(be, x, x.shape[0], 1, params, { ...opts, initialState: state, outputLayout: 'BSH' }, [x.shape[0], H]);
  return { y: r.y, state: r.state };
}
