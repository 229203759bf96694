// Host side of the wasm 2D scan kernels (src/backend/wasm/assembly/plstm.ts): all state-tracking
// dims 1 and DV a multiple of 4 (the official 2D default and the vision model's layer), at most 4
// orientations. Other shapes use the float64 reference (src/backend/ref/plstm.ts).
import type { WasmBackend } from '../../backend/wasm/backend.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Scan2dDims, Scan2dOrientation } from '../../backend/ref/plstm.js';

/** True when the wasm kernels cover these dims and orientations. */
export function wasm2dSupported(n: Scan2dDims, orients: readonly Scan2dOrientation[]): boolean {
  return n.JK === 1 && n.JQ === 1 && n.JV === 1 && n.JT === 1 && n.JO === 1 && n.DV % 4 === 0
    && orients.length >= 1 && orients.length <= 4
    && orients.every((o) => o.gateOffset >= 0 && o.gateOffset < 256 && o.gateStride >= 0 && o.gateStride < 256);
}

function packOrients(orients: readonly Scan2dOrientation[]): number[] {
  const enc = orients.map((o) => o.gateOffset | (o.gateStride << 8) | (o.flipX ? 1 << 16 : 0) | (o.flipY ? 1 << 17 : 0));
  while (enc.length < 4) enc.push(0);
  return enc;
}

/** Heap tensors of the kernel inputs (uploaded copies are disposed by `release`). */
export interface Wasm2dInputs {
  q: Tensor; k: Tensor; v: Tensor; sR: Tensor; sD: Tensor; tRL: Tensor; tDU: Tensor; tDL: Tensor | null; tRU: Tensor | null; mL: Tensor; mU: Tensor; d: Tensor | null;
}

export function uploadInputs(be: WasmBackend, x: { [K in keyof Wasm2dInputs]: Tensor | null }): { ins: Wasm2dInputs; release: () => void } {
  const owned: Tensor[] = [];
  const up = (t: Tensor | null): Tensor | null => {
    if (!t) return null;
    const f = t.dtype === 'f32' ? t : new Tensor('f32', t.shape, t.toFloat32());
    const u = be.upload(f);
    if (u !== t) owned.push(u);
    return u;
  };
  const ins = {
    q: up(x.q)!, k: up(x.k)!, v: up(x.v)!, sR: up(x.sR)!, sD: up(x.sD)!, tRL: up(x.tRL)!, tDU: up(x.tDU)!, tDL: up(x.tDL), tRU: up(x.tRU),
    mL: up(x.mL)!, mU: up(x.mU)!, d: up(x.d),
  };
  return { ins, release: () => owned.forEach((t) => t.dispose()) };
}

export interface Wasm2dForward { y: Tensor; stR: Tensor; stU: Tensor; zero: Tensor }

/** y [B, X, Y, H, DV] (heap) and, when `keep`, the states of every orientation for the backward pass. */
export function scan2dForwardWasm(be: WasmBackend, n: Scan2dDims, x: Wasm2dInputs, orients: readonly Scan2dOrientation[], keep: boolean): Wasm2dForward {
  const { B, X, Y, H, G, DK, DV } = n;
  const nO = orients.length, nS = keep ? nO : 1;
  const y = be.empty([B, X, Y, H, DV, 1]);
  const stR = be.empty([nS, B, H, X, Y, DK, DV]), stU = be.empty([nS, B, H, X, Y, DK, DV]);
  const zero = be.zeros([DK * DV]);
  const p = (t: Tensor | null) => (t ? be.ptr(t) : 0);
  be.run('plstm2dForward', [p(x.q), p(x.k), p(x.v), p(x.sR), p(x.sD), p(x.tRL), p(x.tDU), p(x.tDL), p(x.tRU), p(x.mL), p(x.mU), p(x.d),
    p(y), p(stR), p(stU), p(zero), B, X, Y, H, G, DK, DV, nO, ...packOrients(orients), keep ? 1 : 0], Math.min(be.threads, B * H));
  return { y, stR, stU, zero };
}

export interface Wasm2dGrads { q: Tensor; k: Tensor; v: Tensor; sR: Tensor; sD: Tensor; tRL: Tensor; tDU: Tensor; tDL: Tensor | null; tRU: Tensor | null; mL: Tensor; mU: Tensor; d: Tensor | null }

/** Gradients (heap tensors, owned by the caller) from dy [B, X, Y, H, DV]. */
export function scan2dBackwardWasm(be: WasmBackend, n: Scan2dDims, x: Wasm2dInputs, orients: readonly Scan2dOrientation[], fw: Wasm2dForward, dy: Float32Array): Wasm2dGrads {
  const { B, X, Y, H, G, DK, DV } = n;
  const nt = Math.min(be.threads, B * H);
  const dyT = be.upload(new Tensor('f32', [B, X, Y, H, DV], dy));
  const gate = () => be.zeros([B, X, Y, G]);
  const g: Wasm2dGrads = {
    q: be.empty([B, X, Y, H, DK, 1]), k: be.empty([B, X, Y, H, DK, 1]), v: be.empty([B, X, Y, H, DV, 1]),
    sR: gate(), sD: gate(), tRL: gate(), tDU: gate(), tDL: x.tDL ? gate() : null, tRU: x.tRU ? gate() : null, mL: gate(), mU: gate(),
    d: x.d ? be.empty([B, X, Y, H]) : null,
  };
  const scratch = be.empty([nt * 2 * X * Y * DK * DV]);
  const p = (t: Tensor | null) => (t ? be.ptr(t) : 0);
  try {
    const table = be.empty([29], 'i32');
    try {
      (table.data as Int32Array).set([p(x.q), p(x.k), p(x.v), p(x.sR), p(x.sD), p(x.tRL), p(x.tDU), p(x.tDL), p(x.tRU), p(x.mL), p(x.mU), p(x.d),
        p(fw.stR), p(fw.stU), p(fw.zero), p(dyT),
        p(g.q), p(g.k), p(g.v), p(g.sR), p(g.sD), p(g.tRL), p(g.tDU), p(g.tDL), p(g.tRU), p(g.mL), p(g.mU), p(g.d), p(scratch)]);
      be.run('plstm2dBackward', [be.ptr(table), B, X, Y, H, G, DK, DV, orients.length, ...packOrients(orients)], nt);
    } finally { table.dispose(); }
  } finally { scratch.dispose(); if (dyT.data !== dy) dyT.dispose(); }
  return g;
}
