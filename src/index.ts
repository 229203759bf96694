// xlstm-ts public surface.
export { Tensor } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { DTYPE_SIZE, numel } from './tensor/dtype.js';
export { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, roundBf16 } from './tensor/convert.js';
export { WasmBackend, maxThreadCount } from './backend/wasm/backend.js';
export type { WasmBackendOptions, WasmFeatures } from './backend/wasm/backend.js';
export { SafetensorsBuffer, parseSafetensors, serializeSafetensors, castForStorage, SafetensorsError, MAX_HEADER_BYTES, SHARD_INDEX_FILE, safetensorsDTypeName } from './io/safetensors.js';
export type { SafetensorsSource, SafetensorsTensorInfo, TensorDict, ReadOptions, WriteOptions, TensorInfo } from './io/safetensors.js';
export * from './xlstm/mlstm/index.js';
export * from './xlstm/slstm/index.js';
export * from './xlstm/flashrnn/index.js';
export * from './xlstm/plstm/index.js';
export { TorchCheckpoint, TorchTensorRef, TorchCheckpointError, stripKeyPrefix, PICKLE_ATTRIBUTES } from './io/torchCheckpoint.js';
export type { TorchStorageRef, TensorsOptions, TorchCheckpointOptions } from './io/torchCheckpoint.js';
export { ZipArchive, ZipError } from './io/zip.js';
export { unpickle, PickleError } from './io/pickle.js';
export type { PickleValue, UnpickleOptions } from './io/pickle.js';
export * from './ops/index.js';
export * from './models/tirex/index.js';
// TiRex-2: multivariate forecasting with past and future-known covariates.
export * from './models/tirex2/index.js';
export * from './models/xlstmLarge/index.js';
// pLSTM vision model (and its ViT baseline) with the arrow-pointing dataset of the pLSTM paper.
export * from './models/plstmVision/index.js';
export { ARROW_POINTING_DEFAULTS, arrowPointingConfig, arrowPointingConfigFromOfficial, arrowPointingSample, renderArrowPointing, arrowPointingBatch } from './data/arrowPointing.js';
export type { ArrowPointingConfig, ArrowPointingSample, ArrowPointingBatch, ArrowGeometry } from './data/arrowPointing.js';
export { NumpyRng } from './random/pcg64.js';
export { evaluateVision, createVisionTrainer } from './train/visionTraining.js';
export { matmul, linear } from './ops/matmul.js';
export type { MatmulOptions, LinearWeight } from './ops/matmul.js';
export { Q4Weight, Q4_BLOCK, quantizeInt8, dequantizeInt8, quantizeQ4, dequantizeQ4 } from './tensor/quant.js';
export { Q4_DEFAULT_ACTIVATION_BITS } from './tensor/quant.js';
export type { Q4ActivationBits, Q4Options } from './tensor/quant.js';
export * from './models/xlstmLm/index.js';
export type { LanguageModel, ModelState, LanguageModelForwardResult, LanguageModelStepResult } from './models/languageModel.js';
export * from './generation/index.js';
export * from './tokenizer/index.js';
// Time-series helpers (CSV, frequencies, MASE/WQL, SVG plots) as one namespace: their names are generic.
export * as timeseries from './timeseries/index.js';
// Names exported by two modules above: an explicit re-export decides which one the package means.
export type { TokenBatch } from './models/xlstmLarge/index.js';
export type { TokenBatch as TrainTokenBatch } from './train/index.js'; // {ids, batchSize, seqLen}: one training micro-batch
export type { GenerateOptions, GenerateResult } from './generation/index.js';
export type { GenerateOptions as XLSTMLargeGenerateOptions, GenerateResult as XLSTMLargeGenerateResult } from './models/xlstmLarge/index.js';
export { argmax } from './ops/index.js';
export * from './autograd/index.js';
export * from './optim/index.js';
export * from './data/index.js';
// One seeded generator (xoshiro128**) for init, shuffling, dropout and synthetic series.
export { Rng, checkSeed, randomSeed } from './random/index.js';
export * from './train/index.js';
export type { StepResult } from './models/xlstmLarge/index.js';
export type { StepResult as TrainStepResult } from './train/index.js';
// hub: ids, errors, progress events, and the browser's fetch + Cache API loader (the Node cache is in node.ts)
export { HubError, parseModelId, isCommitHash, fetchModelFilesBrowser, DEFAULT_ENDPOINT } from './hub/index.js';
export type { HubErrorCode, ModelId, HubOptions, HubProgressEvent, HubProgressCallback, HubModelKind, BrowserHubOptions, BrowserSnapshot, CacheStorageLike } from './hub/index.js';
