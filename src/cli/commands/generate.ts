// `xlstm generate`: text generation from a model folder (config + weights + tokenizer.json).
// Streams the text to stdout as it is generated, or with --json prints the ids, per-token
// log-probabilities and G-NLL. The command's logic is runGenerate(opts, io), which tests
// call directly; loading (backend, model, tokenizer, progress bar) is shared with `score`.
import type { Command } from 'commander';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { LanguageModel } from '../../models/languageModel.js';
import type { GenerationDefaults, LoadDtype } from '../../models/auto.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { ArgumentError, InputError } from '../../errors.js';
import { exitQuietlyOnEpipe } from '../cliFiles.js';
import { checkMaxNewTokens } from '../limits.js';

/** Where a command writes (process.stdout / process.stderr, or buffers in tests). */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

export interface LoadedTextModel {
  model: LanguageModel;
  tokenizer: Tokenizer;
  defaults: GenerationDefaults;
  backend: WasmBackend;
  close(): void;
}

export interface TextModelOptions {
  model: string;
  threads?: number;
  /** WasmBackendOptions.barrierSpins (--barrier-spins). */
  barrierSpins?: number;
  dtype?: LoadDtype;
  /**
   * Runs after the tokenizer and generation defaults are read, before the weights are: the
   * place for checks that need the vocabulary or the defaults (size limits), so they fail fast.
   */
  beforeWeights?: (t: { tokenizer: Tokenizer; defaults: GenerationDefaults }) => void;
}

/**
 * Opens backend, tokenizer and model of a folder. The tokenizer and config are read first,
 * so a folder without tokenizer.json fails before gigabytes of weights are read. A progress
 * bar goes to stderr only when it is a terminal.
 */
