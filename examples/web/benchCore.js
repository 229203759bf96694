// The measurements of the browser bench, shared by the page (bench-worker.js, library from
// dist/browser) and Node (scripts/bench-browser.mjs, library from dist/src), so both run the
// same code on the same sizes: TiRex forecasts/s (released architecture, 12 sLSTM blocks x
// 512, random weights) and xLSTM Large decode and prefill tokens/s (random weights).
export const TIREX_CONFIG = {
  model_config: {
    input_patch_size: 32, output_patch_size: 32, quantiles: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    block_kwargs: { embedding_dim: 512, num_heads: 4, num_blocks: 12, ffn_proj_factor: 2.6667 }, input_ff_dim: 2048,
  },
  train_ctx_len: 2048,
};
/** A small LM (about 33M parameters): decode speed is bound by the same kernels as xLSTM-7B's. */
export const LM_CONFIG = { embedding_dim: 512, num_heads: 4, num_blocks: 6, vocab_size: 16384, weight_mode: 'single', mode: 'inference' };

function lcg(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
}

function randomTiRex(lib, backend, hp) {
  const cfg = lib.resolveTiRexConfig(hp, 'bench');
  const rnd = lcg(7);
  const tensors = new Map();
  for (const [name, shape] of lib.tirexWeightTable(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    if (/norm_slstm\.weight$|norm_ffn\.weight$|^out_norm\.weight$/.test(name)) d.fill(1);
    else if (shape.length === 1) for (let i = 0; i < n; i++) d[i] = 0.2 * rnd();
    else { const sc = 2 / Math.sqrt(shape[shape.length - 1]); for (let i = 0; i < n; i++) d[i] = sc * rnd(); }
    tensors.set(name, new lib.Tensor('f32', shape, d));
  }
  return lib.TiRex.fromTensors(hp, tensors, { backend });
}

/** Best of `runs` timings of fn (ms), after one warm-up call. */
function best(fn, runs) {
  fn();
  let b = Infinity;
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); fn(); b = Math.min(b, performance.now() - t0); }
  return b;
}

/**
 * Runs the bench on a backend of `threads` threads; returns rows { name, value, unit }.
 * `quick`: 2-block models and one run each, to check the bench itself (not for numbers).
 */
export async function runBench(lib, { threads, quick = false, wasmBaseUrl } = {}) {
  const backend = await lib.WasmBackend.create({ threads, initialMemoryBytes: 256 << 20, ...(wasmBaseUrl ? { wasmBaseUrl } : {}) });
  const rows = [];
  const runs = quick ? 1 : 3;
  const tirexHp = quick
    ? { ...TIREX_CONFIG, model_config: { ...TIREX_CONFIG.model_config, block_kwargs: { ...TIREX_CONFIG.model_config.block_kwargs, num_blocks: 2 } } }
    : TIREX_CONFIG;
  const lmHp = quick ? { ...LM_CONFIG, num_blocks: 2, vocab_size: 2048 } : LM_CONFIG;
  const tirexName = `TiRex ${tirexHp.model_config.block_kwargs.num_blocks}x${tirexHp.model_config.block_kwargs.embedding_dim}`;
  const lmName = `LM ${lmHp.num_blocks}x${lmHp.embedding_dim} V=${lmHp.vocab_size}`;
  try {
    const tirex = await randomTiRex(lib, backend, tirexHp);
    try {
      const rnd = lcg(3);
      const ctx = quick ? 256 : 1024;
      for (const B of quick ? [1] : [1, 16]) {
        const series = Array.from({ length: B }, (_, i) => Float32Array.from({ length: ctx }, (_, t) => 10 + i + 3 * Math.sin(t / (5 + (i % 7))) + rnd()));
        const ms = best(() => tirex.forecast(series, { predictionLength: 32 }), runs);
        rows.push({ name: `${tirexName} forecast B=${B} ctx=${ctx} H=32`, value: B / (ms / 1000), unit: 'forecasts/s' });
      }
    } finally { tirex.dispose(); }

    const cfg = lib.resolveXLSTMLargeConfig(lmHp);
    const lm = await lib.XLSTMLarge.fromSource(new lib.RandomXLSTMLargeSource(cfg, { seed: 1 }), cfg, { backend });
    try {
      const steps = quick ? 4 : 32;
      const decodeMs = best(() => {
        const st = lm.emptyState(1);
        for (let t = 0; t < steps; t++) lm.step([t % cfg.vocab_size], st);
        lib.disposeState(st);
      }, runs);
      rows.push({ name: `${lmName} decode B=1`, value: steps / (decodeMs / 1000), unit: 'tokens/s' });
      const S = quick ? 32 : 256;
      const prompt = [Array.from({ length: S }, (_, t) => (t * 7) % cfg.vocab_size)];
      const prefillMs = best(() => { const r = lm.forward(prompt, { logits: 'last' }); lib.disposeState(r.state); r.logits.dispose(); }, runs);
      rows.push({ name: `${lmName} prefill S=${S}`, value: S / (prefillMs / 1000), unit: 'tokens/s' });
    } finally { lm.dispose(); }
    return { threads: backend.threads, relaxedSimd: backend.features.relaxedSimd, rows };
  } finally { backend.dispose(); }
}
