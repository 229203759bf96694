// mLSTM layer of the NeurIPS-paper library (blocks/mlstm/layer.py + cell.py), pre-up-projection:
//   (x_m, z) = split(proj_up(x));  xc = silu(causal_conv(x_m))  (xc = x_m without conv)
//   q = q_proj(xc); k = k_proj(xc); v = v_proj(x_m)   (LinearHeadwiseExpand)
//   i, f = igate(cat(q,k,v)), fgate(cat(q,k,v))
//   h = outnorm(mLSTM(q, k, v, i, f)) + learnable_skip * xc;  y = proj_down(h * silu(z))
// The cell: the parallel stabilised form for a forward from scratch (as the official
// forward), the chunkwise form to continue from a state, the recurrent step to decode.
// The old cell scales k by 1/sqrt(DH) where mlstm_kernels scales q; the products are the
// same, so the kernels of src/xlstm/mlstm are used as they are and the state keeps the
// mlstm_kernels convention (C and n built from unscaled k: sqrt(DH) times the official
// ones; see toOfficialState).
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { add, mul, silu, groupNorm, causalConv1d, causalConv1dStep } from '../../ops/index.js';
import { linear } from '../../ops/matmul.js';
import { mlstmParallel, mlstmPrefill, mlstmStep, MLSTM_EPS } from '../../xlstm/mlstm/index.js';
import type { MlstmState } from '../../xlstm/mlstm/index.js';
import type { MLSTMLayerConfig } from './config.js';
import type { MlstmBlockWeights } from './weights.js';
import { headwiseLinear } from './headwise.js';
import { XLSTM_LN_EPS } from './ffn.js';

/**
 * State of an mLSTM block (batch first): c [B, NH, DH, DH] (C[key, value], unscaled keys),
 * n [B, NH, DH], m [B, NH, 1], conv [B, K, inner] (the last K inputs of the conv, oldest
 * first; only when conv1d_kernel_size > 0).
 */
export type MlstmBlockState = { c: Tensor; n: Tensor; m: Tensor; conv?: Tensor };

function dispose(...ts: (Tensor | undefined)[]): void { for (const t of ts) t?.dispose(); }

export function mlstmBlockStateShapes(cfg: Readonly<MLSTMLayerConfig>, B: number): Record<string, number[]> {
  const inner = cfg._inner_embedding_dim, NH = cfg.num_heads, DH = inner / NH;
  const s: Record<string, number[]> = { c: [B, NH, DH, DH], n: [B, NH, DH], m: [B, NH, 1] };
  if (cfg.conv1d_kernel_size > 0) s.conv = [B, cfg.conv1d_kernel_size, inner];
  return s;
}

/** q, k, v (+ the gate input cat(q, k, v)) and the two gate pre-activations for rows of x. */
function projections(be: WasmBackend, w: MlstmBlockWeights, cfg: Readonly<MLSTMLayerConfig>, xm: Tensor, xc: Tensor, rowsShape: number[]): { qkv: Tensor; gates: Tensor } {
  const inner = cfg._inner_embedding_dim;
  const qkv = be.empty([...rowsShape, 3 * inner]); // [.., 3*inner] = q | k | v
  const qd = qkv.data as Float32Array;
  headwiseLinear(xc.data as Float32Array, w.q, qd, 3 * inner, 0, be);
  headwiseLinear(xc.data as Float32Array, w.k, qd, 3 * inner, inner, be);
  headwiseLinear(xm.data as Float32Array, w.v, qd, 3 * inner, 2 * inner, be);
  try {
    const gates = linear(be, qkv, w.ifGate, w.ifGateBias); // [.., 2*NH] = i | f
    return { qkv, gates };
  } catch (e) { qkv.dispose(); throw e; }
}

