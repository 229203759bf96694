// Typed configs of the pLSTM layers (ml-jku/plstm pLSTM1DLayerConfig, pLSTM2DLayerConfig,
// pLSTM2DLayerFusedConfig), read from the official config JSON (dataclass fields, snake_case)
// or built from defaults. Only the options the official torch code implements are accepted;
// anything else is a ConfigError naming the key.
import { ConfigError } from '../../errors.js';

export type PLstmGateActivation = 'logsigmoid' | 'tanh' | 'identity';

/** Source / Mark / Direct layers: activation(bias [+ weight . input]) per head. */
export interface PLstmGateConfig {
  numHeads: number;
  subHeads: number;
  /** false (official default): input-independent, the bias only. */
  weight: boolean;
  /** 'logsigmoid': exp(scale * logsigmoid(a)) (= sigmoid(a) for scale 1); 'tanh': scale * tanh(a / scale). */
  activation: PLstmGateActivation;
  activationScale: number;
}

export type PLstmEigenvalueRepresentation = 'tanh' | 'logsigmoid' | 'expexp';

/** LongRangeTransitionLayer: T = A_out diag(eig(c)) A_in per position and head (JT x JT). */
export interface PLstmTransitionConfig {
  numHeads: number;
  subHeads: number;
  transitionDim: number;
  weight: boolean;
  eigenvalueRepresentation: PLstmEigenvalueRepresentation;
  eigenvalueFactor: number;
  symmetric: boolean;
  /** Only 'exponential_orthogonalization' (the official default) is implemented. */
  normalizationMode: 'exponential_orthogonalization';
  orthogonalizationFactor: number;
  orthogonalizationOrder: number;
}

/** Query / Key / Value layers: head-wise block-diagonal projections. */
export interface PLstmProjConfig {
  numHeads: number;
  subHeads: number;
  bias: boolean;
  /** 'l2': x / sqrt(mean over the J axis of x^2 + 1e-5) (official QueryLayer normalisation). */
  normalization: 'none' | 'l2';
}

export interface PLstmCommonConfig {
  inputDim: number;
  numHeads: number;
  DK: number; DV: number;
  JK: number; JQ: number; JV: number; JT: number; JO: number;
  source: PLstmGateConfig;
  transition: PLstmTransitionConfig;
  mark: PLstmGateConfig;
  direct: PLstmGateConfig;
  query: PLstmProjConfig;
  key: PLstmProjConfig;
  value: PLstmProjConfig;
  tieQueryKey: boolean;
  /** Letters of the parts fed by the convolution output instead of x (S T M D Q K V O P), official substring test. */
  convolutionInputs: string;
  /** Depthwise convolution (1D: causal kernel k; 2D: kernel [kx, ky] seeing x-kx+1..x, y-ky+1..y), or null. */
  convolution: { kernelSize: number[]; bias: boolean } | null;
  /** out += passthrough.scale * (1D: conv(x) if 'P' in convolutionInputs else x; 2D: x). */
  passthrough: boolean;
  /** MultiHeadRMSNorm over each head's DV*JO outputs, or null. */
  mhnorm: { eps: number; scale: boolean; bias: boolean } | null;
  outprojection: boolean;
  outprojectionBias: boolean;
  /** Official kernel block levels (2^levels positions per chunk / block); results do not depend on it. */
  levels: number;
}

export interface PLstm1dConfig extends PLstmCommonConfig { kind: '1d' }

export interface PLstm2dConfig extends PLstmCommonConfig {
  kind: '2d';
  /** 'P': propagation (one orientation gate splits source/transition into right/down); 'D': diffusion (separate gates). */
  mode: 'P' | 'D';
  /** pLSTM2DLayerFused (the vision model's layer): four orientations summed before one norm. */
  fused: boolean;
  /** D-mode: 'L' uses transition_rd as T_ru (T_dl = 0), 'R' as T_dl (T_ru = 0). */
  chirality: 'L' | 'R';
  /** Non-fused layer: the orientations averaged (official flips: x if o odd, y if (o >> 2) odd). Fused: always 4. */
  orientationCombinations: number[];
  pmodeOrientationScale: number;
}

export type PLstmConfig = PLstm1dConfig | PLstm2dConfig;

// ---- reading the official JSON ----

type Json = Record<string, unknown>;

