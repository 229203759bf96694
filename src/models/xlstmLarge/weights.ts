// Weights of xLSTM Large / xLSTM-7B: one name table for both checkpoint layouts
// (Hugging Face xLSTMForCausalLM: backbone.embeddings.weight; native xlstm_large:
// embedding.weight; both: backbone.blocks.{i}..., backbone.out_norm, lm_head) and both
// weight modes ("single": q,k,v,ogate_preact / igate,fgate / proj_up_gate,proj_up;
// "fused": qkv_opreact / ifgate_preact / proj_up_gate_z, concatenated along dim 0).
// The names live in one declarative table (xlstmLargeTable, format in ../weightTable.ts) that
// this loader and the trainable (src/train/xlstmLargeTrainable.ts) share.
// Every name, shape and dtype is checked before anything is allocated, and a failed
// read frees what was already placed, so a model is loaded whole or not at all.
import { Tensor } from '../../tensor/tensor.js';
import { DTYPE_SIZE, TypedArray, arrayClassFor } from '../../tensor/dtype.js';
import type { DType } from '../../tensor/dtype.js';
import type { SafetensorsSource } from '../../io/safetensors.js';
import type { XLSTMLargeConfig } from './config.js';
import { WasmBackend } from '../../backend/wasm/backend.js';
import { ArgumentError } from '../../errors.js';
import { Q4ActivationBits, Q4Weight, Q4_BLOCK } from '../../tensor/quant.js';
import { quantizeRowsInt8Into, quantizeRowsQ4Into } from '../../ops/quantize.js';
import type { LinearWeight } from '../../ops/matmul.js';
import { f32ArrayToBf16 } from '../../tensor/convert.js';
import { WeightSpec, WeightTable, matchWeights, problemsMessage, specOf, storeOf, tableShapes } from '../weightTable.js';

/**
 * One block's weights on the heap. Projections that run on the same input are kept
 * as one concatenated matrix (whatever the checkpoint's weight mode) so a block does
 * one GEMM for q,k,v,o and one for the two gates. Matrices are f32 / bf16 / f16
 * Tensors, i8 Tensors with per-row scales (on the heap), or Q4Weight (see `dtype`).
 */
export interface XLSTMLargeBlockWeights {
  /** [E] */ normMlstm: Tensor;
  /** [E] (use_bias only) */ normMlstmBias?: Tensor;
  /** [2*qk_dim + 2*v_dim, E]: rows q | k | v | o-gate pre-activation. */ qkvo: LinearWeight;
  /** [2*qk_dim + 2*v_dim] (use_bias only) */ qkvoBias?: Tensor;
  /** [2*NH, E] (always f32: tiny): rows input gate | forget gate. */ ifGate: Tensor;
  /** [2*NH] */ ifGateBias: Tensor;
  /** [v_dim] */ multiheadNorm: Tensor;
  /** [v_dim] (use_bias only) */ multiheadNormBias?: Tensor;
  /** [E, v_dim] */ outProj: LinearWeight;
  /** [E] (use_bias only) */ outProjBias?: Tensor;
  /** [E] */ normFfn: Tensor;
  /** [E] (use_bias only) */ normFfnBias?: Tensor;
  /** [2U, E]: rows gate | up, one matrix so decoding runs one GEMV for both. */ projUpBoth: LinearWeight;
  /** [2U] */ projUpBothBias?: Tensor;
  /** [U, E] (rows 0..U of projUpBoth, same memory) */ projUpGate: LinearWeight;
  /** [U] */ projUpGateBias?: Tensor;
  /** [U, E] (rows U..2U of projUpBoth) */ projUp: LinearWeight;
  /** [U] */ projUpBias?: Tensor;
  /** [E, U] */ projDown: LinearWeight;
  /** [E] */ projDownBias?: Tensor;
}

/** Which heap (index into XLSTMLargeWeights.backends) holds what. */
export interface XLSTMLargePlacement {
  readonly embedding: number;
  /** Heap of each block's weights (and of its recurrent state). */
  readonly blocks: readonly number[];
  /** Heap of out norm and LM head (the embedding's heap when they are tied). */
  readonly head: number;
}

export interface XLSTMLargeWeights {
  /** Which checkpoint naming was found. */
  readonly layout: 'hf' | 'native';
  /** Weight format asked for ('stored' = the legacy matrixDtype rule). */
  readonly dtype: XLSTMLargeDType | 'stored';
  /** [V, E] (f32 or bf16: the gather kernel reads only these) */ readonly embedding: Tensor;
  readonly blocks: readonly XLSTMLargeBlockWeights[];
  /** [E] (add_out_norm only) */ readonly outNorm?: Tensor;
  readonly outNormBias?: Tensor;
  /** [V, E]; the embedding itself when tie_word_embeddings (and dtype is not int8/q4). */ readonly lmHead: LinearWeight;
  /** Bytes placed on the heaps. */ readonly bytes: number;
  /** Weight bytes per heap. */ readonly heapBytes: readonly number[];
  /** [0] is the caller's backend; the others were created for this model (same threads/features). */
  readonly backends: readonly WasmBackend[];
  readonly placement: XLSTMLargePlacement;
  /** Frees the weights and disposes the backends created for them (never the caller's). */
  dispose(): void;
}

