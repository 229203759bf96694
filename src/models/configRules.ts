// The dimension rounding rules of the official model code, named once. The families do NOT
// share one rule, and the differences decide parameter shapes (a TiRex with embedding_dim 48
// has an FFN of 128, an xLSTMLMModel with the same product one of 192), so every resolver
// calls these functions and none rounds on its own. All arithmetic is float64, as Python's
// float, and in the order of the quoted source lines (float products are not associative).
// Checked against every case of test/fixtures/config_sweep (test/models/configSweep.test.ts).

/**
 * Python's `a // b` on floats (CPython float_floor_div / _float_div_mod): the quotient is
 * taken from the exactly computed fmod remainder, not from a rounded `a / b`, and then
 * snapped to the nearest integer. JavaScript's `%` is C's fmod (exact), so this replays it
 * operation by operation. `b` must not be 0 (Python raises ZeroDivisionError).
 */
export function pyFloatFloorDiv(a: number, b: number): number {
  const mod = a % b;
  let div = (a - mod) / b;
  // the remainder takes the sign of the divisor
  if (mod !== 0 && (b < 0) !== (mod < 0)) div -= 1;
  if (div === 0) return 0;
  let floorDiv = Math.floor(div);
  if (div - floorDiv > 0.5) floorDiv += 1;
  return floorDiv;
}

/**
 * TiRex and xLSTM Large FFN width (float floor division of a float `x`):
 *   xlstm/xlstm_large/utils.py and tirex/util.py, `round_up_to_next_multiple_of`:
 *     `return int(((x + multiple_of - 1) // multiple_of) * multiple_of)`
 * called with the float product `embedding_dim * ffn_proj_factor`
 * (tirex/models/slstm/block.py: `round_up_to_next_multiple_of(config.embedding_dim * config.ffn_proj_factor, 64)`;
 * xlstm_large/model.py FeedForward: `round_up_to_next_multiple_of(config.embedding_dim * config.ffn_proj_factor, config.ffn_round_up_to_multiple_of)`).
 * An `x` less than 1 above a multiple rounds DOWN to it: 48 * 2.6667 = 128.0016 -> 128.
 */
export function roundUpToNextMultipleOf(x: number, multipleOf: number): number {
  return Math.trunc(pyFloatFloorDiv(x + multipleOf - 1, multipleOf) * multipleOf);
}

/**
 * xLSTM Large q/k and v widths, `int()` truncation of a float product:
 *   xlstm/xlstm_large/model.py mLSTMLayer.__init__:
 *     `self.qk_dim = int(self.config.embedding_dim * self.config.qk_dim_factor)`
 *     `self.v_dim = int(self.config.embedding_dim * self.config.v_dim_factor)`
 * so 90 * 0.7 = 62.99999999999999 -> 62.
 */
export function truncFloatProduct(a: number, b: number): number {
  return Math.trunc(a * b);
}

/**
 * xLSTMLMModel up-projections (mLSTM inner dim, sLSTM-block FFN width), a true ceiling:
 *   xlstm/utils.py UpProjConfigMixin._set_proj_up_dim:
 *     `proj_up_dim = self.proj_factor * embedding_dim`
 *     `multiple_of_multiplier = proj_up_dim / self.round_proj_up_to_multiple_of`
 *     `multiple_of_multiplier = math.ceil(multiple_of_multiplier)` (`math.floor` when not round_proj_up_dim_up)
 *     `self._proj_up_dim = int(multiple_of_multiplier * self.round_proj_up_to_multiple_of)`
 * so 48 * 2.6667 = 128.0016 -> 192 here.
 */
export function upProjDim(projFactor: number, embeddingDim: number, multipleOf: number, roundUp: boolean): number {
  const multiplier = (projFactor * embeddingDim) / multipleOf;
  return (roundUp ? Math.ceil(multiplier) : Math.floor(multiplier)) * multipleOf;
}
