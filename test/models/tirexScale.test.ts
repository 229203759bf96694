// TiRex forecasts at any scale (issue 10, section 2 and the API side of section 3):
// affine equivariance from 1e-30 to 1e30, results float32 cannot hold and non-finite weights
// as per-series errors, ordered quantiles (raw with rawQuantiles / --raw-quantiles), and
// limits refused before any work. Models: the shipped default forecaster (trained, so its
// forecasts are realistic) and the golden fixture (random weights: every raw row crosses).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCase, FIXTURES, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { TiRex, windowScaler } from '../../src/models/tirex/model.js';
import { loadDefaultForecaster } from '../../src/models/tirex/defaultForecaster.js';
import { ArgumentError, LimitError } from '../../src/errors.js';
import { parseSeriesCsv } from '../../src/timeseries/csv.js';

const c: GoldenCase = loadCase('tirex');
const goldenContexts = [...c.io.keys()].filter((k) => /^context_\d+$/.test(k)).sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).map((n) => c.f32(n));
const F32_MAX = 3.4028234663852886e38;

let be: WasmBackend;
let dflt: TiRex;
let golden: TiRex;
before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  dflt = await loadDefaultForecaster({ backend: be });
  golden = await TiRex.fromPretrained(c.dir, { backend: be });
});
after(() => { dflt.dispose(); golden.dispose(); be.dispose(); });

/** A seasonal series with a trend, noise-like wiggles and two gaps (deterministic). */
function series(n: number, phase = 0): number[] {
  return Array.from({ length: n }, (_, i) => (i === 40 || i === 41 || i === n - 7 ? NaN
    : 10 + 3 * Math.sin((i + phase) / 5) + 0.01 * i + ((i * 7 + phase) % 5) * 0.3));
}

test('affine equivariance: forecast(a*x + b) = a*forecast(x) + b for a in 1e-30..1e30', (t) => {
  const xs = [series(300), series(170, 3)];
  const H = 2 * dflt.config.outputPatchSize; // two passes: the second one sees the NaN-extended context
  const base = dflt.forecast(xs, { predictionLength: H });
  assert.deepEqual(base.errors, []);
  const sd = xs.map((x) => windowScaler(x).scale);
  const cases: [number, number][] = [
    [1e-30, 0], [1e-30, 3e-28], [1e-10, 0], [1e-10, -2e-7], [1e-10, 1], [1, 0], [1, 1e6], [1, -1e9],
    [1e10, 0], [1e10, -5e12], [1e30, 0], [1e30, 1e32], [2 ** -100, 2 ** -90], [7.3e-21, 0],
  ];
  let worst = 0, worstUnshifted = 0;
  for (const [a, b] of cases) {
    const f = dflt.forecast(xs.map((x) => x.map((v) => a * v + b)), { predictionLength: H });
    assert.deepEqual(f.errors, [], `a=${a} b=${b}`);
    assert.equal(f.shape[2], base.shape[2]);
    const Q = f.shape[2];
    for (let s = 0; s < xs.length; s++) {
      for (let i = s * H * Q; i < (s + 1) * H * Q; i++) {
        const want = a * base.quantileData[i] + b, got = f.quantileData[i];
        // Both forecasts are rounded to float32 once (2^-24 relative each), and the model sees
        // float32 tokens that may differ by one rounding (1e-5 of a*sd covers that, with bf16
        // roundings inside the sLSTM). float64 cancellation in a*x + b (eps64*|b| per input)
        // stays far below one float32 step of the result, so a large b costs no extra term:
        // the forecast of 1 + 1e-10*x is only as fine as float32 values near 1.
        const rounding = 2 ** -24 * (Math.abs(got) + Math.abs(a * base.quantileData[i]) + Math.abs(want));
        const model = Math.abs(got - want) - rounding;
        worst = Math.max(worst, model / (a * sd[s]));
        if (b === 0) worstUnshifted = Math.max(worstUnshifted, Math.abs(got - want) / (a * sd[s]));
        assert.ok(Math.abs(got - want) <= 1e-5 * a * sd[s] + rounding, `a=${a} b=${b} series ${s} index ${i}: got ${got}, want ${want}`);
      }
      for (let k = s * H; k < (s + 1) * H; k++) assert.equal(f.meanData[k], f.quantileData[k * Q + dflt.config.medianIndex]);
    }
  }
  t.diagnostic(`largest |difference| with b = 0: ${worstUnshifted.toExponential(2)} x a*sd; beyond the float32 rounding bound: ${worst.toExponential(2)} x a*sd`);
  assert.ok(worstUnshifted > 0 && worstUnshifted < 1e-5);
});