/** Load-time weight formats of the big matrices (norms, biases and the i/f gate stay f32). */
export type XLSTMLargeDType = 'f32' | 'bf16' | 'int8' | 'q4';

export interface LoadProgress {
  /** Checkpoint bytes read so far (of the tensors the model uses). */ loadedBytes: number;
  /** Checkpoint bytes of all tensors the model uses. */ totalBytes: number;
  /** Name of the tensor just placed. */ tensor: string;
  /** Same as loadedBytes (older name). */ loaded: number;
  /** Same as totalBytes (older name). */ total: number;
  /** Same as tensor (older name). */ name: string;
}

/** Default per-heap budget: weights stop filling a heap here, leaving ~0.5 GiB of the 4 GiB for activations. */
export const DEFAULT_MAX_HEAP_BYTES = 3.5 * 2 ** 30;
/** WebAssembly memory limit (wasm32) less the reserved first MiB. */
const HARD_HEAP_BYTES = 4 * 2 ** 30 - (1 << 20);

export interface LoadWeightsOptions {
  /**
   * Weight format of the big matrices (q,k,v,o / out_proj / FFN / LM head), converted
   * tensor by tensor while reading: 'f32'; 'bf16' (f32/f16 checkpoints rounded to
   * nearest even); 'int8' (symmetric per-row scales); 'q4' (ggml Q4_0 blocks of 32;
   * a matrix whose row length is not a multiple of 32 falls back to int8). The
   * embedding stays f32 for 'f32' and bf16 otherwise. Unset: `matrixDtype` decides
   * (bf16/f16 checkpoints stay as stored, f32 ones load as f32).
   */
  dtype?: XLSTMLargeDType;
  /**
   * With dtype 'q4': how the GEMV rounds the activations x, 8 (int8 per 32 values,
   * ggml's Q8_0; the default) or 16 (int16 per row; slower, closer to f32). See
   * Q4ActivationBits and docs/PERFORMANCE.md.
   */
  q4ActivationBits?: Q4ActivationBits;
  /**
   * Used only without `dtype`: 'stored' (default) keeps bf16/f16 matrices in that
   * format (linear runs on them directly); 'f32' widens every weight to f32 at load.
   */
  matrixDtype?: 'stored' | 'f32';
  /** Called after each tensor is placed. */
  onProgress?: (p: LoadProgress) => void;
  /**
   * Budget of weight bytes per WebAssembly heap (default 3.5 GiB; at most 4 GiB less
   * 1 MiB). When the embedding, a block, or the head does not fit on the current heap
   * any more, a new backend with the caller's thread count and features is created and
   * the rest goes there. What the caller's heap already holds counts against it.
   */
  maxHeapBytes?: number;
  /**
   * Bytes of each of the two heap buffers converted weights stream through (default 16 MiB;
   * at least one checkpoint row is staged at a time whatever this says).
   */
  stageBytes?: number;
}

/** One checkpoint tensor feeding a row range of a heap buffer. */
interface Part { names: string[]; shape: number[] }
/** What gets placed together on one heap: the embedding, one block, or the head (out norm + LM head). */
type Unit = 'embedding' | number | 'head';
/**
 * A heap buffer assembled from parts concatenated along dim 0. 'gate' matrices are
 * tiny (2*NH rows) and stay f32 whatever the weight format.
 */
interface Slot { key: string; kind: 'matrix' | 'gate' | 'vector' | 'embedding'; parts: Part[]; cols: number; unit: Unit }


function sourceLabel(src: SafetensorsSource): string {
  const s = src as unknown as { path?: string; indexPath?: string };
  return s.path ?? s.indexPath ?? '<safetensors>';
}

/** The naming of a set of tensors, from where the embedding lives (undefined: neither). */
export function checkpointLayout(has: (name: string) => boolean): 'hf' | 'native' | undefined {
  return has('backbone.embeddings.weight') ? 'hf' : has('embedding.weight') ? 'native' : undefined;
}

/** The checkpoint's layout, from where its embedding lives. */
function detectLayout(src: SafetensorsSource): 'hf' | 'native' {
  const layout = checkpointLayout((n) => src.has(n));
  if (layout) return layout;
  const few = src.names().slice(0, 5).join(', ');
  throw new Error(`xLSTMLarge weights (${sourceLabel(src)}): no embedding tensor: expected backbone.embeddings.weight (Hugging Face) or embedding.weight (xlstm_large); file has ${src.names().length} tensors, e.g. ${few || 'none'}`);
}

