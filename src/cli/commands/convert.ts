// `xlstm convert tirex --ckpt model.ckpt --out DIR`: the official TiRex checkpoint (PyTorch
// Lightning zip) to model.safetensors + config.json, the portable form that loads without a
// pickle reader (browsers: fetch + parseSafetensors + TiRex.fromTensors). The logic is
// runConvertTirex(opts, io), which tests call directly.
//
// The files are converted into a temporary folder next to DIR and renamed into DIR only when
// both are complete, so a failed or interrupted conversion leaves DIR as it was (and creates
// no DIR at all when it did not exist).
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArgumentError, InputError } from '../../errors.js';
import { realTarget } from '../cliFiles.js';

export interface ConvertIo { stdout: { write(s: string): unknown } }

export interface ConvertTirexCliOptions {
  ckpt: string;
  out: string;
  /** f32 (default, as shipped), bf16 or f16. */
  dtype?: string;
  overwrite?: boolean;
}

const OUTPUT_FILES = ['model.safetensors', 'config.json'] as const;

/** The nearest folder at or above `dir` that exists (the temporary folder goes there). */
async function existingAncestor(dir: string): Promise<string> {
  let d = resolve(dir);
  for (;;) {
    const st = await stat(d).catch(() => null);
    if (st) {
      if (!st.isDirectory()) throw new ArgumentError(`convert tirex: --out '${dir}': '${d}' is a file, not a folder`);
      return d;
    }
    const up = dirname(d);
    if (up === d) return d;
    d = up;
  }
}

/** Converts and prints one summary line; errors name the bad option. */
export async function runConvertTirex(opts: ConvertTirexCliOptions, io: ConvertIo = { stdout: process.stdout }): Promise<void> {
  if (!opts.ckpt) throw new ArgumentError('convert tirex: --ckpt <model.ckpt> is required');
  if (!opts.out) throw new ArgumentError('convert tirex: --out <folder> is required');
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16') throw new ArgumentError(`convert tirex: --dtype must be f32, bf16 or f16, got '${dtype}'`);
  const base = await existingAncestor(opts.out);
  const ckptReal = await realTarget(opts.ckpt);
  for (const name of OUTPUT_FILES) {
    const target = join(opts.out, name);
    if (await realTarget(target) === ckptReal) throw new ArgumentError(`convert tirex: --out '${opts.out}' would write ${name} onto the --ckpt file '${opts.ckpt}'`);
    if (!opts.overwrite && await stat(target).then(() => true, () => false)) throw new ArgumentError(`convert tirex: '${target}' exists (pass --overwrite to replace it)`);
  }
  const { convertTiRexCheckpoint } = await import('../../models/tirex/convert.js');
  const tmp = join(base, `.${basename(resolve(opts.out))}.convert-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  let r;
  try {
    try { r = await convertTiRexCheckpoint(opts.ckpt, tmp, { storeAs: dtype, overwrite: true }); } catch (e) {
      throw new InputError(`convert tirex --ckpt '${opts.ckpt}': ${(e instanceof Error ? e.message : String(e)).replaceAll(tmp, opts.out)}`, { cause: e });
    }
    await mkdir(opts.out, { recursive: true });
    // config.json last: a folder whose config.json is new has the new weights too
    for (const name of OUTPUT_FILES) await rename(join(tmp, name), join(opts.out, name));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const c = r.config;
  const safetensorsPath = join(opts.out, 'model.safetensors'), configPath = join(opts.out, 'config.json');
  io.stdout.write(`wrote ${safetensorsPath} (${r.tensors} tensors, ${r.parameters} parameters, ${dtype}, ${r.bytes} bytes) and ${configPath}`
    + ` [${c.numBlocks} blocks x ${c.embeddingDim}, ${c.numHeads} heads, context ${c.trainCtxLen}]\n`);
}

export function register(program: Command): void {
  const convert = program.command('convert').description('convert official checkpoints to model.safetensors + config.json');
  convert.command('tirex')
    .description('TiRex model.ckpt (NX-AI/TiRex) -> DIR/model.safetensors + DIR/config.json')
    .requiredOption('--ckpt <path>', 'official model.ckpt')
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--dtype <type>', 'store weights as f32 (default), bf16 or f16', 'f32')
    .option('--overwrite', 'replace existing files in the output folder')
    .action(async (o: { ckpt: string; out: string; dtype: string; overwrite?: boolean }) => {
      await runConvertTirex({ ckpt: o.ckpt, out: o.out, dtype: o.dtype, overwrite: o.overwrite });
    });
}
