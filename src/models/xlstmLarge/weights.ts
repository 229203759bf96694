// Weights of xLSTM Large / xLSTM-7B: one name table for both checkpoint layouts
// (Hugging Face xLSTMForCausalLM: backbone.embeddings.weight; native xlstm_large:
// embedding.weight; both: backbone.blocks.{i}..., backbone.out_norm, lm_head) and both
// weight modes ("single": q,k,v,ogate_preact / igate,fgate / proj_up_gate,proj_up;
// "fused": qkv_opreact / ifgate_preact / proj_up_gate_z, concatenated along dim 0).
// Every name, shape and dtype is checked before anything is allocated, and a failed
// read frees what was already placed, so a model is loaded whole or not at all.
import { Tensor } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { SafetensorsSource } from '../../io/safetensors.js';
import type { XLSTMLargeConfig } from './config.js';

/**
 * One block's weights on the heap. Projections that run on the same input are kept
 * as one concatenated matrix (whatever the checkpoint's weight mode) so a block does
 * one GEMM for q,k,v,o and one for the two gates.
 */
export interface XLSTMLargeBlockWeights {
  /** [E] */ normMlstm: Tensor;
  /** [E] (use_bias only) */ normMlstmBias?: Tensor;
  /** [2*qk_dim + 2*v_dim, E]: rows q | k | v | o-gate pre-activation. */ qkvo: Tensor;
  /** [2*qk_dim + 2*v_dim] (use_bias only) */ qkvoBias?: Tensor;
  /** [2*NH, E]: rows input gate | forget gate. */ ifGate: Tensor;
  /** [2*NH] */ ifGateBias: Tensor;
  /** [v_dim] */ multiheadNorm: Tensor;
  /** [v_dim] (use_bias only) */ multiheadNormBias?: Tensor;
  /** [E, v_dim] */ outProj: Tensor;
  /** [E] (use_bias only) */ outProjBias?: Tensor;
  /** [E] */ normFfn: Tensor;
  /** [E] (use_bias only) */ normFfnBias?: Tensor;
  /** [U, E] (a view into one [2U, E] buffer with projUp) */ projUpGate: Tensor;
  /** [U] */ projUpGateBias?: Tensor;
  /** [U, E] */ projUp: Tensor;
  /** [U] */ projUpBias?: Tensor;
  /** [E, U] */ projDown: Tensor;
  /** [E] */ projDownBias?: Tensor;
}

export interface XLSTMLargeWeights {
  /** Which checkpoint naming was found. */
  readonly layout: 'hf' | 'native';
  /** [V, E] (f32 or bf16) */ readonly embedding: Tensor;
  readonly blocks: readonly XLSTMLargeBlockWeights[];
  /** [E] (add_out_norm only) */ readonly outNorm?: Tensor;
  readonly outNormBias?: Tensor;
  /** [V, E]; the embedding itself when tie_word_embeddings. */ readonly lmHead: Tensor;
  /** Bytes placed on the heap. */ readonly bytes: number;
  dispose(): void;
}

export interface LoadWeightsOptions {
  /**
   * 'stored' (default) keeps bf16/f16 matrices in that format (linear runs on them
   * directly); 'f32' widens every weight to f32 at load.
   */
  matrixDtype?: 'stored' | 'f32';
  /** Called after each tensor is placed: bytes read so far of the total. */
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
}

/** One checkpoint tensor feeding a row range of a heap buffer. */
interface Part { names: string[]; shape: number[] }
/** A heap buffer assembled from parts concatenated along dim 0. */
interface Slot { key: string; kind: 'matrix' | 'vector' | 'embedding'; parts: Part[]; cols: number }

const FLOAT_DTYPES: readonly DType[] = ['f32', 'bf16', 'f16', 'f64'];

function sourceLabel(src: SafetensorsSource): string {
  const s = src as unknown as { path?: string; indexPath?: string };
  return s.path ?? s.indexPath ?? '<safetensors>';
}