/** h (+ skip) -> outnorm -> * silu(z) -> proj_down. h: [.., inner] heads contiguous. */
function output(be: WasmBackend, w: MlstmBlockWeights, cfg: Readonly<MLSTMLayerConfig>, h: Tensor, xc: Tensor, z: Tensor): Tensor {
  const hn = groupNorm(be, h, cfg.num_heads, { eps: XLSTM_LN_EPS, weight: w.outNorm, weightOffset: true });
  const sk = mul(be, xc, w.skip);
  add(be, hn, sk, hn);
  sk.dispose();
  silu(be, z, z);
  mul(be, hn, z, hn);
  try { return linear(be, hn, w.projDown, w.projDownBias); } finally { hn.dispose(); }
}

/**
 * Sequence forward of the layer on normed input x [B, S, E]. Without `state`: the official
 * parallel form (and, when wantState, the final state from the chunkwise form with the
 * recurrent m_0 = 0 start). With `state` (not modified): chunkwise continuation.
 */
export function mlstmLayerForward(be: WasmBackend, w: MlstmBlockWeights, cfg: Readonly<MLSTMLayerConfig>, x: Tensor,
  state: MlstmBlockState | undefined, wantState: boolean): { y: Tensor; state?: MlstmBlockState } {
  const [B, S] = x.shape;
  const inner = cfg._inner_embedding_dim, NH = cfg.num_heads, DH = inner / NH;
  const xm = linear(be, x, w.projUpX, w.projUpXBias); // [B, S, inner]
  let z: Tensor | undefined, xc: Tensor | undefined, convState: Tensor | undefined, pr: { qkv: Tensor; gates: Tensor } | undefined;
  const cellIn: Tensor[] = [];
  let h: Tensor | undefined, ht: Tensor | undefined, newCell: MlstmState | undefined;
  try {
    z = linear(be, x, w.projUpZ, w.projUpZBias); // [B, S, inner]
    if (w.conv) {
      const r = causalConv1d(be, xm, w.conv, { bias: w.convBias, state: state?.conv });
      xc = r.y;
      convState = r.state;
      silu(be, xc, xc);
    } else xc = xm;
    pr = projections(be, w, cfg, xm, xc, [B, S]);
    // [B, S, NH*DH] -> [B, NH, S, DH]; gates [B, S, 2NH] -> [B, NH, S]
    const q = be.empty([B, NH, S, DH]), k = be.empty([B, NH, S, DH]), v = be.empty([B, NH, S, DH]);
    const ig = be.empty([B, NH, S]), fg = be.empty([B, NH, S]);
    cellIn.push(q, k, v, ig, fg);
    const src = pr.qkv.data as Float32Array, gd = pr.gates.data as Float32Array;
    const qd = q.data as Float32Array, kd = k.data as Float32Array, vd = v.data as Float32Array;
    const id = ig.data as Float32Array, fd = fg.data as Float32Array;
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const row = (b * S + s) * 3 * inner, grow = (b * S + s) * 2 * NH;
        for (let hh = 0; hh < NH; hh++) {
          const dst = ((b * NH + hh) * S + s) * DH;
          qd.set(src.subarray(row + hh * DH, row + (hh + 1) * DH), dst);
          kd.set(src.subarray(row + inner + hh * DH, row + inner + (hh + 1) * DH), dst);
          vd.set(src.subarray(row + 2 * inner + hh * DH, row + 2 * inner + (hh + 1) * DH), dst);
          id[(b * NH + hh) * S + s] = gd[grow + hh];
          fd[(b * NH + hh) * S + s] = gd[grow + NH + hh];
        }
      }
    }
    const inputs = { q, k, v, i: ig, f: fg };
    if (state) {
      const r = mlstmPrefill(be, inputs, { eps: MLSTM_EPS, initialState: state, returnState: true });
      h = r.h;
      newCell = r.state;
    } else {
      h = mlstmParallel(be, inputs, { eps: MLSTM_EPS }).h;
      if (wantState) {
        const r = mlstmPrefill(be, inputs, { eps: MLSTM_EPS, returnState: true });
        r.h.dispose();
        newCell = r.state;
      }
    }
    ht = be.empty([B, S, inner]); // [B, S, NH*DH]
    const hd = h.data as Float32Array, td = ht.data as Float32Array;
    for (let b = 0; b < B; b++) {
      for (let hh = 0; hh < NH; hh++) {
        for (let s = 0; s < S; s++) {
          const o = ((b * NH + hh) * S + s) * DH;
          td.set(hd.subarray(o, o + DH), (b * S + s) * inner + hh * DH);
        }
      }
    }
    const y = output(be, w, cfg, ht, xc, z);
    if (!wantState && !state) { dispose(convState); return { y }; }
    const st: MlstmBlockState = { c: newCell!.c, n: newCell!.n, m: newCell!.m };
    if (convState) st.conv = convState;
    return { y, state: st };
  } catch (e) {
    dispose(convState);
    if (newCell) dispose(newCell.c, newCell.n, newCell.m);
    throw e;
  } finally {
    dispose(...cellIn, h, ht, z, pr?.qkv, pr?.gates);
    if (xc !== xm) dispose(xc);
    xm.dispose();
  }
}

