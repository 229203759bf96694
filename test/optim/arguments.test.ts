// Bad arguments to AdamW, the schedule, clipping and the Trainer are ArgumentErrors naming the
// function, the option and the value, raised when the object is made (not as NaN weights later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Parameter } from '../../src/autograd/index.js';
import { AdamW, warmupCosineLr, clipGradNorm, accumulateGradients } from '../../src/optim/index.js';
import { Trainer, TrainerOptions } from '../../src/train/trainer.js';
import { ArgumentError } from '../../src/errors.js';

const f64 = (a: number[]) => new Tensor('f64', [a.length], Float64Array.from(a));

function argErr(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof ArgumentError, `expected ArgumentError, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

test('AdamW, warmupCosineLr, clipGradNorm, accumulateGradients: bad options name the option and the value', () => {
  const p = new Parameter(f64([1, 2]), 'p');
  argErr(() => new AdamW([p], { lr: -1 }), /^AdamW: lr = -1, expected a finite number >= 0/);
  argErr(() => new AdamW([p], { lr: Number.NaN }), /^AdamW: lr = NaN/);
  argErr(() => new AdamW([p], { lr: 0.1, beta1: 1 }), /^AdamW: beta1 = 1, expected a finite number >= 0 and < 1/);
  argErr(() => new AdamW([p], { lr: 0.1, beta2: -0.5 }), /^AdamW: beta2 = -0\.5/);
  argErr(() => new AdamW([p], { lr: 0.1, eps: -1e-8 }), /^AdamW: eps = -1e-8/);
  argErr(() => new AdamW([p], { lr: 0.1, weightDecay: -0.01 }), /^AdamW: weightDecay = -0\.01/);
  argErr(() => new AdamW([p], null as never), /^AdamW: options = null, expected an options object/);
  argErr(() => new AdamW([{ params: [p], weightDecay: Number.POSITIVE_INFINITY }], { lr: 0.1 }), /^AdamW: groups\[0\]\.weightDecay = Infinity/);
  argErr(() => new AdamW([{ params: [p, 3 as never], weightDecay: 0 }], { lr: 0.1 }), /^AdamW: groups\[0\]\.params\[1\] is not a Parameter/);
  const ok = new AdamW([p], { lr: 0.1, eps: 0 });
  assert.equal(ok.lr, 0.1);

  const o = { maxLr: 1e-3, warmupSteps: 4, totalSteps: 12, minLr: 1e-4 };
  argErr(() => warmupCosineLr(-1, o), /^warmupCosineLr: step = -1, expected an integer >= 0/);
  argErr(() => warmupCosineLr(0, { ...o, warmupSteps: 13 }), /^warmupCosineLr: warmupSteps = 13, expected an integer >= 0 and <= 12/);
  argErr(() => warmupCosineLr(0, { ...o, minLr: 2e-3 }), /^warmupCosineLr: minLr = 0\.002, expected a finite number >= 0 and <= 0\.001/);
  argErr(() => warmupCosineLr(0, { ...o, totalSteps: 0 }), /^warmupCosineLr: totalSteps = 0/);
  assert.equal(warmupCosineLr(0, o), 2.5e-4);
  argErr(() => clipGradNorm([p], 0), /^clipGradNorm: maxNorm = 0, expected a finite number > 0/);
  argErr(() => accumulateGradients(0, () => 1), /^accumulateGradients: steps = 0/);
  argErr(() => accumulateGradients(2, 'f' as never), /^accumulateGradients: micro must be a function/);
});

test('Trainer: contradictory or out-of-range options are ArgumentErrors naming the option', () => {
  const p = new Parameter(f64([1, 2]), 'w');
  const data = { next: () => 0, state: () => 0, restore: () => undefined };
  const base: TrainerOptions<number> = { params: [p], loss: () => { throw new Error('not called'); }, data, backend: null, dtype: 'f64', totalSteps: 10, lr: 0.01 };
  const bad = (extra: Partial<TrainerOptions<number>>, re: RegExp) => argErr(() => new Trainer({ ...base, ...extra }), re);
  bad({ minLr: 0.02 }, /^Trainer: minLr = 0\.02, expected a finite number >= 0 and <= 0\.01/);
  bad({ warmupSteps: 11 }, /^Trainer: warmupSteps = 11, expected an integer >= 0 and <= 10/);
  bad({ totalSteps: 0 }, /^Trainer: totalSteps = 0, expected an integer >= 1/);
  bad({ lr: -1 }, /^Trainer: lr = -1/);
  bad({ accumulationSteps: 0 }, /^Trainer: accumulationSteps = 0/);
  bad({ gradClip: 0 }, /^Trainer: gradClip = 0, expected a finite number > 0/);
  bad({ seed: -1 }, /^Trainer: seed = -1, expected an integer >= 0 and <= 4294967295/);
  bad({ evalEvery: 1.5 }, /^Trainer: evalEvery = 1\.5/);
  bad({ checkpointEvery: 5 }, /^Trainer: checkpointEvery needs checkpointDir/);
  bad({ checkpointDir: '' }, /^Trainer: checkpointDir = "", expected a folder path/);
  bad({ onProgress: 'log' as never }, /^Trainer: onProgress = "log", expected a function/);
  bad({ dtype: 'f16' as never }, /^Trainer: dtype = "f16", expected 'f32' or 'f64'/);
  bad({ dtype: 'f32' }, /^Trainer: an f32 tape needs options\.backend/);
  bad({ params: [] }, /^Trainer: options\.params must be a non-empty array/);
  bad({ loss: 1 as never }, /^Trainer: options\.loss must be a function/);
  argErr(() => new Trainer(undefined as never), /^Trainer: options = undefined, expected an options object/);
  // a custom schedule replaces warmupSteps/minLr, so they are not compared with lr then
  const t = new Trainer({ ...base, lrSchedule: () => 0.5, minLr: 1 });
  assert.equal(t.lrAt(3), 0.5);
  assert.equal(new Trainer({ ...base, warmupSteps: 10, minLr: 0.01 }).lrAt(9), 0.01);
});

test('Trainer.run: untilStep before the current step and a non-signal are ArgumentErrors', async () => {
  const p = new Parameter(f64([1, 2]), 'w');
  const data = { next: () => 0, state: () => 0, restore: () => undefined };
  const t = new Trainer<number>({ params: [p], loss: () => { throw new Error('not called'); }, data, backend: null, dtype: 'f64', totalSteps: 10, lr: 0.01 });
  t.step = 3;
  await assert.rejects(t.run({ untilStep: 2 }), (e: Error) => e instanceof ArgumentError && /untilStep 2 must be an integer >= the current step 3/.test(e.message));
  await assert.rejects(t.run({ signal: {} as never }), (e: Error) => e instanceof ArgumentError && /signal must be an AbortSignal/.test(e.message));
});
