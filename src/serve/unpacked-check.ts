import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { linkProblems, type LinkMember } from './bundle-links.js';

/**
 * Checks an unpacked bundle as GNU tar made it, before anything reads it: only files,
 * directories and symbolic links, links that stay inside it (linkProblems over the links
 * on disk), and at most `maxBytes` in its files, each inode counted once. checkBundle
 * read the archive with node-tar; this reads what tar wrote, so a member the two read
 * differently cannot pass. Nothing is followed.
 * @param dir the directory untarAsSandbox unpacked into
 * @throws IgluError naming the first problems; the signal's reason once it aborts
 */
export async function checkUnpacked(dir: string, maxBytes: number, signal?: AbortSignal): Promise<void> {
  const members: LinkMember[] = [];
  const problems: string[] = [];
  const inodes = new Set<string>();
  let bytes = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    signal?.throwIfAborted();
    const rel = path.relative(dir, path.join(e.parentPath, e.name));
    const st = await lstat(path.join(dir, rel));
    if (st.isSymbolicLink()) members.push({ path: rel, type: 'SymbolicLink', linkpath: await readlink(path.join(dir, rel)) });
    else if (st.isDirectory()) members.push({ path: rel, type: 'Directory' });
    else if (!st.isFile()) problems.push(`${rel}: neither a file, a directory nor a link`);
    else if (!inodes.has(`${st.dev}:${st.ino}`)) {
      inodes.add(`${st.dev}:${st.ino}`);
      bytes += st.size;
    }
  }
  problems.push(...linkProblems(members));
  if (bytes > maxBytes) problems.push(`${bytes} bytes unpacked, more than the ${maxBytes} a bundle may hold (serve.maxUnpackedMiB)`);
  if (problems.length)
    throw new IgluError(`the bundle as unpacked is refused: ${problems.slice(0, 5).join('; ')}`, {
      hint: 'a bundle holds plain files, directories and links that stay inside it; one tar reads the same as any other',
    });
}
