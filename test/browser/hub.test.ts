// Hub ids in a real page (headless Chromium): the mock hub of test/hub/ with CORS, on another
// origin than the demo server, serves the test fixtures as NX-AI/TiRex (plus a gated and a
// sharded repository). The forecasting demo forecasts from the hub id with Node's numbers for
// the local folder, shows download progress, and after a reload forecasts again from the
// Cache API without one file request to the hub; a gated repository without a token and a
// corrupted download give their messages on the page. XLSTMLarge.fromPretrained loads the
// sharded repository in the page, and the generation demo loads it by id. One Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import * as lib from '../../src/browser.js';
import { launchChromium } from './chromium.js';
import { compareValues } from './goldenReplay.js';
import { MockHub, sha256 } from '../hub/mockHub.js';
import { LM_DIR, TIREX_DIR, shardedLmRepo, tirexRepo } from '../hub/fixtureRepos.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CSV = join(ROOT, 'test', 'fixtures', 'csv', 'monthly_wide.csv');
const TOKENIZER = join(ROOT, 'test', 'fixtures', 'tokenizer');
const HORIZON = 12;
const SFT = new Uint8Array(readFileSync(join(TIREX_DIR, 'model.safetensors')));
const CFG = new Uint8Array(readFileSync(join(TIREX_DIR, 'config.json')));

let browser: Browser | undefined;
let server: { url: string; close(): Promise<void> };
let hub: MockHub;

before(async () => {
  hub = await MockHub.start({
    'NX-AI/TiRex': tirexRepo(), 'gated/TiRex': tirexRepo({ gatedToken: 'tk' }), 'broken/TiRex': tirexRepo(), 'test/lm': await shardedLmRepo(),
  }, { cors: true });
  const demo = await import(pathToFileURL(join(ROOT, 'scripts', 'demo.mjs')).href);
  server = await demo.startDemoServer({ port: 0 });
  browser = await launchChromium();
});
after(async () => { await browser?.close(); await server?.close(); await hub?.close(); });

/** The requests the mock hub got since `mark`, as 'server METHOD path'. */
const since = (mark: number) => hub.requests.slice(mark).map((q) => `${q.server} ${q.method} ${q.path}`);
const cacheKeys = (page: Page) => page.evaluate(async () => (await (await caches.open('xlstm-hub')).keys()).map((r) => r.url));

async function newPage(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + path);
  return { page, errors };
}

/** Runs a forecast from a hub id on the demo page; returns the status and every text the progress line showed. */
async function forecastFromHub(page: Page, errors: string[], id: string, token = ''): Promise<{ state: string; status: string; lines: string[] }> {
  await page.fill('#csv', await readFile(CSV, 'utf8'));
  await page.fill('#horizon', String(HORIZON));
  await page.fill('#hub-id', id); // focusing it picks the hub radio
  await page.fill('#hub-endpoint', hub.url);
  await page.fill('#hub-token', token);
  assert.equal(await page.isChecked('input[name="model"][value="hub"]'), true);
  await page.evaluate(() => {
    const w = globalThis as unknown as { hubLines: string[] };
    w.hubLines = [];
    const el = document.getElementById('hub-progress')!;
    new MutationObserver(() => w.hubLines.push(el.textContent!)).observe(el, { childList: true, characterData: true, subtree: true });
  });
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status')!.dataset.state!), undefined, { timeout: 30000 })
    .catch(() => { throw new Error(`the demo did not finish: ${errors.join('; ')}`); });
  const state = await page.$eval('#status', (e) => (e as HTMLElement).dataset.state!);
  return { state, status: (await page.textContent('#status'))!, lines: await page.evaluate(() => (globalThis as unknown as { hubLines: string[] }).hubLines) };
}

async function downloadCsv(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  return readFile((await download.path())!, 'utf8');
}

