// One declarative weight table per architecture, and the one generic matcher every loader,
// trainable and converter checks a checkpoint with (the way llama.cpp keeps one tensor table
// per architecture). A table lists every tensor a config needs: its official name, its shape
// from the config, the other spellings checkpoints use (aliases), what it is (role: the
// family's initialiser and weight-decay rules key on it), and whether it goes to JS memory
// rather than the heap (host). Names that checkpoints may carry for a tensor the model shares
// with another one (a tied LM head) are listed as tied: accepted and shape-checked, never
// loaded. Legacy prefixes are stripped from file names before matching.
//
// matchWeights is strict like torch's load_state_dict: every listed tensor must be present
// with its shape and a float dtype, and every tensor of the file must be listed (or tied).
// It only reports; each family words the error (the messages name tensor, file and shapes,
// and the families' tests check them).
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** One tensor of an architecture. */
export interface WeightSpec {
  /** The official state_dict name (what the model saves). */
  readonly name: string;
  /** Shape from the config. */
  readonly shape: readonly number[];
  /** Other spellings accepted on load (e.g. transformers' query/key/value for q/k/v). */
  readonly aliases?: readonly string[];
  /** What the tensor is, in the family's words ('linear', 'bias', 'norm', 'fgateBias', ...): the family's init and decay rules key on it. */
  readonly role?: string;
  /** torch fan_in of the tensor (for the default initialisers). */
  readonly fanIn?: number;
  /** Loaders keep it in JS memory rather than on the wasm heap (e.g. the sLSTM R, re-laid-out on upload). */
  readonly host?: boolean;
  /**
   * Storage rule when a loader converts weights (xLSTM Large's dtype option): 'matrix' may be
   * stored as bf16 / int8 / q4; 'f32' always stays f32 (norms, biases, the tiny gate matrices);
   * 'gather' is an embedding table read by the gather kernel (f32 or bf16 only). Default by
   * rank: 1-D 'f32', otherwise 'matrix'.
   */
  readonly store?: 'matrix' | 'f32' | 'gather';
  /** Which placement unit it belongs to (loaders that split a model over heaps: 'embedding', a block index, 'head'). */
  readonly unit?: 'embedding' | 'head' | number;
  /**
   * The aliases name the SAME tensor of the module (torch registers one Parameter under several
   * names, e.g. TiRex-2's `rev_cell = fwd_cell`): a file may hold any non-empty subset of them,
   * each shape-checked, and the match lists the copies so the loader can check they agree.
   * Without it, a second spelling in the same file is an unexpected tensor.
   */
  readonly shared?: boolean;
}

/** A tied name: accepted in a file (shape-checked) as another spelling of `target`, which holds the value. */
export interface TiedSpec { readonly name: string; readonly target: string; readonly shape: readonly number[] }

export interface WeightTable {
  /** Architecture name used in messages (e.g. 'TiRex', 'xLSTMLarge', 'xLSTMLMModel'). */
  readonly arch: string;
  readonly specs: readonly WeightSpec[];
  readonly tied?: readonly TiedSpec[];
  /** Prefixes stripped from a file's names before matching (older checkpoints). */
  readonly legacyPrefixes?: readonly string[];
}

/** Dtypes a weight may be stored in (converted on read). */
export const FLOAT_DTYPES: readonly DType[] = ['f32', 'bf16', 'f16', 'f64'];

/** What a matcher needs to know about a source: names, and each tensor's shape and dtype. */
export interface WeightInfoSource {
  names(): readonly string[];
  info(name: string): { shape: readonly number[]; dtype: DType } | Promise<{ shape: readonly number[]; dtype: DType }>;
}

/** A listed tensor found in the source. */
export interface WeightMatch {
  readonly spec: WeightSpec;
  /** its name in the source (the first of name, aliases that the source holds) */
  readonly file: string;
  readonly dtype: DType;
  /** other names of a `shared` spec that the source also holds (same shape; the loader checks the values agree) */
  readonly copies: readonly string[];
}

