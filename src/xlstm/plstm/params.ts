// Parameters of the pLSTM layers under their official state_dict names (model.safetensors keys of
// the golden cases without the variant prefix), their shapes, and the official initialisation.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { Tape, Var } from '../../autograd/tape.js';
import { ConfigError } from '../../errors.js';
import type { PLstm1dConfig, PLstm2dConfig, PLstmConfig, PLstmGateConfig, PLstmProjConfig, PLstmTransitionConfig } from './config.js';

/** The layer's parameters by official name (e.g. 'query.weight', 'transition.eigenvalues_bias'). */
export type PLstmParams = Record<string, Var>;

function projShapes(prefix: string, p: PLstmProjConfig, D: number, Dout: number, J: number, out: Record<string, number[]>): void {
  const S = p.subHeads, H = p.numHeads;
  out[`${prefix}.weight`] = [Math.max(1, H / S), Dout / Math.max(1, S / H), J, S, D / S];
  if (p.bias) out[`${prefix}.bias`] = [H, Dout, J];
}

function gateShapes(prefix: string, g: PLstmGateConfig, D: number, dims: number[], out: Record<string, number[]>): void {
  out[`${prefix}.bias`] = [g.numHeads, ...dims];
  if (g.weight) out[`${prefix}.weight`] = [g.numHeads / g.subHeads, g.subHeads, ...dims, D / g.subHeads];
}

function transitionShapes(prefix: string, t: PLstmTransitionConfig, D: number, out: Record<string, number[]>): void {
  const { numHeads: G, subHeads: S, transitionDim: J } = t;
  if (J > 1) {
    out[`${prefix}.inproj_bias`] = [G, J, J];
    out[`${prefix}.inproj_weight`] = [G / S, S, J, J, D / S];
  }
  out[`${prefix}.eigenvalues_bias`] = [G, J];
  out[`${prefix}.eigenvalues_weight`] = [G / S, S, J, D / S];
  if (!t.symmetric && J > 1) {
    out[`${prefix}.outproj_bias`] = [G, J, J];
    out[`${prefix}.outproj_weight`] = [G / S, S, J, J, D / S];
  }
}

/** Official parameter names -> shapes for a config (the set model.safetensors holds). */
export function plstmParamShapes(cfg: PLstmConfig): Record<string, number[]> {
  const { inputDim: D, numHeads: H, DK, DV, JK, JQ, JV, JT, JO } = cfg;
  const out: Record<string, number[]> = {};
  if (cfg.convolution) {
    const name = cfg.kind === '1d' ? 'conv' : 'convolution';
    out[`${name}._conv.weight`] = [D, 1, ...cfg.convolution.kernelSize];
    if (cfg.convolution.bias) out[`${name}._conv.bias`] = [D];
  }
  const src = [JT, JK, JV], mrk = [JO, JQ, JT];
  if (cfg.kind === '2d' && cfg.mode === 'P') {
    const nO = cfg.fused ? 4 : cfg.orientationCombinations.length;
    out.orientation_bias = [nO, H];
    out.orientation_weight = [nO, H, D];
  }
  if (cfg.kind === '1d' || cfg.mode === 'P') {
    gateShapes('source', cfg.source, D, src, out);
    transitionShapes('transition', cfg.transition, D, out);
    gateShapes('mark', cfg.mark, D, mrk, out);
  } else {
    gateShapes('source_r', cfg.source, D, src, out);
    gateShapes('source_d', cfg.source, D, src, out);
    for (const n of ['transition_r', 'transition_d', 'transition_rd']) transitionShapes(n, cfg.transition, D, out);
    gateShapes('mark_l', cfg.mark, D, mrk, out);
    gateShapes('mark_u', cfg.mark, D, mrk, out);
  }
  gateShapes('direct', cfg.direct, D, [JO, JQ, JK, JV], out);
  projShapes('query', cfg.query, D, DK, JQ, out);
  if (!cfg.tieQueryKey) projShapes('key', cfg.key, D, DK, JK, out);
  projShapes('value_', cfg.value, D, DV, JV, out);
  if (cfg.mhnorm) {
    if (cfg.mhnorm.scale) out['mhnorm.scale'] = [H, DV * JO];
    if (cfg.mhnorm.bias) out['mhnorm.bias'] = [H, DV * JO];
  }
  if (cfg.outprojection) {
    out['outprojection.weight'] = [D, H * JO * DV];
    if (cfg.outprojectionBias) out['outprojection.bias'] = [D];
  }
  if (cfg.passthrough) out['passthrough.scale'] = [D];
  return out;
}