test('forecast demo from a hub id: Node numbers, progress in bytes and %, then after a reload no file is downloaded again', async () => {
  const { page, errors } = await newPage('examples/web/forecast.html');
  let mark = hub.requests.length;
  const first = await forecastFromHub(page, errors, 'NX-AI/TiRex');
  assert.equal(first.state, 'done', first.status);
  assert.match(first.status, /^Forecast of 2 series done in \d+ ms/);
  const commit = hub.commitOf('NX-AI/TiRex');
  const files = since(mark);
  assert.deepEqual(files.filter((r) => r.includes('/resolve/') || r.startsWith('cdn')), [
    `hub GET /NX-AI/TiRex/resolve/${commit}/config.json`,
    `hub GET /NX-AI/TiRex/resolve/${commit}/model.safetensors`, // 302 to the CDN, followed by the browser
    `cdn GET /cdn/${sha256(SFT)}?signature=abc`,
  ]);
  const bytes = SFT.length + CFG.length;
  const kb = (bytes / 1000).toFixed(1);
  assert.ok(first.lines.some((l) => new RegExp(`^downloading NX-AI/TiRex: [\\d.]+ K?B of ${kb} KB \\((\\d|[1-9]\\d)%\\)$`).test(l)), `a partial progress line: ${first.lines.join(' | ')}`);
  assert.ok(first.lines.includes(`downloading NX-AI/TiRex: ${kb} KB of ${kb} KB (100%)`), first.lines.join(' | '));
  assert.equal(await page.textContent('#hub-progress'), `NX-AI/TiRex@${commit.slice(0, 8)}: downloaded ${kb} KB (2 files).`);
  assert.equal(await page.$eval('#hub-progress', (e) => (e as HTMLElement).dataset.downloaded), String(bytes));
  const keys = await cacheKeys(page);
  assert.ok(keys.includes(`${hub.url}/NX-AI/TiRex/resolve/${commit}/model.safetensors`), keys.join('\n'));
  const csv1 = await downloadCsv(page);

  // The same numbers as Node's TiRex.fromPretrained of the local fixture folder.
  const be = await lib.WasmBackend.create({ threads: 2 });
  try {
    const model = await lib.TiRex.fromPretrained(TIREX_DIR, { backend: be });
    const series = lib.timeseries.parseSeriesCsv(await readFile(CSV, 'utf8')).series;
    const f = model.forecast(series.map((s) => Float32Array.from(s.values)), { predictionLength: HORIZON });
    model.dispose();
    const rows = csv1.trim().split('\n').slice(1).map((l) => l.split(','));
    assert.equal(rows.length, series.length * HORIZON);
    const got = Float64Array.from(rows.flatMap((r) => r.slice(2).map(Number)));
    const want = Float64Array.from(series.flatMap((_, s) => Array.from({ length: HORIZON }, (_, t) => [f.median[s][t], ...f.quantiles[s][t]]).flat()));
    const { bad, maxAbs } = compareValues(got, want, 1e-4, 1e-5);
    assert.ok(bad < 0, `value ${bad}: page ${got[bad]} vs Node ${want[bad]} (max |diff| ${maxAbs})`);
  } finally { be.dispose(); }

  // Reload: a new worker, nothing in memory; the Cache API has the files.
  await page.reload();
  mark = hub.requests.length;
  const second = await forecastFromHub(page, errors, 'NX-AI/TiRex');
  assert.equal(second.state, 'done', second.status);
  // 'main' is asked for its commit (one API call); no file request reaches the hub or the CDN
  assert.deepEqual(since(mark), ['hub GET /api/models/NX-AI/TiRex/revision/main?blobs=true']);
  assert.equal(await page.textContent('#hub-progress'), `NX-AI/TiRex@${commit.slice(0, 8)}: nothing downloaded, 2 files from the browser cache.`);
  assert.equal(await downloadCsv(page), csv1);
  await page.close();
  assert.deepEqual(errors, []);
});

test('forecast demo: a gated repository without a token says what to do, with the token it forecasts; a corrupted download is refused and not cached', async () => {
  const { page, errors } = await newPage('examples/web/forecast.html');
  const gated = await forecastFromHub(page, errors, 'gated/TiRex');
  assert.equal(gated.state, 'error');
  // X-Error-Code is readable across origins (exposed), so the message names the cause
  assert.match(gated.status, new RegExp(`^gated/TiRex@main: gated/TiRex needs authentication \\(HTTP 401, GatedRepo\\): .*accept its license on ${hub.url}/gated/TiRex.* In a web page, pass the token as hub\\.token\\.$`));
  let mark = hub.requests.length;
  const withToken = await forecastFromHub(page, errors, 'gated/TiRex', 'tk');
  assert.equal(withToken.state, 'done', withToken.status);
  // the token goes to the hub (after a preflight) and Chromium drops it on the redirect to the CDN
  const sent = hub.requests.slice(mark);
  assert.ok(sent.some((q) => q.method === 'OPTIONS') && sent.filter((q) => q.server === 'hub' && q.method === 'GET').every((q) => q.auth === 'Bearer tk'), since(mark).join('\n'));
  assert.deepEqual(sent.filter((q) => q.server === 'cdn').map((q) => [q.method, q.auth]), [['GET', undefined]]);

  const sha = sha256(SFT);
  hub.corrupt.add(sha);
  let broken;
  try { broken = await forecastFromHub(page, errors, 'broken/TiRex'); } finally { hub.corrupt.delete(sha); }
  assert.equal(broken.state, 'error');
  assert.match(broken.status, new RegExp(`^broken/TiRex@main: model\\.safetensors: the downloaded bytes do not match the hub's checksum \\(expected ${sha}, got [0-9a-f]{64}\\); nothing was cached$`));
  const keys = await cacheKeys(page);
  assert.ok(keys.some((k) => k.endsWith('/broken/TiRex/resolve/' + hub.commitOf('broken/TiRex') + '/config.json')), keys.join('\n'));
  assert.ok(!keys.some((k) => k.includes('/broken/TiRex/') && k.endsWith('/model.safetensors')), keys.join('\n'));
  await page.close();
  assert.deepEqual(errors, []);
});