test('constant series keep their unit; an all-zero series forecasts exactly 0', () => {
  const H = 8;
  const one = dflt.forecast([[4, 4, 4, 4, 4], new Array(50).fill(0)], { predictionLength: H });
  assert.deepEqual(one.errors, []);
  const Q = one.shape[2];
  for (const a of [1e-30, 1e25]) {
    const f = dflt.forecast([[4, 4, 4, 4, 4].map((v) => v * a), new Array(50).fill(0)], { predictionLength: H });
    assert.deepEqual(f.errors, []);
    for (let i = 0; i < H * Q; i++) assert.ok(Math.abs(f.quantileData[i] - a * one.quantileData[i]) <= 1e-5 * a * 4, `a=${a} index ${i}`);
  }
  // constant 4: spread from the model around 4 (official: scale |c| + 1e-5; here |c|)
  assert.ok(one.quantileData.subarray(0, H * Q).some((v) => v !== 4));
  assert.ok(one.quantileData.subarray(H * Q).every((v) => v === 0), 'all-zero series: every level exactly 0');
  const st = windowScaler([0, 0, NaN, 0]);
  assert.deepEqual(st, { loc: 0, scale: 0, observed: 3 });
  // no square overflows or underflows: a ramp at 1e-300 and at 1e300 has the same relative scale
  const small = windowScaler([1e-300, 2e-300, 3e-300]), large = windowScaler([1e300, 2e300, 3e300]);
  assert.ok(Math.abs(small.scale / 1e-300 - Math.sqrt(2 / 3)) < 1e-15 && Math.abs(large.scale / 1e300 - Math.sqrt(2 / 3)) < 1e-15);
});

test('long horizons: windows with nothing observed keep the last scaler, so the tail scales too', () => {
  const L0 = golden.config.trainCtxLen, P = golden.config.outputPatchSize;
  const H = L0 + 2 * P; // the last passes see an all-NaN window
  const x = Array.from(goldenContexts[1]);
  const base = golden.forecast(x, { predictionLength: H });
  const a = 1e-20;
  const f = golden.forecast(x.map((v) => v * a), { predictionLength: H });
  assert.deepEqual(f.errors, []);
  const sd = windowScaler(x).scale;
  for (let i = 0; i < base.quantileData.length; i++) {
    const want = a * base.quantileData[i];
    assert.ok(Math.abs(f.quantileData[i] - want) <= 1e-5 * a * sd + 2 ** -23 * Math.abs(want), `index ${i}`);
  }
  // the tail is in the series' units, not the official loc 0 / scale 1 (which would give O(1) values)
  const Q = f.shape[2], tail = f.quantileData.subarray((H - 1) * Q, H * Q);
  assert.ok(tail.every((v) => Math.abs(v) < 1e-16), `tail ${tail[0]}`);
});

test('results beyond float32 and an all-NaN context window are errors, the other series still forecast', () => {
  const H = 8;
  const x = series(200);
  const f = dflt.forecast([x, x.map((v) => v * 1e38), x.map((v) => v * 1e300), x.map((v) => v * 1e36), [...x.slice(0, 20), ...new Array(dflt.config.trainCtxLen).fill(NaN)]], { predictionLength: H });
  assert.deepEqual(f.errors.map((e) => e.series), [1, 2, 4]);
  assert.match(f.errors[0].message, /^TiRex\.forecast: context\[1\]: the forecast at step \d+ \(level 0\.\d\) is [\d.]+e\+3\d, beyond the float32 range/);
  assert.match(f.errors[1].message, /context\[2\]: the forecast at step 0 \(level 0\.1\) is [\d.]+e\+30\d, beyond the float32 range/);
  assert.match(f.errors[2].message, new RegExp(`context\\[4\\] has no observed value in its last ${dflt.config.trainCtxLen} values \\(the model's context window\\); the 20 observed ones are older`));
  const Q = f.shape[2];
  for (const s of [1, 2, 4]) assert.ok(f.quantileData.subarray(s * H * Q, (s + 1) * H * Q).every(Number.isNaN) && f.median[s].every(Number.isNaN));
  for (const s of [0, 3]) assert.ok(f.quantileData.subarray(s * H * Q, (s + 1) * H * Q).every((v) => Number.isFinite(v) && Math.abs(v) <= F32_MAX));
  // 1e36 scale: 1e36 times the unit-scale forecast (tolerance as in the equivariance test)
  const sd = windowScaler(x).scale;
  for (let i = 0; i < H * Q; i++) {
    const want = 1e36 * f.quantileData[i];
    assert.ok(Math.abs(f.quantileData[3 * H * Q + i] - want) <= 1e-5 * 1e36 * sd + 2 ** -23 * Math.abs(want), `index ${i}`);
  }
});

