// The README's first example: an mLSTM prefill, then one recurrent step.
// (test/readme.test.ts runs it, so the README cannot drift from the code.)
import { WasmBackend, Tensor, mlstmPrefill, mlstmStep, mlstmRecurrent } from '../src/index.js';

export async function firstExample(threads?: number) {
  const be = await WasmBackend.create({ threads }); // default: all cores
  try {
    const [B, NH, S, DQK, DV] = [1, 4, 100, 16, 32];
    let seed = 1;
    const rand = (shape: number[]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return Tensor.fromArray(Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5), shape);
    };
    const x = { q: rand([B, NH, S, DQK]), k: rand([B, NH, S, DQK]), v: rand([B, NH, S, DV]), i: rand([B, NH, S]), f: rand([B, NH, S]) };

    // Prefill any length the way the official inference wrapper does (chunks of 64, 32, 16, then steps).
    const { h, state } = mlstmPrefill(be, x, { chunkSize: 64, returnState: true });

    // One more token from the carried (C, n, m) state: constant memory, whatever the history.
    const tok = { q: rand([B, NH, DQK]), k: rand([B, NH, DQK]), v: rand([B, NH, DV]), i: rand([B, NH, 1]), f: rand([B, NH, 1]) };
    const next = mlstmStep(be, tok, state!);

    // The same 100 tokens run as a plain recurrence give the same outputs.
    const check = mlstmRecurrent(be, x);
    return { h, hNext: next.h, hRecurrent: check.h };
  } finally {
    be.dispose();
  }
}
