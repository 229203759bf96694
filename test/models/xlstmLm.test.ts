// xLSTMLMModel against the official float64 run (test/fixtures/xlstm_lm): parallel-form
// logits, token-by-token step logits and every state tensor after the last step, the
// loss, greedy generation; prefill-then-step == full forward; config/weights/input errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { serializeSafetensors, parseSafetensors } from '../../src/io/safetensors.js';
import {
  XLSTMLMModel, XLSTMLMState, resolveXLSTMLMConfig, parseXLSTMLMConfigYaml, toOfficialState, fromOfficialState, nextTokenCrossEntropy, projUpDim,
} from '../../src/models/xlstmLm/index.js';
import { loadCase, assertGolden, assertClose, FIXTURES, GoldenCase } from '../helpers/golden.js';

let be: WasmBackend;
let model: XLSTMLMModel;
let c: GoldenCase;
const DIR = join(FIXTURES, 'xlstm_lm');

const ids = (g: GoldenCase, name: string): number[][] => {
  const [B, S] = g.shape(name);
  const d = g.io.get(name)!.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => Number(d[b * S + s])));
};

function disposeState(st: XLSTMLMState): void { for (const s of st) for (const t of Object.values(s)) (t as Tensor | undefined)?.dispose(); }

/** Token-by-token steps from the empty state: logits [B, S, V] concatenated over t. */
function stepAll(m: XLSTMLMModel, x: number[][], state = m.emptyState(x.length)): { logits: Float32Array; state: XLSTMLMState } {
  const [B, S, V] = [x.length, x[0].length, m.vocabSize];
  const out = new Float32Array(B * S * V);
  for (let t = 0; t < S; t++) {
    const r = m.step(x.map((row) => row[t]), state);
    for (let b = 0; b < B; b++) out.set((r.logits.data as Float32Array).subarray(b * V, (b + 1) * V), (b * S + t) * V);
    r.logits.dispose();
  }
  return { logits: out, state };
}

before(async () => {
  be = await WasmBackend.create({ threads: 2 });
  c = loadCase('xlstm_lm');
  model = await XLSTMLMModel.fromPretrained(DIR, { backend: be });
});
after(() => { model?.dispose(); be?.dispose(); });

test('config: resolved block configs equal meta.resolved_block_configs', () => {
  const cfg = model.config;
  assert.equal(cfg._block_map, c.config._block_map);
  assert.deepEqual(cfg.slstm_at, c.config.slstm_at);
  for (const b of cfg.blocks) {
    const want = c.meta.resolved_block_configs[`block_${b.blockIdx}`];
    if (b.kind === 'mlstm') {
      for (const [k, v] of Object.entries(want.mlstm)) assert.deepEqual((b.mlstm as any)[k], v, `block ${b.blockIdx} mlstm.${k}`);
    } else {
      for (const k of ['hidden_size', 'num_heads', 'backend', 'conv1d_kernel_size', 'embedding_dim', '_block_idx', 'dtype_r', 'dtype_a']) {
        assert.deepEqual((b.slstm as any)[k], want.slstm[k], `block ${b.blockIdx} slstm.${k}`);
      }
      for (const [k, v] of Object.entries(want.feedforward)) assert.deepEqual((b.feedforward as any)[k], v, `block ${b.blockIdx} feedforward.${k}`);
    }
  }
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.blocks[0]));
  assert.equal(projUpDim(1.3, 64, 64, true), 128);
  assert.equal(projUpDim(1.3, 64, 64, false), 64);
  assert.equal(projUpDim(2, 100, 64, true), 256);
});

test('config: unknown values and fields name the field and value', () => {
  const base = c.config;
  const withS = (s: object) => ({ ...base, slstm_block: { ...base.slstm_block, slstm: { ...base.slstm_block.slstm, ...s } } });
  assert.throws(() => resolveXLSTMLMConfig(withS({ backend: 'triton' })), /slstm_block\.slstm\.backend = "triton" is not supported/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, slstm_block: { ...base.slstm_block, feedforward: { act_fn: 'mish' } } }), /feedforward\.act_fn = "mish"/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, slstm_at: [base.num_blocks] }), /slstm_at = \[\d+\]: \d+ is not a block index/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, slstm_at: 'some' }), /slstm_at = "some"/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, vocab_size: -1 }), /vocab_size = -1/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, embedding_dims: 3 }), /unknown key 'embedding_dims' \(did you mean 'embedding_dim'\?\)/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, mlstm_block: { mlstm: { num_heads: 3 } } }), /mlstm_block\.mlstm\.num_heads = 3 does not divide/);
  assert.throws(() => resolveXLSTMLMConfig(withS({ function: 'lstm' })), /slstm_block\.slstm\.function = "lstm" is not supported/);
  assert.throws(() => resolveXLSTMLMConfig({ ...base, slstm_block: null }), /slstm_block is null but slstm_at/);
  // no mlstm_block: every block is sLSTM (official __post_init__)
  const allS = resolveXLSTMLMConfig({ ...base, mlstm_block: null });
  assert.equal(allS._block_map, Array(base.num_blocks).fill(1).join(','));
});

