// Conversion between this port's batch-first state and the official xLSTMLMModel.step
// state (state[f'block_{i}'] = {'mlstm_state': (c, n, m), 'conv_state': (conv,)} or
// {'conv_state': (conv,), 'slstm_state': y_c_n_m}), flattened to the names the golden
// files use: step_state__block_<i>__{mlstm_c, mlstm_n, mlstm_m, conv, slstm}.
//   mlstm_c [B, NH, DH, DH] = c / sqrt(DH)   (the old cell accumulates k / sqrt(DH))
//   mlstm_n [B, NH, DH, 1]  = n / sqrt(DH)
//   mlstm_m [B, NH, 1, 1]   = m
//   conv    [B, K, D]       = conv (same layout)
//   slstm   [4, B, H]       = stack(y, c, n, m)
import { Tensor } from '../../tensor/tensor.js';
import type { XLSTMLMConfig } from './config.js';
import type { XLSTMLMState, MlstmBlockState, SlstmBlockState } from './model.js';

/** Host (JS memory) tensors keyed `block_<i>__<name>` in the official layout (see the file comment). */
export function toOfficialState(cfg: XLSTMLMConfig, state: XLSTMLMState): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  if (!Array.isArray(state) || state.length !== cfg.num_blocks) throw new TypeError(`toOfficialState: state must be an array of ${cfg.num_blocks} block states`);
  cfg.blocks.forEach((b, i) => {
    const p = `block_${i}__`;
    if (b.kind === 'mlstm') {
      const s = state[i] as MlstmBlockState;
      const [B, NH, DH] = s.c.shape;
      const r = 1 / Math.sqrt(DH);
      out.set(`${p}mlstm_c`, new Tensor('f32', [B, NH, DH, DH], Float32Array.from(s.c.toFloat32(), (v) => v * r)));
      out.set(`${p}mlstm_n`, new Tensor('f32', [B, NH, DH, 1], Float32Array.from(s.n.toFloat32(), (v) => v * r)));
      out.set(`${p}mlstm_m`, new Tensor('f32', [B, NH, 1, 1], Float32Array.from(s.m.toFloat32())));
      if (s.conv) out.set(`${p}conv`, new Tensor('f32', [...s.conv.shape], Float32Array.from(s.conv.toFloat32())));
    } else {
      const s = state[i] as SlstmBlockState;
      const [B, H] = s.y.shape;
      if (s.conv) out.set(`${p}conv`, new Tensor('f32', [...s.conv.shape], Float32Array.from(s.conv.toFloat32())));
      const st = new Float32Array(4 * B * H);
      (['y', 'c', 'n', 'm'] as const).forEach((k, j) => st.set(s[k].toFloat32(), j * B * H));
      out.set(`${p}slstm`, new Tensor('f32', [4, B, H], st));
    }
  });
  return out;
}

/**
 * The inverse of toOfficialState: a state of this port (host tensors; step/forward copy
 * them to the heap as needed) from official-layout tensors keyed `block_<i>__<name>`.
 */
export function fromOfficialState(cfg: XLSTMLMConfig, tensors: ReadonlyMap<string, Tensor>): XLSTMLMState {
  const get = (n: string): Tensor => {
    const t = tensors.get(n);
    if (!t) throw new Error(`fromOfficialState: missing ${n}`);
    return t;
  };
  return cfg.blocks.map((b, i) => {
    const p = `block_${i}__`;
    const conv = tensors.get(`${p}conv`);
    if (b.kind === 'mlstm') {
      const c = get(`${p}mlstm_c`), n = get(`${p}mlstm_n`), m = get(`${p}mlstm_m`);
      if (c.rank !== 4) throw new RangeError(`fromOfficialState: ${p}mlstm_c has shape [${c.shape.join(', ')}], expected [B, NH, DH, DH]`);
      const [B, NH, DH] = c.shape;
      const r = Math.sqrt(DH);
      const st: MlstmBlockState = {
        c: new Tensor('f32', [B, NH, DH, DH], Float32Array.from(c.toFloat32(), (v) => v * r)),
        n: new Tensor('f32', [B, NH, DH], Float32Array.from(n.toFloat32(), (v) => v * r)),
        m: new Tensor('f32', [B, NH, 1], Float32Array.from(m.toFloat32())),
      };
      if (conv) st.conv = new Tensor('f32', [...conv.shape], Float32Array.from(conv.toFloat32()));
      return st;
    }
    const s = get(`${p}slstm`);
    if (s.rank !== 3 || s.shape[0] !== 4) throw new RangeError(`fromOfficialState: ${p}slstm has shape [${s.shape.join(', ')}], expected [4, B, H]`);
    const [, B, H] = s.shape;
    const d = s.toFloat32();
    const part = (j: number) => new Tensor('f32', [B, H], d.slice(j * B * H, (j + 1) * B * H));
    const st: SlstmBlockState = { y: part(0), c: part(1), n: part(2), m: part(3) };
    if (conv) st.conv = new Tensor('f32', [...conv.shape], Float32Array.from(conv.toFloat32()));
    return st;
  });
}
