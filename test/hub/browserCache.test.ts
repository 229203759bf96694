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
