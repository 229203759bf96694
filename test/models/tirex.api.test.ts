// TiRex forecast API: quantile levels (exact, interpolated, extrapolated), typed-array and
// ragged inputs, progress callbacks, batching, and flat heap use over many batches.
// Sizes come from the golden fixture (test/fixtures/tirex).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCase, assertClose, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex, interpolateQuantiles } from '../../src/models/tirex/model.js';

const c: GoldenCase = loadCase('tirex');
const rt = c.meta.recommended_tolerance;
const tolQuant = { atol: rt.quantiles_atol as number, rtol: rt.quantiles_rtol as number };
const contexts = [...c.io.keys()].filter((k) => /^context_\d+$/.test(k)).sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).map((n) => c.f32(n));
const [B, H, Q] = c.shape('quantiles');

let be: WasmBackend;
let m: TiRex;
before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  m = await TiRex.fromPretrained(join(c.dir, 'model.safetensors'), { backend: be });
});
after(() => { m.dispose(); be.dispose(); });

test('result contract: levels, quantiles [series][t] -> levels, median, mean, errors', () => {
  const f = m.forecast(contexts, { predictionLength: H });
  assert.deepEqual([...f.quantileLevels], [...m.config.quantiles]);
  assert.equal(f.quantiles.length, B);
  assert.equal(f.quantiles[0].length, H);
  assert.equal(f.quantiles[0][0].length, Q);
  assert.equal(f.median.length, B);
  assert.equal(f.median[0].length, H);
  assert.deepEqual(f.errors, []);
  const mi = m.config.medianIndex;
  for (let s = 0; s < B; s++) for (let t = 0; t < H; t++) assert.equal(f.median[s][t], f.quantiles[s][t][mi]);
  assert.equal(f.mean, f.median);
});

test('quantileLevels: trained levels exact, others monotone between neighbours and beyond the edges', () => {
  const base = m.forecast(contexts, { predictionLength: H });
  const levels = [0.01, 0.05, 0.1, 0.15, 0.5, 0.55, 0.9, 0.95, 0.99];
  const f = m.forecast(contexts, { predictionLength: H, quantileLevels: levels });
  assert.deepEqual([...f.quantileLevels], levels);
  const trained = m.config.quantiles;
  for (let s = 0; s < B; s++) {
    for (let t = 0; t < H; t++) {
      const raw = base.quantiles[s][t], row = f.quantiles[s][t];
      const sorted = Float32Array.from(raw).sort();
      // exact trained levels
      assert.equal(row[2], raw[trained.indexOf(0.1)]);
      assert.equal(row[4], raw[trained.indexOf(0.5)]);
      assert.equal(row[6], raw[trained.indexOf(0.9)]);
      // interior: between the sorted neighbours, at the linear position
      assertClose('0.15', [row[3]], [(sorted[0] + sorted[1]) / 2], 1e-5, 1e-5);
      assertClose('0.55', [row[5]], [(sorted[4] + sorted[5]) / 2], 1e-5, 1e-5);
      // tails: beyond the edge, monotone, and wider further out
      assert.ok(row[0] <= row[1] && row[1] <= sorted[0], `lower tail s${s} t${t}: ${row[0]} ${row[1]} ${sorted[0]}`);
      assert.ok(row[8] >= row[7] && row[7] >= sorted[Q - 1], `upper tail s${s} t${t}`);
      if (sorted[1] > sorted[0]) assert.ok(row[0] < row[1]);
    }
  }
});

test('interpolateQuantiles: normal-score tail extension reproduces a normal distribution', () => {
  // quantiles of N(10, 2^2) at 0.1..0.9; the extrapolation matches a normal exactly
  const z = [-1.2815515655446004, -0.8416212335729143, -0.5244005127080407, -0.2533471031357997, 0, 0.2533471031357997, 0.5244005127080407, 0.8416212335729143, 1.2815515655446004];
  const lv = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const out = interpolateQuantiles(lv, z.map((v) => 10 + 2 * v), [0.01, 0.025, 0.975, 0.99, 0.3]);
  assertClose('normal tails', out, [10 - 2 * 2.3263478740408408, 10 - 2 * 1.959963984540054, 10 + 2 * 1.959963984540054, 10 + 2 * 2.3263478740408408, 10 + 2 * z[2]], 1e-4, 1e-5);
  // crossing inputs: every level follows the sorted values, trained ones too unless rawQuantiles
  const crossed = interpolateQuantiles([0.1, 0.5, 0.9], [3, 1, 5], [0.3, 0.1, 0.7]);
  assert.deepEqual([...crossed], [2, 1, 4]);
  const keptRaw = interpolateQuantiles([0.1, 0.5, 0.9], [3, 1, 5], [0.3, 0.1, 0.7], { rawQuantiles: true });
  assert.deepEqual([...keptRaw], [2, 3, 4]);
  assert.throws(() => interpolateQuantiles(lv, [1, 2], [0.5]), /values has 2 entries/);
});