export interface WeightProblems {
  /** Listed tensors under none of their names. */
  missing: WeightSpec[];
  /** Source names that are no listed tensor, alias or tied name (as in the source). */
  unexpected: string[];
  /** Found with another shape. */
  misshaped: { spec: WeightSpec | TiedSpec; file: string; shape: readonly number[] }[];
  /** Found with a non-float dtype. */
  badDtype: { spec: WeightSpec; file: string; dtype: DType }[];
}

export interface WeightMatchResult {
  /** By official name, in table order (only the tensors found with the right shape and dtype). */
  readonly matches: Map<string, WeightMatch>;
  readonly problems: WeightProblems;
  /** True when nothing is missing, unexpected, mis-shaped or of a bad dtype. */
  readonly ok: boolean;
}

export const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
export const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** The table as name -> shape (the official names; what the config sweep tests compare with the official state_dict). */
export function tableShapes(table: WeightTable): Map<string, number[]> {
  return new Map(table.specs.map((s) => [s.name, [...s.shape]]));
}

/** The spec of an official name (throws naming the table when it has none). */
export function specOf(table: WeightTable, name: string): WeightSpec {
  const s = table.specs.find((x) => x.name === name);
  if (!s) throw new Error(`${table.arch} weight table: no tensor ${name}`);
  return s;
}

/** The storage rule of a spec (its `store`, else by rank). */
export function storeOf(spec: WeightSpec): 'matrix' | 'f32' | 'gather' {
  return spec.store ?? (spec.shape.length === 1 ? 'f32' : 'matrix');
}

/** `name` with the first matching legacy prefix removed. */
export function stripLegacy(table: WeightTable, name: string): string {
  for (const p of table.legacyPrefixes ?? []) if (name.startsWith(p)) return name.slice(p.length);
  return name;
}

/**
 * Checks a source against the table (see the file comment). `strict: false` skips the
 * unexpected-name check (a source that holds more than the model, e.g. a merged file).
 */
export async function matchWeights(table: WeightTable, src: WeightInfoSource, o: { strict?: boolean } = {}): Promise<WeightMatchResult> {
  const infos = new Map<string, { shape: readonly number[]; dtype: DType }>();
  for (const n of src.names()) infos.set(n, await src.info(n));
  return matchTensorInfos(table, infos, o);
}

/** matchWeights on names with known shapes and dtypes (e.g. an in-memory map of tensors), synchronously. */
export function matchTensorInfos(table: WeightTable, infos: ReadonlyMap<string, { readonly shape: readonly number[]; readonly dtype: DType }>, o: { strict?: boolean } = {}): WeightMatchResult {
  const byName = new Map<string, string>(); // stripped source name -> source name
  for (const n of infos.keys()) byName.set(stripLegacy(table, n), n);
  const problems: WeightProblems = { missing: [], unexpected: [], misshaped: [], badDtype: [] };
  const matches = new Map<string, WeightMatch>();
  const used = new Set<string>();
  for (const spec of table.specs) {
    const present = [spec.name, ...(spec.aliases ?? [])].filter((n) => byName.has(n));
    if (!present.length) { problems.missing.push(spec); continue; }
    // a plain spec takes its first spelling; the others stay unused (so: unexpected)
    const keys = spec.shared ? present : present.slice(0, 1);
    let good = true;
    for (const key of keys) {
      const file = byName.get(key)!;
      used.add(key);
      const info = infos.get(file)!;
      if (!sameShape(info.shape, spec.shape)) { problems.misshaped.push({ spec, file, shape: [...info.shape] }); good = false; }
      else if (!FLOAT_DTYPES.includes(info.dtype)) { problems.badDtype.push({ spec, file, dtype: info.dtype }); good = false; }
    }
    const file = byName.get(keys[0])!;
    if (good) matches.set(spec.name, { spec, file, dtype: infos.get(file)!.dtype, copies: keys.slice(1).map((k) => byName.get(k)!) });
  }
  for (const tied of table.tied ?? []) {
    if (!byName.has(tied.name)) continue;
    used.add(tied.name);
    const file = byName.get(tied.name)!;
    const info = infos.get(file)!;
    if (!sameShape(info.shape, tied.shape)) problems.misshaped.push({ spec: tied, file, shape: [...info.shape] });
  }
  if (o.strict !== false) for (const [key, file] of byName) if (!used.has(key)) problems.unexpected.push(file);
  const ok = !problems.missing.length && !problems.unexpected.length && !problems.misshaped.length && !problems.badDtype.length;
  return { matches, problems, ok };
}

