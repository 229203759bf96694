// What the CLI commands (forecast, evaluate, score, convert, generate) share for files and
// streams: reading an input ('-' = stdin) as checked UTF-8, refusing an output that would land
// on one of the command's own inputs, writing outputs atomically ('-' = stdout), and ending
// quietly when the reader of stdout goes away (`xlstm forecast ... | head -1`).
import { realpath, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ArgumentError, InputError } from '../errors.js';

/** The path meaning stdin (as an input) or stdout (as --output). */
export const STDIO_PATH = '-';

/**
 * Byte offset of the first byte that does not start or continue a valid UTF-8 sequence
 * (overlong forms, surrogates and code points above U+10FFFF count as invalid), or -1.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let len: number, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) { len = 3; if (c === 0xe0) lo = 0xa0; else if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; if (c === 0xf0) lo = 0x90; else if (c === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k < len; k++) {
      const d = i + k < n ? b[i + k] : -1;
      if (d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return -1;
}

/** Bytes as text; invalid UTF-8 is an InputError naming the source and the byte offset. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const shown = Array.from(bytes.subarray(bad, bad + 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new InputError(`${source}: not valid UTF-8 at byte offset ${bad} (bytes ${shown}); save the file as UTF-8`);
  }
  // a valid file decodes the same with any decoder; TextDecoder drops a leading BOM
  return new TextDecoder('utf-8').decode(bytes);
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Reads a text input ('-' = stdin); `flag` names it in errors (e.g. 'input file', '--file'). */
export async function readTextInput(path: string, flag: string): Promise<string> {
  if (path === STDIO_PATH) return decodeUtf8(await readStdin(), `${flag} '-' (stdin)`);
  let bytes: Uint8Array;
  try { bytes = await readFile(path); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${flag}: cannot read '${path}'${code === 'ENOENT' ? ': no such file' : code === 'EISDIR' ? ': is a folder' : `: ${(e as Error).message}`}`);
  }
  return decodeUtf8(bytes, path);
}

/**
 * The real path a file has or would have: symlinks resolved, for a file that does not exist
 * yet through its folder, so `out.csv` and `./link-to-out.csv` compare equal.
 */
export async function realTarget(path: string): Promise<string> {
  try { return await realpath(path); } catch {
    // a/missing/../b.csv: normalized first, as the file system would once `missing` exists
    const p = resolve(path);
    try { return join(await realpath(dirname(p)), basename(p)); } catch { return p; }
  }
}

export interface FileRole { flag: string; path: string }

/**
 * Refuses, before any work, an output that is one of the inputs or another output, an existing
 * file inside an input folder (a model folder), and an output whose folder does not exist
 * (found after the work, that would lose the result). Paths of '-' (stdin/stdout) are left out.
 */
export async function checkFileTargets(inputs: readonly FileRole[], outputs: readonly FileRole[]): Promise<void> {
  const seen: (FileRole & { real: string })[] = [];
  const folders: (FileRole & { real: string })[] = [];
  for (const r of inputs) {
    if (r.path === STDIO_PATH) continue;
    const real = await realTarget(r.path);
    // an input folder (a model) is read file by file: none of its files may be overwritten
    if ((await stat(real).catch(() => null))?.isDirectory()) folders.push({ ...r, real });
    else seen.push({ ...r, real });
  }
  for (const o of outputs) {
    if (o.path === STDIO_PATH) continue;
    const real = await realTarget(o.path);
    const clash = seen.find((s) => s.real === real);
    if (clash) throw new ArgumentError(`${o.flag} '${o.path}' is the same file as ${clash.flag} '${clash.path}': refusing to overwrite it`);
    const inFolder = folders.find((f) => dirname(real) === f.real);
    if (inFolder && await stat(real).then(() => true, () => false)) {
      throw new ArgumentError(`${o.flag} '${o.path}' is a file of ${inFolder.flag} '${inFolder.path}': refusing to overwrite it`);
    }
    const dir = dirname(resolve(o.path));
    const st = await stat(dir).catch(() => null);
    if (!st || !st.isDirectory()) throw new ArgumentError(`${o.flag} '${o.path}': the folder '${dirname(o.path)}' does not exist`);
    const target = await stat(o.path).catch(() => null);
    if (target?.isDirectory()) throw new ArgumentError(`${o.flag} '${o.path}' is a folder, not a file`);
    seen.push({ ...o, real });
  }
}

/** Writes an output file atomically (temp file in the same folder + rename); '-' writes to stdout. */
export async function writeOutput(path: string, data: string | Uint8Array, stdout: (s: string) => void): Promise<void> {
  if (path === STDIO_PATH) { stdout(typeof data === 'string' ? data : new TextDecoder().decode(data)); return; }
  // the trainer's writer (temp + rename), loaded only when a file is written: it brings the
  // training modules with it, which commands that fail early should not pay for
  const { writeFileAtomic } = await import('../train/trainer.js');
  await writeFileAtomic(path, data);
}

/**
 * When the reader of stdout closes early (`| head -1`), the next write fails with EPIPE: the
 * output is no longer wanted, so the process ends quietly (status 0) instead of dying with
 * a stack trace. Other stdout errors are reported as one line. Commands call it in their
 * commander action (one command per process), not in the run functions tests call in process.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    process.stderr.write(`xlstm: cannot write to stdout: ${e.message}\n`);
    process.exit(1);
  });
}
