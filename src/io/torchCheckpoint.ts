// Safe reader for PyTorch checkpoints in the torch.save zip format (torch >= 1.6),
// e.g. the official TiRex model.ckpt. The archive holds `<name>/data.pkl` (the
// pickled object), `<name>/data/<key>` (raw little-endian storages) and, in newer
// torch, `<name>/byteorder`. The pickle is interpreted by a data-only unpickler
// with an allow-list of the few globals torch.save of tensors and plain
// containers needs; anything else is refused, nothing is ever executed.
// Tensors stay lazy handles (TorchTensorRef) until read(). No Node imports at
// module level: open() loads node:fs/promises on demand, fromBytes() works anywhere.
import { DType, DTYPE_SIZE, TypedArray, arrayClassFor, numel, shapeStr } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { XlstmError } from '../errors.js';
import { readFully } from './fileIo.js';
import type { FileHandle } from 'node:fs/promises';
import {
  PickleCallable, PickleContext, PickleDict, PickleGlobal, PickleValue, describe, isPickleDict, newDict, unpickle,
} from './pickle.js';
import { RandomAccess, ZipArchive, ZipError, checkReadable } from './zip.js';

export { ZipError } from './zip.js';
export { PickleError } from './pickle.js';

/** Error for a checkpoint whose content (rather than its zip or pickle encoding) is wrong. */
export class TorchCheckpointError extends XlstmError {
  readonly source: string;
  readonly tensor?: string;
  constructor(source: string, message: string, tensor?: string) {
    super(`${source}: ${tensor !== undefined ? `tensor '${tensor}': ` : ''}${message}`);
    this.name = 'TorchCheckpointError';
    this.source = source;
    this.tensor = tensor;
  }
}

/** torch storage class -> our dtype. */
const STORAGE_DTYPES: Readonly<Record<string, DType>> = Object.freeze({
  FloatStorage: 'f32', HalfStorage: 'f16', BFloat16Storage: 'bf16', DoubleStorage: 'f64',
  LongStorage: 'i64', IntStorage: 'i32', CharStorage: 'i8', ByteStorage: 'u8', BoolStorage: 'bool',
});

/** torch dtype objects may appear as plain values (e.g. in metadata); they are inert names. */
const TORCH_DTYPE_NAMES = new Set(['float32', 'float', 'float16', 'half', 'bfloat16', 'float64', 'double', 'int64', 'long',
  'int32', 'int', 'int8', 'uint8', 'bool']);

/** tensors() walks at most this deep (state dicts are flat; lightning extras nest a few levels). */
const MAX_NESTING = 1000;
const MAX_VISITS = 1_000_000;

/**
 * A view whose strides repeat storage elements (stride 0, as expand() makes) can be far
 * larger than its storage; past this size such a view is refused rather than
 * materialised, so a tiny file cannot make us allocate gigabytes. Views that do not
 * repeat elements are bounded by their storage, which is bounded by the file.
 */
const MAX_EXPANDED_BYTES = 256 * 1024 * 1024;

/** Pickle data.pkl larger than this is treated as corrupt (tensor data lives in separate entries). */
const MAX_PICKLE_BYTES = 1024 * 1024 * 1024;

/** One storage (zip entry `<archive>/data/<key>`), as named by a persistent id. */
export interface TorchStorageRef {
  readonly key: string;
  readonly dtype: DType;
  /** Elements, as the persistent id states. */
  readonly numel: number;
  /** Device it was saved from (e.g. 'cpu', 'cuda:0'); data is read to the CPU regardless. */
  readonly location: string;
}

/** A tensor in the checkpoint, not yet read: a strided view of a storage. */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    /** In elements. */
    readonly storageOffset: number,
    readonly shape: readonly number[],
    /** In elements, one per dim. */
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
  get dtype(): DType { return this.storage.dtype; }
  get numel(): number { return numel(this.shape); }
  /** Bytes of the materialised (contiguous) tensor. */
  get byteLength(): number { return this.numel * DTYPE_SIZE[this.dtype]; }
  /** Row-major contiguous (dims of size 1 may have any stride). */
  get contiguous(): boolean {
    let expect = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.stride[i] !== expect) return this.numel === 0;
      expect *= this.shape[i];
    }
    return true;
  }
  /** One past the last storage element this view touches (offset for empty tensors). */
  get storageEnd(): number {
    if (this.numel === 0) return this.storageOffset;
    let last = this.storageOffset;
    for (let i = 0; i < this.shape.length; i++) last += (this.shape[i] - 1) * this.stride[i];
    return last + 1;
  }
  toString(): string { return `TorchTensorRef(${this.dtype}, ${shapeStr(this.shape)}, storage ${this.storage.key})`; }
}