test('config: YAML with a model: section and OmegaConf interpolations', async () => {
  const yaml = `training:\n  batch_size: 4\nmodel:\n  num_blocks: 2\n  embedding_dim: 64\n  mlstm_block:\n    mlstm:\n      num_heads: 1\n  slstm_block:\n    slstm:\n      num_heads: 1\n  slstm_at: [1]\n  context_length: \${dataset.kwargs.context_length}\n  vocab_size: \${dataset.kwargs.vocab_size}\ndataset:\n  kwargs:\n    context_length: 256\n    vocab_size: 3\n`;
  const cfg = resolveXLSTMLMConfig(await parseXLSTMLMConfigYaml(yaml));
  assert.equal(cfg.vocab_size, 3);
  assert.equal(cfg.context_length, 256);
  assert.equal(cfg._block_map, '0,1');
  assert.equal(cfg.slstm_block!.slstm.backend, 'cuda');
  assert.equal(cfg.slstm_block!.feedforward!._proj_up_dim, 128);
  const top = resolveXLSTMLMConfig(await parseXLSTMLMConfigYaml('vocab_size: 5\nembedding_dim: 64\ncontext_length: 16\nmlstm_block: {}\n'));
  assert.equal(top._block_map, '0');
  // the official mLSTM cell sizes its causal mask with context_length (default -1: torch.ones(-1, -1) fails)
  assert.throws(() => resolveXLSTMLMConfig({ vocab_size: 5, embedding_dim: 64, mlstm_block: {} }), /context_length = -1, expected an integer >= 1/);
  await assert.rejects(parseXLSTMLMConfigYaml('model:\n  vocab_size: ${dataset.vocab}\n'), /refers to dataset\.vocab, which does not exist/);
});

test('xlstm_lm: forward logits (parallel form) and loss', () => {
  const x = ids(c, 'input_ids');
  const r = model.forward(x);
  assert.deepEqual(r.logits.shape, c.shape('logits'));
  const err = assertGolden(c, 'logits', r.logits.data as Float32Array);
  const loss = nextTokenCrossEntropy(r.logits, x);
  assertClose('xlstm_lm/loss', [loss], c.f32('loss'), c.tol('loss').atol);
  console.log(`logits max err ${err.toExponential(2)} (atol ${c.tol('logits').atol}); loss ${loss} vs ${c.f32('loss')[0]}`);
  r.logits.dispose();
  disposeState(r.state);
});

test('xlstm_lm: step logits and every state tensor after the last step', () => {
  const x = ids(c, 'input_ids');
  const r = stepAll(model, x);
  const err = assertGolden(c, 'step_logits', r.logits);
  const off = toOfficialState(model.config, r.state);
  const names = [...c.io.keys()].filter((n) => n.startsWith('step_state__'));
  assert.equal(names.length, off.size, `state tensors: golden ${names.join(', ')}`);
  const errs: string[] = [];
  for (const n of names) {
    const t = off.get(n.slice('step_state__'.length));
    assert.ok(t, `no ${n} in toOfficialState`);
    assert.deepEqual(t!.shape, c.shape(n), n);
    errs.push(`${n.slice(12)} ${assertGolden(c, n, t!.data as Float32Array).toExponential(1)}`);
  }
  console.log(`step_logits max err ${err.toExponential(2)}; states: ${errs.join(', ')}`);
  // the official layout round-trips, and stepping on from it equals stepping on from the original
  const back = fromOfficialState(model.config, off);
  const nxt = x.map((row) => row[0]);
  const a = model.step(nxt, r.state), b = model.step(nxt, back);
  assertClose('step from fromOfficialState', b.logits.data as Float32Array, a.logits.data as Float32Array, 1e-5);
  a.logits.dispose(); b.logits.dispose();
  disposeState(r.state);
});

test('xlstm_lm: greedy generation from the prompt (gen_tokens, gen_step_logits)', () => {
  const prompt = ids(c, 'gen_prompt_ids');
  const [B, n] = c.shape('gen_tokens');
  const V = model.vocabSize;
  const state = model.emptyState(B);
  let last: Float32Array = new Float32Array(0);
  for (let t = 0; t < prompt[0].length; t++) {
    const r = model.step(prompt.map((row) => row[t]), state);
    last = (r.logits.data as Float32Array).slice();
    r.logits.dispose();
  }
  const toks: number[][] = Array.from({ length: B }, () => []);
  const logits = new Float32Array(B * n * V);
  for (let j = 0; j < n; j++) {
    const next = Array.from({ length: B }, (_, b) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (last[b * V + v] > last[b * V + best]) best = v;
      logits.set(last.subarray(b * V, (b + 1) * V), (b * n + j) * V);
      toks[b].push(best);
      return best;
    });
    const r = model.step(next, state);
    last = (r.logits.data as Float32Array).slice();
    r.logits.dispose();
  }
  assert.deepEqual(toks, ids(c, 'gen_tokens'));
  assertGolden(c, 'gen_step_logits', logits);
  disposeState(state);
});

