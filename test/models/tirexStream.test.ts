// Streaming TiRex forecasts (src/models/tirex/stream.ts) on the shipped default forecaster:
// (a) a fresh stream forecasts as TiRex.forecast on the same context; (b) after pushes it
// equals a forward pass over the whole series with the scaler frozen at the first context (and
// the stream's patch grid); (c) the distance to a plain full re-run, measured on a stationary
// series; (d) clear errors for bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { loadDefaultForecaster } from '../../src/models/tirex/defaultForecaster.js';
import { ArgumentError, InputError } from '../../src/errors.js';

let be: WasmBackend;
let m: TiRex;
before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  m = await loadDefaultForecaster({ backend: be });
});
after(() => { m.dispose(); be.dispose(); });

/** A stationary series: two seasons + AR(1) noise around a fixed level (deterministic). */
function stationary(n: number, seed = 11, level = 50): Float64Array {
  let s = seed >>> 0;
  const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  const x = new Float64Array(n);
  let e = 0;
  for (let t = 0; t < n; t++) {
    e = 0.6 * e + rnd();
    x[t] = level + 5 * Math.sin((2 * Math.PI * t) / 24) + 2 * Math.cos((2 * Math.PI * t) / 7) + 2 * e;
  }
  return x;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    assert.ok(Number.isFinite(a[i]) && Number.isFinite(b[i]), `value ${i} is not finite: ${a[i]} vs ${b[i]}`);
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d;
}

/**
 * The reference of (b): one forward pass over the stream's patch grid (first context padded as
 * forecast pads it, complete pushed patches, the partial one left-padded with NaN) with the
 * frozen scaler, rolled out as the accelerated forecast does. Returns [Q, H] de-scaled.
 */
function frozenReference(first: ArrayLike<number>, pushed: ArrayLike<number>, loc: number, scale: number, H: number): Float32Array {
  const cfg = m.config, P = cfg.inputPatchSize, Q = cfg.quantiles.length;
  const win = Math.min(first.length, cfg.trainCtxLen);
  const head = Math.ceil(Math.max(cfg.trainCtxLen, win) / P) * P;
  const full = Math.floor(pushed.length / P) * P, r = pushed.length - full;
  const grid = new Float64Array(head + full + (r > 0 ? P : 0)).fill(NaN);
  for (let i = 0; i < win; i++) grid[head - win + i] = first[first.length - win + i];
  for (let i = 0; i < pushed.length; i++) grid[head + (i < full ? i : i + P - r)] = pushed[i];
  const patches = Math.ceil(H / P);
  const f = m.forwardTokens([grid], patches, false, { loc: [loc], scale: [scale], frozen: true }, grid.length);
  assert.equal(f.loc[0], loc);
  const out = new Float32Array(Q * H);
  for (let q = 0; q < Q; q++) for (let t = 0; t < H; t++) out[q * H + t] = Math.fround(f.quantilePreds[q * patches * P + t] * scale + loc);
  return out;
}

/** Trained-level quantiles [Q, H] of series s of a forecast result. */
function byLevel(q: Float32Array[][], s = 0): Float32Array {
  const H = q[s].length, Q = q[s][0].length;
  const out = new Float32Array(Q * H);
  for (let t = 0; t < H; t++) for (let l = 0; l < Q; l++) out[l * H + t] = q[s][t][l];
  return out;
}

