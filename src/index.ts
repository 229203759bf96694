// xlstm-ts public surface.
export { Tensor } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { DTYPE_SIZE, numel } from './tensor/dtype.js';
export { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, roundBf16 } from './tensor/convert.js';
export { WasmBackend } from './backend/wasm/backend.js';
export type { WasmBackendOptions, WasmFeatures } from './backend/wasm/backend.js';
export { SafetensorsBuffer, parseSafetensors, serializeSafetensors, castForStorage, SafetensorsError, MAX_HEADER_BYTES, SHARD_INDEX_FILE, safetensorsDTypeName } from './io/safetensors.js';
export type { SafetensorsSource, SafetensorsTensorInfo, TensorDict, ReadOptions, WriteOptions, TensorInfo } from './io/safetensors.js';
export * from './xlstm/mlstm/index.js';
export * from './xlstm/slstm/index.js';
export { TorchCheckpoint, TorchTensorRef, TorchCheckpointError, stripKeyPrefix, PICKLE_ATTRIBUTES } from './io/torchCheckpoint.js';
export type { TorchStorageRef, TensorsOptions, TorchCheckpointOptions } from './io/torchCheckpoint.js';
export { ZipArchive, ZipError } from './io/zip.js';
export { unpickle, PickleError } from './io/pickle.js';
export type { PickleValue, UnpickleOptions } from './io/pickle.js';
export * from './ops/index.js';
export { TiRex, resolveTiRexConfig, tirexWeightTable, loadTiRexWeights, loadTiRexCheckpoint, tensorMapSource } from './models/tirex/index.js';
export type { TiRexOptions, TiRexFromPretrainedOptions, TiRexForecastOptions, TiRexForecast, TiRexConfig, TiRexWeights } from './models/tirex/index.js';
