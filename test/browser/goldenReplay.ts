// Replays golden cases (test/fixtures/<case>) against a given build of the library, with
// the same calls and tolerances as the Node golden tests (test/xlstm/mlstm-wasm.test.ts,
// test/xlstm/slstm.test.ts, test/models/xlstmLarge.test.ts, test/models/tirex.test.ts).
// The same compiled file runs in Node (library from dist/src) and in Chromium (library
// from dist/browser/xlstm.js), so it imports nothing at run time: the library and the
// case's files are passed in. Every shape and size comes from the fixture files.
import type * as XlstmLib from '../../src/browser.js';
import { compare as compareValues } from '../helpers/goldenCompare.js';

export type Lib = typeof XlstmLib;
type Backend = XlstmLib.WasmBackend;
type Tensor = XlstmLib.Tensor;

export const GOLDEN_CASES = ['mlstm_kernels_basic', 'slstm_cell', 'xlstm_large', 'tirex'] as const;

/** The bytes and JSON of one case, however they were read (fs in Node, fetch in a page). */
export interface CaseFiles { io: Uint8Array; config: any; meta: any; model?: Uint8Array }

interface IoTensor { dtype: string; shape: number[]; data: Float32Array | BigInt64Array }

/** One compared output: the numbers we computed and how far they are from the official ones. */
export interface Check {
  name: string;
  atol: number;
  rtol: number;
  maxAbs: number;
  /** First index outside atol + rtol*|expected|, or -1. */
  bad: number;
  got?: number;
  expected?: number;
  values: Float32Array;
}

export interface CaseResult {
  name: string;
  checks: Check[];
  /** Outputs meta.json lists, where the case says how many the replay must cover. */
  expectedOutputs?: number;
  threads: number;
}

/**
 * The io.safetensors reader of test/helpers/golden.ts on bytes instead of a path: kept
 * apart from src/io, so a bug in the library's reader cannot hide a parity failure.
 */
export function parseGoldenSafetensors(bytes: Uint8Array, label: string): Map<string, IoTensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const base = 8 + n;
  const out = new Map<string, IoTensor>();
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = info.data_offsets;
    // An aligned copy (not bytes.slice: a Node Buffer's slice is a view of a shared pool).
    const copy = new Uint8Array(bytes.subarray(base + b, base + e));
    let data: Float32Array | BigInt64Array;
    if (info.dtype === 'F32') data = new Float32Array(copy.buffer, 0, copy.length / 4);
    else if (info.dtype === 'I64') data = new BigInt64Array(copy.buffer, 0, copy.length / 8);
    else throw new Error(`golden replay: unsupported dtype ${info.dtype} for ${name} in ${label}`);
    out.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return out;
}

/** The golden rule of test/helpers/golden.ts (one implementation, loadable in the page). */
export { compareValues };

class Recorder {
  readonly checks: Check[] = [];
  constructor(readonly io: Map<string, IoTensor>, readonly meta: any, readonly caseName: string) {}
  get(name: string): IoTensor {
    const t = this.io.get(name);
    if (!t) throw new Error(`golden ${this.caseName}: no tensor ${name} in io.safetensors`);
    return t;
  }
  f32(name: string): Float32Array { return this.get(name).data as Float32Array; }
  shape(name: string): number[] { return this.get(name).shape; }
  has(name: string): boolean { return this.io.has(name); }
  /** meta.json's tolerance for an output (as tol() in test/helpers/golden.ts). */
  tol(name: string): { atol: number; rtol: number } {
    const o = this.meta.outputs?.[name] ?? this.meta.tensors?.[name];
    if (!o) throw new Error(`golden ${this.caseName}: meta.json has no tolerance for ${name}`);
    const t = o.recommended_tolerance ?? {};
    const atol = o.recommended_atol ?? t.atol;
    if (typeof atol !== 'number') throw new Error(`golden ${this.caseName}: no atol for ${name}`);
    return { atol, rtol: o.recommended_rtol ?? t.rtol ?? 0 };
  }
  /** Compares `actual` with io tensor `expected`; `label` names the check (defaults to the tensor). */
  check(expected: string, actual: ArrayLike<number>, tol = this.tol(expected), label = expected): void {
    const exp = this.f32(expected);
    const { maxAbs, bad } = compareValues(actual, exp, tol.atol, tol.rtol);
    const c: Check = { name: label, atol: tol.atol, rtol: tol.rtol, maxAbs, bad, values: Float32Array.from(actual) };
    if (bad >= 0) { c.got = actual[bad]; c.expected = exp[bad]; }
    this.checks.push(c);
  }
}

