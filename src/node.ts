// Node.js entry (`xlstm-ts/node`): everything of the browser-safe entry plus the
// file-system readers and writers.
export * from './index.js';
export { SafetensorsFile } from './io/safetensorsFile.js';
export { ShardedSafetensors, openSafetensorsModel } from './io/safetensorsSharded.js';
export { writeSafetensorsFile, writeShardedSafetensors } from './io/safetensorsWrite.js';
export type { ShardedWriteOptions, ShardedWriteResult } from './io/safetensorsWrite.js';
export { loadLanguageModel, loadTokenizer, detectModel, readGenerationDefaults, LOAD_DTYPES } from './models/auto.js';
export type { LanguageModelKind, LoadDtype, LoadProgress, LoadLanguageModelOptions, DetectedModel, GenerationDefaults } from './models/auto.js';
export { downloadModel, resolveModelSource } from './hub/resolve.js';
export type { HubSnapshot } from './hub/resolve.js';
// PNG images for the vision models (inflate from node:zlib)
export { decodePng, encodePng, pngToPixels } from './io/png.js';
export type { PngImage } from './io/png.js';
