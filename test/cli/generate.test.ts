// `xlstm generate` / `xlstm score` end to end: a model folder assembled in a temp dir from
// the xLSTM Large HF fixture (config.json + model.safetensors) and the byte-level BPE test
// tokenizer, the CLI run as a child process (dist/src/cli/bin.js), and its JSON compared
// with the library (greedy generation, an independent forward pass, score).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { XLSTMLarge } from '../../src/models/xlstmLarge/index.js';
import { detectModel, loadLanguageModel, loadTokenizer, readGenerationDefaults } from '../../src/models/auto.js';
import { generate } from '../../src/generation/generate.js';
import { score } from '../../src/generation/score.js';
import { parseGenerateArgs, runGenerate } from '../../src/cli/commands/generate.js';

const BIN = 'dist/src/cli/bin.js';
const HF = 'test/fixtures/xlstm_large_hf';
const TOK = 'test/fixtures/tokenizer';
let root: string;
let dir: string;
let be: WasmBackend;

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  // same wasm build (relaxed SIMD or not) as this process, so numbers compare exactly
  const flags = process.execArgv.filter((a) => a === '--experimental-wasm-relaxed-simd');
  const r = spawnSync(process.execPath, [...flags, BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function makeModelDir(name: string, withTokenizer = true): string {
  const d = join(root, name);
  rmSync(d, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', d]);
  copyFileSync(join(HF, 'config.json'), join(d, 'config.json'));
  copyFileSync(join(HF, 'model.safetensors'), join(d, 'model.safetensors'));
  if (withTokenizer) for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(TOK, f), join(d, f));
  return d;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'xlstm-cli-'));
  dir = makeModelDir('model');
  be = await WasmBackend.create({ threads: 1 });
});
after(() => {
  be?.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('fixture tokenizer fits the fixture model', () => {
  const cfg = JSON.parse(readFileSync(join(HF, 'config.json'), 'utf8'));
  const tok = JSON.parse(readFileSync(join(TOK, 'tokenizer.json'), 'utf8'));
  const ids = Object.values(tok.model.vocab) as number[];
  assert.ok(Math.max(...ids) < cfg.vocab_size, `tokenizer ids < vocab_size ${cfg.vocab_size}`);
});

test('detectModel / loadTokenizer / readGenerationDefaults', async () => {
  assert.deepEqual((await detectModel(dir)).kind, 'xlstm-large');
  assert.equal((await detectModel(dir)).format, 'hf');
  const native = await detectModel('test/fixtures/xlstm_large');
  assert.equal(native.kind, 'xlstm-large');
  assert.equal(native.format, 'native');
  const y = join(root, 'lm');
  spawnSync('mkdir', ['-p', y]);
  writeFileSync(join(y, 'config.yaml'), 'model:\n  vocab_size: 50\n  num_blocks: 2\n  embedding_dim: 16\n  slstm_at: [1]\n  mlstm_block: {}\n  slstm_block: {}\n');
  assert.equal((await detectModel(y)).kind, 'xlstm-lm');
  writeFileSync(join(y, 'config.yaml'), 'model_type: llama\n');
  await assert.rejects(detectModel(y), /model_type "llama" is not a supported language model/);
  await assert.rejects(detectModel(join(root, 'missing')), /does not exist/);
  // xLSTM Large: force_bos_token_insert (HF default true) -> BOS 0 first
  const tok = await loadTokenizer(dir);
  assert.equal(tok.addBos, true);
  assert.equal(tok.encode('hi')[0], 0);
  const d = await readGenerationDefaults(dir);
  assert.deepEqual(d, { bosTokenId: 0, eosTokenIds: [2], padTokenId: 1 });
});

test('generate --json: ids = library greedy generation, logprobs = an independent forward, G-NLL = sum of -logprobs', async () => {
  const prompt = 'Hello the world';
  const n = 12;
  const r = cli(['generate', '--model', dir, '--prompt', prompt, '--max-new-tokens', String(n), '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const model = await loadLanguageModel(dir, { backend: be });
  const tok = await loadTokenizer(dir);
  try {
    const promptIds = tok.encode(prompt);
    assert.deepEqual(out.promptIds, promptIds);
    assert.equal(promptIds[0], 0, 'BOS inserted');
    const lib = generate(model, [promptIds], { maxNewTokens: n, stopTokens: [2] }).sequences[0];
    assert.deepEqual(out.ids, lib.tokens);
    assert.ok(out.ids.length >= 1 && out.ids.length <= n);
    assert.equal(out.mode, 'greedy');
    // the model's own greedy generate (argmax per step) agrees up to where EOS stopped the CLI
    const xl = await XLSTMLarge.fromPretrained(dir, { backend: be });
    const own = xl.generate([promptIds], { maxLength: out.ids.length }).tokens[0];
    (xl as unknown as { dispose?: () => void }).dispose?.();
    assert.deepEqual(out.ids, own);
    // log p of each generated token from one forward pass over prompt + generated ids
    const all = [...promptIds, ...out.ids];
    const fw = model.forward([all]);
    const V = model.vocabSize;
    const L = fw.logits.data as Float32Array;
    let nll = 0;
    out.tokens.forEach((t: { id: number; logprob: number }, j: number) => {
      const pos = promptIds.length - 1 + j;
      let mx = -Infinity;
      for (let v = 0; v < V; v++) mx = Math.max(mx, L[pos * V + v]);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(L[pos * V + v] - mx);
      const lp = L[pos * V + t.id] - mx - Math.log(s);
      assert.equal(t.id, out.ids[j]);
      assert.ok(Math.abs(t.logprob - lp) < 1e-4, `token ${j}: logprob ${t.logprob} vs forward ${lp}`);
      assert.ok(t.logprob <= 0);
      nll -= t.logprob;
    });
    fw.logits.dispose();
    assert.ok(Math.abs(out.gNll - nll) < 1e-9 * Math.max(1, nll), `gNll ${out.gNll} vs sum ${nll}`);
    assert.equal(out.nll, out.gNll);
    assert.ok(Math.abs(out.nll - lib.nll) < 1e-9 * Math.max(1, nll));
    assert.equal(out.text, tok.decode(out.ids.filter((id: number) => id !== 2), { skipSpecialTokens: true }));
  } finally {
    (model as unknown as { dispose?: () => void }).dispose?.();
  }
});

test('generate streams the same text as --json reports; sampling is reproducible by seed', () => {
  const base = ['generate', '--model', dir, '--prompt', 'the world', '-n', '8', '--threads', '1'];
  const j = JSON.parse(cli([...base, '--json']).stdout);
  const plain = cli(base);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, j.text + '\n');
  const s1 = JSON.parse(cli([...base, '--temperature', '1.5', '--top-k', '20', '--seed', '7', '--json']).stdout);
  const s2 = JSON.parse(cli([...base, '--temperature', '1.5', '--top-k', '20', '--seed', '7', '--json']).stdout);
  assert.equal(s1.mode, 'sample');
  assert.equal(s1.seed, 7);
  assert.deepEqual(s1.ids, s2.ids);
  // with sampling, gNll is the NLL of the greedy continuation (the plain greedy run)
  assert.deepEqual(s1.greedyIds, j.ids);
  assert.ok(Math.abs(s1.gNll - j.nll) < 1e-9 * Math.max(1, j.nll));
  const sum = s1.tokens.reduce((a: number, t: { logprob: number }) => a - t.logprob, 0);
  assert.ok(Math.abs(s1.nll - sum) < 1e-9 * Math.max(1, sum));
});

test('generation_config.json: max_new_tokens default and eos list', async () => {
  const d = makeModelDir('withgen');
  writeFileSync(join(d, 'generation_config.json'), JSON.stringify({ max_new_tokens: 3, eos_token_id: [2, 3], bos_token_id: 0 }));
  assert.deepEqual((await readGenerationDefaults(d)).eosTokenIds, [2, 3]);
  const out = JSON.parse(cli(['generate', '--model', d, '--prompt', 'hi', '--threads', '1', '--json']).stdout);
  assert.ok(out.ids.length <= 3 && out.ids.length >= 1);
  assert.ok(out.ids.length === 3 || [2, 3].includes(out.ids[out.ids.length - 1]));
  // the library call with the same settings gives the same ids
  const io = { stdout: { write: () => true }, stderr: { write: () => true } };
  const lib = await runGenerate(parseGenerateArgs({ model: d, prompt: 'hi', threads: '1', json: true }), io);
  assert.deepEqual(lib!.ids, out.ids);
  // --barrier-spins only changes how the decode threads wait, not the ids
  const spins = await runGenerate(parseGenerateArgs({ model: d, prompt: 'hi', threads: '2', barrierSpins: '1000', json: true }), io);
  assert.deepEqual(spins!.ids, out.ids);
});

test('score: perplexity computed by the library', async () => {
  const file = join(root, 'text.txt');
  const text = 'café € 😀 the world is here.\nHello, world!';
  writeFileSync(file, text);
  const r = cli(['score', '--model', dir, '--file', file, '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const model = await loadLanguageModel(dir, { backend: be });
  const tok = await loadTokenizer(dir);
  try {
    const ids = tok.encode(text);
    const s = score(model, ids);
    assert.equal(out.tokens, ids.length);
    assert.equal(out.scoredTokens, ids.length - 1);
    assert.ok(Math.abs(out.nll - s.nll) < 1e-9 * s.nll);
    assert.ok(Math.abs(out.perplexity - s.perplexity) < 1e-9 * s.perplexity);
    assert.ok(Math.abs(out.perplexity - Math.exp(out.nll / out.scoredTokens)) < 1e-9 * out.perplexity);
  } finally {
    (model as unknown as { dispose?: () => void }).dispose?.();
  }
  const plain = cli(['score', '--model', dir, '--file', file, '--threads', '1']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, new RegExp(`tokens: +${out.tokens} \\(${out.scoredTokens} scored\\)`));
  assert.match(plain.stdout, new RegExp(`perplexity: +${out.perplexity.toFixed(4).replace('.', '\\.')}`));
});

test('bad input: one clear line on stderr, exit code 1', () => {
  const noTok = makeModelDir('notok', false);
  const cases: [string[], RegExp][] = [
    [['generate', '--model', join(root, 'nope'), '--prompt', 'hi'], /--model '.*nope': model folder .* does not exist/],
    [['generate', '--model', noTok, '--prompt', 'hi'], /no tokenizer\.json in/],
    [['generate', '--model', dir, '--prompt', ''], /--prompt is empty/],
    [['generate', '--model', dir, '--prompt', 'hi', '--temperature', 'hot'], /--temperature must be a number >= 0 \(0 = greedy\), got 'hot'/],
    [['generate', '--model', dir, '--prompt', 'hi', '--temperature', '-1'], /--temperature must be a number >= 0/],
    [['generate', '--model', dir, '--prompt', 'hi', '--top-p', '1.5'], /--top-p must be a number in \(0, 1\]/],
    [['generate', '--model', dir, '--prompt', 'hi', '--max-new-tokens', '0'], /--max-new-tokens must be an integer >= 1, got '0'/],
    [['generate', '--model', dir, '--prompt', 'hi', '--dtype', 'f8'], /--dtype must be one of f32, bf16, int8, q4, got 'f8'/],
    [['generate', '--model', dir, '--prompt', 'hi', '--barrier-spins', 'lots'], /--barrier-spins must be an integer >= -1, got 'lots'/],
    [['score', '--model', dir, '--file', join(root, 'none.txt')], /--file '.*none\.txt': cannot read it \(ENOENT\)/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
  const empty = join(root, 'empty.txt');
  writeFileSync(empty, '');
  assert.match(cli(['score', '--model', dir, '--file', empty]).stderr, /is empty/);
  unlinkSync(empty);
});
