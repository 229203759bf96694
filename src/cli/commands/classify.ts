// `xlstm classify`: a linear classifier on frozen TiRex embeddings (official
// TirexLinearClassifier), fitted on a labelled CSV and applied to another one.
// CSV layout (samples CSV, one sample per row): a header row; a label column (default
// `label`; the prediction file may omit it); an optional id column (default `id`); every
// other column is one time step, in column order. An empty cell is a missing value; a row
// shorter than the others simply ends with empty cells (it is left-padded with NaN to the
// longest row, as the official batching does).
// The shared pieces (reading samples CSVs, loading the model, training options) are used by
// `xlstm regress` (./regress.ts) too.
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { parseCell } from '../../timeseries/csv.js';
import { parsePositiveInt, resolveModelPath } from './forecast.js';
import type { TiRex } from '../../models/tirex/model.js';
import type { TiRexHeadTrainOptions } from '../../models/tirex/heads.js';

export interface SamplesCsv {
  ids: string[];
  /** one series per row (trailing empty cells dropped) */
  series: Float64Array[];
  /** the label column's cells, or null when the file has no such column */
  labels: string[] | null;
}

export interface SamplesCsvOptions { labelCol: string; idCol: string; requireLabels: boolean; source: string }

/** Parses a samples CSV (layout above); errors name the file, line and column. */
export function parseSamplesCsv(text: string, o: SamplesCsvOptions): SamplesCsv {
  let rows: string[][];
  try { rows = parse(text, { skip_empty_lines: true, relax_column_count: true, trim: true }) as string[][]; } catch (e) {
    throw new Error(`${o.source}: not a valid CSV file (${(e as Error).message})`);
  }
  if (rows.length < 2) throw new Error(`${o.source}: needs a header row and at least one sample row, got ${rows.length} row(s)`);
  const header = rows[0];
  const li = header.indexOf(o.labelCol), ii = header.indexOf(o.idCol);
  if (li < 0 && o.requireLabels) throw new Error(`${o.source}: no label column '${o.labelCol}' in the header (${header.join(', ')}); name it with --label-col`);
  const valueCols = header.map((_, j) => j).filter((j) => j !== li && j !== ii);
  if (valueCols.length === 0) throw new Error(`${o.source}: no value columns besides the label/id columns`);
  const ids: string[] = [], series: Float64Array[] = [], labels: string[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r], line = r + 1;
    if (row.length > header.length) throw new Error(`${o.source}: line ${line} has ${row.length} cells, the header ${header.length}`);
    const v = valueCols.map((j) => {
      const cell = row[j] ?? '';
      const x = parseCell(cell);
      if (x === undefined) throw new Error(`${o.source}: line ${line}, column '${header[j]}': '${cell}' is not a number (leave the cell empty for a missing value)`);
      if (!Number.isNaN(x) && !Number.isFinite(x)) throw new Error(`${o.source}: line ${line}, column '${header[j]}': '${cell}' is not finite (values must be finite numbers; leave the cell empty for a missing value)`);
      return x;
    });
    let n = v.length;
    while (n > 0 && Number.isNaN(v[n - 1])) n--;
    if (n === 0 || v.slice(0, n).every(Number.isNaN)) throw new Error(`${o.source}: line ${line} has no values`);
    series.push(Float64Array.from(v.slice(0, n)));
    ids.push(ii >= 0 ? row[ii] ?? '' : String(r));
    if (li >= 0) {
      const lab = row[li] ?? '';
      if (lab === '' && o.requireLabels) throw new Error(`${o.source}: line ${line}: empty label in column '${o.labelCol}'`);
      labels.push(lab);
    }
  }
  return { ids, series, labels: li >= 0 ? labels : null };
}

