// The safetensors container format itself: the dtype names, the header that
// describes every tensor, and its validation. Pure (no Node imports) so the
// in-memory reader, the Node file reader and the writers share one definition.
//
// Layout: [u64 LE header length N][N bytes of UTF-8 JSON][data]. The JSON maps
// each tensor name to {dtype, shape, data_offsets: [begin, end]} with offsets
// relative to the start of the data, plus an optional "__metadata__" {str: str}.
import { DType, DTYPE_SIZE, numel, shapeStr } from '../tensor/dtype.js';
import { ArgumentError, XlstmError } from '../errors.js';

/** Headers beyond this are treated as corrupt: real headers are kilobytes, and a
 * garbage length must not make us allocate gigabytes before failing. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** safetensors dtype name -> our DType (only the ones we can hold in a Tensor). */
const FROM_FILE: Readonly<Record<string, DType>> = Object.freeze({
  F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', I8: 'i8', U8: 'u8', BOOL: 'bool',
});
const TO_FILE: Readonly<Record<DType, string>> = Object.freeze({
  f64: 'F64', f32: 'F32', f16: 'F16', bf16: 'BF16', i64: 'I64', i32: 'I32', i8: 'I8', u8: 'U8', bool: 'BOOL',
});

/** The safetensors name of one of our dtypes (e.g. 'bf16' -> 'BF16'). */
export function safetensorsDTypeName(dtype: DType): string {
  return TO_FILE[dtype];
}

/** Error for bad safetensors input; `source` is the file (or '<memory>'), `tensor` the name when one is involved. */
export class SafetensorsError extends XlstmError {
  readonly source: string;
  readonly tensor?: string;
  constructor(source: string, message: string, tensor?: string, options?: { cause?: unknown }) {
    super(`${source}: ${tensor !== undefined ? `tensor '${tensor}': ` : ''}${message}`, options);
    this.name = 'SafetensorsError';
    this.source = source;
    this.tensor = tensor;
  }
}

/** What the header says about one tensor. */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** numel(shape) * element size. */
  readonly byteLength: number;
  /** Offsets relative to the start of the data section (absolute = dataStart + offset). */
  readonly dataOffsets: readonly [number, number];
}

export interface ParsedHeader {
  /** Tensors in data order (by begin offset), which is also the order names() reports. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute byte offset where the data section starts (8 + N). */
  readonly dataStart: number;
}

// Typed arrays are host-endian and the format is little-endian; every engine we
// target is little-endian, but refuse loudly rather than silently swap bytes.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export function assertLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported (the format is little-endian)');
}

/**
 * Reads the 8-byte header length and checks it against the total size, so a
 * corrupt length is reported before anything is allocated for the JSON.
 */
