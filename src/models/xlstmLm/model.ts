// xLSTMLMModel (NX-AI/xlstm, xlstm_lm_model.py) in float32 on the wasm backend:
//   x = token_embedding(ids); per block: x += layer(LN(x)); [sLSTM blocks: x += ffn(LN(x))]
//   logits = lm_head(post_blocks_norm(x))
// forward() from scratch is the official forward (parallel mLSTM form, vanilla sLSTM
// recurrence) and also returns the state after the last token; forward() from a state
// continues it (chunkwise mLSTM, an extension: the official forward takes no state);
// step() is the official step (recurrent mLSTM step, conv window, sLSTM step).
import { Tensor } from '../../tensor/tensor.js';
import { checkIds, checkStepIds, TokenBatch } from '../tokenIds.js';
import type { WasmBackend } from '../../backend/wasm/backend.js';
import type { SafetensorsSource } from '../../io/safetensors.js';
import type { HubOptions } from '../../hub/options.js';
import type { LanguageModel } from '../languageModel.js';
import { add, embedding } from '../../ops/index.js';
import { linear } from '../../ops/matmul.js';
import { XLSTMLMConfig, XLSTMLMConfigInput, resolveXLSTMLMConfig, isResolvedXLSTMLMConfig, parseXLSTMLMConfigYaml } from './config.js';
import { XLSTMLMWeights, XLSTMLMLoadWeightsOptions, loadXLSTMLMWeights } from './weights.js';
import { MlstmBlockState, mlstmBlockStateShapes, mlstmLayerForward, mlstmLayerStep } from './mlstmBlock.js';
import { SlstmBlockState, slstmBlockStateShapes, slstmLayerForward, slstmLayerStep } from './slstmBlock.js';
import { feedForward, xlstmLayerNorm } from './ffn.js';
import { ConfigError } from '../../errors.js';

export type { MlstmBlockState, SlstmBlockState };
/** One state per block, in block order (mLSTM or sLSTM state by config.blocks[i].kind). */
export type XLSTMLMState = (MlstmBlockState | SlstmBlockState)[];

export type { TokenBatch } from '../tokenIds.js';

export interface XLSTMLMLoadOptions extends XLSTMLMLoadWeightsOptions {
  /** Hub settings when fromPretrained is given a model id. */
  hub?: HubOptions;
  backend: WasmBackend;
}

export interface XLSTMLMForwardOptions {
  /** State to continue from (not modified); default: the empty state. */
  state?: XLSTMLMState;
  /** 'last': only the last position's logits ([B, 1, V]); default 'all'. */
  logits?: 'all' | 'last';
}

function disposeTree(st: { [k: string]: Tensor | undefined }): void { for (const t of Object.values(st)) t?.dispose(); }

export class XLSTMLMModel implements LanguageModel<XLSTMLMState> {
  readonly modelType = 'xlstm-lm';
  private constructor(readonly backend: WasmBackend, readonly config: XLSTMLMConfig, readonly weights: XLSTMLMWeights) {}

  get vocabSize(): number { return this.config.vocab_size; }

  /**
   * Loads a folder with config.json (the official config dump) or config.yaml / config.yml
   * (the model config or an experiment file with a model: section) and model.safetensors
   * (or a sharded index), or a hub id. Node only.
   */
  static async fromPretrained(dir: string, opts: XLSTMLMLoadOptions): Promise<XLSTMLMModel> {
    if (!opts || !opts.backend) throw new TypeError('XLSTMLMModel.fromPretrained: options.backend (a WasmBackend) is required');
    dir = await (await import('../../hub/resolve.js')).resolveModelSource(dir, 'language-model', opts.hub);
    const [{ readFile, access }, { join }, { openSafetensorsModel }] = await Promise.all([
      import('node:fs/promises'), import('node:path'), import('../../io/safetensorsSharded.js'),
    ]);
    const exists = async (p: string) => access(p).then(() => true, () => false);
    let raw: XLSTMLMConfigInput | undefined;
    for (const name of ['config.json', 'config.yaml', 'config.yml']) {
      const p = join(dir, name);
      if (!(await exists(p))) continue;
      let text: string;
      try { text = await readFile(p, 'utf8'); } catch (e) { throw new Error(`XLSTMLMModel.fromPretrained: cannot read ${p}: ${(e as Error).message}`); }
      if (name === 'config.json') {
        try { raw = JSON.parse(text); } catch (e) { throw new ConfigError(`XLSTMLMModel.fromPretrained: ${p} is not valid JSON: ${(e as Error).message}`); }
      } else raw = await parseXLSTMLMConfigYaml(text, p);
      break;
    }
    if (!raw) throw new Error(`XLSTMLMModel.fromPretrained: ${dir} has no config.json, config.yaml or config.yml`);
    const cfg = resolveXLSTMLMConfig(raw);
    const src = await openSafetensorsModel(dir);
    try {
      return await XLSTMLMModel.fromSource(src, cfg, opts);
    } finally { await src.close(); }
  }

