// The one place the vision model touches the pLSTM 2D layer (src/xlstm/plstm): its config
// parser, its parameter-name table and its tape forward, in the shapes the model's weight
// table and forward use (names relative to `interaction_module.`).
import type { Tape, Var } from '../../autograd/tape.js';
import { ConfigError } from '../../errors.js';
import { plstm2dConfigFromJson, plstmParamShapes, plstm2d } from '../../xlstm/plstm/index.js';
import type { PLstm2dConfig, Plstm2dForm } from '../../xlstm/plstm/index.js';

export type Plstm2dLayerConfig = PLstm2dConfig;

/** The official pLSTM2DLayerFused JSON of a PostUpProjectionBlock (the vision blocks' layer). */
export function parseLayerConfig(o: unknown, where: string): Plstm2dLayerConfig {
  const j = o as Record<string, unknown> | null;
  if (!j || typeof j !== 'object' || j.class_name !== 'pLSTM2DLayerFused') {
    throw new ConfigError(`${where}.class_name: the vision blocks use pLSTM2DLayerFused, got ${JSON.stringify(j?.class_name)}`);
  }
  return plstm2dConfigFromJson(j, where, true);
}

export function layerWeightTable(c: Plstm2dLayerConfig): Map<string, number[]> {
  return new Map(Object.entries(plstmParamShapes(c)));
}

/** x [B, X, Y, D] -> [B, X, Y, D]; `w` keyed by the relative names of layerWeightTable. */
export function plstm2dLayer(t: Tape, x: Var, w: ReadonlyMap<string, Var>, c: Plstm2dLayerConfig, form?: Plstm2dForm): Var {
  return plstm2d(t, x, Object.fromEntries(w), c, form ? { form } : {});
}