/**
 * Wraps tensors (official names; `prefix` stripped, e.g. 'fused_P.') as tape Vars: Parameters when
 * `trainable`, else inputs. Every parameter the config needs must be there with its shape.
 */
export function plstmParamsFromTensors(t: Tape, cfg: PLstmConfig, tensors: Map<string, Tensor> | Record<string, Tensor>, o: { prefix?: string; trainable?: boolean } = {}): PLstmParams {
  const get = (k: string) => tensors instanceof Map ? tensors.get(k) : tensors[k];
  const prefix = o.prefix ?? '';
  const out: PLstmParams = {};
  for (const [name, shape] of Object.entries(plstmParamShapes(cfg))) {
    const v = get(prefix + name);
    if (!v) throw new ConfigError(`pLSTM parameters: missing ${prefix}${name} (expected shape ${shapeStr(shape)})`);
    if (v.size !== shape.reduce((a, b) => a * b, 1)) throw new ConfigError(`pLSTM parameters: ${prefix}${name} has shape ${shapeStr(v.shape)}, expected ${shapeStr(shape)}`);
    const tv = v.shape.length === shape.length ? v : v.reshape(shape);
    out[name] = o.trainable ? t.param(tv, prefix + name, !name.endsWith('bias') && !name.endsWith('scale')) : t.input(tv, false, prefix + name);
  }
  return out;
}

/** Seeded normal sampler (Box-Muller over a small xorshift), local so the init needs no global state. */
function samplers(seed: number): { normal: () => number; uniform: () => number } {
  let s = (seed >>> 0) || 0x9e3779b9;
  const u = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 4294967296; };
  return { uniform: u, normal: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

/** fan_in of the depthwise conv (one input channel per group): the kernel size. */
function convFanIn(cfg: PLstmConfig): number { return cfg.convolution ? cfg.convolution.kernelSize.reduce((a, b) => a * b, 1) : 1; }

/**
 * The official initialisation (reset_parameters with the default init configs): conv as torch's default, Source/Mark/Direct
 * biases -5 (gates ~0.007), transition eigenvalue bias 1 and weights 0, in/out projection biases the
 * identity and weights 0, q/k/v and out-projection weights SmallInit (N(0, 2/(5 fan_in))), biases 0,
 * norm scale and passthrough 1, P-mode orientation bias linspace(-2, 2) over heads, weight 0.
 */
export function initPlstmParams(cfg: PLstm1dConfig | PLstm2dConfig, seed = 0): Record<string, Tensor> {
  const { normal: rnd, uniform } = samplers(seed);
  const out: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(plstmParamShapes(cfg))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    const leaf = name.split('.').pop()!;
    const part = name.split('.')[0];
    // torch's Conv default (kaiming_uniform(a=sqrt(5))): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    if (name.startsWith('conv') && name.includes('._conv.')) { const b = 1 / Math.sqrt(convFanIn(cfg)); for (let i = 0; i < n; i++) a[i] = b * (2 * uniform() - 1); }
    else if (/^(source|mark|direct)/.test(part) && leaf === 'bias') a.fill(-5);
    else if (leaf === 'eigenvalues_bias') a.fill(1);
    else if (leaf === 'inproj_bias' || leaf === 'outproj_bias') { const J = shape[shape.length - 1]; for (let r = 0; r < n / (J * J); r++) for (let i = 0; i < J; i++) a[r * J * J + i * J + i] = 1; }
    else if (/^(query|key|value_|outprojection)$/.test(part) && leaf === 'weight') { const fan = shape[shape.length - 1]; const std = Math.sqrt(2 / (5 * fan)); for (let i = 0; i < n; i++) a[i] = std * rnd(); }
    else if (leaf === 'scale') a.fill(1);
    else if (name === 'orientation_bias') { const H = shape[1]; for (let o = 0; o < shape[0]; o++) for (let h = 0; h < H; h++) a[o * H + h] = H > 1 ? -2 + 4 * h / (H - 1) : -2; }
    // every other weight (gate/transition/orientation weights, q/k/v biases) starts at zero as in the official inits
    out[name] = new Tensor('f32', shape, a);
  }
  return out;
}