/**
 * The xLSTM Large weight table (format in ../weightTable.ts): every checkpoint tensor of `cfg`
 * under `layout` names, in the official state_dict order, with the other spellings some
 * transformers versions use (query/key/value for q/k/v), the placement unit (embedding, block
 * index, head) and the role the trainable's initialiser keys on ('embedding', 'linear', 'bias',
 * 'ones', 'zeros', 'igateBias', 'fgateBias'). A tied LM head is listed as tied (accepted in a
 * file, never loaded).
 */
export function xlstmLargeTable(cfg: XLSTMLargeConfig, layout: 'hf' | 'native'): WeightTable {
  const E = cfg.embedding_dim, NH = cfg.num_heads, V = cfg.vocab_size, QK = cfg.qk_dim, DV = cfg.v_dim, U = cfg.ffn_up_proj_dim;
  const embName = layout === 'hf' ? 'backbone.embeddings.weight' : 'embedding.weight';
  const specs: WeightSpec[] = [];
  let unit: WeightSpec['unit'] = 'embedding';
  const add = (name: string, shape: number[], role: string, fanIn: number, aliases?: string[], store?: WeightSpec['store']) =>
    specs.push({ name, shape, role, fanIn, unit, ...(aliases ? { aliases } : {}), ...(store ? { store } : {}) });
  add(embName, [V, E], 'embedding', E, undefined, 'gather');
  const lin = (name: string, rows: number, cols: number, alias?: string) => {
    add(`${name}.weight`, [rows, cols], 'linear', cols, alias ? [`${alias}.weight`] : undefined);
    if (cfg.use_bias) add(`${name}.bias`, [rows], 'bias', cols, alias ? [`${alias}.bias`] : undefined);
  };
  const norm = (name: string, n: number) => {
    add(`${name}.weight`, [n], 'ones', n);
    if (cfg.use_bias) add(`${name}.bias`, [n], 'zeros', n);
  };
  for (let b = 0; b < cfg.num_blocks; b++) {
    unit = b;
    // Some transformers versions name q/k/v "query/key/value"; the checkpoints on the hub use q/k/v.
    const p = `backbone.blocks.${b}.`, m = `${p}mlstm_layer.`;
    norm(`${p}norm_mlstm`, E);
    if (cfg.weight_mode === 'single') {
      lin(`${m}q`, QK, E, `${m}query`); lin(`${m}k`, QK, E, `${m}key`); lin(`${m}v`, DV, E, `${m}value`); lin(`${m}ogate_preact`, DV, E);
      // the gate Linears always have a bias (bias=True in mLSTMLayer)
      // the gate matrices are tiny (NH rows): always f32, whatever the load dtype
      add(`${m}igate_preact.weight`, [NH, E], 'linear', E, undefined, 'f32'); add(`${m}igate_preact.bias`, [NH], 'igateBias', E);
      add(`${m}fgate_preact.weight`, [NH, E], 'linear', E, undefined, 'f32'); add(`${m}fgate_preact.bias`, [NH], 'fgateBias', E);
    } else {
      lin(`${m}qkv_opreact`, 2 * QK + 2 * DV, E);
      add(`${m}ifgate_preact.weight`, [2 * NH, E], 'linear', E, undefined, 'f32'); add(`${m}ifgate_preact.bias`, [2 * NH], 'igateBias', E);
    }
    norm(`${m}multihead_norm`, DV);
    lin(`${m}out_proj`, E, DV);
    norm(`${p}norm_ffn`, E);
    if (cfg.weight_mode === 'single') { lin(`${p}ffn.proj_up_gate`, U, E); lin(`${p}ffn.proj_up`, U, E); } else lin(`${p}ffn.proj_up_gate_z`, 2 * U, E);
    lin(`${p}ffn.proj_down`, E, U);
  }
  unit = 'head';
  if (cfg.add_out_norm) norm('backbone.out_norm', E);
  if (!cfg.tie_word_embeddings) add('lm_head.weight', [V, E], 'linear', E);
  return { arch: 'xLSTMLarge', specs, tied: cfg.tie_word_embeddings ? [{ name: 'lm_head.weight', target: embName, shape: [V, E] }] : [] };
}

/**
 * The heap buffers the model needs, each built from table tensors concatenated along dim 0
 * (q | k | v | o, i | f, gate | up). `quantHead`: a tied LM head still gets its own (quantised) copy.
 */
