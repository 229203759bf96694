// The pLSTM vision family (pLSTMVisionModel, official config mirrored) and the ViT baseline
// trained the same way; both written once on the autograd tape (inference and training).
export { plstmVisionConfigFromJson, plstmVisionOfficialJson, plstm2dFusedOfficialJson } from './config.js';
export type { PlstmVisionConfig, PlstmVisionSizes, VisionBlockConfig, PostUpBlockConfig, RmsNormConfig, VisionPooling } from './config.js';
export { plstmVisionTable, plstmVisionWeightTable } from './weights.js';
export { plstmVisionForward, PlstmVisionModel } from './model.js';
export type { VisionForwardOptions } from './model.js';
export { vitVisionForward, vitConfigFromJson, vitConfigToJson, vitTable, vitWeightTable } from './vit.js';
export type { VitVisionConfig } from './vit.js';
export { visionClassifierFromJson, classifyPixels } from './classifier.js';
export type { VisionClassifier, VisionModelKind } from './classifier.js';
