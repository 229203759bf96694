// Hub downloads into the huggingface_hub cache layout, against the mock hub on 127.0.0.1:
// redirects and ETags, resume after a cut, checksum rejection, gated repositories, offline
// mode, a cache written by hand as Python writes it, sharded language models.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockHub, sha256, gitSha1 } from './mockHub.js';
import { TIREX_DIR, LM_DIR, tirexRepo, shardedLmRepo } from './fixtureRepos.js';
import { downloadModel, resolveModelSource } from '../../src/hub/resolve.js';
import { HubError } from '../../src/hub/errors.js';
import type { HubProgressEvent } from '../../src/hub/progress.js';
import type { HubOptions } from '../../src/hub/options.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { loadLanguageModel, loadTokenizer } from '../../src/models/auto.js';

const SFT = new Uint8Array(readFileSync(join(TIREX_DIR, 'model.safetensors')));
const CFG = new Uint8Array(readFileSync(join(TIREX_DIR, 'config.json')));
const SFT_SHA = sha256(SFT);

let hub: MockHub;
let root: string;
let be: WasmBackend;
let n = 0;
const fresh = () => join(root, `cache${n++}`);

before(async () => {
  // the developer's own token, cache or offline switch must not leak into these tests
  for (const k of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_HUB_OFFLINE', 'HF_HUB_CACHE', 'HF_ENDPOINT']) delete process.env[k];
  root = mkdtempSync(join(tmpdir(), 'xlstm-hub-'));
  process.env.HF_HOME = join(root, 'hf-home');
  hub = await MockHub.start({
    'NX-AI/TiRex': tirexRepo(),
    'gated/TiRex': tirexRepo({ gatedToken: 'hf_secret' }),
    'test/xlstm-large-sharded': await shardedLmRepo(),
  });
  be = await WasmBackend.create({ threads: 1 });
});
after(async () => {
  be?.dispose();
  await hub?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const opts = (cacheDir: string, extra: HubOptions = {}): HubOptions => ({ endpoint: hub.url, cacheDir, ...extra });
const repoDir = (cacheDir: string, repo = 'NX-AI/TiRex') => join(cacheDir, `models--${repo.replace('/', '--')}`);
const cdnGets = (sha: string) => hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET' && q.path.startsWith(`/cdn/${sha}`));

function forecastOf(m: TiRex): Float32Array[] {
  const ctx = [Float32Array.from({ length: 90 }, (_, i) => Math.sin(i / 5) * 10 + i * 0.1)];
  return m.forecast(ctx, { predictionLength: 12 }).median;
}

test('download: 302 to the CDN, blobs named by X-Linked-Etag (sha256) and git-sha1, relative snapshot symlinks, refs/main', async () => {
  const cache = fresh();
  const events: HubProgressEvent[] = [];
  const snap = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache, { token: 'hf_any', onProgress: (e) => events.push(e) }));
  const commit = hub.commitOf('NX-AI/TiRex');
  assert.equal(snap.commit, commit);
  assert.deepEqual(snap.files, ['config.json', 'model.safetensors']);
  const dir = repoDir(cache);
  assert.equal(snap.dir, join(dir, 'snapshots', commit));
  assert.equal(readFileSync(join(dir, 'refs', 'main'), 'utf8'), commit);
  assert.equal(readlinkSync(join(snap.dir, 'model.safetensors')), join('..', '..', 'blobs', SFT_SHA));
  assert.equal(readlinkSync(join(snap.dir, 'config.json')), join('..', '..', 'blobs', gitSha1(CFG)));
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'config.json'))), CFG);
  assert.deepEqual(readdirSync(join(dir, 'blobs')).sort(), [SFT_SHA, gitSha1(CFG)].sort());
  // only the files TiRex needs; the token goes to the hub, never to the CDN
  assert.equal(hub.saw('model.ckpt').length, 0);
  assert.equal(hub.saw('README.md').length, 0);
  assert.equal(cdnGets(SFT_SHA).length, 1);
  assert.ok(hub.requests.filter((q) => q.server === 'hub').every((q) => q.auth === 'Bearer hf_any'));
  assert.ok(hub.requests.filter((q) => q.server === 'cdn').every((q) => q.auth === undefined));
  // events: initiate both (with sizes), then download/progress/done per file, then ready
  assert.deepEqual(events.filter((e) => e.status === 'initiate').map((e) => [e.file, (e as { total: number }).total]), [['config.json', CFG.length], ['model.safetensors', SFT.length]]);
  const last = events.filter((e) => e.status === 'progress' && e.file === 'model.safetensors').at(-1) as Extract<HubProgressEvent, { status: 'progress' }>;
  assert.equal(last.loaded, SFT.length);
  assert.equal(last.progress, 100);
  assert.deepEqual(events.at(-1), { status: 'ready', name: 'NX-AI/TiRex', path: snap.dir, commit });
  // again: the revision is checked, nothing is downloaded
  const again = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache));
  assert.equal(again.dir, snap.dir);
  assert.equal(cdnGets(SFT_SHA).length, 1);
});