/** The checkpoint's layout, from where its embedding lives. */
function detectLayout(src: SafetensorsSource): 'hf' | 'native' {
  if (src.has('backbone.embeddings.weight')) return 'hf';
  if (src.has('embedding.weight')) return 'native';
  const few = src.names().slice(0, 5).join(', ');
  throw new Error(`xLSTMLarge weights (${sourceLabel(src)}): no embedding tensor: expected backbone.embeddings.weight (Hugging Face) or embedding.weight (xlstm_large); file has ${src.names().length} tensors, e.g. ${few || 'none'}`);
}

/** The name table: every heap buffer the model needs and the checkpoint tensors it is built from. */
function nameTable(cfg: XLSTMLargeConfig, layout: 'hf' | 'native'): Slot[] {
  const E = cfg.embedding_dim, NH = cfg.num_heads, V = cfg.vocab_size;
  const QK = cfg.qk_dim, DV = cfg.v_dim, U = cfg.ffn_up_proj_dim;
  const fused = cfg.weight_mode === 'fused';
  const bias = cfg.use_bias;
  const slots: Slot[] = [];
  const vec = (key: string, name: string, n: number) => slots.push({ key, kind: 'vector', parts: [{ names: [name], shape: [n] }], cols: 1 });
  const embName = layout === 'hf' ? 'backbone.embeddings.weight' : 'embedding.weight';
  slots.push({ key: 'embedding', kind: 'embedding', parts: [{ names: [embName], shape: [V, E] }], cols: E });
  for (let b = 0; b < cfg.num_blocks; b++) {
    // Some transformers versions name q/k/v "query/key/value"; the checkpoints on the hub use q/k/v.
    const p = `backbone.blocks.${b}.`, m = `${p}mlstm_layer.`;
    vec(`blocks.${b}.normMlstm`, `${p}norm_mlstm.weight`, E);
    if (bias) vec(`blocks.${b}.normMlstmBias`, `${p}norm_mlstm.bias`, E);
    if (fused) {
      slots.push({ key: `blocks.${b}.qkvo`, kind: 'matrix', parts: [{ names: [`${m}qkv_opreact.weight`], shape: [2 * QK + 2 * DV, E] }], cols: E });
      if (bias) vec(`blocks.${b}.qkvoBias`, `${m}qkv_opreact.bias`, 2 * QK + 2 * DV);
      slots.push({ key: `blocks.${b}.ifGate`, kind: 'matrix', parts: [{ names: [`${m}ifgate_preact.weight`], shape: [2 * NH, E] }], cols: E });
      vec(`blocks.${b}.ifGateBias`, `${m}ifgate_preact.bias`, 2 * NH);
    } else {
      const qkvo: [string[], number][] = [[[`${m}q`, `${m}query`], QK], [[`${m}k`, `${m}key`], QK], [[`${m}v`, `${m}value`], DV], [[`${m}ogate_preact`], DV]];
      slots.push({ key: `blocks.${b}.qkvo`, kind: 'matrix', parts: qkvo.map(([n, r]) => ({ names: n.map((x) => `${x}.weight`), shape: [r, E] })), cols: E });
      if (bias) slots.push({ key: `blocks.${b}.qkvoBias`, kind: 'vector', parts: qkvo.map(([n, r]) => ({ names: n.map((x) => `${x}.bias`), shape: [r] })), cols: 1 });
      slots.push({ key: `blocks.${b}.ifGate`, kind: 'matrix', parts: [{ names: [`${m}igate_preact.weight`], shape: [NH, E] }, { names: [`${m}fgate_preact.weight`], shape: [NH, E] }], cols: E });
      slots.push({ key: `blocks.${b}.ifGateBias`, kind: 'vector', parts: [{ names: [`${m}igate_preact.bias`], shape: [NH] }, { names: [`${m}fgate_preact.bias`], shape: [NH] }], cols: 1 });
    }
    vec(`blocks.${b}.multiheadNorm`, `${m}multihead_norm.weight`, DV);
    if (bias) vec(`blocks.${b}.multiheadNormBias`, `${m}multihead_norm.bias`, DV);
    slots.push({ key: `blocks.${b}.outProj`, kind: 'matrix', parts: [{ names: [`${m}out_proj.weight`], shape: [E, DV] }], cols: DV });
    if (bias) vec(`blocks.${b}.outProjBias`, `${m}out_proj.bias`, E);
    vec(`blocks.${b}.normFfn`, `${p}norm_ffn.weight`, E);
    if (bias) vec(`blocks.${b}.normFfnBias`, `${p}norm_ffn.bias`, E);
    const f = `${p}ffn.`;
    if (fused) {
      slots.push({ key: `blocks.${b}.projUpBoth`, kind: 'matrix', parts: [{ names: [`${f}proj_up_gate_z.weight`], shape: [2 * U, E] }], cols: E });
      if (bias) vec(`blocks.${b}.projUpBothBias`, `${f}proj_up_gate_z.bias`, 2 * U);
    } else {
      slots.push({ key: `blocks.${b}.projUpBoth`, kind: 'matrix', parts: [{ names: [`${f}proj_up_gate.weight`], shape: [U, E] }, { names: [`${f}proj_up.weight`], shape: [U, E] }], cols: E });
      if (bias) slots.push({ key: `blocks.${b}.projUpBothBias`, kind: 'vector', parts: [{ names: [`${f}proj_up_gate.bias`], shape: [U] }, { names: [`${f}proj_up.bias`], shape: [U] }], cols: 1 });
    }
    slots.push({ key: `blocks.${b}.projDown`, kind: 'matrix', parts: [{ names: [`${f}proj_down.weight`], shape: [E, U] }], cols: U });
    if (bias) vec(`blocks.${b}.projDownBias`, `${f}proj_down.bias`, E);
  }
  if (cfg.add_out_norm) {
    vec('outNorm', 'backbone.out_norm.weight', E);
    if (bias) vec('outNormBias', 'backbone.out_norm.bias', E);
  }
  if (!cfg.tie_word_embeddings) slots.push({ key: 'lmHead', kind: 'matrix', parts: [{ names: ['lm_head.weight'], shape: [V, E] }], cols: E });
  return slots;
}

