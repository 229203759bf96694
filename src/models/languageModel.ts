// The contract between recurrent language models (xLSTM Large, xLSTMLMModel) and
// everything built on top of them (sampling, streaming generation, scoring, state
// persistence, the CLI). A model only has to provide a prefill and a step; all the
// policy (which token, when to stop, ragged batches) lives above it.
import type { Tensor } from '../tensor/tensor.js';
import type { WasmBackend } from '../backend/wasm/backend.js';

/**
 * A recurrent state: a plain tree (objects / arrays) whose leaves are f32 Tensors that
 * all have the batch as axis 0. Keeping the batch first is what lets generic code
 * select, stack, fork and serialise states of any model without knowing its layout.
 */
export type ModelState = Tensor | readonly ModelState[] | { readonly [key: string]: ModelState };

export interface LanguageModelForwardResult<S> {
  /** [B, S, V] f32 logits of every position. */ logits: Tensor;
  /** State after the last token (fresh tensors; the input state is not modified). */ state: S;
}

export interface LanguageModelStepResult<S> {
  /** [B, V] f32 logits. */ logits: Tensor;
  /** The state passed in, updated in place. */ state: S;
}

export interface LanguageModel<S extends ModelState = ModelState> {
  /** Kind of model, e.g. 'xlstm-large' or 'xlstm-lm' (stored with saved states). */
  readonly modelType: string;
  readonly vocabSize: number;
  readonly backend: WasmBackend;
  /** The zero state of a batch of B sequences (what the official model starts from). */
  emptyState(batch: number): S;
  /**
   * Prefill: ids [B][S] (all rows the same length) from `state` (default: empty).
   * `logits: 'last'` returns only the last position ([B, 1, V]), which is all generation
   * needs and skips most of the LM-head work; default 'all'.
   */
  forward(inputIds: number[][], opts?: { state?: S; logits?: 'all' | 'last' }): LanguageModelForwardResult<S>;
  /** One token per sequence, ids [B], continuing `state` in place. */
  step(tokenIds: number[], state: S): LanguageModelStepResult<S>;
}
