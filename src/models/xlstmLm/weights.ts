// Weights of xLSTMLMModel by the official parameter names (the model's state_dict()):
//   token_embedding.weight, lm_head.weight, xlstm_block_stack.post_blocks_norm.weight,
//   xlstm_block_stack.blocks.{i}.xlstm_norm.weight, .xlstm.* (mLSTM or sLSTM layer),
//   .ffn_norm.weight, .ffn.proj_up/proj_down.* (sLSTM blocks with a feedforward).
// The names live in one declarative table (xlstmLmTable, format in ../weightTable.ts) that
// this loader and the trainable share. Every name and shape is checked before anything is allocated (one error lists all
// problems); a failed read frees what was already placed, so a model loads whole or not at all.
import { Tensor } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { SafetensorsSource } from '../../io/safetensors.js';
import { CausalConv1dWeight } from '../../ops/conv.js';
import { loadSlstmParams } from '../../xlstm/slstm/index.js';
import type { SlstmParams } from '../../xlstm/slstm/index.js';
import { mlstmProjHeads, type XLSTMLMConfig } from './config.js';
import { WeightSpec, WeightTable, matchWeights, problemsMessage } from '../weightTable.js';

/** A LinearHeadwiseExpand: weight [NH, O, D] (y[h, o] = sum_d x[h, d] w[h, o, d]), bias [NH*O]. */
export interface HeadwiseWeight { w: Tensor; bias?: Tensor }

export interface MlstmBlockWeights {
  readonly kind: 'mlstm';
  /** [E] LayerNorm offset */ norm: Tensor;
  /** [inner, E] rows 0..inner of proj_up (the mLSTM branch) */ projUpX: Tensor;
  /** [inner, E] rows inner..2*inner of proj_up (the output gate branch z) */ projUpZ: Tensor;
  projUpXBias?: Tensor; projUpZBias?: Tensor;
  q: HeadwiseWeight; k: HeadwiseWeight; v: HeadwiseWeight;
  /** conv1d_kernel_size > 0 only */ conv?: CausalConv1dWeight; convBias?: Tensor;
  /** [inner] */ skip: Tensor;
  /** [2*NH, 3*inner]: rows igate | fgate of the cell */ ifGate: Tensor;
  /** [2*NH] */ ifGateBias: Tensor;
  /** [inner] MultiHeadLayerNorm offset */ outNorm: Tensor;
  /** [E, inner] */ projDown: Tensor; projDownBias?: Tensor;
}

export interface FeedForwardWeights {
  /** [E] */ norm: Tensor;
  /** [U, E] the gate half of proj_up */ upGate: Tensor;
  /** [U, E] the value half */ up: Tensor;
  upGateBias?: Tensor; upBias?: Tensor;
  /** [E, U] */ down: Tensor; downBias?: Tensor;
}

export interface SlstmBlockWeights {
  readonly kind: 'slstm';
  /** [E] */ norm: Tensor;
  conv?: CausalConv1dWeight; convBias?: Tensor;
  /** Gate projections by what they produce: `i` is the module named fgate, `f` the one named igate (official wiring). */
  gates: { i: HeadwiseWeight; f: HeadwiseWeight; z: HeadwiseWeight; o: HeadwiseWeight };
  cell: SlstmParams;
  /** [E] (group_norm_weight only) */ groupNorm?: Tensor;
  ffn?: FeedForwardWeights;
}

export type BlockWeights = MlstmBlockWeights | SlstmBlockWeights;

export interface XLSTMLMWeights {
  /** [V, E] */ readonly embedding: Tensor;
  readonly blocks: readonly BlockWeights[];
  /** [E] (add_post_blocks_norm only) */ readonly postNorm?: Tensor;
  /** [V, E]; the embedding itself when tie_weights. */ readonly lmHead: Tensor;
  readonly bytes: number;
  dispose(): void;
}

export interface XLSTMLMLoadWeightsOptions {
  /** Called after each tensor is placed. */
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
}

/** One tensor of the table (see ../weightTable.ts). */
export type Spec = WeightSpec;

function sourceLabel(src: SafetensorsSource): string {
  const s = src as unknown as { path?: string; indexPath?: string; source?: string };
  return s.path ?? s.indexPath ?? s.source ?? '<safetensors>';
}

