// Node loader: reads tokenizer.json (+ tokenizer_config.json when present) from a model
// folder. File-system access goes through dynamic imports so this module can sit in a
// browser bundle as long as it is not called there.
import { Tokenizer, TokenizerOptions } from './tokenizer.js';

async function readJsonIfExists(path: string): Promise<unknown | undefined> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Loads the tokenizer of a model folder. Throws a clear error when tokenizer.json is missing. */
export async function loadTokenizerFromDir(dir: string, opts: TokenizerOptions = {}): Promise<Tokenizer> {
  const { join } = await import('node:path');
  const { stat } = await import('node:fs/promises');
  const st = await stat(dir).catch(() => null);
  if (!st || !st.isDirectory()) throw new Error(`model folder ${dir} does not exist or is not a directory`);
  const tokPath = join(dir, 'tokenizer.json');
  const tok = await readJsonIfExists(tokPath);
  if (tok === undefined) throw new Error(`no tokenizer.json in ${dir} (text commands need the Hugging Face tokenizer file next to the weights)`);
  const cfg = await readJsonIfExists(join(dir, 'tokenizer_config.json'));
  try {
    return Tokenizer.fromJSON(tok, cfg, opts);
  } catch (e) {
    throw new Error(`${tokPath}: ${(e as Error).message}`);
  }
}
