// Bad arguments to the generation API are ArgumentErrors (or LimitErrors) that name the
// function, the option and the value, raised before any model work: the model below fails
// the test if generation ever calls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, score, resolveSampling, MAX_GENERATED_TOKENS, stackStates } from '../../src/generation/index.js';
import type { LanguageModel } from '../../src/models/languageModel.js';
import { ArgumentError, LimitError } from '../../src/errors.js';

const V = 10;
const untouchable = {
  vocabSize: V,
  modelType: 'toy',
  emptyState: () => { throw new Error('the model was called'); },
  forward: () => { throw new Error('the model was called'); },
  step: () => { throw new Error('the model was called'); },
} as unknown as LanguageModel;

function argErr(fn: () => unknown, re: RegExp, cls: typeof ArgumentError | typeof LimitError = ArgumentError): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

test('generate: bad options are ArgumentErrors naming the option and value, before the model runs', () => {
  const p = [[1, 2]];
  argErr(() => generate(untouchable, p, null as never), /^generate: options are required/);
  argErr(() => generate(untouchable, p, { maxNewTokens: -1 }), /^generate: maxNewTokens = -1, expected an integer >= 0/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 2.5 }), /maxNewTokens = 2\.5/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, temperature: -1 }), /^generate: temperature = -1, expected a finite number >= 0/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, topK: 0 }), /^generate: topK = 0, expected an integer >= 1/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, topP: 1.5 }), /^generate: topP = 1\.5, expected 0 < topP <= 1/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, minP: -0.1 }), /^generate: minP = -0\.1/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, topLogprobs: V + 1 }), /^generate: topLogprobs = 11, expected at most the vocabulary size 10/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, logprobs: 'yes' as never }), /^generate: logprobs = "yes", expected true or false/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, onToken: 3 as never }), /^generate: onToken must be a function/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, signal: {} as never }), /^generate: signal must be an AbortSignal/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, stopTokens: 3 as never }), /^generate: stopTokens must be an array/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, stopTokens: [V] }), /^generate: stopTokens\[0\] = 10 is not a token id/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, stopStrings: ['x'] }), /stopStrings need a tokenizer/);
  argErr(() => generate(untouchable, [[1, V]], { maxNewTokens: 4 }), /^generate: prompts\[0\]\[1\] = 10 is not a token id/);
  argErr(() => generate(untouchable, [], { maxNewTokens: 4 }), /^generate: prompts must be a non-empty array/);
  argErr(() => generate(untouchable, ['text'], { maxNewTokens: 4 }), /prompts\[0\] is a string, which needs options\.tokenizer/);
  argErr(() => generate(untouchable, p, { maxNewTokens: 4, temperature: 1, seed: -3 }), /^generate: seed = -3, expected an integer 0 <= seed < 2\^32/);
});

test('generate: maxNewTokens beyond what the rows can hold is a LimitError with the limit per prompt count', () => {
  argErr(() => generate(untouchable, [[1]], { maxNewTokens: MAX_GENERATED_TOKENS + 1 }), new RegExp(`^maxNewTokens ${MAX_GENERATED_TOKENS + 1} is above the limit ${MAX_GENERATED_TOKENS} \\(1 prompt`), LimitError);
  assert.throws(() => generate(untouchable, [[1], [2], [3], [4]], { maxNewTokens: MAX_GENERATED_TOKENS / 2 }), (e: Error) => {
    assert.ok(e instanceof LimitError);
    assert.equal(e.option, 'maxNewTokens');
    assert.equal(e.value, MAX_GENERATED_TOKENS / 2);
    assert.equal(e.limit, MAX_GENERATED_TOKENS / 4);
    return true;
  });
});

test('score, sampling and state helpers: bad arguments are ArgumentErrors', () => {
  argErr(() => score(untouchable, [1, 2], null as never), /^score: options must be an object, got null/);
  argErr(() => score(untouchable, [1, 2], { chunkSize: 0 }), /^score: chunkSize = 0, expected an integer >= 1/);
  argErr(() => score(untouchable, [[]]), /^score: ids\[0\] is empty/);
  argErr(() => resolveSampling('f', { topK: 1.5 }), /^f: topK = 1\.5/);
  argErr(() => stackStates(untouchable, []), /^stackStates: states must be a non-empty array/);
  assert.deepEqual(resolveSampling('f', { temperature: 0.5, topK: 3 }), { mode: 'sample', temperature: 0.5, topK: 3, topP: 1, minP: 0 });
});

test('Tokenizer: bad arguments are ArgumentErrors, a broken tokenizer file an InputError', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { Tokenizer } = await import('../../src/tokenizer/tokenizer.js');
  const { InputError } = await import('../../src/errors.js');
  const dir = 'test/fixtures/tokenizer';
  const tok = Tokenizer.fromJSON(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
  argErr(() => tok.encode(3 as never), /^Tokenizer\.encode: text must be a string, got number/);
  argErr(() => tok.encode('a', null as never), /^Tokenizer\.encode: options must be an object, got null/);
  argErr(() => tok.decode('ab' as never), /^Tokenizer\.decode: ids must be an array of token ids/);
  argErr(() => tok.decode([1, -2]), /^Tokenizer\.decode: ids\[1\] = -2 is not a token id/);
  argErr(() => tok.decode([1], null as never), /^Tokenizer\.decode: options must be an object, got null/);
  argErr(() => Tokenizer.fromJSON('x'), /^Tokenizer\.fromJSON: tokenizerJson must be the parsed tokenizer\.json object/);
  assert.throws(() => Tokenizer.fromJSON({ version: '1.0' }), (e: Error) => e instanceof InputError && /has no "model" section/.test(e.message));
  assert.equal(tok.decode(tok.encode('a b', { addBos: false })), 'a b');
});
