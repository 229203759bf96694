// fromPretrained in the browser bundle: a hub id is fetched with fetch + the Cache API
// (browserCache.ts) and the bytes are parsed in memory, because a page has no folder to
// hand to the Node loaders. TiRex.fromPretrained and XLSTMLarge.fromPretrained call these
// when hub/host.ts says so (the bundle swaps in host.browser.ts); Node never does, so its
// path stays the huggingface_hub cache on disk. Browser-safe: no Node built-ins.
import { ArgumentError, ConfigError } from '../errors.js';
import { HubError } from './errors.js';
import { parseModelId } from './modelId.js';
import type { HubOptions } from './options.js';
import { SHARD_INDEX } from './selection.js';
import { BrowserSnapshot, fetchModelFilesBrowser } from './browserCache.js';
import type { HubModelKind } from './selection.js';
import { SafetensorsSource, SafetensorsTensorInfo, parseSafetensors } from '../io/safetensors.js';
import type { ReadOptions } from '../io/safetensorsTensor.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { TorchCheckpoint } from '../io/torchCheckpoint.js';
import { isPickleDict } from '../io/pickle.js';
import { resolveTiRexConfig } from '../models/tirex/config.js';
import { LEGACY_PREFIX, LoadedTiRexCheckpoint, loadTiRexWeights } from '../models/tirex/weights.js';

/** The snapshot of a hub id, or a clear error for anything else (a page has no paths). */
export async function fetchHubSource(source: string, kind: HubModelKind, hub: HubOptions = {}, caller: string): Promise<BrowserSnapshot> {
  if (hub === null || typeof hub !== 'object') throw new ArgumentError(`${caller}: options.hub must be an object, got ${hub === null ? 'null' : typeof hub}`);
  const id = typeof source === 'string' ? parseModelId(source) : undefined;
  if (!id) {
    throw new ArgumentError(`${caller}: in a browser the source must be a hub id like NX-AI/TiRex or org/name@revision, got ${JSON.stringify(source)}; `
      + 'for files the page already has, parse them (parseSafetensors) and use TiRex.fromTensors / XLSTMLarge.fromSource');
  }
  if (id.revision !== undefined && hub.revision !== undefined && id.revision !== hub.revision) {
    throw new ArgumentError(`'${source}' pins revision ${id.revision} but hub.revision is ${hub.revision}; give one`);
  }
  try {
    return await fetchModelFilesBrowser(id.repo, kind, { ...hub, revision: id.revision ?? hub.revision });
  } catch (e) {
    // the shared message names HF_TOKEN and the CLI login, which a page does not have
    if (e instanceof HubError && e.code === 'unauthorized' && !hub.token) {
      throw new HubError('unauthorized', `${e.message} In a web page, pass the token as hub.token.`, { cause: e });
    }
    throw e;
  }
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try { return JSON.parse(new TextDecoder().decode(bytes)); } catch (e) { throw new ConfigError(`${what} is not valid JSON (${(e as Error).message})`); }
}

