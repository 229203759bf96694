// Runs the browser bench (benchCore.js) in a module Web Worker, where the thread pool may
// block on Atomics.wait as it does in Node. In: { threads, quick }. Out: the result or { error }.
import * as lib from '../../dist/browser/xlstm.js';
import { runBench } from './benchCore.js';

self.addEventListener('message', async (e) => {
  try { self.postMessage(await runBench(lib, e.data)); } catch (err) { self.postMessage({ error: err?.message ?? String(err) }); }
});
