// The one place the vision model touches the pLSTM 2D layer (src/xlstm/plstm, branch
// plstm-layers): its config parser, its weight-name table and its tape forward.
// TEMPORARY until plstm-layers is merged: only the config fields the model needs are read, the
// weight table lists the official pLSTM2DLayerFused names, and the forward is not available.
import type { Tape, Var } from '../../autograd/tape.js';
import { ConfigError } from '../../errors.js';

export interface Plstm2dLayerConfig { inputDim: number; numHeads: number; mode: 'P' | 'D'; fused: boolean; DK: number; DV: number }

export function parseLayerConfig(o: unknown, where: string): Plstm2dLayerConfig {
  if (!o || typeof o !== 'object') throw new ConfigError(`${where}: expected an object`);
  const j = o as Record<string, unknown>;
  if (j.class_name !== 'pLSTM2DLayerFused') throw new ConfigError(`${where}.class_name: only pLSTM2DLayerFused is implemented, got ${JSON.stringify(j.class_name)}`);
  if (j.mode !== 'P' && j.mode !== 'D') throw new ConfigError(`${where}.mode: expected 'P' or 'D', got ${JSON.stringify(j.mode)}`);
  return { inputDim: j.input_dim as number, numHeads: j.num_heads as number, mode: j.mode, fused: true, DK: j.DK as number, DV: j.DV as number };
}

export function layerWeightTable(c: Plstm2dLayerConfig): Map<string, number[]> {
  const D = c.inputDim, H = c.numHeads, G = 4 * H;
  const t = new Map<string, number[]>();
  t.set('direct.bias', [H, 1, 1, 1, 1]);
  for (const q of ['query', 'key', 'value_']) { t.set(`${q}.bias`, [H, c.DK, 1]); t.set(`${q}.weight`, [1, c.DK, 1, H, D / H]); }
  t.set('mhnorm.scale', [H, c.DV]);
  t.set('outprojection.weight', [D, D]);
  const trans = (n: string) => { t.set(`${n}.eigenvalues_bias`, [G, 1]); t.set(`${n}.eigenvalues_weight`, [G, 1, 1, D]); };
  if (c.mode === 'P') {
    t.set('mark.bias', [G, 1, 1, 1]); t.set('source.bias', [G, 1, 1, 1]); trans('transition');
    t.set('orientation_bias', [4, H]); t.set('orientation_weight', [4, H, D]);
  } else {
    t.set('mark_l.bias', [G, 1, 1, 1]); t.set('mark_u.bias', [G, 1, 1, 1]); t.set('source_d.bias', [G, 1, 1, 1]); t.set('source_r.bias', [G, 1, 1, 1]);
    trans('transition_d'); trans('transition_r'); trans('transition_rd');
  }
  return t;
}

export function plstm2dLayer(_t: Tape, _x: Var, _w: ReadonlyMap<string, Var>, _c: Plstm2dLayerConfig): Var {
  throw new Error('pLSTM 2D layer: not merged yet (branch plstm-layers)');
}
