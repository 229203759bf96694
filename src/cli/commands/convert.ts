// `xlstm convert tirex --ckpt model.ckpt --out DIR`: the official TiRex checkpoint (PyTorch
// Lightning zip) to model.safetensors + config.json, the portable form that loads without a
// pickle reader (browsers: fetch + parseSafetensors + TiRex.fromTensors). The logic is
// runConvertTirex(opts, io), which tests call directly.
import type { Command } from 'commander';

export interface ConvertIo { stdout: { write(s: string): unknown } }

export interface ConvertTirexCliOptions {
  ckpt: string;
  out: string;
  /** f32 (default, as shipped), bf16 or f16. */
  dtype?: string;
  overwrite?: boolean;
}

/** Converts and prints one summary line; errors name the bad option. */
export async function runConvertTirex(opts: ConvertTirexCliOptions, io: ConvertIo = { stdout: process.stdout }): Promise<void> {
  if (!opts.ckpt) throw new Error('convert tirex: --ckpt <model.ckpt> is required');
  if (!opts.out) throw new Error('convert tirex: --out <folder> is required');
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16') throw new Error(`convert tirex: --dtype must be f32, bf16 or f16, got '${dtype}'`);
  const { convertTiRexCheckpoint } = await import('../../models/tirex/convert.js');
  let r;
  try { r = await convertTiRexCheckpoint(opts.ckpt, opts.out, { storeAs: dtype, overwrite: !!opts.overwrite }); } catch (e) {
    throw new Error(`convert tirex --ckpt '${opts.ckpt}': ${e instanceof Error ? e.message : String(e)}`);
  }
  const c = r.config;
  io.stdout.write(`wrote ${r.safetensorsPath} (${r.tensors} tensors, ${r.parameters} parameters, ${dtype}, ${r.bytes} bytes) and ${r.configPath}`
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
