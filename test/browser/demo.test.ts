// The forecasting demo (examples/web/forecast.html, served by `npm run demo`) driven end
// to end in headless Chromium: pick a CSV file, forecast with the shipped model, check the
// drawn plot in a screenshot, hover, zoom, download the CSV and compare it with Node's
// forecast of the same file; and a bad CSV gives an error on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import * as lib from '../../src/browser.js';
import { launchChromium } from './chromium.js';
import { decodePng, countColor } from './png.js';
import { compareValues } from './goldenReplay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CSV = join(ROOT, 'test', 'fixtures', 'csv', 'monthly_wide.csv');
const HORIZON = 12;
const MEDIAN = '#2563eb', BAND = '#bfdbfe';

let browser: Browser | undefined;
let server: { url: string; close(): Promise<void> };

before(async () => {
  const demo = await import(pathToFileURL(join(ROOT, 'scripts', 'demo.mjs')).href);
  server = await demo.startDemoServer({ port: 0 });
  browser = await launchChromium();
});
after(async () => { await browser?.close(); await server?.close(); });

async function openDemo(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1000, height: 1000 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url); // redirects to the forecasting page
  assert.match(page.url(), /\/examples\/web\/forecast\.html$/);
  return { page, errors };
}

async function waitDone(page: Page, errors: string[]): Promise<string> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status')!.dataset.state!), undefined, { timeout: 30000 })
    .catch(() => { throw new Error(`the demo did not finish: ${errors.join('; ')}`); });
  return page.textContent('#status') as Promise<string>;
}

test('forecast demo: CSV file -> forecast -> plot (screenshot), hover, zoom, download equal to Node', async () => {
  const { page, errors } = await openDemo();
  const empty = decodePng(await page.locator('#plot').screenshot());
  assert.equal(countColor(empty, MEDIAN), 0, 'no plot before the forecast');

  await page.setInputFiles('#csv-file', CSV);
  await page.waitForFunction(() => (document.getElementById('csv') as HTMLTextAreaElement).value.length > 0);
  await page.fill('#horizon', String(HORIZON));
  await page.click('#run');
  const status = await waitDone(page, errors);
  assert.match(status, /^Forecast of 2 series done in \d+ ms on \d+ threads?\./);
  const isolated = await page.evaluate(() => crossOriginIsolated);
  assert.equal(isolated, true, 'the demo server sends COOP/COEP');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.ok(status.includes(`on ${cores} thread`), `all ${cores} cores used: ${status}`);
  assert.equal(await page.evaluate(() => (document.getElementById('progress') as HTMLProgressElement).value), await page.evaluate(() => (document.getElementById('progress') as HTMLProgressElement).max));
  assert.deepEqual(await page.$$eval('#series option', (o) => o.map((x) => x.textContent)), ['sales', 'visits']);

  // The plot: median and 10-90% band drawn (pixels of their colours in a screenshot).
  const shot = decodePng(await page.locator('#plot').screenshot());
  assert.ok(countColor(shot, MEDIAN) > 100, `median pixels: ${countColor(shot, MEDIAN)}`);
  assert.ok(countColor(shot, BAND, 6) > 500, `band pixels: ${countColor(shot, BAND, 6)}`);
  const medianPoints = await page.$eval('#median', (p) => p.getAttribute('d')!.split(/[ML]/).filter(Boolean).length);
  assert.equal(medianPoints, HORIZON + 1, 'median joined to the last observation');

  // Hover near the right edge: the tooltip shows the last forecast step.
  const box = (await page.locator('#chart').boundingBox())!;
  await page.mouse.move(box.x + box.width - 18, box.y + box.height / 2);
  const tip = await page.textContent('#tooltip');
  assert.match(tip ?? '', /^2020-12-31: median [\d.]+, 10-90% [\d.]+ \.\. [\d.]+$/);

  // Zoom: fewer history points on screen, the same forecast.
  const histAll = await page.$eval('#history', (p) => p.getAttribute('d')!.split(/[ML]/).filter(Boolean).length);
  await page.check('#zoom');
  const histZoom = await page.$eval('#history', (p) => p.getAttribute('d')!.split(/[ML]/).filter(Boolean).length);
  assert.equal(histAll, 60);
  assert.equal(histZoom, 24, 'zoomed to the last 2 horizons of history');

  // Download and compare with Node's forecast of the same file.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'forecast.csv');
  const text = await readFile((await download.path())!, 'utf8');
  await page.close();
  const rows = text.trim().split('\n').map((l) => l.split(','));
  const be = await lib.WasmBackend.create({ threads: 2 });
  try {
    const model = await lib.loadDefaultForecaster({ backend: be });
    const series = lib.timeseries.parseSeriesCsv(await readFile(CSV, 'utf8')).series;
    const f = model.forecast(series.map((s) => Float32Array.from(s.values)), { predictionLength: HORIZON });
    model.dispose();
    assert.deepEqual(rows[0], ['id', 'timestamp', 'median', ...f.quantileLevels.map(String)]);
    assert.equal(rows.length, 1 + series.length * HORIZON);
    assert.deepEqual(rows.slice(1, 3).map((r) => r.slice(0, 2)), [['sales', '2020-01-31'], ['sales', '2020-02-29']]);
    assert.deepEqual(rows[1 + HORIZON].slice(0, 2), ['visits', '2020-01-31']);
    const got = Float64Array.from(rows.slice(1).flatMap((r) => r.slice(2).map(Number)));
    const want = Float64Array.from(series.flatMap((_, s) => Array.from({ length: HORIZON }, (_, t) => [f.median[s][t], ...f.quantiles[s][t]]).flat()));
    const { bad, maxAbs } = compareValues(got, want, 1e-4, 1e-5);
    assert.ok(bad < 0, `downloaded value ${bad}: ${got[bad]} vs Node ${want[bad]} (max |diff| ${maxAbs})`);
  } finally { be.dispose(); }
  assert.deepEqual(errors, []);
});

