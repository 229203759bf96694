// The browser loader (fetch + Cache API) in Node, with a stand-in for CacheStorage: the
// Cache API itself is exercised in Chromium by the browser tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockHub, sha256 } from './mockHub.js';
import { TIREX_DIR, tirexRepo, shardedLmRepo } from './fixtureRepos.js';
import { fetchModelFilesBrowser, CacheStorageLike } from '../../src/hub/browserCache.js';
import { HubError } from '../../src/hub/errors.js';
import { loadTiRexFromHub, loadXLSTMLargeFromHub } from '../../src/hub/pageLoaders.js';
import { loadTiRexCheckpoint } from '../../src/models/tirex/weights.js';
import { parseSafetensors } from '../../src/io/safetensors.js';
import { LM_DIR } from './fixtureRepos.js';

const SFT = new Uint8Array(readFileSync(join(TIREX_DIR, 'model.safetensors')));
const CFG = new Uint8Array(readFileSync(join(TIREX_DIR, 'config.json')));

/** CacheStorage's open/match/put over a Map, storing bodies as bytes as the real one does. */
class MemoryCaches implements CacheStorageLike {
  readonly stores = new Map<string, Map<string, { body: Uint8Array; headers: [string, string][] }>>();
  async open(name: string) {
    const store = this.stores.get(name) ?? new Map();
    this.stores.set(name, store);
    return {
      match: async (key: string) => {
        const e = store.get(key);
        return e ? new Response(e.body.slice(), { headers: e.headers }) : undefined;
      },
      put: async (key: string, res: Response) => {
        const headers: [string, string][] = [];
        res.headers.forEach((v, k) => headers.push([k, v]));
        store.set(key, { body: new Uint8Array(await res.arrayBuffer()), headers });
      },
    };
  }
}

let hub: MockHub;
before(async () => {
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_TOKEN;
  hub = await MockHub.start({ 'NX-AI/TiRex': tirexRepo(), 'gated/TiRex': tirexRepo({ gatedToken: 'tk' }), 'test/lm': await shardedLmRepo() });
});
after(async () => { await hub?.close(); });

test('browser: files are fetched through the redirect, verified, stored in the Cache API, then served from it offline', async () => {
  const caches = new MemoryCaches();
  const statuses: string[] = [];
  const snap = await fetchModelFilesBrowser('NX-AI/TiRex', 'tirex', { endpoint: hub.url, caches, onProgress: (e) => statuses.push(`${e.status}:${'file' in e ? e.file : ''}`) });
  assert.equal(snap.commit, hub.commitOf('NX-AI/TiRex'));
  assert.deepEqual(snap.files, ['config.json', 'model.safetensors']);
  assert.deepEqual(await snap.read('model.safetensors'), SFT);
  assert.deepEqual(await snap.read('config.json'), CFG);
  assert.deepEqual(statuses.slice(0, 3), ['initiate:config.json', 'initiate:model.safetensors', 'download:config.json']);
  assert.equal(statuses.at(-1), 'ready:');
  const keys = [...caches.stores.get('xlstm-hub')!.keys()];
  assert.ok(keys.includes(`${hub.url}/NX-AI/TiRex/resolve/${snap.commit}/model.safetensors`), keys.join('\n'));
  await assert.rejects(snap.read('model.ckpt'), /model\.ckpt is not one of the model's files/);
  const count = hub.requests.length;
  const off = await fetchModelFilesBrowser('NX-AI/TiRex', 'tirex', { endpoint: hub.url, caches, offline: true });
  assert.deepEqual(await off.read('model.safetensors'), SFT);
  assert.equal(hub.requests.length, count);
  await assert.rejects(fetchModelFilesBrowser('NX-AI/TiRex', 'tirex', { endpoint: hub.url, caches: new MemoryCaches(), offline: true }), (e: unknown) => e instanceof HubError && e.code === 'not-cached');
});

test('browser: a corrupted file is rejected and not cached; sharded models and gated repos work; no Cache API keeps files in memory', async () => {
  const caches = new MemoryCaches();
  const sha = sha256(SFT);
  hub.corrupt.add(sha);
  try {
    await assert.rejects(fetchModelFilesBrowser('NX-AI/TiRex', 'tirex', { endpoint: hub.url, caches }), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 'checksum');
      assert.match(e.message, new RegExp(`model\\.safetensors: the downloaded bytes do not match the hub's checksum \\(expected ${sha}`));
      return true;
    });
  } finally { hub.corrupt.delete(sha); }
  assert.ok(![...caches.stores.get('xlstm-hub')!.keys()].some((k) => k.endsWith('/model.safetensors')));
  const lm = await fetchModelFilesBrowser('test/lm', 'language-model', { endpoint: hub.url, caches: null });
  assert.ok(lm.files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f)).length >= 2, lm.files.join(','));
  const idx = JSON.parse(new TextDecoder().decode(await lm.read('model.safetensors.index.json')));
  assert.ok(Object.keys(idx.weight_map).length > 0);
  await assert.rejects(fetchModelFilesBrowser('gated/TiRex', 'tirex', { endpoint: hub.url, caches: null }), /accept its license/);
  const g = await fetchModelFilesBrowser('gated/TiRex', 'tirex', { endpoint: hub.url, caches: null, token: 'tk' });
  assert.deepEqual(await g.read('model.safetensors'), SFT);
});

