// `npm run bench -- serve`: the two claims of xlstm serve, measured over loopback HTTP with
// the server in this process.
// - Sessions: continuing a 2,000-token conversation from its stored recurrent state (only
//   the new tokens are read) against resending the whole history, one generated token each
//   (the generated tokens cost the same either way; the prompt is what a session saves),
//   on the tiny xLSTM Large
//   test fixture (prefill cost grows with the tokens read for any model size, so the ratio is
//   what carries over; absolute times are the fixture's).
// - Dynamic batching: forecast requests per second from 64 concurrent clients against one
//   client at a time, with the shipped default forecaster (series of 512, horizon 32), and
//   p50/p99 latency of the concurrent run; the clients run in a child process
//   (bench/serveClient.ts).
// Runs alone with `node --experimental-wasm-relaxed-simd dist/bench/serve.js [--quick]`.
import { mkdtempSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WasmBackend } from '../src/backend/wasm/backend.js';
import { createServer } from '../src/serve/server.js';
import { resolveXLSTMLargeConfig } from '../src/models/xlstmLarge/config.js';
import { xlstmLargeTensorSpecs, fillRandomF32 } from '../src/models/xlstmLarge/randomWeights.js';
import { writeSafetensorsFile } from '../src/io/safetensorsWrite.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { BenchRow } from './report.js';

export interface ServeBenchOptions { quick: boolean; threads?: number }

async function postJson(url: string, body: unknown): Promise<any> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/**
 * A model folder for the session bench: the tiny golden fixture (E=128, 2 blocks: the fixed
 * per-request cost dominates) or, with `size`, the fixture's config scaled up with random
 * weights, where the per-token compute that a session saves is what a real model spends.
 */
async function sessionModelDir(size?: { embeddingDim: number; numBlocks: number }): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'xlstm-bench-serve-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join('test/fixtures/tokenizer', f), join(root, f));
  if (!size) {
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join('test/fixtures/xlstm_large_hf', f), join(root, f));
    return root;
  }
  const raw = JSON.parse(readFileSync('test/fixtures/xlstm_large_hf/config.json', 'utf8'));
  Object.assign(raw, { hidden_size: size.embeddingDim, embedding_dim: size.embeddingDim, num_hidden_layers: size.numBlocks, num_blocks: size.numBlocks });
  writeFileSync(join(root, 'config.json'), JSON.stringify(raw, null, 2));
  const { architectures: _a, model_type: _m, hidden_size: _h, num_hidden_layers: _n, tie_word_embeddings: _t, use_cache: _u, pad_token_id: _p, bos_token_id: _b, eos_token_id: _e, max_inference_chunksize: _c, torch_dtype: _d, ...native } = raw;
  const cfg = resolveXLSTMLargeConfig(native);
  const tensors: Record<string, Tensor> = {};
  xlstmLargeTensorSpecs(cfg).forEach((spec, i) => {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    fillRandomF32(spec, 1000 + i, data);
    tensors[spec.name] = Tensor.fromArray(data, spec.shape);
  });
  await writeSafetensorsFile(join(root, 'model.safetensors'), tensors);
  return root;
}

export async function benchSessions(opts: ServeBenchOptions): Promise<BenchRow[]> {
  const tiny = await benchSessionsOn(opts, undefined);
  // E=512, 8 blocks (about 30M parameters): small beside xLSTM-7B, but large enough that tokens cost more than the request
  return [...tiny, ...await benchSessionsOn(opts, { embeddingDim: 512, numBlocks: 8 })];
}

