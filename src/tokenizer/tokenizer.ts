// Text <-> token ids for the language models, over @huggingface/tokenizers (a pure-JS
// reader of Hugging Face tokenizer.json files). Browser-safe: takes the parsed JSON
// objects; src/tokenizer/load.ts reads them from a model folder in Node.
//
// BOS: xLSTM-7B uses a GPT-NeoX BPE fork whose tokenizer does not add BOS itself, while
// the model expects one (config force_bos_token_insert, bos_token_id 0). So BOS insertion
// is a policy of this wrapper: `addBos` (from the model config, else tokenizer_config
// add_bos_token) prepends bos_token_id unless the ids already start with it.
import { ArgumentError, InputError } from '../errors.js';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { IncrementalDetokenizer } from './detokenizer.js';

/** The parts of tokenizer_config.json this wrapper reads (other keys are passed through to the library). */
export interface TokenizerConfigJson {
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

export interface TokenizerOptions {
  /**
   * Prepend the BOS id to encoded text (unless already there). Default: tokenizer_config
   * add_bos_token, else false. Models with force_bos_token_insert pass true.
   */
  addBos?: boolean;
  /** Override the special ids (e.g. from the model's config.json / generation_config.json). */
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  padTokenId?: number | null;
}

export interface EncodeOptions {
  /** Override the tokenizer's addBos for this call. */
  addBos?: boolean;
  /** Let the tokenizer.json post-processor add its special tokens (default true, as HF). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS/EOS/PAD/...) from the text (default false). */
  skipSpecialTokens?: boolean;
}

function tokenContent(t: TokenizerConfigJson['bos_token']): string | null {
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return t;
  if (typeof t === 'object' && typeof t.content === 'string') return t.content;
  return null;
}

function checkId(label: string, id: number | null | undefined, vocabSize: number): number | null {
  if (id === undefined || id === null) return null;
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new ArgumentError(`Tokenizer: ${label} = ${id} is not a token id of this tokenizer (expected an integer 0 <= id < ${vocabSize})`);
  }
  return id;
}

/** An options argument must be an object (null would fail deep inside with a TypeError). */
function checkOpts(fn: string, opts: unknown): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new ArgumentError(`${fn}: options must be an object, got ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`);
}

