// The `xlstm` command line. Each subcommand lives in src/cli/commands/<name>.ts and
// exports `register(program)`; this file only assembles them, so adding a command
// never touches another one. What every command shares (the version, one-line usage
// errors, the examples under --help) is applied here, after registering.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as registerBatch } from './commands/batch.js';
import { register as registerClassify } from './commands/classify.js';
import { register as registerClassifyImage } from './commands/classifyImage.js';
import { register as registerConvert } from './commands/convert.js';
import { register as registerEvaluate } from './commands/evaluate.js';
import { register as registerFinetune } from './commands/finetune.js';
import { register as registerForecast } from './commands/forecast.js';
import { register as registerGenerate } from './commands/generate.js';
import { register as registerRegress } from './commands/regress.js';
import { register as registerScore } from './commands/score.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerWorker } from './commands/worker.js';

/**
 * Examples shown at the end of `xlstm <command> --help`, by command path. Kept here rather
 * than in each command file so the help of every command reads the same way.
 */
export const COMMAND_EXAMPLES: Record<string, string[]> = {
  'batch submit': [
    'xlstm batch submit sales.csv --horizon 24 --chunk-size 500',
    'REDIS_URL=redis://queue-host:6379 xlstm batch collect --wait --output forecast.csv',
  ],
  'convert tirex': [
    'xlstm convert tirex --ckpt model.ckpt --out tirex-1.1',
    'xlstm convert tirex --ckpt model.ckpt --out tirex-bf16 --dtype bf16',
  ],
  evaluate: [
    'xlstm evaluate sales.csv --horizon 24',
    'xlstm evaluate sales.csv --horizon 24 --json --plot eval.svg',
  ],
  finetune: [
    'xlstm finetune sales.csv --horizon 24 --out ./tirex-sales',
    'xlstm finetune sales.csv --model ./tirex --out ./tirex-sales --horizon 24 --steps 300 --lr 5e-5 --seed 1 --json',
  ],
  forecast: [
    'xlstm forecast sales.csv --horizon 24 > forecast.csv',
    'xlstm forecast --input long.csv --format long --horizon 12 --quantiles 0.1,0.5,0.9 --output out.json',
    'xlstm forecast data.csv --model ./tirex2 --target y1,y2 --past-covariates x1 --future-covariates holiday,price --horizon 28',
  ],
  generate: [
    'xlstm generate --model ./xlstm-7b --prompt "The capital of France is" --max-new-tokens 20',
    'xlstm generate -m ./my-lm -p "Once upon a time" --temperature 0.8 --top-p 0.95 --seed 1 --json',
  ],
  score: [
    'xlstm score --model ./my-lm --file text.txt',
    'xlstm score -m ./my-lm -f text.txt --chunk-size 256 --json',
  ],
  train: [
    'xlstm train --config configs/default-forecaster.yaml',
    'xlstm train --config configs/xlstm-large-tiny.yaml --until-step 100',
    'xlstm train --config configs/xlstm-large-tiny.yaml --resume    # after Ctrl-C or --until-step',
  ],
  worker: [
    'REDIS_URL=redis://queue-host:6379 xlstm worker --model ./tirex --concurrency 2',
  ],
};

/**
 * The package version, read when asked: package.json is two folders above src/cli and three
 * above dist/src/cli, so both locations are tried (the file ships with the package).
 */
export function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'xlstm-ts' && typeof pkg.version === 'string') return pkg.version;
    } catch { /* not at this level: try the next */ }
  }
  return 'unknown';
}

/** A command's full name as typed ("convert tirex"). */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * commander's usage errors ("error: required option '--horizon <n>' not specified", with a
 * "(Did you mean ...?)" line) as one line that names the command: a script's log shows what
 * was wrong without the whole help text in between.
 */
export function usageErrorLine(cmd: Command, message: string): string {
  const where = ['xlstm', commandPath(cmd)].filter(Boolean).join(' ');
  let m = message.trim().replace(/^error:\s*/, '');
  m = m.replace(/^required option '([^']+)' not specified$/, 'missing required option $1');
  m = m.replace(/\s*\n\s*\(Did you mean ([^)]*)\)/, ' (did you mean $1)').replace(/\s*\n\s*/g, ' ');
  return `${where}: ${m}\n`;
}

function applyShared(cmd: Command): void {
  cmd.configureOutput({ outputError: (s, write) => write(usageErrorLine(cmd, s)) });
  const examples = COMMAND_EXAMPLES[commandPath(cmd)];
  if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  for (const sub of cmd.commands) applyShared(sub);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('xlstm')
    .description('xLSTM models in TypeScript: text generation, time-series forecasting, training')
    .version(packageVersion(), '-V, --version', 'print the version of xlstm-ts');
  // register subcommands (one line each, alphabetical)
  registerBatch(program);
  registerClassify(program);
  registerClassifyImage(program);
  registerConvert(program);
  registerEvaluate(program);
  registerFinetune(program);
  registerForecast(program);
  registerGenerate(program);
  registerRegress(program);
  registerScore(program);
  registerServe(program);
  registerTrain(program);
  registerWorker(program);
  applyShared(program);
  program.addHelpText('after', `\nExamples:\n${Object.values(COMMAND_EXAMPLES).map((e) => `  $ ${e[0]}`).join('\n')}\n\nRun 'xlstm <command> --help' for a command's options and more examples.\n`);
  return program;
}
