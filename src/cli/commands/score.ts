// `xlstm score`: negative log-likelihood and perplexity of a text file under a language
// model. The text is tokenized as a prompt would be (BOS first when the model wants it),
// and every token after the first is scored given all tokens before it.
import type { Command } from 'commander';
import { CliIo, processIo, loadTextModel, parseDtypeOption, parseIntOption } from './generate.js';
import type { LoadDtype } from '../../models/auto.js';
import { ArgumentError, InputError } from '../../errors.js';
import { STDIO_PATH, decodeUtf8, exitQuietlyOnEpipe, readTextInput } from '../cliFiles.js';
import { checkChunkSize } from '../limits.js';

export interface ScoreCliOptions {
  model: string;
  file: string;
  threads?: number;
  dtype?: LoadDtype;
  /** Tokens per forward call (bounds memory on long files). */
  chunkSize?: number;
  json?: boolean;
}

export interface ScoreJson {
  model: string;
  file: string;
  /** Tokens of the file (BOS included when inserted). */
  tokens: number;
  /** Tokens scored (tokens - 1: the first one has no context). */
  scoredTokens: number;
  nll: number;
  meanNll: number;
  perplexity: number;
}

export function parseScoreArgs(raw: Record<string, unknown>): ScoreCliOptions {
  if (raw.model === undefined || raw.model === '') throw new ArgumentError('--model is required (a folder with config.json, weights and tokenizer.json)');
  if (raw.file === undefined || raw.file === '') throw new ArgumentError('--file is required (the text file to score; - reads stdin)');
  const o: ScoreCliOptions = { model: String(raw.model), file: String(raw.file) };
  if (raw.threads !== undefined) o.threads = parseIntOption('--threads', raw.threads, 1);
  if (raw.chunkSize !== undefined) o.chunkSize = parseIntOption('--chunk-size', raw.chunkSize, 1);
  o.dtype = parseDtypeOption(raw.dtype);
  if (raw.json) o.json = true;
  return o;
}

/** The whole `xlstm score` command; returns what it printed (as an object). */
export async function runScore(o: ScoreCliOptions, io: CliIo = processIo): Promise<ScoreJson> {
  let text: string;
  if (o.file === STDIO_PATH) text = await readTextInput(o.file, '--file');
  else {
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = await readFile(o.file);
    } catch (e) {
      throw new InputError(`--file '${o.file}': cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    // a lenient decode would score U+FFFD replacement characters instead of the user's text
    text = decodeUtf8(bytes, `--file '${o.file}'`);
  }
  if (text.length === 0) throw new InputError(`--file '${o.file}' is empty`);
  const { score } = await import('../../generation/score.js');
  const chunkSize = o.chunkSize;
  const lm = await loadTextModel({ ...o, beforeWeights: ({ tokenizer }) => { if (chunkSize !== undefined) checkChunkSize(chunkSize, tokenizer.vocabSize); } }, io);
  try {
    const ids = lm.tokenizer.encode(text);
    if (ids.length < 2) throw new InputError(`--file '${o.file}' has ${ids.length} token(s); scoring needs at least 2 (the first one is only context)`);
    const s = score(lm.model, ids, o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {});
    const out: ScoreJson = { model: o.model, file: o.file, tokens: ids.length, scoredTokens: s.tokens, nll: s.nll, meanNll: s.meanNll, perplexity: s.perplexity };
    if (o.json) {
      io.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      io.stdout.write(
        `tokens:      ${out.tokens} (${out.scoredTokens} scored)\n` +
        `nll:         ${out.nll.toFixed(4)} nats (${out.meanNll.toFixed(4)} per token)\n` +
        `perplexity:  ${out.perplexity.toFixed(4)}\n`);
    }
    return out;
  } finally {
    lm.close();
  }
}

export function register(program: Command): void {
  program
    .command('score')
    .description('negative log-likelihood and perplexity of a text file under a language model')
    .requiredOption('-m, --model <dir>', 'model folder: config.json (or config.yaml), safetensors weights, tokenizer.json')
    .requiredOption('-f, --file <path>', 'UTF-8 text file to score (- reads stdin)')
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--dtype <d>', 'weight format in memory: f32, bf16, int8, q4 (default: as stored)')
    .option('--chunk-size <n>', 'tokens per forward call (default 512)')
    .option('--json', 'print the result as JSON')
    .action(async (raw: Record<string, unknown>) => {
      exitQuietlyOnEpipe();
      await runScore(parseScoreArgs(raw));
    });
}
