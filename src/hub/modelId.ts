// Model ids: `org/name` or `org/name@revision`. Browser-safe (no Node built-ins).
import { HubError } from './errors.js';

export interface ModelId {
  /** `org/name` */
  repo: string;
  /** branch, tag or commit after '@' (undefined: the caller's default, usually 'main') */
  revision?: string;
}

// The hub's own rules for repository names: letters, digits, '-', '_', '.', no '--' or '..',
// not starting or ending with '-' or '.'. Checked here so a typo fails before any request.
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** True for a full 40-hex commit hash (an immutable revision). */
export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

/**
 * Parses `org/name[@revision]`; undefined when the string does not have that shape at all
 * (then it is meant as a local path). Throws HubError 'bad-id' for something that looks like
 * an id but breaks the hub's naming rules, so the message says what is wrong with it.
 */
export function parseModelId(source: string): ModelId | undefined {
  if (typeof source !== 'string') return undefined;
  // paths: absolute, relative with ./ or ../, Windows drives and backslashes, file URLs
  if (/^(\.{1,2}[\\/]|[\\/~]|[A-Za-z]:[\\/]|file:)/.test(source) || source.includes('\\')) return undefined;
  const at = source.indexOf('@');
  const repo = at < 0 ? source : source.slice(0, at);
  const parts = repo.split('/');
  if (parts.length !== 2 || parts.some((p) => p === '')) return undefined;
  for (const p of parts) {
    if (!NAME.test(p) || p.includes('--') || p.includes('..')) {
      throw new HubError('bad-id', `'${source}' is not a local path, and '${repo}' is not a valid hub repository id (names use letters, digits, '-', '_' and '.', without '--' or '..', and do not start or end with '-' or '.')`);
    }
  }
  if (at < 0) return { repo };
  const revision = source.slice(at + 1);
  if (!isValidRevision(revision)) throw new HubError('bad-id', `'${source}': '${revision}' is not a valid revision (a branch, tag or commit hash after '@')`);
  return { repo, revision };
}

/**
 * Git's ref-name rules, in the part that matters here: a revision becomes a path under
 * refs/ in the cache, so '..', a leading or trailing '/' and control characters are refused.
 */
export function isValidRevision(revision: string): boolean {
  return typeof revision === 'string' && revision !== '' && !revision.includes('..') && !/[\s~^:?*[\\\x00-\x1f]/.test(revision) &&
    !revision.startsWith('/') && !revision.endsWith('/') && !revision.includes('//');
}

/** Folder name of a model repository in the huggingface_hub cache: models--org--name. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}
