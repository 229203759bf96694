// `xlstm finetune data.csv --model DIR|ID --out DIR`: fine-tunes a TiRex on the series of a
// CSV file (src/train/finetune.ts), holding out the last --horizon values of each series for
// validation and early stopping, and saves the best weights as a TiRex folder that
// `xlstm forecast --model OUT` loads. The CSV is read exactly as `forecast` reads it.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ArgumentError, InputError } from '../../errors.js';
import { seasonalPeriod } from '../../timeseries/frequency.js';
import { realTarget, exitQuietlyOnEpipe } from '../cliFiles.js';
import {
  CommandIo, InputOptions, checkInputOptions, parseFill, parsePositiveInt, prepareSeries, processIo, readSeriesFile, regularizeSeries, resolveModelPath, withInputFile,
} from './forecast.js';
import type { FinetuneResult, FinetuneSeries, FinetuneEval } from '../../train/finetune.js';

export interface FinetuneCommandOptions extends InputOptions {
  model?: string;
  out?: string;
  horizon: string | number;
  steps?: string | number;
  lr?: string | number;
  seed?: string | number;
  batchSize?: string | number;
  evalEvery?: string | number;
  patience?: string | number;
  contextLength?: string | number;
  threads?: string | number;
  json?: boolean;
}

/** A finite number > 0 from a flag value (commander passes strings). */
function parsePositiveNumber(name: string, value: unknown): number {
  const s = String(value).trim();
  const n = /^[0-9]*\.?[0-9]+(e[-+]?\d+)?$/i.test(s) ? Number(s) : NaN;
  if (!(n > 0 && Number.isFinite(n))) throw new ArgumentError(`${name} must be a positive number, got '${String(value)}'`);
  return n;
}

/** A seed: an integer in [0, 2^32). */
function parseSeed(value: unknown): number {
  const s = String(value).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n >= 2 ** 32) throw new ArgumentError(`--seed must be an integer in [0, 2^32), got '${String(value)}'`);
  return n;
}