/** Options for tensors(). */
export interface TensorsOptions {
  /** Removes this prefix from keys that start with it (e.g. the legacy 'block_stack.' of TiRex checkpoints). */
  stripPrefix?: string;
  /** Renames each key (after stripPrefix); return undefined to drop a tensor. */
  renameKeys?: (key: string) => string | undefined;
}

export interface TorchCheckpointOptions {
  /** Names the input in errors (defaults to the path, or '<memory>'). */
  source?: string;
}

/** Renaming function that strips `prefix` where present (a TiRex-agnostic helper for legacy key prefixes). */
export function stripKeyPrefix(prefix: string): (key: string) => string {
  return (key) => (key.startsWith(prefix) ? key.slice(prefix.length) : key);
}

/** Marks attributes restored by BUILD on a dict (e.g. a state_dict's `_metadata`); non-enumerable so keys stay tensors. */
export const PICKLE_ATTRIBUTES: unique symbol = Symbol('pickleAttributes');

class FileAccess implements RandomAccess {
  constructor(readonly source: string, readonly size: number, private fh: FileHandle | undefined) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(offset, out);
    return out;
  }
  async readInto(offset: number, dest: Uint8Array): Promise<void> {
    if (!this.fh) throw new ZipError(this.source, 'file is closed');
    await readFully(this.fh, dest, offset, this.source);
  }
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

/** Finds `<archive>/data.pkl` (exactly one at depth <= 1) and returns the archive prefix ('' or 'name/'). */
function archivePrefix(zip: ZipArchive): string {
  const found = zip.names().filter((n) => n === 'data.pkl' || (n.endsWith('/data.pkl') && n.indexOf('/') === n.length - 9));
  if (found.length !== 1) {
    throw new TorchCheckpointError(zip.source, found.length === 0
      ? `not a torch.save zip checkpoint: no '<archive>/data.pkl' entry (entries: ${zip.names().slice(0, 5).join(', ')}${zip.entries.size > 5 ? ', ...' : ''})`
      : `ambiguous checkpoint: several data.pkl entries (${found.join(', ')})`);
  }
  return found[0].slice(0, found[0].length - 'data.pkl'.length);
}

