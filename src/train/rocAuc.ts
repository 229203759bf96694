// The area under the ROC curve of binary scores: the probability that a random positive scores
// above a random negative (ties count one half), i.e. the Mann-Whitney U statistic / (P N). It
// measures whether the scores still rank the classes when the decision threshold has moved, so
// an accuracy at chance with a high AUC means "the information is there, the bias shifted".
import { ArgumentError } from '../errors.js';

/** ROC AUC of `scores` for `labels` (0/1, same length, both classes present); NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new ArgumentError(`rocAuc: scores has ${n} entries, labels ${labels.length}`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0, rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const midRank = (i + j) / 2 + 1;  // 1-based average rank of the tie group
    for (let k = i; k <= j; k++) {
      const l = labels[order[k]];
      if (l !== 0 && l !== 1) throw new ArgumentError(`rocAuc: labels must be 0 or 1, got ${l} at index ${order[k]}`);
      if (l === 1) { pos++; rankSumPos += midRank; }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - pos * (pos + 1) / 2) / (pos * neg);
}
