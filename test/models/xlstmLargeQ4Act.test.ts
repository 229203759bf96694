// xLSTM Large with q4 weights decoding with 8-bit (Q8_0) against 16-bit activations:
// the golden checkpoint decoded token by token (steps run the GEMV, which is where x is
// rounded) in f32, q4 with x16 and q4 with x8. The 8-bit rounding must add little to
// what the 4-bit weights already change: stated tolerances below, sizes from the fixture.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Q4Weight } from '../../src/tensor/quant.js';
import { XLSTMLarge } from '../../src/models/xlstmLarge/index.js';
import type { XLSTMLargeLoadOptions } from '../../src/models/xlstmLarge/index.js';
import { ArgumentError } from '../../src/errors.js';
import { loadLanguageModel } from '../../src/models/auto.js';
import { loadCase, FIXTURES, GoldenCase } from '../helpers/golden.js';

let be: WasmBackend;
let c: GoldenCase;
const dir = () => join(FIXTURES, 'xlstm_large');

before(async () => {
  try { (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* not V8 */ }
  be = await WasmBackend.create({ threads: 2 });
  c = loadCase('xlstm_large');
});
after(() => { be?.dispose(); });

/** Logits of decoding every row of input_ids one token per step, [B * S][V] in step order. */
async function decode(opts: Partial<XLSTMLargeLoadOptions>): Promise<{ logits: Float32Array[]; bits?: number }> {
  const [B, S] = c.shape('input_ids');
  const d = c.io.get('input_ids')!.data as BigInt64Array;
  const m = await XLSTMLarge.fromPretrained(dir(), { backend: be, ...opts });
  try {
    // a matrix whose rows are not a multiple of 32 long loads as int8: take the first Q4 one
    const b0 = m.weights.blocks[0];
    const w = [b0.qkvo, b0.projDown, m.weights.lmHead].find((x) => x instanceof Q4Weight);
    const st = m.emptyState(B);
    const logits: Float32Array[] = [];
    for (let s = 0; s < S; s++) {
      const r = m.step(Array.from({ length: B }, (_, b) => Number(d[b * S + s])), st);
      logits.push((r.logits.data as Float32Array).slice());
      r.logits.dispose();
    }
    return { logits, bits: w instanceof Q4Weight ? w.activationBits : undefined };
  } finally { m.dispose(); }
}

function diff(a: Float32Array[], b: Float32Array[], V: number): { relRms: number; maxAbs: number; top1: number; flips: number } {
  let d2 = 0, r2 = 0, maxAbs = 0, agree = 0, rows = 0;
  for (let s = 0; s < a.length; s++) {
    for (let o = 0; o < a[s].length; o += V) {
      let ia = o, ib = o;
      rows++;
      for (let i = o; i < o + V; i++) {
        const d = a[s][i] - b[s][i];
        d2 += d * d; r2 += b[s][i] * b[s][i]; maxAbs = Math.max(maxAbs, Math.abs(d));
        if (a[s][i] > a[s][ia]) ia = i;
        if (b[s][i] > b[s][ib]) ib = i;
      }
      if (ia === ib) agree++;
    }
  }
  return { relRms: Math.sqrt(d2 / r2), maxAbs, top1: agree / rows, flips: rows - agree };
}

test('q4 decode with 8-bit activations: within the stated tolerance of the 16-bit activations and of f32', async () => {
  const V = c.config.vocab_size as number;
  const f32 = await decode({ dtype: 'f32' });
  const x16 = await decode({ dtype: 'q4', q4ActivationBits: 16 });
  const x8 = await decode({ dtype: 'q4' });
  assert.equal(x16.bits, 16);
  assert.equal(x8.bits, 8, 'the default is 8-bit activations');
  const e8 = diff(x8.logits, f32.logits, V), e16 = diff(x16.logits, f32.logits, V), d = diff(x8.logits, x16.logits, V);
  const msg = JSON.stringify({ x8VsF32: e8, x16VsF32: e16, x8VsX16: d });
  // Tolerances. Measured on the golden checkpoint (B x S = 48 steps): x8 vs x16 relative RMS
  // 0.0070, top-1 agreement 97.9%; the q4 weights alone move the logits by 0.132 from f32
  // (x8: 0.1320, x16: 0.1318). One 8-bit step of x is 1/254 of its block's max, one 4-bit step
  // of w 1/16 of its block's max, so x8 should add about 0.06 of the weights' change: allowed
  // 0.15 of it, the error vs f32 at most 10% above x16's, and top-1 agreement >= 85% (or a
  // single step differing, for short inputs).
  assert.ok(d.relRms > 0, `x8 must differ from x16: ${msg}`);
  assert.ok(d.relRms <= 0.15 * e16.relRms, `x8 vs x16 relative RMS ${d.relRms} > 0.15 x (x16 vs f32) ${0.15 * e16.relRms}: ${msg}`);
  assert.ok(e8.relRms <= 1.1 * e16.relRms, `x8 vs f32 ${e8.relRms} > 1.1 x (x16 vs f32) ${e16.relRms}: ${msg}`);
  assert.ok(d.top1 >= 0.85 || d.flips <= 1, `x8 and x16 agree on the top token in ${d.top1 * 100}% of steps (< 85%, and more than one step differs): ${msg}`);
});

test('q4ActivationBits reaches the weights through loadLanguageModel', async () => {
  for (const bits of [16, 8] as const) {
    const m = await loadLanguageModel(dir(), { backend: be, dtype: 'q4', q4ActivationBits: bits }) as XLSTMLarge;
    try {
      const q4 = [m.weights.blocks[0].qkvo, m.weights.blocks[0].projDown, m.weights.lmHead].filter((w) => w instanceof Q4Weight);
      assert.ok(q4.length > 0, 'some matrices load as q4');
      for (const w of q4) assert.equal((w as Q4Weight).activationBits, bits);
    } finally { m.dispose(); }
  }
});

test('q4ActivationBits: a bad value is refused before loading, naming the option', async () => {
  await assert.rejects(XLSTMLarge.fromPretrained(dir(), { backend: be, dtype: 'q4', q4ActivationBits: 4 as never }),
    (e: Error) => e instanceof ArgumentError && /q4ActivationBits is 4, expected 8 or 16/.test(e.message));
});
