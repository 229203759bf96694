// The browser bundle (dist/browser) in headless Chromium: the golden cases
// mlstm_kernels_basic, slstm_cell, xlstm_large and tirex replayed in a page give the
// official numbers within meta.json's tolerances and the same numbers as Node, once in a
// cross-origin isolated page (threads on Web Workers) and once without COOP/COEP (one
// thread). Also: the bundle's errors for a wrong kernel URL and for Node-only functions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import * as lib from '../../src/browser.js';
import { GOLDEN_CASES, replayCase, base64ToF32, compareValues, type CaseFiles, type CaseResult, type Check } from './goldenReplay.js';
import { startStaticServer, type StaticServer } from './server.js';
import { launchChromium } from './chromium.js';

/** The repository root (this file runs as dist/test/browser/golden.test.js). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Threads asked of the backend in both pages: more than one, whatever the machine's cores. */
const THREADS = 2;

const PAGE = `<!doctype html><meta charset="utf-8"><title>xlstm-ts golden</title>
<script type="module">
import * as lib from '/dist/browser/xlstm.js';
import { GOLDEN_CASES, replayCase, f32ToBase64 } from '/dist/test/browser/goldenReplay.js';
async function fetchBytes(url, optional) {
  const r = await fetch(url);
  if (optional && r.status === 404) return undefined;
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return new Uint8Array(await r.arrayBuffer());
}
async function fetchJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return r.json();
}
window.runGolden = async (threads) => {
  const be = await lib.WasmBackend.create({ threads });
  try {
    const results = [];
    for (const name of GOLDEN_CASES) {
      const dir = '/fixtures/' + name + '/';
      const files = { io: await fetchBytes(dir + 'io.safetensors'), config: await fetchJson(dir + 'config.json'),
        meta: await fetchJson(dir + 'meta.json'), model: await fetchBytes(dir + 'model.safetensors', true) };
      const t0 = performance.now();
      const r = await replayCase(lib, be, name, files);
      results.push({ ...r, ms: performance.now() - t0, checks: r.checks.map((c) => ({ ...c, values: f32ToBase64(c.values) })) });
    }
    return { crossOriginIsolated: globalThis.crossOriginIsolated, features: be.features, results };
  } finally { be.dispose(); }
};
window.errorMessages = async () => {
  const out = {};
  try { await lib.WasmBackend.create({ threads: 1, wasmBaseUrl: '/no-such-folder/' }); out.wasmUrl = 'no error'; } catch (e) { out.wasmUrl = String(e.message); }
  const be = await lib.WasmBackend.create({ threads: 1 });
  try { await lib.TorchCheckpoint.open('/fixtures/tirex/model.ckpt'); out.nodeOnly = 'no error'; } catch (e) { out.nodeOnly = String(e.message); }
  try { await lib.TiRex.fromPretrained('/fixtures/tirex', { backend: be }); out.pathInPage = 'no error'; } catch (e) { out.pathInPage = String(e.message); }
  be.dispose();
  return out;
};
window.defaultForecast = async (series, horizon) => {
  const be = await lib.WasmBackend.create({ threads: 1 });
  try {
    const m = await lib.loadDefaultForecaster({ backend: be });
    const f = m.forecast(series, { predictionLength: horizon });
    m.dispose();
    return { shape: f.shape, quantiles: f32ToBase64(f.quantileData) };
  } finally { be.dispose(); }
};
window.pageReady = true;
</script>`;

interface PageCheck extends Omit<Check, 'values'> { values: string }
interface PageResult extends Omit<CaseResult, 'checks'> { checks: PageCheck[]; ms: number }
interface PageRun { crossOriginIsolated: boolean; features: lib.WasmFeatures; results: PageResult[] }

let browser: Browser | undefined;
let nodeResults: Map<string, CaseResult>;
const servers: StaticServer[] = [];

async function caseFiles(name: string): Promise<CaseFiles> {
  const dir = join(ROOT, 'test', 'fixtures', name);
  const model = join(dir, 'model.safetensors');
  return {
    io: await readFile(join(dir, 'io.safetensors')),
    config: JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')),
    meta: JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')),
    model: existsSync(model) ? await readFile(model) : undefined,
  };
}

