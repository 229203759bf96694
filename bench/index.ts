// `npm run bench [-- topic ...] [--quick] [--no-relaxed]`: runs the benchmark
// topics on wasm backends with 1 and 2 threads, prints a table and writes
// bench/results/<timestamp>.json + latest.json.
import { WasmBackend } from '../src/backend/wasm/backend.js';
import { BenchRow, RunInfo, formatTable, writeResults } from './report.js';
import { benchCopy, benchGemm, benchGemv, BenchOptions } from './gemm.js';

type Topic = (be: WasmBackend[], opts: BenchOptions) => Promise<BenchRow[]>;

/** Topics in other files, loaded only if present (they may not exist yet). */
async function external(file: string, fnName: string): Promise<Topic | string> {
  try {
    const m = await import(file);
    const fn = m[fnName] ?? m.default ?? Object.values(m).find((v) => typeof v === 'function');
    return typeof fn === 'function' ? fn as Topic : `${file} exports no function ${fnName}`;
  } catch (e) { return `${file} not loaded: ${(e as Error).message.split('\n')[0]}`; }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const noRelaxed = argv.includes('--no-relaxed');
  const wanted = argv.filter((a) => !a.startsWith('--'));
  // Node 20 (V8 11.3) ships relaxed SIMD behind a flag; it must be set before
  // the first compile. Without it the backend falls back to the baseline build.
  if (!noRelaxed) {
    try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  }
  const notes: string[] = [];
  const topics: Record<string, Topic> = {
    copy: benchCopy,
    gemm: benchGemm,
    gemv: benchGemv,
    'gemm-baseline': async (_be, opts) => {
      // The same GEMM on the baseline SIMD build (mul + add instead of FMA).
      const initialMemoryBytes = 64 << 20;
      const bes = [await WasmBackend.create({ threads: 1, relaxedSimd: false, initialMemoryBytes }), await WasmBackend.create({ threads: 2, relaxedSimd: false, initialMemoryBytes })];
      try { return await benchGemm(bes, { ...opts, quick: true }, ' baseline-simd'); } finally { bes.forEach((b) => b.dispose()); }
    },
  };
  for (const [name, file, fn] of [['ops', './ops.js', 'benchOps'], ['mlstm', './mlstm.js', 'benchMlstm'], ['slstm', './slstm.js', 'benchSlstm'],
    ['lm', './lm.js', 'benchLm'], ['serve', './serve.js', 'benchServe'], ['tirex', './tirex.js', 'benchTirex'], ['train', './train.js', 'benchTrain'], ['backward', './backward.js', 'benchBackward'],
    ['flashrnn', './flashrnn.js', 'benchFlashrnn'], ['tirex-stream', './tirexStream.js', 'benchTirexStream'], ['plstm', './plstm.js', 'benchPlstm'],
    ['plstm-vision', './plstmVision.js', 'benchPlstmVision'], ['tirex2', './tirex2.js', 'benchTirex2'], ['q4acc', './q4Accuracy.js', 'benchQ4Accuracy'], ['q4ab', './q4Decode.js', 'benchQ4Decode'], ['decodeab', './decodeAb.js', 'benchDecodeAb']] as const) {
    const t = await external(file, fn);
    if (typeof t === 'string') { if (!wanted.length || wanted.includes(name)) notes.push(`${name}: skipped (${t})`); }
    else topics[name] = t;
  }
  // Opt-in topics: run only when named (minutes of CPU and several GiB of memory).
  const optIn = new Set(['lm7b', 'load', 'q4acc', 'q4ab', 'gemvbatch', 'decodeab']);
  for (const [name, file, fn] of [['lm7b', './lm7b.js', 'benchLm7b'], ['load', './loadFile.js', 'benchLoadFile'], ['gemvbatch', './gemvBatch.js', 'benchGemvBatch']] as const) {
    const t = await external(file, fn);
    if (typeof t === 'string') { if (wanted.includes(name)) notes.push(`${name}: skipped (${t})`); }
    else topics[name] = t;
  }
  const unknown = wanted.filter((w) => !(w in topics) && !notes.some((n) => n.startsWith(w + ':')));
  if (unknown.length) throw new Error(`bench: unknown topic(s) ${unknown.join(', ')}; known: ${Object.keys(topics).join(', ')}`);
  const chosen = wanted.length ? wanted.filter((w) => w in topics) : Object.keys(topics).filter((t) => !optIn.has(t));
  // Heaps big enough never to grow: a growing shared memory makes V8 replace the
  // buffer objects of every shared memory in the process, which Heap.owns (an
  // identity check) does not yet follow, so inputs would be copied per call.
  const initialMemoryBytes = 640 << 20;
  const backends = [await WasmBackend.create({ threads: 1, initialMemoryBytes }), await WasmBackend.create({ threads: 2, initialMemoryBytes })];
  const info: RunInfo = { startedAt: new Date().toISOString(), node: process.version, v8: process.versions.v8,
    relaxedSimd: backends[0].features.relaxedSimd, quick, topics: chosen, notes };
  console.log(`xlstm-ts bench: node ${process.version}, relaxed SIMD ${info.relaxedSimd ? 'on' : 'off'}${quick ? ', quick' : ''}`);
  const rows: BenchRow[] = [];
  try {
    for (const name of chosen) {
      const r = await topics[name](backends, { quick });
      rows.push(...r);
      console.log(`\n[${name}]\n${formatTable(r)}`);
    }
  } finally { backends.forEach((b) => b.dispose()); }
  for (const n of notes) console.log(`note: ${n}`);
  const file = await writeResults('bench/results', info, rows);
  console.log(`\nwrote ${file} and bench/results/latest.json`);
}

main().catch((e) => { console.error(e); process.exit(1); });