function nameTable(cfg: XLSTMLargeConfig, layout: 'hf' | 'native', quantHead: boolean): Slot[] {
  const table = xlstmLargeTable(cfg, layout);
  const part = (name: string): Part => { const s = specOf(table, name); return { names: [s.name, ...(s.aliases ?? [])], shape: [...s.shape] }; };
  const fused = cfg.weight_mode === 'fused';
  const bias = cfg.use_bias;
  const slots: Slot[] = [];
  let unit: Unit = 'embedding';
  // a slot's storage follows the table's rule for its tensors (storeOf): 'gather' -> the
  // embedding table, 1-D 'f32' -> vector, 2-D 'f32' -> a gate matrix kept f32, else a matrix
  const kindOf = (name: string): Slot['kind'] => {
    const s = specOf(table, name), st = storeOf(s);
    return st === 'gather' ? 'embedding' : st === 'matrix' ? 'matrix' : s.shape.length === 1 ? 'vector' : 'gate';
  };
  const add = (key: string, names: string[], cols: number, kind: Slot['kind'] = kindOf(names[0])) => slots.push({ key, kind, parts: names.map(part), cols, unit });
  const vec = (key: string, name: string) => add(key, [name], 1);
  const embName = table.specs[0].name;
  const E = cfg.embedding_dim, DV = cfg.v_dim, U = cfg.ffn_up_proj_dim;
  add('embedding', [embName], E);
  for (let b = 0; b < cfg.num_blocks; b++) {
    unit = b;
    const p = `backbone.blocks.${b}.`, m = `${p}mlstm_layer.`, k = (n: string) => `blocks.${b}.${n}`;
    vec(k('normMlstm'), `${p}norm_mlstm.weight`);
    if (bias) vec(k('normMlstmBias'), `${p}norm_mlstm.bias`);
    if (fused) {
      add(k('qkvo'), [`${m}qkv_opreact.weight`], E);
      if (bias) vec(k('qkvoBias'), `${m}qkv_opreact.bias`);
      add(k('ifGate'), [`${m}ifgate_preact.weight`], E);
      vec(k('ifGateBias'), `${m}ifgate_preact.bias`);
    } else {
      const qkvo = ['q', 'k', 'v', 'ogate_preact'].map((n) => `${m}${n}`);
      add(k('qkvo'), qkvo.map((n) => `${n}.weight`), E);
      if (bias) add(k('qkvoBias'), qkvo.map((n) => `${n}.bias`), 1);
      add(k('ifGate'), [`${m}igate_preact.weight`, `${m}fgate_preact.weight`], E);
      add(k('ifGateBias'), [`${m}igate_preact.bias`, `${m}fgate_preact.bias`], 1);
    }
    vec(k('multiheadNorm'), `${m}multihead_norm.weight`);
    if (bias) vec(k('multiheadNormBias'), `${m}multihead_norm.bias`);
    add(k('outProj'), [`${m}out_proj.weight`], DV);
    if (bias) vec(k('outProjBias'), `${m}out_proj.bias`);
    vec(k('normFfn'), `${p}norm_ffn.weight`);
    if (bias) vec(k('normFfnBias'), `${p}norm_ffn.bias`);
    const f = `${p}ffn.`;
    const up = fused ? [`${f}proj_up_gate_z`] : [`${f}proj_up_gate`, `${f}proj_up`];
    add(k('projUpBoth'), up.map((n) => `${n}.weight`), E);
    if (bias) add(k('projUpBothBias'), up.map((n) => `${n}.bias`), 1);
    add(k('projDown'), [`${f}proj_down.weight`], U);
    if (bias) vec(k('projDownBias'), `${f}proj_down.bias`);
  }
  unit = 'head';
  if (cfg.add_out_norm) {
    vec('outNorm', 'backbone.out_norm.weight');
    if (bias) vec('outNormBias', 'backbone.out_norm.bias');
  }
  if (!cfg.tie_word_embeddings) add('lmHead', ['lm_head.weight'], E);
  else if (quantHead) add('lmHead', [embName], E, 'matrix'); // a quantised copy of the tied embedding
  return slots;
}

/**
 * Every checkpoint tensor `cfg` needs, by its name in `layout`, with its shape: what the
 * loader checks a file against (a tied LM head is the embedding and has no entry).
 */
export function xlstmLargeWeightTable(cfg: XLSTMLargeConfig, layout: 'hf' | 'native'): Map<string, number[]> {
  return tableShapes(xlstmLargeTable(cfg, layout));
}

/** How a buffer is stored on the heap. */
type Format = 'f32' | 'bf16' | 'f16' | 'int8' | 'q4';

interface PlannedPart { name: string; rows: number; elems: number; dtype: DType; bytes: number }
interface Planned { slot: Slot; parts: PlannedPart[]; rows: number; format: Format; heapBytes: number; heap: number }

const aligned = (n: number) => Math.max(64, Math.ceil(n / 64) * 64); // the heap's allocation granule

function formatOf(slot: Slot, first: DType, uniform: boolean, opts: LoadWeightsOptions): Format {
  if (slot.kind === 'vector' || slot.kind === 'gate') return 'f32';
  const dt = opts.dtype;
  if (slot.kind === 'embedding') {
    // The gather kernel reads f32 or bf16 tables.
    if (dt === undefined) return opts.matrixDtype !== 'f32' && first === 'bf16' ? 'bf16' : 'f32';
    return dt === 'f32' ? 'f32' : 'bf16';
  }
  if (dt === undefined) return opts.matrixDtype !== 'f32' && uniform && (first === 'bf16' || first === 'f16') ? first : 'f32';
  if (dt === 'q4' && slot.cols % Q4_BLOCK !== 0) return 'int8';
  return dt;
}

