// Parameters of a trainable from its family's weight table: the table's strict check of the
// given tensors (the trainables' wording: the first problem, naming the tensor and both
// shapes), then one f32 Parameter per table entry on the wasm heap (the kernels read it in
// place and AdamW updates it there), named by the official name, with the family's decay rule.
import { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { Parameter } from '../autograd/tape.js';
import { InputError } from '../errors.js';
import { WeightSpec, WeightTable, firstDifference, matchTensorInfos, shapeText } from '../models/weightTable.js';

/**
 * `who` names the trainable in the messages ("TiRexTrainable: tensor 'x' is missing"). Copies
 * of a shared tensor (a `shared` spec's aliases) must hold the same values.
 */
export function heapParameters(be: WasmBackend, table: WeightTable, tensors: ReadonlyMap<string, Tensor>, decays: (spec: WeightSpec) => boolean, who: string): Map<string, Parameter> {
  const m = matchTensorInfos(table, tensors);
  const { missing, misshaped, unexpected, badDtype } = m.problems;
  if (missing.length) throw new InputError(`${who}: tensor '${missing[0].name}' is missing`);
  if (misshaped.length) throw new InputError(`${who}: tensor '${misshaped[0].file}' has shape ${shapeText(misshaped[0].shape)}, expected ${shapeText(misshaped[0].spec.shape)} from the config`);
  if (unexpected.length) throw new InputError(`${who}: unexpected tensors for this config: ${unexpected.slice(0, 6).join(', ')}${unexpected.length > 6 ? ', ...' : ''}`);
  if (badDtype.length) throw new InputError(`${who}: tensor '${badDtype[0].file}' has dtype ${badDtype[0].dtype}, expected a float format`);
  const params = new Map<string, Parameter>();
  for (const [name, { spec, file, copies }] of m.matches) {
    const t = tensors.get(file)!;
    for (const c of copies) {
      const j = firstDifference(t, tensors.get(c)!);
      if (j >= 0) throw new InputError(`${who}: tensor '${c}' differs from '${file}' at index ${j}; they name one shared tensor`);
    }
    const dev = be.empty([...spec.shape], 'f32');
    (dev.data as Float32Array).set(t.toFloat32());
    params.set(name, new Parameter(dev, name, decays(spec)));
  }
  return params;
}
