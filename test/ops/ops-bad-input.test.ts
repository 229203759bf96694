// Bad inputs: every error names the op, the argument, and expected vs actual.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import * as ew from '../../src/ops/elementwise.js';
import { softmax } from '../../src/ops/softmax.js';
import { sum, mean, argmax, cumsum } from '../../src/ops/reduce.js';
import { rmsNorm, layerNorm, groupNorm } from '../../src/ops/norm.js';
import { causalConv1d, causalConv1dStep, CausalConv1dWeight } from '../../src/ops/conv.js';
import { embedding } from '../../src/ops/embedding.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';

const be = await WasmBackend.create({ threads: 1 });
after(() => be.dispose());
const f = (shape: number[]) => Tensor.zeros(shape, 'f32');

function throwsWith(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let msg = '';
  try { fn(); } catch (e) { msg = (e as Error).message; }
  assert.ok(msg, `expected an error mentioning ${parts.join(', ')}`);
  for (const p of parts) assert.ok(typeof p === 'string' ? msg.includes(p) : p.test(msg), `error "${msg}" should mention ${p}`);
}

test('elementwise: dtype, broadcasting, out, numbers', () => {
  throwsWith(() => ew.add(be, Tensor.zeros([2, 3], 'i32'), f([2, 3])), 'add', 'a', 'f32', 'i32');
  throwsWith(() => ew.mul(be, f([2, 3]), Tensor.zeros([3], 'bf16')), 'mul', 'b', 'f32', 'bf16');
  throwsWith(() => ew.sub(be, f([2, 3]), f([2])), 'sub', '[2]', '[2, 3]', 'broadcast');
  throwsWith(() => ew.add(be, f([2, 3]), f([3, 3])), '[3, 3]', '[2, 3]');
  throwsWith(() => ew.add(be, f([3]), f([2, 3])), '[2, 3]', '[3]');
  throwsWith(() => ew.add(be, f([2, 3]), f([2, 3]), be.empty([3, 2])), 'add', 'out', '[2, 3]', '[3, 2]');
  throwsWith(() => ew.add(be, f([2, 3]), f([2, 3]), f([2, 3])), 'out', 'heap');
  throwsWith(() => ew.add(be, f([2, 3]), NaN), 'add', 'b', 'NaN');
  throwsWith(() => ew.scale(be, f([2]), Infinity), 'scale', 's', 'Infinity');
  throwsWith(() => ew.scale(be, [1, 2] as unknown as Tensor, 2), 'scale', 'x', 'Tensor');
  throwsWith(() => ew.softcap(be, f([2]), 0), 'softcap', 'cap', '> 0', '0');
  throwsWith(() => ew.gelu(be, Tensor.zeros([2], 'f64')), 'gelu', 'x', 'f32', 'f64');
  throwsWith(() => ew.activation(be, 'swish' as ew.Activation, f([2])), 'swish', 'silu');
});

test('softmax and reductions: dtype, rank, empty rows', () => {
  throwsWith(() => softmax(be, Tensor.zeros([2, 3], 'f16')), 'softmax', 'x', 'f16');
  throwsWith(() => softmax(be, new Tensor('f32', [], new Float32Array(1))), 'softmax', 'x', 'rank >= 1', '[]');
  throwsWith(() => sum(be, new Tensor('f32', [], new Float32Array(1))), 'sum', 'rank >= 1');
  throwsWith(() => mean(be, f([3, 0])), 'mean', 'non-empty', '[3, 0]');
  throwsWith(() => argmax(be, f([2, 0])), 'argmax', 'non-empty');
  throwsWith(() => cumsum(be, Tensor.zeros([4], 'i32')), 'cumsum', 'x', 'i32');
  assert.deepEqual(Array.from(sum(be, f([2, 0])).data as Float32Array), [0, 0]); // empty sum is 0, as torch
});

