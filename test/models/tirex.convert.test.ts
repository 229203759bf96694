// TiRex converter: the golden model.ckpt -> model.safetensors + config.json (function and
// `xlstm convert tirex` CLI); the converted folder forecasts exactly as the checkpoint does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { loadCase, GoldenCase } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { convertTiRexCheckpoint } from '../../src/models/tirex/convert.js';
import { runConvertTirex } from '../../src/cli/commands/convert.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';

const c: GoldenCase = loadCase('tirex');
const contexts = [...c.io.keys()].filter((k) => /^context_\d+$/.test(k)).map((n) => c.f32(n));
const H = c.shape('quantiles')[1];
let be: WasmBackend;
let dir: string;
before(async () => { be = await WasmBackend.create({ threads: 2 }); dir = mkdtempSync(join(tmpdir(), 'tirex-convert-')); });
after(() => { be.dispose(); rmSync(dir, { recursive: true, force: true }); });

test('convertTiRexCheckpoint: converted folder loads and forecasts identically to model.ckpt', async () => {
  const out = join(dir, 'a');
  const r = await convertTiRexCheckpoint(join(c.dir, 'model.ckpt'), out);
  assert.equal(r.tensors, c.model().size);
  const cfg = JSON.parse(readFileSync(r.configPath, 'utf8'));
  assert.deepEqual(Object.keys(cfg).sort(), ['model_config', 'train_ctx_len']);
  assert.deepEqual(cfg.model_config.quantiles, c.config.model_config.quantiles);
  assert.equal(cfg.train_ctx_len, c.config.train_ctx_len);
  const sf = await SafetensorsFile.open(r.safetensorsPath);
  try { assert.ok(sf.names().every((n) => !n.startsWith('block_stack.')), 'legacy prefix stripped'); } finally { await sf.close(); }
  const a = await TiRex.fromPretrained(join(c.dir, 'model.ckpt'), { backend: be });
  const b = await TiRex.fromPretrained(out, { backend: be });
  try {
    assert.deepEqual(b.config, a.config);
    const fa = a.forecast(contexts, { predictionLength: H }), fb = b.forecast(contexts, { predictionLength: H });
    assert.deepEqual(fb.quantileData, fa.quantileData);
    assert.ok(fb.quantileData.every(Number.isFinite));
  } finally { a.dispose(); b.dispose(); }
  await assert.rejects(convertTiRexCheckpoint(join(c.dir, 'model.ckpt'), out), /model\.safetensors' exists \(pass overwrite/);
  await convertTiRexCheckpoint(join(c.dir, 'model.ckpt'), out, { overwrite: true });
  await assert.rejects(convertTiRexCheckpoint(join(c.dir, 'nope.ckpt'), join(dir, 'x')), /checkpoint '.*nope\.ckpt' does not exist/);
  await assert.rejects(convertTiRexCheckpoint(join(c.dir, 'model.safetensors'), join(dir, 'y')), /convertTiRexCheckpoint|zip|pickle/i);
});

test('bf16 storage halves the file and stays close', async () => {
  const out = join(dir, 'bf16');
  const r = await convertTiRexCheckpoint(join(c.dir, 'model.ckpt'), out, { storeAs: 'bf16' });
  const f32 = await convertTiRexCheckpoint(join(c.dir, 'model.ckpt'), join(dir, 'f32'));
  assert.ok(r.bytes < 0.6 * f32.bytes, `${r.bytes} vs ${f32.bytes}`);
  const m = await TiRex.fromPretrained(out, { backend: be });
  try {
    const f = m.forecast(contexts, { predictionLength: H, rawQuantiles: true });
    const g = c.f32('quantiles');
    let worst = 0;
    for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(f.quantileData[i] - g[i]) / (Math.abs(g[i]) + 1));
    assert.ok(worst < 0.1, `bf16 weights drift ${worst}`);
  } finally { m.dispose(); }
});

test('runConvertTirex and the xlstm CLI', async () => {
  let text = '';
  await runConvertTirex({ ckpt: join(c.dir, 'model.ckpt'), out: join(dir, 'cli') }, { stdout: { write: (s: string) => { text += s; } } });
  assert.match(text, /wrote .*model\.safetensors \(\d+ tensors, \d+ parameters, f32/);
  await assert.rejects(runConvertTirex({ ckpt: join(c.dir, 'model.ckpt'), out: join(dir, 'cli2'), dtype: 'int4' }), /--dtype must be f32, bf16 or f16, got 'int4'/);
  const bin = join(process.cwd(), 'dist/src/cli/bin.js');
  if (!existsSync(bin)) return;
  const out = join(dir, 'bin');
  const stdout = execFileSync(process.execPath, [bin, 'convert', 'tirex', '--ckpt', join(c.dir, 'model.ckpt'), '--out', out], { encoding: 'utf8' });
  assert.match(stdout, /wrote /);
  assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'config.json')));
  let err = '';
  try { execFileSync(process.execPath, [bin, 'convert', 'tirex', '--ckpt', join(dir, 'missing.ckpt'), '--out', join(dir, 'z')], { encoding: 'utf8', stdio: 'pipe' }); } catch (e) { err = String((e as { stderr: string }).stderr); }
  assert.match(err, /^xlstm: convert tirex --ckpt '.*missing\.ckpt': convertTiRexCheckpoint: checkpoint .* does not exist/);
});
