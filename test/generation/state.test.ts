// States as values on the xLSTM Large golden model: select / stack / fork, save to bytes
// and load back (continuing with identical logits), and the compatibility errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import type { XLSTMLarge } from '../../src/models/xlstmLarge/index.js';
import type { LanguageModel, ModelState } from '../../src/models/languageModel.js';
import { readFileSync } from 'node:fs';
import { parseSafetensors } from '../../src/io/safetensors.js';
import {
  stateLeaves, selectRows, stackStates, cloneState, disposeState, saveState, loadState, readStateInfo, stateFingerprint, STATE_FORMAT,
} from '../../src/generation/index.js';
import { loadCase, GoldenCase } from '../helpers/golden.js';
import { loadModel, goldenIds } from './helpers.js';

let be: WasmBackend, raw: XLSTMLarge, model: LanguageModel & { config: unknown }, c: GoldenCase;
before(async () => {
  ({ be, raw, model } = await loadModel('xlstm_large'));
  c = loadCase('xlstm_large');
});
after(() => { raw?.dispose(); be?.dispose(); });

const values = (s: ModelState) => stateLeaves(s).map((l) => ({ path: l.path, shape: [...l.tensor.shape], data: Array.from(l.tensor.data as Float32Array) }));
/** Logits of `tokens` fed one step at a time from `state` (updated in place). */
const stepLogits = (s: ModelState, tokens: number[][]) => tokens.map((t) => { const r = model.step(t, s); const d = Float32Array.from(r.logits.data as Float32Array); r.logits.dispose(); return d; });

test('selectRows / stackStates / cloneState copy rows exactly; clones are independent', () => {
  const input = goldenIds(c, 'input_ids');
  const st = model.forward(input).state;
  const B = input.length;
  const leaves = stateLeaves(st);
  assert.deepEqual(leaves.map((l) => l.path), Array.from({ length: c.config.num_blocks }, (_, b) => ['c', 'n', 'm'].map((k) => `${b}.${k}`)).flat());
  const swapped = stackStates(model, [selectRows(model, st, [B - 1]), selectRows(model, st, [0])]);
  for (const { path, tensor } of stateLeaves(swapped)) {
    const src = leaves.find((l) => l.path === path)!.tensor, n = src.size / B;
    assert.deepEqual(Array.from((tensor.data as Float32Array).subarray(0, n)), Array.from((src.data as Float32Array).subarray((B - 1) * n)));
    assert.deepEqual(Array.from((tensor.data as Float32Array).subarray(n)), Array.from((src.data as Float32Array).subarray(0, n)));
  }
  const fork = cloneState(model, st);
  assert.deepEqual(values(fork), values(st));
  const next = input.map((r) => [r[0]]).map((x) => x[0]);
  const a = stepLogits(st, [next, next]);
  assert.notDeepEqual(values(fork), values(st)); // stepping the original left the fork alone
  const b2 = stepLogits(fork, [next, next]);
  assert.deepEqual(b2, a); // and the fork continues identically
  assert.throws(() => selectRows(model, st, [B]), new RegExp(`row ${B} is outside the state's batch of ${B}`));
  assert.throws(() => selectRows(model, st, []), /no rows selected/);
  [st, swapped, fork].forEach(disposeState);
});

test('saveState / loadState: a restored state continues with identical logits', () => {
  const input = goldenIds(c, 'input_ids');
  const st = model.forward(input.map((r) => r.slice(0, 10))).state;
  const bytes = saveState(model, st, { metadata: { prompt: 'golden input_ids[:, :10]' } });
  // plain safetensors: leaf paths as names, F32 with the batch first, our metadata
  const sf = parseSafetensors(bytes);
  assert.equal(sf.metadata.format, STATE_FORMAT);
  assert.equal(sf.metadata.version, '1');
  assert.equal(sf.metadata.modelType, model.modelType);
  assert.equal(sf.metadata.vocabSize, String(c.config.vocab_size));
  assert.equal(sf.metadata.batch, String(input.length));
  assert.equal(sf.metadata['user.prompt'], 'golden input_ids[:, :10]');
  assert.equal(sf.metadata.fingerprint, stateFingerprint(model));
  assert.deepEqual(sf.info('1.c'), { dtype: 'f32', shape: [input.length, c.config.num_heads, c.meta.derived_dims.qk_head_dim, c.meta.derived_dims.v_head_dim], byteLength: sf.info('1.c').byteLength });
  const info = readStateInfo(bytes);
  assert.equal(info.batch, input.length);
  assert.deepEqual(info.metadata, { prompt: 'golden input_ids[:, :10]' });
  assert.equal((info.config as { chunk_size: number }).chunk_size, c.config.chunk_size);
  const back = loadState(model, bytes);
  assert.deepEqual(values(back), values(st));
  const toks = [10, 11, 12].map((t) => input.map((r) => r[t]));
  assert.deepEqual(stepLogits(back, toks), stepLogits(st, toks));
  // saving is deterministic
  assert.deepEqual(saveState(model, back, { metadata: { prompt: 'golden input_ids[:, :10]' } }), saveState(model, st, { metadata: { prompt: 'golden input_ids[:, :10]' } }));
  [st, back].forEach(disposeState);
});

test('loadState names what does not match: model type, vocabulary, config, layout, not a state file', () => {
  const st = model.emptyState(1);
  const bytes = saveState(model, st);
  assert.throws(() => loadState({ ...model, modelType: 'xlstm-lm' }, bytes), new RegExp(`saved from a model of type "${model.modelType}", this model is "xlstm-lm"`));
  assert.throws(() => loadState({ ...model, vocabSize: 7 }, bytes), new RegExp(`saved from a model with vocabSize ${c.config.vocab_size}, this model has 7`));
  const other = { ...model, config: { ...(model.config as object), chunk_size: 32 } };
  assert.throws(() => loadState(other, bytes), /differently configured model .*config differs in chunk_size: saved 64, model 32 \(pass checkConfig: false/);
  const loose = loadState(other, bytes, { checkConfig: false });
  assert.deepEqual(values(loose), values(st));
  disposeState(loose);
  // a model whose state has other leaves
  const smaller = { ...model, emptyState: (B: number) => (model.emptyState(B) as ModelState[]).slice(0, 1) };
  assert.throws(() => loadState(smaller, bytes), /the state file has leaves this model's state does not have: '1.c', '1.m', '1.n'/);
  assert.throws(() => loadState(model, saveState(smaller, smaller.emptyState(1))), /the state file has no leaf '1.c'/);
  assert.throws(() => saveState(model, { h: st } as never), /saveState: state has no leaf '0.c'/);
  assert.throws(() => loadState(model, parseSafetensorsBytes()), /not an xlstm-ts state file \(__metadata__.format = undefined/);
  disposeState(st);
});

/** An ordinary safetensors file without our metadata (the golden io file). */
function parseSafetensorsBytes(): Uint8Array { return new Uint8Array(readFileSync(`${c.dir}/io.safetensors`)); }