function isIntIn(v: PickleValue, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/**
 * The allow-list. Each entry only builds data; the torch names are those of
 * torch.save's own reduce functions for tensors, parameters and storages.
 */
function makeFindClass() {
  const rebuildTensor: PickleCallable = {
    module: 'torch._utils', name: '_rebuild_tensor_v2',
    call(args, ctx) {
      if (args.length < 6 || args.length > 7) ctx.fail(`_rebuild_tensor_v2 expects 6 or 7 arguments, got ${args.length}`);
      const [storage, offset, size, stride, requiresGrad, hooks] = args;
      if (!(storage instanceof StorageHandle)) ctx.fail(`_rebuild_tensor_v2: first argument must be a storage, got ${describe(storage)}`);
      // describe(), not String(): String() of a pickled dict (null prototype) throws a TypeError.
      if (!isIntIn(offset, 0)) {
        ctx.fail(`_rebuild_tensor_v2: storage offset must be an integer >= 0, got ${typeof offset === 'number' || typeof offset === 'bigint' ? String(offset) : describe(offset)}`);
      }
      if (!Array.isArray(size) || !size.every((d) => isIntIn(d, 0))) ctx.fail(`_rebuild_tensor_v2: size must be a tuple of integers >= 0, got ${describe(size)}`);
      if (!Array.isArray(stride) || stride.length !== (size as unknown[]).length || !stride.every((d) => isIntIn(d, 0))) {
        ctx.fail(`_rebuild_tensor_v2: stride must be a tuple of ${(size as unknown[]).length} integers >= 0, got ${describe(stride)}`);
      }
      if (typeof requiresGrad !== 'boolean') ctx.fail(`_rebuild_tensor_v2: requires_grad must be a bool, got ${describe(requiresGrad)}`);
      if (hooks !== null && !(isPickleDict(hooks) && Object.keys(hooks).length === 0)) {
        ctx.fail('_rebuild_tensor_v2: tensors with backward hooks are not supported');
      }
      const ref = new TorchTensorRef((storage as StorageHandle).ref, offset as number, [...(size as number[])], [...(stride as number[])], requiresGrad as boolean);
      // Past 2^53 elements (or Infinity x 0 = NaN) the size arithmetic below is meaningless.
      if (!Number.isSafeInteger(ref.numel)) ctx.fail(`_rebuild_tensor_v2: size ${shapeStr(ref.shape)} has more elements than can be counted exactly`);
      if (ref.storageEnd > ref.storage.numel) {
        ctx.fail(`_rebuild_tensor_v2: view of shape ${shapeStr(ref.shape)} (offset ${ref.storageOffset}, stride ${shapeStr(ref.stride)}) needs ${ref.storageEnd} elements but storage '${ref.storage.key}' has ${ref.storage.numel}`);
      }
      return ref;
    },
  };
  const rebuildParameter = (name: string, nargs: number[]): PickleCallable => ({
    module: 'torch._utils', name,
    call(args, ctx) {
      if (!nargs.includes(args.length)) ctx.fail(`${name} expects ${nargs.join(' or ')} arguments, got ${args.length}`);
      if (!(args[0] instanceof TorchTensorRef)) ctx.fail(`${name}: data must be a tensor, got ${describe(args[0])}`);
      return args[0];
    },
  });
  const orderedDict: PickleCallable = {
    module: 'collections', name: 'OrderedDict',
    call(args, ctx) {
      const d = newDict();
      if (args.length === 0) return d;
      const items = args[0];
      if (args.length !== 1 || !Array.isArray(items)) ctx.fail(`OrderedDict expects () or (list of pairs,), got ${args.length} arguments`);
      for (const p of items as PickleValue[]) {
        if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string') ctx.fail('OrderedDict items must be (str, value) pairs');
        d[(p as [string, PickleValue])[0]] = (p as [string, PickleValue])[1];
      }
      return d;
    },
  };
  const codecsEncode: PickleCallable = {
    // Protocol 2 writes bytes objects as _codecs.encode(text, 'latin1').
    module: '_codecs', name: 'encode',
    call(args, ctx) {
      if (args.length !== 2 || typeof args[0] !== 'string' || args[1] !== 'latin1') ctx.fail("_codecs.encode is only allowed as encode(str, 'latin1')");
      const s = args[0] as string;
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) ctx.fail('_codecs.encode: character outside latin1');
        out[i] = c;
      }
      return out;
    },
  };
  const torchSize: PickleCallable = {
    module: 'torch', name: 'Size',
    call(args, ctx) {
      if (args.length !== 1 || !Array.isArray(args[0]) || !(args[0] as PickleValue[]).every((d) => isIntIn(d, 0))) ctx.fail('torch.Size expects (tuple of ints,)');
      return Object.freeze([...(args[0] as number[])]);
    },
  };
  return (module: string, name: string): PickleCallable | PickleGlobal | undefined => {
    if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return rebuildTensor;
    if (module === 'torch._utils' && name === '_rebuild_parameter') return rebuildParameter(name, [3]);
    if (module === 'torch._utils' && name === '_rebuild_parameter_with_state') return rebuildParameter(name, [4]);
    if (module === 'collections' && name === 'OrderedDict') return orderedDict;
    if (module === '_codecs' && name === 'encode') return codecsEncode;
    if (module === 'torch' && name === 'Size') return torchSize;
    // Storage classes and dtypes are values (persistent-id fields), never called.
    if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name)) return new PickleGlobal(module, name);
    if (module === 'torch' && TORCH_DTYPE_NAMES.has(name)) return new PickleGlobal(module, name);
    return undefined;
  };
}

/** What BINPERSID puts on the stack: a storage, usable only as _rebuild_tensor_v2's first argument. */
class StorageHandle {
  constructor(readonly ref: TorchStorageRef) {}
}

