// Positioned whole-range reads and writes on a Node FileHandle. One read()/write()
// call may transfer fewer bytes than asked and is capped near 2 GiB, so both loop
// in bounded chunks; positions are plain numbers (exact up to 2^53, far past 4 GiB).
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../errors.js';

/** Per-call cap, well under the ~2 GiB limit of a single fs read/write. */
const CHUNK_BYTES = 256 * 1024 * 1024;

/**
 * Fills `dest` with the bytes at [position, position + dest.length). Throws with
 * `what` (file and tensor) if the file ends early, e.g. it shrank after open.
 */
export async function readFully(fh: FileHandle, dest: Uint8Array, position: number, what: string): Promise<void> {
  let done = 0;
  while (done < dest.length) {
    const len = Math.min(CHUNK_BYTES, dest.length - done);
    const { bytesRead } = await fh.read(dest, done, len, position + done);
    if (bytesRead === 0) {
      throw new InputError(`${what}: unexpected end of file at byte ${position + done} (needed ${dest.length - done} more bytes up to ${position + dest.length})`);
    }
    done += bytesRead;
  }
}

/** Writes all of `src` at `position`. */
export async function writeFully(fh: FileHandle, src: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < src.length) {
    const len = Math.min(CHUNK_BYTES, src.length - done);
    const { bytesWritten } = await fh.write(src, done, len, position + done);
    done += bytesWritten;
  }
}

/**
 * Calls `fn` on consecutive chunks of [position, position + byteLength), each read
 * into one reused buffer of at most chunkBytes: converting reads stay bounded in
 * memory. `chunkBytes` must be a multiple of the element size the caller needs.
 */
export async function readChunked(
  fh: FileHandle, position: number, byteLength: number, chunkBytes: number, what: string,
  fn: (chunk: Uint8Array, offset: number) => void,
): Promise<void> {
  const buf = new Uint8Array(Math.min(chunkBytes, byteLength));
  for (let off = 0; off < byteLength; off += chunkBytes) {
    const chunk = buf.subarray(0, Math.min(chunkBytes, byteLength - off));
    await readFully(fh, chunk, position + off, what);
    fn(chunk, off);
  }
}
