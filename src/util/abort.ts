import { ExitCode, IgluError } from '../errors.js';

/** The error an interrupted command ends with (exit code 130, as shells report SIGINT). */
export function interrupted(what: string): IgluError {
  return new IgluError(`${what}: interrupted`, { hint: 'run it again: finished packages are kept and skipped', exitCode: ExitCode.interrupted });
}

/**
 * Settles like `work`, or rejects with `interrupted(what)` as soon as `signal` aborts —
 * so the caller's finally blocks run (and release containers) without waiting for it.
 */
export async function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) throw interrupted(what);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(interrupted(what));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    work.catch(() => undefined);
  }
}
