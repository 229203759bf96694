// `xlstm regress`: a linear regressor on frozen TiRex embeddings (official
// TirexLinearRegressor), fitted on a CSV of series with a numeric target and applied to
// another one. Same samples CSV layout and flags as `xlstm classify` (./classify.ts); the
// target column defaults to `target`.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  HeadCommandOptions, CommandIo, processIo, addHeadOptions, checkHeadFlags, csvCell, parseTrainOptions, readSamplesCsv, withModel,
} from './classify.js';

export interface RegressResult { ids: string[]; predicted: Float32Array; rmse?: number }

function numericTargets(labels: readonly string[], source: string, labelCol: string): number[] {
  return labels.map((l, i) => {
    const x = /^[-+]?[0-9]*\.?[0-9]+(e[-+]?\d+)?$/i.test(l.trim()) ? Number(l) : NaN;
    if (!Number.isFinite(x)) throw new Error(`${source}: line ${i + 2}, column '${labelCol}': target '${l}' is not a finite number`);
    return x;
  });
}

export async function runRegress(o: HeadCommandOptions, io: CommandIo = processIo): Promise<RegressResult | undefined> {
  checkHeadFlags(o, 'regress');
  const train = parseTrainOptions(o);
  const labelCol = o.labelCol ?? 'target', idCol = o.idCol ?? 'id';
  const trainData = o.train ? await readSamplesCsv(o.train, { labelCol, idCol, requireLabels: true }) : undefined;
  const y = trainData ? numericTargets(trainData.labels!, o.train!, labelCol) : undefined;
  const testData = o.predict ? await readSamplesCsv(o.predict, { labelCol, idCol, requireLabels: false }) : undefined;
  const { TiRexLinearRegressor } = await import('../../models/tirex/heads.js');
  return withModel(o, async (model) => {
    let reg;
    if (trainData) {
      reg = new TiRexLinearRegressor(model, train);
      const h = reg.fit(trainData.series, y!);
      io.stderr(`xlstm regress: trained on ${trainData.series.length} samples, ${h.epochs} epochs: train MSE ${h.trainLoss.at(-1)!.toPrecision(4)}, validation MSE ${h.valLoss.at(-1)!.toPrecision(4)}\n`);
      if (o.save) { await reg.save(o.save); io.stderr(`xlstm regress: saved the head to ${o.save}\n`); }
    } else {
      reg = await TiRexLinearRegressor.load(o.head!, model);
    }
    if (!testData) return undefined;
    if (reg.linear.outputs !== 1) throw new Error(`xlstm regress: the head has ${reg.linear.outputs} outputs; the command writes one prediction per sample`);
    const predicted = reg.predict(testData.series);
    const lines = ['id,prediction', ...testData.ids.map((id, i) => `${csvCell(id)},${predicted[i]}`)];
    const text = lines.join('\n') + '\n';
    if (o.output) await writeFile(o.output, text); else io.stdout(text);
    let rmse: number | undefined;
    if (testData.labels && testData.labels.every((l) => l !== '')) {
      const t = numericTargets(testData.labels, o.predict!, labelCol);
      rmse = Math.sqrt(t.reduce((s, v, i) => s + (v - predicted[i]) ** 2, 0) / t.length);
      io.stderr(`xlstm regress: RMSE ${rmse.toPrecision(4)} on the ${t.length} samples of ${o.predict}\n`);
    }
    return { ids: testData.ids, predicted, rmse };
  });
}

export function register(program: Command): void {
  const cmd = program.command('regress').description('fit a linear regressor on TiRex embeddings of series with a numeric target (CSV) and predict it');
  addHeadOptions(cmd, 'target').action(async (opts: HeadCommandOptions) => { await runRegress(opts); });
}