function bytesOfFormat(format: Format, rows: number, cols: number): number {
  const n = rows * cols;
  switch (format) {
    case 'f32': return aligned(4 * n);
    case 'bf16': case 'f16': return aligned(2 * n);
    case 'int8': return aligned(n) + aligned(4 * rows);
    case 'q4': return aligned(n / 2) + aligned((4 * n) / Q4_BLOCK);
  }
}

/**
 * Checks the source against the weight table (strict: missing, unexpected, mis-shaped and
 * non-float tensors; one error lists them all), then sizes every slot.
 */
async function plan(src: SafetensorsSource, table: WeightTable, slots: Slot[], opts: LoadWeightsOptions, label: string): Promise<Planned[]> {
  const match = await matchWeights(table, src);
  if (!match.ok) throw new Error(problemsMessage(`xLSTMLarge weights (${label})`, match.problems));
  const out: Planned[] = [];
  for (const slot of slots) {
    const parts: PlannedPart[] = [];
    for (const part of slot.parts) {
      const name = match.matches.get(part.names[0])!.file;
      const info = await src.info(name);
      parts.push({ name, rows: part.shape[0], elems: part.shape.reduce((a, d) => a * d, 1), dtype: info.dtype, bytes: info.byteLength });
    }
    const first = parts[0].dtype;
    const uniform = parts.every((p) => p.dtype === first);
    const rows = parts.reduce((a, p) => a + p.rows, 0);
    const format = formatOf(slot, first, uniform, opts);
    out.push({ slot, parts, rows, format, heapBytes: bytesOfFormat(format, rows, slot.cols), heap: 0 });
  }
  return out;
}

/**
 * Assigns every slot a heap: units (embedding, each block, head) in order fill the
 * current heap up to `budget` and then open the next one. A tied head without its
 * own matrix sits with the embedding it reads. Returns the heaps' weight bytes.
 */
function placeUnits(planned: Planned[], budget: number, already: number, label: string): number[] {
  const units = new Map<Unit, Planned[]>();
  for (const p of planned) {
    const list = units.get(p.slot.unit);
    if (list) list.push(p); else units.set(p.slot.unit, [p]);
  }
  const used = [already];
  const hasOwn = [false];
  let h = 0;
  let embeddingHeap = 0;
  for (const [unit, list] of units) {
    const bytes = list.reduce((a, p) => a + p.heapBytes, 0);
    const what = unit === 'embedding' ? 'the embedding' : unit === 'head' ? 'the LM head' : `block ${unit}`;
    if (bytes > HARD_HEAP_BYTES) {
      throw new Error(`xLSTMLarge weights (${label}): ${what} needs ${(bytes / 2 ** 30).toFixed(2)} GiB, more than one WebAssembly memory holds (4 GiB); use a smaller dtype`);
    }
    let target: number;
    if (unit === 'head' && !list.some((p) => p.slot.key === 'lmHead')) target = embeddingHeap;
    else {
      if (used[h] + bytes > budget && (hasOwn[h] || used[h] > 0)) { h++; used.push(0); hasOwn.push(false); }
      target = h;
    }
    if (unit === 'embedding') embeddingHeap = target;
    used[target] += bytes;
    hasOwn[target] = true;
    for (const p of list) p.heap = target;
  }
  used[0] -= already;
  return used;
}

/** Default bytes of each of the two heap staging buffers a converting load streams checkpoint rows through. */
const STAGE_BYTES = 16 << 20;

/** Tensors read straight into the heap from 4 staging buffers' size on are read as READ_SPLIT concurrent ranges. */
const READ_SPLIT = 2;

/**
 * The stored bytes of `part` into `dest` as READ_SPLIT ranged reads at once: each runs on
 * its own I/O thread, so the copies out of the page cache and the first touches of the
 * fresh heap pages (costly under virtualisation) use all the cores, not one.
 */
async function readSplit(src: SafetensorsSource, part: PlannedPart, dest: Float32Array | Uint16Array): Promise<void> {
  const bytes = new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength);
  const size = DTYPE_SIZE[part.dtype];
  const per = Math.ceil(part.elems / READ_SPLIT) * size;
  const reads: Promise<void>[] = [];
  for (let o = 0; o < bytes.length; o += per) reads.push((async () => src.readRangeInto!(part.name, o, bytes.subarray(o, Math.min(bytes.length, o + per))))());
  // every read must have landed before the caller may free `dest` on an error
  const done = await Promise.allSettled(reads);
  const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A run of rows of one checkpoint tensor, and the row of the heap buffer it lands on. */
interface Chunk { part: PlannedPart; r0: number; rows: number; at: number; last: boolean }

/**
 * Stored bytes of rows [r0, r0 + rows) of `part` into `dest` (a heap view): a ranged read
 * where the source offers one, else the whole tensor read once into JS memory (`held`,
 * kept for the part's next chunks) and copied from there.
 */