/** A page of a fresh server (with or without COOP/COEP), its errors collected for the messages. */
async function openPage(isolate: boolean): Promise<{ page: Page; errors: string[] }> {
  if (!browser) throw new Error('Chromium did not start (see the first failure)');
  const server = await startStaticServer({ root: ROOT, isolate, pages: { '/': PAGE } });
  servers.push(server);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(server.url);
  try {
    await page.waitForFunction(() => (globalThis as any).pageReady === true, undefined, { timeout: 15000 });
  } catch {
    throw new Error(`the test page did not load the bundle: ${errors.join('; ') || 'no page error (is dist/browser built? npm run build)'}`);
  }
  return { page, errors };
}

before(async () => {
  const ref = await lib.WasmBackend.create({ threads: THREADS });
  try {
    nodeResults = new Map();
    for (const name of GOLDEN_CASES) nodeResults.set(name, await replayCase(lib, ref, name, await caseFiles(name)));
  } finally { ref.dispose(); }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
});

test('Node replay of the golden cases passes (the reference for the browser runs)', () => {
  for (const [name, r] of nodeResults) {
    assert.ok(r.checks.length > 0, `${name}: nothing compared`);
    for (const c of r.checks) assert.ok(c.bad < 0, `Node ${name}/${c.name}: index ${c.bad}: got ${c.got}, expected ${c.expected} (atol ${c.atol}, rtol ${c.rtol})`);
  }
});

for (const isolate of [true, false]) {
  const label = isolate ? 'cross-origin isolated page (COOP/COEP), threads on Web Workers' : 'page without COOP/COEP, one thread';
  test(`Chromium, ${label}: golden cases within tolerance and equal to Node`, async () => {
    const { page, errors } = await openPage(isolate);
    const t0 = Date.now();
    const run = await page.evaluate((threads) => (globalThis as any).runGolden(threads), THREADS).catch((e: Error) => {
      throw new Error(`in the page: ${e.message}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}`);
    }) as PageRun;
    const wall = Date.now() - t0;
    await page.close();

    assert.equal(run.crossOriginIsolated, isolate, 'crossOriginIsolated of the page');
    if (isolate) {
      assert.equal(run.features.threads, THREADS, 'threads in an isolated page');
      assert.ok(run.features.threads > 1);
      assert.equal(run.features.singleThreadReason, undefined);
    } else {
      assert.equal(run.features.threads, 1, 'threads without cross-origin isolation');
      assert.match(run.features.singleThreadReason ?? '', /cross-origin isolated/);
    }
    assert.deepEqual(run.results.map((r) => r.name), [...GOLDEN_CASES]);
    const timings: string[] = [];
    for (const r of run.results) {
      timings.push(`${r.name} ${r.ms.toFixed(0)} ms`);
      assert.equal(r.threads, run.features.threads);
      const node = nodeResults.get(r.name)!;
      const nodeByName = new Map(node.checks.map((c) => [c.name, c]));
      if (isolate) assert.deepEqual(r.checks.map((c) => c.name), node.checks.map((c) => c.name), `${r.name}: the same outputs as in Node`);
      else assert.ok(r.checks.length > 0 && r.checks.every((c) => nodeByName.has(c.name)), `${r.name}: outputs known to the Node run`);
      if (r.expectedOutputs !== undefined) {
        assert.equal(new Set(r.checks.map((c) => c.name)).size, r.expectedOutputs, `${r.name}: every output meta.json lists was compared`);
      }
      for (const c of r.checks) {
        assert.ok(c.bad < 0, `Chromium ${r.name}/${c.name}: index ${c.bad}: got ${c.got}, expected ${c.expected} (atol ${c.atol}, rtol ${c.rtol}, max |diff| ${c.maxAbs})`);
        const values = base64ToF32(c.values);
        const ref = nodeByName.get(c.name)!;
        assert.equal(values.length, ref.values.length, `${r.name}/${c.name}: length`);
        // Same tolerance as against the official numbers: browser and Node may differ
        // only as much as either may differ from the reference.
        const vsNode = compareValues(values, ref.values, c.atol, c.rtol);
        assert.ok(vsNode.bad < 0, `${r.name}/${c.name}: Chromium ${values[vsNode.bad]} vs Node ${ref.values[vsNode.bad]} at ${vsNode.bad}`);
      }
    }
    console.log(`# Chromium ${isolate ? 'isolated' : 'not isolated'}: ${run.features.threads} thread(s), relaxed SIMD ${run.features.relaxedSimd}; ${timings.join(', ')}; ${wall} ms in all`);
  });
}

