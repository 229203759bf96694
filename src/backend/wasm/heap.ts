// The WebAssembly memory all kernels and threads share, and a first-fit allocator
// over it. Offsets are bytes. The first MiB is reserved: static data of the
// kernels and the thread pool's control block (see pool.ts).
export const RESERVED_BYTES = 1 << 20;
const ALIGN = 64; // a cache line: keeps SIMD loads aligned and threads off each other's lines
const PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

interface Block { ptr: number; size: number }

export class Heap {
  readonly memory: WebAssembly.Memory;
  private free: Block[] = [];
  private top = RESERVED_BYTES;
  private used = new Map<number, number>();
  /** Buffers this memory has had (one per growth): a view on any of them is on-heap. */
  private buffers = new Set<ArrayBufferLike>();

  constructor(initialBytes = 64 << 20) {
    const pages = Math.max(32, Math.ceil(initialBytes / PAGE));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    this.buffers.add(this.memory.buffer);
  }

  /** The memory's current buffer object, remembered so views made on it are recognised by owns(). */
  get buffer(): ArrayBufferLike {
    // V8 may hand out a fresh object after another memory grows; one handed out here and not
    // remembered would make owns() fail for views on it once this memory grows again.
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }
  get bytesInUse(): number { let s = 0; for (const v of this.used.values()) s += v; return s; }
  get bytesReserved(): number { return this.memory.buffer.byteLength; }

  /** Is this typed array a view into our memory? (then kernels can use it in place) */
  owns(a: ArrayBufferView): boolean {
    // V8 may hand out a fresh SharedArrayBuffer object for memory.buffer (e.g. after
    // another memory in the process grew), so remember every object we are given.
    const cur = this.memory.buffer;
    if (!this.buffers.has(cur)) this.buffers.add(cur);
    return this.buffers.has(a.buffer);
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.size >= size) {
        const ptr = b.ptr;
        if (b.size === size) this.free.splice(i, 1);
        else { b.ptr += size; b.size -= size; }
        this.used.set(ptr, size);
        return ptr;
      }
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > this.memory.buffer.byteLength) this.growTo(end);
    this.top = end;
    this.used.set(ptr, size);
    return ptr;
  }

  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) return; // double release is harmless
    this.used.delete(ptr);
    if (ptr + size === this.top) { this.top = ptr; this.trimTop(); return; }
    // Insert sorted and coalesce with neighbours.
    let i = 0;
    while (i < this.free.length && this.free[i].ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    const next = this.free[i + 1];
    if (next && ptr + size === next.ptr) { this.free[i].size += next.size; this.free.splice(i + 1, 1); }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === ptr) { prev.size += this.free[i].size; this.free.splice(i, 1); }
  }

  private trimTop(): void {
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) { this.top = last.ptr; this.free.pop(); }
  }

  private growTo(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > MAX_PAGES * PAGE) {
      throw new RangeError(`wasm heap: cannot hold ${(end / 2 ** 30).toFixed(2)} GiB (WebAssembly memory is limited to 4 GiB; ${(this.bytesInUse / 2 ** 30).toFixed(2)} GiB in use)`);
    }
    // Grow geometrically to keep the number of growths (and new buffers) small.
    const want = Math.min(MAX_PAGES, Math.max(Math.ceil(end / PAGE), Math.ceil((have * 1.5) / PAGE)));
    this.memory.grow(want - have / PAGE);
    this.buffers.add(this.memory.buffer);
  }

  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, n); }
  u16(ptr: number, n: number): Uint16Array { return new Uint16Array(this.memory.buffer, ptr, n); }
  i8(ptr: number, n: number): Int8Array { return new Int8Array(this.memory.buffer, ptr, n); }
  i32(ptr: number, n: number): Int32Array { return new Int32Array(this.memory.buffer, ptr, n); }
}
