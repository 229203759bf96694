// safetensors in memory: parse a Uint8Array/ArrayBuffer (e.g. a fetch() result)
// and serialize tensors to bytes. No Node imports, so this is the browser entry;
// the Node file reader/writers live in safetensorsFile.ts / safetensorsWrite.ts.
import { TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import {
  ParsedHeader, SafetensorsError, TensorInfo, assertLittleEndianHost, buildHeader, parseHeaderJson, parseHeaderLength,
} from './safetensorsHeader.js';
import {
  ReadOptions, WriteOptions, allocateStored, bytesOf, checkReadOptions, finishTensor, planReadInto, storedDType, storedForm, widenToF32,
} from './safetensorsTensor.js';

export { SafetensorsError, MAX_HEADER_BYTES, safetensorsDTypeName } from './safetensorsHeader.js';
export type { TensorInfo } from './safetensorsHeader.js';
export { castForStorage } from './safetensorsTensor.js';
export type { ReadOptions, WriteOptions } from './safetensorsTensor.js';

/** Index file name of Hugging Face sharded checkpoints ({"metadata", "weight_map": {name: shardFile}}). */
export const SHARD_INDEX_FILE = 'model.safetensors.index.json';

/** Public description of one tensor (what `info()` returns). */
export interface SafetensorsTensorInfo {
  dtype: TensorInfo['dtype'];
  shape: number[];
  byteLength: number;
}

/** What every safetensors reader offers (in memory, file, sharded). `await` info/read on any of them. */
export interface SafetensorsSource {
  readonly metadata: Readonly<Record<string, unknown>>;
  names(): string[];
  has(name: string): boolean;
  info(name: string): SafetensorsTensorInfo | Promise<SafetensorsTensorInfo>;
  read(name: string, opts?: ReadOptions): Tensor | Promise<Tensor>;
  readInto(name: string, dest: TypedArray, opts?: ReadOptions): void | Promise<void>;
  /**
   * Stored bytes [byteOffset, byteOffset + dest.length) of tensor `name` into `dest` (a
   * part of a tensor: loaders stream big tensors through small buffers with it). Optional:
   * a loader falls back to `read` where a source lacks it.
   */
  readRangeInto?(name: string, byteOffset: number, dest: Uint8Array): void | Promise<void>;
  close(): void | Promise<void>;
}

/** The error for a byte range outside a tensor (readRangeInto). */
export function checkByteRange(source: string, name: string, byteLength: number, byteOffset: number, length: number): void {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset + length > byteLength) {
    throw new SafetensorsError(source, `byte range [${byteOffset}, ${byteOffset + length}) is outside the tensor's ${byteLength} bytes`, name);
  }
}

/** The error for an unknown name, listing a few that exist (the usual cause is a prefix mismatch). */
export function missingTensorError(source: string, name: string, available: readonly string[]): SafetensorsError {
  const few = available.slice(0, 5).map((n) => `'${n}'`).join(', ');
  const more = available.length > 5 ? `, ... (${available.length} in all)` : '';
  return new SafetensorsError(source, `no such tensor (available: ${available.length ? few + more : 'none'})`, name);
}

export function publicInfo(info: TensorInfo): SafetensorsTensorInfo {
  return { dtype: info.dtype, shape: [...info.shape], byteLength: info.byteLength };
}

/** A parsed in-memory safetensors buffer. Reads copy, so results do not pin the input. */
export class SafetensorsBuffer implements SafetensorsSource {
  readonly metadata: Readonly<Record<string, string>>;
  private readonly header: ParsedHeader;
  private readonly bytes: Uint8Array;
  private readonly source: string;

  private constructor(bytes: Uint8Array, header: ParsedHeader, source: string) {
    this.bytes = bytes;
    this.header = header;
    this.metadata = header.metadata;
    this.source = source;
  }

  /** Parses and validates the header; `source` names the input in error messages. */
  static parse(input: Uint8Array | ArrayBuffer, opts: { source?: string } = {}): SafetensorsBuffer {
    assertLittleEndianHost();
    const source = opts.source ?? '<memory>';
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    const n = parseHeaderLength(bytes.subarray(0, 8), bytes.length, source);
    const header = parseHeaderJson(bytes.subarray(8, 8 + n), n, bytes.length - 8 - n, source);
    return new SafetensorsBuffer(bytes, header, source);
  }

  /** Tensor names in data order. */
  names(): string[] { return [...this.header.tensors.keys()]; }
  has(name: string): boolean { return this.header.tensors.has(name); }
  info(name: string): SafetensorsTensorInfo { return publicInfo(this.entry(name)); }

  read(name: string, opts: ReadOptions = {}): Tensor {
    const info = this.entry(name);
    checkReadOptions(info, opts, this.source, name);
    const stored = allocateStored(info, this.source, name);
    bytesOf(stored).set(this.raw(info));
    return finishTensor(info, stored, opts);
  }

  readInto(name: string, dest: TypedArray, opts: ReadOptions = {}): void {
    const info = this.entry(name);
    if (planReadInto(info, dest, opts, this.source, name) === 'raw') bytesOf(dest).set(this.raw(info));
    else widenToF32(info.dtype, this.raw(info), dest as Float32Array);
  }

  readRangeInto(name: string, byteOffset: number, dest: Uint8Array): void {
    const info = this.entry(name);
    checkByteRange(this.source, name, info.byteLength, byteOffset, dest.length);
    dest.set(this.raw(info).subarray(byteOffset, byteOffset + dest.length));
  }

  close(): void { /* nothing held */ }

  private raw(info: TensorInfo): Uint8Array {
    const start = this.header.dataStart + info.dataOffsets[0];
    return this.bytes.subarray(start, start + info.byteLength);
  }

  private entry(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw missingTensorError(this.source, name, this.names());
    return info;
  }
}

/** Shorthand for SafetensorsBuffer.parse. */
export function parseSafetensors(input: Uint8Array | ArrayBuffer, opts: { source?: string } = {}): SafetensorsBuffer {
  return SafetensorsBuffer.parse(input, opts);
}

/** Tensors by name, as a record or a Map. */
export type TensorDict = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

export function tensorEntries(tensors: TensorDict): [string, Tensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, Tensor>);
}

/** Serializes tensors into one safetensors byte array (deterministic: see buildHeader). */
export function serializeSafetensors(tensors: TensorDict, metadata: Readonly<Record<string, string>> = {}, opts: WriteOptions = {}): Uint8Array {
  assertLittleEndianHost();
  const entries = tensorEntries(tensors);
  const byName = new Map(entries);
  const built = buildHeader(entries.map(([name, t]) => ({ name, dtype: storedDType(name, t, opts), shape: t.shape })), metadata);
  const out = new Uint8Array(built.totalSize);
  out.set(built.bytes);
  for (const e of built.layout) {
    const stored = storedForm(e.name, byName.get(e.name)!, opts);
    out.set(bytesOf(stored.data), built.bytes.length + e.begin);
  }
  return out;
}
