// sLSTM recurrent kernel and bias: reading both official checkpoint layouts and
// converting them, once, into the layout the wasm kernel streams through.
import { Tensor } from '../../tensor/tensor.js';
import { shapeStr } from '../../tensor/dtype.js';
import { f32ToBf16 } from '../../tensor/convert.js';

/**
 * Where `_recurrent_kernel_` / `_bias_` come from (both are stored under the same names):
 * - 'cuda': the CUDA backend and TiRex. R [NH, DH, 4*DH] indexed [h, d_in, g*DH + d_out];
 *   bias [4*H] head-major (h, g, d).
 * - 'vanilla': the official pure-PyTorch backend. R [NH, 4*DH, DH] indexed [h, g*DH + d_out, d_in];
 *   bias [4*H] gate-major (g, h, d).
 * - 'auto': decided by the shape of R ([NH, DH, 4DH] -> cuda, [NH, 4DH, DH] -> vanilla); the bias
 *   is assumed to come from the same backend (its shape [4H] is the same in both layouts).
 */
export type SlstmParamLayout = 'cuda' | 'vanilla' | 'auto';

/** Output columns of R per packed chunk: the kernel keeps 32 accumulators (8 x f32x4) in registers. */
export const SLSTM_CHUNK = 32;

export interface SlstmParams {
  readonly numHeads: number;
  readonly headDim: number;
  /** H = NH * DH */
  readonly hiddenSize: number;
  /** 4*DH rounded up to a multiple of SLSTM_CHUNK (the padding columns are 0). */
  readonly gatePad: number;
  /** The layout the checkpoint tensors were read as ('auto' resolved). */
  readonly sourceLayout: 'cuda' | 'vanilla';
  /**
   * [NH, gatePad/32, DH_in, 32] f32: packed[h, c, i, j] = R_ext[h, i, col] with col = c*32 + j = g*DH + d_out.
   * The kernel's inner loop over d_in then reads one contiguous stream per chunk.
   */
  readonly recurrentPacked: Float32Array;
  /** [NH, 4, DH] f32, head-major. */
  readonly bias: Float32Array;
  /** Lazily made bf16-rounded copy of recurrentPacked (TiRex mode), see packedBf16(). */
  packedBf16Cache?: Uint16Array;
  /** Per-backend heap copies made by the wasm driver (uploaded once, reused by every call). */
  readonly deviceCache: Map<object, { [key: string]: Tensor }>;
}

export interface LoadSlstmParamsOptions {
  /** `_recurrent_kernel_` */
  recurrentKernel: Tensor;
  /** `_bias_` */
  bias: Tensor;
  numHeads: number;
  layout: SlstmParamLayout;
}

function fail(param: string, layout: string, expected: string, actual: readonly number[]): never {
  throw new Error(`loadSlstmParams: ${param} in '${layout}' layout must have shape ${expected}, got ${shapeStr(actual)}`);
}

