// Public entry of the tokenizer (browser-safe; loadTokenizerFromDir needs Node).
export { Tokenizer } from './tokenizer.js';
export type { TokenizerConfigJson, TokenizerOptions, EncodeOptions, DecodeOptions } from './tokenizer.js';
export { IncrementalDetokenizer } from './detokenizer.js';
export type { DecodeFn } from './detokenizer.js';
export { loadTokenizerFromDir } from './load.js';