function persistentLoader(storages: Map<string, TorchStorageRef>) {
  return (pid: PickleValue, ctx: PickleContext): PickleValue => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      ctx.fail(`unsupported persistent id ${describe(pid)} (expected ('storage', type, key, location, numel))`);
    }
    const [, type, key, location, n] = pid as PickleValue[];
    if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !(type.name in STORAGE_DTYPES)) {
      ctx.fail(`persistent id: unsupported storage type ${describe(type)}`);
    }
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) ctx.fail(`persistent id: bad storage key ${JSON.stringify(key)}`);
    if (typeof location !== 'string') ctx.fail('persistent id: location must be a string');
    if (!isIntIn(n as PickleValue, 0)) ctx.fail('persistent id: numel must be an integer >= 0');
    const dtype = STORAGE_DTYPES[(type as PickleGlobal).name];
    const prev = storages.get(key as string);
    if (prev) {
      if (prev.dtype !== dtype) ctx.fail(`storage '${key}' is used as both ${prev.dtype} and ${dtype} (views of one storage with different dtypes are not supported)`);
      return new StorageHandle(prev);
    }
    const ref: TorchStorageRef = Object.freeze({ key: key as string, dtype, numel: n as number, location: location as string });
    storages.set(ref.key, ref);
    return new StorageHandle(ref);
  };
}

/** BUILD is allowed only to attach attributes (e.g. `_metadata`) to a dict; they go under PICKLE_ATTRIBUTES, not among the keys. */
function buildDictAttributes(obj: PickleValue, state: PickleValue): boolean {
  if (!isPickleDict(obj) || !isPickleDict(state)) return false;
  Object.defineProperty(obj, PICKLE_ATTRIBUTES, { value: state, enumerable: false, configurable: false, writable: false });
  return true;
}

/** An opened torch.save checkpoint. */
export class TorchCheckpoint {
  readonly source: string;
  /** The unpickled object; tensors are TorchTensorRef handles. */
  readonly object: PickleValue;
  /** Archive folder inside the zip ('' or e.g. 'archive/'). */
  readonly archivePrefix: string;
  private readonly zip: ZipArchive;
  private defaultTensors?: Map<string, TorchTensorRef>;
  private closed = false;

  private constructor(zip: ZipArchive, prefix: string, object: PickleValue) {
    this.zip = zip;
    this.source = zip.source;
    this.archivePrefix = prefix;
    this.object = object;
  }

  /** Opens a checkpoint file (Node): reads the central directory and data.pkl; tensor data stays on disk until read(). */
  static async open(path: string, opts: TorchCheckpointOptions = {}): Promise<TorchCheckpoint> {
    const { open } = await import('node:fs/promises');
    const source = opts.source ?? path;
    const fh = await open(path, 'r');
    let access: FileAccess | undefined;
    try {
      const size = (await fh.stat()).size;
      const first = new Uint8Array(Math.min(2, size));
      await readFully(fh, first, 0, source);
      checkNotLegacy(first, source);
      access = new FileAccess(source, size, fh);
      const zip = await ZipArchive.open(access);
      const prefix = archivePrefix(zip);
      checkByteOrder(zip, prefix, zip.has(prefix + 'byteorder') ? await zip.read(prefix + 'byteorder') : undefined);
      const pkl = await zip.read(checkPickleSize(zip, prefix));
      return new TorchCheckpoint(zip, prefix, unpickleCheckpoint(pkl, source, prefix));
    } catch (e) {
      await (access ? access.close() : fh.close());
      throw e;
    }
  }

