// The language model behind the OpenAI-compatible endpoints: one model, used by one request
// at a time (its computations are synchronous and share one WebAssembly heap), with a
// bounded wait list, and sessions that keep the recurrent state between requests.
//
// Session semantics: after a request on session S the store holds the state after everything
// the model has read (session history + prompt + generated tokens) except the last generated
// token, which `generate` returns but does not feed; that token is kept in the record
// (`pending`) and fed first on the next request. So the next request sends only its new text
// and the model continues exactly as if the whole history had been sent as token ids.
import type { LanguageModel, ModelState } from '../models/languageModel.js';
import type { GenerationDefaults } from '../models/auto.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { disposeState, loadState, readStateInfo, saveState, stateFingerprint } from '../generation/index.js';
import { HttpError, overloaded } from './httpErrors.js';
import type { SessionStore } from './sessions.js';
import { packRecord, unpackRecord } from './sessions.js';

export interface LmSessionHeader {
  kind: 'lm';
  fingerprint: string;
  /** Generated but not yet fed (the last token of the previous reply). */
  pending: number[];
  /** Tokens the state has read, for usage reports. */
  tokens: number;
}

export interface LoadedSession { state: ModelState; header: LmSessionHeader }

export interface ChatMessage { role: string; content: string }

export interface LmEngineOptions {
  name: string;
  model: LanguageModel;
  tokenizer: Tokenizer;
  defaults: GenerationDefaults;
  /** Jinja source of the chat template, when the tokenizer folder has one. */
  chatTemplate?: string;
  maxQueued: number;
  close?: () => void;
}

export class LmEngine {
  readonly name: string;
  readonly model: LanguageModel;
  readonly tokenizer: Tokenizer;
  readonly defaults: GenerationDefaults;
  readonly fingerprint: string;
  private readonly maxQueued: number;
  private chat?: { render(ctx: Record<string, unknown>): string };
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  private constructor(opts: LmEngineOptions, private readonly closeFn?: () => void) {
    this.name = opts.name;
    this.model = opts.model;
    this.tokenizer = opts.tokenizer;
    this.defaults = opts.defaults;
    this.maxQueued = opts.maxQueued;
    this.fingerprint = stateFingerprint(opts.model);
  }

  static async create(opts: LmEngineOptions): Promise<LmEngine> {
    const e = new LmEngine(opts, opts.close);
    if (opts.chatTemplate !== undefined) {
      const { Template } = await import('@huggingface/jinja');
      try { e.chat = new Template(opts.chatTemplate); } catch (err) { throw new Error(`chat template: ${(err as Error).message}`); }
    }
    return e;
  }

  get hasChatTemplate(): boolean { return this.chat !== undefined; }
  /** Requests running or waiting. */
  get load(): number { return this.waiting; }

  /** Runs `fn` when the model is free; refuses with 429 when too many are waiting. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxQueued) {
      return Promise.reject(overloaded(429, `language model is busy (${this.waiting} requests running or waiting, limit ${this.maxQueued}); retry shortly`));
    }
    this.waiting++;
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined).finally(() => { this.waiting--; });
    return run;
  }

  /** Prompt text of chat messages, by the tokenizer's chat template. */
  /** `continuing`: the messages extend a session whose state already read the BOS (bos_token renders empty). */
  renderChat(messages: ChatMessage[], opts: { continuing?: boolean } = {}): string {
    if (!this.chat) throw new HttpError(400, `model '${this.name}' has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use /v1/completions`);
    try {
      return this.chat.render({
        messages, add_generation_prompt: true,
        bos_token: opts.continuing || this.tokenizer.bosTokenId === null ? '' : this.tokenizer.decode([this.tokenizer.bosTokenId]),
        eos_token: this.tokenizer.eosTokenId === null ? '' : this.tokenizer.decode([this.tokenizer.eosTokenId]),
      });
    } catch (e) { throw new HttpError(400, `chat template: ${(e as Error).message}`); }
  }

  /** Reads a session: undefined when it does not exist (or expired). */
  async loadSession(store: SessionStore, id: string): Promise<LoadedSession | undefined> {
    const rec = await store.get(`lm:${id}`);
    if (!rec) return undefined;
    let header: LmSessionHeader, payload: Uint8Array;
    try {
      const u = unpackRecord(rec);
      header = u.header as unknown as LmSessionHeader;
      payload = u.payload;
      if (header.kind !== 'lm') throw new Error(`a ${String(header.kind)} session`);
    } catch (e) { throw new HttpError(409, `session '${id}' cannot be continued by a language model: ${(e as Error).message}`); }
    // the state's own fingerprint (docs/STATE-FORMAT.md), not only the header's, decides
    const info = (() => { try { return readStateInfo(payload); } catch (e) { throw new HttpError(409, `session '${id}': ${(e as Error).message}`); } })();
    if (info.fingerprint !== this.fingerprint) {
      throw new HttpError(409, `session '${id}' holds the state of another model (${info.modelType}, fingerprint ${info.fingerprint}); this server's model '${this.name}' has fingerprint ${this.fingerprint}`);
    }
    try {
      return { state: loadState(this.model, payload), header };
    } catch (e) { throw new HttpError(409, `session '${id}': ${(e as Error).message}`); }
  }

  async saveSession(store: SessionStore, id: string, state: ModelState, pending: number[], tokens: number, ttlMs: number): Promise<void> {
    const header: LmSessionHeader = { kind: 'lm', fingerprint: this.fingerprint, pending, tokens };
    const bytes = saveState(this.model, state, { metadata: { session: id, model: this.name } });
    await store.set(`lm:${id}`, packRecord(header, bytes), ttlMs);
  }

  dispose(state: ModelState | undefined): void { if (state) disposeState(state); }

  close(): void { this.closeFn?.(); }
}