test('(a) a fresh stream forecasts as TiRex.forecast on the same context (one and several patches, ragged lists)', () => {
  const ctx = stationary(1024);
  const st = m.stream(ctx);
  assert.equal(st.length, 1024);
  const a = st.forecast({ predictionLength: 32 });
  const b = m.forecast(ctx, { predictionLength: 32 });
  assert.deepEqual(a.shape, [1, 32, 9]);
  assert.deepEqual(a.errors, []);
  const d1 = maxAbsDiff(a.quantileData, b.quantileData);
  assert.ok(d1 <= 1e-4, `horizon 32: max |stream - forecast| ${d1}`);
  // beyond one patch the stream rolls out from its state: forecast's accelerated rollout
  const a3 = st.forecast({ predictionLength: 80, quantileLevels: [0.05, 0.5, 0.95] });
  const b3 = m.forecast(ctx, { predictionLength: 80, quantileLevels: [0.05, 0.5, 0.95], maxAcceleratedRolloutSteps: 3 });
  const d3 = maxAbsDiff(a3.quantileData, b3.quantileData);
  assert.ok(d3 <= 1e-4, `horizon 80: max |stream - accelerated forecast| ${d3}`);
  assert.ok(maxAbsDiff(a3.meanData, b3.meanData) <= 1e-4);
  // several series, ragged and shorter than train_ctx_len or not a multiple of the patch
  const list = [stationary(1000, 3), stationary(640, 4, 10), stationary(1500, 5, -20)];
  const sl = m.stream(list).forecast({ predictionLength: 40 });
  const fl = m.forecast(list, { predictionLength: 40, maxAcceleratedRolloutSteps: 2 });
  const dl = maxAbsDiff(sl.quantileData, fl.quantileData);
  assert.ok(dl <= 1e-4, `ragged list: max |stream - forecast| ${dl}`);
  // forecasting does not move the state
  assert.deepEqual(st.forecast({ predictionLength: 32 }).quantileData, a.quantileData);
});

/** The reference of (b) for patchAlignment 'every': the whole series, patches aligned at its end, scaler frozen. */
function alignedReference(series: ArrayLike<number>, loc: number, scale: number, H: number): Float32Array {
  const P = m.config.inputPatchSize, Q = m.config.quantiles.length;
  const patches = Math.ceil(H / P);
  const f = m.forwardTokens([series], patches, false, { loc: [loc], scale: [scale], frozen: true }, Math.ceil(series.length / P) * P);
  const out = new Float32Array(Q * H);
  for (let q = 0; q < Q; q++) for (let t = 0; t < H; t++) out[q * H + t] = Math.fround(f.quantilePreds[q * patches * P + t] * scale + loc);
  return out;
}

test('(b) after pushes the stream equals a full pass with the scaler frozen at the first context', () => {
  // a first context of exactly the model's window (the reference below runs over the whole series)
  const C = m.config.trainCtxLen;
  const all = stationary(C + 200, 21);
  const first = all.subarray(0, C);
  const every = m.stream(first);
  const fixed = m.stream(first, { patchAlignment: 'fixed' });
  assert.equal(every.patchAlignment, 'every');
  const { loc, scale } = every.scaler;
  assert.deepEqual(fixed.scaler, every.scaler);
  let pushed = 0;
  // chunks that complete patches in the middle and leave partial patches between forecasts
  for (const chunk of [1, 5, 26, 32, 40, 1, 63, 20, 12]) {
    const v = all.subarray(C + pushed, C + pushed + chunk);
    every.push(v);
    fixed.push(Array.from(v));
    pushed += chunk;
    assert.equal(every.length, C + pushed);
    assert.equal(fixed.length, C + pushed);
    for (const H of [32, 70]) {
      const got = byLevel(every.forecast({ predictionLength: H, rawQuantiles: true }).quantiles);
      const want = alignedReference(all.subarray(0, C + pushed), loc[0], scale[0], H);
      const d = maxAbsDiff(got, want);
      assert.ok(d <= 1e-4 * scale[0], `'every', after ${pushed} values, horizon ${H}: max |stream - frozen full pass| ${d}`);
      const gotF = byLevel(fixed.forecast({ predictionLength: H, rawQuantiles: true }).quantiles);
      const wantF = frozenReference(first, all.subarray(C, C + pushed), loc[0], scale[0], H);
      const dF = maxAbsDiff(gotF, wantF);
      assert.ok(dF <= 1e-4 * scale[0], `'fixed', after ${pushed} values, horizon ${H}: max |stream - frozen full pass on its grid| ${dF}`);
    }
  }
  assert.equal(pushed, 200);
  // how values are grouped into pushes does not matter
  const one = m.stream(first);
  for (let i = 0; i < 200; i++) one.push(all[C + i]);
  const d = maxAbsDiff(one.forecast({ predictionLength: 64 }).quantileData, every.forecast({ predictionLength: 64 }).quantileData);
  assert.ok(d <= 1e-5 * scale[0], `one value per push vs chunks: ${d}`);
  // maxContext: the whole first context reaches the state (and the scaler)
  const long = stationary(2048, 8);
  const sx = m.stream(long, { maxContext: 2048 });
  const f = m.forwardTokens([long], 1, false, undefined, 2048);
  assert.equal(sx.scaler.loc[0], f.loc[0]);
  const want = new Float32Array(9 * 32);
  for (let i = 0; i < want.length; i++) want[i] = Math.fround(f.quantilePreds[i] * f.scale[0] + f.loc[0]);
  assert.ok(maxAbsDiff(byLevel(sx.forecast({ predictionLength: 32, rawQuantiles: true }).quantiles), want) <= 1e-4 * f.scale[0]);
});