// The loaders behind fromPretrained in the browser bundle (the page path itself runs in
// Chromium, test/browser/hub.test.ts); here the formats the page tests do not reach.
test('page loaders: TiRex from model.ckpt and model.safetensors give the weights of the local folder; sharded xLSTM Large; a path is refused', async () => {
  const local = await loadTiRexCheckpoint(TIREX_DIR, { format: 'ckpt' });
  // as the official NX-AI/TiRex: model.ckpt only
  hub.addRepo('official/TiRex', { files: { 'model.ckpt': new Uint8Array(readFileSync(join(TIREX_DIR, 'model.ckpt'))) } });
  const ckpt = await loadTiRexFromHub('official/TiRex', { endpoint: hub.url, caches: null });
  await assert.rejects(loadTiRexFromHub('NX-AI/TiRex', { endpoint: hub.url, caches: null }, 'ckpt'), /format 'ckpt' was asked for, but from NX-AI\/TiRex@[0-9a-f]{40} the hub loader takes model\.safetensors \+ config\.json, as in Node; leave format out/);
  const sft = await loadTiRexFromHub(`NX-AI/TiRex@${hub.commitOf('NX-AI/TiRex')}`, { endpoint: hub.url, caches: null });
  assert.equal(ckpt.format, 'ckpt');
  assert.equal(sft.format, 'safetensors');
  assert.equal(ckpt.source, `official/TiRex@${hub.commitOf('official/TiRex')}/model.ckpt`);
  assert.deepEqual(ckpt.config, local.config);
  assert.deepEqual(sft.config, local.config);
  for (const w of [ckpt.weights, sft.weights]) {
    assert.deepEqual(w.outNorm.toFloat32(), local.weights.outNorm.toFloat32());
    assert.deepEqual(w.blocks.at(-1)!.recurrentKernel.toFloat32(), local.weights.blocks.at(-1)!.recurrentKernel.toFloat32());
  }
  const lm = await loadXLSTMLargeFromHub('test/lm', { endpoint: hub.url, caches: null });
  const whole = parseSafetensors(readFileSync(join(LM_DIR, 'model.safetensors')));
  assert.deepEqual(lm.weights.names().sort(), whole.names().sort());
  for (const n of whole.names()) assert.deepEqual((await lm.weights.read(n)).toFloat32(), whole.read(n).toFloat32(), n);
  assert.deepEqual(lm.config, JSON.parse(readFileSync(join(LM_DIR, 'config.json'), 'utf8')));
  assert.throws(() => lm.weights.read('no.such.tensor'), /test\/lm@[0-9a-f]{40}: model\.safetensors\.index\.json does not name the tensor 'no\.such\.tensor'/);
  await assert.rejects(loadTiRexFromHub('./models/tirex', { endpoint: hub.url }), /^ArgumentError: TiRex\.fromPretrained: in a browser the source must be a hub id like NX-AI\/TiRex or org\/name@revision, got "\.\/models\/tirex"/);
  await assert.rejects(loadTiRexFromHub('NX-AI/TiRex@main', { endpoint: hub.url, revision: 'v2' }), /pins revision main but hub\.revision is v2/);
  await assert.rejects(loadTiRexFromHub('gated/TiRex', { endpoint: hub.url, caches: null }), (e: unknown) => e instanceof HubError && e.code === 'unauthorized' && /In a web page, pass the token as hub\.token\.$/.test(e.message));
});