async function readRows(src: SafetensorsSource, c: Chunk, cols: number, dest: Uint8Array, held: { name?: string; bytes?: Uint8Array }): Promise<void> {
  const size = DTYPE_SIZE[c.part.dtype];
  const from = c.r0 * cols * size;
  if (src.readRangeInto) { await src.readRangeInto(c.part.name, from, dest); return; }
  if (held.name !== c.part.name) {
    held.name = undefined; held.bytes = undefined; // drop the previous tensor before reading the next
    const t = await src.read(c.part.name);
    held.bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    held.name = c.part.name;
  }
  dest.set(held.bytes!.subarray(from, from + dest.length));
}

/**
 * Reads one slot onto `be` in its format. Formats the file already has (or f32) are
 * read straight into the heap. The others stream: rows are read into one of two heap
 * staging buffers while the rows in the other are converted (int8 / q4 by the wasm
 * kernels on the pool's threads, bf16 in JS) into the heap buffers, so memory beyond
 * the converted weights stays at the two staging buffers.
 */
async function placeSlot(be: WasmBackend, src: SafetensorsSource, p: Planned, stageLimit: number, onPart: (part: PlannedPart) => void, q4Bits?: Q4ActivationBits): Promise<Tensor | Q4Weight> {
  const cols = p.slot.cols;
  const shape = p.slot.kind === 'vector' ? [p.rows] : [p.rows, cols];
  const direct = p.format === 'f32' || ((p.format === 'bf16' || p.format === 'f16') && p.parts.every((q) => q.dtype === p.format));
  if (direct) {
    const t = be.empty(shape, p.format as DType);
    try {
      let off = 0;
      for (const part of p.parts) {
        const dest = (t.data as Float32Array | Uint16Array).subarray(off, off + part.elems);
        if (part.dtype === p.format && src.readRangeInto && part.bytes >= 4 * stageLimit) await readSplit(src, part, dest);
        else await src.readInto(part.name, dest, p.format === 'f32' && part.dtype !== 'f32' ? { dtype: 'f32' } : {});
        off += part.elems;
        onPart(part);
      }
    } catch (e) { t.dispose(); throw e; }
    return t;
  }
  const owned: Tensor[] = [];
  let pending: Promise<void> | undefined;
  try {
    let dest: Tensor, scales: Tensor | undefined;
    if (p.format === 'bf16') dest = be.empty([p.rows, cols], 'bf16');
    else if (p.format === 'int8') { dest = be.empty([p.rows, cols], 'i8'); scales = be.empty([p.rows], 'f32'); }
    else { dest = be.empty([p.rows, cols / 2], 'u8'); scales = be.empty([p.rows, cols / Q4_BLOCK], 'f32'); }
    owned.push(dest);
    if (scales) owned.push(scales);
    const rowBytes = Math.max(...p.parts.map((q) => cols * DTYPE_SIZE[q.dtype]));
    const perChunk = Math.max(1, Math.floor(stageLimit / rowBytes));
    const chunks: Chunk[] = [];
    let row = 0;
    for (const part of p.parts) {
      for (let r = 0; r < part.rows; r += perChunk) {
        const n = Math.min(perChunk, part.rows - r);
        chunks.push({ part, r0: r, rows: n, at: row + r, last: r + n === part.rows });
      }
      row += part.rows;
    }
    const stageBytes = Math.min(perChunk, Math.max(...p.parts.map((q) => q.rows))) * rowBytes;
    const stages = chunks.length > 1 ? [be.empty([stageBytes], 'u8'), be.empty([stageBytes], 'u8')] : [be.empty([stageBytes], 'u8')];
    owned.push(...stages);
    const held: { name?: string; bytes?: Uint8Array } = {};
    const view = (i: number) => (stages[i % stages.length].data as Uint8Array).subarray(0, chunks[i].rows * cols * DTYPE_SIZE[chunks[i].part.dtype]);
    pending = readRows(src, chunks[0], cols, view(0), held);
    for (let i = 0; i < chunks.length; i++) {
      await pending;
      pending = undefined;
      // the next read runs on the I/O thread while this chunk is converted
      if (i + 1 < chunks.length) pending = readRows(src, chunks[i + 1], cols, view(i + 1), held);
      convertChunk(be, p.format, chunks[i], cols, view(i), dest, scales);
      if (chunks[i].last) onPart(chunks[i].part);
    }
    for (const s of stages) s.dispose();
    if (p.format === 'bf16') return dest;
    if (p.format === 'int8') {
      const q = dest, s = scales!;
      return new Tensor('i8', [p.rows, cols], q.data, { scales: s.data as Float32Array, release: () => { q.dispose(); s.dispose(); } });
    }
    return new Q4Weight([p.rows, cols], dest, scales!, { activationBits: q4Bits });
  } catch (e) {
    // a read still in flight writes into a staging buffer: let it land before freeing
    if (pending) await pending.catch(() => undefined);
    for (const t of owned) t.dispose();
    throw e;
  }
}

