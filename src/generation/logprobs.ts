// Log-probabilities under the model's raw distribution (softmax of the logits as the
// model returns them: no temperature, no top-k/top-p), always in float64 so that sums
// over long sequences (NLL, G-NLL, perplexity) do not pick up float32 rounding.

/** One token and its log-probability. */
export interface TokenLogprob {
  token: number;
  logprob: number;
}

/** log(sum(exp(logits[off .. off+V)))) in float64; throws on NaN so bad logits never pass silently. */
export function logSumExp(logits: Float32Array, off: number, V: number, where = 'logits'): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) {
    const x = logits[off + v];
    if (Number.isNaN(x)) throw new RangeError(`${where}: logit of token ${v} is NaN`);
    if (x > max) max = x;
  }
  if (max === Infinity) throw new RangeError(`${where}: a logit is +Infinity`);
  if (max === -Infinity) throw new RangeError(`${where}: every logit is -Infinity`);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[off + v] - max);
  return max + Math.log(s);
}

/** log p(token) = logit - logSumExp, in float64. */
export function tokenLogprob(logits: Float32Array, off: number, token: number, lse: number): number {
  return logits[off + token] - lse;
}

/**
 * The n most likely tokens (descending; equal logits in ascending id order), by a
 * partial selection that keeps the n best seen so far (n is small: alternatives to show).
 */
export function topLogprobs(logits: Float32Array, off: number, V: number, n: number, lse: number): TokenLogprob[] {
  const k = Math.min(n, V);
  const best: number[] = []; // token ids, sorted best first
  const better = (a: number, b: number) => logits[off + a] > logits[off + b] || (logits[off + a] === logits[off + b] && a < b);
  for (let v = 0; v < V && k > 0; v++) {
    if (best.length === k && !better(v, best[k - 1])) continue;
    let i = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push(v);
    while (i > 0 && better(v, best[i - 1])) { best[i] = best[i - 1]; i--; }
    best[i] = v;
  }
  return best.map((t) => ({ token: t, logprob: logits[off + t] - lse }));
}
