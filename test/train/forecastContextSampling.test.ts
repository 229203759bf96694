// Context-length sampling of the training windows: 'log-uniform' puts as many windows at
// 16-32 values as at 256-512; 'uniform' (the default, v1's) is unchanged; bad values are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ForecastBatchSampler } from '../../src/train/forecastData.js';
import { resolveTrainConfig } from '../../src/cli/trainConfig.js';

const base = { seed: 3, contextLength: 512, minContextLength: 16, patchSize: 32, batchSize: 64, fullContextProbability: 0, cpm: false as const, mix: { intermittent: 1, kernelSynth: 0, composite: 0, arma: 0 } };

function lengths(o: typeof base & { contextSampling?: 'uniform' | 'log-uniform' }): number[] {
  const s = new ForecastBatchSampler(o);
  return [0, 1, 2, 3].flatMap((k) => Array.from(s.batch(k).contextLengths));
}

test('log-uniform context lengths: equal mass per octave; uniform is the default', () => {
  const log = lengths({ ...base, contextSampling: 'log-uniform' });
  const share = (v: number[], lo: number, hi: number) => v.filter((c) => c >= lo && c < hi).length / v.length;
  assert.ok(log.every((c) => c >= 16 && c <= 512));
  // 5 octaves from 16 to 512: about 0.2 each (256 draws: +-0.08)
  assert.ok(Math.abs(share(log, 16, 32) - 0.2) < 0.08 && Math.abs(share(log, 256, 513) - 0.2) < 0.08, `${share(log, 16, 32)} ${share(log, 256, 513)}`);
  const uni = lengths(base);
  assert.deepEqual(uni, lengths({ ...base, contextSampling: 'uniform' }));
  assert.ok(share(uni, 16, 32) < 0.08 && share(uni, 256, 513) > 0.4, `${share(uni, 16, 32)} ${share(uni, 256, 513)}`);
  assert.throws(() => new ForecastBatchSampler({ ...base, contextSampling: 'loguniform' as never }), /contextSampling must be 'uniform' or 'log-uniform', got "loguniform"/);
});

test('train config: data.context_sampling is validated and passed through', () => {
  const cfg = (v: unknown) => ({
    model: { kind: 'tirex', embedding_dim: 16, num_heads: 2, num_blocks: 1, input_ff_dim: 32, patch_size: 8, context_length: 48, seed: 3 },
    data: { seed: 5, context_sampling: v }, optim: { lr: 0.001, steps: 4, batch_size: 2 }, checkpoint: { dir: '/tmp/x' },
  });
  assert.equal(resolveTrainConfig(cfg('log-uniform'), 'c').data.context_sampling, 'log-uniform');
  assert.throws(() => resolveTrainConfig(cfg('octave'), 'c'), /data\.context_sampling must be 'uniform' or 'log-uniform', got "octave"/);
});