export function parseHeaderLength(first8: Uint8Array, totalSize: number, source: string): number {
  if (totalSize < 8 || first8.length < 8) {
    throw new SafetensorsError(source, `file is too short for a safetensors header: ${totalSize} bytes, need at least 8`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(source, `corrupt header: header length ${n} bytes exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const len = Number(n);
  if (8 + len > totalSize) {
    throw new SafetensorsError(source, `corrupt or truncated header: header length ${len} bytes needs ${8 + len} bytes but the file has ${totalSize}`);
  }
  if (len < 2) throw new SafetensorsError(source, `corrupt header: header length ${len} is too small for a JSON object`);
  return len;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates the JSON header. `dataSize` is the number of bytes after
 * the header (file size - 8 - N); every tensor must lie inside it, must span
 * exactly numel*elementSize bytes, and no two tensors may overlap.
 */
export function parseHeaderJson(json: Uint8Array, headerLength: number, dataSize: number, source: string): ParsedHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(source, `corrupt header: not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(raw)) {
    throw new SafetensorsError(source, `corrupt header: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`);
  }
  const metadata: Record<string, string> = {};
  const entries: [string, TensorInfo][] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value)) throw new SafetensorsError(source, `corrupt header: __metadata__ must be an object of strings, got ${JSON.stringify(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new SafetensorsError(source, `corrupt header: __metadata__ value for '${k}' must be a string, got ${JSON.stringify(v)}`);
        // defineProperty, not assignment: a key '__proto__' is data and must not be dropped (or set the prototype).
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    entries.push([name, parseEntry(name, value, dataSize, source)]);
  }
  // Sort by (begin, end) so overlaps are adjacent; zero-length tensors may share an offset.
  // Gaps between tensors and bytes after the last one are tolerated (the Rust reference
  // rejects them): they are never read, so refusing them would buy no safety.
  entries.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  for (let i = 1; i < entries.length; i++) {
    const [prevName, prev] = entries[i - 1];
    const [name, cur] = entries[i];
    if (cur.dataOffsets[0] < prev.dataOffsets[1]) {
      throw new SafetensorsError(source,
        `data_offsets [${cur.dataOffsets.join(', ')}] overlap tensor '${prevName}' at [${prev.dataOffsets.join(', ')}] (expected begin >= ${prev.dataOffsets[1]})`, name);
    }
  }
  return { tensors: new Map(entries), metadata, dataStart: 8 + headerLength };
}

function parseEntry(name: string, value: unknown, dataSize: number, source: string): TensorInfo {
  if (!isPlainObject(value)) throw new SafetensorsError(source, `header entry must be an object {dtype, shape, data_offsets}, got ${JSON.stringify(value)}`, name);
  const fileDtype = value.dtype;
  if (typeof fileDtype !== 'string' || !Object.prototype.hasOwnProperty.call(FROM_FILE, fileDtype)) {
    throw new SafetensorsError(source, `unknown dtype ${JSON.stringify(fileDtype)} (supported: ${Object.keys(FROM_FILE).join(', ')})`, name);
  }
  const dtype = FROM_FILE[fileDtype];
  const shape = value.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(source, `shape must be an array of integers >= 0, got ${JSON.stringify(shape)}`, name);
  }
  const offs = value.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(source, `data_offsets must be [begin, end] with integers >= 0, got ${JSON.stringify(offs)}`, name);
  }
  const [begin, end] = offs as [number, number];
  if (end < begin) throw new SafetensorsError(source, `data_offsets [${begin}, ${end}] are out of order (end < begin)`, name);
  const byteLength = numel(shape) * DTYPE_SIZE[dtype];
  if (!Number.isSafeInteger(byteLength)) throw new SafetensorsError(source, `shape ${shapeStr(shape)} is too large`, name);
  if (end - begin !== byteLength) {
    throw new SafetensorsError(source,
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${shapeStr(shape)} x ${fileDtype} needs ${byteLength} bytes`, name);
  }
  if (end > dataSize) {
    throw new SafetensorsError(source,
      `file is truncated: data ends at byte ${end} of the data section but only ${dataSize} data bytes are present`, name);
  }
  return { dtype, shape: Object.freeze([...shape]), byteLength, dataOffsets: [begin, end] };
}

/** What the writer needs to know about a tensor before any data is written. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface BuiltHeader {
  /** Length prefix + JSON + space padding: write this first. */
  readonly bytes: Uint8Array;
  /** Entries in the order their data must follow the header, with their offsets. */
  readonly layout: readonly (HeaderEntry & { readonly begin: number; readonly byteLength: number })[];
  /** Total file size. */
  readonly totalSize: number;
}

/**
 * Builds the header for the given tensors. The data order is by element size
 * (largest first) then name: deterministic regardless of how the caller ordered
 * them, and every tensor starts at a multiple of its element size (the data
 * section starts 8-byte aligned), so readers can view it without copying.
 */
export function buildHeader(entries: readonly HeaderEntry[], metadata: Readonly<Record<string, string>> = {}): BuiltHeader {
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === '__metadata__') throw new ArgumentError(`safetensors writer: '__metadata__' is reserved and cannot be a tensor name`);
    if (seen.has(e.name)) throw new ArgumentError(`safetensors writer: duplicate tensor name '${e.name}'`);
    seen.add(e.name);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new ArgumentError(`safetensors writer: metadata value for '${k}' must be a string, got ${typeof v}`);
  }
  const order = [...entries].sort((a, b) =>
    DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Null prototype: a tensor named '__proto__' must become a key, not be swallowed by the prototype setter.
  const header: Record<string, unknown> = Object.create(null);
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length) header.__metadata__ = Object.fromEntries(metaKeys.map((k) => [k, metadata[k]]));
  let offset = 0;
  const layout = order.map((e) => {
    const byteLength = numel(e.shape) * DTYPE_SIZE[e.dtype];
    const begin = offset;
    offset += byteLength;
    header[e.name] = { dtype: TO_FILE[e.dtype], shape: [...e.shape], data_offsets: [begin, offset] };
    return { ...e, begin, byteLength };
  });
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned.
  const n = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const bytes = new Uint8Array(8 + n).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
  bytes.set(json, 8);
  return { bytes, layout, totalSize: 8 + n + offset };
}