  /** Builds the model from a config (raw official fields or resolved) and any safetensors source (browser-safe). */
  static async fromSource(src: SafetensorsSource, config: XLSTMLMConfigInput | XLSTMLMConfig, opts: XLSTMLMLoadOptions): Promise<XLSTMLMModel> {
    if (!opts || !opts.backend) throw new TypeError('XLSTMLMModel.fromSource: options.backend (a WasmBackend) is required');
    const cfg = isResolvedXLSTMLMConfig(config) ? config : resolveXLSTMLMConfig(config as XLSTMLMConfigInput);
    const w = await loadXLSTMLMWeights(opts.backend, src, cfg, opts);
    return new XLSTMLMModel(opts.backend, cfg, w);
  }

  /** The zero state the official step starts from (m = 0, empty conv windows). */
  emptyState(B: number): XLSTMLMState {
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`XLSTMLMModel.emptyState: B = ${B}, expected a positive integer`);
    return this.config.blocks.map((b) => {
      const shapes = b.kind === 'mlstm' ? mlstmBlockStateShapes(b.mlstm, B) : slstmBlockStateShapes(b.slstm, B);
      const st: { [k: string]: Tensor } = {};
      for (const [k, s] of Object.entries(shapes)) st[k] = this.backend.zeros(s);
      return st as MlstmBlockState | SlstmBlockState;
    });
  }

  /** Logits of ids [B, S] and the state after the last token. */
  forward(inputIds: TokenBatch, opts: XLSTMLMForwardOptions = {}): { logits: Tensor; state: XLSTMLMState } {
    const fn = 'XLSTMLMModel.forward';
    const { B, S, data } = checkIds(fn, 'inputIds', inputIds, this.config.vocab_size);
    if (opts.logits !== undefined && opts.logits !== 'all' && opts.logits !== 'last') throw new RangeError(`${fn}: logits = ${JSON.stringify(opts.logits)}, expected 'all' or 'last'`);
    if (opts.state !== undefined) this.checkState(fn, 'state', opts.state, B);
    const be = this.backend, c = this.config, w = this.weights;
    const idT = be.upload(new Tensor('i32', [B, S], data));
    let x = embedding(be, idT, w.embedding); // [B, S, E]
    idT.dispose();
    const states: XLSTMLMState = [];
    try {
      c.blocks.forEach((bc, i) => {
        const bw = w.blocks[i];
        const xn = xlstmLayerNorm(be, x, bw.norm);
        let r: { y: Tensor; state?: MlstmBlockState | SlstmBlockState };
        try {
          if (bc.kind === 'mlstm' && bw.kind === 'mlstm') r = mlstmLayerForward(be, bw, bc.mlstm, xn, opts.state?.[i] as MlstmBlockState | undefined, true);
          else if (bc.kind === 'slstm' && bw.kind === 'slstm') r = slstmLayerForward(be, bw, bc.slstm, xn, opts.state?.[i] as SlstmBlockState | undefined, true);
          else throw new Error(`${fn}: block ${i} weights do not match its config kind ${bc.kind}`);
        } finally { xn.dispose(); }
        states.push(r.state!);
        add(be, x, r.y, x);
        r.y.dispose();
        if (bw.kind === 'slstm' && bw.ffn && bc.kind === 'slstm') {
          const f = feedForward(be, bw.ffn, bc.feedforward!, x);
          add(be, x, f, x);
          f.dispose();
        }
      });
      if (opts.logits === 'last') {
        const E = c.embedding_dim;
        const last = be.empty([B, 1, E]);
        for (let b = 0; b < B; b++) (last.data as Float32Array).set((x.data as Float32Array).subarray(((b * S) + S - 1) * E, (b * S + S) * E), b * E);
        x.dispose();
        x = last;
      }
      return { logits: this.head(x), state: states };
    } catch (e) {
      for (const s of states) disposeTree(s as { [k: string]: Tensor });
      throw e;
    } finally { x.dispose(); }
  }

  /** One token per sequence (ids [B]) from `state`, updated in place: the official step. */
  step(tokenIds: number[] | Tensor, state: XLSTMLMState): { logits: Tensor; state: XLSTMLMState } {
    const fn = 'XLSTMLMModel.step';
    const { B, data } = checkStepIds(fn, tokenIds, this.config.vocab_size);
    this.checkState(fn, 'state', state, B);
    const be = this.backend, c = this.config, w = this.weights;
    const idT = be.upload(new Tensor('i32', [B], data));
    const x = embedding(be, idT, w.embedding); // [B, E]
    idT.dispose();
    try {
      c.blocks.forEach((bc, i) => {
        const bw = w.blocks[i];
        const xn = xlstmLayerNorm(be, x, bw.norm);
        let y: Tensor;
        try {
          if (bc.kind === 'mlstm' && bw.kind === 'mlstm') y = mlstmLayerStep(be, bw, bc.mlstm, xn, state[i] as MlstmBlockState);
          else if (bc.kind === 'slstm' && bw.kind === 'slstm') y = slstmLayerStep(be, bw, bc.slstm, xn, state[i] as SlstmBlockState);
          else throw new Error(`${fn}: block ${i} weights do not match its config kind ${bc.kind}`);
        } finally { xn.dispose(); }
        add(be, x, y, x);
        y.dispose();
        if (bw.kind === 'slstm' && bw.ffn && bc.kind === 'slstm') {
          const f = feedForward(be, bw.ffn, bc.feedforward!, x);
          add(be, x, f, x);
          f.dispose();
        }
      });
      return { logits: this.head(x), state };
    } finally { x.dispose(); }
  }

  /** Frees the weights. */
  dispose(): void { this.weights.dispose(); }

  /** post_blocks_norm + lm_head: x [.., E] -> [.., V] (x is not consumed). */
  private head(x: Tensor): Tensor {
    const w = this.weights;
    const h = w.postNorm ? xlstmLayerNorm(this.backend, x, w.postNorm) : x;
    try { return linear(this.backend, h, w.lmHead); } finally { if (h !== x) h.dispose(); }
  }

  private checkState(fn: string, arg: string, state: XLSTMLMState, B: number): void {
    const c = this.config;
    if (!Array.isArray(state) || state.length !== c.num_blocks) {
      throw new TypeError(`${fn}: ${arg} must be an array of ${c.num_blocks} block states, got ${Array.isArray(state) ? `length ${state.length}` : typeof state}`);
    }
    c.blocks.forEach((bc, i) => {
      const want = bc.kind === 'mlstm' ? mlstmBlockStateShapes(bc.mlstm, B) : slstmBlockStateShapes(bc.slstm, B);
      const s = state[i] as unknown as { [k: string]: unknown };
      if (!s || typeof s !== 'object') throw new TypeError(`${fn}: ${arg}[${i}] must be the ${bc.kind === 'mlstm' ? 'mLSTM' : 'sLSTM'} block state {${Object.keys(want).join(', ')}}, got ${String(s)}`);
      for (const [k, shape] of Object.entries(want)) {
        const t = s[k];
        if (!(t instanceof Tensor) || t.dtype !== 'f32' || t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
          const got = t instanceof Tensor ? `${t.dtype} [${t.shape.join(', ')}]` : String(t);
          throw new RangeError(`${fn}: ${arg}[${i}].${k} (${bc.kind === 'mlstm' ? 'mLSTM' : 'sLSTM'} block ${i}) is ${got}, expected f32 [${shape.join(', ')}]`);
        }
      }
    });
  }
}
