/**
 * The one user-facing error type. Every failure a user can act on is an IgluError with a
 * description (message), a hint saying what to do, and the underlying cause when there
 * is one. The top-level handler in cli.ts prints it and exits with `exitCode`.
 */
export class IgluError extends Error {
  /** What the user can do about it, one or two sentences. */
  readonly hint: string | undefined;
  /** Process exit code: 1 for a failure, 2 for bad usage (see ExitCode). */
  readonly exitCode: number;

  /**
   * @param message what went wrong, naming the file, field or object concerned
   * @param options.hint what to do next
   * @param options.cause the error underneath (shown with DEBUG=iglu:*)
   * @param options.exitCode defaults to ExitCode.failure
   */
  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'IgluError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** Exit codes scripts can rely on. */
export const ExitCode = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** A short, single-line description of any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