export async function readSamplesCsv(path: string, o: Omit<SamplesCsvOptions, 'source'>): Promise<SamplesCsv> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read '${path}'${code === 'ENOENT' ? ': no such file' : `: ${(e as Error).message}`}`);
  }
  return parseSamplesCsv(text, { ...o, source: path });
}

/** Options classify and regress share (commander passes strings). */
export interface HeadCommandOptions {
  train?: string;
  predict?: string;
  head?: string;
  save?: string;
  output?: string;
  model?: string;
  labelCol?: string;
  idCol?: string;
  augment?: boolean;
  epochs?: string;
  lr?: string;
  batchSize?: string;
  valSplit?: string;
  patience?: string;
  seed?: string;
  threads?: string;
}

function parseNumber(name: string, v: string, ok: (x: number) => boolean, want: string): number {
  const x = /^[-+]?[0-9]*\.?[0-9]+(e[-+]?\d+)?$/i.test(v.trim()) ? Number(v) : NaN;
  if (!ok(x)) throw new Error(`${name} must be ${want}, got '${v}'`);
  return x;
}

export function parseTrainOptions(o: HeadCommandOptions): TiRexHeadTrainOptions {
  const t: TiRexHeadTrainOptions = { dataAugmentation: !!o.augment };
  if (o.epochs !== undefined) t.maxEpochs = parsePositiveInt('--epochs', o.epochs);
  if (o.lr !== undefined) t.lr = parseNumber('--lr', o.lr, (x) => x > 0, 'a number > 0');
  if (o.batchSize !== undefined) t.batchSize = parsePositiveInt('--batch-size', o.batchSize);
  if (o.valSplit !== undefined) t.valSplitRatio = parseNumber('--val-split', o.valSplit, (x) => x > 0 && x < 1, 'a number in (0, 1)');
  if (o.patience !== undefined) t.patience = parsePositiveInt('--patience', o.patience);
  if (o.seed !== undefined) t.seed = parseNumber('--seed', o.seed, Number.isInteger, 'an integer');
  return t;
}

/** Checks the flag combination before any model is loaded. */
export function checkHeadFlags(o: HeadCommandOptions, cmd: string): void {
  if (!o.train && !o.head) throw new Error(`xlstm ${cmd}: give --train FILE.csv (fit a head) or --head FILE.json (a saved head)`);
  if (o.train && o.head) throw new Error(`xlstm ${cmd}: --train and --head exclude each other (fit a new head or use a saved one)`);
  if (!o.predict && !o.save) throw new Error(`xlstm ${cmd}: nothing to do: give --predict FILE.csv and/or --save FILE.json`);
  if (o.save && !o.train) throw new Error(`xlstm ${cmd}: --save needs --train`);
  if (o.save && !/\.json$/i.test(o.save)) throw new Error(`--save must end in .json, got '${o.save}'`);
  if (o.output && !/\.csv$/i.test(o.output)) throw new Error(`--output must end in .csv, got '${o.output}'`);
}

/** Loads TiRex (--model or the default forecaster) and runs `fn` with it. */
export async function withModel<T>(o: HeadCommandOptions, fn: (m: TiRex) => Promise<T>): Promise<T> {
  const path = await resolveModelPath(o.model);
  const { WasmBackend } = await import('../../backend/wasm/backend.js');
  const { TiRex } = await import('../../models/tirex/model.js');
  const backend = await WasmBackend.create({ threads: o.threads !== undefined ? parsePositiveInt('--threads', o.threads) : undefined });
  let model: TiRex;
  try { model = await TiRex.fromPretrained(path, { backend }); } catch (e) {
    backend.dispose();
    throw new Error(`--model '${path}': ${e instanceof Error ? e.message : String(e)}`);
  }
  try { return await fn(model); } finally { model.dispose(); backend.dispose(); }
}

export function csvCell(s: string): string { return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; }

export interface CommandIo { stdout(s: string): void; stderr(s: string): void }
export const processIo: CommandIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/** Class names in a stable order: numerically when every label is a number, else as strings. */
export function classNamesOf(labels: readonly string[]): string[] {
  const u = [...new Set(labels)];
  const numeric = u.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return numeric ? u.sort((a, b) => Number(a) - Number(b)) : u.sort();
}

export interface ClassifyResult { ids: string[]; predicted: string[]; proba: Float32Array; classNames: string[]; accuracy?: number }

export async function runClassify(o: HeadCommandOptions, io: CommandIo = processIo): Promise<ClassifyResult | undefined> {
  checkHeadFlags(o, 'classify');
  const train = parseTrainOptions(o);
  const labelCol = o.labelCol ?? 'label', idCol = o.idCol ?? 'id';
  const trainData = o.train ? await readSamplesCsv(o.train, { labelCol, idCol, requireLabels: true }) : undefined;
  const testData = o.predict ? await readSamplesCsv(o.predict, { labelCol, idCol, requireLabels: false }) : undefined;
  const { TiRexLinearClassifier } = await import('../../models/tirex/heads.js');
  return withModel(o, async (model) => {
    let clf;
    if (trainData) {
      const classNames = classNamesOf(trainData.labels!);
      if (classNames.length < 2) throw new Error(`${o.train}: every sample has the label '${classNames[0]}'; a classifier needs at least 2 classes`);
      const index = new Map(classNames.map((c, i) => [c, i]));
      clf = new TiRexLinearClassifier(model, train);
      const h = clf.fit(trainData.series, trainData.labels!.map((l) => index.get(l)!), { numClasses: classNames.length });
      clf.classNames = classNames;
      io.stderr(`xlstm classify: trained on ${trainData.series.length} samples, ${classNames.length} classes, ${h.epochs} epochs: train loss ${h.trainLoss.at(-1)!.toFixed(4)}, validation loss ${h.valLoss.at(-1)!.toFixed(4)}\n`);
      if (o.save) { await clf.save(o.save); io.stderr(`xlstm classify: saved the head to ${o.save}\n`); }
    } else {
      clf = await TiRexLinearClassifier.load(o.head!, model);
    }
    if (!testData) return undefined;
    const names = clf.classNames ?? Array.from({ length: clf.numClasses }, (_, i) => String(i));
    const proba = clf.predictProba(testData.series);
    const pred = clf.predict(testData.series);
    const predicted = Array.from(pred, (k) => names[k]);
    const lines = [['id', 'predicted', ...names.map((n) => `p_${n}`)].map(csvCell).join(',')];
    testData.ids.forEach((id, i) => lines.push([csvCell(id), csvCell(predicted[i]), ...Array.from(proba.subarray(i * names.length, (i + 1) * names.length), (p) => String(p))].join(',')));
    const text = lines.join('\n') + '\n';
    if (o.output) await writeFile(o.output, text); else io.stdout(text);
    let accuracy: number | undefined;
    if (testData.labels) {
      const known = testData.labels.map((l, i) => [l, i] as const).filter(([l]) => l !== '');
      if (known.length) {
        accuracy = known.filter(([l, i]) => predicted[i] === l).length / known.length;
        io.stderr(`xlstm classify: accuracy ${(100 * accuracy).toFixed(1)}% on the ${known.length} labelled samples of ${o.predict}\n`);
      }
    }
    return { ids: testData.ids, predicted, proba, classNames: names, accuracy };
  });
}

/** Flags classify and regress share. */
export function addHeadOptions(cmd: Command, labelDefault: string): Command {
  return cmd
    .option('--train <file>', 'samples CSV to fit on: header row, one sample per row, a label column, optional id column, the other columns are the time steps')
    .option('--predict <file>', 'samples CSV to predict (label column optional: if present the score is reported)')
    .option('--head <file>', 'a head saved with --save (instead of --train)')
    .option('--save <file>', 'write the fitted head (JSON; the TiRex weights are not included)')
    .option('--output <file>', 'predictions CSV (default: stdout)')
    .option('--model <dir>', 'TiRex model: folder or checkpoint file (default: the shipped default forecaster)')
    .option('--label-col <name>', `label column (default ${labelDefault})`)
    .option('--id-col <name>', 'id column (default id; without it rows are numbered from 1)')
    .option('--augment', 'official data_augmentation: add the embedding of the differences and patch statistics')
    .option('--epochs <n>', 'maximum epochs (default 10)')
    .option('--lr <x>', 'AdamW learning rate (default 1e-4)')
    .option('--batch-size <n>', 'samples per optimiser step and embedding pass (default 512)')
    .option('--val-split <r>', 'share of the training samples held out for validation and early stopping (default 0.2)')
    .option('--patience <n>', 'stop after n epochs without a lower validation loss (default 7)')
    .option('--seed <n>', 'seed of the initial head, the split and the shuffling (default 0)')
    .option('--threads <n>', 'compute threads (default: all cores)');
}

export function register(program: Command): void {
  const cmd = program.command('classify').description('fit a linear classifier on TiRex embeddings of labelled series (CSV) and predict classes');
  addHeadOptions(cmd, 'label').action(async (opts: HeadCommandOptions) => { await runClassify(opts); });
}
