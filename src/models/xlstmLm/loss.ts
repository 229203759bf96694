// The language-model loss of the official training loop: mean cross-entropy of the logits
// at positions 0..S-2 against the next tokens 1..S-1 over all B*(S-1) positions
// (torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))).
import type { Tensor } from '../../tensor/tensor.js';

/** logits [B, S, V] (f32), ids [B][S] -> mean next-token cross-entropy (computed in f64). */
export function nextTokenCrossEntropy(logits: Tensor, ids: readonly (readonly number[])[]): number {
  if (logits.rank !== 3) throw new RangeError(`nextTokenCrossEntropy: logits has shape [${logits.shape.join(', ')}], expected [B, S, V]`);
  const [B, S, V] = logits.shape;
  if (ids.length !== B || ids.some((r) => r.length !== S)) throw new RangeError(`nextTokenCrossEntropy: ids must be [${B}][${S}] like the logits`);
  if (S < 2) throw new RangeError(`nextTokenCrossEntropy: needs S >= 2 positions, got ${S}`);
  const d = logits.toFloat32();
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S - 1; s++) {
      const o = (b * S + s) * V;
      const t = ids[b][s + 1];
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new RangeError(`nextTokenCrossEntropy: ids[${b}][${s + 1}] = ${t} is not a token id (0 <= id < ${V})`);
      let mx = -Infinity;
      for (let v = 0; v < V; v++) mx = Math.max(mx, d[o + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(d[o + v] - mx);
      total += mx + Math.log(sum) - d[o + t];
    }
  }
  return total / (B * (S - 1));
}
