// Types shared by the training benchmarks (bench/train.ts and the sub-benchmarks it lists, e.g.
// bench/trainForecaster.ts). Kept in their own module so no sub-benchmark imports train.ts,
// which imports them: no import cycle, at run time or in the type graph.
import type { WasmBackend } from '../src/backend/wasm/backend.js';
import type { BenchRow } from './report.js';

export interface TrainBenchOptions {
  /** Fewer runs and only the small shapes. */
  quick?: boolean;
}

/** One training sub-benchmark: rows for one backend. */
export interface TrainSubBench {
  name: string;
  run(be: WasmBackend, opts: TrainBenchOptions): Promise<BenchRow[]>;
}
