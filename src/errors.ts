// The project's own error types. Every error a user can cause (a bad file, config, flag,
// argument or a request beyond a limit) is an XlstmError, so callers (the CLI, a service,
// the tests and fuzzers) can tell a user's mistake from a bug: anything else that escapes
// is a bug of ours. The io readers keep their own classes (SafetensorsError, PickleError, ...)
// as subclasses of XlstmError.

/** Base class of every error caused by input (files, configs, arguments). */
export class XlstmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A model or training config: unknown or misspelt key, bad value, a combination the official code rejects. */
export class ConfigError extends XlstmError {}

/** User data: a CSV file, text, series values. */
export class InputError extends XlstmError {}

/** A public API argument of the wrong type or range (`threads: 0`, a negative horizon). */
export class ArgumentError extends XlstmError {}

/**
 * A request beyond what this process can do (memory, threads, sizes), refused before any
 * work starts. The message names the option, the value and the limit.
 */
export class LimitError extends XlstmError {
  constructor(readonly option: string, readonly value: number, readonly limit: number, reason: string) {
    super(`${option} ${value} is above the limit ${limit} (${reason})`);
  }
}
