// Where huggingface_hub keeps its cache and token (Node only), with the same variables and
// defaults, so both tools share one cache and one login.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Env, HubOptions, envToken, processEnv } from './options.js';

/** HF_HOME, else XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: Env = processEnv()): string {
  if (env.HF_HOME) return env.HF_HOME;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
}

/** The hub cache: options, HF_HUB_CACHE, the older HUGGINGFACE_HUB_CACHE, then HF_HOME/hub. */
export function resolveCacheDir(opts: HubOptions, env: Env = processEnv()): string {
  return opts.cacheDir ?? env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), 'hub');
}

/** The token: options, HF_TOKEN, then the file `huggingface-cli login` writes (HF_TOKEN_PATH or HF_HOME/token). */
export async function resolveToken(opts: HubOptions, env: Env = processEnv()): Promise<string | undefined> {
  const t = envToken(opts, env);
  if (t !== undefined) return t;
  const path = env.HF_TOKEN_PATH ?? join(hfHome(env), 'token');
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch { return undefined; /* not logged in: public repositories still work */ }
}