test('typed arrays and ragged lists; onProgress once per batch; batchSize does not change results', () => {
  const progress: { done: number; total: number }[] = [];
  const ragged = [Float64Array.from(contexts[0]), Array.from(contexts[1].subarray(5)), contexts[2].subarray(3)];
  const all = m.forecast(ragged, { predictionLength: H, rawQuantiles: true });
  const split = m.forecast(ragged, { predictionLength: H, batchSize: 2, rawQuantiles: true, onProgress: (p) => progress.push(p) });
  assert.deepEqual(progress, [{ done: 2, total: 3 }, { done: 3, total: 3 }]);
  assertClose('batchSize 2 vs 64', split.quantileData, all.quantileData, tolQuant.atol, tolQuant.rtol);
  const gold = c.f32('quantiles');
  assertClose('Float64Array series 0', all.quantileData.subarray(0, H * Q), gold.subarray(0, H * Q), tolQuant.atol, tolQuant.rtol);
  // a bad series counts as done; progress still reaches total
  const p2: { done: number; total: number }[] = [];
  m.forecast([[], contexts[0]], { predictionLength: 4, batchSize: 1, onProgress: (p) => p2.push(p) });
  assert.deepEqual(p2, [{ done: 2, total: 2 }]);
  const p3: { done: number; total: number }[] = [];
  m.forecast([[NaN]], { predictionLength: 4, onProgress: (p) => p3.push(p) });
  assert.deepEqual(p3, [{ done: 1, total: 1 }]);
});

test('many small batches: heap use does not grow', () => {
  const many = Array.from({ length: 24 }, (_, i) => contexts[i % contexts.length].map((v) => v * (1 + i / 10)));
  m.forecast(many.slice(0, 4), { predictionLength: H, batchSize: 2 }); // warm: device caches made once
  const before = be.heap.bytesInUse, reservedBefore = be.heap.bytesReserved;
  let batches = 0;
  const f = m.forecast(many, { predictionLength: 2 * m.config.outputPatchSize, batchSize: 2, onProgress: () => {
    batches++;
    assert.equal(be.heap.bytesInUse, before, `heap in use after batch ${batches}`);
  } });
  assert.equal(batches, 12);
  assert.equal(f.errors.length, 0);
  assert.ok(f.quantileData.every(Number.isFinite));
  assert.equal(be.heap.bytesInUse, before);
  assert.equal(be.heap.bytesReserved, reservedBefore);
});

test('short series: skipping the shared fully-masked prefix gives the full computation\'s numbers', () => {
  const P = m.config.inputPatchSize, T = Math.ceil(m.config.trainCtxLen / P);
  // leading masked tokens: T-2 and T-4 (the batch starts after T-4 of them), and a series that fills the window
  const lens = [P + 5, 3 * P + 1];
  for (const batch of [[0], [0, 1]]) {
    const ser = batch.map((i) => contexts[i % B].subarray(contexts[i % B].length - lens[i]));
    const f = m.forecast(ser, { predictionLength: P, rawQuantiles: true });
    const full = m.forwardTokens(ser, 1, true); // every token computed from the zero state
    const Q = m.config.quantiles.length, Tp = full.outTokens;
    assert.equal(Tp, T);
    ser.forEach((_, s) => {
      for (let t = 0; t < P; t++) {
        for (let q = 0; q < Q; q++) {
          const v = full.quantilePreds[((s * Q + q) * Tp + Tp - 1) * P + t] * full.scale[s] + full.loc[s];
          assertClose(`series ${s} t${t} q${q}`, [f.quantiles[s][t][q]], [v], 1e-4, 1e-5);
        }
      }
    });
  }
});
