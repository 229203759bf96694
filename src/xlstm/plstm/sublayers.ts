// The official pLSTM sub-layers on the tape: Query/Key/Value projections, Source/Mark/Direct gates,
// the LongRangeTransitionLayer, the P-mode orientation gate and the MultiHeadRMSNorm. Inputs are
// flattened to rows [R, D]; outputs are [R, heads, per-head values].
import { Tape, Var } from '../../autograd/tape.js';
import * as ag from '../../autograd/ops.js';
import { ConfigError } from '../../errors.js';
import type { PLstmGateConfig, PLstmProjConfig, PLstmTransitionConfig } from './config.js';
import type { PLstmParams } from './params.js';
import { expSkew, headProj, transitionCombine } from './tapeOps.js';

export function param(p: PLstmParams, name: string): Var {
  const v = p[name];
  if (!v) throw new ConfigError(`pLSTM parameters: missing ${name}`);
  return v;
}

/** A [heads, P] bias repeated over R rows: [R, heads, P] (zero rows plus a broadcast add keeps the bias gradient). */
function tiled(t: Tape, bias: Var, R: number, heads: number, P: number): Var {
  const z = t.input(t.tensor([R, heads, P], t.zeros(R * heads * P)));
  return ag.add(t, z, ag.reshape(t, bias, [heads, P]));
}

/** QueryLayer / KeyLayer / ValueLayer: [R, D] -> [R, H, Dout*J]. */
export function projection(t: Tape, x: Var, p: PLstmParams, name: string, c: PLstmProjConfig, Dout: number, J: number): Var {
  const H = c.numHeads;
  let y = headProj(t, x, param(p, `${name}.weight`), { heads: H, subHeads: c.subHeads === H ? H : 1, outPerHead: Dout * J, layout: 'nPsx' });
  if (c.bias) y = ag.add(t, y, ag.reshape(t, param(p, `${name}.bias`), [H, Dout * J]));
  if (c.normalization === 'l2') {
    // official: x / sqrt(mean over the J axis of x^2 + 1e-5)
    const R = x.size / x.shape[x.shape.length - 1];
    y = ag.reshape(t, ag.rmsNorm(t, ag.reshape(t, y, [R * H * Dout, J]), { eps: 1e-5 }), [R, H, Dout * J]);
  }
  return y;
}

function gateActivation(t: Tape, a: Var, c: PLstmGateConfig): Var {
  if (c.activation === 'identity') return a;
  if (c.activation === 'tanh') return ag.scale(t, ag.tanh(t, ag.scale(t, a, 1 / c.activationScale)), c.activationScale);
  // exp(scale * logsigmoid(a)); scale 1 is sigmoid(a), evaluated as such
  if (c.activationScale === 1) return ag.sigmoid(t, a);
  return ag.exp(t, ag.scale(t, ag.logsigmoid(t, a), c.activationScale));
}

/** SourceLayer / MarkLayer / DirectLayer: [R, D] -> [R, heads, P] (P = product of the J dims). */
export function gate(t: Tape, x: Var, p: PLstmParams, name: string, c: PLstmGateConfig, P: number): Var {
  const R = x.size / x.shape[x.shape.length - 1];
  const bias = param(p, `${name}.bias`);
  const pre = c.weight
    ? ag.add(t, headProj(t, x, param(p, `${name}.weight`), { heads: c.numHeads, subHeads: c.subHeads, outPerHead: P, layout: 'nsPx' }), ag.reshape(t, bias, [c.numHeads, P]))
    : tiled(t, bias, R, c.numHeads, P);
  return gateActivation(t, pre, c);
}

function eigenActivation(t: Tape, e: Var, c: PLstmTransitionConfig): Var {
  const f = c.eigenvalueFactor;
  if (c.eigenvalueRepresentation === 'tanh') return ag.tanh(t, ag.scale(t, e, f));
  if (c.eigenvalueRepresentation === 'logsigmoid') return ag.exp(t, ag.scale(t, ag.logsigmoid(t, e), f));
  return ag.exp(t, ag.scale(t, ag.exp(t, ag.scale(t, e, -1)), -f)); // 'expexp': exp(-f exp(-e))
}

/** LongRangeTransitionLayer: [R, D] -> [R, heads, JT*JT] (T = A_out diag(eig) A_in; JT = 1: eig). */
export function transition(t: Tape, x: Var, p: PLstmParams, name: string, c: PLstmTransitionConfig): Var {
  const R = x.size / x.shape[x.shape.length - 1];
  const G = c.numHeads, J = c.transitionDim;
  const proj = (bias: string, weight: string, P: number) => c.weight
    ? ag.add(t, headProj(t, x, param(p, `${name}.${weight}`), { heads: G, subHeads: c.subHeads, outPerHead: P, layout: 'nsPx' }), ag.reshape(t, param(p, `${name}.${bias}`), [G, P]))
    : tiled(t, param(p, `${name}.${bias}`), R, G, P);
  const eig = eigenActivation(t, proj('eigenvalues_bias', 'eigenvalues_weight', J), c); // [R, G, J]
  if (J === 1) return eig;
  const order = c.orthogonalizationOrder, f = c.orthogonalizationFactor;
  const aIn = expSkew(t, ag.reshape(t, proj('inproj_bias', 'inproj_weight', J * J), [R * G, J, J]), f, order);
  const aOut = c.symmetric ? ag.transpose(t, aIn, 1, 2) : expSkew(t, ag.reshape(t, proj('outproj_bias', 'outproj_weight', J * J), [R * G, J, J]), f, order);
  return ag.reshape(t, transitionCombine(t, aOut, ag.reshape(t, eig, [R * G, J]), aIn), [R, G, J * J]);
}

/** P-mode orientation: sigmoid(bias + scale * (weight . x) / D) -> [R, nO*H] (index o*H + h). */
export function orientationGate(t: Tape, x: Var, p: PLstmParams, nO: number, H: number, scale: number): Var {
  const D = x.shape[x.shape.length - 1];
  const w = param(p, 'orientation_weight'), b = param(p, 'orientation_bias');
  const proj = headProj(t, x, w, { heads: nO * H, subHeads: 1, outPerHead: 1, layout: 'nsPx' }); // [R, nO*H, 1]
  const R = x.size / D;
  return ag.sigmoid(t, ag.add(t, ag.scale(t, ag.reshape(t, proj, [R, nO * H]), scale / D), ag.reshape(t, b, [nO * H])));
}

/** MultiHeadRMSNorm over each head's values: y [R, H, n] -> [R, H, n]. */
export function multiHeadRmsNorm(t: Tape, y: Var, p: PLstmParams, c: { eps: number; scale: boolean; bias: boolean }): Var {
  let o = ag.rmsNorm(t, y, { eps: c.eps });
  const [, H, n] = y.shape;
  if (c.scale) o = ag.mul(t, o, ag.reshape(t, param(p, 'mhnorm.scale'), [H, n]));
  if (c.bias) o = ag.add(t, o, ag.reshape(t, param(p, 'mhnorm.bias'), [H, n]));
  return o;
}
