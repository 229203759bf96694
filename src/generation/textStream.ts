// Incremental detokenisation of one generated sequence, with stop strings. The text of a
// sequence is always decode(all its tokens so far), so multi-token characters and
// tokenizers that merge pieces come out right; deltas hold back what is not final yet:
// a trailing U+FFFD (an incomplete UTF-8 byte sequence) and any tail that could still
// grow into a stop string, so a stop string never appears in streamed text.

import { ArgumentError } from '../errors.js';

/** The tokenizer surface generation needs (the CLI's tokenizer wrapper provides it). */
export interface GenerationTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export class TextStream {
  private readonly ids: number[] = [];
  private text = '';
  private emitted = 0;
  /** Set once a stop string was found: the text is cut before it and final. */
  stopped = false;

  constructor(private readonly tokenizer: GenerationTokenizer, private readonly stopStrings: readonly string[]) {}

  /** Adds a token and returns the text that became final (possibly ''). */
  push(token: number): string {
    if (this.stopped) return '';
    this.ids.push(token);
    const full = this.tokenizer.decode(this.ids);
    if (typeof full !== 'string') throw new ArgumentError(`generate: tokenizer.decode returned ${typeof full}, expected a string`);
    let cut = -1;
    for (const s of this.stopStrings) {
      const i = full.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.text = full.slice(0, cut);
      return this.take(this.text.length);
    }
    this.text = full;
    let end = full.length;
    while (end > this.emitted && full.charCodeAt(end - 1) === 0xfffd) end--;
    let hold = 0;
    for (const s of this.stopStrings) {
      for (let k = Math.min(s.length - 1, end); k > hold; k--) {
        if (full.slice(end - k, end) === s.slice(0, k)) { hold = k; break; }
      }
    }
    const safe = end - hold;
    return this.take(safe);
  }

  /** All remaining text (generation ended): held-back tails are final now. */
  flush(): string { return this.take(this.text.length); }

  /** The sequence's text (after a stop string: everything before it). */
  get value(): string { return this.text; }

  private take(upTo: number): string {
    if (upTo <= this.emitted) return '';
    const d = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return d;
  }
}
