// `xlstm forecast data.csv --model NX-AI/TiRex` end to end in a child process, against the
// mock hub (HF_ENDPOINT) with HF_HOME in a temp folder: the numbers equal those from the
// local folder, from a cold cache and then offline (HF_HUB_OFFLINE=1) without a request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from '../helpers/golden.js';
import { MockHub } from './mockHub.js';
import { LM_DIR, TIREX_DIR, tirexRepo, shardedLmRepo } from './fixtureRepos.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const CSV = join(FIXTURES, 'csv', 'monthly_wide.csv');

let hub: MockHub;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlstm-hub-cli-'));
  hub = await MockHub.start({ 'NX-AI/TiRex': tirexRepo(), 'test/xlstm-large-sharded': await shardedLmRepo() });
});
after(async () => {
  await hub?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// async: the mock hub runs in this process and must keep answering while the child runs
function xlstm(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const k of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'HF_HUB_CACHE', 'HF_ENDPOINT', 'HF_HOME']) delete base[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('xlstm forecast --model NX-AI/TiRex: cold cache, then offline, equal to the local folder', async () => {
  const local = join(dir, 'local.csv');
  const r0 = await xlstm({}, 'forecast', CSV, '--model', TIREX_DIR, '--horizon', '12', '--output', local, '--threads', '1');
  assert.equal(r0.code, 0, r0.stderr);
  const env = { HF_ENDPOINT: hub.url, HF_HOME: join(dir, 'hf') };
  const cold = join(dir, 'cold.csv');
  const r1 = await xlstm(env, 'forecast', CSV, '--model', 'NX-AI/TiRex', '--horizon', '12', '--output', cold, '--threads', '1');
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r1.stderr, ''); // not a terminal: no progress bar
  const expected = readFileSync(local, 'utf8');
  assert.ok(expected.split('\n').length > 12);
  assert.equal(readFileSync(cold, 'utf8'), expected);
  assert.ok(hub.saw('/cdn/').length > 0, 'the weights came from the hub');
  assert.ok(readFileSync(join(dir, 'hf', 'hub', 'models--NX-AI--TiRex', 'refs', 'main'), 'utf8').length === 40);
  const count = hub.requests.length;
  const off = join(dir, 'offline.csv');
  const r2 = await xlstm({ ...env, HF_HUB_OFFLINE: '1' }, 'forecast', CSV, '--model', 'NX-AI/TiRex', '--horizon', '12', '--output', off, '--threads', '1');
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(readFileSync(off, 'utf8'), expected);
  assert.equal(hub.requests.length, count);
  // offline with a cold cache: a clear error naming the flag, and no output
  const r3 = await xlstm({ HF_ENDPOINT: hub.url, HF_HOME: join(dir, 'cold-home'), HF_HUB_OFFLINE: '1' }, 'forecast', CSV, '--model', 'NX-AI/TiRex@main', '--horizon', '12', '--threads', '1');
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /--model 'NX-AI\/TiRex@main': NX-AI\/TiRex@main is not in the hub cache .*HF_HUB_OFFLINE=1/);
  assert.equal(r3.stdout, '');
  assert.equal(hub.requests.length, count);
});

test('xlstm generate --model org/name@rev: a sharded model with its tokenizer from the hub, the same ids as the local folder', async () => {
  const local = join(dir, 'lm');
  mkdirSync(local, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(LM_DIR, f), join(local, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(FIXTURES, 'tokenizer', f), join(local, f));
  const args = ['generate', '--prompt', 'hello', '--max-new-tokens', '4', '--temperature', '0', '--json', '--threads', '1'];
  const a = await xlstm({}, ...args, '--model', local);
  assert.equal(a.code, 0, a.stderr);
  const commit = hub.commitOf('test/xlstm-large-sharded');
  const b = await xlstm({ HF_ENDPOINT: hub.url, HF_HOME: join(dir, 'hf-lm') }, ...args, '--model', `test/xlstm-large-sharded@${commit}`);
  assert.equal(b.code, 0, b.stderr);
  const ja = JSON.parse(a.stdout), jb = JSON.parse(b.stdout);
  assert.ok(Array.isArray(ja.ids) && ja.ids.length > 0, a.stdout);
  assert.deepEqual(jb.ids, ja.ids);
  assert.equal(jb.text, ja.text);
  // TiRex has no tokenizer: generate says so before downloading weights
  const before = hub.saw('/cdn/').length;
  const c = await xlstm({ HF_ENDPOINT: hub.url, HF_HOME: join(dir, 'hf-lm2') }, ...args, '--model', 'NX-AI/TiRex');
  assert.equal(c.code, 1);
  assert.match(c.stderr, /--model 'NX-AI\/TiRex': NX-AI\/TiRex@main: no tokenizer\.json/);
  assert.equal(hub.saw('/cdn/').length, before);
});
