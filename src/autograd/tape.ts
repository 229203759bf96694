// A small tape-based reverse-mode autodiff engine (micrograd style, over whole tensors).
//
// A Tape runs in one precision: 'f32' (forward on the wasm kernels, gradients in f32) or
// 'f64' (forward on the float64 reference functions of src/backend/ref, gradients in f64).
// The f64 tape is the ground truth: gradient checks compare it with central finite
// differences, and the f32 tape is compared with it. Every op records one node: its output
// Var, its inputs, and a closure that receives the output gradient and accumulates the
// inputs' gradients (tape.accumulate). backward() walks the nodes in reverse order.
import { Tensor } from '../tensor/tensor.js';
import { numel, shapeStr } from '../tensor/dtype.js';
import type { WasmBackend } from '../backend/wasm/backend.js';

export type TapeDType = 'f32' | 'f64';
/** Gradient / value storage of a tape: Float32Array on an f32 tape, Float64Array on an f64 tape. */
export type Arr = Float32Array | Float64Array;

/** A value in the graph: a tensor, and its gradient once backward() has reached it. */
export class Var {
  /** Gradient of the loss w.r.t. value (same shape, the tape's dtype), null until backward reaches it. */
  grad: Tensor | null = null;
  constructor(readonly value: Tensor, readonly requiresGrad: boolean, readonly name?: string) {}
  get shape(): readonly number[] { return this.value.shape; }
  get size(): number { return this.value.size; }
  /** The value as a flat f32 or f64 array (the tensor's data for f32/f64 tensors). */
  get data(): Arr {
    const d = this.value.data;
    return d instanceof Float32Array || d instanceof Float64Array ? d : this.value.toFloat32();
  }
  /** Clears the gradient (between optimiser steps when gradients are not accumulated). */
  zeroGrad(): void { this.grad = null; }
}

/** A trainable leaf: the optimiser updates `value` in place. `decay` = false puts it in the no-weight-decay group. */
export class Parameter extends Var {
  constructor(value: Tensor, name?: string, readonly decay = true) {
    if (value.dtype !== 'f32' && value.dtype !== 'f64') throw new TypeError(`Parameter${name ? ` ${name}` : ''}: value must be f32 or f64, got ${value.dtype}`);
    super(value, true, name);
  }
}

interface Node {
  out: Var;
  inputs: readonly Var[];
  backward: (dy: Arr) => void;
}

export class Tape {
  private nodes: Node[] = [];
  /** Outputs of the recorded nodes while backward() runs (their gradients are freed there). */
  private intermediates: Set<Var> | null = null;
  constructor(readonly be: WasmBackend | null, readonly dtype: TapeDType = 'f32') {
    if (dtype === 'f32' && !be) throw new TypeError('Tape: an f32 tape needs a WasmBackend (the f64 tape runs on the reference functions and takes null)');
  }

  /** The backend of an f32 tape (throws on an f64 tape, whose ops must not call it). */
  get wasm(): WasmBackend {
    if (!this.be) throw new Error('Tape: no wasm backend on this tape');
    return this.be;
  }

  /** A flat zeroed array of the tape's dtype. */
  zeros(n: number): Arr { return this.dtype === 'f64' ? new Float64Array(n) : new Float32Array(n); }

