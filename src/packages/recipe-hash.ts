import { createHash, type Hash } from 'node:crypto';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { IgluError } from '../errors.js';
import { CHROOT_SCRIPTS } from '../layout/in-root.js';

/** How much of a file directoryHash reads at once, bytes (the signal is checked between reads). */
const CHUNK = 1024 * 1024;

/**
 * SHA-256 over a directory's regular files, by sorted relative path, length and content
 * (symbolic links and other special files are left out). A change to any file changes it.
 * Each file (inode) is read once: a further hard link to it adds its path and the path
 * it was first read under, not its content again, so a directory of many links to one
 * large file costs one read of it. Reading is in 1 MiB chunks, `signal` checked between.
 * @param dir a host directory
 * @throws the file system's error when `dir` cannot be read; the signal's reason once it aborts
 */
export async function directoryHash(dir: string, signal?: AbortSignal): Promise<string> {
  return (await hashDirectory(dir, signal)).sha256;
}

/** directoryHash, with the bytes it read (each inode counted once). */
export async function hashDirectory(dir: string, signal?: AbortSignal): Promise<{ sha256: string; bytesRead: number }> {
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
  const hash = createHash('sha256');
  const seen = new Map<string, string>();
  let bytesRead = 0;
  for (const rel of entries) {
    signal?.throwIfAborted();
    const fh = await open(path.join(dir, rel), 'r');
    try {
      const st = await fh.stat();
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(inode) : undefined;
      if (first !== undefined) {
        hash.update(`${rel}\0=${first}\0`);
        continue;
      }
      seen.set(inode, rel);
      hash.update(`${rel}\0${st.size}\0`);
      bytesRead += await hashContent(fh, st.size, hash, signal, rel);
    } finally {
      await fh.close();
    }
  }
  return { sha256: hash.digest('hex'), bytesRead };
}

/** Feeds a file's `size` bytes to `hash`. @throws IgluError when the file changes size while read */
async function hashContent(fh: FileHandle, size: number, hash: Hash, signal: AbortSignal | undefined, rel: string): Promise<number> {
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
  let done = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { bytesRead } = await fh.read(buf, 0, buf.length, done);
    if (!bytesRead) break;
    hash.update(buf.subarray(0, bytesRead));
    done += bytesRead;
    if (done > size) break;
  }
  if (done !== size) throw new IgluError(`${rel} changed while it was hashed`, { hint: 'nothing may write to a recipe directory while iglu reads it' });
  return done;
}

/**
 * SHA-256 over a recipe's directory: build.sh and every file beside it (patches, config
 * fragments), by sorted relative path and content. A change to any of them changes it.
 * @param recipeFile path of build.sh
 */
export function recipeHash(recipeFile: string, signal?: AbortSignal): Promise<string> {
  return directoryHash(path.dirname(recipeFile), signal);
}

let runner: Promise<string> | undefined;

/**
 * The identity of iglu's package runner: sha256 over its scripts (chroot/: iglupkg.sh,
 * recipe-env.sh, sandbox-enter.sh, spread-job.sh, target-bin/), read once per process.
 * Part of every build's base (pipeline/package-build.ts), so a change to how recipes are
 * run rebuilds what they built.
 */
export function runnerIdentity(): Promise<string> {
  runner ??= directoryHash(CHROOT_SCRIPTS);
  return runner;
}
