// The one place the vision model touches the pLSTM 2D layer (src/xlstm/plstm): its config
// parser, its weight-table entries (official names under the block's `interaction_module.`,
// with the roles the initialiser keys on) and its tape forward.
import type { Tape, Var } from '../../autograd/tape.js';
import { ConfigError } from '../../errors.js';
import { plstm2dConfigFromJson, plstmParamShapes, plstm2d } from '../../xlstm/plstm/index.js';
import type { PLstm2dConfig, Plstm2dForm } from '../../xlstm/plstm/index.js';
import type { WeightSpec } from '../weightTable.js';
import { WeightLookup, need } from '../../blocks/basic.js';

export type Plstm2dLayerConfig = PLstm2dConfig;

/** The official pLSTM2DLayerFused JSON of a PostUpProjectionBlock (the vision blocks' layer). */
export function parseLayerConfig(o: unknown, where: string): Plstm2dLayerConfig {
  const j = o as Record<string, unknown> | null;
  if (!j || typeof j !== 'object' || j.class_name !== 'pLSTM2DLayerFused') {
    throw new ConfigError(`${where}.class_name: the vision blocks use pLSTM2DLayerFused, got ${JSON.stringify(j?.class_name)}`);
  }
  return plstm2dConfigFromJson(j, where, true);
}

/**
 * Role of a layer parameter (by its name relative to the layer), for the vision initialiser:
 * 'gateBias' (Source / Mark / Direct biases), 'eigenvalueBias', 'orientationBias',
 * 'eigenvalueWeight', 'orientationWeight', 'norm' (mhnorm scale), 'bias', 'transitionBias'
 * (the transition's in/out projection biases) and 'passthrough' (passthrough.scale), which the
 * initialiser treats as projections, and 'linear' (every other weight).
 */
function layerRole(name: string): string {
  if (/^(source|source_r|source_d|mark|mark_l|mark_u|direct)\.bias$/.test(name)) return 'gateBias';
  if (/eigenvalues_bias$/.test(name)) return 'eigenvalueBias';
  if (name === 'orientation_bias') return 'orientationBias';
  if (/eigenvalues_weight$/.test(name)) return 'eigenvalueWeight';
  if (name === 'orientation_weight') return 'orientationWeight';
  if (name === 'mhnorm.scale') return 'norm';
  if (/\.bias$/.test(name)) return 'bias';
  if (/(inproj|outproj)_bias$/.test(name)) return 'transitionBias';
  if (name === 'passthrough.scale') return 'passthrough';
  return 'linear';
}

/** The layer's weight-table entries, named `prefix` + the official relative name, in the layer's order. */
export function layerSpecs(c: Plstm2dLayerConfig, prefix: string): WeightSpec[] {
  return Object.entries(plstmParamShapes(c)).map(([name, shape]) => ({ name: prefix + name, shape, role: layerRole(name), fanIn: shape[shape.length - 1] }));
}

/** x [B, X, Y, D] -> [B, X, Y, D]; the layer's weights are looked up as `prefix` + relative name. */
export function plstm2dLayer(t: Tape, x: Var, W: WeightLookup, prefix: string, c: Plstm2dLayerConfig, form?: Plstm2dForm): Var {
  const params: Record<string, Var> = {};
  for (const name of Object.keys(plstmParamShapes(c))) params[name] = need(W, prefix + name);
  return plstm2d(t, x, params, c, form ? { form } : {});
}