  /** Parses an in-memory checkpoint (e.g. a fetch() result); synchronous. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer, opts: TorchCheckpointOptions = {}): TorchCheckpoint {
    const source = opts.source ?? '<memory>';
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    checkNotLegacy(u8.subarray(0, 2), source);
    const zip = ZipArchive.fromBytes(u8, source);
    const prefix = archivePrefix(zip);
    checkByteOrder(zip, prefix, zip.has(prefix + 'byteorder') ? zip.readSync(prefix + 'byteorder') : undefined);
    const pkl = zip.readSync(checkPickleSize(zip, prefix));
    return new TorchCheckpoint(zip, prefix, unpickleCheckpoint(pkl, source, prefix));
  }

  /**
   * The tensors under `path` (a key or key path into the object; by default
   * 'state_dict' when the object has one, else the object itself), flattened
   * with '.' between nested keys, optionally renamed.
   */
  tensors(path?: string | readonly string[], opts: TensorsOptions = {}): Map<string, TorchTensorRef> {
    const root = this.at(path);
    const out = new Map<string, TorchTensorRef>();
    // The memo lets a pickle build shared and even cyclic containers. Shared ones
    // are listed under every name (as torch would); a container inside itself is
    // skipped; depth and total work are bounded so hostile input cannot overflow
    // the stack or blow up exponentially.
    const ancestors = new Set<object>();
    let visits = 0;
    const visit = (v: PickleValue, key: string, depth = 0): void => {
      if (typeof v !== 'object' || v === null) return;
      if (++visits > MAX_VISITS) throw new TorchCheckpointError(this.source, `more than ${MAX_VISITS} containers and tensors to walk (shared containers repeated too often?)`);
      if (depth > MAX_NESTING) throw new TorchCheckpointError(this.source, `containers nested deeper than ${MAX_NESTING} levels at '${key}'`);
      if ((Array.isArray(v) || isPickleDict(v)) && ancestors.has(v)) return;
      if (v instanceof TorchTensorRef) {
        let name: string | undefined = key;
        if (opts.stripPrefix !== undefined && name.startsWith(opts.stripPrefix)) name = name.slice(opts.stripPrefix.length);
        if (opts.renameKeys) name = opts.renameKeys(name);
        if (name === undefined) return;
        if (out.has(name)) throw new TorchCheckpointError(this.source, `two tensors are renamed to the same key (second: '${key}')`, name);
        out.set(name, v);
      } else if (Array.isArray(v)) {
        ancestors.add(v);
        v.forEach((x, i) => visit(x, key ? `${key}.${i}` : String(i), depth + 1));
        ancestors.delete(v);
      } else if (isPickleDict(v)) {
        ancestors.add(v);
        for (const [k, x] of Object.entries(v)) visit(x, key ? `${key}.${k}` : k, depth + 1);
        ancestors.delete(v);
      }
    };
    visit(root, '');
    return out;
  }

  /** Tensor names of the default tensors() map. */
  names(): string[] { return [...this.defaults().keys()]; }

  /**
   * Reads one tensor into JS memory (contiguous row-major; strided views are
   * materialised). `name` is a key of the default tensors() map, or a handle
   * from tensors() / the object.
   */
  async read(name: string | TorchTensorRef): Promise<Tensor> {
    if (this.closed) throw new TorchCheckpointError(this.source, 'checkpoint is closed');
    const label = typeof name === 'string' ? name : name.toString();
    const ref = typeof name === 'string' ? this.defaults().get(name) : name;
    if (!ref) {
      const avail = this.names();
      const few = avail.slice(0, 5).map((n) => `'${n}'`).join(', ');
      throw new TorchCheckpointError(this.source, `no such tensor (available: ${avail.length ? few + (avail.length > 5 ? `, ... (${avail.length} in all)` : '') : 'none'})`, name as string);
    }
    const entryName = `${this.archivePrefix}data/${ref.storage.key}`;
    if (!this.zip.has(entryName)) throw new TorchCheckpointError(this.source, `storage entry '${entryName}' is missing from the archive`, label);
    const size = DTYPE_SIZE[ref.dtype];
    const entry = this.zip.entry(entryName);
    // Before the entry's size is trusted for anything: a corrupt size field may claim petabytes,
    // and only a stored entry whose two sizes agree is known to lie inside the file.
    checkReadable(entry, this.source);
    if (entry.size !== ref.storage.numel * size) {
      throw new TorchCheckpointError(this.source, `storage '${entryName}' has ${entry.size} bytes but the checkpoint declares ${ref.storage.numel} ${ref.dtype} elements (${ref.storage.numel * size} bytes)`, label);
    }
    const n = ref.numel;
    if (n * size > entry.size && n * size > MAX_EXPANDED_BYTES) {
      throw new TorchCheckpointError(this.source, `view of shape ${shapeStr(ref.shape)} with stride ${shapeStr(ref.stride)} repeats storage elements: it would expand the ${entry.size}-byte storage to ${n * size} bytes, over the limit of ${MAX_EXPANDED_BYTES} bytes for such views`, label);
    }
    const out = allocate(ref.dtype, n, this.source, label);
    const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    if (n === 0) return new Tensor(ref.dtype, ref.shape, out);
    const spanStart = ref.storageOffset * size;
    const spanBytes = (ref.storageEnd - ref.storageOffset) * size;
    if (ref.contiguous) {
      await this.zip.readRangeInto(entryName, spanStart, outBytes); // straight into the result: no second copy
    } else {
      gatherStrided(await this.zip.readRange(entryName, spanStart, spanBytes), outBytes, ref.shape, ref.stride, size);
    }
    return new Tensor(ref.dtype, ref.shape, out);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.zip.close();
  }