test('non-finite weights: every series is an error naming the tensor, never NaN values', async () => {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of c.model()) {
    const d = Float32Array.from(t.data as Float32Array);
    if (k === 'output_patch_embedding.output_layer.bias') d[3] = NaN;
    tensors.set(k, new Tensor('f32', t.shape, d));
  }
  const m = await TiRex.fromTensors(c.config, tensors, { backend: be });
  try {
    const f = m.forecast(goldenContexts, { predictionLength: 8 });
    assert.deepEqual(f.errors.map((e) => e.series), [0, 1, 2]);
    for (const e of f.errors) {
      assert.match(e.message, /the model's output at step 3 \(level 0\.1\) is NaN: the model's weights hold non-finite values \(first in output_patch_embedding\.output_layer\.bias\)/);
    }
    assert.ok(f.quantileData.every(Number.isNaN));
  } finally { m.dispose(); }
});

function crossingRows(data: Float32Array, Q: number): number {
  let n = 0;
  for (let r = 0; r < data.length / Q; r++) for (let q = 1; q < Q; q++) if (data[r * Q + q] < data[r * Q + q - 1]) { n++; break; }
  return n;
}

test('quantiles are ordered by default (sorted per step), raw with rawQuantiles; the median is the ordered 0.5', (t) => {
  const H = c.shape('quantiles')[1];
  const raw = golden.forecast(goldenContexts, { predictionLength: H, rawQuantiles: true });
  const ord = golden.forecast(goldenContexts, { predictionLength: H });
  const Q = ord.shape[2], rows = raw.quantileData.length / Q;
  const crossed = crossingRows(raw.quantileData, Q);
  t.diagnostic(`golden model: ${crossed} of ${rows} raw rows cross; ordered: ${crossingRows(ord.quantileData, Q)}`);
  assert.ok(crossed > rows / 2, 'the fixture model crosses (so the test can fail)');
  assert.equal(crossingRows(ord.quantileData, Q), 0);
  const mi = golden.config.medianIndex;
  for (let r = 0; r < rows; r++) {
    const sorted = raw.quantileData.slice(r * Q, (r + 1) * Q).sort();
    assert.deepEqual(ord.quantileData.subarray(r * Q, (r + 1) * Q), sorted, `row ${r}`);
    assert.equal(ord.meanData[r], sorted[mi]);
    assert.equal(raw.meanData[r], raw.quantileData[r * Q + mi]);
  }
  // the shipped model crosses too, less often
  const d = dflt.forecast([series(300), series(170, 3)], { predictionLength: 64, rawQuantiles: true });
  t.diagnostic(`default forecaster: ${crossingRows(d.quantileData, 9)} of ${d.quantileData.length / 9} raw rows cross`);

  // requested levels (interpolated, extrapolated, out of order) are monotone in the level
  const levels = [0.9, 0.01, 0.5, 0.25, 0.1, 0.99, 0.75, 0.6];
  const order = levels.map((l, i) => [l, i] as const).sort((x, y) => x[0] - y[0]).map(([, i]) => i);
  for (const rawQuantiles of [false, true]) {
    const f = golden.forecast(goldenContexts, { predictionLength: H, quantileLevels: levels, rawQuantiles });
    for (let r = 0; r < f.quantileData.length / levels.length; r++) {
      const row = f.quantileData.subarray(r * levels.length, (r + 1) * levels.length);
      const mono = order.every((i, j) => j === 0 || row[order[j - 1]] <= row[i]);
      if (!rawQuantiles) assert.ok(mono, `row ${r}: ${Array.from(row)}`);
      // trained levels: ordered values by default, the model's own with rawQuantiles
      const src = rawQuantiles ? raw.quantileData : ord.quantileData;
      assert.equal(row[0], src[r * Q + golden.config.quantiles.indexOf(0.9)]);
      assert.equal(row[2], src[r * Q + mi]);
      assert.equal(f.meanData[r], src[r * Q + mi]);
    }
  }
});

