// The `xlstm` command line. Each subcommand lives in src/cli/commands/<name>.ts and
// exports `register(program)`; this file only assembles them, so adding a command
// never touches another one.
import { Command } from 'commander';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('xlstm')
    .description('xLSTM models in TypeScript: text generation, time-series forecasting, training')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  // register subcommands (one line each, alphabetical)
  return program;
}