interface PlannedPart { name: string; rows: number; elems: number; dtype: DType; bytes: number }
interface Planned { slot: Slot; parts: PlannedPart[]; rows: number; dtype: DType }

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Resolves names and checks shapes/dtypes of every slot; throws one error listing all problems. */
async function plan(src: SafetensorsSource, slots: Slot[], opts: LoadWeightsOptions, label: string): Promise<Planned[]> {
  const problems: string[] = [];
  const out: Planned[] = [];
  for (const slot of slots) {
    const parts: PlannedPart[] = [];
    for (const part of slot.parts) {
      const name = part.names.find((n) => src.has(n));
      if (name === undefined) {
        problems.push(`missing tensor ${part.names[0]}${part.names.length > 1 ? ` (or ${part.names.slice(1).join(', ')})` : ''} (expected shape ${fmt(part.shape)})`);
        continue;
      }
      const info = await src.info(name);
      if (!sameShape(info.shape, part.shape)) problems.push(`tensor ${name}: expected shape ${fmt(part.shape)}, file has ${fmt(info.shape)}`);
      else if (!FLOAT_DTYPES.includes(info.dtype)) problems.push(`tensor ${name}: dtype ${info.dtype} is not a float format (expected one of ${FLOAT_DTYPES.join(', ')})`);
      else parts.push({ name, rows: part.shape[0], elems: part.shape.reduce((a, d) => a * d, 1), dtype: info.dtype, bytes: info.byteLength });
    }
    if (parts.length !== slot.parts.length) continue;
    const first = parts[0].dtype;
    const uniform = parts.every((p) => p.dtype === first);
    let dtype: DType = 'f32';
    if (slot.kind === 'matrix' && opts.matrixDtype !== 'f32' && uniform && (first === 'bf16' || first === 'f16')) dtype = first;
    if (slot.kind === 'embedding' && opts.matrixDtype !== 'f32' && first === 'bf16') dtype = 'bf16';
    out.push({ slot, parts, rows: parts.reduce((a, p) => a + p.rows, 0), dtype });
  }
  if (problems.length) {
    const shown = problems.slice(0, 8).join('; ');
    throw new Error(`xLSTMLarge weights (${label}): ${problems.length} problem(s): ${shown}${problems.length > 8 ? '; ...' : ''}`);
  }
  return out;
}

