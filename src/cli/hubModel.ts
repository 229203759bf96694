// `--model` given as a hub id (`NX-AI/TiRex`, `org/name@rev`): downloads into the
// huggingface_hub cache before a command loads the folder, with a byte progress bar (size,
// rate, ETA) on stderr when it is a terminal. Local paths pass through untouched.
import { HubError } from '../hub/errors.js';
import type { HubProgressEvent } from '../hub/progress.js';
import type { HubModelKind } from '../hub/selection.js';

export interface ProgressStream { write(s: string): unknown; isTTY?: boolean }

export interface DownloadBar {
  onProgress?: (e: HubProgressEvent) => void;
  stop(): void;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A bar over all files of one model: total = the bytes still to download. */
export async function downloadBar(stream: ProgressStream): Promise<DownloadBar> {
  if (!stream.isTTY) return { stop: () => {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({
    stream: stream as NodeJS.WritableStream,
    format: 'downloading {file} [{bar}] {percentage}% | {done}/{size} | {rate}/s | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  const loaded = new Map<string, number>();
  const resumed = new Map<string, number>();
  let total = 0;
  let started = false;
  let t0 = 0;
  const payload = (file: string) => {
    const sum = [...loaded.values()].reduce((a, b) => a + b, 0);
    const fresh = sum - [...resumed.values()].reduce((a, b) => a + b, 0);
    const secs = (Date.now() - t0) / 1000;
    return { sum, p: { file, done: bytes(sum), size: bytes(total), rate: bytes(secs > 0 ? fresh / secs : 0) } };
  };
  return {
    onProgress: (e) => {
      if (e.status === 'initiate' && !e.cached) { total += e.total; if (started) bar.setTotal(total); }
      if (e.status === 'download') {
        resumed.set(e.file, e.resumeFrom);
        loaded.set(e.file, e.resumeFrom);
        if (!started) { t0 = Date.now(); bar.start(Math.max(total, 1), 0, payload(e.file).p); started = true; }
      }
      if (e.status === 'progress' && started) {
        loaded.set(e.file, e.loaded);
        const { sum, p } = payload(e.file);
        bar.update(sum, p);
      }
    },
    stop: () => { if (started) { bar.stop(); started = false; } },
  };
}

/** The local folder for `--model`: a hub id is fetched (or found in the cache) first. Errors name the flag. */
export async function resolveCliModel(source: string, kind: HubModelKind, stderr: ProgressStream): Promise<string> {
  const { resolveModelSource } = await import('../hub/resolve.js');
  const bar = await downloadBar(stderr);
  try {
    return await resolveModelSource(source, kind, { onProgress: bar.onProgress });
  } catch (e) {
    const msg = `--model '${source}': ${e instanceof Error ? e.message : String(e)}`;
    // the code survives, so callers of the command functions can still tell 'unauthorized' from 'not-cached'
    throw e instanceof HubError ? new HubError(e.code, msg, { cause: e }) : new Error(msg, { cause: e });
  } finally { bar.stop(); }
}
