// Streaming detokenisation. Byte-level BPE tokens are not characters: "€" is three byte
// tokens, and decoding one of them alone gives U+FFFD. Decoding each token separately
// would also lose the context some decoders need (Metaspace drops a leading space only at
// the start of a text). So the detokenizer re-decodes a short window of recent ids and
// emits the text that grew past what was already emitted, holding back while the window
// ends in U+FFFD (an incomplete UTF-8 sequence that the next token may complete).

/** The decode function the detokenizer runs on windows of ids. */
export type DecodeFn = (ids: readonly number[]) => string;

const REPLACEMENT = '\uFFFD';

export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  /** Start of the context window: tokens already emitted but decoded again for context. */
  private prefixOffset = 0;
  /** End of what has been emitted (in tokens). */
  private readOffset = 0;
  private emitted = '';

  constructor(private readonly decodeIds: DecodeFn) {}

  /** All ids pushed so far. */
  get tokenIds(): readonly number[] { return this.ids; }

  /** The full text emitted so far (push/flush return only the new part). */
  get text(): string { return this.emitted; }

  /**
   * Adds one token (or several) and returns the text that is now complete (possibly '').
   * Text ending in U+FFFD is held back until a later token completes the character or
   * flush() is called.
   */
  push(id: number | readonly number[]): string {
    if (typeof id === 'number') this.ids.push(id);
    else this.ids.push(...id);
    const prefixText = this.decodeIds(this.ids.slice(this.prefixOffset, this.readOffset));
    const newText = this.decodeIds(this.ids.slice(this.prefixOffset));
    // Comparing lengths (not requiring newText to start with prefixText) follows the
    // transformers / TGI streamers: a decoder that rewrites the window's end must not stall the stream.
    if (newText.length > prefixText.length && !newText.endsWith(REPLACEMENT)) {
      const delta = newText.slice(prefixText.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      this.emitted += delta;
      return delta;
    }
    return '';
  }

  /** Emits whatever is held back (an incomplete character stays as U+FFFD) and ends the stream. */
  flush(): string {
    if (this.readOffset === this.ids.length) return '';
    const prefixText = this.decodeIds(this.ids.slice(this.prefixOffset, this.readOffset));
    const newText = this.decodeIds(this.ids.slice(this.prefixOffset));
    const delta = newText.slice(prefixText.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    this.emitted += delta;
    return delta;
  }
}
