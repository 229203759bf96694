// Loading speed against the file-read bound (`npm run bench -- load`, opt-in): writes a
// random bf16 checkpoint in the xLSTM-7B layout with fewer blocks (a few GiB, sharded) into
// os.tmpdir(), times reading its files start to end into one reused buffer (what any loader
// must spend at least; also into fresh buffers of the files' sizes, as fs.readFile does),
// then loads it with dtype int8 and q4 onto fresh heaps, and deletes it.
// Row: "load: file read s / load s / ratio" per dtype, with the load's process CPU time and
// the cost of first touching as many fresh bytes as the loaded weights take (the page
// faults every load of new weights pays, which a read into a reused buffer does not).
//   XLSTM_BENCH_LOAD_BLOCKS  blocks of the checkpoint (default 6: ~3 GiB of bf16)
//   XLSTM_BENCH_LOAD_DTYPES  comma list of int8, q4 (default "int8,q4")
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { XLSTMLarge, XLSTMLargeDType } from '../src/models/xlstmLarge/index.js';
import { BenchRow } from './report.js';
import { BenchOptions } from './gemm.js';
import { timeFileRead, writeRandomCheckpoint } from './checkpointFile.js';
import { xlstm7bBenchConfig } from './lm7b.js';

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench load: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Seconds to write one byte into every 4 KiB page of `bytes` of fresh memory. */
export function timeFreshTouch(bytes: number): number {
  const t0 = performance.now();
  for (let done = 0; done < bytes; done += 256 << 20) {
    const a = new Uint8Array(Math.min(256 << 20, bytes - done));
    for (let i = 0; i < a.length; i += 4096) a[i] = 1;
  }
  return (performance.now() - t0) / 1000;
}

const cpuS = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;

export async function benchLoadFile(backends: WasmBackend[], _opts: BenchOptions = { quick: false }): Promise<BenchRow[]> {
  const blocks = envInt('XLSTM_BENCH_LOAD_BLOCKS', 6);
  const dtypes = (process.env.XLSTM_BENCH_LOAD_DTYPES ?? 'int8,q4').split(',').map((s) => s.trim()).filter(Boolean);
  for (const d of dtypes) if (d !== 'int8' && d !== 'q4') throw new Error(`bench load: XLSTM_BENCH_LOAD_DTYPES has ${JSON.stringify(d)}, expected int8 and/or q4`);
  const threads = Math.max(...backends.map((b) => b.threads));
  const raw = { model_type: 'xlstm', ...xlstm7bBenchConfig(blocks) };
  // 0.82 GB of embedding + LM head and 0.4 GB per block, in bf16
  const expected = 2 * 50304 * 4096 * 2 + blocks * 403e6;
  const fs = statfsSync(tmpdir());
  if (fs.bavail * fs.bsize < 2 * expected) {
    throw new Error(`bench load: ${tmpdir()} has ${(fs.bavail * fs.bsize / 2 ** 30).toFixed(1)} GiB free, needs ${(2 * expected / 2 ** 30).toFixed(1)} (set XLSTM_BENCH_LOAD_BLOCKS lower)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-bench-load-'));
  const rows: BenchRow[] = [];
  try {
    const { total, shards } = await writeRandomCheckpoint(dir, raw, 2 * 2 ** 30);
    const fileGiB = total / 2 ** 30;
    for (const dtype of dtypes as XLSTMLargeDType[]) {
      // read right before each load, so both see the same page cache
      const read = await timeFileRead(shards);
      const readFresh = await timeFileRead(shards, { fresh: true });
      // a fresh heap, as a process loading a model has
      const be = await WasmBackend.create({ threads, initialMemoryBytes: 64 << 20 });
      try {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const m = await XLSTMLarge.fromPretrained(dir, { backend: be, dtype });
        const loadS = (performance.now() - t0) / 1000;
        const loadCpuS = cpuS(process.cpuUsage(c0));
        const weights = m.weights.bytes, heaps = m.backends.length;
        m.dispose();
        const touchS = timeFreshTouch(weights);
        rows.push({
          topic: 'load', name: `load: file read s / load s / ratio, ${dtype}, ${blocks}-block xLSTM-7B-shape checkpoint (${fileGiB.toFixed(2)} GiB bf16, ${shards.length} shards)`,
          threads, value: loadS / read.seconds, unit: 'x read time',
          extra: { readS: read.seconds, readGBs: read.bytes / read.seconds / 1e9, readFreshS: readFresh.seconds, ratioToFreshRead: loadS / readFresh.seconds, loadS, loadCpuS, weightsGiB: weights / 2 ** 30, heaps,
            freshTouchS: touchS, maxRssMiB: process.resourceUsage().maxRSS / 1024 },
        });
      } finally { be.dispose(); }
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  return rows;
}
