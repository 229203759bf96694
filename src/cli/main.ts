// The `xlstm` command line. Each subcommand lives in src/cli/commands/<name>.ts and
// exports `register(program)`; this file only assembles them, so adding a command
// never touches another one.
import { Command } from 'commander';
import { register as registerClassify } from './commands/classify.js';
import { register as registerConvert } from './commands/convert.js';
import { register as registerEvaluate } from './commands/evaluate.js';
import { register as registerForecast } from './commands/forecast.js';
import { register as registerGenerate } from './commands/generate.js';
import { register as registerRegress } from './commands/regress.js';
import { register as registerScore } from './commands/score.js';
import { register as registerTrain } from './commands/train.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('xlstm')
    .description('xLSTM models in TypeScript: text generation, time-series forecasting, training')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  // register subcommands (one line each, alphabetical)
  registerClassify(program);
  registerConvert(program);
  registerEvaluate(program);
  registerForecast(program);
  registerGenerate(program);
  registerRegress(program);
  registerScore(program);
  registerTrain(program);
  return program;
}