/** Converts one staged chunk (stored bytes of c.rows rows) into rows c.at.. of the heap buffers. */
function convertChunk(be: WasmBackend, format: Format, c: Chunk, cols: number, raw: Uint8Array, dest: Tensor, scales: Tensor | undefined): void {
  const n = c.rows, at = c.at;
  let dtype = c.part.dtype;
  let data: Float32Array | Uint16Array;
  if (dtype === 'bf16' || dtype === 'f16') data = new Uint16Array(raw.buffer, raw.byteOffset, n * cols);
  else if (dtype === 'f32') data = new Float32Array(raw.buffer, raw.byteOffset, n * cols);
  else {
    // f64 (or any other float) narrowed to f32 in place, front to back: f32 element i
    // overwrites bytes 4i..4i+4, which f64 elements 0..i were read from already
    const wide = new Tensor(dtype, [n * cols], arrayView(dtype, raw, n * cols));
    const f = new Float32Array(raw.buffer, raw.byteOffset, n * cols);
    const src = wide.data as ArrayLike<number>;
    for (let i = 0; i < f.length; i++) f[i] = src[i];
    data = f;
    dtype = 'f32';
  }
  const source = { dtype, data, rows: n, cols };
  if (format === 'int8') {
    quantizeRowsInt8Into(be, source, (dest.data as Int8Array).subarray(at * cols, (at + n) * cols), (scales!.data as Float32Array).subarray(at, at + n));
  } else if (format === 'q4') {
    quantizeRowsQ4Into(be, source, (dest.data as Uint8Array).subarray((at * cols) / 2, ((at + n) * cols) / 2),
      (scales!.data as Float32Array).subarray((at * cols) / Q4_BLOCK, ((at + n) * cols) / Q4_BLOCK));
  } else {
    const f32 = new Tensor(dtype, [n, cols], data).toFloat32();
    f32ArrayToBf16(f32, (dest.data as Uint16Array).subarray(at * cols, (at + n) * cols) as Uint16Array<ArrayBuffer>);
  }
}

function arrayView(dtype: DType, raw: Uint8Array, n: number): TypedArray {
  const Cls = arrayClassFor(dtype) as unknown as new (b: ArrayBufferLike, o: number, n: number) => TypedArray;
  return new Cls(raw.buffer, raw.byteOffset, n);
}

/**
 * Reads the weights of `cfg` from `src` onto the backend heap(s) (see the file comment
 * for the accepted names), converting to `opts.dtype` on the way. Nothing stays
 * allocated (and no created backend stays alive) when it throws.
 */
export async function loadXLSTMLargeWeights(be: WasmBackend, src: SafetensorsSource, cfg: XLSTMLargeConfig, opts: LoadWeightsOptions = {}): Promise<XLSTMLargeWeights> {
  if (opts.matrixDtype !== undefined && opts.matrixDtype !== 'stored' && opts.matrixDtype !== 'f32') {
    throw new RangeError(`loadXLSTMLargeWeights: matrixDtype is ${JSON.stringify(opts.matrixDtype)}, expected "stored" or "f32"`);
  }
  if (opts.dtype !== undefined && !['f32', 'bf16', 'int8', 'q4'].includes(opts.dtype)) {
    throw new RangeError(`loadXLSTMLargeWeights: dtype is ${JSON.stringify(opts.dtype)}, expected "f32", "bf16", "int8" or "q4"`);
  }
  if (opts.q4ActivationBits !== undefined && opts.q4ActivationBits !== 8 && opts.q4ActivationBits !== 16) {
    throw new ArgumentError(`loadXLSTMLargeWeights: q4ActivationBits is ${JSON.stringify(opts.q4ActivationBits)}, expected 8 or 16`);
  }
  const budget = opts.maxHeapBytes ?? DEFAULT_MAX_HEAP_BYTES;
  if (typeof budget !== 'number' || !(budget > 0) || budget > HARD_HEAP_BYTES) {
    throw new RangeError(`loadXLSTMLargeWeights: maxHeapBytes is ${String(opts.maxHeapBytes)}, expected a number of bytes > 0 and <= ${HARD_HEAP_BYTES} (4 GiB less 1 MiB)`);
  }
  const stageBytes = opts.stageBytes ?? STAGE_BYTES;
  if (typeof stageBytes !== 'number' || !Number.isInteger(stageBytes) || stageBytes < 1 || stageBytes > 1 << 30) {
    throw new RangeError(`loadXLSTMLargeWeights: stageBytes is ${String(opts.stageBytes)}, expected an integer number of bytes in [1, ${1 << 30}]`);
  }
  const label = sourceLabel(src);
  const layout = detectLayout(src);
  const quantHead = opts.dtype === 'int8' || opts.dtype === 'q4';
  const planned = await plan(src, xlstmLargeTable(cfg, layout), nameTable(cfg, layout, quantHead), opts, label);
  const heapBytes = placeUnits(planned, budget, be.heap.bytesInUse, label);
  const total = planned.reduce((a, p) => a + p.parts.reduce((b, q) => b + q.bytes, 0), 0);
  const placed = new Map<string, Tensor | Q4Weight>();
  const backends: WasmBackend[] = [be];
  let loaded = 0;
  const release = () => {
    for (const t of placed.values()) t.dispose();
    placed.clear();
    for (const extra of backends.slice(1)) extra.dispose();
    backends.length = 1;
  };
  try {
    for (let h = 1; h < heapBytes.length; h++) {
      backends.push(await WasmBackend.create({ threads: be.threads, relaxedSimd: be.features.relaxedSimd, barrierSpins: be.barrierSpins }));
    }
    for (const p of planned) {
      const t = await placeSlot(backends[p.heap], src, p, stageBytes, (part) => {
        loaded += part.bytes;
        opts.onProgress?.({ loadedBytes: loaded, totalBytes: total, tensor: part.name, loaded, total, name: part.name });
      }, opts.q4ActivationBits);
      placed.set(p.slot.key, t);
    }
  } catch (e) {
    release();
    throw e;
  }
  const heapOf = (key: string) => planned.find((p) => p.slot.key === key)!.heap;
  const placement: XLSTMLargePlacement = {
    embedding: heapOf('embedding'),
    blocks: Array.from({ length: cfg.num_blocks }, (_, b) => heapOf(`blocks.${b}.qkvo`)),
    head: planned.find((p) => p.slot.unit === 'head')?.heap ?? heapOf('embedding'),
  };
  const bytes = planned.reduce((a, p) => a + p.heapBytes, 0);
  return assemble(cfg, layout, opts.dtype ?? 'stored', placed, bytes, heapBytes, backends, placement, release);
}