test('TiRex.fromPretrained with a hub id forecasts exactly as from the local folder', async () => {
  const local = await TiRex.fromPretrained(TIREX_DIR, { backend: be });
  const remote = await TiRex.fromPretrained('NX-AI/TiRex', { backend: be, hub: opts(fresh()) });
  try {
    assert.deepEqual(forecastOf(remote), forecastOf(local));
  } finally { local.dispose(); remote.dispose(); }
});

test('a connection cut mid-file is resumed with Range, and the file is intact', async () => {
  const cache = fresh();
  hub.cutOnce.add(SFT_SHA);
  const before = cdnGets(SFT_SHA).length;
  const snap = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache));
  const gets = cdnGets(SFT_SHA).slice(before);
  assert.equal(gets.length, 2);
  assert.equal(gets[0].range, undefined);
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
  assert.ok(from > 0 && from < SFT.length, `resumed at byte ${gets[1].range}`);
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
});

test('with no retries the partial file is kept, the ref is not moved, and the next run resumes from it', async () => {
  const cache = fresh();
  hub.cutOnce.add(SFT_SHA);
  const dir = repoDir(cache);
  await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(cache, { retries: 0 })), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'network');
    assert.match(e.message, /model\.safetensors.*next try resumes/);
    return true;
  });
  const part = join(dir, 'blobs', `${SFT_SHA}.incomplete`);
  const kept = lstatSync(part).size;
  assert.ok(kept > 0 && kept < SFT.length);
  assert.ok(!existsSync(join(dir, 'snapshots', hub.commitOf('NX-AI/TiRex'), 'model.safetensors')));
  assert.ok(!existsSync(join(dir, 'refs', 'main')));
  const before = cdnGets(SFT_SHA).length;
  const snap = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache, { retries: 0 }));
  const gets = cdnGets(SFT_SHA).slice(before);
  assert.deepEqual(gets.map((g) => g.range), [`bytes=${kept}-`]);
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
  assert.ok(!existsSync(part));
});

test('a wrong checksum is rejected and nothing is left in blobs or the snapshot', async () => {
  const cache = fresh();
  const dir = repoDir(cache);
  hub.corrupt.add(SFT_SHA);
  try {
    await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(cache)), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 'checksum');
      assert.match(e.message, new RegExp(`model\\.safetensors: the downloaded bytes do not match the hub's checksum \\(sha256 ${SFT_SHA}, got [0-9a-f]{64}\\)`));
      return true;
    });
  } finally { hub.corrupt.delete(SFT_SHA); }
  assert.ok(!readdirSync(join(dir, 'blobs')).some((f) => f.startsWith(SFT_SHA)));
  assert.ok(!existsSync(join(dir, 'snapshots', hub.commitOf('NX-AI/TiRex'), 'model.safetensors')));
  assert.ok(!existsSync(join(dir, 'refs', 'main')));
  // the good bytes then go through
  const snap = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache));
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
});

