// Lazy safetensors reader for Node: open() reads and validates only the header;
// each tensor is fetched with positioned reads when asked for. The file is never
// loaded whole, so multi-GiB checkpoints (and files past 2 GiB) work, and
// readInto() can land weights straight in a wasm heap without a JS copy.
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { DTYPE_SIZE, TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { ParsedHeader, SafetensorsError, TensorInfo, assertLittleEndianHost, parseHeaderJson, parseHeaderLength } from './safetensorsHeader.js';
import {
  ReadOptions, allocateStored, bytesOf, checkReadOptions, finishTensor, planReadInto, widenToF32,
} from './safetensorsTensor.js';
import { SafetensorsSource, SafetensorsTensorInfo, checkByteRange, missingTensorError, publicInfo } from './safetensors.js';
import { readChunked, readFully } from './fileIo.js';

/** Conversion reads go through a bounded scratch buffer of this size (a multiple of 8). */
const CONVERT_CHUNK_BYTES = 16 * 1024 * 1024;

export class SafetensorsFile implements SafetensorsSource {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** File size at open; every tensor was checked to lie inside it. */
  readonly fileSize: number;
  private readonly header: ParsedHeader;
  private fh: FileHandle | undefined;

  private constructor(path: string, fh: FileHandle, header: ParsedHeader, fileSize: number) {
    this.path = path;
    this.fh = fh;
    this.header = header;
    this.metadata = header.metadata;
    this.fileSize = fileSize;
  }

  /** Opens the file and validates its header against the file size (nothing else is read). */
  static async open(path: string): Promise<SafetensorsFile> {
    assertLittleEndianHost();
    let fh: FileHandle;
    try {
      fh = await openFile(path, 'r');
    } catch (e) {
      // The errno code stays reachable as `cause.code` (the sharded reader tells a missing shard by it).
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new SafetensorsError(path, `cannot open the file: ${why}`, undefined, { cause: e });
    }
    try {
      const st = await fh.stat();
      // Opening a folder succeeds on POSIX; reading it would fail later with a bare EISDIR.
      if (!st.isFile()) throw new SafetensorsError(path, st.isDirectory() ? 'is a folder, not a safetensors file' : 'is not a regular file');
      const size = st.size;
      const first8 = new Uint8Array(8);
      if (size >= 8) await readFully(fh, first8, 0, path);
      const n = parseHeaderLength(first8, size, path);
      const json = new Uint8Array(n);
      await readFully(fh, json, 8, path);
      const header = parseHeaderJson(json, n, size - 8 - n, path);
      return new SafetensorsFile(path, fh, header, size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Tensor names in file order. */
  names(): string[] { return [...this.header.tensors.keys()]; }
  has(name: string): boolean { return this.header.tensors.has(name); }
  info(name: string): SafetensorsTensorInfo { return publicInfo(this.entry(name)); }

  /** Reads one tensor (stored dtype, or f32 with {dtype: 'f32'}). */
  async read(name: string, opts: ReadOptions = {}): Promise<Tensor> {
    const info = this.entry(name);
    checkReadOptions(info, opts, this.path, name);
    const stored = allocateStored(info, this.path, name);
    await readFully(this.handle(), bytesOf(stored), this.position(info), this.what(name));
    return finishTensor(info, stored, opts);
  }

  /**
   * Reads one tensor into `dest` (e.g. a view on the wasm heap): raw bytes into a
   * Uint8Array or the stored dtype's array, or widened into a Float32Array with
   * {dtype: 'f32'} through a bounded scratch buffer.
   */
  async readInto(name: string, dest: TypedArray, opts: ReadOptions = {}): Promise<void> {
    const info = this.entry(name);
    const plan = planReadInto(info, dest, opts, this.path, name);
    if (plan === 'raw') {
      await readFully(this.handle(), bytesOf(dest), this.position(info), this.what(name));
      return;
    }
    const size = DTYPE_SIZE[info.dtype];
    const f32 = dest as Float32Array;
    await readChunked(this.handle(), this.position(info), info.byteLength, CONVERT_CHUNK_BYTES, this.what(name), (chunk, off) => {
      const first = off / size;
      widenToF32(info.dtype, chunk, f32.subarray(first, first + chunk.length / size));
    });
  }

  /** Stored bytes [byteOffset, byteOffset + dest.length) of one tensor, with one positioned read. */
  async readRangeInto(name: string, byteOffset: number, dest: Uint8Array): Promise<void> {
    const info = this.entry(name);
    checkByteRange(this.path, name, info.byteLength, byteOffset, dest.length);
    await readFully(this.handle(), dest, this.position(info) + byteOffset, this.what(name));
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  private position(info: TensorInfo): number { return this.header.dataStart + info.dataOffsets[0]; }
  private what(name: string): string { return `${this.path}: tensor '${name}'`; }

  private handle(): FileHandle {
    if (!this.fh) throw new SafetensorsError(this.path, 'file is closed');
    return this.fh;
  }

  private entry(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw missingTensorError(this.path, name, this.names());
    return info;
  }
}
