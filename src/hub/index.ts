// Browser-safe hub surface: ids, options, progress events, transport and the Cache API
// loader. The Node cache and resolver (resolve.ts, nodeCache.ts) are exported from src/node.ts.
export { HubError } from './errors.js';
export type { HubErrorCode } from './errors.js';
export { parseModelId, isCommitHash, repoFolderName } from './modelId.js';
export type { ModelId } from './modelId.js';
export { DEFAULT_ENDPOINT } from './options.js';
export type { HubOptions } from './options.js';
export type { HubProgressEvent, HubProgressCallback } from './progress.js';
export { selectFiles, shardFiles } from './selection.js';
export type { HubModelKind } from './selection.js';
export { resolveUrl, fetchRepoInfo, headFile } from './transport.js';
export type { RepoInfo, RepoFile, FileMeta } from './transport.js';
export { fetchModelFilesBrowser } from './browserCache.js';
export type { BrowserHubOptions, BrowserSnapshot, CacheStorageLike } from './browserCache.js';
