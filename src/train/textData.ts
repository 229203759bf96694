// Language-model training data from text: UTF-8 bytes (vocab 256) or a tokenizer.json
// (src/tokenizer), cut into fixed-length windows, a contiguous train/validation split (the
// validation part is the end of the token stream, so no window straddles both), and a
// seeded, resumable batch iterator (TrainData for the Trainer).
//
// A window holds seqLen ids; the loss predicts ids[1:] from ids[:-1] (the official LM loss),
// so consecutive windows overlap by one token (stride seqLen - 1) and every token after the
// first is a target exactly once per epoch.
import { Rng } from '../optim/optim.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Json, TrainData } from './trainer.js';

/** UTF-8 bytes of `text` as token ids 0..255. */
export function encodeBytes(text: string): Int32Array {
  return Int32Array.from(new TextEncoder().encode(text));
}

/**
 * GPT-2's byte -> printable character map (bytes_to_unicode): printable Latin-1 bytes stand for
 * themselves, the others (controls, space, ...) for U+0100 onwards in byte order. Byte-level
 * tokenizer.json vocabularies are written in these characters.
 */
function bytesToUnicode(): Map<number, string> {
  const m = new Map<number, string>();
  for (let b = 0; b < 256; b++) if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) m.set(b, String.fromCodePoint(b));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!m.has(b)) m.set(b, String.fromCodePoint(256 + n++));
  return m;
}

/**
 * A Hugging Face tokenizer.json whose ids are the UTF-8 byte values 0..255 (what encodeBytes
 * gives), so byte-level models can be used with the text commands (`xlstm generate`): a BPE model
 * without merges over the 256 byte characters (every byte is one token), the ByteLevel
 * pre-tokenizer without the GPT-2 regex split and without a prefix space (the text stays one
 * word), and the ByteLevel decoder (bytes back to UTF-8 text). No special tokens.
 */
export function byteLevelTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const [b, c] of bytesToUnicode()) vocab[c] = b;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

/** Token ids of `text` with a tokenizer (no special tokens added). */
export function encodeWithTokenizer(tok: Tokenizer, text: string): Int32Array {
  return Int32Array.from(tok.encode(text, { addSpecialTokens: false }));
}

/** B windows of S ids, row-major. */
export interface TokenBatch {
  /** [B * S] */ ids: Int32Array;
  batchSize: number;
  seqLen: number;
}

export interface TextDatasetOptions {
  seqLen: number;
  batchSize: number;
  /** Fraction of the tokens (at the end) held out for validation (default 0.1; 0 = none). */
  validationFraction?: number;
  /** Window start spacing (default seqLen - 1: every target once per epoch). */
  stride?: number;
  /** Shuffle seed of the training windows (default 0). */
  seed?: number;
}

/** Starts of the windows of length S with stride `stride` in n tokens. */
function windowStarts(n: number, S: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + S <= n; s += stride) out.push(s);
  return out;
}

/**
 * Fixed-length windows of a token stream. `train` is a resumable TrainData (epochs of
 * shuffled windows, the order of epoch e a function of (seed, e) alone, so the state is just
 * {epoch, pos}); validationBatches() gives the held-out windows in order.
 */
export class TextDataset {
  readonly train: TrainData<TokenBatch> & { readonly windows: number; readonly epoch: number };
  readonly trainTokens: Int32Array;
  readonly validationTokens: Int32Array;
  private readonly o: Required<TextDatasetOptions>;

  constructor(tokens: ArrayLike<number>, o: TextDatasetOptions) {
    const S = o.seqLen, B = o.batchSize;
    if (!Number.isInteger(S) || S < 2) throw new RangeError(`TextDataset: seqLen must be an integer >= 2, got ${S}`);
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`TextDataset: batchSize must be an integer >= 1, got ${B}`);
    const vf = o.validationFraction ?? 0.1;
    if (!(vf >= 0 && vf < 1)) throw new RangeError(`TextDataset: validationFraction must be in [0, 1), got ${vf}`);
    const stride = o.stride ?? S - 1;
    if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`TextDataset: stride must be an integer >= 1, got ${stride}`);
    this.o = { seqLen: S, batchSize: B, validationFraction: vf, stride, seed: o.seed ?? 0 };
    const all = Int32Array.from(tokens);
    const nVal = Math.floor(all.length * vf);
    this.trainTokens = all.subarray(0, all.length - nVal);
    this.validationTokens = all.subarray(all.length - nVal);
    const starts = windowStarts(this.trainTokens.length, S, stride);
    if (starts.length < B) throw new RangeError(`TextDataset: the training part has ${this.trainTokens.length} tokens = ${starts.length} windows of ${S}, fewer than batchSize ${B}`);
    if (vf > 0 && this.validationTokens.length < S) throw new RangeError(`TextDataset: the validation part has ${this.validationTokens.length} tokens, fewer than seqLen ${S}`);
    this.train = new WindowIterator(this.trainTokens, starts, S, B, this.o.seed);
  }

  /** Held-out windows (stride as training) in batches of batchSize (the last one may be smaller). */
  validationBatches(maxBatches = Infinity): TokenBatch[] {
    const S = this.o.seqLen, B = this.o.batchSize;
    const starts = windowStarts(this.validationTokens.length, S, this.o.stride);
    const out: TokenBatch[] = [];
    for (let i = 0; i < starts.length && out.length < maxBatches; i += B) {
      const n = Math.min(B, starts.length - i);
      const ids = new Int32Array(n * S);
      for (let b = 0; b < n; b++) ids.set(this.validationTokens.subarray(starts[i + b], starts[i + b] + S), b * S);
      out.push({ ids, batchSize: n, seqLen: S });
    }
    return out;
  }
}

class WindowIterator implements TrainData<TokenBatch> {
  epoch = 0;
  private pos = 0;
  private order: number[];
  constructor(private readonly tokens: Int32Array, private readonly starts: number[], private readonly S: number, private readonly B: number, private readonly seed: number) {
    this.order = this.orderOf(0);
  }
  get windows(): number { return this.starts.length; }
  private orderOf(epoch: number): number[] {
    // per-epoch RNG from (seed, epoch): restoring needs only the epoch number
    const r = new Rng((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0);
    return r.shuffle(this.starts.map((_, i) => i));
  }
  next(): TokenBatch {
    const { S, B } = this;
    const ids = new Int32Array(B * S);
    for (let b = 0; b < B; b++) {
      // drop the epoch's remainder windows that do not fill a batch: every batch is full
      if (this.pos + (B - b) > this.order.length && b === 0) { this.epoch++; this.pos = 0; this.order = this.orderOf(this.epoch); }
      const st = this.starts[this.order[this.pos++]];
      ids.set(this.tokens.subarray(st, st + S), b * S);
    }
    return { ids, batchSize: B, seqLen: S };
  }
  state(): Json { return { epoch: this.epoch, pos: this.pos }; }
  restore(st: Json): void {
    const s = st as { epoch?: unknown; pos?: unknown };
    if (!s || !Number.isInteger(s.epoch) || !Number.isInteger(s.pos) || (s.pos as number) < 0 || (s.pos as number) > this.starts.length) {
      throw new TypeError(`TextDataset.restore: expected {epoch, pos} with 0 <= pos <= ${this.starts.length}, got ${JSON.stringify(st)}`);
    }
    this.epoch = s.epoch as number;
    this.pos = s.pos as number;
    this.order = this.orderOf(this.epoch);
  }
}