function ids(r: Recorder, name: string): number[][] {
  const [B, S] = r.shape(name);
  const d = r.get(name).data as BigInt64Array;
  return Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => Number(d[b * S + s])));
}

function mlstmKernelsBasic(lib: Lib, be: Backend, r: Recorder): void {
  const T = (name: string) => new lib.Tensor('f32', r.shape(name), r.f32(name));
  const f32 = (t: Tensor) => t.data as Float32Array;
  const x = { q: T('q'), k: T('k'), v: T('v'), i: T('i'), f: T('f') };
  const initialState = r.has('c0') ? { c: T('c0'), n: T('n0'), m: T('m0') } : undefined;
  const state = (p: string, st: XlstmLib.MlstmState | undefined) => {
    if (!st) throw new Error(`${p}: no state returned`);
    r.check(p + '__c', f32(st.c)); r.check(p + '__n', f32(st.n)); r.check(p + '__m', f32(st.m));
  };
  const sizes = (base: string) => [...r.io.keys()].map((k) => new RegExp(`^${base}(\\d+)__h$`).exec(k)).filter((m) => m).map((m) => Number(m![1]));
  const rec = lib.mlstmRecurrent(be, x, { initialState, returnState: true });
  r.check('recurrent__h', f32(rec.h)); state('recurrent', rec.state);
  if (r.has('parallel__h')) {
    const p = lib.mlstmParallel(be, x, { returnVecs: true });
    r.check('parallel__h', f32(p.h));
    if (r.has('parallel__vecN')) { r.check('parallel__vecN', f32(p.vecN!)); r.check('parallel__vecM', f32(p.vecM!)); }
    if (r.has('parallel_stablef__h')) r.check('parallel_stablef__h', f32(p.h));
  }
  for (const cs of sizes('chunkwise')) {
    const p = `chunkwise${cs}`;
    const o = lib.mlstmChunkwise(be, x, { chunkSize: cs, initialState, returnState: true, returnVecs: true });
    r.check(p + '__h', f32(o.h)); state(p, o.state);
    if (r.has(p + '__vecN')) { r.check(p + '__vecN', f32(o.vecN!)); r.check(p + '__vecM', f32(o.vecM!)); }
  }
  for (const cs of sizes('arbitrary')) {
    const p = `arbitrary${cs}`;
    const o = lib.mlstmPrefill(be, x, { chunkSize: cs, initialState, returnState: true });
    r.check(p + '__h', f32(o.h)); state(p, o.state);
  }
  for (const cs of sizes('padzeros')) r.check(`padzeros${cs}__h`, f32(lib.mlstmPrefill(be, x, { chunkSize: cs }).h));
  if (r.has('step__q')) {
    // copies: mlstmStep writes the new state back into its state tensors
    const Tc = (nm: string) => new lib.Tensor('f32', r.shape(nm), r.f32(nm).slice());
    const st = { c: Tc('step__c0'), n: Tc('step__n0'), m: Tc('step__m0') };
    const s = lib.mlstmStep(be, { q: T('step__q'), k: T('step__k'), v: T('step__v'), i: T('step__i'), f: T('step__f') }, st);
    r.check('step__out_h', f32(s.h)); r.check('step__out_c', f32(st.c)); r.check('step__out_n', f32(st.n)); r.check('step__out_m', f32(st.m));
  }
}