test('prefill then step equals the full forward; logits "last"; forward from a state', () => {
  const x = ids(c, 'input_ids');
  const S = x[0].length, V = model.vocabSize, B = x.length;
  const k = Math.max(1, Math.floor(S / 2));
  const full = model.forward(x);
  const fd = full.logits.data as Float32Array;
  const pre = model.forward(x.map((r) => r.slice(0, k)), { logits: 'last' });
  assert.deepEqual(pre.logits.shape, [B, 1, V]);
  for (let b = 0; b < B; b++) assertClose(`last logits b${b}`, (pre.logits.data as Float32Array).subarray(b * V, (b + 1) * V), fd.subarray((b * S + k - 1) * V, (b * S + k) * V), 2e-5);
  for (let t = k; t < S; t++) {
    const r = model.step(x.map((row) => row[t]), pre.state);
    for (let b = 0; b < B; b++) assertClose(`step t=${t} b${b}`, (r.logits.data as Float32Array).subarray(b * V, (b + 1) * V), fd.subarray((b * S + t) * V, (b * S + t + 1) * V), 2e-5);
    r.logits.dispose();
  }
  // forward continuing from a state (chunkwise) == the tail of the full forward; the state is not modified
  const p2 = model.forward(x.map((r) => r.slice(0, k)));
  const before0 = (p2.state[0] as any).c.data.slice();
  const tail = model.forward(x.map((r) => r.slice(k)), { state: p2.state });
  assert.deepEqual((p2.state[0] as any).c.data, before0);
  for (let b = 0; b < B; b++) assertClose(`tail b${b}`, (tail.logits.data as Float32Array).subarray(b * (S - k) * V, (b + 1) * (S - k) * V), fd.subarray((b * S + k) * V, (b + 1) * S * V), 2e-5);
  // the end states agree with the full forward's
  const a = toOfficialState(model.config, tail.state), f = toOfficialState(model.config, full.state);
  for (const [n, t] of f) assertClose(`state ${n}`, a.get(n)!.data as Float32Array, t.data as Float32Array, 1e-4);
  for (const r of [full, pre, p2, tail]) { r.logits.dispose(); disposeState(r.state); }
});

