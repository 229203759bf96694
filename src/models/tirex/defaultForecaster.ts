// The forecaster that ships with xlstm-ts: a small TiRex-architecture model trained from
// scratch on synthetic series (models/default-forecaster/; its README.md is the model card,
// configs/default-forecaster.yaml the training command). It lives in the package next to
// dist/, so it resolves from this module's URL: a file: URL under Node, the served package
// URL in a browser (fetched), with no download from anywhere else.
import { parseSafetensors } from '../../io/safetensors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { TiRex } from './model.js';
import type { TiRexOptions } from './model.js';

/** The default forecaster's folder (model.safetensors + config.json) as a URL. */
export function defaultForecasterUrl(): URL {
  // dist/src/models/tirex/defaultForecaster.js -> <package root>/models/default-forecaster/
  return new URL('../../../../models/default-forecaster/', import.meta.url);
}

/** The folder as a local path (Node; undefined when the package has no such folder). */
export async function defaultForecasterPath(): Promise<string | undefined> {
  const url = defaultForecasterUrl();
  if (url.protocol !== 'file:') return undefined;
  const { fileURLToPath } = await import('node:url');
  const { stat } = await import('node:fs/promises');
  const dir = fileURLToPath(url);
  return stat(`${dir}/model.safetensors`).then(() => dir, () => undefined);
}

/** Loads the default forecaster: `const tirex = await loadDefaultForecaster({ backend })`. */
export async function loadDefaultForecaster(opts: TiRexOptions): Promise<TiRex> {
  if (!opts || !opts.backend) throw new Error('loadDefaultForecaster: options.backend (a WasmBackend) is required');
  const url = defaultForecasterUrl();
  if (url.protocol === 'file:') {
    const dir = await defaultForecasterPath();
    if (dir === undefined) throw new Error(`loadDefaultForecaster: ${url.href} has no model.safetensors (is the package's models/ folder missing?)`);
    return TiRex.fromPretrained(dir, opts);
  }
  const get = async (name: string): Promise<Response> => {
    const r = await fetch(new URL(name, url));
    if (!r.ok) throw new Error(`loadDefaultForecaster: ${new URL(name, url).href}: HTTP ${r.status}`);
    return r;
  };
  const config: unknown = await (await get('config.json')).json();
  const st = parseSafetensors(new Uint8Array(await (await get('model.safetensors')).arrayBuffer()), { source: 'default-forecaster/model.safetensors' });
  const tensors = new Map<string, Tensor>(st.names().map((n) => [n, st.read(n)]));
  return TiRex.fromTensors(config, tensors, opts);
}
