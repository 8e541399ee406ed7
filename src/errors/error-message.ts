/** How an error is said in one line, whatever was thrown (an Error, a string, anything). */

/** The error's own message; a thrown non-Error as its string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The message followed by its causes' (`a: b: c`): for what crosses a thread, where only plain data goes. */
export function errorMessageWithCauses(error: unknown): string {
  if (!(error instanceof Error) || error.cause === undefined) return errorMessage(error);
  return `${error.message}: ${errorMessageWithCauses(error.cause)}`;
}