function num(o: Json, key: string, where: string, dflt?: number): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}.${key}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}
function int(o: Json, key: string, where: string, dflt?: number): number {
  const v = num(o, key, where, dflt);
  if (!Number.isInteger(v) || v < 0) throw new ConfigError(`${where}.${key}: expected a non-negative integer, got ${v}`);
  return v;
}
function bool(o: Json, key: string, where: string, dflt?: boolean): boolean {
  const v = o[key] ?? dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`${where}.${key}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}
function oneOf<T extends string>(o: Json, key: string, where: string, allowed: readonly T[], dflt?: T): T {
  const v = o[key] ?? dflt;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw new ConfigError(`${where}.${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}
function sub(o: Json, key: string, where: string): Json {
  const v = o[key];
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${where}.${key}: expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
}

function gateCfg(o: Json, where: string): PLstmGateConfig {
  return {
    numHeads: int(o, 'num_heads', where), subHeads: int(o, 'sub_heads', where, 1), weight: bool(o, 'weight', where, false),
    activation: oneOf(o, 'activation', where, ['logsigmoid', 'tanh', 'identity'] as const, 'logsigmoid'),
    activationScale: num(o, 'activation_scale', where, 1),
  };
}

function transitionCfg(o: Json, where: string): PLstmTransitionConfig {
  return {
    numHeads: int(o, 'num_heads', where), subHeads: int(o, 'sub_heads', where, 1), transitionDim: int(o, 'transition_dim', where),
    weight: bool(o, 'weight', where, true),
    eigenvalueRepresentation: oneOf(o, 'eigenvalue_representation', where, ['tanh', 'logsigmoid', 'expexp'] as const, 'tanh'),
    eigenvalueFactor: num(o, 'eigenvalue_factor', where, 5), symmetric: bool(o, 'symmetric', where, false),
    normalizationMode: oneOf(o, 'normalization_mode', where, ['exponential_orthogonalization'] as const, 'exponential_orthogonalization'),
    orthogonalizationFactor: num(o, 'orthogonalization_factor', where, 1), orthogonalizationOrder: int(o, 'orthogonalization_order', where, 16),
  };
}

function projCfg(o: Json, where: string): PLstmProjConfig {
  return {
    numHeads: int(o, 'num_heads', where), subHeads: int(o, 'sub_heads', where, 1), bias: bool(o, 'bias', where, true),
    normalization: oneOf(o, 'normalization', where, ['none', 'l2'] as const, 'none'),
  };
}

function commonCfg(o: Json, where: string, dims: 1 | 2): PLstmCommonConfig {
  const addConv = bool(o, 'additional_convolution', where, dims === 1);
  let convolution: PLstmCommonConfig['convolution'] = null;
  if (addConv) {
    const c = sub(o, 'convolution', where);
    const ks = c.kernel_size;
    const kernelSize = typeof ks === 'number' ? [ks] : Array.isArray(ks) ? ks as number[] : [];
    if (kernelSize.length !== dims || kernelSize.some((k) => !Number.isInteger(k) || k < 1)) throw new ConfigError(`${where}.convolution.kernel_size: expected ${dims === 1 ? 'an integer' : '[kx, ky]'}, got ${JSON.stringify(ks)}`);
    if (dims === 1 && c.causal === false) throw new ConfigError(`${where}.convolution.causal: the 1D layer's convolution must be causal`);
    convolution = { kernelSize, bias: bool(c, 'bias', `${where}.convolution`, true) };
  }
  let mhnorm: PLstmCommonConfig['mhnorm'] = null;
  if (o.mhnorm) {
    const m = sub(o, 'mhnorm', where);
    if (m.class_name !== undefined && m.class_name !== 'MultiHeadRMSNorm') throw new ConfigError(`${where}.mhnorm.class_name: only MultiHeadRMSNorm is implemented, got ${JSON.stringify(m.class_name)}`);
    mhnorm = { eps: num(m, 'eps', `${where}.mhnorm`, 1e-5), scale: bool(m, 'scale', `${where}.mhnorm`, true), bias: bool(m, 'bias', `${where}.mhnorm`, false) };
  }
  const cfg: PLstmCommonConfig = {
    inputDim: int(o, 'input_dim', where), numHeads: int(o, 'num_heads', where),
    DK: int(o, 'DK', where), DV: int(o, 'DV', where),
    JK: int(o, 'JK', where), JQ: int(o, 'JQ', where), JV: int(o, 'JV', where), JT: int(o, 'JT', where), JO: int(o, 'JO', where),
    source: gateCfg(sub(o, 'source', where), `${where}.source`),
    transition: transitionCfg(sub(o, 'transition', where), `${where}.transition`),
    mark: gateCfg(sub(o, 'mark', where), `${where}.mark`),
    direct: gateCfg(sub(o, 'direct', where), `${where}.direct`),
    query: projCfg(sub(o, 'query', where), `${where}.query`),
    key: projCfg(sub(o, 'key', where), `${where}.key`),
    value: projCfg(sub(o, 'value', where), `${where}.value`),
    tieQueryKey: bool(o, 'tie_query_key', where, false),
    convolutionInputs: typeof o.convolution_inputs === 'string' ? o.convolution_inputs : (dims === 1 ? 'STMDQKstP' : 'STMDQKsO'),
    convolution,
    passthrough: bool(o, 'additional_passthrough', where, dims === 1),
    mhnorm,
    outprojection: bool(o, 'outprojection', where, true),
    outprojectionBias: bool(o, 'outprojection_bias', where, false),
    levels: int(o, 'levels', where, 16),
  };
  return cfg;
}

/** pLSTM1DLayerConfig JSON (official field names) -> PLstm1dConfig. */
export function plstm1dConfigFromJson(o: unknown, where = 'plstm1d'): PLstm1dConfig {
  if (!o || typeof o !== 'object') throw new ConfigError(`${where}: expected a config object`);
  const cfg: PLstm1dConfig = { kind: '1d', ...commonCfg(o as Json, where, 1) };
  checkConfig(cfg, where);
  return cfg;
}

/** pLSTM2DLayerConfig / pLSTM2DLayerFusedConfig JSON -> PLstm2dConfig (fused from class_name or `fused`). */
export function plstm2dConfigFromJson(o: unknown, where = 'plstm2d', fused?: boolean): PLstm2dConfig {
  if (!o || typeof o !== 'object') throw new ConfigError(`${where}: expected a config object`);
  const j = o as Json;
  const isFused = fused ?? j.class_name === 'pLSTM2DLayerFused';
  const oc = j.orientation_combinations ?? [0, 1, 2, 3];
  if (!Array.isArray(oc) || oc.length === 0 || oc.some((v) => !Number.isInteger(v) || v < 0)) throw new ConfigError(`${where}.orientation_combinations: expected a list of non-negative integers, got ${JSON.stringify(oc)}`);
  const mode = oneOf(j, 'mode', where, ['P', 'D'] as const, 'P');
  const cfg: PLstm2dConfig = {
    kind: '2d', ...commonCfg(j, where, 2),
    mode,
    fused: isFused,
    chirality: oneOf(j, 'dmode_chirality', where, ['L', 'R'] as const, 'L'),
    orientationCombinations: isFused ? [0, 1, 2, 3] : oc as number[],
    pmodeOrientationScale: num(j, 'pmode_orientation_scale', where, 0.5),
  };
  checkConfig(cfg, where);
  return cfg;
}

/** Consistency of the dims (the official layers assume these silently and fail later). */
export function checkConfig(cfg: PLstmConfig, where = cfg.kind === '1d' ? 'plstm1d' : 'plstm2d'): void {
  const { inputDim: D, numHeads: H } = cfg;
  const pos = (v: number, n: string) => { if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${where}.${n}: expected a positive integer, got ${v}`); };
  for (const n of ['inputDim', 'numHeads', 'DK', 'DV', 'JK', 'JQ', 'JV', 'JT', 'JO'] as const) pos(cfg[n], n);
  // 2D: one gate head per (orientation, head), orientation-major
  const gateHeads = cfg.kind === '2d' ? (cfg.fused ? 4 : cfg.orientationCombinations.length) * H : H;
  for (const [n, g] of [['source', cfg.source], ['mark', cfg.mark], ['transition', cfg.transition]] as const) {
    if (g.numHeads !== gateHeads) throw new ConfigError(`${where}.${n}.num_heads: expected ${gateHeads}${cfg.kind === '2d' ? ' (orientations x num_heads)' : ''}, got ${g.numHeads}`);
  }
  if (cfg.direct.numHeads !== H) throw new ConfigError(`${where}.direct.num_heads: expected ${H}, got ${cfg.direct.numHeads}`);
  if (cfg.transition.transitionDim !== cfg.JT) throw new ConfigError(`${where}.transition.transition_dim: expected JT = ${cfg.JT}, got ${cfg.transition.transitionDim}`);
  for (const [n, g] of [['source', cfg.source], ['mark', cfg.mark], ['direct', cfg.direct], ['transition', cfg.transition], ['query', cfg.query], ['key', cfg.key], ['value', cfg.value]] as const) {
    if (g.subHeads < 1 || D % g.subHeads !== 0) throw new ConfigError(`${where}.${n}.sub_heads: ${g.subHeads} must divide input_dim ${D}`);
    if (g.numHeads % g.subHeads !== 0 && !(n === 'query' || n === 'key' || n === 'value')) throw new ConfigError(`${where}.${n}.sub_heads: ${g.subHeads} must divide num_heads ${g.numHeads}`);
  }
  for (const [n, g] of [['query', cfg.query], ['key', cfg.key], ['value', cfg.value]] as const) {
    if (g.numHeads !== H) throw new ConfigError(`${where}.${n}.num_heads: expected ${H}, got ${g.numHeads}`);
    if (g.subHeads !== H && g.subHeads !== 1) throw new ConfigError(`${where}.${n}.sub_heads: only 1 or num_heads (${H}) are implemented, got ${g.subHeads}`);
  }
  if (cfg.tieQueryKey && cfg.JQ !== cfg.JK) throw new ConfigError(`${where}.tie_query_key: needs JQ = JK, got ${cfg.JQ} and ${cfg.JK}`);
  if (!cfg.outprojection && H * cfg.DV * cfg.JO !== D) throw new ConfigError(`${where}.outprojection: false needs num_heads*DV*JO = input_dim (${H * cfg.DV * cfg.JO} vs ${D})`);
  if (cfg.kind === '2d' && cfg.fused && cfg.orientationCombinations.length !== 4) throw new ConfigError(`${where}: the fused layer always uses the four orientations`);
}

/** The official defaults (pLSTM1DLayerConfig(input_dim, num_heads)): state-tracking JV = JT = JO = 4. */
export function defaultPlstm1dConfig(o: { inputDim: number; numHeads: number; JT?: number }): PLstm1dConfig {
  const H = o.numHeads, D = o.inputDim, J = o.JT ?? 4;
  const gate = (heads: number): PLstmGateConfig => ({ numHeads: heads, subHeads: 1, weight: false, activation: 'logsigmoid', activationScale: 1 });
  const proj = (): PLstmProjConfig => ({ numHeads: H, subHeads: H, bias: true, normalization: 'none' });
  const cfg: PLstm1dConfig = {
    kind: '1d', inputDim: D, numHeads: H, DK: D / H, DV: D / (J * H), JK: 1, JQ: 1, JV: J, JT: J, JO: J,
    source: gate(H), mark: gate(H), direct: gate(H),
    transition: { numHeads: H, subHeads: 1, transitionDim: J, weight: true, eigenvalueRepresentation: 'tanh', eigenvalueFactor: 5, symmetric: false, normalizationMode: 'exponential_orthogonalization', orthogonalizationFactor: 1, orthogonalizationOrder: 16 },
    query: proj(), key: proj(), value: proj(), tieQueryKey: false,
    convolutionInputs: 'STMDQKstP', convolution: { kernelSize: [4], bias: true }, passthrough: true,
    mhnorm: { eps: 1e-5, scale: true, bias: false }, outprojection: true, outprojectionBias: false, levels: 8,
  };
  checkConfig(cfg);
  return cfg;
}

/** The official 2D defaults (all J dims 1, DK = DV = D/H); fused = pLSTM2DLayerFused (no conv, no passthrough). */
export function defaultPlstm2dConfig(o: { inputDim: number; numHeads: number; mode: 'P' | 'D'; fused?: boolean; chirality?: 'L' | 'R' }): PLstm2dConfig {
  const H = o.numHeads, D = o.inputDim, fused = o.fused ?? false;
  const gate = (heads: number): PLstmGateConfig => ({ numHeads: heads, subHeads: 1, weight: false, activation: 'logsigmoid', activationScale: 1 });
  const proj = (): PLstmProjConfig => ({ numHeads: H, subHeads: H, bias: true, normalization: 'none' });
  const cfg: PLstm2dConfig = {
    kind: '2d', inputDim: D, numHeads: H, DK: D / H, DV: D / H, JK: 1, JQ: 1, JV: 1, JT: 1, JO: 1,
    source: gate(4 * H), mark: gate(4 * H), direct: gate(H),
    transition: { numHeads: 4 * H, subHeads: 1, transitionDim: 1, weight: true, eigenvalueRepresentation: 'tanh', eigenvalueFactor: 5, symmetric: false, normalizationMode: 'exponential_orthogonalization', orthogonalizationFactor: 1, orthogonalizationOrder: 16 },
    query: proj(), key: proj(), value: proj(), tieQueryKey: false,
    convolutionInputs: 'STMDQKsO', convolution: fused ? null : { kernelSize: [3, 3], bias: true }, passthrough: !fused,
    mhnorm: { eps: 1e-5, scale: true, bias: false }, outprojection: true, outprojectionBias: false, levels: 6,
    mode: o.mode, fused, chirality: o.chirality ?? 'L', orientationCombinations: [0, 1, 2, 3], pmodeOrientationScale: 0.5,
  };
  checkConfig(cfg);
  return cfg;
}
