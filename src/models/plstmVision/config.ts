// The pLSTM vision model's config, mirrored from the official pLSTMVisionModelConfig JSON
// (ml-jku/plstm plstm.config.vision_model; dataclass fields -> JSON as in the golden
// config.json): every official key is read (camelCase here) and checked, unknown keys are
// errors, and `plstmVisionOfficialJson` writes the same structure back, so a model saved here
// carries a config the official code can instantiate. Initialiser and dtype entries are kept
// verbatim (they matter to the official code, not to a forward pass here). The pLSTM layer
// config inside each block (`interaction_module`) is read by the layer's own parser.
import { ConfigError } from '../../errors.js';
import { parseLayerConfig, type Plstm2dLayerConfig } from './layer2d.js';

type Json = Record<string, unknown>;

export interface RmsNormConfig { inputDim: number; eps: number; bias: boolean; scale: boolean }

/** PostUpProjectionBlock: x2 = x + layer(norm(x)); y = x2 + down(act(up(norm2(x2)))). */
export interface PostUpBlockConfig {
  inputDim: number;
  bias: boolean;
  projectionScaling: number;
  projectionRound: number;
  /** ceil(projectionScaling * inputDim / projectionRound) * projectionRound. */
  innerDim: number;
  gatingFunction: 'gelu';
  skip: boolean;
  dropPathRate: number;
  norm: RmsNormConfig;
  interactionModule: Plstm2dLayerConfig;
}

/** pLSTMVisionBlock1: block1(block0(x)) (returned as x + (y - x), the drop path of ones). */
export interface VisionBlockConfig { blockMode: string; numHeads: number; block0: PostUpBlockConfig; block1: PostUpBlockConfig; dropPathRate: number }

export type VisionPooling = 'corners' | 'mean' | 'sum' | 'center';

export interface PlstmVisionConfig {
  dim: number;
  numChannels: number;
  patchSize: number;
  numBlocks: number;
  numClasses: number;
  pooling: VisionPooling;
  numHeads: number;
  /** Patch grid the position embedding is stored at ([h0, w0] = resolution / patch). */
  seqlens: [number, number];
  resolution: [number, number];
  channelsFirst: boolean;
  usePosEmbed: boolean;
  allowInterpolation: boolean;
  logitSoftcap: number | null;
  norm: RmsNormConfig;
  blocks: VisionBlockConfig[];
  /** The official JSON this was read from (written back on save). */
  official: Json;
}

const IGNORED = new Set(['class_name', 'dtype', 'param_dtype', '_short_name', '_shortname', 'aux']);
const isInit = (k: string) => k.endsWith('_init');