async function benchSessionsOn(opts: ServeBenchOptions, size: { embeddingDim: number; numBlocks: number } | undefined): Promise<BenchRow[]> {
  const threads = opts.threads ?? 1;
  const root = await sessionModelDir(size);
  const label = size ? `E${size.embeddingDim}x${size.numBlocks} random` : 'tiny fixture E128x2';
  const server = await createServer({ forecaster: false, lm: root, threads, limits: { maxPromptTokens: 4096 } });
  const url = await server.listen({ port: 0 });
  try {
    const historyTokens = 2000;
    // a deterministic 2,000-token history (ids of the fixture's byte-level vocabulary)
    const history = Array.from({ length: historyTokens }, (_, i) => 3 + ((i * 37) % 95));
    const newText = ' and what happened next?';
    const reps = opts.quick ? 3 : 7;
    const cont: number[] = [], full: number[] = [];
    let newTokens = 0;
    for (let r = 0; r < reps; r++) {
      const sid = `bench-${r}`;
      const first = await postJson(`${url}/v1/completions`, { prompt: history, max_tokens: 1, temperature: 0, session_id: sid });
      let t = performance.now();
      const c = await postJson(`${url}/v1/completions`, { prompt: newText, max_tokens: 1, temperature: 0, session_id: sid });
      cont.push(performance.now() - t);
      newTokens = c.usage.prompt_tokens;
      const whole = [...history, ...first.xlstm.token_ids, ...server.context.lm!.tokenizer.encode(newText, { addBos: false })];
      t = performance.now();
      await postJson(`${url}/v1/completions`, { prompt: whole, max_tokens: 1, temperature: 0 });
      full.push(performance.now() - t);
    }
    const bc = Math.min(...cont), bf = Math.min(...full);
    return [
      { topic: 'serve', name: `${label}: session continue (${newTokens} new tokens, 1 generated)`, threads, value: bc, unit: 'ms', extra: { medianMs: median(cont) } },
      { topic: 'serve', name: `${label}: resend ${historyTokens + newTokens} tokens (1 generated)`, threads, value: bf, unit: 'ms', extra: { medianMs: median(full) } },
      { topic: 'serve', name: `${label}: session speed-up (resend / continue)`, threads, value: bf / bc, unit: 'x', extra: { goal: 20, ofMedians: median(full) / median(cont) } },
    ];
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function benchBatching(opts: ServeBenchOptions): Promise<BenchRow[]> {
  const threads = opts.threads ?? 1;
  const server = await createServer({ threads, batchWindowMs: 2 });
  const url = `${await server.listen({ port: 0 })}/forecast/quantiles`;
  try {
    const clients = 64, perClient = opts.quick ? 2 : 4, nSeq = opts.quick ? 32 : 64;
    const before = await batchCounts(url);
    const client = fileURLToPath(new URL('./serveClient.js', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [client, url, String(nSeq), String(clients), String(perClient)], { maxBuffer: 1 << 24 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout)));
    });
    const after = await batchCounts(url);
    const r = JSON.parse(out) as { seqRps: number; conRps: number; latenciesMs: number[] };
    // the warm-up and one-at-a-time requests are one forecast call each; the rest were concurrent
    const solo = nSeq + 3;
    const perCall = (after.requests - before.requests - solo) / Math.max(1, after.calls - before.calls - solo);
    return [
      { topic: 'serve', name: 'forecast one client at a time', threads, value: r.seqRps, unit: 'req/s' },
      { topic: 'serve', name: `forecast ${clients} concurrent clients`, threads, value: r.conRps, unit: 'req/s', extra: { p50Ms: pct(r.latenciesMs, 0.5), p99Ms: pct(r.latenciesMs, 0.99), concurrentRequestsPerForecastCall: perCall } },
      { topic: 'serve', name: 'batching speed-up (concurrent / one at a time)', threads, value: r.conRps / r.seqRps, unit: 'x', extra: { goal: 3 } },
    ];
  } finally { await server.close(); }
}

/** Forecast calls and the requests they served so far, from the server's own /metrics. */
async function batchCounts(forecastUrl: string): Promise<{ calls: number; requests: number }> {
  const text = await (await fetch(forecastUrl.replace('/forecast/quantiles', '/metrics'))).text();
  const val = (name: string) => Number(text.split('\n').find((l) => l.startsWith(name + ' '))?.split(' ')[1] ?? 0);
  return { calls: val('xlstm_forecast_batch_requests_count'), requests: val('xlstm_forecast_batch_requests_sum') };
}

/** bench/index.ts topic "serve" (the servers make their own backends). */
export async function benchServe(_backends: WasmBackend[], opts: { quick: boolean }): Promise<BenchRow[]> {
  return [...await benchSessions(opts), ...await benchBatching(opts)];
}

if (process.argv[1] && process.argv[1].endsWith('/bench/serve.js')) {
  const quick = process.argv.includes('--quick');
  const rows = await benchServe([], { quick });
  for (const r of rows) console.log(`${r.name.padEnd(52)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${r.extra ? ` ${JSON.stringify(r.extra)}` : ''}`);
}
