// The text-generation demo (examples/web/generate.html) driven in headless Chromium with a
// small xLSTM Large (test/fixtures/xlstm_large + the test tokenizer): pick the folder,
// generate (streamed text, tokens/s, G-NLL equal to Node's greedy run), reload the page,
// and continue the conversation from the state saved in IndexedDB: the second turn feeds
// only the new tokens and gives Node's continuation from the same state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import * as lib from '../../src/browser.js';
import { launchChromium } from './chromium.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIX = join(ROOT, 'test', 'fixtures');
const TURN1 = 'the world', TURN2 = ' hello', MAX_NEW = 8;

let browser: Browser | undefined;
let server: { url: string; close(): Promise<void> };
const tmp = mkdtempSync(join(tmpdir(), 'xlstm-gen-'));
const folder = join(tmp, 'tiny-xlstm');

before(async () => {
  mkdirSync(folder);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIX, 'xlstm_large', f), join(folder, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(FIX, 'tokenizer', f), join(folder, f));
  const demo = await import(pathToFileURL(join(ROOT, 'scripts', 'demo.mjs')).href);
  server = await demo.startDemoServer({ port: 0 });
  browser = await launchChromium();
});
after(async () => { await browser?.close(); await server?.close(); rmSync(tmp, { recursive: true, force: true }); });

/** Node's two turns: the first from the empty state, the second from the state after it. */
async function nodeTurns() {
  const be = await lib.WasmBackend.create({ threads: 2 });
  const json = (f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
  const tokenizer = lib.Tokenizer.fromJSON(json('tokenizer.json'), json('tokenizer_config.json'));
  const model = await lib.XLSTMLarge.fromSource(lib.parseSafetensors(readFileSync(join(folder, 'model.safetensors'))), json('config.json'), { backend: be });
  try {
    const ids1 = tokenizer.encode(TURN1);
    const r1 = lib.generate(model, [ids1], { tokenizer, maxNewTokens: MAX_NEW, returnState: true, gNll: true });
    const s1 = r1.sequences[0];
    const ids2 = [s1.tokens[s1.tokens.length - 1], ...tokenizer.encode(TURN2, { addBos: false })];
    const r2 = lib.generate(model, [ids2], { tokenizer, maxNewTokens: MAX_NEW, returnState: true, gNll: true, state: r1.state });
    // The same prompt without the state: its G-NLL must differ, or the check below could not see a lost state.
    const fresh = lib.generate(model, [ids2], { tokenizer, maxNewTokens: MAX_NEW, gNll: true }).sequences[0];
    return { ids1, ids2, first: s1, second: r2.sequences[0], fresh };
  } finally { model.dispose(); be.dispose(); }
}

async function waitState(page: Page, states: string[], errors: string[]): Promise<string> {
  await page.waitForFunction((s) => s.includes(document.getElementById('status')!.dataset.state!), states, { timeout: 30000 })
    .catch(async () => { throw new Error(`status ${await page.textContent('#status')}; page errors: ${errors.join('; ')}`); });
  return (await page.textContent('#status'))!;
}

async function turn(page: Page, text: string, errors: string[]) {
  await page.fill('#prompt', text);
  await page.fill('#max-tokens', String(MAX_NEW));
  await page.click('#generate');
  const status = await waitState(page, ['done', 'error'], errors);
  assert.equal(status, 'done');
  const stats = (await page.textContent('#stats'))!;
  const m = /^prompt (\d+) tokens, generated (\d+) tokens, ([\d.]+) tokens\/s, G-NLL ([\d.]+), state \d+ KiB saved$/.exec(stats);
  assert.ok(m, `stats line: ${stats}`);
  const model = await page.$$eval('#transcript .model', (e) => e.map((x) => x.textContent));
  return { promptTokens: Number(m[1]), tokens: Number(m[2]), tokensPerSecond: Number(m[3]), gNll: Number(m[4]), text: model[model.length - 1] };
}

test('generation demo: streamed greedy text, tokens/s and G-NLL as in Node; after a reload the saved state continues', async () => {
  const node = await nodeTurns();
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + 'examples/web/generate.html');
  await page.setInputFiles('#model-folder', folder);
  const loaded = await waitState(page, ['loaded', 'error'], errors);
  assert.match(loaded, /^tiny-xlstm \(xlstm-large\) ready on \d+ threads?\.$/);

  const t1 = await turn(page, TURN1, errors);
  assert.equal(t1.text, node.first.text);
  assert.equal(t1.promptTokens, node.ids1.length);
  assert.equal(t1.tokens, node.first.tokens.length);
  assert.ok(t1.tokensPerSecond > 0);
  assert.ok(Math.abs(t1.gNll - node.first.gNll!) < 1e-3, `G-NLL ${t1.gNll} vs Node ${node.first.gNll}`);

  await page.reload();
  const restored = await waitState(page, ['restored', 'loaded', 'error'], errors);
  assert.match(restored, /conversation of 1 turn\(s\) restored from its saved state\.$/);
  assert.deepEqual(await page.$$eval('#transcript .user', (e) => e.map((x) => x.textContent)), [TURN1]);

  assert.ok(Math.abs(node.second.gNll! - node.fresh.gNll!) > 1e-2, 'premise: the state changes the G-NLL of turn 2');
  const t2 = await turn(page, TURN2, errors);
  // Only the last token of turn 1 and the new text are fed: the history is in the state.
  assert.equal(t2.promptTokens, node.ids2.length);
  assert.equal(t2.text, node.second.text);
  assert.ok(Math.abs(t2.gNll - node.second.gNll!) < 1e-3, `G-NLL ${t2.gNll} vs Node ${node.second.gNll}`);
  assert.deepEqual(await page.$$eval('#transcript .model', (e) => e.map((x) => x.textContent)), [node.first.text, node.second.text]);
  await page.close();
  assert.deepEqual(errors, []);
});
