// Minimal read-only zip reader for torch.save archives. Pure (no Node imports):
// the bytes come from a RandomAccess source, which is either an in-memory
// Uint8Array (synchronous) or a Node file handle (asynchronous, see
// torchCheckpoint.ts). Only the central directory is read up front; entry data
// is fetched on demand with positioned reads, so multi-GiB checkpoints are never
// loaded whole. Zip64 (entries or archives past 4 GiB, > 65535 entries) is
// supported. torch writes "stored" (uncompressed) entries only; deflated entries
// are refused with a clear error because inflating needs a dependency we do not
// ship yet.
//
// The parsers are generators that yield the byte ranges they need, so the same
// code runs synchronously over a Uint8Array and asynchronously over a file.

import { XlstmError } from '../errors.js';

/** Error for bad zip / checkpoint input; `source` is the file (or '<memory>'), `entry` the member when one is involved. */
export class ZipError extends XlstmError {
  readonly source: string;
  readonly entry?: string;
  constructor(source: string, message: string, entry?: string) {
    super(`${source}: ${entry !== undefined ? `zip entry '${entry}': ` : ''}${message}`);
    this.name = 'ZipError';
    this.source = source;
    this.entry = entry;
  }
}

/** A byte range request from a parser: [offset, length]. */
export type ReadRequest = readonly [offset: number, length: number];
/** A parser step: yields ranges, receives exactly those bytes, returns T. */
export type Steps<T> = Generator<ReadRequest, T, Uint8Array>;

/** Random access to the archive bytes. */
export interface RandomAccess {
  /** Names the input in error messages. */
  readonly source: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the caller checks the range against `size`). */
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
  /** Optional: fills `dest` from `offset` without an intermediate buffer (large tensor reads). */
  readInto?(offset: number, dest: Uint8Array): void | Promise<void>;
  close(): void | Promise<void>;
}

/** An in-memory archive. Reads return views (no copy). */
export class BytesAccess implements RandomAccess {
  readonly size: number;
  constructor(readonly bytes: Uint8Array, readonly source = '<memory>') { this.size = bytes.length; }
  read(offset: number, length: number): Uint8Array { return this.bytes.subarray(offset, offset + length); }
  readInto(offset: number, dest: Uint8Array): void { dest.set(this.bytes.subarray(offset, offset + dest.length)); }
  close(): void { /* nothing held */ }
}

/** Drives a parser synchronously over in-memory bytes. */
export function runSync<T>(steps: Steps<T>, src: BytesAccess): T {
  let r = steps.next();
  while (!r.done) r = steps.next(src.read(r.value[0], r.value[1]));
  return r.value;
}

/** Drives a parser over any source. */
export async function runAsync<T>(steps: Steps<T>, src: RandomAccess): Promise<T> {
  let r = steps.next();
  while (!r.done) r = steps.next(await src.read(r.value[0], r.value[1]));
  return r.value;
}

export const ZIP_STORED = 0;
export const ZIP_DEFLATE = 8;

/** One member of the archive, from its central directory record. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Offset of the local file header. */
  readonly localHeaderOffset: number;
  readonly encrypted: boolean;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Central directories beyond this are treated as corrupt (a torch archive has ~100 bytes per tensor). */
