import { stat } from 'node:fs/promises';
import { IgluError } from '../errors.js';

/**
 * Refuses what cannot be a source file: anything but a regular file (a device such as
 * /dev/zero, a pipe, a directory), and an empty file (what /proc's files, regular but
 * sized 0, would give).
 * @throws IgluError naming the file and what it is
 */
export async function checkImportable(file: string): Promise<void> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new IgluError(`cannot read ${file}: ${err.message}`, { hint: 'give the path of the downloaded source file', cause: err });
  });
  if (!st.isFile())
    throw new IgluError(
      `${file} is not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a pipe' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a file'})`,
      { hint: 'give the path of the downloaded source file' },
    );
  if (st.size === 0)
    throw new IgluError(`${file} is empty: no source is`, { hint: 'give the path of the downloaded source file (files of /proc and /sys read as empty)' });
}

/**
 * Checks that `url` is one a recipe can fetch, so that a pin can be served: an absolute
 * http:// or https:// URL with a host (WHATWG URL parsing, as Node's URL does), with no
 * whitespace or control character (the source broker takes one URL per line and refuses
 * those: sources/broker.ts), before it is pinned.
 * @throws IgluError naming the value and what a URL looks like
 */
export function checkSourceUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }

  const spaced = /[\s\x00-\x1f\x7f]/.test(url);
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !parsed.hostname || spaced) {
    throw new IgluError(
      `${JSON.stringify(url)} is not a URL a recipe can fetch: expected http:// or https:// with a host${spaced ? ', and no spaces (write a space as %20, as the recipe must)' : ''}`,
      { hint: 'pass the URL the recipe downloads the file from, e.g. --url https://musl.libc.org/releases/musl-1.2.3.tar.gz' },
    );
  }
}