function slstmCell(lib: Lib, be: Backend, r: Recorder, config: any, model: Map<string, IoTensor>): void {
  const T = (name: string) => new lib.Tensor('f32', r.shape(name), r.f32(name));
  const M = (name: string) => {
    const m = model.get(name);
    if (!m) throw new Error(`golden slstm_cell: no tensor ${name} in model.safetensors`);
    return new lib.Tensor('f32', m.shape, m.data as Float32Array);
  };
  const numHeads: number = config.num_heads;
  const variants = [...r.io.keys()].filter((k) => k.endsWith('__x')).map((k) => k.slice(0, -3)).sort();
  if (variants.length === 0) throw new Error('golden slstm_cell: no <variant>__x inputs');
  const params = {
    vanilla: lib.loadSlstmParams({ recurrentKernel: M('_recurrent_kernel_'), bias: M('_bias_'), numHeads, layout: 'vanilla' }),
    cuda: lib.loadSlstmParams({ recurrentKernel: T('recurrent_kernel_cuda_layout'), bias: T('bias_cuda_layout'), numHeads, layout: 'cuda' }),
  };
  for (const [layout, p] of Object.entries(params)) {
    for (const v of variants) {
      const s0 = r.has(`${v}__state0`) ? T(`${v}__state0`) : undefined;
      for (const threads of [...new Set([1, be.threads])]) {
        const o = lib.slstmForward(be, T(`${v}__x`), p, { initialState: s0, returnAllStates: true, threads });
        const tag = ` [${layout}, ${threads} thread${threads > 1 ? 's' : ''}]`;
        r.check(`${v}__y`, o.y.data as Float32Array, undefined, `${v}__y${tag}`);
        r.check(`${v}__state_final`, o.state.data as Float32Array, undefined, `${v}__state_final${tag}`);
        r.check(`${v}__states_all`, o.statesAll!.data as Float32Array, undefined, `${v}__states_all${tag}`);
      }
    }
  }
}

async function xlstmLarge(lib: Lib, be: Backend, r: Recorder, config: any, modelBytes: Uint8Array): Promise<void> {
  const model = await lib.XLSTMLarge.fromSource(lib.parseSafetensors(modelBytes, { source: 'xlstm_large/model.safetensors' }), config, { backend: be });
  try {
    const input = ids(r, 'input_ids');
    const [B, S] = r.shape('input_ids');
    const V: number = config.vocab_size;
    const fwd = model.forward(input);
    r.check('logits', fwd.logits.data as Float32Array);
    fwd.state.forEach((s, b) => { for (const k of ['c', 'n', 'm'] as const) r.check(`state__block_${b}__${k}`, s[k].data as Float32Array); });
    const st = model.emptyState(B);
    const out = new Float32Array(B * S * V);
    for (let t = 0; t < S; t++) {
      const o = model.step(input.map((row) => row[t]), st);
      for (let b = 0; b < B; b++) out.set((o.logits.data as Float32Array).subarray(b * V, (b + 1) * V), (b * S + t) * V);
    }
    r.check('logits_step', out);
    const [, n] = r.shape('gen_tokens');
    const g = model.generate(ids(r, 'gen_prompt_ids'), { maxLength: n, returnLogits: true });
    const tokens = g.tokens.flat();
    const expected = ids(r, 'gen_tokens').flat();
    const { bad } = compareValues(tokens, expected, 0, 0);
    r.checks.push({ name: 'gen_tokens', atol: 0, rtol: 0, maxAbs: bad < 0 ? 0 : Infinity, bad, values: Float32Array.from(tokens), ...(bad >= 0 ? { got: tokens[bad], expected: expected[bad] } : {}) });
    r.check('gen_step_logits', g.logits!.data as Float32Array);
    g.state.forEach((s, b) => { for (const k of ['c', 'n', 'm'] as const) r.check(`gen_state__block_${b}__${k}`, s[k].data as Float32Array); });
  } finally { model.dispose(); }
}