test('gated repository: a clear error without a token or with a wrong one; works with the token (option or token file)', async () => {
  const cache = fresh();
  await assert.rejects(downloadModel('gated/TiRex', 'tirex', opts(cache)), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'unauthorized');
    assert.match(e.message, /gated\/TiRex needs authentication \(HTTP 401, GatedRepo\)/);
    assert.ok(e.message.includes(`accept its license on ${hub.url}/gated/TiRex`), e.message);
    assert.match(e.message, /set HF_TOKEN/);
    return true;
  });
  await assert.rejects(downloadModel('gated/TiRex', 'tirex', opts(cache, { token: 'hf_wrong' })), /refused the token \(HTTP 403, GatedRepo\)\. Accept the model's license/);
  const snap = await downloadModel('gated/TiRex', 'tirex', opts(cache, { token: 'hf_secret' }));
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
  // huggingface-cli login's token file under HF_HOME
  mkdirSync(process.env.HF_HOME!, { recursive: true });
  writeFileSync(join(process.env.HF_HOME!, 'token'), 'hf_secret\n');
  try {
    const viaFile = await downloadModel('gated/TiRex', 'tirex', opts(fresh()));
    assert.deepEqual(new Uint8Array(readFileSync(join(viaFile.dir, 'model.safetensors'))), SFT);
  } finally { rmSync(join(process.env.HF_HOME!, 'token')); }
});

test('offline: a warm cache is used without any request; a cold one fails clearly', async () => {
  const cache = fresh();
  const online = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache));
  const noNetwork: typeof fetch = () => { throw new Error('offline mode must not make requests'); };
  const count = hub.requests.length;
  const off = await downloadModel('NX-AI/TiRex', 'tirex', opts(cache, { offline: true, fetch: noNetwork }));
  assert.equal(off.dir, online.dir);
  assert.equal(off.fromCache, true);
  process.env.HF_HUB_OFFLINE = '1';
  try {
    assert.equal(await resolveModelSource('NX-AI/TiRex', 'tirex', opts(cache, { fetch: noNetwork })), online.dir);
    await assert.rejects(resolveModelSource('NX-AI/TiRex', 'tirex', opts(fresh(), { fetch: noNetwork })), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 'not-cached');
      assert.match(e.message, /NX-AI\/TiRex@main is not in the hub cache .* HF_HUB_OFFLINE=1/);
      return true;
    });
  } finally { delete process.env.HF_HUB_OFFLINE; }
  assert.equal(hub.requests.length, count);
  // an unreachable hub falls back to the cache too, and says so when the cache is cold
  const down = 'http://127.0.0.1:9';
  assert.equal((await downloadModel('NX-AI/TiRex', 'tirex', { cacheDir: cache, endpoint: down })).dir, online.dir);
  await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', { cacheDir: fresh(), endpoint: down }), /not in the hub cache .*the hub cannot be reached/);
});

test('a cache written by hand in the huggingface_hub layout (as Python writes it) is read without any request', async () => {
  const cache = fresh();
  const commit = '0123456789abcdef0123456789abcdef01234567';
  const dir = repoDir(cache, 'python/TiRex');
  mkdirSync(join(dir, 'blobs'), { recursive: true });
  mkdirSync(join(dir, 'snapshots', commit), { recursive: true });
  mkdirSync(join(dir, 'refs'), { recursive: true });
  writeFileSync(join(dir, 'blobs', SFT_SHA), SFT);
  writeFileSync(join(dir, 'blobs', gitSha1(CFG)), CFG);
  symlinkSync(`../../blobs/${SFT_SHA}`, join(dir, 'snapshots', commit, 'model.safetensors'));
  symlinkSync(`../../blobs/${gitSha1(CFG)}`, join(dir, 'snapshots', commit, 'config.json'));
  writeFileSync(join(dir, 'refs', 'main'), commit);
  const count = hub.requests.length;
  // a pinned commit with a complete snapshot: immutable, no request even online
  const pinned = await TiRex.fromPretrained(`python/TiRex@${commit}`, { backend: be, hub: opts(cache) });
  const local = await TiRex.fromPretrained(TIREX_DIR, { backend: be });
  try {
    assert.deepEqual(forecastOf(pinned), forecastOf(local));
  } finally { pinned.dispose(); local.dispose(); }
  assert.equal(await resolveModelSource('python/TiRex', 'tirex', opts(cache, { offline: true })), join(dir, 'snapshots', commit));
  assert.equal(hub.requests.length, count);
});