/** TiRex's config and weights from a hub snapshot: model.safetensors + config.json, or the official model.ckpt. */
export async function loadTiRexFromHub(source: string, hub: HubOptions | undefined, format?: 'ckpt' | 'safetensors'): Promise<LoadedTiRexCheckpoint> {
  const snap = await fetchHubSource(source, 'tirex', hub, 'TiRex.fromPretrained');
  const label = `${snap.repo}@${snap.commit}`;
  const useCkpt = format === 'ckpt' || !snap.files.includes('model.safetensors');
  if (useCkpt && !snap.files.includes('model.ckpt')) {
    throw new ArgumentError(`TiRex.fromPretrained: format 'ckpt' was asked for, but from ${label} the hub loader takes model.safetensors + config.json, as in Node; leave format out`);
  }
  if (useCkpt) {
    const file = `${label}/model.ckpt`;
    const ck = TorchCheckpoint.fromBytes(await snap.read('model.ckpt'), { source: file });
    try {
      const obj = ck.object;
      if (!isPickleDict(obj) || !isPickleDict(obj['hyper_parameters']) || !isPickleDict(obj['state_dict'])) {
        throw new ConfigError(`TiRex weights (${file}): expected a dict with 'state_dict' and 'hyper_parameters' (official TiRex model.ckpt)`);
      }
      const config = resolveTiRexConfig(obj['hyper_parameters'], `${file}: hyper_parameters`);
      const refs = ck.tensors('state_dict', { stripPrefix: LEGACY_PREFIX });
      const weights = await loadTiRexWeights(config, { source: file, names: () => [...refs.keys()], shape: (n) => refs.get(n)!.shape, read: (n) => ck.read(refs.get(n)!) });
      return { config, weights, source: file, format: 'ckpt' };
    } finally { await ck.close(); }
  }
  const file = `${label}/model.safetensors`;
  const config = resolveTiRexConfig(parseJson(await snap.read('config.json'), `${label}/config.json`), `${label}/config.json`);
  const st = parseSafetensors(await snap.read('model.safetensors'), { source: file });
  const weights = await loadTiRexWeights(config, { source: file, names: () => st.names(), shape: (n) => st.info(n).shape, read: async (n) => st.read(n) });
  return { config, weights, source: file, format: 'safetensors' };
}

/** Shards held in memory behind one SafetensorsSource, each tensor looked up through the index's weight_map. */
class ShardedBuffers implements SafetensorsSource {
  constructor(readonly metadata: Readonly<Record<string, unknown>>, private readonly where: ReadonlyMap<string, SafetensorsSource>, private readonly label: string) {}
  names(): string[] { return [...this.where.keys()]; }
  has(name: string): boolean { return this.where.has(name); }
  info(name: string): SafetensorsTensorInfo | Promise<SafetensorsTensorInfo> { return this.shard(name).info(name); }
  read(name: string, opts?: ReadOptions): Tensor | Promise<Tensor> { return this.shard(name).read(name, opts); }
  readInto(name: string, dest: TypedArray, opts?: ReadOptions): void | Promise<void> { return this.shard(name).readInto(name, dest, opts); }
  close(): void { /* the shards are plain memory */ }
  private shard(name: string): SafetensorsSource {
    const s = this.where.get(name);
    if (!s) throw new HubError('missing-files', `${this.label}: ${SHARD_INDEX} does not name the tensor '${name}'`);
    return s;
  }
}

/** An xLSTM Large config.json and weights (one model.safetensors or an index + shards) from a hub snapshot. */
export async function loadXLSTMLargeFromHub(source: string, hub: HubOptions | undefined): Promise<{ config: unknown; weights: SafetensorsSource }> {
  const snap = await fetchHubSource(source, 'language-model', hub, 'XLSTMLarge.fromPretrained');
  const label = `${snap.repo}@${snap.commit}`;
  if (!snap.files.includes('config.json')) throw new HubError('missing-files', `${label}: XLSTMLarge.fromPretrained needs config.json (the repository has ${snap.files.join(', ')})`);
  const config = parseJson(await snap.read('config.json'), `${label}/config.json`);
  if (!snap.files.includes(SHARD_INDEX)) return { config, weights: parseSafetensors(await snap.read('model.safetensors'), { source: `${label}/model.safetensors` }) };
  const index = parseJson(await snap.read(SHARD_INDEX), `${label}/${SHARD_INDEX}`) as { metadata?: Record<string, unknown>; weight_map: Record<string, string> };
  const shards = new Map<string, SafetensorsSource>();
  for (const f of new Set(Object.values(index.weight_map))) shards.set(f, parseSafetensors(await snap.read(f), { source: `${label}/${f}` }));
  const where = new Map<string, SafetensorsSource>();
  for (const [name, f] of Object.entries(index.weight_map)) {
    const s = shards.get(f)!;
    if (!s.has(name)) throw new HubError('missing-files', `${label}: ${SHARD_INDEX} puts '${name}' in ${f}, which does not have it`);
    where.set(name, s);
  }
  return { config, weights: new ShardedBuffers(index.metadata ?? {}, where, label) };
}
