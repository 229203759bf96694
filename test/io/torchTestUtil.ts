// Test helpers for the torch checkpoint reader: a tiny stored-zip writer (with
// forced zip64 and torch-style aligned local extras) and a pickle byte builder
// for hand-made (also malicious) pickles.
import { crc32 } from '../../src/io/zip.js';

export interface ZipInput { name: string; data: Uint8Array; method?: number }
export interface ZipWriteOptions {
  /** Write zip64 extras and end records even though nothing needs them. */
  zip64?: boolean;
  /** Pad local extra fields so that data starts at a multiple of this (torch uses 64). */
  align?: number;
  comment?: string;
}

/** A stored (uncompressed) zip archive. */
export function writeStoredZip(entries: readonly ZipInput[], opts: ZipWriteOptions = {}): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let off = 0;
  const z64 = !!opts.zip64;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = crc32(e.data);
    let extraLen = 0;
    if (opts.align) {
      const base = off + 30 + name.length + 4;
      extraLen = 4 + ((opts.align - (base % opts.align)) % opts.align);
    }
    const local = new Uint8Array(30 + name.length + extraLen);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, e.method ?? 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.data.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extraLen, true);
    local.set(name, 30);
    if (extraLen) { lv.setUint16(30 + name.length, 0x4b50, true); lv.setUint16(32 + name.length, extraLen - 4, true); }
    const localOff = off;
    parts.push(local, e.data);
    off += local.length + e.data.length;

    const cExtra = z64 ? 4 + 24 : 0;
    const c = new Uint8Array(46 + name.length + cExtra);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint16(10, e.method ?? 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, z64 ? 0xffffffff : e.data.length, true);
    cv.setUint32(24, z64 ? 0xffffffff : e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cExtra, true);
    cv.setUint32(42, z64 ? 0xffffffff : localOff, true);
    c.set(name, 46);
    if (z64) {
      const p = 46 + name.length;
      cv.setUint16(p, 0x0001, true);
      cv.setUint16(p + 2, 24, true);
      cv.setBigUint64(p + 4, BigInt(e.data.length), true);
      cv.setBigUint64(p + 12, BigInt(e.data.length), true);
      cv.setBigUint64(p + 20, BigInt(localOff), true);
    }
    central.push(c);
  }
  const cdOff = off;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  parts.push(...central);
  off += cdSize;
  if (z64) {
    const rec = new Uint8Array(56);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(entries.length), true);
    rv.setBigUint64(32, BigInt(entries.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOff), true);
    const loc = new Uint8Array(20);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, 0x07064b50, true);
    lv.setBigUint64(8, BigInt(off), true);
    lv.setUint32(16, 1, true);
    parts.push(rec, loc);
    off += 76;
  }
  const comment = enc.encode(opts.comment ?? '');
  const eocd = new Uint8Array(22 + comment.length);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, z64 ? 0xffff : entries.length, true);
  ev.setUint16(10, z64 ? 0xffff : entries.length, true);
  ev.setUint32(12, z64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, z64 ? 0xffffffff : cdOff, true);
  ev.setUint16(20, comment.length, true);
  eocd.set(comment, 22);
  parts.push(eocd);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let p = 0;
  for (const x of parts) { out.set(x, p); p += x.length; }
  return out;
}

/** Builds pickle bytes opcode by opcode. */
export class PickleBuilder {
  private readonly bytes: number[] = [];
  op(...b: number[]): this { this.bytes.push(...b); return this; }
  proto(v = 2): this { return this.op(0x80, v); }
  mark(): this { return this.op(0x28); }
  stop(): this { return this.op(0x2e); }
  global(module: string, name: string): this { return this.op(0x63, ...ascii(`${module}\n${name}\n`)); }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, v);
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8);
    return this.op(0x4a, ...u32(v >>> 0));
  }
  tuple(...items: ((b: this) => void)[]): this {
    this.mark();
    for (const f of items) f(this);
    return this.op(0x74);
  }
  ints(...v: number[]): this { return this.tuple(...v.map((x) => (b: this) => { b.int(x); })); }
  /** Any Python int, as pickle writes it: BININT* in the 31-bit range, LONG1 (two's complement) beyond. */
  long(v: number | bigint): this {
    if (typeof v === 'number' && v >= 0 && v < 2 ** 31) return this.int(v);
    let x = BigInt(v);
    const bytes: number[] = [];
    while (x !== 0n && x !== -1n) { bytes.push(Number(x & 0xffn)); x >>= 8n; }
    if (v >= 0 && bytes.length && bytes[bytes.length - 1] & 0x80) bytes.push(0);
    if (v < 0 && (!bytes.length || !(bytes[bytes.length - 1] & 0x80))) bytes.push(0xff);
    return this.op(0x8a, bytes.length, ...bytes);
  }
  longs(...v: number[]): this { return this.tuple(...v.map((x) => (b: this) => { b.long(x); })); }
  emptyDict(): this { return this.op(0x7d); }
  emptyTuple(): this { return this.op(0x29); }
  reduce(): this { return this.op(0x52); }
  setitem(): this { return this.op(0x73); }
  binpersid(): this { return this.op(0x51); }
  newFalse(): this { return this.op(0x89); }
  none(): this { return this.op(0x4e); }
  build(): Uint8Array { return new Uint8Array(this.bytes); }

  /** Pushes torch._utils._rebuild_tensor_v2((storage pid), offset, shape, stride, False, OrderedDict()). */
  tensor(storageType: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.mark();
    this.tuple((b) => b.str('storage'), (b) => b.global('torch', storageType), (b) => b.str(key), (b) => b.str('cpu'), (b) => b.int(numel));
    this.binpersid();
    this.int(offset).ints(...shape).ints(...stride).newFalse();
    this.global('collections', 'OrderedDict').emptyTuple().reduce();
    this.op(0x74); // TUPLE
    return this.reduce();
  }
}

function ascii(s: string): number[] { return [...s].map((c) => c.charCodeAt(0)); }
function u32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }

/** A torch.save-like archive: `<prefix>/data.pkl`, `<prefix>/data/<key>` storages, `<prefix>/version` (and byteorder if given). */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, opts: { prefix?: string; byteorder?: string; zip64?: boolean } = {}): Uint8Array {
  const prefix = opts.prefix ?? 'archive';
  const entries: ZipInput[] = [{ name: `${prefix}/data.pkl`, data: pkl }];
  if (opts.byteorder !== undefined) entries.push({ name: `${prefix}/byteorder`, data: new TextEncoder().encode(opts.byteorder) });
  for (const [k, d] of Object.entries(storages)) entries.push({ name: `${prefix}/data/${k}`, data: d });
  entries.push({ name: `${prefix}/version`, data: new TextEncoder().encode('3\n') });
  return writeStoredZip(entries, { align: 64, zip64: opts.zip64 });
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
}

export function bytesOf(a: ArrayBufferView): Uint8Array { return new Uint8Array(a.buffer, a.byteOffset, a.byteLength); }