test('norms: weight/bias shapes, eps, groups', () => {
  throwsWith(() => rmsNorm(be, f([2, 8]), { eps: 1e-6, weight: f([4]) }), 'rmsNorm', 'weight', '[8]', '[4]');
  throwsWith(() => layerNorm(be, f([2, 8]), { eps: 1e-5, bias: f([2, 8]) }), 'layerNorm', 'bias', '[8]', '[2, 8]');
  throwsWith(() => layerNorm(be, f([2, 8]), {} as never), 'layerNorm', 'eps', 'undefined');
  throwsWith(() => layerNorm(be, f([2, 8]), undefined as never), 'layerNorm', 'eps');
  throwsWith(() => rmsNorm(be, f([2, 8]), { eps: -1 }), 'rmsNorm', 'eps', '>= 0', '-1');
  throwsWith(() => rmsNorm(be, f([2, 8]), { eps: 1e-6, bias: f([8]) } as never), 'rmsNorm', 'bias');
  throwsWith(() => groupNorm(be, f([2, 10]), 4, { eps: 1e-5 }), 'groupNorm', '10', 'numHeads 4');
  throwsWith(() => groupNorm(be, f([2, 8]), 0, { eps: 1e-5 }), 'groupNorm', 'numHeads', '0');
  throwsWith(() => layerNorm(be, f([2, 8]), { eps: 1e-5, weight: Tensor.zeros([8], 'bf16') }), 'weight', 'f32', 'bf16');
});

test('causal conv: x rank, weight layout, bias, state', () => {
  throwsWith(() => causalConv1d(be, f([2, 8]), f([8, 1, 4])), 'causalConv1d', 'x', 'rank 3', '[2, 8]');
  throwsWith(() => causalConv1d(be, f([2, 5, 8]), f([4, 1, 8])), 'causalConv1d', 'weight', '[8, 1, K]', '[4, 1, 8]');
  throwsWith(() => causalConv1d(be, f([2, 5, 8]), f([8, 2, 4])), 'weight', '[8, 2, 4]');
  throwsWith(() => causalConv1d(be, f([2, 5, 8]), f([8, 0])), 'weight', 'K >= 1');
  throwsWith(() => causalConv1d(be, f([2, 5, 8]), f([8, 1, 4]), { bias: f([4]) }), 'bias', '[8]', '[4]');
  throwsWith(() => causalConv1d(be, f([2, 5, 8]), f([8, 1, 4]), { state: f([2, 3, 8]) }), 'state', '[2, 4, 8]', '[2, 3, 8]');
  throwsWith(() => causalConv1dStep(be, f([2, 8]), be.zeros([2, 4, 8]), f([8, 1, 3])), 'causalConv1dStep', 'state', '[2, 3, 8]', '[2, 4, 8]');
  throwsWith(() => causalConv1dStep(be, f([2, 8]), f([2, 4, 8]), f([8, 1, 4])), 'causalConv1dStep', 'state', 'heap');
  throwsWith(() => causalConv1dStep(be, f([2, 5, 8]), be.zeros([2, 4, 8]), f([8, 1, 4])), 'x', 'rank 2');
  throwsWith(() => CausalConv1dWeight.prepare(be, f([8, 2, 4])), 'CausalConv1dWeight.prepare', 'weight', '[C, 1, K]', '[8, 2, 4]');
  throwsWith(() => causalConv1dStep(be, f([2, 6]), be.zeros([2, 4, 6]), CausalConv1dWeight.prepare(be, f([8, 1, 4]))), 'causalConv1dStep', 'prepared for 8 channels', 'x has 6');
});

test('embedding: id dtype, out-of-range ids name the id and vocab size', () => {
  const table = f([10, 4]);
  throwsWith(() => embedding(be, Tensor.fromArray([1, 2]), table), 'embedding', 'ids', 'i32 or i64', 'f32');
  throwsWith(() => embedding(be, new Tensor('i32', [3], Int32Array.from([1, 10, 2])), table), 'embedding', 'ids[1] = 10', 'vocab size 10');
  throwsWith(() => embedding(be, new Tensor('i32', [2], Int32Array.from([0, -1])), table), 'ids[1] = -1', 'vocab size 10');
  throwsWith(() => embedding(be, new Tensor('i64', [2], BigInt64Array.from([3n, 1n << 40n])), table), `ids[1] = ${1n << 40n}`, 'vocab size 10');
  throwsWith(() => embedding(be, new Tensor('i32', [1], Int32Array.from([0])), f([10])), 'embedding', 'table', 'rank 2', '[10]');
  throwsWith(() => embedding(be, new Tensor('i32', [1], Int32Array.from([0])), Tensor.zeros([10, 4], 'i8')), 'table', 'f32 or bf16', 'i8');
});