test('(c) on a stationary series the stream stays close to a plain full re-run (measured)', () => {
  const all = stationary(1024 + 512, 31);
  const every = m.stream(all.subarray(0, 1024));
  const fixed = m.stream(all.subarray(0, 1024), { patchAlignment: 'fixed' });
  const scale = every.scaler.scale[0];
  const stats = { every: { whole: 0, partial: 0, sum: 0 }, fixed: { whole: 0, partial: 0, sum: 0 } };
  let n = 0;
  for (let i = 0; i < 512; i++) {
    every.push(all[1024 + i]);
    fixed.push(all[1024 + i]);
    // after every 8th value: whole patches of the first grid and partial ones
    if ((i + 1) % 8 !== 0) continue;
    const b = m.forecast(all.subarray(0, 1024 + i + 1), { predictionLength: 32 });
    for (const [k, st] of [['every', every], ['fixed', fixed]] as const) {
      const a = st.forecast({ predictionLength: 32 });
      // median difference in units of the series' spread
      let d = 0;
      for (let t = 0; t < 32; t++) d = Math.max(d, Math.abs(a.median[0][t] - b.median[0][t]) / scale);
      const s = stats[k];
      if ((i + 1) % 32 === 0) s.whole = Math.max(s.whole, d); else s.partial = Math.max(s.partial, d);
      s.sum += d;
    }
    n++;
  }
  for (const [k, s] of Object.entries(stats)) {
    console.log(`# ${k}: stream vs full re-run, stationary series, 512 values after a 1024 context, horizon 32: max |median diff| / scale ${s.whole.toFixed(4)} at whole patches, ${s.partial.toFixed(4)} with a partial patch of the first grid; mean ${(s.sum / n).toFixed(4)}`);
  }
  assert.ok(stats.every.whole < 0.15 && stats.every.partial < 0.15, `'every': ${JSON.stringify(stats.every)}`);
  assert.ok(stats.every.sum / n < 0.08, `'every': mean ${stats.every.sum / n}`);
  // 'fixed' equals 'every' at whole patches; a NaN-padded partial patch moves the forecast more
  assert.ok(stats.fixed.whole < 0.15, `'fixed': ${JSON.stringify(stats.fixed)}`);
  assert.ok(stats.fixed.partial < 2.5, `'fixed': ${JSON.stringify(stats.fixed)}`);
});

