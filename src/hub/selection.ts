// Which files of a repository a model needs. Browser-safe. The same rules decide both what
// to download and whether a cached snapshot is complete (offline), so the two cannot drift.
import { HubError } from './errors.js';

/**
 * - 'tirex': model.safetensors + config.json when the repo has them, else the official model.ckpt;
 * - 'tirex2': config.json (else the legacy model-config.yaml) and model.safetensors (else the legacy
 *   model.ckpt), each current file preferred on its own, as the official tirex2 load_model;
 * - 'language-model': config, weights (model.safetensors or the shard index + shards),
 *   tokenizer and generation files when present;
 * - 'text-model': a language model that must have tokenizer.json (the CLI's generate/score);
 * - 'language-model-config': config, tokenizer and generation files, no weights.
 */
export type HubModelKind = 'tirex' | 'tirex2' | 'language-model' | 'text-model' | 'language-model-config';

export const SHARD_INDEX = 'model.safetensors.index.json';
const CONFIGS = ['config.json', 'config.yaml', 'config.yml'];
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

function listing(files: readonly string[]): string {
  const shown = files.slice(0, 12).join(', ');
  return files.length === 0 ? 'the repository is empty' : `it has ${shown}${files.length > 12 ? `, ... (${files.length} files)` : ''}`;
}

/**
 * The files to fetch from `available`. Shards are not included: they are named by the index,
 * which is fetched first (see shardFiles). Throws 'missing-files' naming what is absent.
 */
export function selectFiles(kind: HubModelKind, available: readonly string[], label: string): string[] {
  const has = (f: string) => available.includes(f);
  const missing = (what: string) => new HubError('missing-files', `${label}: ${what} (${listing(available)})`);
  if (kind === 'tirex') {
    if (has('model.safetensors') && has('config.json')) return ['config.json', 'model.safetensors'];
    if (has('model.ckpt')) return ['model.ckpt'];
    throw missing('not a TiRex repository: it needs model.ckpt, or model.safetensors + config.json');
  }
  if (kind === 'tirex2') {
    const cfg = has('config.json') ? 'config.json' : has('model-config.yaml') ? 'model-config.yaml' : null;
    const weights = has('model.safetensors') ? 'model.safetensors' : has('model.ckpt') ? 'model.ckpt' : null;
    if (!cfg || !weights) throw missing('not a TiRex-2 repository: it needs config.json (or model-config.yaml) and model.safetensors (or model.ckpt)');
    return [cfg, weights];
  }
  const config = CONFIGS.find(has);
  if (!config) throw missing('no config.json or config.yaml, so this is not a model this library can load');
  const out = [config, ...TOKENIZER_FILES.filter(has)];
  if (kind === 'text-model' && !has('tokenizer.json')) throw missing('no tokenizer.json, which text generation and scoring need');
  if (kind === 'language-model-config') return out;
  if (has(SHARD_INDEX)) out.push(SHARD_INDEX);
  else if (has('model.safetensors')) out.push('model.safetensors');
  else throw missing(`no model.safetensors or ${SHARD_INDEX} (safetensors weights are required; convert .bin/.pt weights first)`);
  return out;
}

/** The shard files an index names (unique, in first-use order), checked to stay inside the repository. */
export function shardFiles(indexJson: unknown, label: string): string[] {
  const map = (indexJson as { weight_map?: unknown } | null)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new HubError('missing-files', `${label}: ${SHARD_INDEX} has no weight_map`);
  const out: string[] = [];
  for (const v of Object.values(map as Record<string, unknown>)) {
    if (typeof v !== 'string' || v === '' || v.startsWith('/') || v.split('/').includes('..')) {
      throw new HubError('missing-files', `${label}: ${SHARD_INDEX} names the shard ${JSON.stringify(v)}, which is not a file of the repository`);
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}
