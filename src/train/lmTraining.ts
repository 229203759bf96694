// Language-model training in one call: an XLSTMLMTrainable (fresh or from weights), a
// TextDataset (bytes or token ids), a Trainer whose loss is the official next-token loss and
// whose evaluation hook reports the validation loss. Checkpoint folders also get config.json
// (and, for text = bytes, a byte-level tokenizer.json), so a checkpoint (or the final save) loads
// with XLSTMLMModel.fromPretrained / loadLanguageModel, and byte-level ones with `xlstm generate`.
import type { WasmBackend } from '../backend/wasm/backend.js';
import type { SafetensorsSource } from '../io/safetensors.js';
import type { XLSTMLMConfig, XLSTMLMConfigInput } from '../models/xlstmLm/config.js';
import { Trainer, writeFileAtomic } from './trainer.js';
import type { TrainerOptions, CheckpointFiles } from './trainer.js';
import { TextDataset, encodeBytes, byteLevelTokenizerJson } from './textData.js';
import type { TokenBatch } from './textData.js';
import { XLSTMLMTrainable, evaluateLmLoss } from './xlstmLmTrainable.js';

/** The official config fields of a resolved config (what config.json holds; `blocks` is ours). */
export function xlstmLmConfigJson(cfg: XLSTMLMConfig): Record<string, unknown> {
  const { blocks: _blocks, ...official } = cfg as XLSTMLMConfig & { blocks: unknown };
  return JSON.parse(JSON.stringify(official));
}

export interface LmTrainingOptions extends Omit<TrainerOptions<TokenBatch>, 'params' | 'loss' | 'data' | 'evaluate' | 'checkpointExtras'> {
  /** Model config (official fields or resolved). vocab_size must cover the tokens (256 for bytes). */
  config: XLSTMLMConfigInput | XLSTMLMConfig;
  /** Start from these weights (official names) instead of a fresh init. */
  weights?: Uint8Array | SafetensorsSource;
  /** Seed of the fresh init (default 0). */
  initSeed?: number;
  /** Training text (UTF-8 bytes as tokens) or already tokenized ids. */
  text?: string;
  tokens?: ArrayLike<number>;
  seqLen: number;
  batchSize: number;
  validationFraction?: number;
  /** Shuffle seed of the training windows (default: seed). */
  dataSeed?: number;
  /** Validation batches per evaluation (default all). */
  maxEvalBatches?: number;
  decayRule?: 'ndim' | 'name';
  /** Chunkwise mLSTM with this chunk length (see XLSTMLMTrainableOptions.mlstmChunkSize). */
  mlstmChunkSize?: number;
}

export interface LmTraining {
  model: XLSTMLMTrainable;
  data: TextDataset;
  trainer: Trainer<TokenBatch>;
  /** Validation loss now (mean over the held-out windows, up to maxEvalBatches batches). */
  validationLoss(): number;
  /** config.json + model.safetensors of the current weights (a model folder), + tokenizer.json (byte-level) when trained on text. */
  modelFiles(): CheckpointFiles;
  /** Writes modelFiles() into dir. Node only. */
  saveModel(dir: string): Promise<void>;
}

export async function createLmTraining(o: LmTrainingOptions): Promise<LmTraining> {
  const dtype = o.dtype ?? 'f32';
  const model = o.weights
    ? await XLSTMLMTrainable.fromSafetensors(o.config, o.weights, { dtype, decayRule: o.decayRule, mlstmChunkSize: o.mlstmChunkSize })
    : XLSTMLMTrainable.init(o.config, { seed: o.initSeed ?? 0, dtype, decayRule: o.decayRule, mlstmChunkSize: o.mlstmChunkSize });
  if ((o.text === undefined) === (o.tokens === undefined)) throw new TypeError('createLmTraining: give exactly one of text or tokens');
  const tokens = o.text !== undefined ? encodeBytes(o.text) : o.tokens!;
  const V = model.config.vocab_size;
  for (let i = 0; i < tokens.length; i++) if (!(tokens[i] >= 0 && tokens[i] < V)) throw new RangeError(`createLmTraining: token ${i} = ${tokens[i]} is outside the model's vocab_size ${V}${o.text !== undefined ? ' (byte-level text needs vocab_size >= 256)' : ''}`);
  const data = new TextDataset(tokens, { seqLen: o.seqLen, batchSize: o.batchSize, validationFraction: o.validationFraction, seed: o.dataSeed ?? o.seed ?? 0 });
  const be: WasmBackend | null = o.backend;
  const hasVal = data.validationTokens.length >= o.seqLen;
  const validationLoss = () => {
    if (!hasVal) throw new Error('createLmTraining: no validation data (validationFraction 0)');
    return evaluateLmLoss(model, be, data.validationBatches(o.maxEvalBatches));
  };
  // text is encoded as bytes, so its tokenizer is the byte-level one; ids given as tokens come
  // from a tokenizer we do not know
  const enc = new TextEncoder();
  const support: CheckpointFiles = { 'config.json': enc.encode(JSON.stringify(xlstmLmConfigJson(model.config), null, 2) + '\n') };
  if (o.text !== undefined) support['tokenizer.json'] = enc.encode(JSON.stringify(byteLevelTokenizerJson()) + '\n');
  const modelFiles = (): CheckpointFiles => ({ ...support, 'model.safetensors': model.toSafetensors() });
  const trainer = new Trainer<TokenBatch>({
    ...o,
    params: model.params,
    data: data.train,
    loss: (t, b, ctx) => ({ loss: model.loss(t, b, ctx), tokens: b.batchSize * (b.seqLen - 1) }),
    evaluate: hasVal && o.evalEvery ? () => ({ validationLoss: validationLoss() }) : undefined,
    checkpointExtras: () => ({ ...support }),
  });
  return {
    model, data, trainer, validationLoss, modelFiles,
    async saveModel(dir: string) {
      const [{ mkdir }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
      await mkdir(dir, { recursive: true });
      for (const [n, b] of Object.entries(modelFiles())) await writeFileAtomic(join(dir, n), b);
    },
  };
}