function num(v: number, digits = 4): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** The before/after table printed on stdout. */
export function formatFinetuneTable(r: FinetuneResult, out: string): string {
  const head = ['validation', 'MASE', 'WQL', 'MASE/naive', 'WQL/naive'];
  const row = (label: string, a: FinetuneResult['before']) => [label, num(a.mase), num(a.wql), num(a.relMase.value), num(a.relWql.value)];
  const rows = [row('before', r.before), row(`after (step ${r.bestStep})`, r.after)];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((x) => x[c].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const lines = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''];
  lines.push(`last ${r.horizon} values of ${r.used.length} series held out; ${r.stepsRun} steps${r.stoppedEarly ? ' (stopped early: validation WQL stopped improving)' : ''}; kept the weights of step ${r.bestStep}`);
  if (r.bestStep === 0) lines.push('no step lowered the validation WQL: the saved model has the starting weights');
  lines.push(`saved to ${out}`);
  for (const s of r.skipped) lines.push(`skipped: series '${s.id}': ${s.reason}`);
  return lines.join('\n') + '\n';
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** The --json report (also saved as finetune.json next to the model). */
export function finetuneToJson(r: FinetuneResult, extra: Record<string, unknown> = {}): string {
  const scores = (a: FinetuneResult['before']) => ({
    series: a.series, mase: finiteOrNull(a.mase), wql: finiteOrNull(a.wql), relMase: finiteOrNull(a.relMase.value), relWql: finiteOrNull(a.relWql.value),
  });
  return JSON.stringify({
    ...extra, horizon: r.horizon, before: scores(r.before), after: scores(r.after), bestStep: r.bestStep, stepsRun: r.stepsRun, stoppedEarly: r.stoppedEarly,
    contextLength: r.contextLength, series: r.used, skipped: r.skipped,
    history: r.history.map((e) => ({ step: e.step, mase: finiteOrNull(e.mase), wql: finiteOrNull(e.wql), trainLoss: finiteOrNull(e.trainLoss), best: e.best })),
  }, null, 1) + '\n';
}

/**
 * The `finetune` command without commander: checks the flags, reads the CSV, fine-tunes,
 * writes OUT/model.safetensors + OUT/config.json (+ finetune.json, the report) atomically,
 * and prints the table (or --json) on stdout; validation progress goes to stderr.
 */
export async function runFinetune(o: FinetuneCommandOptions, io: CommandIo = processIo): Promise<FinetuneResult> {
  if (o.out === undefined || o.out === '') throw new ArgumentError('missing --out: the folder to save the fine-tuned model in');
  const horizon = parsePositiveInt('--horizon', o.horizon);
  const steps = o.steps !== undefined ? parsePositiveInt('--steps', o.steps) : undefined;
  const lr = o.lr !== undefined ? parsePositiveNumber('--lr', o.lr) : undefined;
  const seed = o.seed !== undefined ? parseSeed(o.seed) : undefined;
  const batchSize = o.batchSize !== undefined ? parsePositiveInt('--batch-size', o.batchSize) : undefined;
  const evalEvery = o.evalEvery !== undefined ? parsePositiveInt('--eval-every', o.evalEvery) : undefined;
  const patience = o.patience !== undefined ? parsePositiveInt('--patience', o.patience) : undefined;
  const contextLength = o.contextLength !== undefined ? parsePositiveInt('--context-length', o.contextLength) : undefined;
  const threads = o.threads !== undefined ? parsePositiveInt('--threads', o.threads) : undefined;
  checkInputOptions(o);
  const out = o.out;
  const outStat = await stat(out).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new ArgumentError(`--out '${out}' is a file, not a folder`);

  const { resolveCliModel } = await import('../hubModel.js');
  const modelPath = await resolveCliModel(await resolveModelPath(o.model), 'tirex', { write: (s: string) => io.stderr(s) });
  // the model is read from its folder while the result is written: one folder for both would
  // overwrite the starting weights (and a hub cache entry) with the fine-tuned ones
  const modelDir = (await stat(modelPath)).isDirectory() ? modelPath : join(modelPath, '..');
  if (await realTarget(modelDir) === await realTarget(out)) throw new ArgumentError(`--out '${out}' is the model folder ('${o.model ?? modelPath}'): give another folder for the fine-tuned model`);

  const series = await readSeriesFile(o);
  const regular = regularizeSeries(series, parseFill(o.fill));
  const prepared = prepareSeries(regular.series, horizon, regular.problems);
  const input: FinetuneSeries[] = [];
  const csvSkipped: { id: string; reason: string }[] = [];
  for (const p of prepared) {
    if (p.error) csvSkipped.push({ id: p.id, reason: p.error });
    else input.push({ id: p.id, values: p.values, m: seasonalPeriod(p.frequency!) });
  }
  if (input.length === 0) throw new InputError(`no series to fine-tune on: ${csvSkipped.slice(0, 3).map((s) => `series '${s.id}': ${s.reason}`).join('; ')}`);

  const { WasmBackend } = await import('../../backend/wasm/backend.js');
  const { TiRexTrainable } = await import('../../train/tirexTrainable.js');
  const { finetuneTiRex } = await import('../../train/finetune.js');
  const be = await WasmBackend.create({ threads });
  try {
    let model;
    try { model = await TiRexTrainable.fromPretrained(be, modelPath); } catch (e) {
      throw new InputError(`--model '${o.model ?? modelPath}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const onEval = (e: FinetuneEval) => io.stderr(`xlstm finetune: step ${e.step}: validation MASE ${num(e.mase)} WQL ${num(e.wql)}${Number.isFinite(e.trainLoss) ? `, train loss ${num(e.trainLoss)}` : ''}${e.best ? ' (best)' : ''}\n`);
    const r = await finetuneTiRex(model, input, { horizon, steps, lr, seed, batchSize, evalEvery, patience, contextLength, onEval });
    r.skipped.unshift(...csvSkipped);
    for (const s of r.skipped) io.stderr(`xlstm finetune: skipped series '${s.id}': ${s.reason}\n`);

    // the same files as `xlstm train` writes, each atomically (temp + rename)
    const { writeSafetensorsFile } = await import('../../io/safetensorsWrite.js');
    const { writeFileAtomic } = await import('../../train/trainer.js');
    await mkdir(out, { recursive: true });
    await writeSafetensorsFile(join(out, 'model.safetensors'), model.tensors(), { format: 'pt', written_by: 'xlstm-ts finetune' });
    await writeFileAtomic(join(out, 'config.json'), JSON.stringify(model.hyperParameters, null, 2) + '\n');
    const report = finetuneToJson(r, { baseModel: o.model ?? 'default-forecaster', seed: seed ?? 0 });
    await writeFileAtomic(join(out, 'finetune.json'), report);
    io.stdout(o.json ? report : formatFinetuneTable(r, out));
    return r;
  } finally { be.dispose(); }
}

export function register(program: Command): void {
  program.command('finetune')
    .description('fine-tune a TiRex forecaster on the series of a CSV file (the last --horizon values of each are held out for validation and early stopping)')
    .argument('[file]', 'CSV file (same as --input; - reads stdin)')
    .option('--input <file>', 'CSV file: wide (timestamp column + one column per series) or long (id, timestamp, value); - reads stdin')
    .option('--model <dir|id>', 'TiRex model to start from: folder, checkpoint file or hub id (default: the shipped default forecaster)')
    .requiredOption('--out <dir>', 'folder to save the fine-tuned model in (config.json + model.safetensors + finetune.json)')
    .requiredOption('--horizon <n>', 'values held out at the end of each series for validation (use the horizon you will forecast)')
    .option('--steps <n>', 'most training steps (default 200)')
    .option('--lr <x>', 'peak learning rate (default 1e-4)')
    .option('--seed <s>', 'seed of the training windows (default 0); the same seed gives the same weights')
    .option('--batch-size <n>', 'training windows per step (default 16)')
    .option('--eval-every <n>', 'validate every n steps (default 10)')
    .option('--patience <n>', 'stop after n validations without a lower WQL (default 5)')
    .option('--context-length <n>', "longest training context (default: the model's train_ctx_len)")
    .option('--threads <n>', 'compute threads (default: all cores)')
    .option('--json', 'print the report as JSON')
    .option('--format <layout>', 'wide | long | auto (default: auto-detect from the header)')
    .option('--id-col <name>', 'long layout: id column (default: id, item_id, unique_id, series_id, series)')
    .option('--time-col <name>', "timestamp column ('none': no timestamps, integer index)")
    .option('--value-col <name>', 'long layout: value column (default: value, target, y)')
    .option('--delimiter <char>', "field delimiter: ',', ';', 'tab' or another character (default: detected from the header)")
    .option('--fill <how>', "'nan': missing timestamps become missing values (default: a series with gaps is skipped)")
    .action(async (file: string | undefined, opts: FinetuneCommandOptions) => {
      exitQuietlyOnEpipe();
      await runFinetune(withInputFile(file, opts));
    });
}
