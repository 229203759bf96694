import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelId, repoFolderName, isCommitHash } from '../../src/hub/modelId.js';
import { selectFiles, shardFiles } from '../../src/hub/selection.js';
import { envFlag, resolveEndpoint } from '../../src/hub/options.js';
import { resolveCacheDir, hfHome } from '../../src/hub/nodeSettings.js';

test('parseModelId: org/name and @revision are ids; paths are not; broken names are named', () => {
  assert.deepEqual(parseModelId('NX-AI/TiRex'), { repo: 'NX-AI/TiRex' });
  assert.deepEqual(parseModelId('NX-AI/xLSTM-7b@refs/pr/3'), { repo: 'NX-AI/xLSTM-7b', revision: 'refs/pr/3' });
  assert.deepEqual(parseModelId('a.b/c_d@v1.0'), { repo: 'a.b/c_d', revision: 'v1.0' });
  for (const p of ['./NX-AI/TiRex', '../a/b', '/abs/path', 'C:\\models\\x', 'model', 'a/b/c', '~/x/y', 'file:///a/b', 'a/']) {
    assert.equal(parseModelId(p), undefined, p);
  }
  assert.throws(() => parseModelId('NX-AI/-TiRex'), /not a valid hub repository id/);
  assert.throws(() => parseModelId('NX-AI/Ti..Rex'), /not a valid hub repository id/);
  assert.throws(() => parseModelId('NX-AI/TiRex@'), /'' is not a valid revision/);
  assert.throws(() => parseModelId('NX-AI/TiRex@a..b'), /not a valid revision/);
  assert.equal(repoFolderName('NX-AI/TiRex'), 'models--NX-AI--TiRex');
  assert.ok(isCommitHash('0123456789abcdef0123456789abcdef01234567'));
  assert.ok(!isCommitHash('main'));
});

test('selectFiles: what each kind of model needs, and what is missing', () => {
  assert.deepEqual(selectFiles('tirex', ['model.ckpt', 'README.md'], 'x'), ['model.ckpt']);
  assert.deepEqual(selectFiles('tirex', ['model.ckpt', 'model.safetensors', 'config.json'], 'x'), ['config.json', 'model.safetensors']);
  assert.throws(() => selectFiles('tirex', ['model.safetensors'], 'x@main'), /x@main: not a TiRex repository.*\(it has model\.safetensors\)/);
  assert.deepEqual(selectFiles('language-model', ['config.json', 'tokenizer.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model.safetensors'], 'x'),
    ['config.json', 'tokenizer.json', 'model.safetensors.index.json']);
  assert.deepEqual(selectFiles('language-model-config', ['config.yaml', 'model.safetensors', 'generation_config.json'], 'x'), ['config.yaml', 'generation_config.json']);
  assert.throws(() => selectFiles('language-model', ['config.json', 'pytorch_model.bin'], 'x'), /no model\.safetensors or model\.safetensors\.index\.json/);
  assert.deepEqual(shardFiles({ weight_map: { a: 's1.safetensors', b: 's2.safetensors', c: 's1.safetensors' } }, 'x'), ['s1.safetensors', 's2.safetensors']);
  assert.throws(() => shardFiles({ weight_map: { a: '../../etc/passwd' } }, 'x'), /names the shard "..\/..\/etc\/passwd", which is not a file of the repository/);
  assert.throws(() => shardFiles({}, 'x'), /has no weight_map/);
});

test('settings: endpoint, offline flag and cache folder follow huggingface_hub', () => {
  assert.equal(resolveEndpoint({}, {}), 'https://huggingface.co');
  assert.equal(resolveEndpoint({}, { HF_ENDPOINT: 'http://127.0.0.1:8080/' }), 'http://127.0.0.1:8080');
  assert.throws(() => resolveEndpoint({ endpoint: 'ftp://x' }, {}), /must be an http\(s\) URL/);
  assert.ok(envFlag('1') && envFlag('ON') && envFlag('true') && !envFlag('0') && !envFlag(undefined));
  assert.equal(resolveCacheDir({}, { HF_HOME: '/h' }), '/h/hub');
  assert.equal(resolveCacheDir({}, { HF_HOME: '/h', HF_HUB_CACHE: '/c' }), '/c');
  assert.equal(resolveCacheDir({ cacheDir: '/o' }, { HF_HUB_CACHE: '/c' }), '/o');
  assert.equal(hfHome({ XDG_CACHE_HOME: '/x' }), '/x/huggingface');
});