/** Reads `o` as an object whose keys are in `known` (plus initialisers/dtypes), naming `where` in errors. */
function obj(o: unknown, where: string, known: readonly string[]): Json {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ConfigError(`${where}: expected an object, got ${JSON.stringify(o)}`);
  for (const k of Object.keys(o)) {
    if (!known.includes(k) && !IGNORED.has(k) && !isInit(k)) throw new ConfigError(`${where}: unknown key '${k}' (known: ${known.join(', ')})`);
  }
  return o as Json;
}
function num(o: Json, k: string, where: string, opt: { int?: boolean; min?: number; dflt?: number } = {}): number {
  const v = o[k] ?? opt.dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (opt.int && !Number.isInteger(v)) || (opt.min !== undefined && v < opt.min)) {
    throw new ConfigError(`${where}.${k}: expected ${opt.int ? 'an integer' : 'a number'}${opt.min !== undefined ? ` >= ${opt.min}` : ''}, got ${JSON.stringify(v)}`);
  }
  return v;
}
function bool(o: Json, k: string, where: string, dflt?: boolean): boolean {
  const v = o[k] ?? dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`${where}.${k}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}
function pair(o: Json, k: string, where: string): [number, number] {
  const v = o[k];
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 1)) throw new ConfigError(`${where}.${k}: expected two positive integers, got ${JSON.stringify(v)}`);
  return [v[0], v[1]];
}
function same(where: string, what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new ConfigError(`${where}: ${what} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

function rmsNormConfig(o: unknown, where: string, dim: number): RmsNormConfig {
  const j = obj(o, where, ['input_dim', 'output_dim', 'eps', 'bias', 'scale']);
  const c = { inputDim: num(j, 'input_dim', where, { int: true, min: 1 }), eps: num(j, 'eps', where, { min: 0 }), bias: bool(j, 'bias', where), scale: bool(j, 'scale', where) };
  same(where, 'input_dim', c.inputDim, dim);
  if (j.output_dim !== undefined && j.output_dim !== -1) same(where, 'output_dim', j.output_dim, dim);
  if (j.class_name !== undefined && j.class_name !== 'RMSNorm') throw new ConfigError(`${where}.class_name: only RMSNorm is implemented, got ${JSON.stringify(j.class_name)}`);
  return c;
}

function postUpConfig(o: unknown, where: string, dim: number): PostUpBlockConfig {
  const j = obj(o, where, ['input_dim', 'output_dim', 'bias', 'projection_scaling', 'projection_round', 'gated', 'gating_function', 'drop_path_rate',
    'interaction_module_name', 'interaction_module', 'skip', 'use_scale', 'scale', 'norm']);
  if (j.class_name !== undefined && j.class_name !== 'PostUpProjectionBlock') throw new ConfigError(`${where}.class_name: only PostUpProjectionBlock is implemented, got ${JSON.stringify(j.class_name)}`);
  same(where, 'input_dim', num(j, 'input_dim', where, { int: true }), dim);
  if (bool(j, 'gated', where, false)) throw new ConfigError(`${where}.gated: only the ungated block (false) is implemented (the official vision configs use false)`);
  if (bool(j, 'use_scale', where, false)) throw new ConfigError(`${where}.use_scale: only false is implemented`);
  const act = j.gating_function ?? 'gelu';
  if (act !== 'gelu') throw new ConfigError(`${where}.gating_function: only 'gelu' is implemented, got ${JSON.stringify(act)}`);
  const projectionScaling = num(j, 'projection_scaling', where, { min: 0 }), projectionRound = num(j, 'projection_round', where, { int: true, min: 1 });
  const im = parseLayerConfig(j.interaction_module, `${where}.interaction_module`);
  if (im.inputDim !== dim) throw new ConfigError(`${where}.interaction_module.input_dim: ${im.inputDim}, expected the block dim ${dim}`);
  return {
    inputDim: dim, bias: bool(j, 'bias', where), projectionScaling, projectionRound,
    innerDim: Math.ceil((projectionScaling * dim) / projectionRound) * projectionRound,
    gatingFunction: 'gelu', skip: bool(j, 'skip', where, true), dropPathRate: num(j, 'drop_path_rate', where, { min: 0, dflt: 0 }),
    norm: rmsNormConfig(j.norm, `${where}.norm`, dim), interactionModule: im,
  };
}

/** pLSTMVisionModelConfig JSON (official field names) -> PlstmVisionConfig. */
export function plstmVisionConfigFromJson(o: unknown, source = 'pLSTMVisionModelConfig'): PlstmVisionConfig {
  const j = obj(o, source, ['dim', 'num_channels', 'patch_size', 'num_blocks', 'output_shape', 'mode', 'pooling', 'stride', 'norm_bias', 'num_heads',
    'seqlens', 'resolution', 'channels_first', 'input_shape', 'head_init_std', 'num_patches', 'norm', 'block_stack', 'patch_embed', 'use_pos_embed',
    'pos_embed', 'logit_softcap']);
  const dim = num(j, 'dim', source, { int: true, min: 1 });
  const numChannels = num(j, 'num_channels', source, { int: true, min: 1 });
  const patchSize = num(j, 'patch_size', source, { int: true, min: 1 });
  const numHeads = num(j, 'num_heads', source, { int: true, min: 1 });
  const resolution = pair(j, 'resolution', source);
  if (resolution.some((r) => r % patchSize !== 0)) throw new ConfigError(`${source}.resolution ${JSON.stringify(resolution)} must be divisible by patch_size ${patchSize}`);
  const seqlens = pair(j, 'seqlens', source);
  same(source, 'seqlens', seqlens, resolution.map((r) => r / patchSize));
  if (j.stride !== undefined && j.stride !== null && j.stride !== patchSize) throw new ConfigError(`${source}.stride: only null (= patch_size) is implemented, got ${JSON.stringify(j.stride)}`);
  if ((j.mode ?? 'classifier') !== 'classifier') throw new ConfigError(`${source}.mode: only 'classifier' is implemented, got ${JSON.stringify(j.mode)}`);
  const pooling = j.pooling ?? 'corners';
  if (!['corners', 'mean', 'sum', 'center'].includes(pooling as string)) throw new ConfigError(`${source}.pooling: expected corners, mean, sum or center, got ${JSON.stringify(pooling)}`);
  const out = j.output_shape;
  if (!Array.isArray(out) || out.length !== 1 || !Number.isInteger(out[0]) || out[0] < 1) throw new ConfigError(`${source}.output_shape: expected [num_classes], got ${JSON.stringify(out)}`);
  const channelsFirst = bool(j, 'channels_first', source, true);
  if (j.input_shape !== undefined) same(source, 'input_shape', j.input_shape, channelsFirst ? [numChannels, ...resolution] : [...resolution, numChannels]);
  const softcap = j.logit_softcap ?? null;
  if (softcap !== null && (typeof softcap !== 'number' || !(softcap > 0))) throw new ConfigError(`${source}.logit_softcap: expected null or a positive number, got ${JSON.stringify(softcap)}`);
  if (j.patch_embed !== undefined) {
    const w = `${source}.patch_embed`;
    const pe = obj(j.patch_embed, w, ['dim', 'num_channels', 'resolution', 'channels_first', 'patch_size', 'stride']);
    same(w, 'dim', pe.dim, dim); same(w, 'num_channels', pe.num_channels, numChannels); same(w, 'resolution', pe.resolution, resolution);
    same(w, 'patch_size', pe.patch_size, patchSize); same(w, 'channels_first', pe.channels_first ?? true, channelsFirst);
    if (pe.stride !== undefined && pe.stride !== null) same(w, 'stride', pe.stride, patchSize);
  }
  const usePosEmbed = bool(j, 'use_pos_embed', source, true);
  let allowInterpolation = true;
  if (j.pos_embed !== undefined && j.pos_embed !== null) {
    const w = `${source}.pos_embed`;
    const pe = obj(j.pos_embed, w, ['seqlens', 'dim', 'allow_interpolation', 'learnable']);
    same(w, 'seqlens', pe.seqlens, seqlens); same(w, 'dim', pe.dim, dim);
    allowInterpolation = bool(pe, 'allow_interpolation', w, true);
  }
  const bsWhere = `${source}.block_stack`;
  const bs = obj(j.block_stack, bsWhere, ['input_dim', 'output_dim', 'block', 'scan_blocks', 'num_blocks']);
  if (bs.class_name !== undefined && bs.class_name !== 'BlockStack') throw new ConfigError(`${bsWhere}.class_name: only BlockStack is implemented`);
  const numBlocks = num(bs, 'num_blocks', bsWhere, { int: true, min: 0 });
  if (j.num_blocks !== undefined) same(source, 'num_blocks (vs block_stack.num_blocks)', j.num_blocks, numBlocks);
  const bw = `${bsWhere}.block`;
  const b = obj(bs.block, bw, ['input_dim', 'output_dim', 'num_heads', 'block_type', 'block_mode', 'orientations0', 'orientations1', 'block0', 'block1', 'drop_path_rate']);
  if (b.class_name !== undefined && b.class_name !== 'pLSTMVisionBlock1') throw new ConfigError(`${bw}.class_name: only pLSTMVisionBlock1 is implemented, got ${JSON.stringify(b.class_name)}`);
  const blockMode = typeof b.block_mode === 'string' ? b.block_mode : 'PD';
  const block: VisionBlockConfig = {
    blockMode, numHeads: num(b, 'num_heads', bw, { int: true, min: 1 }),
    block0: postUpConfig(b.block0, `${bw}.block0`, dim), block1: postUpConfig(b.block1, `${bw}.block1`, dim),
    dropPathRate: num(b, 'drop_path_rate', bw, { min: 0, dflt: 0 }),
  };
  // block_mode names the two layers' modes; a config whose layers disagree with it was edited by hand
  if (/^[PD]{2}$/.test(blockMode)) {
    same(`${bw}.block0.interaction_module`, 'mode', block.block0.interactionModule.mode, blockMode[0]);
    same(`${bw}.block1.interaction_module`, 'mode', block.block1.interactionModule.mode, blockMode[1]);
  }
  return {
    dim, numChannels, patchSize, numBlocks, numClasses: out[0], pooling: pooling as VisionPooling, numHeads, seqlens, resolution, channelsFirst,
    usePosEmbed, allowInterpolation, logitSoftcap: softcap as number | null,
    norm: rmsNormConfig(j.norm, `${source}.norm`, dim),
    blocks: Array.from({ length: numBlocks }, () => block),
    official: j,
  };
}

/** The sizes of a new model (the official defaults fill in everything else). */
export interface PlstmVisionSizes {
  dim: number;
  numHeads: number;
  patchSize: number;
  numBlocks: number;
  numClasses: number;
  resolution: [number, number];
  numChannels: number;
  pooling?: VisionPooling;
  /** Modes of the two layers of each block (official default 'PD'). */
  blockMode?: 'PD' | 'DP' | 'PP' | 'DD';
}

const smallInit = () => ({ class_name: 'SmallInit', axis: -1, mup_init_scale: 1.0 });
const zeros = () => ({ class_name: 'ZerosInit' });
const rmsNormJson = (dim: number) => ({
  class_name: 'RMSNorm', input_dim: dim, output_dim: dim, eps: 1e-5, dtype: 'float32', param_dtype: 'float32', bias: false, scale: true,
  bias_init: zeros(), scale_init: { class_name: 'OnesInit' },
});

/** The official pLSTM2DLayerFused config JSON with its defaults for (dim, heads, mode). */
export function plstm2dFusedOfficialJson(dim: number, H: number, mode: 'P' | 'D'): Json {
  const dk = dim / H;
  const common = { input_dim: dim, dtype: 'float32', param_dtype: 'float32' };
  const gate = (heads: number, j: Json) => ({
    num_heads: heads, ...j, input_dim: dim, sub_heads: 1, bias_init: { class_name: 'ConstantInit', value: -5.0 }, weight_init: zeros(),
    weight: false, activation: 'logsigmoid', activation_scale: 1.0, dtype: 'float32', param_dtype: 'float32',
  });
  const proj = (d: Json) => ({ num_heads: H, sub_heads: H, input_dim: dim, ...d, bias: true, normalization: 'none', bias_init: zeros(), weight_init: smallInit(), dtype: 'float32', param_dtype: 'float32' });
  return {
    class_name: 'pLSTM2DLayerFused', input_dim: dim, output_dim: dim, param_dtype: 'float32', dtype: 'float32', _shortname: 'pLSTM2DFused', mode,
    pmode_orientation_bias_init: { class_name: 'LinspaceInit', low: -2.0, high: 2.0, axis: -1 }, pmode_orientation_weight_init: zeros(),
    pmode_orientation_scale: 0.5, dmode_chirality: 'L', num_heads: H, JK: 1, JQ: 1, JV: 1, JT: 1, JO: 1, DK: dk, DV: dk,
    source: gate(4 * H, { JK: 1, JV: 1, JT: 1 }),
    transition: {
      num_heads: 4 * H, transition_dim: 1, input_dim: dim, sub_heads: 1,
      inproj_bias_init: { class_name: 'DiagonalInit', value: 1.0, in_axes: -2, out_axes: -1 }, outproj_bias_init: { class_name: 'DiagonalInit', value: 1.0, in_axes: -2, out_axes: -1 },
      inproj_weight_init: zeros(), outproj_weight_init: zeros(), eigenvalue_bias_init: { class_name: 'OnesInit' }, eigenvalue_weight_init: zeros(),
      eigenvalue_representation: 'tanh', eigenvalue_factor: 5, symmetric: false, orthogonalization_factor: 1.0, orthogonalization_order: 16, weight: true,
      normalization_mode: 'exponential_orthogonalization', dtype: 'float32', param_dtype: 'float32',
    },
    mark: gate(4 * H, { JQ: 1, JO: 1, JT: 1 }),
    direct: gate(H, { JQ: 1, JK: 1, JO: 1, JV: 1 }),
    query: proj({ DK: dk, JQ: 1 }), key: proj({ DK: dk, JK: 1 }), value: proj({ DV: dk, JV: 1 }),
    passthrough: null, convolution: null, sub_heads: H, additional_passthrough: false, additional_convolution: false,
    outprojection: true, outprojection_bias: false, outprojection_weight_init: smallInit(), outprojection_bias_init: zeros(),
    convolution_inputs: 'STMDQKsO',
    mhnorm: { class_name: 'MultiHeadRMSNorm', num_heads: H, ...common, output_dim: dim, eps: 1e-5, axis: 1, bias: false, scale: true, bias_init: zeros(), scale_init: { class_name: 'OnesInit' } },
    levels: 6, tie_query_key: false,
  };
}

/** The official pLSTMVisionModelConfig JSON (all defaults, float32) for the given sizes. */
export function plstmVisionOfficialJson(s: PlstmVisionSizes): Json {
  const { dim, numHeads: H, patchSize: P, resolution, numChannels: C } = s;
  if (!Number.isInteger(dim / H)) throw new ConfigError(`plstm-vision: dim ${dim} must be divisible by num_heads ${H}`);
  if (resolution.some((r) => r % P !== 0)) throw new ConfigError(`plstm-vision: resolution ${JSON.stringify(resolution)} must be divisible by patch_size ${P}`);
  const seqlens = resolution.map((r) => r / P);
  const mode = s.blockMode ?? 'PD';
  const postUp = (m: 'P' | 'D') => ({
    class_name: 'PostUpProjectionBlock', input_dim: dim, output_dim: dim, param_dtype: 'float32', dtype: 'float32',
    upproj_weight_init: smallInit(), downproj_weight_init: smallInit(), upproj_bias_init: zeros(), downproj_bias_init: zeros(),
    bias: true, projection_scaling: 4, projection_round: 64, gated: false, gating_function: 'gelu', drop_path_rate: 0.0,
    interaction_module_name: 'pLSTM2DFused', interaction_module: plstm2dFusedOfficialJson(dim, H, m),
    skip: true, use_scale: false, scale: null, norm: rmsNormJson(dim),
  });
  return {
    class_name: '', _short_name: 'pLSTMVisionModel', dim, num_channels: C, patch_size: P, num_blocks: s.numBlocks, output_shape: [s.numClasses],
    mode: 'classifier', pooling: s.pooling ?? 'corners', stride: null, norm_bias: true, num_heads: H, seqlens, resolution: [...resolution],
    channels_first: true, input_shape: [C, ...resolution], aux: {}, head_init_std: 0.02, num_patches: seqlens[0] * seqlens[1],
    norm: rmsNormJson(dim),
    block_stack: {
      class_name: 'BlockStack', input_dim: dim, output_dim: dim, param_dtype: 'float32', dtype: 'float32',
      block: {
        class_name: 'pLSTMVisionBlock1', input_dim: dim, output_dim: -1, param_dtype: 'float32', dtype: 'float32', num_heads: H,
        block_type: 'post_up', block_mode: mode, orientations0: [0, 1, 2, 3], orientations1: [0, 1, 2, 3],
        block0: postUp(mode[0] as 'P' | 'D'), block1: postUp(mode[1] as 'P' | 'D'), drop_path_rate: 0.0,
      },
      scan_blocks: false, num_blocks: s.numBlocks,
    },
    patch_embed: { dim, num_channels: C, resolution: [...resolution], channels_first: true, patch_size: P, stride: null, weight_init: smallInit(), bias_init: zeros(), param_dtype: 'float32', dtype: 'float32' },
    use_pos_embed: true,
    pos_embed: { seqlens, dim, allow_interpolation: true, learnable: true, embed_init: smallInit(), param_dtype: 'float32', dtype: 'bfloat16' },
    logit_softcap: null, head_weight_init: smallInit(), head_bias_init: zeros(), dtype: 'float32', param_dtype: 'float32',
  };
}
