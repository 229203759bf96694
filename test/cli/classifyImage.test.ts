// `xlstm train` (model.kind plstm-vision / vit-vision) and `xlstm classify-image` end to end
// (child processes on dist/src/cli/bin.js): a tiny model trained for 2 steps is saved as a
// folder (official config.json + model.safetensors), then classifies PNG files of the training
// size and of twice the size; the probabilities equal a direct call on the loaded folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { arrowPointingConfig, arrowPointingSample, renderArrowPointing } from '../../src/data/arrowPointing.js';
import { encodePng, decodePng, pngToPixels } from '../../src/io/png.js';
import { classifyPixels } from '../../src/models/plstmVision/classifier.js';
import { plstmVisionConfigFromJson } from '../../src/models/plstmVision/config.js';
import { loadVisionModelFolder } from '../../src/cli/commands/trainVision.js';
import { resolveTrainConfig } from '../../src/cli/trainConfig.js';
import { ConfigError } from '../../src/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'xlstm-classify-image-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

function xlstm(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ARROWS = { image_size: [16, 16], min_radius: 2, max_radius: 3, boundary_padding: 2, arrow_length_min: 4, arrow_length_max: 8, n_samples: 64, seed: 5 };

for (const kind of ['plstm-vision', 'vit-vision']) {
  test(`xlstm train (${kind}) writes a loadable folder; classify-image runs on it at 1x and 2x the size`, async () => {
    const out = join(dir, kind);
    const cfg = {
      model: { kind, seed: 1, config: { dim: 8, num_heads: 2, patch_size: 4, num_blocks: 1 } },
      data: { arrow_pointing: ARROWS },
      optim: { lr: 0.003, steps: 2, batch_size: 4 },
      eval: { arrow_pointing: { image_sizes: [[16, 16], [32, 32]], count: 4 } },
      checkpoint: { dir: out }, log_every: 1, threads: 1,
    };
    const cfgPath = join(dir, `${kind}.json`);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const tr = xlstm('train', '--config', cfgPath, '--no-progress');
    assert.equal(tr.code, 0, tr.stderr);
    assert.match(tr.stderr, /eval @ step 2: acc_16x16 [\d.]+, loss_16x16 [\d.]+, auc_16x16 ([\d.]+|NaN), pos_16x16 [\d.]+, acc_32x32/);
    assert.ok(existsSync(join(out, 'model.safetensors')));
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    if (kind === 'plstm-vision') assert.equal(plstmVisionConfigFromJson(saved).dim, 8); // the official config format
    else assert.equal(saved.model_type, 'vit-vision');

    // PNGs of a sample at the training size and at twice the size (same objects, larger image)
    const files: string[] = [];
    for (const scale of [1, 2]) {
      const ap = arrowPointingConfig({ imageSize: [16 * scale, 16 * scale], minRadius: 2, maxRadius: 3, boundaryPadding: 2, arrowLengthMin: 4, arrowLengthMax: 8, seed: 9, nSamples: 4 });
      const img = renderArrowPointing(ap, arrowPointingSample(ap, 0));
      const f = join(dir, `${kind}-${scale}.png`);
      writeFileSync(f, encodePng({ width: 16 * scale, height: 16 * scale, channels: 1, data: img }));
      files.push(f);
    }
    const r = xlstm('classify-image', ...files, '--model', out, '--json', '--labels', 'no,yes');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    const { model, weights } = await loadVisionModelFolder(out);
    const be = await WasmBackend.create({ threads: 1 });
    try {
      lines.forEach((p, i) => {
        assert.equal(p.file, files[i]);
        assert.ok(['no', 'yes'].includes(p.label));
        const img = decodePng(readFileSync(files[i]));
        const direct = classifyPixels(be, model, weights, new Tensor('f32', [1, 1, img.height, img.width], pngToPixels(img, 1)));
        p.probabilities.forEach((v: number, k: number) => assert.ok(Math.abs(v - direct[k]) < 1e-6, `${files[i]} class ${k}: ${v} vs ${direct[k]}`));
        assert.ok(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5);
      });
    } finally { be.dispose(); }
    // tab-separated output without --json
    const plain = xlstm('classify-image', files[0], '--model', out);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`^${files[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\t[01]\\t0=[\\d.]+ 1=[\\d.]+\\n$`));
  });
}

test('classify-image errors: an image size that is not a multiple of the patch, a missing file, wrong --labels', () => {
  const out = join(dir, 'plstm-vision');
  assert.ok(existsSync(join(out, 'config.json')), 'needs the model folder written by the first test of this file');
  const odd = join(dir, 'odd.png');
  writeFileSync(odd, encodePng({ width: 18, height: 16, channels: 1, data: new Uint8Array(18 * 16).fill(255) }));
  const a = xlstm('classify-image', odd, '--model', out);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /odd\.png: image size 18x16 must be a multiple of the model's patch size 4/);
  const b = xlstm('classify-image', join(dir, 'nope.png'), '--model', out);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /nope\.png: cannot read/);
  const c = xlstm('classify-image', odd, '--model', out, '--labels', 'a,b,c');
  assert.equal(c.code, 1);
  assert.match(c.stderr, /--labels has 3 names, the model has 2 classes/);
});

test('train config of the vision kinds: data.arrow_pointing required, keys of other kinds refused', () => {
  const base = { model: { kind: 'plstm-vision', config: { dim: 8, num_heads: 2, patch_size: 4, num_blocks: 1 } }, optim: { lr: 0.01, steps: 2, batch_size: 2 }, checkpoint: { dir: 'x' } };
  assert.throws(() => resolveTrainConfig(base), (e: Error) => e instanceof ConfigError && /data\.arrow_pointing/.test(e.message));
  assert.throws(() => resolveTrainConfig({ ...base, data: { arrow_pointing: ARROWS, seq_len: 8 } }), (e: Error) => e instanceof ConfigError && /data\.seq_len/.test(e.message));
  assert.throws(() => resolveTrainConfig({ ...base, data: { arrow_pointing: ARROWS }, eval: { arrow_pointing: { image_sizes: [[16]] } } }), (e: Error) => e instanceof ConfigError && /image_sizes\[0\]/.test(e.message));
  const ok = resolveTrainConfig({ ...base, data: { arrow_pointing: ARROWS }, eval: { arrow_pointing: { image_sizes: [[16, 16], [32, 32]] } } });
  assert.deepEqual(ok.eval.arrow_pointing?.image_sizes, [[16, 16], [32, 32]]);
  assert.throws(() => resolveTrainConfig({ ...base, model: { kind: 'tirex', embedding_dim: 8, num_heads: 2, num_blocks: 1, input_ff_dim: 8 }, data: { arrow_pointing: ARROWS } }), (e: Error) => e instanceof ConfigError && /data\.arrow_pointing/.test(e.message));
});