const MAX_CENTRAL_BYTES = 512 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function view(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

/** A u64 as a number, refusing values past 2^53 (no real archive gets there; a corrupt one might). */
function u64(dv: DataView, off: number, source: string, what: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(source, `corrupt zip: ${what} ${v} is too large`);
  return Number(v);
}

/** The parsed central directory. */
export interface ZipIndex {
  readonly entries: ReadonlyMap<string, ZipEntry>;
}

/** Finds the end-of-central-directory record (and its zip64 form) and parses every central directory record. */
export function* readZipIndex(size: number, source: string): Steps<ZipIndex> {
  if (size < EOCD_SIZE) throw new ZipError(source, `not a zip archive: ${size} bytes is too short (need at least ${EOCD_SIZE})`);
  const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE);
  const tailStart = size - tailLen;
  const tail = yield [tailStart, tailLen];
  const tv = view(tail);
  let eocd = -1;
  // Backwards, so a comment that happens to contain the signature cannot fool us
  // unless it is also consistent with the comment length.
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) === tailLen) { eocd = i; break; }
  }
  if (eocd < 0) {
    throw new ZipError(source, 'not a zip archive or truncated: no end-of-central-directory record found');
  }
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const diskNo = tv.getUint16(eocd + 4, true);
  const needs64 = count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  const loc = eocd - ZIP64_LOCATOR_SIZE;
  if (loc >= 0 && tv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const recOffset = u64(tv, loc + 8, source, 'zip64 end-of-central-directory offset');
    if (recOffset + ZIP64_EOCD_MIN > tailStart + loc) {
      throw new ZipError(source, `corrupt zip: zip64 end-of-central-directory record at ${recOffset} lies outside the archive`);
    }
    const rec = yield [recOffset, ZIP64_EOCD_MIN];
    const rv = view(rec);
    if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD) {
      throw new ZipError(source, `corrupt zip: no zip64 end-of-central-directory record at byte ${recOffset}`);
    }
    count = u64(rv, 32, source, 'entry count');
    cdSize = u64(rv, 40, source, 'central directory size');
    cdOffset = u64(rv, 48, source, 'central directory offset');
  } else if (needs64) {
    throw new ZipError(source, 'corrupt zip: the end record needs zip64 values but the zip64 locator is missing');
  } else if (diskNo !== 0) {
    throw new ZipError(source, `multi-disk (split) zip archives are not supported (disk ${diskNo})`);
  }
  if (cdSize > MAX_CENTRAL_BYTES) throw new ZipError(source, `corrupt zip: central directory of ${cdSize} bytes exceeds the limit of ${MAX_CENTRAL_BYTES}`);
  if (cdOffset + cdSize > size) {
    throw new ZipError(source, `truncated or corrupt zip: central directory [${cdOffset}, ${cdOffset + cdSize}) lies past the end of the ${size}-byte file`);
  }
  if (count * CENTRAL_SIZE > cdSize) {
    throw new ZipError(source, `corrupt zip: ${count} entries cannot fit in a ${cdSize}-byte central directory`);
  }
  const cd = yield [cdOffset, cdSize];
  const cv = view(cd);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > cdSize || cv.getUint32(p, true) !== SIG_CENTRAL) {
      throw new ZipError(source, `corrupt zip: central directory record ${i} of ${count} at byte ${cdOffset + p} is missing or truncated`);
    }
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let csize = cv.getUint32(p + 20, true);
    let usize = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let local = cv.getUint32(p + 42, true);
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cdSize) throw new ZipError(source, `corrupt zip: central directory record ${i} runs past the directory's end`);
    const nameBytes = cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen);
    // Bit 11 marks UTF-8 names; many writers emit UTF-8 without it, so valid UTF-8
    // is taken as such and anything else falls back to latin1 (never fails).
    const asUtf8 = utf8Safe(nameBytes);
    if ((flags & 0x800) && asUtf8 === undefined) {
      throw new ZipError(source, `corrupt zip: central directory record ${i} has a name that is not valid UTF-8`);
    }
    const name = asUtf8 ?? latin1.decode(nameBytes);
    // Zip64 extra field: the 64-bit values follow in this order, each present only
    // when the 32-bit field is saturated.
    let e = p + CENTRAL_SIZE + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const len = cv.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) throw new ZipError(source, 'corrupt zip: extra field runs past its record', name);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (what: string): number => {
          if (q + 8 > e + 4 + len) throw new ZipError(source, `corrupt zip: zip64 extra field lacks the ${what}`, name);
          const v = u64(cv, q, source, what);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take('uncompressed size');
        if (csize === 0xffffffff) csize = take('compressed size');
        if (local === 0xffffffff) local = take('local header offset');
      }
      e += 4 + len;
    }
    if (entries.has(name)) throw new ZipError(source, 'corrupt or ambiguous zip: the name occurs twice', name);
    if (local + LOCAL_SIZE + csize > size) {
      throw new ZipError(source, `truncated zip: data (${csize} bytes at local header ${local}) lies past the end of the ${size}-byte file`, name);
    }
    entries.set(name, {
      name, method, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: local, encrypted: (flags & 1) !== 0,
    });
    p = end;
  }
  return { entries };
}

/** Reads the local header of `entry` and returns where its data starts (the local extra field may differ from the central one: torch pads it for alignment). */
export function* entryDataOffset(entry: ZipEntry, size: number, source: string): Steps<number> {
  checkReadable(entry, source);
  const at = entry.localHeaderOffset;
  if (at + LOCAL_SIZE > size) throw new ZipError(source, `truncated zip: local header at byte ${at} lies past the end`, entry.name);
  const h = yield [at, LOCAL_SIZE];
  const hv = view(h);
  if (hv.getUint32(0, true) !== SIG_LOCAL) throw new ZipError(source, `corrupt zip: no local file header at byte ${at}`, entry.name);
  const nameLen = hv.getUint16(26, true);
  const extraLen = hv.getUint16(28, true);
  const dataStart = at + LOCAL_SIZE + nameLen + extraLen;
  if (dataStart + entry.compressedSize > size) {
    throw new ZipError(source, `truncated zip: data [${dataStart}, ${dataStart + entry.compressedSize}) lies past the end of the ${size}-byte file`, entry.name);
  }
  if (nameLen > 0) {
    const n = yield [at + LOCAL_SIZE, nameLen];
    if (latin1.decode(n) !== entry.name && utf8Safe(n) !== entry.name) {
      throw new ZipError(source, 'corrupt zip: the local header names a different file than the central directory', entry.name);
    }
  }
  return dataStart;
}