/** Copies t to the heap when it is not there (kernels that update in place need heap memory). */
function onHeap(be: WasmBackend, t: Tensor): Tensor { return be.upload(t); }

/** One token: x [B, E] (normed) -> y [B, E]; `state` is updated in place. */
export function mlstmLayerStep(be: WasmBackend, w: MlstmBlockWeights, cfg: Readonly<MLSTMLayerConfig>, x: Tensor, state: MlstmBlockState): Tensor {
  const B = x.shape[0];
  const inner = cfg._inner_embedding_dim, NH = cfg.num_heads, DH = inner / NH;
  const xm = linear(be, x, w.projUpX, w.projUpXBias); // [B, inner]
  let z: Tensor | undefined, xc: Tensor | undefined, pr: { qkv: Tensor; gates: Tensor } | undefined;
  const cellIn: Tensor[] = [];
  let h: Tensor | undefined;
  try {
    z = linear(be, x, w.projUpZ, w.projUpZBias);
    if (w.conv) {
      const cs = onHeap(be, state.conv!);
      try {
        xc = causalConv1dStep(be, xm, cs, w.conv, { bias: w.convBias }).y;
        if (cs !== state.conv) (state.conv!.data as Float32Array).set(cs.data as Float32Array);
      } finally { if (cs !== state.conv) cs.dispose(); }
      silu(be, xc, xc);
    } else xc = xm;
    pr = projections(be, w, cfg, xm, xc, [B]);
    // heads are contiguous in q | k | v rows already: [B, NH*DH] is [B, NH, DH]
    const q = be.empty([B, NH, DH]), k = be.empty([B, NH, DH]), v = be.empty([B, NH, DH]);
    const ig = be.empty([B, NH, 1]), fg = be.empty([B, NH, 1]);
    cellIn.push(q, k, v, ig, fg);
    const src = pr.qkv.data as Float32Array, gd = pr.gates.data as Float32Array;
    for (let b = 0; b < B; b++) {
      const row = b * 3 * inner;
      (q.data as Float32Array).set(src.subarray(row, row + inner), b * inner);
      (k.data as Float32Array).set(src.subarray(row + inner, row + 2 * inner), b * inner);
      (v.data as Float32Array).set(src.subarray(row + 2 * inner, row + 3 * inner), b * inner);
      (ig.data as Float32Array).set(gd.subarray(b * 2 * NH, b * 2 * NH + NH), b * NH);
      (fg.data as Float32Array).set(gd.subarray(b * 2 * NH + NH, (b + 1) * 2 * NH), b * NH);
    }
    h = mlstmStep(be, { q, k, v, i: ig, f: fg }, state, { eps: MLSTM_EPS }).h; // [B, NH, DH]
    return output(be, w, cfg, h.reshape([B, inner]), xc, z);
  } finally {
    dispose(...cellIn, h, z, pr?.qkv, pr?.gates);
    if (xc !== xm) dispose(xc);
    xm.dispose();
  }
}
