// Small building blocks shared by every family's model definition: linear layers with an
// optional bias, norms with an optional bias, gated feed-forwards (SwiGLU and the other
// activations of the xLSTM FFN), the TiRex residual MLP, inverted dropout, token embedding
// and the next-token loss. Each block is written once against the autograd Tape: with
// Parameters it trains; with plain inputs (tape.input) the tape records nothing and the same
// call is an inference forward on the wasm kernels (f32 tape) or the float64 reference (f64).
// Weights are passed as Vars; a block never knows official tensor names (the family's
// model definition maps names from its weight table to block weights).
import { Tensor } from '../tensor/tensor.js';
import type { Tape, Var } from '../autograd/tape.js';
import * as ag from '../autograd/ops.js';
import type { Rng } from '../random/rng.js';

/** A linear layer: y = x W^T (+ b). */
export interface LinearW { weight: Var; bias?: Var }

export const linear = (t: Tape, x: Var, w: LinearW): Var => ag.linear(t, x, w.weight, w.bias);

/** A norm's affine part: weight (and bias). */
export interface NormW { weight?: Var; bias?: Var }

/** RMSNorm over the last dim (x * rsqrt(mean x^2 + eps) * w), plus the bias when there is one (xLSTM Large use_bias). */
export function rmsNorm(t: Tape, x: Var, w: NormW, eps: number): Var {
  const y = ag.rmsNorm(t, x, { eps, weight: w.weight });
  return w.bias ? ag.add(t, y, w.bias) : y;
}

/** The xLSTM library's LayerNorm: weight applied as 1 + w (weight offset), no bias. */
export const layerNormOffset = (t: Tape, x: Var, weight: Var | undefined, eps: number): Var => ag.layerNorm(t, x, { eps, weight, weightOffset: true });

/** Activations of gated feed-forwards (the xLSTM FeedForward act_fn names; 'swish' = silu). */
export type GateActivation = 'gelu' | 'relu' | 'relu^2' | 'sigmoid' | 'swish' | 'silu';

export function gateActivation(t: Tape, fn: GateActivation | string, x: Var): Var {
  switch (fn) {
    case 'gelu': return ag.gelu(t, x);
    case 'relu': return ag.relu(t, x);
    case 'relu^2': { const r = ag.relu(t, x); return ag.mul(t, r, r); }
    case 'sigmoid': return ag.sigmoid(t, x);
    case 'swish': case 'silu': return ag.silu(t, x);
    default: throw new RangeError(`gated feed-forward: act_fn ${JSON.stringify(fn)} is not supported`);
  }
}

/**
 * Gated feed-forward: down(act(gate x) * (up x)). The up projections come as two matrices
 * (`gate`, `up`: TiRex, xLSTM Large "single") or as one [2U, E] matrix whose rows are gate | up
 * (`both`: xLSTMLMModel proj_up, xLSTM Large "fused" proj_up_gate_z).
 */
export interface GatedFfnW { gate?: LinearW; up?: LinearW; both?: LinearW; down: LinearW }

export function gatedFfn(t: Tape, x: Var, w: GatedFfnW, act: GateActivation | string = 'silu', dropout?: (v: Var) => Var): Var {
  let g: Var, u: Var;
  if (w.both) {
    const both = linear(t, x, w.both);
    const U = both.shape[both.shape.length - 1] / 2, ax = both.shape.length - 1;
    g = ag.slice(t, both, ax, 0, U); u = ag.slice(t, both, ax, U, 2 * U);
  } else {
    if (!w.gate || !w.up) throw new RangeError('gatedFfn: weights need gate and up, or both');
    g = linear(t, x, w.gate); u = linear(t, x, w.up);
  }
  const y = linear(t, ag.mul(t, gateActivation(t, act, g), u), w.down);
  return dropout ? dropout(y) : y;
}

/** Two-layer MLP: down(act(up x)) (the pLSTM vision PostUpProjectionBlock, ViT MLP, TiRex-2 attention FFN). */
export interface MlpW { up: LinearW; down: LinearW }

