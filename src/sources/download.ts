import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pRetry, { AbortError } from 'p-retry';
import { IgluError } from '../errors.js';
import { log } from '../log.js';

/**
 * Downloads `url` to `file` with Node's fetch (undici), following redirects, retrying
 * network errors and 5xx answers up to 3 times with backoff (p-retry). Only http(s).
 * @throws IgluError naming the URL when it cannot be downloaded (4xx, no network)
 */
export async function download(url: string, file: string): Promise<void> {
  if (!/^https?:\/\//.test(url)) throw new IgluError(`cannot download ${url}: only http and https URLs are fetched`, { hint: `put the file in the cache: iglu sources import FILE --url ${url}` });
  try {
    await pRetry(async () => {
      const res = await fetch(url, { redirect: 'follow' });
      if (res.status >= 400 && res.status < 500) throw new AbortError(`HTTP ${res.status}`);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
    }, { retries: 3, minTimeout: 500, onFailedAttempt: (e) => log.sources('download %s: attempt %d failed: %s', url, e.attemptNumber, e.message) });
  } catch (err) {
    const cause = err as Error & { cause?: { code?: string; message?: string } };
    throw new IgluError(`cannot download ${url}: ${cause.cause?.code ?? cause.cause?.message ?? cause.message}`, {
      hint: `without network, seed the cache: iglu sources import FILE --url ${url} (or iglu sources seed)`,
      cause: err,
    });
  }
}