function utf8Safe(b: Uint8Array): string | undefined {
  try { return utf8.decode(b); } catch { return undefined; }
}

/** Only stored, unencrypted entries can be read; anything else fails with the reason. */
export function checkReadable(entry: ZipEntry, source: string): void {
  if (entry.encrypted) throw new ZipError(source, 'encrypted zip entries are not supported', entry.name);
  if (entry.method === ZIP_DEFLATE) {
    throw new ZipError(source, 'the entry is deflate-compressed (method 8); torch.save writes stored entries, and reading compressed ones needs an inflate implementation (the fflate package) that xlstm-ts does not include yet. Re-save the checkpoint uncompressed', entry.name);
  }
  if (entry.method !== ZIP_STORED) throw new ZipError(source, `unsupported compression method ${entry.method} (only 0 = stored is supported)`, entry.name);
  if (entry.compressedSize !== entry.size) {
    throw new ZipError(source, `corrupt zip: stored entry has compressed size ${entry.compressedSize} but uncompressed size ${entry.size}`, entry.name);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (zip / IEEE polynomial); pass the previous value to continue over several chunks. */
export function crc32(data: Uint8Array, prev = 0): number {
  let c = ~prev >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * An open archive: the central directory plus lazy access to entry data.
 * Data offsets are resolved (one small local-header read) on first use and cached.
 */
export class ZipArchive {
  readonly source: string;
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly src: RandomAccess;
  private readonly dataOffsets = new Map<string, number>();

  private constructor(src: RandomAccess, index: ZipIndex) {
    this.src = src;
    this.source = src.source;
    this.entries = index.entries;
  }

  /** Parses an in-memory archive synchronously. */
  static fromBytes(bytes: Uint8Array, source = '<memory>'): ZipArchive {
    const src = new BytesAccess(bytes, source);
    return new ZipArchive(src, runSync(readZipIndex(src.size, source), src));
  }

  /** Parses the central directory of any source (e.g. a file handle wrapper). */
  static async open(src: RandomAccess): Promise<ZipArchive> {
    return new ZipArchive(src, await runAsync(readZipIndex(src.size, src.source), src));
  }

  names(): string[] { return [...this.entries.keys()]; }
  has(name: string): boolean { return this.entries.has(name); }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new ZipError(this.source, 'no such entry in the archive', name);
    return e;
  }

  /** Whole entry, CRC-checked. Synchronous for in-memory archives. */
  readSync(name: string): Uint8Array {
    if (!(this.src instanceof BytesAccess)) throw new Error(`${this.source}: readSync needs an in-memory archive`);
    return runSync(this.readSteps(name, 0, undefined, true), this.src);
  }

  /**
   * Bytes [start, start + length) of an entry (whole entry by default; the CRC is
   * checked when the whole entry is read).
   */
  async read(name: string, start = 0, length?: number): Promise<Uint8Array> {
    return runAsync(this.readSteps(name, start, length, start === 0 && length === undefined), this.src);
  }

  /** Same as read() but without the CRC check (for large tensor data that is read in pieces). */
  async readRange(name: string, start: number, length: number): Promise<Uint8Array> {
    return runAsync(this.readSteps(name, start, length, false), this.src);
  }

  /** Fills `dest` with entry bytes [start, start + dest.length) (no CRC check), reading straight into it where the source can. */
  async readRangeInto(name: string, start: number, dest: Uint8Array): Promise<void> {
    const off = await runAsync(this.rangeSteps(name, start, dest.length), this.src);
    if (dest.length === 0) return;
    if (this.src.readInto) await this.src.readInto(off, dest);
    else dest.set(await this.src.read(off, dest.length));
  }

  async close(): Promise<void> { await this.src.close(); }

  /** Validates the range and returns its absolute file offset. */
  private *rangeSteps(name: string, start: number, length: number): Steps<number> {
    const e = this.entry(name);
    let off = this.dataOffsets.get(name);
    if (off === undefined) {
      off = yield* entryDataOffset(e, this.src.size, this.source);
      this.dataOffsets.set(name, off);
    }
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > e.size) {
      throw new ZipError(this.source, `read range [${start}, ${start + length}) is outside the entry's ${e.size} bytes`, name);
    }
    return off + start;
  }

  private *readSteps(name: string, start: number, length: number | undefined, checkCrc: boolean): Steps<Uint8Array> {
    const e = this.entry(name);
    const len = length ?? e.size - start;
    const at = yield* this.rangeSteps(name, start, len);
    const data = len === 0 ? new Uint8Array(0) : yield [at, len];
    if (checkCrc) {
      const c = crc32(data);
      if (c !== e.crc32) {
        throw new ZipError(this.source, `corrupt zip: CRC-32 mismatch (stored 0x${e.crc32.toString(16)}, computed 0x${c.toString(16)})`, name);
      }
    }
    return data;
  }
}
