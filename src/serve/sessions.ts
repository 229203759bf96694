// Where session records live between requests. A record is opaque bytes (the server packs a
// recurrent state in the state format of docs/STATE-FORMAT.md plus a small JSON header), so
// any store that keeps bytes with an expiry will do: memory for one process, Redis when
// several replicas must continue each other's sessions.
import { HttpError } from './httpErrors.js';

export interface SessionStore {
  /** 'memory' or 'redis' (for /ready and the metrics). */
  readonly kind: string;
  get(id: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes` under `id`; it expires `ttlMs` after this call. */
  set(id: string, bytes: Uint8Array, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Throws when the store cannot be used right now (for /ready). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface MemorySessionStoreOptions {
  /** Most records kept; the least recently used goes first (default 1024). */
  maxEntries?: number;
  /** Injected clock (tests). */
  now?: () => number;
}

/** In-process store with TTL and an LRU bound, so forgotten sessions cannot fill the memory. */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, { bytes: Uint8Array; expires: number }>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: MemorySessionStoreOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 1024;
    this.now = opts.now ?? Date.now;
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expires <= this.now()) { this.entries.delete(id); return undefined; }
    // re-insert: Map order is the LRU order
    this.entries.delete(id);
    this.entries.set(id, e);
    return e.bytes;
  }

  async set(id: string, bytes: Uint8Array, ttlMs: number): Promise<void> {
    this.entries.delete(id);
    this.entries.set(id, { bytes, expires: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  async delete(id: string): Promise<void> { this.entries.delete(id); }
  async ping(): Promise<void> {}
  async close(): Promise<void> { this.entries.clear(); }
  get size(): number { return this.entries.size; }
}

export interface RedisSessionStoreOptions {
  url: string;
  /** Key prefix (default 'xlstm:session:'), so one Redis can serve several deployments. */
  prefix?: string;
}

/** Sessions in Redis (ioredis): every replica pointed at the same Redis continues any session. */
export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis';
  private constructor(private readonly redis: import('ioredis').Redis, private readonly prefix: string) {}

  static async connect(opts: RedisSessionStoreOptions): Promise<RedisSessionStore> {
    const { Redis } = await import('ioredis');
    // a request fails fast while Redis is away instead of queueing behind reconnects
    const redis = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000 });
    redis.on('error', () => { /* reported by ping() and by the failing request; ioredis reconnects */ });
    try { await redis.connect(); } catch (e) {
      redis.disconnect();
      throw new Error(`REDIS_URL: cannot connect to Redis: ${(e as Error).message}`);
    }
    return new RedisSessionStore(redis, opts.prefix ?? 'xlstm:session:');
  }

  private wrap(e: unknown): HttpError {
    return new HttpError(503, `session store (Redis) unavailable: ${(e as Error).message}`, { 'retry-after': '1' }, 'server_error');
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    try {
      const b = await this.redis.getBuffer(this.prefix + id);
      return b === null ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) { throw this.wrap(e); }
  }

  async set(id: string, bytes: Uint8Array, ttlMs: number): Promise<void> {
    try { await this.redis.set(this.prefix + id, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'PX', Math.max(1, Math.round(ttlMs))); } catch (e) { throw this.wrap(e); }
  }

  async delete(id: string): Promise<void> {
    try { await this.redis.del(this.prefix + id); } catch (e) { throw this.wrap(e); }
  }

  async ping(): Promise<void> { await this.redis.ping(); }

  async close(): Promise<void> { await this.redis.quit().catch(() => this.redis.disconnect()); }
}

/** Session ids: 1-128 characters of letters, digits and -_.: (they become store keys). */
export function checkSessionId(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(v)) {
    throw new HttpError(400, `session_id must be 1-128 characters of letters, digits, '-', '_', '.', ':', got ${JSON.stringify(v)?.slice(0, 60)}`);
  }
  return v;
}

/** A record: a JSON header and a payload (the state file), length-prefixed. */
export function packRecord(header: unknown, payload: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + h.length + payload.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  out.set(payload, 4 + h.length);
  return out;
}

export function unpackRecord(bytes: Uint8Array): { header: Record<string, unknown>; payload: Uint8Array } {
  if (bytes.length < 4) throw new Error('session record is truncated');
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (4 + n > bytes.length) throw new Error('session record is truncated');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as Record<string, unknown>;
  return { header, payload: bytes.subarray(4 + n) };
}
