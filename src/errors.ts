import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

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

/**
 * Exit codes scripts can rely on. busy (75, EX_TEMPFAIL of sysexits.h): the work
 * directory is in use by another iglu; try again later.
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, busy: 75, interrupted: 130 } as const;

/** A short, single-line description of any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** What a file system errno (errno(3)) means for the work directory, and what to do. */
const FS_ERRORS: Record<string, { what: string; hint: string }> = {
  EROFS: { what: 'is on a read-only file system', hint: 'give --workdir a writable directory' },
  ENOSPC: { what: 'cannot be written: the disk is full', hint: 'free space on that file system (df -h shows it), or give --workdir another one' },
  EDQUOT: { what: 'cannot be written: the disk quota is exceeded', hint: 'free space, or give --workdir another file system' },
  EACCES: { what: 'is not writable by this user', hint: 'run iglu as root, or give --workdir a directory you own' },
  EPERM: { what: 'may not be changed by this user', hint: 'run iglu as root, or give --workdir a directory you own' },
};

/**
 * A Node file system error (ENOSPC, EROFS, EDQUOT, EACCES, EPERM with a path) as a message
 * naming the path and the cause, and a hint; undefined for anything else. Pure.
 */
export function fileSystemError(err: unknown): { message: string; hint: string } | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  // mkdir(…, { recursive: true }) on a read-only file system reports ENOENT: ask the
  // nearest existing ancestor why (access(2) W_OK answers EROFS, EACCES, …)
  if (e?.code === 'ENOENT' && e.syscall === 'mkdir' && e.path) {
    const cause = whyNotWritable(e.path);
    if (cause) return fileSystemError(Object.assign(new Error(e.message), { code: cause, path: e.path, syscall: 'mkdir' }));
  }
  const known = e?.code ? FS_ERRORS[e.code] : undefined;
  if (!known || !e?.path) return undefined;
  return { message: `${e.path} ${known.what} (${e.code}, during ${e.syscall ?? 'a file operation'})`, hint: known.hint };
}

function whyNotWritable(p: string): string | undefined {
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    if (existsSync(dir)) {
      try {
        accessSync(dir, constants.W_OK);
        return undefined;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code;
      }
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}