/**
 * Reads the weights of `cfg` from `src` onto the backend heap (see the file comment
 * for the accepted names). Nothing stays allocated when it throws.
 */
export async function loadXLSTMLargeWeights(be: WasmBackend, src: SafetensorsSource, cfg: XLSTMLargeConfig, opts: LoadWeightsOptions = {}): Promise<XLSTMLargeWeights> {
  if (opts.matrixDtype !== undefined && opts.matrixDtype !== 'stored' && opts.matrixDtype !== 'f32') {
    throw new RangeError(`loadXLSTMLargeWeights: matrixDtype is ${JSON.stringify(opts.matrixDtype)}, expected "stored" or "f32"`);
  }
  const label = sourceLabel(src);
  const layout = detectLayout(src);
  const planned = await plan(src, nameTable(cfg, layout), opts, label);
  const total = planned.reduce((a, p) => a + p.parts.reduce((b, q) => b + q.bytes, 0), 0);
  const placed = new Map<string, Tensor>();
  let loaded = 0, bytes = 0;
  try {
    for (const p of planned) {
      const shape = p.slot.kind === 'vector' ? [p.rows] : [p.rows, p.slot.cols];
      const t = be.empty(shape, p.dtype);
      placed.set(p.slot.key, t);
      bytes += t.data.byteLength;
      let off = 0;
      for (const part of p.parts) {
        const dest = (t.data as Float32Array | Uint16Array).subarray(off, off + part.elems);
        await src.readInto(part.name, dest, p.dtype === 'f32' && part.dtype !== 'f32' ? { dtype: 'f32' } : {});
        off += part.elems;
        loaded += part.bytes;
        opts.onProgress?.({ loaded, total, name: part.name });
      }
    }
  } catch (e) {
    for (const t of placed.values()) t.dispose();
    throw e;
  }
  return assemble(cfg, layout, placed, bytes);
}

/** Row range [r0, r1) of a heap matrix/vector as a tensor sharing its memory. */
function rows(t: Tensor, r0: number, r1: number): Tensor {
  const cols = t.rank === 2 ? t.shape[1] : 1;
  const data = (t.data as Float32Array | Uint16Array).subarray(r0 * cols, r1 * cols);
  return new Tensor(t.dtype, t.rank === 2 ? [r1 - r0, cols] : [r1 - r0], data);
}

function assemble(cfg: XLSTMLargeConfig, layout: 'hf' | 'native', placed: Map<string, Tensor>, bytes: number): XLSTMLargeWeights {
  const U = cfg.ffn_up_proj_dim;
  const get = (k: string) => placed.get(k)!;
  const opt = (k: string) => placed.get(k);
  const blocks: XLSTMLargeBlockWeights[] = [];
  for (let b = 0; b < cfg.num_blocks; b++) {
    const k = (n: string) => `blocks.${b}.${n}`;
    const up = get(k('projUpBoth')), upB = opt(k('projUpBothBias'));
    blocks.push({
      normMlstm: get(k('normMlstm')), normMlstmBias: opt(k('normMlstmBias')),
      qkvo: get(k('qkvo')), qkvoBias: opt(k('qkvoBias')),
      ifGate: get(k('ifGate')), ifGateBias: get(k('ifGateBias')),
      multiheadNorm: get(k('multiheadNorm')), multiheadNormBias: opt(k('multiheadNormBias')),
      outProj: get(k('outProj')), outProjBias: opt(k('outProjBias')),
      normFfn: get(k('normFfn')), normFfnBias: opt(k('normFfnBias')),
      projUpGate: rows(up, 0, U), projUp: rows(up, U, 2 * U),
      projUpGateBias: upB ? rows(upB, 0, U) : undefined, projUpBias: upB ? rows(upB, U, 2 * U) : undefined,
      projDown: get(k('projDown')), projDownBias: opt(k('projDownBias')),
    });
  }
  const embedding = get('embedding');
  return {
    layout,
    embedding,
    blocks,
    outNorm: opt('outNorm'),
    outNormBias: opt('outNormBias'),
    lmHead: opt('lmHead') ?? embedding,
    bytes,
    dispose() { for (const t of placed.values()) t.dispose(); placed.clear(); },
  };
}
