// Progress events of hub downloads, in the shape transformers.js users know
// (initiate / download / progress / done / ready). Browser-safe.

export type HubProgressEvent =
  /** Once per file before any bytes move: its size, and whether the cache already has it. */
  | { status: 'initiate'; name: string; file: string; total: number; cached: boolean }
  /** A download starts (resumeFrom > 0: continuing a partial file). */
  | { status: 'download'; name: string; file: string; total: number; resumeFrom: number }
  /** Bytes of the file on disk so far; progress in percent. */
  | { status: 'progress'; name: string; file: string; loaded: number; total: number; progress: number }
  /** The file is verified and in the cache. */
  | { status: 'done'; name: string; file: string }
  /** Every file of the model is in place: `path` is the local snapshot folder (Node) or the cache key prefix (browser). */
  | { status: 'ready'; name: string; path: string; commit: string };

export type HubProgressCallback = (event: HubProgressEvent) => void;
