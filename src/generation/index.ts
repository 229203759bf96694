// Generation layer over any recurrent LanguageModel: sampling, (streaming) generation,
// scoring, and recurrent states as values (fork / select / stack / save / load).
export { generate, streamGenerate, assertModelState, MAX_GENERATED_TOKENS } from './generate.js';
export type { GenerateOptions, GenerateResult, GeneratedSequence, GeneratedTokenLogprob, TokenEvent, FinishReason, Prompt } from './generate.js';
export type { GenerationTokenizer } from './textStream.js';
export { TextStream } from './textStream.js';
export { resolveSampling, sampleToken, argmax } from './sampling.js';
export type { SamplingOptions, SamplingConfig } from './sampling.js';
export { Xoshiro128ss, splitmix32, rowRng, SEED_LIMIT } from './prng.js';
export { logSumExp, topLogprobs } from './logprobs.js';
export type { TokenLogprob } from './logprobs.js';
export { score } from './score.js';
export type { ScoreOptions, SequenceScore } from './score.js';
export { stateLeaves, stateBatchSize, checkStateMatches, disposeState, gatherRows, selectRows, stackStates, cloneState, forkState } from './state.js';
export type { StateLeaf } from './state.js';
export { saveState, loadState, readStateInfo, stateFingerprint, STATE_FORMAT, STATE_FORMAT_VERSION } from './stateFormat.js';
export type { SaveStateOptions, LoadStateOptions, StateFileInfo } from './stateFormat.js';