  /** A tensor of the tape's dtype from a flat array (copied into the tape's precision when needed). */
  tensor(shape: readonly number[], data: ArrayLike<number>): Tensor {
    if (data.length !== numel(shape)) throw new RangeError(`Tape.tensor: shape ${shapeStr(shape)} needs ${numel(shape)} values, got ${data.length}`);
    if (this.dtype === 'f64') return new Tensor('f64', shape, data instanceof Float64Array ? data : Float64Array.from(data));
    return new Tensor('f32', shape, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** A leaf input (no gradient unless requiresGrad). Values are converted to the tape's dtype. */
  input(t: Tensor, requiresGrad = false, name?: string): Var {
    return new Var(this.convert(t), requiresGrad, name);
  }

  /** A trainable leaf on this tape's precision. */
  param(t: Tensor, name?: string, decay = true): Parameter { return new Parameter(this.convert(t), name, decay); }

  private convert(t: Tensor): Tensor {
    if (t.dtype === this.dtype) return t;
    return this.tensor(t.shape, this.dtype === 'f64' ? t.toFloat64() : t.toFloat32());
  }

  /**
   * Records an op: `out` computed from `inputs`; `backward(dy)` must call accumulate() for
   * every input that needs a gradient. Ops whose inputs need no gradient record nothing.
   * `dy` is only valid during the call (on an f32 tape it may be a wasm heap block that is
   * freed right after): copy it (accumulate does) rather than keep it.
   */
  record(out: Tensor, inputs: readonly Var[], backward: (dy: Arr) => void, name?: string): Var {
    const needs = inputs.some((v) => v.requiresGrad);
    const v = new Var(out, needs, name);
    if (needs) this.nodes.push({ out: v, inputs, backward });
    return v;
  }

  /** grad(v) += g (g flat, v's size). Inputs without requiresGrad are skipped. */
  accumulate(v: Var, g: ArrayLike<number>): void {
    if (!v.requiresGrad) return;
    if (g.length !== v.size) throw new RangeError(`Tape.accumulate: gradient of ${v.name ?? 'a var'} has ${g.length} values, its value ${shapeStr(v.shape)} has ${v.size}`);
    // the first gradient is a copy (no zero-fill and add pass); later ones are added
    if (!v.grad) { v.grad = this.tensor(v.shape, this.dtype === 'f32' ? (g instanceof Float32Array ? g.slice() : Float32Array.from(g)) : (g instanceof Float64Array ? g.slice() : Float64Array.from(g))); return; }
    const d = v.grad.data as Arr;
    if (d instanceof Float32Array && g instanceof Float32Array) addInto32(d, g);
    else if (d instanceof Float64Array && g instanceof Float64Array) addInto64(d, g);
    else for (let i = 0; i < d.length; i++) d[i] += g[i];
  }

  /**
   * As accumulate, for a gradient the caller hands over: a fresh array of the tape's dtype, or
   * a wasm heap tensor (f32 tape) that this call takes ownership of. When v has no gradient yet
   * it becomes v.grad itself (no zero-fill and add pass over a large tensor). A heap tensor
   * only becomes the gradient of an intermediate (an op's output during backward), which
   * backward() frees once consumed; leaves get a JS copy, since parameters keep their gradients.
   */
  accumulateOwned(v: Var, g: Arr | Tensor): void {
    if (g instanceof Tensor) {
      const d = g.data as Float32Array;
      if (v.requiresGrad && !v.grad && d.length === v.size && this.dtype === 'f32' && this.intermediates?.has(v)) {
        v.grad = new Tensor('f32', v.shape, d, { release: () => g.dispose() });
        return;
      }
      try { this.accumulate(v, d); } finally { g.dispose(); }
      return;
    }
    if (v.requiresGrad && !v.grad && g.length === v.size && (this.dtype === 'f32' ? g instanceof Float32Array : g instanceof Float64Array)) {
      v.grad = this.tensor(v.shape, g);
      return;
    }
    this.accumulate(v, g);
  }

  /** Number of recorded nodes (ops that need gradients). */
  get length(): number { return this.nodes.length; }

  /**
   * Reverse pass from `loss` (a scalar unless `seed` gives its gradient). Gradients add to
   * the leaves' existing .grad (gradient accumulation); intermediate grads are freed.
   * The tape is consumed: call clear() or build a new tape for the next step.
   */
  backward(loss: Var, seed?: ArrayLike<number>): void {
    if (!seed && loss.size !== 1) throw new RangeError(`backward: loss must be a scalar (1 element) or a seed gradient given, got shape ${shapeStr(loss.shape)}`);
    if (!loss.requiresGrad) throw new Error('backward: loss does not depend on any Var with requiresGrad');
    const s = seed ?? [1];
    // Leaves keep their .grad across calls (accumulation); intermediates start from zero.
    const outs = new Set(this.nodes.map((n) => n.out));
    for (const n of this.nodes) n.out.grad = null;
    if (outs.has(loss)) loss.grad = null;
    this.accumulate(loss, s);
    outs.delete(loss); // the loss keeps its (JS) gradient
    this.intermediates = outs;
    try {
      for (let k = this.nodes.length - 1; k >= 0; k--) {
        const n = this.nodes[k];
        const g = n.out.grad;
        if (!g) continue; // does not reach the loss
        n.backward(g.data as Arr);
        // consumed: free it now (a wasm heap block when a kernel produced it)
        if (n.out !== loss) { n.out.grad = null; g.dispose(); }
      }
    } finally {
      // gradients left on outputs that never reached the loss's path are freed as well
      for (const v of outs) if (v.grad) { v.grad.dispose(); v.grad = null; }
      this.intermediates = null;
      this.nodes = [];
    }
  }

  /** Drops the recorded nodes without a backward pass (e.g. after an evaluation forward). */
  clear(): void { this.nodes = []; }
}

// one loop per array type: V8 compiles each for a single element kind (a shared loop over
// ArrayLike<number> goes megamorphic and runs several times slower on large gradients)
function addInto32(d: Float32Array, g: Float32Array): void { for (let i = 0; i < d.length; i++) d[i] += g[i]; }
function addInto64(d: Float64Array, g: Float64Array): void { for (let i = 0; i < d.length; i++) d[i] += g[i]; }
