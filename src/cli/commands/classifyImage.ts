// `xlstm classify-image IMG.png... --model DIR`: runs a vision classifier (a plstm-vision or
// vit-vision model folder, e.g. written by `xlstm train`) on PNG files and prints one line per
// image: the predicted class (its name from --labels) and the class probabilities, or JSON
// lines with --json. Pixels are read as in training: [0, 1] (white = 1), alpha composited on
// white, averaged to grey for 1-channel models. Any image size divisible by the model's patch
// size works (larger images than the training size are the pLSTM model's strength).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { WasmBackend } from '../../backend/wasm/backend.js';
import { ArgumentError, InputError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { decodePng, pngToPixels } from '../../io/png.js';
import { classifyPixels } from '../../models/plstmVision/classifier.js';
import { loadVisionModelFolder } from './trainVision.js';
import { processIo } from './forecast.js';
import type { CommandIo } from './forecast.js';

export interface ClassifyImageOptions { model: string; labels?: string; json?: boolean }

export interface ImagePrediction { file: string; width: number; height: number; classIndex: number; label: string; probabilities: number[] }

export async function runClassifyImage(files: string[], o: ClassifyImageOptions, io: CommandIo = processIo): Promise<ImagePrediction[]> {
  if (!o.model) throw new ArgumentError('--model is required (a plstm-vision or vit-vision model folder: config.json + model.safetensors)');
  if (!files.length) throw new ArgumentError('no image given (PNG files)');
  const { model, weights } = await loadVisionModelFolder(o.model);
  const labels = o.labels !== undefined ? o.labels.split(',').map((s) => s.trim()) : null;
  if (labels && labels.length !== model.numClasses) throw new ArgumentError(`--labels has ${labels.length} names, the model has ${model.numClasses} classes`);
  const be = await WasmBackend.create({ threads: 1 });
  const out: ImagePrediction[] = [];
  try {
    for (const file of files) {
      const bytes = await readFile(file).catch((e) => { throw new InputError(`${file}: cannot read: ${(e as Error).message}`); });
      const img = decodePng(bytes, file);
      if (img.width % model.patchSize || img.height % model.patchSize) {
        throw new InputError(`${file}: image size ${img.width}x${img.height} must be a multiple of the model's patch size ${model.patchSize} in both directions`);
      }
      const pixels = new Tensor('f32', [1, model.numChannels, img.height, img.width], pngToPixels(img, model.numChannels));
      const probs = Array.from(classifyPixels(be, model, weights, pixels));
      let best = 0;
      for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
      const p: ImagePrediction = { file, width: img.width, height: img.height, classIndex: best, label: labels ? labels[best] : String(best), probabilities: probs };
      out.push(p);
      if (o.json) io.stdout(JSON.stringify(p) + '\n');
      else io.stdout(`${file}\t${p.label}\t${probs.map((v, k) => `${labels ? labels[k] : k}=${v.toFixed(4)}`).join(' ')}\n`);
    }
  } finally { be.dispose(); }
  return out;
}

export function register(program: Command): void {
  program.command('classify-image')
    .description('classify PNG images with a vision model folder (plstm-vision or vit-vision, e.g. from `xlstm train`)')
    .argument('<images...>', 'PNG files (any size divisible by the patch size)')
    .requiredOption('--model <dir>', 'model folder: config.json + model.safetensors')
    .option('--labels <names>', 'comma-separated class names (default: class indices)')
    .option('--json', 'one JSON object per image instead of tab-separated lines')
    .action(async (images: string[], opts: ClassifyImageOptions) => { await runClassifyImage(images, opts); });
}
