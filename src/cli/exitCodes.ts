// Exit statuses of the `xlstm` command (documented in docs/ERRORS.md). Usage errors and
// failed runs share 1, as commander does; a run that wrote its output but could not
// process every item gets its own code so scripts can tell "partly done" from "nothing done".
export const EXIT_OK = 0;
/** bad flag, bad input, a file that cannot be read or written, nothing produced */
export const EXIT_ERROR = 1;
/** the output was written, but some series failed (their rows are present with empty values) */
export const EXIT_PARTIAL = 3;
/** interrupted by SIGINT (128 + 2) after finishing what must not be lost (train: a checkpoint) */
export const EXIT_SIGINT = 130;
/** terminated by SIGTERM (128 + 15), same guarantees as SIGINT */
export const EXIT_SIGTERM = 143;