/**
 * The xLSTMLMModel weight table (format in ../weightTable.ts): every tensor the config needs,
 * official names and shapes in state_dict order. Roles (the trainable's initialiser keys on
 * them): 'embedding', 'norm' (LayerNorm weight, applied as 1 + w), 'linear', 'bias', 'downProj',
 * 'headwise', 'conv' / 'convBias' (fanIn = kernel size), 'skip', 'mlstmGate' / 'igateBias' /
 * 'fgateBias', 'recurrentKernel', 'slstmBias'. The sLSTM R and bias are host tensors (re-laid
 * out on upload). A tied lm_head is listed as tied.
 */
export function xlstmLmTable(cfg: XLSTMLMConfig): WeightTable {
  const E = cfg.embedding_dim, V = cfg.vocab_size;
  const out: WeightSpec[] = [];
  const add = (name: string, shape: number[], role: string, fanIn = shape[shape.length - 1], host = false) => out.push({ name, shape, role, fanIn, ...(host ? { host } : {}) });
  add('token_embedding.weight', [V, E], 'embedding');
  for (const b of cfg.blocks) {
    const p = `xlstm_block_stack.blocks.${b.blockIdx}.`;
    add(`${p}xlstm_norm.weight`, [E], 'norm');
    if (b.kind === 'mlstm') {
      const m = b.mlstm, inner = m._inner_embedding_dim, NH = m.num_heads, ph = mlstmProjHeads(m), x = `${p}xlstm.`;
      add(`${x}proj_up.weight`, [2 * inner, E], 'linear');
      if (m.bias) add(`${x}proj_up.bias`, [2 * inner], 'bias');
      for (const n of ['q', 'k', 'v']) {
        add(`${x}${n}_proj.weight`, [ph, inner / ph, inner / ph], 'headwise');
        if (m.bias) add(`${x}${n}_proj.bias`, [inner], 'bias');
      }
      if (m.conv1d_kernel_size > 0) {
        add(`${x}conv1d.conv.weight`, [inner, 1, m.conv1d_kernel_size], 'conv', m.conv1d_kernel_size);
        add(`${x}conv1d.conv.bias`, [inner], 'convBias', m.conv1d_kernel_size);
      }
      add(`${x}learnable_skip`, [inner], 'skip');
      for (const g of ['igate', 'fgate']) {
        add(`${x}mlstm_cell.${g}.weight`, [NH, 3 * inner], 'mlstmGate');
        add(`${x}mlstm_cell.${g}.bias`, [NH], `${g}Bias`);
      }
      add(`${x}mlstm_cell.outnorm.weight`, [inner], 'norm');
      add(`${x}proj_down.weight`, [E, inner], 'downProj');
      if (m.bias) add(`${x}proj_down.bias`, [E], 'bias');
    } else {
      const s = b.slstm, NH = s.num_heads, DH = E / NH, x = `${p}xlstm.`;
      if (s.conv1d_kernel_size > 0) {
        add(`${x}conv1d.conv.weight`, [E, 1, s.conv1d_kernel_size], 'conv', s.conv1d_kernel_size);
        add(`${x}conv1d.conv.bias`, [E], 'convBias', s.conv1d_kernel_size);
      }
      for (const g of ['fgate', 'igate', 'zgate', 'ogate']) add(`${x}${g}.weight`, [NH, DH, DH], 'headwise');
      // the backend that saved the model decides R's layout (vanilla [NH, 4DH, DH], cuda [NH, DH, 4DH])
      add(`${x}slstm_cell._recurrent_kernel_`, s.backend === 'vanilla' ? [NH, 4 * DH, DH] : [NH, DH, 4 * DH], 'recurrentKernel', E, true);
      add(`${x}slstm_cell._bias_`, [4 * E], 'slstmBias', E, true);
      if (s.group_norm_weight) add(`${x}group_norm.weight`, [E], 'norm');
      const f = b.feedforward;
      if (f) {
        const U = f._proj_up_dim;
        add(`${p}ffn_norm.weight`, [E], 'norm');
        add(`${p}ffn.proj_up.weight`, [2 * U, E], 'linear');
        if (f.bias) add(`${p}ffn.proj_up.bias`, [2 * U], 'bias');
        add(`${p}ffn.proj_down.weight`, [E, U], 'downProj');
        if (f.bias) add(`${p}ffn.proj_down.bias`, [E], 'bias');
      }
    }
  }
  if (cfg.add_post_blocks_norm) add('xlstm_block_stack.post_blocks_norm.weight', [E], 'norm');
  if (!cfg.tie_weights) add('lm_head.weight', [V, E], 'linear');
  return { arch: 'xLSTMLMModel', specs: out, tied: cfg.tie_weights ? [{ name: 'lm_head.weight', target: 'token_embedding.weight', shape: [V, E] }] : [] };
}

