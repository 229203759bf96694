// Recurrent states as values: generic operations over any model's state tree (objects /
// arrays whose leaves are f32 Tensors with the batch as axis 0). New states come only from
// model.emptyState(B) and we copy leaf data into them: a model decides where its state
// lives (big models spread it over several wasm heaps), so we never allocate leaves.
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { LanguageModel, ModelState } from '../models/languageModel.js';

/** One leaf of a state tree and its path: keys / array indices joined by '.', e.g. "0.c". */
export interface StateLeaf {
  path: string;
  tensor: Tensor;
}

/** Every leaf in tree order (arrays by index, objects by key order). */
export function stateLeaves(state: ModelState, fn = 'stateLeaves', arg = 'state'): StateLeaf[] {
  const out: StateLeaf[] = [];
  const seen = new Set<string>();
  const walk = (node: unknown, path: string): void => {
    if (node instanceof Tensor) {
      if (seen.has(path)) throw new ArgumentError(`${fn}: ${arg} has two leaves at path '${path}'`);
      seen.add(path);
      out.push({ path, tensor: node });
      return;
    }
    const at = path === '' ? arg : `${arg} leaf path '${path}'`;
    if (node === null || typeof node !== 'object') throw new ArgumentError(`${fn}: ${at} is ${node === null ? 'null' : typeof node}, expected a Tensor, an array or an object of them`);
    const entries: [string, unknown][] = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
    if (entries.length === 0) throw new ArgumentError(`${fn}: ${at} is an empty ${Array.isArray(node) ? 'array' : 'object'}`);
    for (const [k, v] of entries) walk(v, path === '' ? k : `${path}.${k}`);
  };
  walk(state, '');
  return out;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Batch size of a state (axis 0 of its leaves, which must all agree). */
export function stateBatchSize(state: ModelState, fn = 'stateBatchSize', arg = 'state'): number {
  const leaves = stateLeaves(state, fn, arg);
  const B = leaves[0].tensor.shape[0];
  for (const { path, tensor } of leaves) {
    if (tensor.rank < 1 || tensor.shape[0] !== B) {
      throw new ArgumentError(`${fn}: ${arg} leaf '${path}' has shape ${shapeText(tensor.shape)}, expected batch ${B} on axis 0 (as leaf '${leaves[0].path}')`);
    }
  }
  return B;
}

/**
 * Checks that `state` has exactly the leaves of `template` (a state of the model), each
 * f32 with the same shape apart from the batch; returns the batch size. Errors name the
 * first leaf that differs, which is how a state of another model is recognised.
 */
export function checkStateMatches(fn: string, arg: string, template: ModelState, state: ModelState): number {
  const want = stateLeaves(template, fn, 'model state');
  const got = stateLeaves(state, fn, arg);
  const byPath = new Map(got.map((l) => [l.path, l.tensor]));
  for (const { path, tensor: w } of want) {
    const t = byPath.get(path);
    if (!t) throw new ArgumentError(`${fn}: ${arg} has no leaf '${path}' (the model's state has leaves ${want.map((l) => `'${l.path}'`).join(', ')}): is it a state of another model?`);
    if (t.dtype !== 'f32' || t.rank !== w.rank || t.shape.some((d, i) => i > 0 && d !== w.shape[i])) {
      throw new ArgumentError(`${fn}: ${arg} leaf '${path}' is ${t.dtype} ${shapeText(t.shape)}, expected f32 ${shapeText(['B', ...w.shape.slice(1)] as never)}: is it a state of another model?`);
    }
  }
  if (got.length !== want.length) {
    const extra = got.find((l) => !want.some((w) => w.path === l.path))!;
    throw new ArgumentError(`${fn}: ${arg} has a leaf '${extra.path}' that the model's state does not have: is it a state of another model?`);
  }
  return stateBatchSize(state, fn, arg);
}

/** Frees every leaf (heap memory goes back to the model's backend). */
export function disposeState(state: ModelState): void {
  for (const { tensor } of stateLeaves(state, 'disposeState')) tensor.dispose();
}

/**
 * A new state of the model whose row i is row rows[i] of sources[i].state (the building
 * block of select / stack / fork). Checks every source against the model's state layout.
 */
export function gatherRows(model: LanguageModel, picks: readonly { state: ModelState; row: number }[], fn = 'gatherRows'): ModelState {
  if (picks.length === 0) throw new ArgumentError(`${fn}: no rows selected (a state needs batch >= 1)`);
  const out = model.emptyState(picks.length);
  try {
    const dst = stateLeaves(out, fn, 'model.emptyState()');
    const checked = new Map<ModelState, Map<string, Tensor>>();
    picks.forEach(({ state, row }, i) => {
      let src = checked.get(state);
      if (!src) {
        checkStateMatches(fn, `state #${checked.size}`, out, state);
        src = new Map(stateLeaves(state).map((l) => [l.path, l.tensor]));
        checked.set(state, src);
      }
      const B = src.values().next().value!.shape[0];
      if (!Number.isInteger(row) || row < 0 || row >= B) throw new ArgumentError(`${fn}: row ${row} is outside the state's batch of ${B}`);
      for (const { path, tensor } of dst) {
        const n = tensor.size / tensor.shape[0];
        (tensor.data as Float32Array).set((src.get(path)!.data as Float32Array).subarray(row * n, (row + 1) * n), i * n);
      }
    });
  } catch (e) { disposeState(out); throw e; }
  return out;
}

/** A new state with rows `rows` of `state` (in that order; repeats allowed). */
export function selectRows(model: LanguageModel, state: ModelState, rows: readonly number[]): ModelState {
  if (!Array.isArray(rows)) throw new ArgumentError('selectRows: rows must be an array of row indices');
  return gatherRows(model, rows.map((row) => ({ state, row })), 'selectRows');
}

/** One state with all rows of `states`, in order (e.g. prompts prefilled one by one). */
export function stackStates(model: LanguageModel, states: readonly ModelState[]): ModelState {
  if (!Array.isArray(states) || states.length === 0) throw new ArgumentError('stackStates: states must be a non-empty array');
  const picks: { state: ModelState; row: number }[] = [];
  for (const s of states) for (let r = 0, B = stateBatchSize(s, 'stackStates'); r < B; r++) picks.push({ state: s, row: r });
  return gatherRows(model, picks, 'stackStates');
}

/** An independent copy (fork) of a state: continuing one does not change the other. */
export function cloneState(model: LanguageModel, state: ModelState): ModelState {
  const B = stateBatchSize(state, 'cloneState');
  return gatherRows(model, Array.from({ length: B }, (_, row) => ({ state, row })), 'cloneState');
}

/** Alias of cloneState under the name used for branching a conversation. */
export const forkState = cloneState;