export function mlp(t: Tape, x: Var, w: MlpW, act: GateActivation | string): Var {
  return linear(t, gateActivation(t, act, linear(t, x, w.up)), w.down);
}

/** TiRex ResidualBlock: out = W2 act(W1 x + b1) + b2 + (Wr x + br); act relu (TiRex) or silu (TiRex-2). */
export interface ResidualMlpW { hidden: LinearW; output: LinearW; residual: LinearW }

export function residualMlp(t: Tape, x: Var, w: ResidualMlpW, act: GateActivation | string = 'relu'): Var {
  const hid = gateActivation(t, act, linear(t, x, w.hidden));
  return ag.add(t, linear(t, hid, w.output), linear(t, x, w.residual));
}

/** Inverted dropout with probability p (identity without an RNG, i.e. in evaluation, or with p = 0). */
export function dropout(t: Tape, x: Var, p: number, rng: Rng | undefined): Var {
  if (!rng || !(p > 0)) return x;
  if (!(p < 1)) throw new RangeError(`dropout: probability must be < 1, got ${p}`);
  const keep = 1 / (1 - p);
  const m = t.zeros(x.size);
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < p ? 0 : keep;
  return ag.mul(t, x, t.input(t.tensor(x.shape, m)));
}

/** Token embedding of ids (i32, [B * S] row-major) -> [B, S, E]; every id is checked against the table. */
export function tokenEmbedding(t: Tape, ids: Int32Array, B: number, S: number, table: Var, who: string): Var {
  const V = table.shape[0];
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(S) || S < 1) throw new RangeError(`${who}: B = ${B} and S = ${S} must be positive integers`);
  if (ids.length !== B * S) throw new RangeError(`${who}: ids has ${ids.length} entries, expected B*S = ${B}*${S}`);
  for (let j = 0; j < ids.length; j++) if (!(ids[j] >= 0 && ids[j] < V)) throw new RangeError(`${who}: ids[${j}] = ${ids[j]} is not a token id (0 <= id < vocab_size ${V})`);
  return ag.embedding(t, new Tensor('i32', [B, S], ids), table);
}

/**
 * Mean next-token cross-entropy of logits [B, S, V] against ids over the B*(S-1) positions
 * (the official LM loss; the last position has no target and is ignored rather than sliced
 * off, so the logits are not copied).
 */
export function nextTokenLoss(t: Tape, logits: Var, ids: Int32Array, B: number, S: number): Var {
  const targets = new Int32Array(B * S).fill(-100);
  for (let b = 0; b < B; b++) for (let s = 0; s < S - 1; s++) targets[b * S + s] = ids[b * S + s + 1];
  return ag.crossEntropy(t, logits, targets, { ignoreIndex: -100 });
}

/** Weights by official name, as the model definitions read them (Parameters, or plain inputs). */
export type WeightLookup = (name: string) => Var | undefined;

/** Weights by official name as a lookup, or as a map (e.g. a trainer's Parameters by name). */
export type WeightSource = WeightLookup | ReadonlyMap<string, Var>;

export const weightLookup = (w: WeightSource): WeightLookup => (typeof w === 'function' ? w : (name) => w.get(name));

/** The weight `name` (throws naming it when the lookup has none). */
export function need(W: WeightLookup, name: string): Var {
  const v = W(name);
  if (!v) throw new Error(`model definition: weight ${name} is missing`);
  return v;
}

/**
 * Tensors by official name as tape inputs that need no gradient: a model definition run with
 * these is an inference forward (the tape records nothing). Converted to the tape's dtype once.
 */
export function inputWeights(t: Tape, tensors: ReadonlyMap<string, Tensor>): WeightLookup {
  const cache = new Map<string, Var>();
  return (name) => {
    let v = cache.get(name);
    if (!v) {
      const x = tensors.get(name);
      if (!x) return undefined;
      v = t.input(x, false, name);
      cache.set(name, v);
    }
    return v;
  };
}