test('(d) missing values are accepted; bad input gives clear errors and leaves the stream unchanged', () => {
  const ctx = stationary(300);
  const st = m.stream(ctx);
  st.push([NaN, NaN, 51]);
  const before = st.forecast({ predictionLength: 16 });
  assert.deepEqual(before.errors, []);
  for (const v of before.quantileData) assert.ok(Number.isFinite(v));
  assert.throws(() => st.push(Infinity), (e: Error) => e instanceof InputError && /values\[0\] is Infinity; values must be finite or NaN/.test(e.message));
  assert.throws(() => st.push([1, 2, -Infinity]), (e: Error) => e instanceof InputError && /values\[2\] is -Infinity/.test(e.message));
  assert.throws(() => st.push([1, '2' as unknown as number]), (e: Error) => e instanceof InputError && /values\[1\] is string; values must be numbers/.test(e.message));
  assert.throws(() => st.push('1' as unknown as number), (e: Error) => e instanceof ArgumentError && /takes a number or an array of numbers, got string/.test(e.message));
  assert.throws(() => st.push(1e300), (e: Error) => e instanceof InputError && /frozen scaler .* leaves the float32 range/.test(e.message));
  assert.equal(st.length, 303);
  assert.deepEqual(st.forecast({ predictionLength: 16 }).quantileData, before.quantileData);
  assert.throws(() => st.forecast({ predictionLength: 0 }), (e: Error) => e instanceof ArgumentError && /predictionLength must be a positive integer/.test(e.message));
  assert.throws(() => st.forecast({ predictionLength: 4, quantileLevels: [1.5] }), (e: Error) => e instanceof ArgumentError && /quantileLevels\[0\]/.test(e.message));
  assert.throws(() => st.forecast(undefined as never), ArgumentError);
  // lists: one number or one array per series, equal lengths
  const ml = m.stream([ctx, stationary(200, 2)]);
  ml.push([1, NaN]);
  ml.push([[1, 2], [3, 4]]);
  assert.equal(ml.length, 303);
  assert.throws(() => ml.push([1, 2, 3]), (e: Error) => e instanceof ArgumentError && /carries 2 series, got values for 3/.test(e.message));
  assert.throws(() => ml.push([[1], [2, 3]]), (e: Error) => e instanceof ArgumentError && /same number of new values/.test(e.message));
  assert.throws(() => ml.push(5), (e: Error) => e instanceof ArgumentError && /takes 2 numbers or 2 arrays/.test(e.message));
  assert.throws(() => ml.push([null, 1] as never), (e: Error) => e instanceof ArgumentError && /values\[0\] must be a number or an array/.test(e.message));
  assert.equal(ml.length, 303);
  assert.throws(() => m.stream(ctx, { patchAlignment: 'end' as never }), (e: Error) => e instanceof ArgumentError && /patchAlignment must be 'every' or 'fixed'/.test(e.message));
  // first contexts
  assert.throws(() => m.stream([]), (e: Error) => e instanceof ArgumentError && /at least one series/.test(e.message));
  assert.throws(() => m.stream(null as never), (e: Error) => e instanceof ArgumentError && /got null/.test(e.message));
  assert.throws(() => m.stream([NaN, NaN]), (e: Error) => e instanceof InputError && /no observed value/.test(e.message));
  assert.throws(() => m.stream([ctx, [1, Infinity]]), (e: Error) => e instanceof InputError && /context\[1\]\[1\] is Infinity/.test(e.message));
  assert.throws(() => m.stream(ctx, { maxContext: 0 }), (e: Error) => e instanceof ArgumentError && /maxContext must be a positive integer/.test(e.message));
});

test('many series: passes split into bounded calls give the same numbers per series', () => {
  const list = Array.from({ length: 70 }, (_, i) => stationary(256, 100 + i, 10 + i));
  const big = m.stream(list);
  const small = m.stream(list.slice(0, 3));
  // 40 new values: 70 series x 32 grids of one token per push chunk, over the 2048-token bound
  const next = list.map((_, i) => stationary(40, 500 + i, 10 + i));
  big.push(next);
  small.push(next.slice(0, 3));
  // 33 patches of horizon for 70 series: 70 x 32 rollout tokens, also over the bound
  const H = 33 * 32;
  const fb = big.forecast({ predictionLength: H });
  const fs = small.forecast({ predictionLength: H });
  assert.deepEqual(fb.shape, [70, H, 9]);
  const d = maxAbsDiff(fb.quantileData.subarray(0, 3 * H * 9), fs.quantileData);
  assert.ok(d <= 1e-4 * Math.max(...small.scaler.scale), `first 3 series, split vs unsplit: ${d}`);
  for (const v of fb.quantileData) assert.ok(Number.isFinite(v));
});