/** Every tensor the config needs, with its expected shape (official names): the table's entries. */
export function xlstmLmTensorSpecs(cfg: XLSTMLMConfig): Spec[] {
  return [...xlstmLmTable(cfg).specs];
}

/**
 * Reads the weights of `cfg` from `src` onto the backend heap as f32 (f16/bf16/f64 files
 * are widened). Throws, with nothing left allocated, on a missing or unexpected tensor, a
 * wrong shape or a non-float dtype (one error lists every problem).
 */
export async function loadXLSTMLMWeights(be: WasmBackend, src: SafetensorsSource, cfg: XLSTMLMConfig, opts: XLSTMLMLoadWeightsOptions = {}): Promise<XLSTMLMWeights> {
  const label = sourceLabel(src);
  const table = xlstmLmTable(cfg);
  const match = await matchWeights(table, src);
  if (!match.ok) throw new Error(problemsMessage(`xLSTMLMModel weights (${label})`, match.problems));
  const infos = new Map<string, { dtype: DType; bytes: number; file: string }>();
  for (const [name, m] of match.matches) infos.set(name, { dtype: m.dtype, bytes: (await src.info(m.file)).byteLength, file: m.file });
  const total = [...infos.values()].reduce((a, i) => a + i.bytes, 0);
  const heap = new Map<string, Tensor>();
  const host = new Map<string, Tensor>();
  const owned: { dispose(): void }[] = [];
  let loaded = 0;
  try {
    for (const s of table.specs) {
      const info = infos.get(s.name)!;
      if (s.host) {
        host.set(s.name, await src.read(info.file, info.dtype === 'f32' ? {} : { dtype: 'f32' }));
      } else {
        const t = be.empty(s.shape);
        heap.set(s.name, t);
        owned.push(t);
        await src.readInto(info.file, t.data as Float32Array, info.dtype === 'f32' ? {} : { dtype: 'f32' });
      }
      loaded += info.bytes;
      opts.onProgress?.({ loaded, total, name: s.name });
    }
    return assemble(be, cfg, heap, host, owned);
  } catch (e) {
    for (const t of owned) t.dispose();
    throw e;
  }
}

/** Row range [r0, r1) of a heap matrix/vector as a tensor sharing its memory. */
function rows(t: Tensor, r0: number, r1: number): Tensor {
  const cols = t.rank === 2 ? t.shape[1] : 1;
  const data = (t.data as Float32Array).subarray(r0 * cols, r1 * cols);
  return new Tensor('f32', t.rank === 2 ? [r1 - r0, cols] : [r1 - r0], data);
}

