// Errors of hub loading. One class with a `code`, so callers (the CLI, a service, a web
// page) can tell "you need a token" from "the network is down" from "not in the cache"
// without parsing messages.
import { XlstmError } from '../errors.js';

export type HubErrorCode =
  /** 401/403: gated or private repository, missing or insufficient token */
  | 'unauthorized'
  /** 404: no such repository, revision or file */
  | 'not-found'
  /** offline (HF_HUB_OFFLINE=1 or no network) and the files are not in the cache */
  | 'not-cached'
  /** downloaded bytes do not match the hub's size or checksum */
  | 'checksum'
  /** the repository lacks the files this kind of model needs */
  | 'missing-files'
  /** network failure or an unexpected HTTP status, after the retries */
  | 'network'
  /** a model id that cannot be a hub repository id */
  | 'bad-id';

export class HubError extends XlstmError {
  constructor(readonly code: HubErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
