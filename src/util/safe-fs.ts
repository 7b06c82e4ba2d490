import { constants } from 'node:fs';
import { lstat, mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';

/**
 * Reads a file that a package or a recipe could have replaced with a link or a device:
 * opened with O_NOFOLLOW|O_NONBLOCK (open(2)) and read only when it is a regular file.
 * @throws Error (ELOOP for a link) or IgluError when it is not a regular file
 */
export async function readRegularFile(file: string): Promise<string> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) throw new IgluError(`${file} is not a regular file`, { hint: 'a build left something else in its place' });
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * `root/rel` after checking that no existing component below `root` is a symbolic link
 * (lstat(2) on each), so writing there never leaves `root`. Missing components are made
 * as directories when `makeParents`. Not safe against a concurrent writer; iglu calls it
 * on trees nothing else writes to (a staged image root, an unpacked package).
 * @throws IgluError naming the component that is a link or not a directory
 */
export async function noLinksBelow(root: string, rel: string, makeParents = false): Promise<string> {
  const parts = path
    .normalize(rel)
    .split('/')
    .filter((p) => p && p !== '.');
  if (parts.includes('..')) throw new IgluError(`${rel} leaves ${root}`, { hint: 'package paths must stay inside the package' });
  let at = path.resolve(root);
  for (const [i, part] of parts.entries()) {
    at = path.join(at, part);
    const st = await lstat(at).catch(() => undefined);
    const last = i === parts.length - 1;
    if (st?.isSymbolicLink())
      throw new IgluError(`${path.relative(root, at)} in ${root} is a symbolic link; iglu does not follow links a package made`, {
        hint: 'the package must ship a real file or directory there',
      });
    if (!last && st && !st.isDirectory())
      throw new IgluError(`${path.relative(root, at)} in ${root} is not a directory`, { hint: 'the package must ship a real directory there' });
    if (!last && !st && makeParents) await mkdir(at);
  }
  return at;
}

/**
 * Writes `root/rel` as a new regular file, never through a link a package put there:
 * parents are checked (and made) by noLinksBelow, whatever is at the name is removed
 * first (unlink does not follow), and the file is created exclusively.
 */
export async function writeFileBelow(root: string, rel: string, data: string, mode: number): Promise<string> {
  const parent = await noLinksBelow(root, path.dirname(rel) === '.' ? '' : path.dirname(rel), true);
  if (path.dirname(rel) !== '.') await mkdir(parent, { recursive: true });
  const file = path.join(parent, path.basename(rel));
  await rm(file, { force: true, recursive: true });
  await writeFile(file, data, { mode, flag: 'wx' });
  return file;
}