test('XLSTMLarge.fromPretrained loads a sharded hub repository in the page with Node\'s logits; the generation demo loads it by id and reloads it from the cache', async () => {
  const ids = [[1, 5, 9, 2, 7, 3]];
  const be = await lib.WasmBackend.create({ threads: 1 });
  let want: Float32Array;
  let nodeText = '';
  try {
    const model = await lib.XLSTMLarge.fromPretrained(LM_DIR, { backend: be });
    const r = model.forward(ids);
    want = r.logits.toFloat32();
    const json = (f: string) => JSON.parse(readFileSync(join(TOKENIZER, f), 'utf8'));
    const tokenizer = lib.Tokenizer.fromJSON(json('tokenizer.json'), json('tokenizer_config.json'));
    nodeText = lib.generate(model, [tokenizer.encode('the world')], { tokenizer, maxNewTokens: 6 }).sequences[0].text ?? '';
    model.dispose();
  } finally { be.dispose(); }

  const { page, errors } = await newPage('examples/web/generate.html');
  const got = await page.evaluate(async ({ endpoint, ids }) => {
    const lib = await import('/dist/browser/xlstm.js' as string);
    const be = await lib.WasmBackend.create({ threads: 1 });
    try {
      const model = await lib.XLSTMLarge.fromPretrained('test/lm', { backend: be, hub: { endpoint, caches: null } });
      const out = Array.from(model.forward(ids).logits.toFloat32() as Float32Array);
      model.dispose();
      return out;
    } finally { be.dispose(); }
  }, { endpoint: hub.url, ids });
  const { bad, maxAbs } = compareValues(got, want, 1e-4, 1e-4);
  assert.ok(bad < 0, `logit ${bad}: page ${got[bad]} vs Node ${want[bad]} (max |diff| ${maxAbs})`);

  await page.fill('#hub-id', 'test/lm');
  await page.fill('#hub-endpoint', hub.url);
  await page.click('#hub-load');
  const waitStatus = async (states: string[]) => {
    await page.waitForFunction((s) => s.includes(document.getElementById('status')!.dataset.state!), states, { timeout: 30000 })
      .catch(async () => { throw new Error(`status ${await page.textContent('#status')}; ${errors.join('; ')}`); });
    return (await page.textContent('#status'))!;
  };
  assert.match(await waitStatus(['loaded', 'error']), /^test\/lm \(xlstm-large\) ready on \d+ threads?\.$/);
  assert.match((await page.textContent('#hub-progress'))!, /^test\/lm@[0-9a-f]{8}: downloaded [\d.]+ [KM]B \([3-9] files\), 3 files from the browser cache\.$/);
  await page.fill('#prompt', 'the world');
  await page.fill('#max-tokens', '6');
  await page.click('#generate');
  assert.equal(await waitStatus(['done', 'error']), 'done');
  assert.ok(nodeText.length > 0, 'premise: Node generated text');
  assert.deepEqual(await page.$$eval('#transcript .model', (e) => e.map((x) => x.textContent)), [nodeText]);

  const mark = hub.requests.length;
  await page.reload(); // the remembered id loads again, from the Cache API
  assert.match(await waitStatus(['restored', 'loaded', 'error']), /^test\/lm \(xlstm-large\) ready on .*conversation of 1 turn\(s\) restored/);
  assert.deepEqual(since(mark), ['hub GET /api/models/test/lm/revision/main?blobs=true']);
  assert.match((await page.textContent('#hub-progress'))!, /: nothing downloaded, [4-9] files from the browser cache\.$/);
  await page.close();
  assert.deepEqual(errors, []);
});
