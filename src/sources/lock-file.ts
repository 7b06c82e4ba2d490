import { z } from 'zod';
import { IgluError } from '../errors.js';

/** One cached source: the content a URL gave when first fetched. */
export interface LockedSource {
  /** Lower-case hex SHA-256 of the file. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/** The source cache's lock file: URL → the content that URL is pinned to. */
export interface SourceLock {
  version: 1;
  sources: Record<string, LockedSource>;
}

const LockSchema = z.strictObject({
  version: z.literal(1),
  sources: z.record(z.string().min(1), z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.int().nonnegative() })),
});

/** An empty lock. */
export function emptyLock(): SourceLock {
  return { version: 1, sources: {} };
}

/**
 * Parses lock file text.
 * @param file path, for error messages
 * @throws IgluError naming the file and the field that is wrong
 */
export function parseLock(text: string, file: string): SourceLock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new IgluError(`${file}: not valid JSON (${(err as Error).message})`, {
      hint: 'restore it from a backup, or remove it and run `iglu sources import` again',
    });
  }
  const parsed = LockSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IgluError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, {
      hint: 'the lock file maps URL → {sha256, size}; fix or remove that entry',
    });
  }
  return parsed.data;
}

/** Lock file text: URLs sorted, so equal contents give equal bytes (diffable). */
export function serializeLock(lock: SourceLock): string {
  const sources = Object.fromEntries(
    Object.keys(lock.sources)
      .sort()
      .map((url) => [url, lock.sources[url]!]),
  );
  return `${JSON.stringify({ version: 1, sources }, null, 2)}\n`;
}
