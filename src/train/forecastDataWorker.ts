// Worker thread of ForecastDataWorkers: builds the same ForecastBatchSampler from the options
// it is started with and answers each requested batch index with that batch (its arrays are
// transferred, not copied). Node only (worker_threads).
import { parentPort, workerData } from 'node:worker_threads';
import { ForecastBatchSampler } from './forecastData.js';

const sampler = new ForecastBatchSampler(workerData);
parentPort!.on('message', (index: number) => {
  try {
    const b = sampler.batch(index);
    parentPort!.postMessage({ index, batch: b }, [b.windows.buffer, b.patchMask.buffer, b.contextLengths.buffer] as ArrayBuffer[]);
  } catch (e) {
    parentPort!.postMessage({ index, error: e instanceof Error ? e.message : String(e) });
  }
});