/**
 * The problems as one list of phrases (the wording of the xLSTM loaders:
 * "missing tensor X (or Y) (expected shape [..])", "tensor X: expected shape [..], file has [..]").
 */
export function problemList(p: WeightProblems): string[] {
  const out: string[] = [];
  for (const s of p.missing) out.push(`missing tensor ${s.name}${s.aliases?.length ? ` (or ${s.aliases.join(', ')})` : ''} (expected shape ${shapeText(s.shape)})`);
  for (const m of p.misshaped) out.push(`tensor ${m.file}: expected shape ${shapeText(m.spec.shape)}, file has ${shapeText(m.shape)}`);
  for (const d of p.badDtype) out.push(`tensor ${d.file}: dtype ${d.dtype} is not a float format (expected one of ${FLOAT_DTYPES.join(', ')})`);
  for (const u of p.unexpected) out.push(`unexpected tensor ${u} (not a weight of this config)`);
  return out;
}

/** "`what`: N problem(s): a; b; ..." with at most `max` shown. */
export function problemsMessage(what: string, p: WeightProblems, max = 8): string {
  const list = problemList(p);
  return `${what}: ${list.length} problem(s): ${list.slice(0, max).join('; ')}${list.length > max ? '; ...' : ''}`;
}

/** Index of the first element where two tensors' values differ (NaN equals NaN, -0 differs from 0), or -1 when none does. */
export function firstDifference(a: Tensor, b: Tensor): number {
  const x = a.toFloat32(), y = b.toFloat32();
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let j = 0; j < x.length; j++) if (!Object.is(x[j], y[j])) return j;
  return -1;
}

/**
 * A file's (or a map's) tensors by name, shapes (and dtypes) known before reading: what the
 * family loaders read checkpoints through. `R` is what read returns (a Promise for files).
 */
export interface TensorSource<R extends Tensor | Promise<Tensor> = Tensor | Promise<Tensor>> {
  /** Names the file in errors. */
  readonly source: string;
  names(): string[];
  shape(name: string): readonly number[];
  /** Stored dtype (absent: checked when read). */
  dtype?(name: string): DType;
  read(name: string): R;
}

/** In-memory tensors (e.g. a parsed model.safetensors in a browser) as a source. */
export function tensorMapSource(tensors: ReadonlyMap<string, Tensor>, source = '<tensors>'): TensorSource<Tensor> {
  return { source, names: () => [...tensors.keys()], shape: (n) => tensors.get(n)!.shape, dtype: (n) => tensors.get(n)!.dtype, read: (n) => tensors.get(n)! };
}

/** A tensor source as a matcher source (a source without dtypes counts as f32 until read). */
export function sourceInfo(src: TensorSource): WeightInfoSource {
  return { names: () => src.names(), info: (n) => ({ shape: src.shape(n), dtype: src.dtype?.(n) ?? 'f32' }) };
}

/** An in-memory map of tensors as a matcher source. */
export function mapInfoSource(tensors: ReadonlyMap<string, Tensor>): WeightInfoSource {
  return { names: () => [...tensors.keys()], info: (n) => tensors.get(n)! };
}

/**
 * Reads every listed tensor of a checked source as f32 in JS memory, by official name
 * (trainables, and loaders that re-lay weights out before upload). Call after matchWeights was ok.
 */
export async function readWeightsF32(match: WeightMatchResult, read: (file: string) => Tensor | Promise<Tensor>): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  for (const [name, m] of match.matches) {
    const t = await read(m.file);
    out.set(name, t.dtype === 'f32' ? t : new Tensor('f32', t.shape, t.toFloat32()));
  }
  return out;
}
