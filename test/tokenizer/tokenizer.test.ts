// The Tokenizer wrapper on the byte-level BPE fixture (scripts/make-test-tokenizer.mjs):
// ids come from the fixture's vocabulary, so these tests fail if encoding, BOS policy,
// special tokens or the streaming detokenizer change behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer, loadTokenizerFromDir } from '../../src/tokenizer/index.js';

const FIX = 'test/fixtures/tokenizer';
const tokJson = JSON.parse(readFileSync(join(FIX, 'tokenizer.json'), 'utf8'));
const tokCfg = JSON.parse(readFileSync(join(FIX, 'tokenizer_config.json'), 'utf8'));
const vocab: Record<string, number> = tokJson.model.vocab;
const make = (opts = {}) => Tokenizer.fromJSON(tokJson, tokCfg, opts);

test('encode: byte-level BPE merges, in vocab order', () => {
  const t = make();
  const ids = t.encode('Hello the world');
  assert.deepEqual(ids, ['H', 'e', 'll', 'o', 'Ġthe', 'Ġworld'].map((s) => vocab[s]));
  assert.deepEqual(t.tokenize('Hello the world'), ['H', 'e', 'll', 'o', 'Ġthe', 'Ġworld']);
  assert.ok(ids.every((i) => i < 101), 'fixture ids fit the test models (vocab_size 101)');
  assert.equal(t.vocabSize, Object.keys(vocab).length);
});

test('decode(encode(text)) round-trips ASCII, multi-byte and emoji text', () => {
  const t = make();
  for (const s of ['Hello the world', 'café € 😀 x', 'a\nb: 12, c!', '', ' leading and trailing ']) {
    assert.equal(t.decode(t.encode(s)), s, JSON.stringify(s));
  }
  // "é" is one merged token, "€" three byte tokens, "😀" four
  assert.equal(t.encode('é').length, 1);
  assert.equal(t.encode('€').length, 3);
  assert.equal(t.encode('😀').length, 4);
});

test('special tokens: ids from tokenizer_config, split out of text, skipped on request', () => {
  const t = make();
  assert.equal(t.bosTokenId, 0);
  assert.equal(t.padTokenId, 1);
  assert.equal(t.eosTokenId, 2);
  assert.equal(t.unkTokenId, 3);
  assert.deepEqual([...t.specialTokens.entries()].sort((a, b) => a[1] - b[1]), [['<|bos|>', 0], ['<|pad|>', 1], ['<|eos|>', 2], ['<|unk|>', 3]]);
  const ids = t.encode('<|bos|>hi<|eos|>');
  assert.deepEqual(ids, [0, vocab.h, vocab.i, 2]);
  assert.equal(t.decode(ids), '<|bos|>hi<|eos|>');
  assert.equal(t.decode(ids, { skipSpecialTokens: true }), 'hi');
  assert.ok(t.isSpecial(2) && !t.isSpecial(vocab.h));
  // characters outside the fixture's alphabet become <|unk|>
  assert.deepEqual(t.encode('~'), [3]);
});

test('BOS: off by tokenizer_config, on by the model policy, never doubled', () => {
  assert.equal(make().addBos, false);
  assert.deepEqual(make().encode('hi'), [vocab.h, vocab.i]);
  const t = make({ addBos: true });
  assert.deepEqual(t.encode('hi'), [0, vocab.h, vocab.i]);
  assert.deepEqual(t.encode('<|bos|>hi'), [0, vocab.h, vocab.i]);
  assert.deepEqual(t.encode(''), [0]);
  assert.deepEqual(t.encode('hi', { addBos: false }), [vocab.h, vocab.i]);
  // model config ids override tokenizer_config ones
  const t2 = make({ addBos: true, bosTokenId: 2 });
  assert.deepEqual(t2.encode('hi'), [2, vocab.h, vocab.i]);
  assert.equal(t.withOptions({ addBos: false }).encode('hi')[0], vocab.h);
  // tokenizer_config add_bos_token is honoured when the model says nothing
  assert.deepEqual(Tokenizer.fromJSON(tokJson, { ...tokCfg, add_bos_token: true }).encode('a'), [0, vocab.a]);
  assert.throws(() => Tokenizer.fromJSON(tokJson, {}, { addBos: true }), /no BOS token is known/);
});

test('bad input names the argument', () => {
  const t = make();
  assert.throws(() => t.decode([5, -1]), /ids\[1\] = -1 is not a token id/);
  assert.throws(() => t.decode([1.5]), /ids\[0\] = 1.5/);
  // ids past the tokenizer (padded model vocabularies) decode to nothing
  assert.equal(t.decode([vocab.a, t.vocabSize, 5000, vocab.b]), 'ab');
  assert.throws(() => Tokenizer.fromJSON({}, null), /no "model" section/);
  assert.throws(() => Tokenizer.fromJSON(tokJson, { ...tokCfg, bos_token: '<s>' }), /bos_token "<s>" is not in tokenizer.json/);
  assert.throws(() => make({ eosTokenId: 500 }), /eosTokenId = 500/);
});

test('streaming detokenizer: holds back incomplete UTF-8, emits exactly the decoded text', () => {
  const t = make();
  const text = 'café € 😀 the world';
  const ids = t.encode(text);
  const d = t.detokenizer();
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  assert.equal(pieces.join(''), text);
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')), `no replacement characters in ${JSON.stringify(pieces)}`);
  // "€" = 3 byte tokens: nothing is emitted until the third arrives
  const euro = t.encode('€');
  const d2 = t.detokenizer();
  assert.deepEqual(euro.map((id) => d2.push(id)), ['', '', '€']);
  const emoji = t.encode('😀');
  const d3 = t.detokenizer();
  assert.deepEqual(emoji.map((id) => d3.push(id)), ['', '', '', '😀']);
  assert.equal(d3.text, '😀');
  // an incomplete sequence at the end comes out as U+FFFD on flush
  const d4 = t.detokenizer();
  assert.equal(d4.push(vocab.a), 'a');
  assert.equal(d4.push(euro[0]), '');
  assert.equal(d4.push(euro[1]), '');
  assert.equal(d4.flush(), '\uFFFD');
  assert.equal(d4.flush(), '');
  // special tokens: kept or skipped as asked
  const d5 = t.detokenizer({ skipSpecialTokens: true });
  assert.equal([0, vocab.h, vocab.i, 2].map((id) => d5.push(id)).join('') + d5.flush(), 'hi');
});

test('loadTokenizerFromDir: reads both files; clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xlstm-tok-'));
  try {
    await assert.rejects(loadTokenizerFromDir(dir), /no tokenizer.json in/);
    await assert.rejects(loadTokenizerFromDir(join(dir, 'nope')), /does not exist/);
    copyFileSync(join(FIX, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const t1 = await loadTokenizerFromDir(dir);
    assert.equal(t1.bosTokenId, null, 'without tokenizer_config.json no BOS is known');
    assert.equal(t1.decode(t1.encode('café')), 'café');
    copyFileSync(join(FIX, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    const t2 = await loadTokenizerFromDir(dir, { addBos: true });
    assert.deepEqual(t2.encode('a'), [0, vocab.a]);
    writeFileSync(join(dir, 'tokenizer_config.json'), '{oops');
    await assert.rejects(loadTokenizerFromDir(dir), /tokenizer_config.json is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
