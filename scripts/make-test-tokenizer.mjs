// Writes test/fixtures/tokenizer/{tokenizer.json,tokenizer_config.json}: a small but real
// byte-level BPE in the layout of the GPT-NeoX tokenizer that xLSTM-7B uses (NFC
// normaliser, ByteLevel pre-tokenizer / post-processor / decoder, BPE model), shrunk so
// every id fits the test models' vocab_size (101). The alphabet is partial (ASCII letters,
// digits, some punctuation, and the bytes of "é", "€" and "😀"), so an <|unk|> token covers
// the rest. "é" has a merge (one token); "€" (3 bytes) and "😀" (4 bytes) stay split into byte
// tokens, which is what the streaming-detokenizer tests need.
// Usage: node scripts/make-test-tokenizer.mjs [outDir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 + n.
function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  }
  const m = new Map();
  bs.forEach((b, i) => m.set(b, String.fromCodePoint(cs[i])));
  return m;
}

const b2u = bytesToUnicode();
const sym = (s) => [...new TextEncoder().encode(s)].map((b) => b2u.get(b)).join('');

const specials = ['<|bos|>', '<|pad|>', '<|eos|>', '<|unk|>'];
const chars = [' ', '\n', ...'abcdefghijklmnopqrstuvwxyz', ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ', ...'0123456789', ...".,!?'-:"];
const byteSyms = [];
for (const c of chars) byteSyms.push(sym(c));
for (const c of ['é', '€', '😀']) for (const b of new TextEncoder().encode(c)) byteSyms.push(b2u.get(b));
// Merges in rank order; each pair is two existing tokens.
const mergePairs = [
  ['h', 'e'], ['Ġ', 't'], ['Ġt', 'he'], ['i', 'n'], ['e', 'r'], ['a', 'n'], ['o', 'n'], ['Ġ', 'a'],
  [sym('é')[0], sym('é')[1]], ['l', 'l'], ['Ġ', 'w'], ['o', 'r'], ['Ġw', 'or'], ['l', 'd'], ['Ġwor', 'ld'], ['Ġ', 's'], ['Ġ', 'c'],
];

const vocab = {};
let id = 0;
for (const s of specials) vocab[s] = id++;
for (const s of byteSyms) { if (s in vocab) throw new Error(`duplicate byte symbol ${s}`); vocab[s] = id++; }
for (const [a, b] of mergePairs) {
  if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b}: part not in vocab`);
  vocab[a + b] = id++;
}
if (id > 101) throw new Error(`vocab has ${id} tokens, the test models have vocab_size 101`);

const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: specials.map((content, i) => ({ id: i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: 'NFC' },
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: '<|unk|>', continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, vocab, merges: mergePairs.map(([a, b]) => `${a} ${b}`),
  },
};
const config = {
  tokenizer_class: 'GPTNeoXTokenizer',
  add_bos_token: false,
  add_eos_token: false,
  bos_token: '<|bos|>',
  eos_token: '<|eos|>',
  pad_token: '<|pad|>',
  unk_token: '<|unk|>',
  clean_up_tokenization_spaces: false,
  model_max_length: 1000000000000000019884624838656,
};

const out = process.argv[2] ?? 'test/fixtures/tokenizer';
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2) + '\n');
writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
console.log(`wrote ${out}/tokenizer.json (${id} tokens, ${mergePairs.length} merges) and tokenizer_config.json`);
