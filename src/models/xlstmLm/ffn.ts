// Gated feedforward of the sLSTM block (components/feedforward.py GatedFeedForward) and
// the pre-norm LayerNorm of the blocks (components/ln.py: weight stored as an offset,
// scale = 1 + w, no bias, eps 1e-5).
//   (gate, up) = split(proj_up(x));  y = proj_down(act(gate) * up)
import type { Tensor } from '../../tensor/tensor.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { gelu, mul, relu, sigmoid, silu, layerNorm } from '../../ops/index.js';
import { linear } from '../../ops/matmul.js';
import type { FeedForwardActFn, FeedForwardConfig } from './config.js';
import type { FeedForwardWeights } from './weights.js';

/** eps of every LayerNorm / MultiHeadLayerNorm of the library. */
export const XLSTM_LN_EPS = 1e-5;

/** The library's LayerNorm: (1 + w) * normalise(x), no bias. */
export function xlstmLayerNorm(be: WasmBackend, x: Tensor, weight: Tensor | undefined): Tensor {
  return layerNorm(be, x, { eps: XLSTM_LN_EPS, weight, weightOffset: true });
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** act_fn of the feedforward registry, in place on a heap tensor. */
export function applyActivation(be: WasmBackend, fn: FeedForwardActFn, x: Tensor): void {
  switch (fn) {
    case 'gelu': gelu(be, x, x); return;
    case 'relu': relu(be, x, x); return;
    case 'relu^2': relu(be, x, x); mul(be, x, x, x); return;
    case 'sigmoid': sigmoid(be, x, x); return;
    case 'swish': silu(be, x, x); return;
    case 'selu': {
      const d = x.data as Float32Array;
      for (let j = 0; j < d.length; j++) d[j] = SELU_SCALE * (d[j] > 0 ? d[j] : SELU_ALPHA * Math.expm1(d[j]));
      return;
    }
    default: throw new RangeError(`feedforward: act_fn ${JSON.stringify(fn)} is not supported`);
  }
}

/** x -> ffn(ffn_norm(x)) (the residual is added by the caller). x [.., E] -> [.., E]. */
export function feedForward(be: WasmBackend, w: FeedForwardWeights, cfg: Readonly<FeedForwardConfig>, x: Tensor): Tensor {
  const xn = xlstmLayerNorm(be, x, w.norm);
  let g: Tensor | undefined, u: Tensor | undefined;
  try {
    g = linear(be, xn, w.upGate, w.upGateBias); // [.., U]
    u = linear(be, xn, w.up, w.upBias); // [.., U]
    applyActivation(be, cfg.act_fn, g);
    mul(be, g, u, g);
    return linear(be, g, w.down, w.downBias); // [.., E]
  } finally { xn.dispose(); g?.dispose(); u?.dispose(); }
}
