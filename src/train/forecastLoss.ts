// Quantile (pinball) loss for patch forecasters, as a tape op: the mean over the scored
// target values of the mean over the quantile levels of
//   pinball(y, yhat, q) = max(q (y - yhat), (q - 1) (y - yhat)).
// Targets that are NaN (missing values, left padding, tokens with no observed history) are
// not scored; the loss is normalised by the number of scored values so batches with many
// missing values do not weigh less.
import { shapeStr } from '../tensor/dtype.js';
import { Tape, Var } from '../autograd/tape.js';

/** pinball(y, yhat, q) for one value (the definition the tape op uses). */
export function pinball(y: number, yhat: number, level: number): number {
  const e = y - yhat;
  return Math.max(level * e, (level - 1) * e);
}

export interface QuantileLossResult {
  /** Scalar [] on the tape. */
  loss: Var;
  /** Number of target values scored (NaN targets skipped). */
  scored: number;
}

/**
 * pred [B, T, Q*P] quantile-major per token (index q*P + p, the TiRex output layout);
 * target [B, T, P] flat (NaN = not scored); levels [Q]. Returns the mean over scored
 * (b, t, p) of the mean over q of the pinball loss. With nothing scored the loss is 0
 * (and its gradient 0), so an all-missing micro-batch does not break a step.
 */
export function quantileLoss(t: Tape, pred: Var, target: ArrayLike<number>, levels: readonly number[]): QuantileLossResult {
  const Q = levels.length;
  if (pred.shape.length !== 3) throw new RangeError(`quantileLoss: pred must have shape [B, T, Q*P], got ${shapeStr(pred.shape)}`);
  const [B, T, QP] = pred.shape;
  if (Q < 1 || QP % Q !== 0) throw new RangeError(`quantileLoss: pred's last dim ${QP} must be ${Q} levels x patch size`);
  const P = QP / Q;
  if (target.length !== B * T * P) throw new RangeError(`quantileLoss: target must have ${B * T * P} values ([${B}, ${T}, ${P}]), got ${target.length}`);
  for (const [i, q] of levels.entries()) if (!(q > 0 && q < 1)) throw new RangeError(`quantileLoss: levels[${i}] = ${q} must be in (0, 1)`);
  const yh = pred.data;
  let scored = 0, sum = 0;
  for (let r = 0; r < B * T; r++) {
    for (let p = 0; p < P; p++) {
      const y = target[r * P + p];
      if (Number.isNaN(y)) continue;
      scored++;
      for (let q = 0; q < Q; q++) sum += pinball(y, yh[r * QP + q * P + p], levels[q]);
    }
  }
  const norm = scored ? 1 / (scored * Q) : 0;
  const loss = t.record(t.tensor([], [sum * norm]), [pred], (dy) => {
    const g = t.zeros(pred.size);
    const s = dy[0] * norm;
    if (s !== 0) {
      for (let r = 0; r < B * T; r++) {
        for (let p = 0; p < P; p++) {
          const y = target[r * P + p];
          if (Number.isNaN(y)) continue;
          for (let q = 0; q < Q; q++) {
            const i = r * QP + q * P + p;
            // d/dyhat: -q below the target, 1 - q above (subgradient -q at equality)
            g[i] = s * (y >= yh[i] ? -levels[q] : 1 - levels[q]);
          }
        }
      }
    }
    t.accumulate(pred, g);
  }, 'quantileLoss');
  return { loss, scored };
}
