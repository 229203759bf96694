#!/usr/bin/env node
// Executable entry of `xlstm` (package.json "bin"). Errors from commands are printed as
// one line, without a stack trace: they are meant for the user, and name the bad input.
import { buildProgram } from './main.js';

buildProgram().parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`xlstm: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