function assemble(be: WasmBackend, cfg: XLSTMLMConfig, heap: Map<string, Tensor>, host: Map<string, Tensor>, owned: { dispose(): void }[]): XLSTMLMWeights {
  const get = (n: string) => heap.get(n)!;
  const opt = (n: string) => heap.get(n);
  const conv = (x: string): { conv?: CausalConv1dWeight; convBias?: Tensor } => {
    const w = opt(`${x}conv1d.conv.weight`);
    if (!w) return {};
    const c = CausalConv1dWeight.prepare(be, w);
    owned.push(c);
    return { conv: c, convBias: get(`${x}conv1d.conv.bias`) };
  };
  const blocks: BlockWeights[] = cfg.blocks.map((b) => {
    const p = `xlstm_block_stack.blocks.${b.blockIdx}.`, x = `${p}xlstm.`;
    if (b.kind === 'mlstm') {
      const inner = b.mlstm._inner_embedding_dim, NH = b.mlstm.num_heads;
      const up = get(`${x}proj_up.weight`), upB = opt(`${x}proj_up.bias`);
      const ifGate = be.empty([2 * NH, 3 * inner]), ifGateBias = be.empty([2 * NH]);
      owned.push(ifGate, ifGateBias);
      (ifGate.data as Float32Array).set(get(`${x}mlstm_cell.igate.weight`).data as Float32Array, 0);
      (ifGate.data as Float32Array).set(get(`${x}mlstm_cell.fgate.weight`).data as Float32Array, NH * 3 * inner);
      (ifGateBias.data as Float32Array).set(get(`${x}mlstm_cell.igate.bias`).data as Float32Array, 0);
      (ifGateBias.data as Float32Array).set(get(`${x}mlstm_cell.fgate.bias`).data as Float32Array, NH);
      const hw = (n: string): HeadwiseWeight => ({ w: get(`${x}${n}_proj.weight`), bias: opt(`${x}${n}_proj.bias`) });
      return {
        kind: 'mlstm' as const,
        norm: get(`${p}xlstm_norm.weight`),
        projUpX: rows(up, 0, inner), projUpZ: rows(up, inner, 2 * inner),
        projUpXBias: upB ? rows(upB, 0, inner) : undefined, projUpZBias: upB ? rows(upB, inner, 2 * inner) : undefined,
        q: hw('q'), k: hw('k'), v: hw('v'),
        ...conv(x),
        skip: get(`${x}learnable_skip`),
        ifGate, ifGateBias,
        outNorm: get(`${x}mlstm_cell.outnorm.weight`),
        projDown: get(`${x}proj_down.weight`), projDownBias: opt(`${x}proj_down.bias`),
      };
    }
    const s = b.slstm;
    const cell = loadSlstmParams({
      recurrentKernel: host.get(`${x}slstm_cell._recurrent_kernel_`)!,
      bias: host.get(`${x}slstm_cell._bias_`)!,
      numHeads: s.num_heads,
      layout: s.backend === 'vanilla' ? 'vanilla' : 'cuda',
    });
    // the wasm driver uploads R and the bias on first use and caches them per backend
    owned.push({ dispose() { for (const c of cell.deviceCache.values()) for (const t of Object.values(c)) t.dispose(); cell.deviceCache.clear(); } });
    let ffn: FeedForwardWeights | undefined;
    if (b.feedforward) {
      const U = b.feedforward._proj_up_dim;
      const up = get(`${p}ffn.proj_up.weight`), upB = opt(`${p}ffn.proj_up.bias`);
      ffn = {
        norm: get(`${p}ffn_norm.weight`),
        upGate: rows(up, 0, U), up: rows(up, U, 2 * U),
        upGateBias: upB ? rows(upB, 0, U) : undefined, upBias: upB ? rows(upB, U, 2 * U) : undefined,
        down: get(`${p}ffn.proj_down.weight`), downBias: opt(`${p}ffn.proj_down.bias`),
      };
    }
    return {
      kind: 'slstm' as const,
      norm: get(`${p}xlstm_norm.weight`),
      ...conv(x),
      // official sLSTMLayer: i, f, z, o = fgate(x_conv), igate(x_conv), zgate(x), ogate(x)
      gates: { i: { w: get(`${x}fgate.weight`) }, f: { w: get(`${x}igate.weight`) }, z: { w: get(`${x}zgate.weight`) }, o: { w: get(`${x}ogate.weight`) } },
      cell,
      groupNorm: opt(`${x}group_norm.weight`),
      ffn,
    };
  });
  // the igate/fgate parts were copied into ifGate: free them now
  for (const b of cfg.blocks) {
    if (b.kind !== 'mlstm') continue;
    const x = `xlstm_block_stack.blocks.${b.blockIdx}.xlstm.mlstm_cell.`;
    for (const n of ['igate.weight', 'igate.bias', 'fgate.weight', 'fgate.bias']) {
      const t = heap.get(x + n)!;
      t.dispose();
      owned.splice(owned.indexOf(t), 1);
    }
  }
  const embedding = get('token_embedding.weight');
  let bytes = 0;
  for (const o of owned) if (o instanceof Tensor) bytes += o.data.byteLength;
  return {
    embedding,
    blocks,
    postNorm: opt('xlstm_block_stack.post_blocks_norm.weight'),
    lmHead: opt('lm_head.weight') ?? embedding,
    bytes,
    dispose() { for (const o of owned) o.dispose(); owned.length = 0; },
  };
}
