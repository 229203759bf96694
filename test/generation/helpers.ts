// Shared setup for the generation tests: the xLSTM Large golden model behind the
// LanguageModel interface, golden ids, a toy tokenizer over its 101-token vocabulary.
import { join } from 'node:path';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { XLSTMLarge } from '../../src/models/xlstmLarge/index.js';
import type { LanguageModel, ModelState } from '../../src/models/languageModel.js';
import type { GenerationTokenizer } from '../../src/generation/index.js';
import { FIXTURES, GoldenCase } from '../helpers/golden.js';

/**
 * The model as a LanguageModel. XLSTMLarge is gaining modelType / vocabSize / logits:'last'
 * concurrently; this adapter supplies what it lacks and passes everything else through.
 */
export function asLanguageModel(m: XLSTMLarge): LanguageModel & { config: unknown } {
  const raw = m as unknown as Record<string, unknown>;
  return {
    modelType: typeof raw.modelType === 'string' ? raw.modelType : 'xlstm-large',
    vocabSize: m.config.vocab_size,
    backend: m.backend,
    config: m.config,
    emptyState: (B: number) => m.emptyState(B) as unknown as ModelState,
    forward: (ids, o = {}) => {
      const r = (m.forward as (i: number[][], o: object) => { logits: any; state: any })(ids, o);
      return { logits: r.logits, state: r.state as ModelState };
    },
    step: (ids, st) => {
      const r = m.step(ids, st as never);
      return { logits: r.logits, state: r.state as unknown as ModelState };
    },
  };
}

export async function loadModel(name: 'xlstm_large' | 'xlstm_large_hf'): Promise<{ be: WasmBackend; raw: XLSTMLarge; model: LanguageModel & { config: unknown } }> {
  const be = await WasmBackend.create({ threads: 1 });
  const raw = await XLSTMLarge.fromPretrained(join(FIXTURES, name), { backend: be });
  return { be, raw, model: asLanguageModel(raw) };
}

/** An I64 [B, S] golden tensor as number[][]. */
export function goldenIds(g: GoldenCase, name: string): number[][] {
  const [B, S] = g.shape(name);
  const d = g.io.get(name)!.data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => Number(d[b * S + s])));
}

/**
 * Token t <-> one character for t < 62 (a-z, A-Z, 0-9), "<t>" above; encode reads that
 * back. Enough to test text, stop strings and deltas with a real model.
 */
export function toyTokenizer(V: number): GenerationTokenizer {
  const piece = (t: number): string => {
    if (t < 0 || t >= V) throw new RangeError(`toy tokenizer: id ${t}`);
    if (t < 26) return String.fromCharCode(97 + t);
    if (t < 52) return String.fromCharCode(65 + t - 26);
    if (t < 62) return String.fromCharCode(48 + t - 52);
    return `<${t}>`;
  };
  return {
    decode: (ids) => ids.map(piece).join(''),
    encode: (text) => {
      const out: number[] = [];
      for (let i = 0; i < text.length;) {
        if (text[i] === '<') { const j = text.indexOf('>', i); out.push(Number(text.slice(i + 1, j))); i = j + 1; continue; }
        const c = text.charCodeAt(i++);
        out.push(c >= 97 ? c - 97 : c >= 65 ? c - 65 + 26 : c - 48 + 52);
      }
      return out;
    },
  };
}

/** log-softmax of one logits row at `token`, in float64 (independent of src/generation). */
export function logprobF64(row: ArrayLike<number>, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - max);
  return row[token] - max - Math.log(s);
}