test('arguments are checked up front (ArgumentError), memory limits refused within a second (LimitError)', (t) => {
  const x = [series(100)];
  const bad: [unknown, RegExp][] = [
    [{ predictionLength: 0 }, /predictionLength must be a positive integer, got 0/],
    [{ predictionLength: 8, batchSize: 1.5 }, /batchSize must be an integer >= 1, got 1\.5/],
    [{ predictionLength: 8, quantileLevels: [0.5, 0] }, /quantileLevels\[1\] must be a number in \(0, 1\) \(exclusive\), got 0/],
    [{ predictionLength: 8, rawQuantiles: 'yes' }, /rawQuantiles must be true or false, got yes/],
  ];
  for (const [o, re] of bad) assert.throws(() => dflt.forecast(x, o as any), (e: unknown) => e instanceof ArgumentError && re.test(e.message));
  assert.throws(() => dflt.forecast([], { predictionLength: 8 }), (e: unknown) => e instanceof ArgumentError && /context must hold at least one series/.test(e.message));

  const t0 = performance.now();
  const limits: [object, string, number][] = [
    [{ predictionLength: 1_000_000_000 }, 'predictionLength', 1e9],
    [{ predictionLength: 8, batchSize: 1_000_000 }, 'batchSize', 1e6],
    [{ predictionLength: 50_000_000, maxAcceleratedRolloutSteps: 50_000_000 }, 'maxAcceleratedRolloutSteps', 5e7],
  ];
  const found: number[] = [];
  for (const [o, option, value] of limits) {
    assert.throws(() => dflt.forecast(x, { ...o } as any), (e: unknown) => {
      assert.ok(e instanceof LimitError, String(e));
      assert.equal(e.option, option);
      assert.equal(e.value, value);
      assert.ok(e.limit >= 1 && e.limit < value, `limit ${e.limit}`);
      assert.match(e.message, new RegExp(`^${option} ${value} is above the limit ${e.limit} \\(.*GiB`));
      found.push(e.limit);
      return true;
    });
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `refused in ${ms} ms`);
  t.diagnostic(`3 limits refused in ${ms.toFixed(1)} ms; limits: ${found.join(', ')}`);
  // the limits are real sizes: a horizon at the limit is accepted by the check (not run here),
  // and the batch limit allows what a normal call needs
  const [maxH, maxBatch] = found;
  assert.ok(maxH > 1_000_000, `predictionLength limit ${maxH}`);
  assert.ok(maxBatch >= 256, `batchSize limit ${maxBatch}`);
  // the same checks without a call (for callers that refuse before preparing their data)
  assert.throws(() => dflt.validateForecastOptions(1, { predictionLength: maxH + 1 }), (e: unknown) => e instanceof LimitError && e.limit === maxH);
  dflt.validateForecastOptions(1, { predictionLength: maxH });
  assert.throws(() => dflt.validateForecastOptions(0, { predictionLength: 8 }), /seriesCount must be a positive integer, got 0/);
  // more series lower the horizon limit (the results grow with series x horizon)
  assert.throws(() => dflt.forecast(new Array(100).fill(x[0]), { predictionLength: Math.ceil(maxH / 50) }), (e: unknown) => e instanceof LimitError && e.option === 'predictionLength');
});

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

test('CLI --raw-quantiles: forecast writes the raw levels, evaluate scores them (sorting never scores worse)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-raw-'));
  const wide = join(FIXTURES, 'csv', 'monthly_wide.csv');
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--model', c.dir, '--input', wide, '--threads', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  try {
    const H = 6;
    const data = parseSeriesCsv(readFileSync(wide, 'utf8'));
    for (const rawQuantiles of [false, true]) {
      const out = join(dir, `out${rawQuantiles}.csv`);
      const r = run('forecast', '--horizon', String(H), '--output', out, ...(rawQuantiles ? ['--raw-quantiles'] : []));
      assert.equal(r.status, 0, r.stderr);
      const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
      const lib = golden.forecast(data.series.map((s) => Float32Array.from(s.values)), { predictionLength: H, rawQuantiles });
      let crossed = 0;
      rows.forEach((row, k) => {
        const s = Math.floor(k / H), h = k % H;
        const vals = row.slice(3).map(Number);
        vals.forEach((v, q) => assert.ok(Math.abs(v - lib.quantiles[s][h][q]) <= 1e-6 * Math.abs(v), `row ${k} level ${q}`));
        if (vals.some((v, q) => q > 0 && v < vals[q - 1])) crossed++;
      });
      assert.ok(rawQuantiles ? crossed > 0 : crossed === 0, `${crossed} crossing rows (raw ${rawQuantiles})`);
    }
    const wqlOf = (...flag: string[]) => {
      const r = run('evaluate', '--horizon', '6', '--json', ...flag);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).aggregate.wql as number;
    };
    const sortedWql = wqlOf(), rawWql = wqlOf('--raw-quantiles');
    assert.ok(sortedWql <= rawWql && sortedWql !== rawWql, `WQL sorted ${sortedWql} vs raw ${rawWql}`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
