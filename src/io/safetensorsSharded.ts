// Sharded checkpoints (model.safetensors.index.json + model-0000k-of-0000n.safetensors)
// behind the same interface as one file. Shards are opened on first use, so reading
// a few tensors of a large model touches only their shards.
import { readFile, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, dirname, isAbsolute, normalize } from 'node:path';
import { TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { SafetensorsError } from './safetensorsHeader.js';
import { ReadOptions } from './safetensorsTensor.js';
import { SHARD_INDEX_FILE, SafetensorsSource, SafetensorsTensorInfo, missingTensorError } from './safetensors.js';
import { SafetensorsFile } from './safetensorsFile.js';

export class ShardedSafetensors implements SafetensorsSource {
  readonly indexPath: string;
  /** The index's "metadata" (Hugging Face puts total_size, a number, here). */
  readonly metadata: Readonly<Record<string, unknown>>;
  private readonly dir: string;
  private readonly weightMap: ReadonlyMap<string, string>;
  private readonly shards = new Map<string, Promise<SafetensorsFile>>();

  private constructor(indexPath: string, metadata: Record<string, unknown>, weightMap: Map<string, string>) {
    this.indexPath = indexPath;
    this.dir = dirname(indexPath);
    this.metadata = metadata;
    this.weightMap = weightMap;
  }

  /** Opens a directory holding model.safetensors.index.json, or the index file itself. Reads only the index. */
  static async open(dirOrIndexPath: string): Promise<ShardedSafetensors> {
    const st = await statOrThrow(dirOrIndexPath);
    const indexPath = st.isDirectory() ? join(dirOrIndexPath, SHARD_INDEX_FILE) : dirOrIndexPath;
    let text: string;
    try {
      text = await readFile(indexPath, 'utf8');
    } catch (e) {
      throw new SafetensorsError(indexPath, `cannot read the shard index (${(e as Error).message})`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new SafetensorsError(indexPath, `corrupt index: not valid JSON (${(e as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SafetensorsError(indexPath, 'corrupt index: expected a JSON object');
    // JSON.parse keeps the last of two equal keys silently; in weight_map that would pick one
    // of two shards for a tensor without a word, so any repeated key is refused.
    const dup = duplicateKey(text);
    if (dup !== undefined) throw new SafetensorsError(indexPath, `corrupt index: key ${JSON.stringify(dup.key)} appears twice in ${dup.where}`);
    const { metadata = {}, weight_map: wm } = raw as { metadata?: unknown; weight_map?: unknown };
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new SafetensorsError(indexPath, `corrupt index: "metadata" must be an object, got ${JSON.stringify(metadata)}`);
    }
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
      throw new SafetensorsError(indexPath, `corrupt index: "weight_map" must be an object {tensorName: shardFile}, got ${JSON.stringify(wm)}`);
    }
    const weightMap = new Map<string, string>();
    for (const [name, file] of Object.entries(wm)) {
      // Shards must sit in the index's folder tree: an index must not make us open arbitrary paths.
      // A file, too: not the folder itself ('.', 'sub/..'), not a name ending in a separator, no NUL byte.
      if (typeof file !== 'string' || file === '' || isAbsolute(file) || file.includes('\0') || /[\\/]$/.test(file)
        || normalize(file) === '.' || normalize(file).split(/[\\/]/).includes('..')) {
        throw new SafetensorsError(indexPath, `weight_map entry must be a shard file name relative to the index folder, got ${JSON.stringify(file)}`, name);
      }
      weightMap.set(name, file);
    }
    return new ShardedSafetensors(indexPath, metadata as Record<string, unknown>, weightMap);
  }

  /** Tensor names in index order. */
  names(): string[] { return [...this.weightMap.keys()]; }
  has(name: string): boolean { return this.weightMap.has(name); }
  /** Shard file names (relative to the index folder), each once. */
  shardFiles(): string[] { return [...new Set(this.weightMap.values())]; }

  async info(name: string): Promise<SafetensorsTensorInfo> {
    return (await this.shardFor(name)).info(name);
  }

  async read(name: string, opts: ReadOptions = {}): Promise<Tensor> {
    return (await this.shardFor(name)).read(name, opts);
  }

  async readInto(name: string, dest: TypedArray, opts: ReadOptions = {}): Promise<void> {
    return (await this.shardFor(name)).readInto(name, dest, opts);
  }

  async readRangeInto(name: string, byteOffset: number, dest: Uint8Array): Promise<void> {
    return (await this.shardFor(name)).readRangeInto(name, byteOffset, dest);
  }

  /**
   * Opens every shard and checks each weight_map name is in its shard (an eager check
   * before a long load), and that no tensor of the index is also stored in another of
   * its shards: loaders that read whole shards would take that other copy.
   */
  async verify(): Promise<void> {
    for (const name of this.weightMap.keys()) await this.shardFor(name);
    for (const [file, p] of this.shards) {
      const shard = await p;
      for (const name of shard.names()) {
        const listed = this.weightMap.get(name);
        // normalize: 's1.safetensors' and './s1.safetensors' in one index are the same shard.
        if (listed !== undefined && normalize(listed) !== normalize(file)) {
          throw new SafetensorsError(this.indexPath, `stored in two shards, ${listed} (the one weight_map names) and ${file}`, name);
        }
      }
    }
  }

  async close(): Promise<void> {
    const open = [...this.shards.values()];
    this.shards.clear();
    for (const p of open) await (await p.catch(() => undefined))?.close();
  }

  private async shardFor(name: string): Promise<SafetensorsFile> {
    const file = this.weightMap.get(name);
    if (file === undefined) throw missingTensorError(this.indexPath, name, this.names());
    const path = join(this.dir, file);
    let p = this.shards.get(file);
    if (!p) {
      p = SafetensorsFile.open(path).catch((e: Error) => {
        this.shards.delete(file); // a later call may retry (e.g. after a download finishes)
        if ((e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
          throw new SafetensorsError(this.indexPath, `shard file ${path} listed in weight_map does not exist`, name);
        }
        throw e;
      });
      this.shards.set(file, p);
    }
    const shard = await p;
    if (!shard.has(name)) {
      const available = shard.names();
      throw new SafetensorsError(path,
        `listed in ${this.indexPath} for this shard but missing from it (shard has ${available.length} tensors, e.g. ${available.slice(0, 5).map((n) => `'${n}'`).join(', ') || 'none'})`, name);
    }
    return shard;
  }
}

/** stat() whose failure is a SafetensorsError naming the path (ENOENT is the usual one: a mistyped model path). */
async function statOrThrow(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(path, code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${(e as Error).message})`, undefined, { cause: e });
  }
}

/**
 * The first key that occurs twice in one object of `text` (which JSON.parse accepted),
 * with where it is ('the top-level object' or the enclosing key).
 */
function duplicateKey(text: string): { key: string; where: string } | undefined {
  // One entry per open container: the keys seen so far (objects) or null (arrays), and its own key.
  const stack: { keys: Set<string> | null; name: string | undefined }[] = [];
  let expectKey = false;
  let lastKey: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // '"'
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, where: top.name === undefined ? 'the top-level object' : `"${top.name}"` };
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) { // '{'
      stack.push({ keys: new Set(), name: stack.length ? lastKey : undefined });
      expectKey = true;
    } else if (c === 0x5b) { // '['
      stack.push({ keys: null, name: lastKey });
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) { // '}' ']'
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) { // ','
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
  return undefined;
}

/**
 * Opens a model's weights: a folder with model.safetensors.index.json (sharded) or
 * model.safetensors, an index file, or a .safetensors file.
 */
export async function openSafetensorsModel(path: string): Promise<SafetensorsFile | ShardedSafetensors> {
  const st = await statOrThrow(path);
  if (!st.isDirectory()) return path.endsWith('.json') ? ShardedSafetensors.open(path) : SafetensorsFile.open(path);
  const files = await readdir(path);
  if (files.includes(SHARD_INDEX_FILE)) return ShardedSafetensors.open(join(path, SHARD_INDEX_FILE));
  if (files.includes('model.safetensors')) return SafetensorsFile.open(join(path, 'model.safetensors'));
  const found = files.filter((f) => f.endsWith('.safetensors'));
  throw new SafetensorsError(path, `no ${SHARD_INDEX_FILE} or model.safetensors in this folder` +
    (found.length ? ` (found ${found.slice(0, 5).join(', ')}${found.length > 5 ? ', ...' : ''}; open one with SafetensorsFile.open)` : ''));
}
