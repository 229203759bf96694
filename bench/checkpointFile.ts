// Random-weight xLSTM Large checkpoints on disk, for the load bench (bench/lm7b.ts) and the
// opt-in > 4 GiB test: bf16 safetensors shards plus model.safetensors.index.json, written one
// tensor (and one Mi elements of it) at a time, so a checkpoint of any size is written without
// ever being held in memory. Also the baseline the loader is measured against: the time it
// takes just to read those files.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { numel } from '../src/tensor/dtype.js';
import { buildHeader } from '../src/io/safetensorsHeader.js';
import { writeFully } from '../src/io/fileIo.js';
import { SHARD_INDEX_FILE } from '../src/io/safetensors.js';
import { resolveXLSTMLargeConfig, XLSTMLargeConfigInput } from '../src/models/xlstmLarge/index.js';
import { RandomTensorSpec, fillRandomBf16, xlstmLargeTensorSpecs } from '../src/models/xlstmLarge/randomWeights.js';

/**
 * Writes a random bf16 checkpoint of `raw` into `dir` as safetensors shards of at most
 * `maxShardBytes`, plus model.safetensors.index.json and config.json. Returns the files
 * written (shards first) and the total tensor bytes.
 */
export async function writeRandomCheckpoint(dir: string, raw: XLSTMLargeConfigInput, maxShardBytes: number, seed = 1): Promise<{ total: number; shards: string[] }> {
  const cfg = resolveXLSTMLargeConfig(raw);
  const specs = xlstmLargeTensorSpecs(cfg);
  const groups: RandomTensorSpec[][] = [[]];
  let used = 0, total = 0;
  for (const s of specs) {
    const bytes = numel(s.shape) * 2;
    if (used + bytes > maxShardBytes && groups[groups.length - 1].length) { groups.push([]); used = 0; }
    groups[groups.length - 1].push(s);
    used += bytes;
    total += bytes;
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const shards: string[] = [];
  const buf = new Uint16Array(1 << 20), scratch = new Float32Array(1 << 20);
  for (let g = 0; g < groups.length; g++) {
    const file = `model-${pad(g + 1)}-of-${pad(groups.length)}.safetensors`;
    const byName = new Map(groups[g].map((s) => [s.name, s]));
    const built = buildHeader(groups[g].map((s) => ({ name: s.name, dtype: 'bf16' as const, shape: s.shape })), { format: 'pt' });
    const fh = await open(join(dir, file), 'w');
    try {
      await writeFully(fh, built.bytes, 0);
      for (const e of built.layout) {
        const s = byName.get(e.name)!;
        const n = numel(s.shape);
        for (let o = 0; o < n; o += buf.length) {
          const m = Math.min(buf.length, n - o);
          fillRandomBf16(s, seed, buf.subarray(0, m), o, scratch);
          await writeFully(fh, new Uint8Array(buf.buffer, 0, m * 2), built.bytes.length + e.begin + o * 2);
        }
        weightMap[e.name] = file;
      }
    } finally { await fh.close(); }
    shards.push(join(dir, file));
  }
  writeFileSync(join(dir, SHARD_INDEX_FILE), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  return { total, shards };
}

/**
 * Seconds to read `files` start to end (what any loader must at least spend on them), and
 * the bytes read: into one reused buffer (`fresh` false: the I/O alone), or each file into a
 * buffer of its own size allocated for it (`fresh` true: what reading a file into memory
 * costs, first touches of the new pages included).
 */
export async function timeFileRead(files: readonly string[], opts: { fresh?: boolean; chunkBytes?: number } = {}): Promise<{ seconds: number; bytes: number }> {
  const chunk = opts.chunkBytes ?? 32 << 20;
  const reused = opts.fresh ? undefined : new Uint8Array(chunk);
  let bytes = 0;
  const t0 = performance.now();
  for (const f of files) {
    const fh = await open(f, 'r');
    try {
      const size = (await fh.stat()).size;
      const buf = reused ?? new Uint8Array(size);
      for (let pos = 0; pos < size;) {
        const off = reused ? 0 : pos;
        const { bytesRead } = await fh.read(buf, off, Math.min(chunk, size - pos, buf.length - off), pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        bytes += bytesRead;
      }
    } finally { await fh.close(); }
  }
  return { seconds: (performance.now() - t0) / 1000, bytes };
}
