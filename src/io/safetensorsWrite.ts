// Writing safetensors files from Node, one tensor at a time: the header is built
// from shapes/dtypes alone, then each tensor's bytes go to its offset, so no
// whole-file buffer exists (at most one converted tensor when storing f32 as bf16/f16).
// Files are written under a temporary name and renamed, so a crash or error never
// leaves a half-written checkpoint under the real name.
import { open as openFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { join, dirname, basename } from 'node:path';
import { DTYPE_SIZE, numel } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { assertLittleEndianHost, buildHeader } from './safetensorsHeader.js';
import { WriteOptions, bytesOf, storedDType, storedForm } from './safetensorsTensor.js';
import { SHARD_INDEX_FILE, TensorDict, tensorEntries } from './safetensors.js';
import { writeFully } from './fileIo.js';
import { ArgumentError } from '../errors.js';

/** Writes `path` atomically (temp file + rename); returns the file size. */
export async function writeSafetensorsFile(
  path: string, tensors: TensorDict, metadata: Readonly<Record<string, string>> = {}, opts: WriteOptions = {},
): Promise<number> {
  assertLittleEndianHost();
  const entries = tensorEntries(tensors);
  const byName = new Map(entries);
  const built = buildHeader(entries.map(([name, t]) => ({ name, dtype: storedDType(name, t, opts), shape: t.shape })), metadata);
  // Unique per call, so concurrent writes of the same path cannot clobber each other's temp file.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fh = await openFile(tmp, 'w');
  try {
    await writeFully(fh, built.bytes, 0);
    for (const e of built.layout) {
      const stored = storedForm(e.name, byName.get(e.name)!, opts);
      await writeFully(fh, bytesOf(stored.data), built.bytes.length + e.begin);
    }
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return built.totalSize;
}

export interface ShardedWriteOptions extends WriteOptions {
  /** A shard is closed before it would exceed this many data bytes (a bigger tensor gets a shard alone). */
  maxShardBytes: number;
  /** Shard names are `${prefix}-00001-of-00003.safetensors` (default 'model'). */
  prefix?: string;
  /** Stored in every shard's __metadata__ and in the index's "metadata". */
  metadata?: Readonly<Record<string, string>>;
}

export interface ShardedWriteResult {
  indexPath: string;
  /** Shard file names (relative to the directory), in order. */
  shards: string[];
  /** Sum of all tensor data bytes (the index's metadata.total_size). */
  totalSize: number;
}

/**
 * Writes tensors as shards in `dir` plus model.safetensors.index.json
 * ({"metadata": {..., "total_size"}, "weight_map": {name: shardFile}}), the layout
 * Hugging Face loaders expect. Tensors are packed greedily in name order.
 */
export async function writeShardedSafetensors(dir: string, tensors: TensorDict, opts: ShardedWriteOptions): Promise<ShardedWriteResult> {
  if (!(opts.maxShardBytes > 0)) throw new ArgumentError(`writeShardedSafetensors: maxShardBytes must be > 0, got ${opts.maxShardBytes}`);
  const entries = tensorEntries(tensors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const groups: [string, Tensor][][] = [];
  let current: [string, Tensor][] = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const [name, t] of entries) {
    const bytes = numel(t.shape) * DTYPE_SIZE[storedDType(name, t, opts)];
    if (current.length && currentBytes + bytes > opts.maxShardBytes) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push([name, t]);
    currentBytes += bytes;
    totalSize += bytes;
  }
  if (current.length || groups.length === 0) groups.push(current);

  await mkdir(dir, { recursive: true });
  const prefix = opts.prefix ?? 'model';
  const pad = (i: number) => String(i).padStart(5, '0');
  const shards = groups.map((_, i) => `${prefix}-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`);
  // Null prototype so a tensor named '__proto__' is written to the index like any other.
  const weightMap: Record<string, string> = Object.create(null);
  for (let i = 0; i < groups.length; i++) {
    await writeSafetensorsFile(join(dir, shards[i]), new Map(groups[i]), opts.metadata ?? {}, opts);
    for (const [name] of groups[i]) weightMap[name] = shards[i];
  }
  const indexPath = join(dir, SHARD_INDEX_FILE);
  const index = { metadata: { ...opts.metadata, total_size: totalSize }, weight_map: weightMap };
  await writeFile(indexPath, JSON.stringify(index, null, 2) + '\n');
  return { indexPath, shards, totalSize };
}