test('forecast demo: a CSV with a bad cell shows the error on the page', async () => {
  const { page, errors } = await openDemo();
  await page.fill('#csv', 'date,a\n2020-01-01,1\n2020-01-02,abc\n2020-01-03,3\n');
  await page.click('#run');
  const status = await waitDone(page, errors);
  const state = await page.$eval('#status', (e) => (e as HTMLElement).dataset.state);
  await page.close();
  assert.equal(state, 'error');
  assert.match(status, /abc/);
});

test('forecast demo with a TiRex-2 folder: target and future-covariate columns, download equal to Node; a TiRex refuses the columns', async () => {
  // a small random TiRex-2 in the official layout (perturbed, so every path carries signal)
  const tmp = mkdtempSync(join(tmpdir(), 'xlstm-demo-tirex2-'));
  try {
    const folder = join(tmp, 'tiny-tirex2');
    const json = lib.tirex2ConfigJson({ embeddingDim: 16, numHeads: 2, numBlocks: 2, patchSize: 8, contextLength: 48, futureLength: 16, inputFfDim: 32, hExpand: 2 });
    const cfg = lib.resolveTiRex2Config(json);
    await lib.saveTiRex2Checkpoint(folder, json, cfg, lib.randomTiRex2Weights(cfg, 7, 0.05));
    // wide layout: 40 days of sales and promo, then the horizon's rows with the promo only
    const H = 8, T = 40;
    const lines = ['date,sales,promo'];
    for (let t = 0; t < T + H; t++) {
      const day = new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10);
      const promo = t % 10 < 3 ? 1 : 0;
      lines.push(`${day},${t < T ? (20 + 5 * Math.sin(t / 2) + 8 * promo).toFixed(3) : ''},${promo}`);
    }
    const csv = lines.join('\n') + '\n';
    const { page, errors } = await openDemo();
    await page.check('input[name="model"][value="folder"]');
    await page.setInputFiles('#model-folder', folder);
    await page.fill('#csv', csv);
    await page.fill('#horizon', String(H));
    await page.fill('#target-cols', 'sales');
    await page.fill('#future-cols', 'promo');
    await page.click('#run');
    const status = await waitDone(page, errors);
    assert.match(status, /^Forecast of 1 series done in \d+ ms on \d+ threads?\.$/);
    assert.deepEqual(await page.$$eval('#series option', (o) => o.map((x) => x.textContent)), ['sales']);
    const shot = decodePng(await page.locator('#plot').screenshot());
    assert.ok(countColor(shot, MEDIAN) > 50, `median pixels: ${countColor(shot, MEDIAN)}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const rows = (await readFile((await download.path())!, 'utf8')).trim().split('\n').map((l) => l.split(','));
    // the same file through the CLI's layout rules and TiRex2.forecast in Node
    const be = await lib.WasmBackend.create({ threads: 2 });
    try {
      const model = await lib.TiRex2.fromPretrained(folder, { backend: be });
      const cols = { target: ['sales'], future: ['promo'] };
      const x = lib.timeseries.covariateModelInput(lib.timeseries.parseCovariateCsv(csv, cols)[0], cols, H, 'forecast');
      assert.ok(typeof x !== 'string', String(x));
      const f = model.forecast([{ target: Float32Array.from(x.target[0]), futureCovariates: [Float32Array.from(x.future[0])] }], { predictionLength: H });
      const plain = model.forecast([{ target: Float32Array.from(x.target[0]) }], { predictionLength: H });
      model.dispose();
      assert.deepEqual(rows[0], ['id', 'timestamp', 'median', ...f.quantileLevels.map(String)]);
      assert.equal(rows.length, 1 + H);
      assert.deepEqual(rows.slice(1).map((r) => r.slice(0, 2)), x.futureLabels.map((d) => ['sales', d]));
      assert.equal(rows[1][1], '2024-02-10');
      const Q = f.quantileLevels.length;
      const got = Float64Array.from(rows.slice(1).flatMap((r) => r.slice(2).map(Number)));
      const want = Float64Array.from(Array.from({ length: H }, (_, t) => [f.series[0].median[t], ...Array.from({ length: Q }, (_, q) => f.series[0].quantiles[q * H + t])]).flat());
      const { bad, maxAbs } = compareValues(got, want, 1e-4, 1e-5);
      assert.ok(bad < 0, `downloaded value ${bad}: ${got[bad]} vs Node ${want[bad]} (max |diff| ${maxAbs})`);
      // the page used the covariate: the forecast without it differs
      assert.ok(plain.series[0].median.some((v, t) => Math.abs(v - f.series[0].median[t]) > 1e-3), 'the promo column changes the forecast');
    } finally { be.dispose(); }
    // the shipped TiRex is univariate: named columns are an error on the page
    await page.check('input[name="model"][value="default"]');
    await page.click('#run');
    await waitDone(page, errors);
    assert.equal(await page.$eval('#status', (e) => (e as HTMLElement).dataset.state), 'error');
    assert.match((await page.textContent('#status'))!, /need a TiRex-2 model .*clear the column names/);
    await page.close();
    assert.deepEqual(errors, []);
  } finally { rmSync(tmp, { recursive: true, force: true }); }
});

test('bench page: a quick run in its worker measures every row on all cores', async () => {
  const { page, errors } = await openDemo();
  await page.goto(server.url + 'examples/web/bench.html');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(await page.inputValue('#threads'), String(cores), 'an isolated page offers all cores');
  const r = await page.evaluate((t) => (globalThis as any).runBench({ threads: t, quick: true }), cores)
    .catch((e: Error) => { throw new Error(`bench: ${e.message} ${errors.join('; ')}`); }) as { threads: number; rows: { name: string; value: number; unit: string }[] };
  await page.close();
  assert.equal(r.threads, cores);
  assert.deepEqual(r.rows.map((x) => x.unit), ['forecasts/s', 'tokens/s', 'tokens/s']);
  for (const row of r.rows) assert.ok(Number.isFinite(row.value) && row.value > 0, `${row.name}: ${row.value}`);
});
