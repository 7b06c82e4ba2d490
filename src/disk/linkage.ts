import { lstat, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { elfFilesBelow } from '../packages/elf.js';

/** A dynamically linked ELF file of a staged root: its path below the root, loader and DT_NEEDED. */
export interface LinkedProgram {
  path: string;
  interpreter?: string;
  needed: string[];
}

/** One thing a program asks for that the root does not provide. */
export interface MissingLink {
  program: string;
  kind: 'interpreter' | 'library';
  name: string;
}

/**
 * musl's default library search path (ldso/dynlink.c, used when /etc/ld-musl-ARCH.path
 * is absent): a DT_NEEDED name without a slash is looked up in these directories.
 */
export const MUSL_DEFAULT_PATH = ['/lib', '/usr/local/lib', '/usr/lib'];

/**
 * What the programs of a root ask for that it lacks: a loader (PT_INTERP) that does not
 * resolve to a file, or a DT_NEEDED library found in none of `searchPath` (a name with a
 * slash is taken as a path). `resolves(p)` says whether absolute path `p`, inside the
 * root, leads to a regular file. Pure.
 */
export function missingLinks(programs: LinkedProgram[], resolves: (p: string) => boolean, searchPath: string[] = MUSL_DEFAULT_PATH): MissingLink[] {
  const missing: MissingLink[] = [];
  for (const p of programs) {
    if (p.interpreter && !resolves(p.interpreter)) missing.push({ program: p.path, kind: 'interpreter', name: p.interpreter });
    for (const lib of p.needed) {
      if (!libraryPaths(lib, searchPath).some(resolves)) missing.push({ program: p.path, kind: 'library', name: lib });
    }
  }
  return missing;
}

/** Where the loader looks for DT_NEEDED `lib`: the name itself when it has a slash, else in each directory of `searchPath`. Pure. */
function libraryPaths(lib: string, searchPath: string[]): string[] {
  return lib.includes('/') ? [lib.startsWith('/') ? lib : `/${lib}`] : searchPath.map((d) => path.posix.join(d, lib));
}

/**
 * Checks that every dynamically linked program and library of a staged image root finds
 * its loader and its DT_NEEDED libraries inside the root, as the guest's musl loader will
 * look for them (its search path: /etc/ld-musl-ARCH.path when the root has one, else
 * MUSL_DEFAULT_PATH). Links are followed inside the root only (an absolute target is
 * taken from the root, never from the host).
 * @returns the dynamically linked ELF files checked
 * @throws IgluError naming each program and what it lacks, with the packages to add
 */
export async function checkImageLinkage(root: string, arch = 'x86_64'): Promise<LinkedProgram[]> {
  const programs: LinkedProgram[] = (await elfFilesBelow(root))
    .filter(({ info }) => info.interpreter || info.needed.length)
    .map(({ rel, info }) => ({ path: `/${rel}`, ...(info.interpreter ? { interpreter: info.interpreter } : {}), needed: info.needed }));
  const pathFile = await resolveInRoot(root, `/etc/ld-musl-${arch}.path`);
  const searchPath = pathFile ? (await readFile(pathFile, 'utf8')).split(/[\s:]+/).filter((d) => d.startsWith('/')) : MUSL_DEFAULT_PATH;
  const resolved = new Map<string, boolean>();
  for (const p of programs) {
    const wanted = [...(p.interpreter ? [p.interpreter] : []), ...p.needed.flatMap((n) => libraryPaths(n, searchPath))];
    for (const w of wanted) if (!resolved.has(w)) resolved.set(w, (await resolveInRoot(root, w)) !== undefined);
  }
  const missing = missingLinks(programs, (p) => resolved.get(p) ?? false, searchPath);
  if (missing.length) {
    const lines = missing
      .slice(0, 10)
      .map((m) => `${m.program} needs ${m.kind === 'interpreter' ? 'the loader' : 'the library'} ${m.name}, which no package in the image provides`);
    throw new IgluError(
      `the image would not run its programs:\n${lines.map((l) => `- ${l}`).join('\n')}${missing.length > 10 ? `\n- and ${missing.length - 10} more` : ''}`,
      { hint: 'add the packages that provide them to disk.packages in iglu.yaml (musl provides the loader and libc.so)' },
    );
  }
  return programs;
}

/**
 * Where absolute path `p` of a root leads, following symbolic links as the guest would
 * but never out of the root: an absolute link target starts again at the root, `..`
 * stops at it. At most 40 links (Linux's limit, path_resolution(7)).
 * @returns the host path of the regular file it names, or undefined
 */
export async function resolveInRoot(root: string, p: string): Promise<string | undefined> {
  const todo = p.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, part);
    const st = await lstat(host).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    if (todo.length && !st.isDirectory()) return undefined;
    done.push(part);
  }
  const final = path.join(root, ...done);
  return (await lstat(final).catch(() => undefined))?.isFile() ? final : undefined;
}
