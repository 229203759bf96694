// sLSTM layer of the NeurIPS-paper library (blocks/slstm/layer.py), post-up-projection:
//   xc = silu(causal_conv(x))  (xc = x without conv)
//   i, f, z, o = fgate(xc), igate(xc), zgate(x), ogate(x)   (headwise, no bias; the module
//   named fgate gives the input gate and igate the forget gate, as the official layer wires them)
//   y = group_norm(sLSTMCell(cat(i, f, z, o)))
// The cell runs the vanilla recurrence of src/xlstm/slstm (f32), with the first-step rule of
// the backend that config.backend names.
import { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { silu, groupNorm, causalConv1d, causalConv1dStep } from '../../ops/index.js';
import { slstmForward, slstmStep } from '../../xlstm/slstm/index.js';
import type { SLSTMLayerConfig } from './config.js';
import type { SlstmBlockWeights } from './weights.js';
import { headwiseLinear } from './headwise.js';
import { XLSTM_LN_EPS } from './ffn.js';

/**
 * State of an sLSTM block (batch first): y, c, n, m each [B, H] (the official cell state is
 * one [4, B, H] tensor in the order y, c, n, m), conv [B, K, E] when conv1d_kernel_size > 0.
 */
export type SlstmBlockState = { y: Tensor; c: Tensor; n: Tensor; m: Tensor; conv?: Tensor };

const PARTS = ['y', 'c', 'n', 'm'] as const;

export function slstmBlockStateShapes(cfg: Readonly<SLSTMLayerConfig>, B: number): Record<string, number[]> {
  const H = cfg.embedding_dim;
  const s: Record<string, number[]> = { y: [B, H], c: [B, H], n: [B, H], m: [B, H] };
  if (cfg.conv1d_kernel_size > 0) s.conv = [B, cfg.conv1d_kernel_size, H];
  return s;
}

/** {y, c, n, m} [B, H] each -> the cell's [4, B, H]. */
function stackState(st: SlstmBlockState, B: number, H: number): Tensor {
  const t = new Tensor('f32', [4, B, H], new Float32Array(4 * B * H));
  PARTS.forEach((p, j) => (t.data as Float32Array).set(st[p].toFloat32(), j * B * H));
  return t;
}

function firstStepRule(cfg: Readonly<SLSTMLayerConfig>): 'wholeTensor' | 'perElement' {
  // vanilla tests n == 0 on the whole state tensor, the CUDA kernel per unit
  return cfg.backend === 'vanilla' ? 'wholeTensor' : 'perElement';
}

function gateInputs(be: WasmBackend, w: SlstmBlockWeights, x: Tensor, xc: Tensor, lead: number[], H: number): Tensor {
  const g = be.empty([...lead, 4 * H]); // [.., 4H] = i | f | z | o, each h*DH + d
  const gd = g.data as Float32Array;
  headwiseLinear(xc.data as Float32Array, w.gates.i, gd, 4 * H, 0, be);
  headwiseLinear(xc.data as Float32Array, w.gates.f, gd, 4 * H, H, be);
  headwiseLinear(x.data as Float32Array, w.gates.z, gd, 4 * H, 2 * H, be);
  headwiseLinear(x.data as Float32Array, w.gates.o, gd, 4 * H, 3 * H, be);
  return g;
}

/** Sequence forward on normed x [B, S, E]; `state` (not modified) is continued from. */
export function slstmLayerForward(be: WasmBackend, w: SlstmBlockWeights, cfg: Readonly<SLSTMLayerConfig>, x: Tensor,
  state: SlstmBlockState | undefined, wantState: boolean): { y: Tensor; state?: SlstmBlockState } {
  const [B, S, H] = x.shape;
  let xc = x, convState: Tensor | undefined, g: Tensor | undefined, y: Tensor | undefined, cellState: Tensor | undefined;
  try {
    if (w.conv) {
      const r = causalConv1d(be, x, w.conv, { bias: w.convBias, state: state?.conv });
      xc = r.y;
      convState = r.state;
      silu(be, xc, xc);
    }
    g = gateInputs(be, w, x, xc, [B, S], H);
    const r = slstmForward(be, g, w.cell, {
      initialState: state ? stackState(state, B, H) : undefined, outputLayout: 'BSH', firstStepRule: firstStepRule(cfg),
    });
    y = r.y; // [B, S, H]
    cellState = r.state; // [4, B, H]
    const out = groupNorm(be, y, cfg.num_heads, { eps: XLSTM_LN_EPS, weight: w.groupNorm, weightOffset: true });
    if (!wantState && !state) return { y: out };
    const st = {} as SlstmBlockState;
    const cd = cellState.data as Float32Array;
    PARTS.forEach((p, j) => {
      st[p] = be.empty([B, H]);
      (st[p].data as Float32Array).set(cd.subarray(j * B * H, (j + 1) * B * H));
    });
    if (convState) { st.conv = convState; convState = undefined; }
    return { y: out, state: st };
  } finally {
    if (xc !== x) xc.dispose();
    convState?.dispose(); g?.dispose(); y?.dispose(); cellState?.dispose();
  }
}

/** One token: x [B, E] (normed) -> y [B, E]; `state` is updated in place. */
export function slstmLayerStep(be: WasmBackend, w: SlstmBlockWeights, cfg: Readonly<SLSTMLayerConfig>, x: Tensor, state: SlstmBlockState): Tensor {
  const [B, H] = x.shape;
  let xc = x, g: Tensor | undefined, y: Tensor | undefined, cellState: Tensor | undefined;
  try {
    if (w.conv) {
      const cs = be.upload(state.conv!);
      try {
        xc = causalConv1dStep(be, x, cs, w.conv, { bias: w.convBias }).y;
        if (cs !== state.conv) (state.conv!.data as Float32Array).set(cs.data as Float32Array);
      } finally { if (cs !== state.conv) cs.dispose(); }
      silu(be, xc, xc);
    }
    g = gateInputs(be, w, x, xc, [B], H);
    const r = slstmStep(be, g, w.cell, stackState(state, B, H), { firstStepRule: firstStepRule(cfg) });
    y = r.y; // [B, H]
    cellState = r.state;
    const cd = cellState.data as Float32Array;
    PARTS.forEach((p, j) => (state[p].data as Float32Array).set(cd.subarray(j * B * H, (j + 1) * B * H)));
    return groupNorm(be, y, cfg.num_heads, { eps: XLSTM_LN_EPS, weight: w.groupNorm, weightOffset: true });
  } finally {
    if (xc !== x) xc.dispose();
    g?.dispose(); y?.dispose(); cellState?.dispose();
  }
}