export class Tokenizer {
  /** One more than the largest id (model vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly unkTokenId: number | null;
  readonly addBos: boolean;
  /** Special tokens: content -> id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  private readonly specialIds: ReadonlySet<number>;

  private constructor(private readonly hf: HfTokenizer, readonly config: TokenizerConfigJson, opts: TokenizerOptions) {
    let maxId = -1;
    for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const special = new Map<string, number>();
    for (const [id, t] of hf.get_added_tokens_decoder()) if (t.special) special.set(t.content, id);
    const idOf = (label: string, t: TokenizerConfigJson['bos_token']): number | null => {
      const c = tokenContent(t);
      if (c === null) return null;
      const id = hf.token_to_id(c);
      if (id === undefined) throw new InputError(`Tokenizer: tokenizer_config.json ${label} "${c}" is not in tokenizer.json's vocabulary`);
      special.set(c, id);
      return id;
    };
    const cfgBos = idOf('bos_token', config.bos_token);
    const cfgEos = idOf('eos_token', config.eos_token);
    const cfgPad = idOf('pad_token', config.pad_token);
    this.unkTokenId = idOf('unk_token', config.unk_token);
    this.bosTokenId = opts.bosTokenId !== undefined ? checkId('bosTokenId', opts.bosTokenId, this.vocabSize) : cfgBos;
    this.eosTokenId = opts.eosTokenId !== undefined ? checkId('eosTokenId', opts.eosTokenId, this.vocabSize) : cfgEos;
    this.padTokenId = opts.padTokenId !== undefined ? checkId('padTokenId', opts.padTokenId, this.vocabSize) : cfgPad;
    this.addBos = opts.addBos ?? config.add_bos_token === true;
    if (this.addBos && this.bosTokenId === null) {
      throw new ArgumentError('Tokenizer: addBos is set but no BOS token is known (give bosTokenId, or bos_token in tokenizer_config.json)');
    }
    this.specialTokens = special;
    this.specialIds = new Set([...special.values(), ...[this.bosTokenId, this.eosTokenId, this.padTokenId].filter((x): x is number => x !== null)]);
  }

  /**
   * Builds a tokenizer from a parsed tokenizer.json and (optionally) tokenizer_config.json.
   * Decoding does not clean up tokenization spaces unless the config asks for it, so
   * decode(encode(text)) gives the text back.
   */
  static fromJSON(tokenizerJson: unknown, tokenizerConfig?: unknown, opts: TokenizerOptions = {}): Tokenizer {
    if (tokenizerJson === null || typeof tokenizerJson !== 'object' || Array.isArray(tokenizerJson)) {
      throw new ArgumentError('Tokenizer.fromJSON: tokenizerJson must be the parsed tokenizer.json object');
    }
    const tj = tokenizerJson as { model?: { type?: string } };
    if (!tj.model || typeof tj.model !== 'object') throw new InputError('Tokenizer.fromJSON: tokenizer.json has no "model" section (is it a Hugging Face tokenizers file?)');
    if (tokenizerConfig !== undefined && tokenizerConfig !== null && (typeof tokenizerConfig !== 'object' || Array.isArray(tokenizerConfig))) {
      throw new ArgumentError('Tokenizer.fromJSON: tokenizerConfig must be the parsed tokenizer_config.json object');
    }
    const cfg: TokenizerConfigJson = { ...((tokenizerConfig ?? {}) as TokenizerConfigJson) };
    cfg.clean_up_tokenization_spaces = cfg.clean_up_tokenization_spaces === true;
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(tokenizerJson, cfg);
    } catch (e) {
      throw new InputError(`Tokenizer.fromJSON: cannot build the tokenizer (model type ${JSON.stringify(tj.model.type)}): ${(e as Error).message}`);
    }
    return new Tokenizer(hf, cfg, opts);
  }

  /** Token ids of `text` (with BOS first when addBos). */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    checkOpts('Tokenizer.encode', opts);
    if (typeof text !== 'string') throw new ArgumentError(`Tokenizer.encode: text must be a string, got ${typeof text}`);
    const ids = text.length ? this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids : [];
    const addBos = opts.addBos ?? this.addBos;
    if (addBos) {
      if (this.bosTokenId === null) throw new ArgumentError('Tokenizer.encode: addBos is set but no BOS token is known');
      if (ids[0] !== this.bosTokenId) ids.unshift(this.bosTokenId);
    }
    return ids;
  }

  /** Text of `ids`. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    checkOpts('Tokenizer.decode', opts);
    if (!Array.isArray(ids)) throw new ArgumentError('Tokenizer.decode: ids must be an array of token ids');
    for (let j = 0; j < ids.length; j++) {
      const t = ids[j];
      if (!Number.isInteger(t) || t < 0) throw new ArgumentError(`Tokenizer.decode: ids[${j}] = ${t} is not a token id (expected an integer >= 0)`);
    }
    // Model vocabularies are often padded past the tokenizer's (xLSTM-7B: 50304 rows);
    // ids without a token decode to nothing, as in the Rust tokenizers (the JS library
    // would print the unk token instead).
    const known = ids.every((t) => t < this.vocabSize) ? (ids as number[]) : ids.filter((t) => t < this.vocabSize);
    if (known.length === 0) return '';
    return this.hf.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: this.config.clean_up_tokenization_spaces === true });
  }

  /** Token strings (as in tokenizer.json) of `text`, without BOS. */
  tokenize(text: string): string[] {
    return this.hf.tokenize(text);
  }

  tokenToId(token: string): number | undefined { return this.hf.token_to_id(token); }
  idToToken(id: number): string | undefined { return this.hf.id_to_token(id); }
  isSpecial(id: number): boolean { return this.specialIds.has(id); }

  /** A streaming decoder: push ids as they are generated, get the text that became complete. */
  detokenizer(opts: DecodeOptions = {}): IncrementalDetokenizer {
    return new IncrementalDetokenizer((ids) => this.decode(ids, opts));
  }

  /** The same tokenizer with other BOS/special-id settings. */
  withOptions(opts: TokenizerOptions): Tokenizer {
    return new Tokenizer(this.hf, this.config, {
      addBos: opts.addBos ?? this.addBos,
      bosTokenId: opts.bosTokenId !== undefined ? opts.bosTokenId : this.bosTokenId,
      eosTokenId: opts.eosTokenId !== undefined ? opts.eosTokenId : this.eosTokenId,
      padTokenId: opts.padTokenId !== undefined ? opts.padTokenId : this.padTokenId,
    });
  }
}