export async function loadTextModel(opts: TextModelOptions, io: CliIo): Promise<LoadedTextModel> {
  const [{ WasmBackend }, auto] = await Promise.all([import('../../backend/wasm/backend.js'), import('../../models/auto.js')]);
  const dir = await (await import('../hubModel.js')).resolveCliModel(opts.model, 'text-model', io.stderr);
  const wrap = (e: unknown) => new InputError(`--model '${dir}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  let tokenizer: Tokenizer, defaults: GenerationDefaults;
  try {
    await auto.detectModel(dir);
    tokenizer = await auto.loadTokenizer(dir);
    defaults = await auto.readGenerationDefaults(dir);
  } catch (e) { throw wrap(e); }
  opts.beforeWeights?.({ tokenizer, defaults });
  const backend = await WasmBackend.create({ threads: opts.threads, barrierSpins: opts.barrierSpins });
  const bar = await progressBar(io);
  try {
    const model = await auto.loadLanguageModel(dir, { backend, dtype: opts.dtype, onProgress: bar?.update });
    bar?.stop();
    if (tokenizer.vocabSize > model.vocabSize) {
      throw new InputError(`tokenizer.json has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.vocabSize} (tokenizer and weights do not belong together)`);
    }
    const close = () => { (model as unknown as { dispose?: () => void }).dispose?.(); backend.dispose(); };
    return { model, tokenizer, defaults, backend, close };
  } catch (e) {
    bar?.stop();
    backend.dispose();
    throw wrap(e);
  }
}

async function progressBar(io: CliIo): Promise<{ update: (p: { loaded: number; total: number }) => void; stop: () => void } | undefined> {
  if (!io.stderr.isTTY) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({
    stream: io.stderr as NodeJS.WritableStream,
    format: 'loading weights [{bar}] {percentage}% | {loadedMiB}/{totalMiB} MiB',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  return {
    update: (p) => {
      if (!started) { bar.start(p.total, 0, { loadedMiB: '0', totalMiB: mib(p.total) }); started = true; }
      bar.update(p.loaded, { loadedMiB: mib(p.loaded), totalMiB: mib(p.total) });
    },
    stop: () => { if (started) { bar.stop(); started = false; } },
  };
}

// ------------------------------------------------------------ option parsing

/** Integer option >= min (commander hands over strings). */
export function parseIntOption(name: string, value: unknown, min: number): number {
  const s = String(value).trim();
  const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new ArgumentError(`${name} must be an integer >= ${min}, got '${String(value)}'`);
  return n;
}

/** Number option checked by `ok`; `want` describes the accepted range. */
export function parseNumberOption(name: string, value: unknown, ok: (x: number) => boolean, want: string): number {
  const s = String(value).trim();
  const n = s === '' ? NaN : Number(s);
  if (!Number.isFinite(n) || !ok(n)) throw new ArgumentError(`${name} must be ${want}, got '${String(value)}'`);
  return n;
}

export function parseDtypeOption(value: unknown): LoadDtype | undefined {
  if (value === undefined) return undefined;
  const all = ['f32', 'bf16', 'int8', 'q4'];
  if (!all.includes(String(value))) throw new ArgumentError(`--dtype must be one of ${all.join(', ')}, got '${String(value)}'`);
  return value as LoadDtype;
}

export interface GenerateCliOptions {
  model: string;
  prompt: string;
  /** Default: generation_config.json max_new_tokens, else 64. */
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  threads?: number;
  barrierSpins?: number;
  dtype?: LoadDtype;
  json?: boolean;
}

/** What --json prints. */
export interface GenerateJson {
  model: string;
  prompt: string;
  promptIds: number[];
  mode: 'greedy' | 'sample';
  seed?: number;
  ids: number[];
  text: string;
  /** One per generated id: its text piece and log p under the model's raw distribution. */
  tokens: { id: number; token: string | null; logprob: number }[];
  /** Sum of -logprob over ids. */
  nll: number;
  /** NLL of the greedy continuation (= nll when decoding greedily). */
  gNll: number;
  greedyIds?: number[];
  finishReason: string;
}

/** Turns commander's raw values into checked options (errors name the flag). */
export function parseGenerateArgs(raw: Record<string, unknown>): GenerateCliOptions {
  if (raw.model === undefined || raw.model === '') throw new ArgumentError('--model is required (a folder with config.json, weights and tokenizer.json)');
  if (raw.prompt === undefined) throw new ArgumentError('--prompt is required');
  const o: GenerateCliOptions = { model: String(raw.model), prompt: String(raw.prompt) };
  if (raw.maxNewTokens !== undefined) {
    o.maxNewTokens = parseIntOption('--max-new-tokens', raw.maxNewTokens, 1);
    checkMaxNewTokens(o.maxNewTokens);
  }
  if (raw.temperature !== undefined) o.temperature = parseNumberOption('--temperature', raw.temperature, (x) => x >= 0, 'a number >= 0 (0 = greedy)');
  if (raw.topK !== undefined) o.topK = parseIntOption('--top-k', raw.topK, 1);
  if (raw.topP !== undefined) o.topP = parseNumberOption('--top-p', raw.topP, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  if (raw.seed !== undefined) {
    o.seed = parseIntOption('--seed', raw.seed, 0);
    if (o.seed >= 2 ** 32) throw new ArgumentError(`--seed must be an integer in [0, 2^32), got '${String(raw.seed)}'`);
  }
  if (raw.stop !== undefined) {
    o.stop = (raw.stop as string[]).map(String);
    if (o.stop.some((s) => s === '')) throw new ArgumentError('--stop must not be empty');
  }
  if (raw.threads !== undefined) o.threads = parseIntOption('--threads', raw.threads, 1);
  if (raw.barrierSpins !== undefined) o.barrierSpins = parseIntOption('--barrier-spins', raw.barrierSpins, -1);
  o.dtype = parseDtypeOption(raw.dtype);
  if (raw.json) o.json = true;
  return o;
}

/** Sampling settings: the flags, else generation_config.json (when it samples), else greedy. */
function samplingOf(o: GenerateCliOptions, d: GenerationDefaults): { temperature?: number; topK?: number; topP?: number } {
  const flags = o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined;
  if (flags) return { temperature: o.temperature, topK: o.topK, topP: o.topP };
  if (d.doSample) return { temperature: d.temperature ?? 1, topK: d.topK, topP: d.topP };
  return {};
}

/** The whole `xlstm generate` command. Returns the JSON object when --json. */
export async function runGenerate(o: GenerateCliOptions, io: CliIo = processIo): Promise<GenerateJson | undefined> {
  if (o.prompt.length === 0) throw new ArgumentError('--prompt is empty (give the text to continue)');
  if (o.maxNewTokens !== undefined) checkMaxNewTokens(o.maxNewTokens);
  const { generate, streamGenerate } = await import('../../generation/generate.js');
  // a generation_config.json max_new_tokens is held to the same limit as the flag
  const lm = await loadTextModel({ ...o, beforeWeights: ({ defaults }) => { if (o.maxNewTokens === undefined && defaults.maxNewTokens !== undefined) checkMaxNewTokens(defaults.maxNewTokens); } }, io);
  try {
    const { model, tokenizer, defaults } = lm;
    const maxNewTokens = o.maxNewTokens ?? defaults.maxNewTokens ?? 64;
    const stopTokens = defaults.eosTokenIds.length ? defaults.eosTokenIds : tokenizer.eosTokenId !== null ? [tokenizer.eosTokenId] : [];
    const promptIds = tokenizer.encode(o.prompt);
    const opts = {
      maxNewTokens,
      ...samplingOf(o, defaults),
      seed: o.seed,
      stopTokens: stopTokens.filter((t) => t < model.vocabSize),
      stopStrings: o.stop,
      // users read the text: special tokens (a generated PAD, BOS...) are left out of it, as HF streamers do
      tokenizer: { encode: (t: string) => tokenizer.encode(t), decode: (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true }) },
    };
    if (o.json) {
      const r = generate(model, [promptIds], { ...opts, logprobs: true, gNll: true });
      const s = r.sequences[0];
      const out: GenerateJson = {
        model: o.model,
        prompt: o.prompt,
        promptIds,
        mode: r.mode,
        ...(r.seed !== undefined ? { seed: r.seed } : {}),
        ids: s.tokens,
        text: s.text ?? '',
        tokens: s.tokens.map((id, j) => ({ id, token: tokenizer.idToToken(id) ?? null, logprob: s.logprobs![j].logprob })),
        nll: s.nll,
        gNll: s.gNll ?? s.nll,
        ...(s.greedyTokens ? { greedyIds: s.greedyTokens } : {}),
        finishReason: s.finishReason,
      };
      io.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return out;
    }
    const it = streamGenerate(model, [promptIds], opts);
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      if (r.value.text) io.stdout.write(r.value.text);
    }
    io.stdout.write('\n');
    return undefined;
  } finally {
    lm.close();
  }
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate text with a language model (xLSTM-7B / xLSTM Large folder with tokenizer.json)')
    .requiredOption('-m, --model <dir>', 'model folder: config.json (or config.yaml), safetensors weights, tokenizer.json')
    .requiredOption('-p, --prompt <text>', 'text to continue')
    .option('-n, --max-new-tokens <n>', 'tokens to generate at most (default: generation_config.json, else 64)')
    .option('--temperature <t>', 'sampling temperature (0 = greedy; default greedy unless generation_config.json samples)')
    .option('--top-k <k>', 'sample among the k most likely tokens')
    .option('--top-p <p>', 'nucleus sampling: smallest set of tokens with probability >= p')
    .option('--seed <s>', 'random seed for sampling (0 <= s < 2^32)')
    .option('--stop <str>', 'stop when the text contains this string (repeatable)', collect)
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--barrier-spins <n>', 'most checks a decode thread makes at a barrier before it sleeps (default 20000; 1000 where other busy processes share the cores)')
    .option('--dtype <d>', 'weight format in memory: f32, bf16, int8, q4 (default: as stored)')
    .option('--json', 'print ids, per-token log-probabilities and G-NLL as JSON')
    .action(async (raw: Record<string, unknown>) => {
      exitQuietlyOnEpipe();
      await runGenerate(parseGenerateArgs(raw));
    });
}