/** Reads `_recurrent_kernel_` and `_bias_` in the given layout (see SlstmParamLayout). */
export function loadSlstmParams(o: LoadSlstmParamsOptions): SlstmParams {
  const NH = o.numHeads;
  if (!Number.isInteger(NH) || NH < 1) throw new Error(`loadSlstmParams: numHeads must be a positive integer, got ${NH}`);
  if (o.layout !== 'cuda' && o.layout !== 'vanilla' && o.layout !== 'auto') {
    throw new Error(`loadSlstmParams: layout must be 'cuda', 'vanilla' or 'auto', got '${String(o.layout)}'`);
  }
  const rs = o.recurrentKernel.shape;
  if (rs.length !== 3 || rs[0] !== NH) fail('_recurrent_kernel_', o.layout, o.layout === 'vanilla' ? `[NH=${NH}, 4*DH, DH]` : `[NH=${NH}, DH, 4*DH]`, rs);
  let layout: 'cuda' | 'vanilla';
  if (o.layout === 'auto') {
    if (rs[2] === 4 * rs[1]) layout = 'cuda';
    else if (rs[1] === 4 * rs[2]) layout = 'vanilla';
    else fail('_recurrent_kernel_', 'auto', `[NH=${NH}, DH, 4*DH] (cuda) or [NH=${NH}, 4*DH, DH] (vanilla)`, rs);
  } else layout = o.layout;
  const DH = layout === 'cuda' ? rs[1] : rs[2];
  if (DH < 1) fail('_recurrent_kernel_', layout, `[NH=${NH}, DH>=1, ...]`, rs);
  if (layout === 'cuda' && rs[2] !== 4 * DH) fail('_recurrent_kernel_', layout, `[NH=${NH}, DH=${DH}, 4*DH=${4 * DH}]`, rs);
  if (layout === 'vanilla' && rs[1] !== 4 * DH) fail('_recurrent_kernel_', layout, `[NH=${NH}, 4*DH=${4 * DH}, DH=${DH}]`, rs);
  const H = NH * DH;
  const bs = o.bias.shape;
  if (bs.length !== 1 || bs[0] !== 4 * H) fail('_bias_', layout, `[4*NH*DH=${4 * H}]`, bs);

  const r = o.recurrentKernel.toFloat32();
  const b = o.bias.toFloat32();
  const Gp = Math.ceil((4 * DH) / SLSTM_CHUNK) * SLSTM_CHUNK;
  const nc = Gp / SLSTM_CHUNK;
  const packed = new Float32Array(NH * Gp * DH); // [NH, Gp/32, DH_in, 32]
  for (let h = 0; h < NH; h++) {
    for (let i = 0; i < DH; i++) {
      for (let col = 0; col < 4 * DH; col++) {
        const v = layout === 'cuda'
          ? r[(h * DH + i) * 4 * DH + col] // [h, d_in, g*DH + d_out]
          : r[(h * 4 * DH + col) * DH + i]; // [h, g*DH + d_out, d_in]
        const c = Math.floor(col / SLSTM_CHUNK), j = col % SLSTM_CHUNK;
        packed[((h * nc + c) * DH + i) * SLSTM_CHUNK + j] = v;
      }
    }
  }
  const bias = new Float32Array(4 * H); // [NH, 4, DH]
  for (let h = 0; h < NH; h++) {
    for (let g = 0; g < 4; g++) {
      for (let d = 0; d < DH; d++) {
        bias[(h * 4 + g) * DH + d] = layout === 'cuda' ? b[(h * 4 + g) * DH + d] : b[(g * NH + h) * DH + d];
      }
    }
  }
  return { numHeads: NH, headDim: DH, hiddenSize: H, gatePad: Gp, sourceLayout: layout, recurrentPacked: packed, bias, deviceCache: new Map() };
}

/** R_ext [NH, DH_in, 4, DH_out] (== the cuda checkpoint layout) recovered from the packed form. */
export function recurrentExt(p: SlstmParams): Float32Array {
  const { numHeads: NH, headDim: DH, gatePad: Gp } = p;
  const nc = Gp / SLSTM_CHUNK;
  const out = new Float32Array(NH * DH * 4 * DH);
  for (let h = 0; h < NH; h++) {
    for (let i = 0; i < DH; i++) {
      for (let col = 0; col < 4 * DH; col++) {
        const c = Math.floor(col / SLSTM_CHUNK), j = col % SLSTM_CHUNK;
        out[(h * DH + i) * 4 * DH + col] = p.recurrentPacked[((h * nc + c) * DH + i) * SLSTM_CHUNK + j];
      }
    }
  }
  return out;
}

/**
 * recurrentPacked as bf16 bits (TiRex casts R to bf16), made once. Within each group of 8
 * columns the order is (0,4,1,5,2,6,3,7): the kernel widens a 16-byte load with one shift
 * (columns 0-3) and one mask (columns 4-7).
 */
export function packedBf16(p: SlstmParams): Uint16Array {
  if (!p.packedBf16Cache) {
    const src = p.recurrentPacked;
    const out = new Uint16Array(src.length);
    for (let g = 0; g < src.length; g += 8) {
      for (let j = 0; j < 4; j++) {
        out[g + 2 * j] = f32ToBf16(src[g + j]);
        out[g + 2 * j + 1] = f32ToBf16(src[g + 4 + j]);
      }
    }
    p.packedBf16Cache = out;
  }
  return p.packedBf16Cache;
}