test('sharded language model: index + every shard + tokenizer; loadLanguageModel by id equals the local folder', async () => {
  const cache = fresh();
  const hubOpts = opts(cache);
  const m = await loadLanguageModel('test/xlstm-large-sharded', { backend: be, hub: hubOpts });
  const ref = await loadLanguageModel(LM_DIR, { backend: be });
  const ids = [[0, 5, 9, 3, 7]];
  const a = m.forward(ids).logits.toFloat32();
  const b = ref.forward(ids).logits.toFloat32();
  assert.deepEqual(a, b);
  const snap = join(repoDir(cache, 'test/xlstm-large-sharded'), 'snapshots', hub.commitOf('test/xlstm-large-sharded'));
  const files = readdirSync(snap).sort();
  assert.ok(files.includes('model.safetensors.index.json'));
  assert.ok(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length >= 2, files.join(','));
  assert.ok(files.includes('tokenizer.json'));
  const tok = await loadTokenizer('test/xlstm-large-sharded', { hub: { ...hubOpts, offline: true } });
  assert.equal(tok.encode('hi')[0], 0);
  (m as unknown as { dispose(): void }).dispose();
  (ref as unknown as { dispose(): void }).dispose();
});

test('what a repository lacks is named before any weights move', async () => {
  const before = hub.requests.filter((q) => q.server === 'cdn').length;
  await assert.rejects(resolveModelSource('NX-AI/TiRex', 'text-model', opts(fresh())), (e: unknown) => {
    assert.ok(e instanceof HubError);
    assert.equal(e.code, 'missing-files');
    assert.match(e.message, /NX-AI\/TiRex@main: no tokenizer\.json, which text generation and scoring need \(it has .*model\.safetensors/);
    return true;
  });
  await assert.rejects(resolveModelSource('test/xlstm-large-sharded', 'tirex', opts(fresh())), /not a TiRex repository: it needs model\.ckpt, or model\.safetensors \+ config\.json/);
  assert.equal(hub.requests.filter((q) => q.server === 'cdn').length, before);
});

test('ids: revisions, unknown repositories and revisions, bad ids, conflicting pins, and an existing local path wins', async () => {
  const cache = fresh();
  const commit = hub.commitOf('NX-AI/TiRex');
  assert.equal(await resolveModelSource(`NX-AI/TiRex@${commit}`, 'tirex', opts(cache)), join(repoDir(cache), 'snapshots', commit));
  assert.ok(!existsSync(join(repoDir(cache), 'refs', commit)), 'no ref file for a commit hash');
  await assert.rejects(resolveModelSource('NX-AI/TiRex@v9', 'tirex', opts(cache)), /NX-AI\/TiRex@v9: no such revision .*HTTP 404, RevisionNotFound/);
  await assert.rejects(resolveModelSource('nobody/nothing', 'tirex', opts(cache)), (e: unknown) => e instanceof HubError && e.code === 'unauthorized' && /gated, private or does not exist/.test(e.message));
  await assert.rejects(resolveModelSource('NX-AI/Ti--Rex', 'tirex', opts(cache)), (e: unknown) => e instanceof HubError && e.code === 'bad-id' && /not a valid hub repository id/.test(e.message));
  await assert.rejects(resolveModelSource('NX-AI/TiRex@main', 'tirex', opts(cache, { revision: 'dev' })), /pins revision main but hub\.revision is dev/);
  await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(cache, { retries: -1 })), /hub\.retries must be an integer >= 0, got -1/);
  const cwd = process.cwd();
  const work = join(root, 'cwd');
  mkdirSync(join(work, 'NX-AI', 'TiRex'), { recursive: true });
  process.chdir(work);
  try {
    const count = hub.requests.length;
    assert.equal(await resolveModelSource('NX-AI/TiRex', 'tirex', opts(cache)), 'NX-AI/TiRex');
    assert.equal(await resolveModelSource('./missing/dir', 'tirex', opts(cache)), './missing/dir');
    assert.equal(hub.requests.length, count);
  } finally { process.chdir(cwd); }
});