  private defaults(): Map<string, TorchTensorRef> {
    this.defaultTensors ??= this.tensors();
    return this.defaultTensors;
  }

  private at(path?: string | readonly string[]): PickleValue {
    if (path === undefined) {
      const o = this.object;
      return isPickleDict(o) && isPickleDict(o['state_dict']) ? o['state_dict'] : o;
    }
    const keys = typeof path === 'string' ? [path] : path;
    let v: PickleValue = this.object;
    for (let i = 0; i < keys.length; i++) {
      if (!isPickleDict(v) || !Object.prototype.hasOwnProperty.call(v, keys[i])) {
        const where = keys.slice(0, i).join('/') || '<root>';
        const avail = isPickleDict(v) ? Object.keys(v).slice(0, 8).join(', ') : describe(v);
        throw new TorchCheckpointError(this.source, `no key '${keys[i]}' under ${where} (has: ${avail})`);
      }
      v = (v as PickleDict)[keys[i]];
    }
    return v;
  }
}

/**
 * torch.save before 1.6 (or with _use_new_zipfile_serialization=False) wrote a
 * bare pickle stream that starts with a pickled magic number; say so instead of
 * "not a zip".
 */
function checkNotLegacy(first: Uint8Array, source: string): void {
  if (first.length >= 2 && first[0] === 0x80 && first[1] <= 5) {
    throw new TorchCheckpointError(source, 'this is a legacy (non-zip) torch.save file (torch < 1.6 or _use_new_zipfile_serialization=False), which is not supported: re-save it with a current torch.save');
  }
}

function checkPickleSize(zip: ZipArchive, prefix: string): string {
  const name = prefix + 'data.pkl';
  const e = zip.entry(name);
  if (e.size > MAX_PICKLE_BYTES) throw new ZipError(zip.source, `pickle of ${e.size} bytes exceeds the limit of ${MAX_PICKLE_BYTES}`, name);
  return name;
}

function checkByteOrder(zip: ZipArchive, prefix: string, bytes: Uint8Array | undefined): void {
  if (!new Uint8Array(new Uint16Array([1]).buffer)[0]) throw new Error('torch checkpoints: big-endian hosts are not supported');
  if (bytes === undefined) return; // torch < 2.0 wrote no byteorder entry: always little-endian
  const order = new TextDecoder().decode(bytes).trim();
  if (order !== 'little') {
    throw new TorchCheckpointError(zip.source, `byteorder entry '${prefix}byteorder' says '${order}'; only 'little' is supported`);
  }
}

function unpickleCheckpoint(pkl: Uint8Array, source: string, prefix: string): PickleValue {
  const storages = new Map<string, TorchStorageRef>();
  return unpickle(pkl, {
    source: `${source}:${prefix}data.pkl`,
    findClass: makeFindClass(),
    persistentLoad: persistentLoader(storages),
    build: buildDictAttributes,
  });
}

/** A zeroed array for a tensor; an engine that cannot allocate that much says so as a typed error naming the tensor. */
function allocate(dtype: DType, n: number, source: string, label: string): TypedArray {
  try {
    return new (arrayClassFor(dtype))(n) as TypedArray;
  } catch (e) {
    if (e instanceof RangeError) throw new TorchCheckpointError(source, `cannot allocate ${n * DTYPE_SIZE[dtype]} bytes for this tensor (${e.message})`, label);
    throw e;
  }
}

/** Copies a strided view (raw = storage bytes from the view's offset on) into a contiguous row-major buffer. */
function gatherStrided(raw: Uint8Array, out: Uint8Array, shape: readonly number[], stride: readonly number[], size: number): void {
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const total = numel(shape);
  let src = 0;
  for (let i = 0; i < total; i++) {
    out.set(raw.subarray(src * size, src * size + size), i * size);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
}
