// The mock hub's repositories, made of the test fixtures: TiRex (public and gated) and a
// small xLSTM Large split into shards with the fixture tokenizer.
import { readFileSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/golden.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { writeShardedSafetensors } from '../../src/io/safetensorsWrite.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { MockRepo } from './mockHub.js';

export const TIREX_DIR = join(FIXTURES, 'tirex');
export const LM_DIR = join(FIXTURES, 'xlstm_large_hf');
const read = (dir: string, f: string) => new Uint8Array(readFileSync(join(dir, f)));

export function tirexRepo(extra: Partial<MockRepo> = {}): MockRepo {
  return {
    files: {
      'config.json': read(TIREX_DIR, 'config.json'),
      'model.safetensors': read(TIREX_DIR, 'model.safetensors'),
      'model.ckpt': read(TIREX_DIR, 'model.ckpt'),
      'README.md': new TextEncoder().encode('# TiRex (test copy)\n'),
      '.gitattributes': new TextEncoder().encode('*.safetensors filter=lfs diff=lfs merge=lfs -text\n'),
    },
    ...extra,
  };
}

/** xlstm_large_hf as three shards + index, with the fixture tokenizer. */
export async function shardedLmRepo(): Promise<MockRepo> {
  const src = await SafetensorsFile.open(join(LM_DIR, 'model.safetensors'));
  const tensors = new Map<string, Tensor>();
  try { for (const n of src.names()) tensors.set(n, await src.read(n)); } finally { await src.close(); }
  const tmp = mkdtempSync(join(tmpdir(), 'xlstm-shards-'));
  try {
    const r = await writeShardedSafetensors(tmp, tensors, { maxShardBytes: 700_000 });
    const files: Record<string, Uint8Array> = {
      'config.json': read(LM_DIR, 'config.json'),
      'tokenizer.json': read(join(FIXTURES, 'tokenizer'), 'tokenizer.json'),
      'tokenizer_config.json': read(join(FIXTURES, 'tokenizer'), 'tokenizer_config.json'),
    };
    for (const f of readdirSync(tmp)) files[f] = read(tmp, f);
    if (r.shards.length < 2) throw new Error(`expected several shards, got ${r.shards.length}`);
    return { files };
  } finally { rmSync(tmp, { recursive: true, force: true }); }
}
