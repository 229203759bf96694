// `xlstm batch submit|status|collect|clear`: batch forecasting spread over any number of
// `xlstm worker` processes through a BullMQ queue in Redis (docs/SERVE.md, "Scaling out with
// workers"). The logic is in src/batch; this file only maps flags to it.
import type { Command } from 'commander';
import { EXIT_PARTIAL } from '../exitCodes.js';
import { exitQuietlyOnEpipe } from '../cliFiles.js';
import { withInputFile } from './forecast.js';
import { BatchConnectionOptions, SubmitOptions, batchStatus, clearBatch, collectBatch, formatStatus, submitBatch, DEFAULT_ATTEMPTS, DEFAULT_CHUNK_SIZE } from '../../batch/batch.js';
import { DEFAULT_QUEUE } from '../../batch/queue.js';

function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--queue <name>', `queue name (default ${DEFAULT_QUEUE}); one batch per queue`)
    .option('--redis <url>', 'Redis URL (default: REDIS_URL, else redis://127.0.0.1:6379)');
}

export function register(program: Command): void {
  const batch = program.command('batch').description('forecast a CSV file on many machines: queue jobs in Redis (BullMQ), run `xlstm worker` anywhere, collect one output file');
  connectionOptions(batch.command('submit')
    .description('split the series of a CSV file into jobs on the queue (resubmitting the same file adds nothing)')
    .argument('[file]', 'CSV file (same as --input; - reads stdin)')
    .option('--input <file>', 'CSV file: wide or long, as for xlstm forecast')
    .requiredOption('--horizon <n>', 'forecast steps')
    .option('--quantiles <levels>', "quantile levels, e.g. 0.1,0.5,0.9 (default: the model's, 0.1..0.9)")
    .option('--context-length <n>', 'use at most the last n values of each series')
    .option('--chunk-size <n>', `series per job (default ${DEFAULT_CHUNK_SIZE})`)
    .option('--attempts <n>', `tries per job, with exponential backoff from 1 s (default ${DEFAULT_ATTEMPTS})`)
    .option('--format <layout>', 'wide | long | auto (default: auto-detect from the header)')
    .option('--id-col <name>', 'long layout: id column')
    .option('--time-col <name>', "timestamp column ('none': no timestamps, integer index)")
    .option('--value-col <name>', 'long layout: value column')
    .option('--delimiter <char>', "field delimiter: ',', ';', 'tab' or another character")
    .option('--fill <how>', "'nan': missing timestamps become missing values"))
    .action(async (file: string | undefined, opts: SubmitOptions) => {
      const r = await submitBatch(withInputFile(file, opts));
      process.stdout.write(`queue ${r.queue}: batch ${r.batchId}, ${r.series} series in ${r.jobs} jobs (${r.added} added, ${r.jobs - r.added} already queued or done${r.retried ? `, ${r.retried} failed jobs retried` : ''})\n`);
    });
  connectionOptions(batch.command('status')
    .description('jobs waiting, active, completed and failed; series done')
    .option('--json', 'print the numbers as JSON'))
    .action(async (opts: BatchConnectionOptions & { json?: boolean }) => {
      const s = await batchStatus(opts);
      process.stdout.write(opts.json ? JSON.stringify(s) + '\n' : formatStatus(s));
    });
  connectionOptions(batch.command('collect')
    .description('write every result, in input order, as xlstm forecast does (exit 3 when some series failed)')
    .option('--output <file>', 'out.csv or out.json (written atomically); - or none: CSV on stdout')
    .option('--wait', 'wait for unfinished jobs instead of refusing'))
    .action(async (opts: BatchConnectionOptions & { output?: string; wait?: boolean }) => {
      exitQuietlyOnEpipe();
      const r = await collectBatch(opts, (s) => process.stderr.write(s), (s) => process.stdout.write(s));
      if (r.run.errors.length > 0) process.exitCode = EXIT_PARTIAL;
    });
  connectionOptions(batch.command('clear')
    .description("remove the queue's jobs, results and batch record"))
    .action(async (opts: BatchConnectionOptions) => {
      await clearBatch(opts);
      process.stdout.write(`queue ${opts.queue ?? DEFAULT_QUEUE}: cleared\n`);
    });
}