test('a renamed repository is followed (relative redirects); a hostile commit, ETag or revision cannot write outside the cache', async () => {
  const cache = fresh();
  hub.renamed.set('old-org/TiRex', 'NX-AI/TiRex');
  try {
    const snap = await downloadModel('old-org/TiRex', 'tirex', opts(cache));
    assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
    assert.ok(hub.saw('/old-org/TiRex/resolve/').length >= 2);
    assert.ok(snap.dir.startsWith(repoDir(cache, 'old-org/TiRex')));
  } finally { hub.renamed.delete('old-org/TiRex'); }
  hub.tamper = { sha: '../../../escape' };
  try {
    await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(fresh())), /the hub's commit "..\/..\/..\/escape" is not a 40-hex git hash/);
  } finally { hub.tamper = {}; }
  hub.tamper = { etag: '../../evil' };
  try {
    await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(fresh())), /the hub's ETag "..\/..\/evil" cannot name a cache file/);
  } finally { hub.tamper = {}; }
  await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(fresh(), { revision: '../../x' })), /hub\.revision must be a branch, tag or commit hash, got "..\/..\/x"/);
  assert.ok(!existsSync(join(root, 'escape')) && !existsSync(join(root, 'evil')) && !existsSync(join(root, 'x')));
});

test('two downloads of the same model at once: one fetches each file, the other waits for it; both get the whole model', async () => {
  const cache = fresh();
  const before = cdnGets(SFT_SHA).length;
  const [a, b] = await Promise.all([downloadModel('NX-AI/TiRex', 'tirex', opts(cache)), downloadModel('NX-AI/TiRex', 'tirex', opts(cache))]);
  assert.equal(a.dir, b.dir);
  assert.equal(cdnGets(SFT_SHA).length - before, 1);
  assert.deepEqual(new Uint8Array(readFileSync(join(a.dir, 'model.safetensors'))), SFT);
  assert.deepEqual(readdirSync(join(cache, '.locks', 'models--NX-AI--TiRex')), []);
  // a lock left by a process that no longer exists is taken over
  const c2 = fresh();
  mkdirSync(join(c2, '.locks', 'models--NX-AI--TiRex'), { recursive: true });
  writeFileSync(join(c2, '.locks', 'models--NX-AI--TiRex', `${SFT_SHA}.xlstm-lock`), '2147483646');
  const c = await downloadModel('NX-AI/TiRex', 'tirex', opts(c2));
  assert.deepEqual(new Uint8Array(readFileSync(join(c.dir, 'model.safetensors'))), SFT);
});

test('a 503 on the metadata request is retried; with no retries left it fails naming the status', async () => {
  hub.unavailable = 2;
  const snap = await downloadModel('NX-AI/TiRex', 'tirex', opts(fresh()));
  assert.equal(hub.unavailable, 0);
  assert.deepEqual(new Uint8Array(readFileSync(join(snap.dir, 'model.safetensors'))), SFT);
  hub.unavailable = 1;
  await assert.rejects(downloadModel('NX-AI/TiRex', 'tirex', opts(fresh(), { retries: 0 })), /NX-AI\/TiRex@[0-9a-f]{40}: config\.json: the hub answered HTTP 503/);
  hub.unavailable = 0;
});