test('Chromium: loadDefaultForecaster fetches the shipped model beside the bundle and forecasts as in Node', async () => {
  // Two series long enough for several patches, one with a gap; the horizon spans two output patches.
  const series = [
    Array.from({ length: 300 }, (_, t) => 10 + 3 * Math.sin((2 * Math.PI * t) / 24) + 0.01 * t),
    Array.from({ length: 170 }, (_, t) => (t % 50 === 7 ? NaN : 100 - 0.2 * t + 5 * Math.cos((2 * Math.PI * t) / 12))),
  ];
  const horizon = 40;
  const be = await lib.WasmBackend.create({ threads: THREADS });
  let expected: lib.TiRexForecast;
  try {
    const m = await lib.loadDefaultForecaster({ backend: be });
    expected = m.forecast(series, { predictionLength: horizon });
    m.dispose();
  } finally { be.dispose(); }
  const { page, errors } = await openPage(false);
  const got = await page.evaluate(([s, h]) => (globalThis as any).defaultForecast(s, h), [series, horizon] as const).catch((e: Error) => {
    throw new Error(`in the page: ${e.message} ${errors.join('; ')}`);
  }) as { shape: number[]; quantiles: string };
  await page.close();
  assert.deepEqual(got.shape, expected.shape);
  assert.equal(got.shape[1], horizon);
  const q = base64ToF32(got.quantiles);
  assert.ok(q.every(Number.isFinite), 'finite forecasts');
  // The same kernels on one thread (page) and two (Node): only summation order may differ.
  const { bad, maxAbs } = compareValues(q, expected.quantileData, 1e-4, 1e-5);
  assert.ok(bad < 0, `default forecaster, Chromium vs Node at ${bad}: ${q[bad]} vs ${expected.quantileData[bad]} (max |diff| ${maxAbs})`);
});

test("Chromium: README's browser example runs as written (import path aside) on an isolated page", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## In a browser'));
  const html = /```html\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(html, 'README: an html example under "## In a browser"');
  const packagePath = './node_modules/xlstm-ts/dist/browser/xlstm.js';
  assert.ok(html.includes(packagePath), `README example imports ${packagePath}`);
  const server = await startStaticServer({ root: ROOT, isolate: true, pages: { '/readme.html': html.replace(packagePath, '/dist/browser/xlstm.js') } });
  servers.push(server);
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const logged = new Promise<unknown[]>((ok) => page.on('console', (m) => {
    if (m.type() === 'log') Promise.all(m.args().map((a) => a.jsonValue())).then(ok);
  }));
  await page.goto(server.url + 'readme.html');
  const timeout = new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`no console.log from the README example: ${errors.join('; ')}`)), 20000).unref());
  const [threads, median] = await Promise.race([logged, timeout]);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await page.close();
  assert.equal(threads, cores, 'an isolated page uses all cores by default');
  const values = Object.values(median as Record<string, number>);
  assert.equal(values.length, 4);
  assert.ok(values.every((v) => Number.isFinite(v) && v > 5 && v < 40), `medians near the series: ${values}`);
});

test('Chromium: a wrong kernel URL, a Node-only function and a path given to fromPretrained give errors that say what to do', async () => {
  const { page } = await openPage(false);
  const msgs = await page.evaluate(() => (globalThis as any).errorMessages()) as { wasmUrl: string; nodeOnly: string; pathInPage: string };
  await page.close();
  assert.match(msgs.wasmUrl, /\/no-such-folder\/kernels-relaxed\.wasm: HTTP 404; set options\.wasmBaseUrl/);
  assert.match(msgs.nodeOnly, /needs Node\.js \(node:fs\/promises\); in a browser, fetch the files and pass their bytes/);
  // fromPretrained takes hub ids in a page (test/browser/hub.test.ts); a path says what to do instead
  assert.match(msgs.pathInPage, /^TiRex\.fromPretrained: in a browser the source must be a hub id like NX-AI\/TiRex or org\/name@revision, got "\/fixtures\/tirex"; .*parseSafetensors/);
});