async function tirex(lib: Lib, be: Backend, r: Recorder, config: any, modelBytes: Uint8Array): Promise<void> {
  const sft = lib.parseSafetensors(modelBytes, { source: 'tirex/model.safetensors' });
  const tensors = new Map(sft.names().map((n) => [n, sft.read(n)] as const));
  const rt = r.meta.recommended_tolerance;
  // As test/models/tirex.test.ts: the scaler/window tensors carry the golden index's 1e-6.
  const tolInputs = { atol: 1e-6, rtol: 1e-6 };
  const tolQuant = { atol: rt.quantiles_atol as number, rtol: rt.quantiles_rtol as number };
  const tolHidden = { atol: rt.step0_hidden_states_atol as number, rtol: 0 };
  const tolPreds = { atol: rt.step0_quantile_preds_atol as number, rtol: 0 };
  const seriesOf = (prefix: string) => {
    const names = [...r.io.keys()].filter((k) => new RegExp(`^${prefix}\\d+$`).test(k));
    names.sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)));
    return names.map((nm) => r.f32(nm));
  };
  const contexts = seriesOf('context_');
  const edge = seriesOf('edge_context_');
  const m = await lib.TiRex.fromTensors(config, tensors, { backend: be });
  try {
    const s0 = m.forwardTokens(contexts);
    r.check('step0_context_window', s0.contextWindow, tolInputs);
    r.check('step0_loc', s0.loc, tolInputs);
    r.check('step0_scale', s0.scale, tolInputs);
    r.check('step0_tokens', s0.tokens, tolInputs);
    r.check('step0_hidden_states', s0.hiddenStates, tolHidden);
    r.check('step0_quantile_preds', s0.quantilePreds, tolPreds);
    const H = r.shape('quantiles')[1];
    // the golden files hold the model's raw outputs; forecast sorts the levels by default
    const f = m.forecast(contexts, { predictionLength: H, rawQuantiles: true });
    r.check('quantiles', f.quantileData, tolQuant);
    r.check('mean', f.meanData, tolQuant);
    const a2 = m.forecast(contexts, { predictionLength: H, maxAcceleratedRolloutSteps: 2, rawQuantiles: true });
    r.check('quantiles_accel2', a2.quantileData, tolQuant);
    r.check('mean_accel2', a2.meanData, tolQuant);
    const fe = m.forecast(edge, { predictionLength: r.shape('edge_quantiles')[1], rawQuantiles: true });
    r.check('edge_quantiles', fe.quantileData, tolQuant);
    r.check('edge_mean', fe.meanData, tolQuant);
  } finally { m.dispose(); }
}

/** Runs one golden case on `be` and returns every comparison (it never throws on a mismatch). */
export async function replayCase(lib: Lib, be: Backend, name: string, files: CaseFiles): Promise<CaseResult> {
  const r = new Recorder(parseGoldenSafetensors(files.io, `${name}/io.safetensors`), files.meta, name);
  const needModel = () => {
    if (!files.model) throw new Error(`golden ${name}: model.safetensors not given`);
    return files.model;
  };
  let expectedOutputs: number | undefined;
  switch (name) {
    case 'mlstm_kernels_basic':
      mlstmKernelsBasic(lib, be, r);
      expectedOutputs = Object.keys(files.meta.outputs ?? files.meta.tensors ?? {}).filter((k) => k.includes('__')).length;
      break;
    case 'slstm_cell': slstmCell(lib, be, r, files.config, parseGoldenSafetensors(needModel(), `${name}/model.safetensors`)); break;
    case 'xlstm_large': await xlstmLarge(lib, be, r, files.config, needModel()); break;
    case 'tirex': await tirex(lib, be, r, files.config, needModel()); break;
    default: throw new Error(`golden replay: unknown case ${name}`);
  }
  return { name, checks: r.checks, expectedOutputs, threads: be.threads };
}

/** Float32 values as base64 (little-endian bytes), to carry them out of a page. */
export function f32ToBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function base64ToF32(b64: string): Float32Array {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