test('bad inputs: token id >= vocab, empty prompt, ragged rows, wrong state', () => {
  const V = model.vocabSize;
  assert.throws(() => model.forward([[0, V]]), new RegExp(`inputIds\\[0\\]\\[1\\] = ${V} is not a token id`));
  assert.throws(() => model.forward([[-1]]), /inputIds\[0\]\[0\] = -1/);
  assert.throws(() => model.forward([[]]), /expected at least one sequence of at least one token/);
  assert.throws(() => model.forward([]), /expected at least one sequence/);
  assert.throws(() => model.forward([[1, 2], [3]]), /inputIds\[1\] has length 1, expected 2/);
  assert.throws(() => model.forward([[1]], { logits: 'first' as any }), /logits = "first"/);
  const st = model.emptyState(2);
  assert.throws(() => model.step([1], st), /state\[0\]\.c \(mLSTM block 0\) is f32 \[2, /);
  assert.throws(() => model.step([V + 3, 1], st), /tokenIds\[0\]\[0\] = \d+ is not a token id/);
  assert.throws(() => model.step([1, 1], st.slice(1)), /array of \d+ block states/);
  assert.throws(() => model.emptyState(0), /B = 0/);
  disposeState(st);
});

test('weights: wrong shape, missing tensor and bad config fail whole, naming tensor/file/shapes', async () => {
  const src = parseSafetensors(readFileSync(join(DIR, 'model.safetensors')));
  const all: Record<string, Tensor> = {};
  for (const n of src.names()) all[n] = src.read(n) as Tensor;
  const name = 'xlstm_block_stack.blocks.0.xlstm.q_proj.weight';
  const bad = { ...all, [name]: new Tensor('f32', [3, 3], new Float32Array(9)) };
  const dir = mkdtempSync(join(tmpdir(), 'xlstmlm-'));
  try {
    copyFileSync(join(DIR, 'config.json'), join(dir, 'config.json'));
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(bad));
    const before = be.heap.bytesInUse;
    await assert.rejects(XLSTMLMModel.fromPretrained(dir, { backend: be }),
      (e: Error) => e.message.includes(name) && e.message.includes('expected shape [') && e.message.includes('file has [3, 3]') && e.message.includes('model.safetensors'));
    const { [name]: _drop, ...missing } = all;
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(missing));
    await assert.rejects(XLSTMLMModel.fromPretrained(dir, { backend: be }), new RegExp(`missing tensor ${name.replace(/\./g, '\\.')}`));
    assert.equal(be.heap.bytesInUse, before, 'nothing left allocated');
    rmSync(join(dir, 'config.json'));
    writeFileSync(join(dir, 'config.yaml'), `model:\n  vocab_size: 7\n  slstm_block:\n    slstm:\n      backend: metal\n`);
    await assert.rejects(XLSTMLMModel.fromPretrained(dir, { backend: be }), /backend = "metal"/);
    rmSync(join(dir, 'config.yaml'));
    await assert.rejects(XLSTMLMModel.fromPretrained(dir, { backend: be }), /no config\.json, config\.yaml or config\.yml/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
  // fromSource with a tied head: lm_head.weight is not needed
  const { ['lm_head.weight']: _h, ...noHead } = all;
  const tied = await XLSTMLMModel.fromSource(parseSafetensors(serializeSafetensors(noHead)), { ...c.config, tie_weights: true }, { backend: be });
  assert.equal(tied.weights.lmHead, tied.weights.embedding);
  const r = tied.forward([[1, 2, 3]]);
  assert.deepEqual(r.logits.shape, [1, 3, model.vocabSize]);
  r.logits.dispose(); disposeState(r.state); tied.dispose();
});

test('config variants (no conv, bias, cuda sLSTM layout, other FFN acts, no post norm, all-sLSTM): forward == steps', async () => {
  const { xlstmLmTensorSpecs } = await import('../../src/models/xlstmLm/index.js');
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
  const variants: object[] = [
    { mlstm_block: { mlstm: { conv1d_kernel_size: 2, num_heads: 2 } }, slstm_block: { slstm: { conv1d_kernel_size: 0, backend: 'cuda', num_heads: 2 }, feedforward: { act_fn: 'swish' } }, bias: true, add_post_blocks_norm: false, slstm_at: [0] },
    { mlstm_block: null, slstm_block: { slstm: { backend: 'vanilla', num_heads: 4, group_norm_weight: false }, feedforward: { act_fn: 'selu', bias: true } }, tie_weights: true },
    { mlstm_block: { mlstm: { qkv_proj_blocksize: 8 } }, slstm_block: { slstm: { backend: 'vanilla' }, feedforward: { act_fn: 'relu^2' } }, slstm_at: [1] },
  ];
  for (const v of variants) {
    const cfg = resolveXLSTMLMConfig({ embedding_dim: 32, num_blocks: 2, vocab_size: 11, context_length: 8, ...v });
    const tensors: Record<string, Tensor> = {};
    for (const s of xlstmLmTensorSpecs(cfg)) {
      const n = s.shape.reduce((a, d) => a * d, 1);
      tensors[s.name] = new Tensor('f32', s.shape, Float32Array.from({ length: n }, () => rnd() * (s.name.endsWith('_bias_') ? 2 : 0.5)));
    }
    const m = await XLSTMLMModel.fromSource(parseSafetensors(serializeSafetensors(tensors)), cfg, { backend: be });
    const x = [[1, 5, 9, 2, 0, 7, 3], [4, 4, 10, 6, 8, 1, 2]];
    const f = m.forward(x);
    const s = stepAll(m, x);
    assertClose(`variant ${JSON.stringify(v)}`, s.logits, f.logits.data as Float32Array, 5e-5);
    f.logits.dispose(); disposeState(f.state); disposeState(s.state); m.dispose();
  }
});

test('headwiseLinear: the batched-GEMM path (large heads) equals the loop, with bias and an output stride', async () => {
  const { headwiseLinear } = await import('../../src/models/xlstmLm/index.js');
  const [NH, O, D, R] = [3, 40, 32, 9];
  const f = (n: number, k: number) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * k) * 0.5);
  const w = be.upload(new Tensor('f32', [NH, O, D], f(NH * O * D, 0.37)));
  const bias = be.upload(new Tensor('f32', [NH * O], f(NH * O, 1.3)));
  const x = f(R * NH * D, 0.11);
  const stride = NH * O + 5;
  const a = new Float32Array(R * stride), g = new Float32Array(R * stride);
  headwiseLinear(x, { w, bias }, a, stride, 5);
  headwiseLinear(x, { w, bias }, g, stride, 5, be);
  assertClose('headwise gemm vs loop', g, a, 1e-5);
  assert.ok(a.some((v) => v !== 0));
  w.dispose(); bias.dispose();
});