/** Row range [r0, r1) of a heap matrix/vector (any weight format) sharing its memory. */
export function weightRows<W extends Tensor | Q4Weight>(w: W, r0: number, r1: number): W {
  if (w instanceof Q4Weight) {
    const K = w.shape[1];
    return new Q4Weight([r1 - r0, K], weightRows(w.packed, r0, r1), weightRows(w.scales, r0, r1), { activationBits: w.activationBits }) as W;
  }
  const t = w as Tensor;
  const cols = t.rank === 2 ? t.shape[1] : 1;
  const data = (t.data as Float32Array).subarray(r0 * cols, r1 * cols);
  return new Tensor(t.dtype, t.rank === 2 ? [r1 - r0, cols] : [r1 - r0], data, t.scales ? { scales: t.scales.subarray(r0, r1) } : {}) as W;
}

function assemble(cfg: XLSTMLargeConfig, layout: 'hf' | 'native', dtype: XLSTMLargeDType | 'stored', placed: Map<string, Tensor | Q4Weight>,
  bytes: number, heapBytes: number[], backends: WasmBackend[], placement: XLSTMLargePlacement, release: () => void): XLSTMLargeWeights {
  const U = cfg.ffn_up_proj_dim;
  const get = (k: string) => placed.get(k)! as Tensor;
  const opt = (k: string) => placed.get(k) as Tensor | undefined;
  const mat = (k: string) => placed.get(k)! as LinearWeight;
  const blocks: XLSTMLargeBlockWeights[] = [];
  for (let b = 0; b < cfg.num_blocks; b++) {
    const k = (n: string) => `blocks.${b}.${n}`;
    const up = mat(k('projUpBoth')), upB = opt(k('projUpBothBias'));
    blocks.push({
      normMlstm: get(k('normMlstm')), normMlstmBias: opt(k('normMlstmBias')),
      qkvo: mat(k('qkvo')), qkvoBias: opt(k('qkvoBias')),
      ifGate: get(k('ifGate')), ifGateBias: get(k('ifGateBias')),
      multiheadNorm: get(k('multiheadNorm')), multiheadNormBias: opt(k('multiheadNormBias')),
      outProj: mat(k('outProj')), outProjBias: opt(k('outProjBias')),
      normFfn: get(k('normFfn')), normFfnBias: opt(k('normFfnBias')),
      projUpBoth: up, projUpBothBias: upB,
      projUpGate: weightRows(up, 0, U), projUp: weightRows(up, U, 2 * U),
      projUpGateBias: upB ? weightRows(upB, 0, U) : undefined, projUpBias: upB ? weightRows(upB, U, 2 * U) : undefined,
      projDown: mat(k('projDown')), projDownBias: opt(k('projDownBias')),
    });
  }
  const embedding = get('embedding');
  return {
    layout,
    dtype,
    embedding,
    blocks,
    outNorm: opt('outNorm'),
    outNormBias: opt('outNormBias'),
    lmHead: (placed.get('lmHead') as LinearWeight | undefined) ?? embedding,
    bytes,
    heapBytes,
    backends,
    placement,
    dispose: release,
  };
}
